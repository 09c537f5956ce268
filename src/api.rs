//! The service API under `/api/v1`: asset import (asynchronous jobs), assets, threat
//! intelligence feeds, the risk register and an asset's current risk (synchronous request/reply).
//!
//! | path | answers |
//! |---|---|
//! | `POST /assets/import?format=cyclonedx\|spdx\|nmap\|csv` | 202 + job id; the body is the file |
//! | `GET /jobs/{id}` | the job's state, counts, errors |
//! | `GET /assets?page=&per_page=&kind=&owner=&name=&min_criticality=&include_retired=` | a page of assets |
//! | `GET /assets/{id}` | one asset with its components |
//! | `DELETE /assets/{id}` | retires it (`asset.retired`; its findings are dropped) |
//! | `GET /assets/{id}/risk` | its current risk, asked of RiskAnalysis (stale cached answer while it cannot answer) |
//! | `POST /threat-intel/{kev\|osv\|nvd\|epss}` | 202 + job id; the body is the feed (OSV: JSON or `all.zip`; EPSS: FIRST's CSV) |
//! | `GET /risks?page=&per_page=&min_score=&level=&asset=&kev_only=` | the risk register, highest score first |
//! | `GET /audit?after=&limit=` | the hash-chained audit log, in order |
//! | `GET /audit/verify` | 200 if the chain is intact, 409 with the first bad entry otherwise |
//!
//! Input is checked before a job is accepted: the body's size (413 past `api.max_import_bytes`),
//! its `Content-Type` (415), then the parser (400 for malformed syntax, 422 for a well-formed
//! document that is not valid input, both with the parser's line/column or path). So a job that
//! is accepted only fails on a storage error or a crash of the service actor, and then nothing of
//! it is stored (one transaction per import or feed).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Scope, web};
use rampart_actors::asset::{CriticalityRules, Format, ImportError};
use rampart_actors::db::Db;
use rampart_actors::db::assets::{self, AssetDetail, AssetFilter, AssetView};
use rampart_actors::db::audit::{self, AuditEntryView, Verification};
use rampart_actors::db::dead_letters::{self, DeadLetterView};
use rampart_actors::db::jobs::{self, JobView};
use rampart_actors::db::risk::{
    AssetRisk, FeedInput, FindingFilter, FindingView, IngestOutcome, list_findings, parse_level,
};
use rampart_actors::risk::FeedError;
use rampart_actors::risk::feeds::{epss, kev, nvd, osv};
use rampart_actors::services::asset::{AssetManagement, Fault, RetireAsset, StoreInventory};
use rampart_actors::services::jobs::run as run_job;
use rampart_actors::services::risk::{
    CurrentRisk, IngestFeed, RiskAnalysis, SetPoison, remote_current_risk,
};
use rampart_supervisors::Addr;
use rampart_supervisors::resilience::{CallError, ResiliencePolicy, Served};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::problem::Problem;

/// Resilience policy of risk queries: errors are the failure's text, keyed by asset key.
pub type RiskQueryPolicy = ResiliencePolicy<String, String, Option<AssetRisk>>;

/// What the service handlers share.
pub struct ServiceState {
    /// The node's id (jobs record it).
    pub node_id: String,
    /// The node's database.
    pub db: Db,
    /// AssetManagement, when this node runs `asset`.
    pub asset: Option<Addr<AssetManagement>>,
    /// RiskAnalysis, when this node runs `risk`.
    pub risk: Option<Addr<RiskAnalysis>>,
    /// Weakness -> control rules (`[[controls.rules]]`).
    pub control_rules: Vec<rampart_actors::control::rules::WeaknessRule>,
    /// ControlMapping, when this node runs `control`.
    pub control: Option<Addr<rampart_actors::services::control::ControlMapping>>,
    /// IncidentResponse, when this node runs `incident`.
    pub incident: Option<Addr<rampart_actors::services::incident::IncidentResponse>>,
    /// The node's bus (its connection state is part of readiness).
    pub bus: rampart_actors::bus::Bus,
    /// Criticality rules for imports.
    pub rules: CriticalityRules,
    /// Largest import or feed body, bytes.
    pub max_import_bytes: usize,
    /// Permits for jobs accepted but unfinished (`api.max_pending_jobs`).
    pub jobs: Arc<Semaphore>,
    /// Policy of calls to RiskAnalysis for `GET /assets/{id}/risk`.
    pub risk_policy: RiskQueryPolicy,
    /// Whether the `X-Rampart-Fault` request header is honoured (config `demo.fault_injection`).
    pub fault_injection: bool,
}

/// Answer of an accepted job (202, with `Location: href`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accepted {
    /// Job id.
    pub job_id: Uuid,
    /// `queued`.
    pub state: String,
    /// Where to read the job: `/api/v1/jobs/{job_id}`.
    pub href: String,
}

/// A page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Page number, from 1.
    pub page: u64,
    /// Items per page.
    pub per_page: u64,
    /// Items matching the filter, all pages.
    pub total: u64,
}

/// Query of the import endpoint.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// `cyclonedx`, `spdx`, `nmap` or `csv`.
    pub format: String,
}

/// Query of `GET /assets`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AssetsQuery {
    /// Page from 1 (default 1).
    pub page: Option<u64>,
    /// Per page, 1..=1000 (default 50).
    pub per_page: Option<u64>,
    /// `host`, `application`, `service`, `cloud_resource`.
    pub kind: Option<String>,
    /// Exact owner.
    pub owner: Option<String>,
    /// Substring of the name.
    pub name: Option<String>,
    /// Criticality at least this (1..=5).
    pub min_criticality: Option<u8>,
    /// Include retired assets (default false).
    pub include_retired: Option<bool>,
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
}

pub(crate) fn problem(status: StatusCode, detail: impl Into<String>, req: &HttpRequest) -> Problem {
    Problem::new(status, detail).at(req.path())
}

pub(crate) fn internal(e: impl std::fmt::Display, req: &HttpRequest) -> Problem {
    tracing::error!(path = req.path(), error = %e, "request failed");
    problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), req)
}

pub(crate) fn page_args(
    page: Option<u64>,
    per_page: Option<u64>,
    req: &HttpRequest,
) -> Result<(u64, u64), Problem> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if page == 0 || !(1..=1000).contains(&per_page) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "page must be >= 1 and per_page within 1..=1000",
            req,
        ));
    }
    Ok((page, per_page))
}

/// The request's media type (`type/subtype`, lower-case, parameters dropped), if any.
fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// Media types accepted for an inventory format.
pub fn import_media_types(format: Format) -> &'static [&'static str] {
    match format {
        Format::CycloneDx => &["application/json", "application/vnd.cyclonedx+json"],
        Format::Spdx => &["application/json", "application/spdx+json"],
        Format::Nmap => &["application/xml", "text/xml"],
        Format::Csv => &["text/csv", "application/csv"],
    }
}

/// Media types accepted for a feed kind (`kev`, `osv`, `nvd`).
pub fn feed_media_types(kind: &str) -> &'static [&'static str] {
    match kind {
        "osv" => &[
            "application/json",
            "application/zip",
            "application/x-zip-compressed",
        ],
        "epss" => &["text/csv", "application/csv"],
        _ => &["application/json"],
    }
}

pub(crate) fn check_media_type(
    req: &HttpRequest,
    accepted: &[&str],
    what: &str,
) -> Result<String, Problem> {
    match media_type(req) {
        Some(m) if accepted.contains(&m.as_str()) => Ok(m),
        Some(m) => Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {m} is not accepted for {what}; use one of: {}",
                accepted.join(", ")
            ),
            req,
        )),
        None => Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a Content-Type header is required for {what}: one of {}",
                accepted.join(", ")
            ),
            req,
        )),
    }
}

pub(crate) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, Problem> {
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body exceeds the limit of {limit} bytes (config api.max_import_bytes)"),
            req,
        )
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => Err(problem(
            StatusCode::BAD_REQUEST,
            format!("reading the body: {e}"),
            req,
        )),
        Err(_) => Err(too_large()),
    }
}

/// HTTP status of an inventory parse error: malformed syntax 400, invalid content 422, too big
/// 413.
pub fn import_error_status(e: &ImportError) -> StatusCode {
    match e {
        ImportError::InputTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ImportError::Empty(_)
        | ImportError::NotUtf8 { .. }
        | ImportError::Json { .. }
        | ImportError::Xml { .. }
        | ImportError::Csv { .. }
        | ImportError::UnknownFormat(_) => StatusCode::BAD_REQUEST,
        ImportError::Internal(_) | ImportError::InvalidRules(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// HTTP status of a feed parse error: malformed JSON or zip 400, invalid content 422, bounds 413.
pub fn feed_error_status(e: &FeedError) -> StatusCode {
    match e {
        FeedError::Json { .. } | FeedError::Zip(_) | FeedError::ZipEntry { .. } => {
            StatusCode::BAD_REQUEST
        }
        FeedError::LimitExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The service's actor on this node, or 503 naming the role this node lacks.
pub(crate) fn service_addr<A: rampart_supervisors::Actor>(
    addr: &Option<Addr<A>>,
    service: &str,
    req: &HttpRequest,
) -> Result<Addr<A>, Problem> {
    addr.clone().ok_or_else(|| {
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("this node does not run the {service} service (node.services / --services); send this to a node that does"),
            req,
        )
    })
}

fn accepted(id: Uuid) -> HttpResponse {
    let href = format!("/api/v1/jobs/{id}");
    HttpResponse::Accepted()
        .insert_header(("Location", href.clone()))
        .json(Accepted {
            job_id: id,
            state: "queued".to_owned(),
            href,
        })
}

fn job_permit(
    state: &ServiceState,
    req: &HttpRequest,
) -> Result<tokio::sync::OwnedSemaphorePermit, Problem> {
    state.jobs.clone().try_acquire_owned().map_err(|_| {
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many unfinished import and feed jobs on this node (api.max_pending_jobs); retry later",
            req,
        )
    })
}

fn busy_response(p: Problem) -> actix_web::Error {
    let mut resp = actix_web::ResponseError::error_response(&p);
    if p.status == 503 {
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("5"),
        );
    }
    actix_web::error::InternalError::from_response(p, resp).into()
}

#[utoipa::path(post, path = "/api/v1/assets/import", params(ImportQuery), request_body(content = String, description = "The inventory file: CycloneDX JSON 1.2-1.7, SPDX JSON 2.2/2.3, nmap XML or CSV", content_type = "application/json"), responses((status = 202, body = Accepted), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
async fn import(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let format: Format = q
        .format
        .parse()
        .map_err(|e: ImportError| problem(StatusCode::BAD_REQUEST, e.to_string(), &req))?;
    let addr = service_addr(&state.asset, "asset", &req)?;
    check_media_type(
        &req,
        import_media_types(format),
        &format!("{format} imports"),
    )?;
    let permit = job_permit(&state, &req).map_err(busy_response)?;
    let body = read_body(&req, payload, state.max_import_bytes).await?;
    let rules = state.rules.clone();
    let inventory = web::block(move || rampart_actors::asset::parse(format, &body, &rules))
        .await
        .map_err(|e| internal(e, &req))?
        .map_err(|e| problem(import_error_status(&e), e.to_string(), &req))?;
    let fault = (state.fault_injection
        && req
            .headers()
            .get("X-Rampart-Fault")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"panic")))
    .then_some(Fault::Panic);
    let format_name = serde_json::to_value(format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let id = jobs::create(&state.db, "asset-import", &format_name, &state.node_id)
        .await
        .map_err(|e| internal(e, &req))?;
    let db = state.db.clone();
    let inventory = Arc::new(inventory);
    tokio::spawn(async move {
        let components = inventory.component_count();
        let assets_in = inventory.assets.len();
        run_job(db, id, async move {
            let out = addr
                .ask(StoreInventory { inventory, fault })
                .await
                .map_err(|e| format!("asset management could not complete the import: {e}"))??;
            Ok(serde_json::json!({
                "assets": assets_in,
                "components": components,
                "discovered": out.discovered.len(),
                "changed": out.changed.len(),
                "unchanged": out.unchanged,
                "components_written": out.components_written,
            }))
        })
        .await;
        drop(permit);
    });
    Ok(accepted(id))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", params(("id" = Uuid, Path, description = "Job id")), responses((status = 200, body = JobView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn job(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id: Uuid = id
        .parse()
        .map_err(|_| problem(StatusCode::BAD_REQUEST, "a job id is a UUID", &req))?;
    match jobs::get(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?
    {
        Some(j) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(j)),
        None => Err(problem(StatusCode::NOT_FOUND, format!("no job {id}"), &req)),
    }
}

#[utoipa::path(get, path = "/api/v1/assets", params(AssetsQuery), responses((status = 200, body = Page<AssetView>), (status = 400, body = Problem, content_type = "application/problem+json")))]
async fn list_assets(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<AssetsQuery>,
) -> Result<HttpResponse, Problem> {
    let q = q.into_inner();
    let (page, per_page) = page_args(q.page, q.per_page, &req)?;
    let filter = AssetFilter {
        kind: q.kind,
        owner: q.owner,
        name: q.name,
        min_criticality: q.min_criticality,
        include_retired: q.include_retired.unwrap_or(false),
        page,
        per_page,
    };
    let (items, total) = assets::list_assets(&state.db, &filter)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

fn asset_id(raw: &str, req: &HttpRequest) -> Result<i64, Problem> {
    raw.parse()
        .map_err(|_| problem(StatusCode::BAD_REQUEST, "an asset id is an integer", req))
}

#[utoipa::path(get, path = "/api/v1/assets/{id}", params(("id" = i64, Path, description = "Asset id")), responses((status = 200, body = AssetDetail), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_asset(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = asset_id(&id, &req)?;
    match assets::get_asset(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?
    {
        Some(a) => Ok(HttpResponse::Ok().json(a)),
        None => Err(problem(
            StatusCode::NOT_FOUND,
            format!("no asset {id}"),
            &req,
        )),
    }
}

/// The current risk of asset `key`: asked of the local RiskAnalysis when this node runs it, else
/// over RabbitMQ of whichever node does; either way behind the `api.risk_query` policy (breaker,
/// retry, time limiter, cached fallback: a failure serves the last answer marked stale).
///
/// # Errors
/// The policy's [`CallError`] when nothing is cached.
pub async fn current_risk(
    state: &ServiceState,
    key: &str,
) -> Result<Served<Option<AssetRisk>>, CallError<String>> {
    let local = state.risk.clone();
    let remote = match &state.bus {
        rampart_actors::bus::Bus::Amqp(b) => Some(b.clone()),
        rampart_actors::bus::Bus::InProcess(_) => None,
    };
    // The RPC's own wait: the policy's time limiter bounds the call anyway.
    let timeout = state.risk_policy.time_limiter().timeout_duration();
    state
        .risk_policy
        .call_with_fallback(key.to_owned(), || {
            let (local, remote, key) = (local.clone(), remote.clone(), key.to_owned());
            async move {
                match (local, remote) {
                    (Some(addr), _) => addr
                        .ask(CurrentRisk { asset_key: key })
                        .await
                        .map_err(|e| e.to_string())?,
                    (None, Some(bus)) => remote_current_risk(&bus, &key, timeout).await,
                    (None, None) => Err("no risk service reachable".to_owned()),
                }
            }
        })
        .await
}

/// `DELETE /assets/{id}`: retires the asset (kept, marked retired, `asset.retired` published:
/// RiskAnalysis drops its findings).
#[utoipa::path(delete, path = "/api/v1/assets/{id}", params(("id" = i64, Path, description = "Asset id")), responses((status = 200, description = "Retired", body = Object), (status = 404, description = "No such active asset", body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
async fn retire_asset(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = asset_id(&id, &req)?;
    let addr = service_addr(&state.asset, "asset", &req)?;
    let Some(key) = assets::key_of(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?
    else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no asset {id}"),
            &req,
        ));
    };
    let retired = addr
        .ask(RetireAsset { key: key.clone() })
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .map_err(|e| internal(e, &req))?;
    if !retired {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("asset {id} is already retired"),
            &req,
        ));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id, "key": key, "retired": true })))
}

/// `GET /assets/{id}/risk`: `{value: AssetRisk, freshness: "fresh"}` or, while RiskAnalysis
/// cannot answer, `{value, freshness: "stale", age_ms, stored_at}`.
#[utoipa::path(get, path = "/api/v1/assets/{id}/risk", params(("id" = i64, Path, description = "Asset id")), responses((status = 200, description = "`{value: AssetRisk, freshness, age_ms?, stored_at?}`", body = Object), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
async fn asset_risk(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = asset_id(&id, &req)?;
    let Some(key) = assets::key_of(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?
    else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no asset {id}"),
            &req,
        ));
    };
    if state.risk.is_none() && !matches!(state.bus, rampart_actors::bus::Bus::Amqp(_)) {
        service_addr(&state.risk, "risk", &req)?;
    }
    let served = current_risk(&state, &key).await.map_err(|e| {
        let status = match e {
            CallError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        problem(
            status,
            format!("risk analysis unavailable and nothing cached for this asset: {e}"),
            &req,
        )
    })?;
    if served.value.is_none() {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("risk analysis has not scored asset {id} yet"),
            &req,
        ));
    }
    Ok(HttpResponse::Ok().json(served))
}

#[utoipa::path(post, path = "/api/v1/threat-intel/{kind}", params(("kind" = String, Path, description = "kev, osv, nvd or epss")), request_body(content = String, description = "The feed: CISA KEV JSON, OSV JSON (record or array) or an OSV all.zip, NVD CVE API 2.0 JSON, FIRST EPSS CSV", content_type = "application/json"), responses((status = 202, body = Accepted), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
async fn threat_intel(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    kind: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let kind = kind.into_inner();
    if !matches!(kind.as_str(), "kev" | "osv" | "nvd" | "epss") {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("unknown feed kind {kind:?} (expected kev, osv, nvd or epss)"),
            &req,
        )
        .into());
    }
    let addr = service_addr(&state.risk, "risk", &req)?;
    let media = check_media_type(&req, feed_media_types(&kind), &format!("{kind} feeds"))?;
    let permit = job_permit(&state, &req).map_err(busy_response)?;
    let body = read_body(&req, payload, state.max_import_bytes).await?;
    let k = kind.clone();
    let feed = web::block(move || -> Result<FeedInput, FeedError> {
        Ok(match (k.as_str(), media.as_str()) {
            ("kev", _) => FeedInput::Kev(kev::parse_kev(&body)?),
            ("nvd", _) => FeedInput::Vulnerabilities(nvd::parse_nvd(&body)?),
            ("epss", _) => FeedInput::Epss(epss::parse_epss(&body)?),
            (_, "application/json") => {
                FeedInput::Vulnerabilities(osv::osv_feed(osv::parse_osv(&body)?))
            }
            _ => FeedInput::Vulnerabilities(osv::parse_osv_zip(&body, &osv::ZipLimits::default())?),
        })
    })
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

#[utoipa::path(get, path = "/api/v1/risks", params(RisksQuery), responses((status = 200, body = Page<FindingView>), (status = 400, body = Problem, content_type = "application/problem+json")))]
async fn risks(
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
            Ok(id) => Some(
                assets::key_of(&state.db, id)
                    .await
                    .map_err(|e| internal(e, &req))?
                    .ok_or_else(|| {
                        problem(StatusCode::NOT_FOUND, format!("no asset {id}"), &req)
                    })?,
            ),
            Err(_) => Some(a),
        },
        None => None,
    };
    let filter = FindingFilter {
        min_score: q.min_score,
        level,
        asset_key,
        kev_only: q.kev_only.unwrap_or(false),
        page,
        per_page,
    };
    let (items, total) = list_findings(&state.db, &filter)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

#[utoipa::path(get, path = "/api/v1/dead-letters", responses((status = 200, description = "Events a service's consumer gave up on, newest first (at most 1000)", body = [DeadLetterView])))]
async fn list_dead_letters(
    state: web::Data<ServiceState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let items = dead_letters::list(&state.db, 1000)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok().json(items))
}

#[utoipa::path(post, path = "/api/v1/dead-letters/{service}/{event_id}/replay", params(("service" = String, Path, description = "The consuming service"), ("event_id" = Uuid, Path, description = "The event id")), responses((status = 202, description = "Re-published (through the outbox)", body = DeadLetterView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn replay_dead_letter(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (service, id) = path.into_inner();
    let id: Uuid = id
        .parse()
        .map_err(|_| problem(StatusCode::BAD_REQUEST, "an event id is a UUID", &req))?;
    match dead_letters::replay(&state.db, &service, id).await {
        Ok(v) => Ok(HttpResponse::Accepted().json(v)),
        Err(e @ dead_letters::ReplayError::NotFound { .. }) => {
            Err(problem(StatusCode::NOT_FOUND, e.to_string(), &req))
        }
        Err(e) => Err(internal(e, &req)),
    }
}

/// Body of the poison fault.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PoisonBody {
    /// Asset key whose events RiskAnalysis fails (transiently) from now on; `null` clears it.
    pub asset_key: Option<String>,
}

/// Fault injection (config `demo.fault_injection`): makes this node's RiskAnalysis fail every
/// event of one asset until cleared, to exercise redelivery, dead-lettering and replay.
#[utoipa::path(post, path = "/api/v1/demo/faults/poison", request_body = PoisonBody, responses((status = 200, body = Object), (status = 404, description = "Fault injection is off", body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
async fn poison(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    body: web::Json<PoisonBody>,
) -> Result<HttpResponse, Problem> {
    if !state.fault_injection {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "fault injection is off (config demo.fault_injection)",
            &req,
        ));
    }
    let addr = service_addr(&state.risk, "risk", &req)?;
    let key = body.into_inner().asset_key;
    addr.ask(SetPoison(key.clone()))
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "poisoned": key })))
}

/// Query of `GET /audit`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Entries after this seq (default 0: from the start).
    pub after: Option<i64>,
    /// At most this many (1..=1000, default 100).
    pub limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses((status = 200, description = "Audit log entries in order", body = [AuditEntryView])))]
async fn audit_log(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, Problem> {
    let entries = audit::list(&state.db, q.after.unwrap_or(0), q.limit.unwrap_or(100))
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok().json(entries))
}

/// `GET /audit/verify`: recomputes the hash chain; 200 with `ok: true`, or 409 Conflict with the
/// first bad entry when the log was edited, had entries removed or was truncated.
#[utoipa::path(get, path = "/api/v1/audit/verify", responses((status = 200, description = "The chain is intact", body = Verification), (status = 409, description = "The chain is broken: `first_bad_seq` and `problem` say where and how", body = Verification)))]
async fn audit_verify(
    state: web::Data<ServiceState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let v = audit::verify(&state.db, 10_000)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(if v.ok {
        HttpResponse::Ok().json(v)
    } else {
        HttpResponse::Conflict().json(v)
    })
}

/// Adds the service routes to the `/api/v1` scope.
pub fn routes(scope: Scope) -> Scope {
    scope
        .route("/assets/import", web::post().to(import))
        .route("/jobs/{id}", web::get().to(job))
        .route("/assets", web::get().to(list_assets))
        .route("/assets/{id}", web::get().to(get_asset))
        .route("/assets/{id}", web::delete().to(retire_asset))
        .route("/assets/{id}/risk", web::get().to(asset_risk))
        .route("/threat-intel/{kind}", web::post().to(threat_intel))
        .route("/risks", web::get().to(risks))
        .configure(crate::incidents_api::routes)
        .configure(crate::controls_api::routes)
        .route("/dead-letters", web::get().to(list_dead_letters))
        .route("/audit", web::get().to(audit_log))
        .route("/audit/verify", web::get().to(audit_verify))
        .route("/demo/faults/poison", web::post().to(poison))
        .route(
            "/dead-letters/{service}/{event_id}/replay",
            web::post().to(replay_dead_letter),
        )
}

/// The OpenAPI paths and schemas of this module (merged into [`crate::http::ApiDoc`]).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        import,
        job,
        list_assets,
        get_asset,
        asset_risk,
        threat_intel,
        risks,
        list_dead_letters,
        replay_dead_letter
    ),
    components(schemas(
        Accepted,
        AssetView,
        AssetDetail,
        FindingView,
        JobView,
        AssetRisk,
        IngestOutcome,
        DeadLetterView,
        AuditEntryView,
        Verification
    ))
)]
pub struct ServiceApiDoc;
