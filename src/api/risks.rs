//! RiskAnalysis's routes: threat-intelligence feeds (asynchronous jobs), the risk register and
//! an asset's current risk (synchronous request/reply behind a circuit breaker and cached
//! fallback).
//!
//! | path | answers |
//! |---|---|
//! | `POST /threat-intel/{kev\|osv\|nvd\|epss}` | 202 + job id; the body is the feed (OSV: JSON or `all.zip`; EPSS: FIRST's CSV) |
//! | `GET /risks?page=&per_page=&min_score=&level=&asset=&kev_only=` | the risk register, highest score first |
//! | `GET /assets/{id}/risk` | its current risk, asked of RiskAnalysis (stale cached answer while it cannot answer) |
//!
//! The register and, on a node that runs RiskAnalysis, an asset's current risk are read through
//! the node's read model ([`RiskReads`], [`rampart_risk::read_model`]): answers cached under
//! RiskAnalysis's write counter, which every writing transaction of any replica bumps, so a read
//! costs neither an actor round trip nor a query while nothing changed, and never returns less
//! than a write acknowledged before it. Another node's RiskAnalysis is still asked over RabbitMQ.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::ServiceState;
use super::common::{
    Page, accepted, busy_response, check_media_type, internal, job_permit, page_args, problem,
    read_body, service_addr,
};
use crate::auth::{Permission as P, Routes};
use crate::problem::Problem;
use rampart_asset::store as assets;
use rampart_contracts::risk::{AssetRisk, FindingView};
use rampart_platform::jobs::{self, run as run_job};

use super::assets::asset_id;
use super::common::Accepted;
use rampart_platform::Db;
use rampart_risk::FeedError;
use rampart_risk::actor::{IngestFeed, remote_current_risk};
use rampart_risk::read_model::RiskReadModel;
use rampart_risk::store::{FeedInput, FindingFilter, IngestOutcome, parse_level};
use rampart_supervisors::resilience::{CallError, Served};

/// Most asset id -> key pairs [`RiskReads`] remembers (the bound is in bytes: 4 MiB, some
/// 30,000 keys of 64 characters).
pub const ASSET_KEY_CACHE_BYTES: u64 = 4 * 1024 * 1024;

/// The node's read side of RiskAnalysis (one per node, in [`ServiceState`]): the read model of
/// the register and of current risks, and the asset id -> key pairs the routes resolve (an
/// asset's key never changes and assets are retired, never deleted, so a pair once found holds;
/// ids not found are not remembered).
pub struct RiskReads {
    /// Register pages and current-risk answers, by write generation.
    pub model: RiskReadModel,
    asset_keys: moka::sync::Cache<i64, std::sync::Arc<str>>,
    /// The read-only pool ([`Db::reader`]).
    reader: Db,
}

impl std::fmt::Debug for RiskReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskReads")
            .field("model", &self.model)
            .field("asset_keys", &self.asset_keys.entry_count())
            .finish()
    }
}

/// The body of `GET /risks`: [`Page`] of [`FindingView`] as JSON.
fn render_register(
    filter: &FindingFilter,
    items: Vec<FindingView>,
    total: u64,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&Page {
        items,
        page: filter.page,
        per_page: filter.per_page,
        total,
    })
}

impl RiskReads {
    /// The read side on `db`, with the default bounds
    /// ([`rampart_risk::read_model::REGISTER_CACHE_BYTES`],
    /// [`rampart_risk::read_model::ASSET_RISK_CACHE_BYTES`], [`ASSET_KEY_CACHE_BYTES`]).
    pub fn new(db: &Db) -> Self {
        Self {
            reader: db.reader(),
            model: RiskReadModel::new(db, render_register),
            asset_keys: moka::sync::Cache::builder()
                .max_capacity(ASSET_KEY_CACHE_BYTES)
                .weigher(|_: &i64, k: &std::sync::Arc<str>| {
                    u32::try_from(k.len() + 64).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }

    /// The key of asset `id` (AssetManagement's table through the read-only pool, remembered once
    /// found); `None` if there is no such asset.
    ///
    /// # Errors
    /// Database errors.
    pub async fn asset_key(&self, id: i64) -> Result<Option<std::sync::Arc<str>>, sea_orm::DbErr> {
        if let Some(k) = self.asset_keys.get(&id) {
            return Ok(Some(k));
        }
        let Some(key) = assets::key_of(&self.reader, id).await? else {
            return Ok(None);
        };
        let key: std::sync::Arc<str> = key.into();
        self.asset_keys.insert(id, key.clone());
        Ok(Some(key))
    }
}

/// The key of asset `id` through the node's read side; 404 problem when there is none.
///
/// # Errors
/// 404 for an unknown asset, 500 for a database error.
pub async fn known_asset_key(
    state: &ServiceState,
    req: &HttpRequest,
    id: i64,
) -> Result<String, Problem> {
    Ok(state
        .risk_reads
        .asset_key(id)
        .await
        .map_err(|e| internal(e, req))?
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, format!("no asset {id}"), req))?
        .to_string())
}

/// Query of `GET /risks`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct RisksQuery {
    /// Page from 1 (default 1).
    pub page: Option<u64>,
    /// Per page, 1..=1000 (default 50).
    pub per_page: Option<u64>,
    /// Score at least this (1..=25).
    pub min_score: Option<u8>,
    /// `very_low`, `low`, `moderate`, `high`, `very_high` (or 1..=5).
    pub level: Option<String>,
    /// Asset key, or numeric asset id.
    pub asset: Option<String>,
    /// Only KEV-listed findings (default false).
    pub kev_only: Option<bool>,
    /// Only findings in this analysis state (`in_triage`, `exploitable`, `false_positive`,
    /// `not_affected`, `resolved`), or `none` (never decided). Findings decided
    /// `not_affected` or `false_positive` are listed only when asked for.
    pub analysis: Option<String>,
    /// List suppressed findings (`not_affected`, `false_positive`) with the rest (default false).
    pub include_suppressed: Option<bool>,
    /// Only findings with this SSVC decision: `Track`, `Track*`, `Attend`, `Act`.
    pub ssvc: Option<String>,
    /// Only findings with this active treatment: `mitigate`, `accept`, `transfer`, `avoid`.
    pub treatment: Option<String>,
    /// Order: `score` (default, highest first), `score_asc`, `asset`, `vulnerability`,
    /// `newest`, `component`.
    pub sort: Option<String>,
}

/// Media types accepted for a feed kind (`kev`, `osv`, `nvd`, `epss`); `application/gzip` for a
/// gzip-compressed one (FIRST's `epss_scores-current.csv.gz`, NVD's `.json.gz`).
pub fn feed_media_types(kind: &str) -> &'static [&'static str] {
    match kind {
        "osv" => &[
            "application/json",
            "application/zip",
            "application/x-zip-compressed",
        ],
        "epss" => &["text/csv", "application/csv", "application/gzip"],
        _ => &["application/json", "application/gzip"],
    }
}

/// HTTP status of a feed parse error: malformed JSON or zip 400, invalid content 422, bounds 413.
pub fn feed_error_status(e: &FeedError) -> StatusCode {
    match e {
        FeedError::Json { .. }
        | FeedError::Zip(_)
        | FeedError::ZipEntry { .. }
        | FeedError::Gzip(_) => StatusCode::BAD_REQUEST,
        FeedError::LimitExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The current risk of asset `key`: read through the node's read model ([`RiskReads`]) when this
/// node runs RiskAnalysis (behind the `api.risk_query` time limiter and cached fallback), else
/// asked over RabbitMQ of whichever node does, behind the whole `api.risk_query` policy (breaker,
/// retry, time limiter, bulkhead, cached fallback). Either way a failure serves the last answer
/// marked stale.
///
/// # Errors
/// The policy's [`CallError`] when nothing is cached.
pub async fn current_risk(
    state: &ServiceState,
    key: &str,
) -> Result<Served<Option<AssetRisk>>, CallError<String>> {
    if state.risk.is_some() {
        // A read of this node's own read model, not a call to another service: no breaker,
        // bulkhead or retry (under load they turned local saturation into 100 ms retries), but
        // the policy's time limit and its cached fallback (the last answer, stale) still hold.
        let policy = &state.risk_policy;
        let read = local_read(policy, state.risk_reads.model.asset_risk(key));
        return match policy.fallback() {
            Some(fallback) => fallback.call(key.to_owned(), read).await,
            None => read.await.map(Served::fresh),
        };
    }
    let remote = match &state.bus {
        rampart_platform::bus::Bus::Amqp(b) => Some(b.clone()),
        rampart_platform::bus::Bus::InProcess(_) => None,
    };
    // The RPC's own wait: the policy's time limiter bounds the call anyway.
    let timeout = state.risk_policy.time_limiter().timeout_duration();
    state
        .risk_policy
        .call_with_fallback(key.to_owned(), || {
            let (remote, key) = (remote.clone(), key.to_owned());
            async move {
                match remote {
                    Some(bus) => remote_current_risk(&bus, &key, timeout).await,
                    None => Err("no risk service reachable".to_owned()),
                }
            }
        })
        .await
}

/// `GET /assets/{id}/risk`: `{value: AssetRisk, freshness: "fresh"}` or, while RiskAnalysis
/// cannot answer, `{value, freshness: "stale", age_ms, stored_at}`.
#[utoipa::path(get, path = "/api/v1/assets/{id}/risk", params(("id" = i64, Path, description = "Asset id")), responses((status = 200, description = "`{value: AssetRisk, freshness, age_ms?, stored_at?}`", body = Object), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn asset_risk(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = asset_id(&id, &req)?;
    let Some(key) = state
        .risk_reads
        .asset_key(id)
        .await
        .map_err(|e| internal(e, &req))?
    else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no asset {id}"),
            &req,
        ));
    };
    if state.risk.is_some() {
        return local_asset_risk(&state, &req, id, &key).await;
    }
    if !matches!(state.bus, rampart_platform::bus::Bus::Amqp(_)) {
        service_addr(&state.risk, "risk", &req)?;
    }
    let served = current_risk(&state, &key)
        .await
        .map_err(|e| unavailable(&e, &req))?;
    if served.value.is_none() {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("risk analysis has not scored asset {id} yet"),
            &req,
        ));
    }
    Ok(HttpResponse::Ok().json(served))
}

/// Milliseconds since this process's first call (a monotonic clock for
/// [`rampart_risk::read_model::RiskEntry::copied_at_ms`]).
fn mono_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(std::time::Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A read of this node's own read model under the `api.risk_query` time limit: not a call to
/// another service, so no breaker, bulkhead or retry (under load they turned local saturation
/// into 100 ms retries).
async fn local_read<T>(
    policy: &super::RiskQueryPolicy,
    read: impl std::future::Future<Output = Result<T, rampart_risk::read_model::ReadError>>,
) -> Result<T, CallError<String>> {
    match policy.time_limiter().call(read).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(CallError::Inner(e.to_string())),
        Err(t) => Err(CallError::Timeout(t)),
    }
}

/// `GET /assets/{id}/risk` on a node that runs RiskAnalysis: the read model's answer, rendered
/// once per write generation, served as it is ([`local_read`]). The `api.risk_query` cached
/// fallback still holds: each answer is copied into it when first served (and again after half
/// the fallback's time to live), and it serves that copy marked stale while the read fails.
pub(crate) async fn local_asset_risk(
    state: &ServiceState,
    req: &HttpRequest,
    id: i64,
    key: &str,
) -> Result<HttpResponse, Problem> {
    let policy = &state.risk_policy;
    let fallback = policy.fallback();
    let not_scored = || {
        problem(
            StatusCode::NOT_FOUND,
            format!("risk analysis has not scored asset {id} yet"),
            req,
        )
    };
    let entry = match local_read(policy, state.risk_reads.model.asset_risk_entry(key)).await {
        Ok(entry) => entry,
        Err(e) => {
            let stale = match fallback {
                Some(fb) => fb.stale(&key.to_owned()).await,
                None => None,
            };
            return match stale {
                Some(stale) if stale.value.is_some() => Ok(HttpResponse::Ok().json(stale)),
                Some(_) => Err(not_scored()),
                None => Err(unavailable(&e, req)),
            };
        }
    };
    if let Some(fb) = fallback {
        use std::sync::atomic::Ordering::Relaxed;
        let (now, last) = (mono_ms(), entry.copied_at_ms.load(Relaxed));
        let half_ttl = u64::try_from(fb.time_to_live().as_millis() / 2).unwrap_or(u64::MAX);
        if last == 0 || now.saturating_sub(last) > half_ttl {
            entry.copied_at_ms.store(now.max(1), Relaxed);
            let value = entry.value.clone();
            let _ = fb
                .call(key.to_owned(), async move { Ok::<_, ()>(value) })
                .await;
        }
    }
    if entry.value.is_none() {
        return Err(not_scored());
    }
    Ok(HttpResponse::Ok().json(Served::fresh(&*entry.json)))
}

/// 503 (504 after the time limit) when RiskAnalysis cannot answer and nothing is cached.
fn unavailable(e: &CallError<String>, req: &HttpRequest) -> Problem {
    let status = match e {
        CallError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    problem(
        status,
        format!("risk analysis unavailable and nothing cached for this asset: {e}"),
        req,
    )
}

#[utoipa::path(post, path = "/api/v1/threat-intel/{kind}", params(("kind" = String, Path, description = "kev, osv, nvd or epss")), request_body(content = String, description = "The feed: CISA KEV JSON, OSV JSON (record or array) or an OSV all.zip, NVD CVE API 2.0 JSON, FIRST EPSS CSV", content_type = "application/json"), responses((status = 202, body = Accepted), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn threat_intel(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    kind: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let kind = kind.into_inner();
    if !matches!(
        kind.as_str(),
        "kev" | "osv" | "nvd" | "epss" | "vulnrichment"
    ) {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("unknown feed kind {kind:?} (expected kev, osv, nvd, epss or vulnrichment)"),
            &req,
        )
        .into());
    }
    let addr = service_addr(&state.risk, "risk", &req)?;
    let media = check_media_type(&req, feed_media_types(&kind), &format!("{kind} feeds"))?;
    let permit = job_permit(&state, &req).map_err(busy_response)?;
    let body = read_body(&req, payload, state.max_import_bytes).await?;
    if kind == "vulnrichment" {
        return vulnrichment(&state, &req, addr, permit, body).await;
    }
    let k = kind.clone();
    let zip = media != "application/json";
    let feed = web::block(move || FeedInput::parse(&k, &body, zip))
        .await
        .map_err(|e| internal(e, &req))?
        .map_err(|e| problem(feed_error_status(&e), e.to_string(), &req))?;
    let id = jobs::create(&state.db, "threat-intel", &kind, &state.node_id)
        .await
        .map_err(|e| internal(e, &req))?;
    let db = state.db.clone();
    tokio::spawn(async move {
        run_job(db, id, async move {
            let out: IngestOutcome = addr
                .ask(IngestFeed(feed))
                .await
                .map_err(|e| format!("risk analysis could not complete the ingestion: {e}"))??;
            serde_json::to_value(out).map_err(|e| e.to_string())
        })
        .await;
        drop(permit);
    });
    Ok(accepted(id))
}

/// `POST /threat-intel/vulnrichment`: CISA Vulnrichment CVE JSON 5 records (one or an
/// array), ingested as a job like the other feeds.
pub(crate) async fn vulnrichment(
    state: &ServiceState,
    req: &HttpRequest,
    addr: rampart_supervisors::Addr<rampart_risk::actor::RiskAnalysis>,
    permit: tokio::sync::OwnedSemaphorePermit,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let records = web::block(move || rampart_risk::feeds::vulnrichment::parse_vulnrichment(&body))
        .await
        .map_err(|e| internal(e, req))?
        .map_err(|e| problem(feed_error_status(&e), e.to_string(), req))?;
    let id = jobs::create(&state.db, "threat-intel", "vulnrichment", &state.node_id)
        .await
        .map_err(|e| internal(e, req))?;
    let db = state.db.clone();
    tokio::spawn(async move {
        run_job(db, id, async move {
            let n = records.len();
            let (changed, assets) = addr
                .ask(rampart_risk::actor::IngestVulnrichment(records))
                .await
                .map_err(|e| format!("risk analysis could not complete the ingestion: {e}"))?
                .map_err(|e| e.to_string())?;
            Ok(serde_json::json!({
                "kind": "vulnrichment",
                "records": n,
                "changed_records": changed,
                "assets_rescored": assets,
                "unchanged": changed == 0,
            }))
        })
        .await;
        drop(permit);
    });
    Ok(accepted(id))
}

#[utoipa::path(get, path = "/api/v1/risks", params(RisksQuery), responses((status = 200, body = Page<FindingView>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn risks(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<RisksQuery>,
) -> Result<HttpResponse, Problem> {
    let q = q.into_inner();
    let (page, per_page) = page_args(q.page, q.per_page, &req)?;
    let level = match &q.level {
        Some(l) => Some(parse_level(l).ok_or_else(|| {
            problem(
                StatusCode::BAD_REQUEST,
                format!("unknown level {l:?} (very_low, low, moderate, high, very_high)"),
                &req,
            )
        })?),
        None => None,
    };
    if q.min_score.is_some_and(|s| s > 25) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "min_score is within 0..=25",
            &req,
        ));
    }
    let asset_key = match q.asset {
        Some(a) => match a.parse::<i64>() {
            Ok(id) => Some(known_asset_key(&state, &req, id).await?),
            Err(_) => Some(a),
        },
        None => None,
    };
    if let Some(a) = &q.analysis
        && a != "none"
        && rampart_risk::vex::AnalysisState::parse(a).is_none()
    {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown analysis {a:?} (none, in_triage, exploitable, false_positive, not_affected, resolved)"
            ),
            &req,
        ));
    }
    if let Some(d) = &q.ssvc
        && !matches!(d.as_str(), "Track" | "Track*" | "Attend" | "Act")
    {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!("unknown SSVC decision {d:?} (Track, Track*, Attend, Act)"),
            &req,
        ));
    }
    if let Some(t) = &q.treatment
        && !matches!(t.as_str(), "mitigate" | "accept" | "transfer" | "avoid")
    {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!("unknown treatment {t:?} (mitigate, accept, transfer, avoid)"),
            &req,
        ));
    }
    if let Some(s) = &q.sort
        && !rampart_risk::store::SORTS.contains(&s.as_str())
    {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown sort {s:?} ({})",
                rampart_risk::store::SORTS.join(", ")
            ),
            &req,
        ));
    }
    let filter = FindingFilter {
        sort: q.sort,
        min_score: q.min_score,
        level,
        asset_key,
        kev_only: q.kev_only.unwrap_or(false),
        analysis: q.analysis,
        ssvc: q.ssvc,
        treatment: q.treatment,
        include_suppressed: q.include_suppressed.unwrap_or(false),
        page,
        per_page,
    };
    // The rendered `Page`, from the read model (read again only after a write).
    let body = state
        .risk_reads
        .model
        .register(&filter)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(web::Bytes::from_owner(body)))
}

/// Registers RiskAnalysis's routes (inside the `/api/v1` scope).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/assets/{id}/risk", P::RisksRead, asset_risk)
        .post("/threat-intel/{kind}", P::IntelIngest, threat_intel)
        .get("/risks", P::RisksRead, risks);
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(asset_risk, threat_intel, risks),
    components(schemas(FindingView, AssetRisk, IngestOutcome))
)]
pub struct RiskApiDoc;
