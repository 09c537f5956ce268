//! Triage routes: a finding's analysis (CycloneDX VEX terms), its risk treatment (ISO/IEC
//! 27005), its timeline, and VEX documents in (CycloneDX, OpenVEX, CSAF).
//!
//! | path | permission | does |
//! |---|---|---|
//! | `GET /findings/{key}` | `risks:read` | the finding, its treatment and its timeline |
//! | `POST /findings/{key}/analysis` | `risks:triage` | decide it (`scope`: this finding, or the component everywhere) |
//! | `POST /findings/{key}/treatment` | `risks:triage` | mitigate, transfer or avoid |
//! | `POST /findings/{key}/acceptance` | `risks:accept` | accept it (rationale, expiry) |
//! | `POST /vex` | `risks:triage` | import a VEX document; reports the statements that matched nothing |
//!
//! Every decision carries the principal of the token that made it, is kept in the finding's
//! timeline and reaches the audit chain as an event ([`rampart_risk::decisions`]).

use actix_web::http::StatusCode;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::ServiceState;
use super::common::{check_media_type, internal, problem, read_body, service_addr};
use super::risks::known_asset_key;
use crate::auth::{Permission as P, Principal, Routes};
use crate::problem::Problem;
use rampart_contracts::risk::FindingView;
use rampart_risk::actor::{Decide, ImportVex, Treat};
use rampart_risk::decisions::{
    self, DecisionError, DecisionInput, TreatmentInput, TreatmentOption, TreatmentView,
    VexImportOutcome,
};
use rampart_risk::vex::{self, VexError};

/// The principal's `sub` (`anonymous` when the edge is off).
fn principal(req: &HttpRequest) -> String {
    req.extensions()
        .get::<Principal>()
        .map_or_else(|| "anonymous".to_owned(), |p| p.sub.clone())
}

fn finding_key(raw: &str, req: &HttpRequest) -> Result<String, Problem> {
    if raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(problem(
            StatusCode::BAD_REQUEST,
            format!("{raw:?} is not a finding key (32 hex digits, `finding_key` of the register)"),
            req,
        ))
    }
}

fn decision_problem(e: DecisionError, req: &HttpRequest) -> Problem {
    match e {
        DecisionError::NotFound(_) => problem(StatusCode::NOT_FOUND, e.to_string(), req),
        DecisionError::Invalid(_) => problem(StatusCode::UNPROCESSABLE_ENTITY, e.to_string(), req),
        DecisionError::Store(_) => internal(e, req),
    }
}

/// HTTP status of a VEX parse error: malformed 400, too large 413, wrong content 422.
pub fn vex_error_status(e: &VexError) -> StatusCode {
    match e {
        VexError::Json(_) => StatusCode::BAD_REQUEST,
        VexError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A finding with its treatment and timeline (`GET /findings/{key}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingDetail {
    /// The finding.
    pub finding: FindingView,
    /// Its treatment (active or expired), when ever treated.
    pub treatment: Option<TreatmentView>,
    /// Its analysis and treatment changes, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

/// One change in a finding's timeline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    /// `analysis`, `treatment`, `acceptance_expired`.
    pub event: String,
    /// The change (the new analysis with the previous state, or the treatment).
    pub change: serde_json::Value,
    /// Who: a principal's `sub`, `vex:<document id>` or `system`.
    pub actor: String,
    /// When, RFC 3339 UTC.
    pub at: String,
}

#[utoipa::path(get, path = "/api/v1/findings/{key}", params(("key" = String, Path, description = "The finding's key (32 hex digits)")), responses((status = 200, body = FindingDetail), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn finding(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let key = finding_key(&key, &req)?;
    let Some(f) = decisions::finding(&state.db, &key)
        .await
        .map_err(|e| internal(e, &req))?
    else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no finding has the key {key}"),
            &req,
        ));
    };
    let treatment = decisions::treatment(&state.db, &key)
        .await
        .map_err(|e| internal(e, &req))?;
    let timeline = decisions::timeline(&state.db, &key)
        .await
        .map_err(|e| internal(e, &req))?
        .into_iter()
        .map(|h| TimelineEntry {
            event: h.event,
            change: h.change,
            actor: h.actor,
            at: h.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
        .collect();
    Ok(HttpResponse::Ok().json(FindingDetail {
        finding: f,
        treatment,
        timeline,
    }))
}

#[utoipa::path(post, path = "/api/v1/findings/{key}/analysis", params(("key" = String, Path, description = "The finding's key")), request_body = DecisionInput, responses((status = 200, body = FindingView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn analysis(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Json<DecisionInput>,
) -> Result<HttpResponse, Problem> {
    let key = finding_key(&key, &req)?;
    let addr = service_addr(&state.risk, "risk", &req)?;
    let view = addr
        .ask(Decide {
            key,
            decision: body.into_inner(),
            by: principal(&req),
        })
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .map_err(|e| decision_problem(e, &req))?;
    Ok(HttpResponse::Ok().json(view))
}

pub(crate) async fn treat(
    state: &ServiceState,
    req: &HttpRequest,
    key: &str,
    t: TreatmentInput,
) -> Result<HttpResponse, Problem> {
    let key = finding_key(key, req)?;
    let addr = service_addr(&state.risk, "risk", req)?;
    let view = addr
        .ask(Treat {
            key,
            treatment: t,
            by: principal(req),
        })
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), req))?
        .map_err(|e| decision_problem(e, req))?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(post, path = "/api/v1/findings/{key}/treatment", params(("key" = String, Path, description = "The finding's key")), request_body = TreatmentInput, responses((status = 200, body = TreatmentView), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn treatment(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Json<TreatmentInput>,
) -> Result<HttpResponse, Problem> {
    let t = body.into_inner();
    if t.option == TreatmentOption::Accept {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "accepting a risk needs the permission risks:accept: POST /api/v1/findings/{key}/acceptance",
            &req,
        ));
    }
    treat(&state, &req, &key, t).await
}

/// Body of `POST /findings/{key}/acceptance`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceInput {
    /// Why the risk is retained.
    pub rationale: String,
    /// When the acceptance ends, RFC 3339 (in the future, at most 3 years ahead).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(post, path = "/api/v1/findings/{key}/acceptance", params(("key" = String, Path, description = "The finding's key")), request_body = AcceptanceInput, responses((status = 200, body = TreatmentView), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn acceptance(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Json<AcceptanceInput>,
) -> Result<HttpResponse, Problem> {
    let a = body.into_inner();
    treat(
        &state,
        &req,
        &key,
        TreatmentInput {
            option: TreatmentOption::Accept,
            controls: Vec::new(),
            rationale: a.rationale,
            transferred_to: None,
            expires_at: Some(a.expires_at),
        },
    )
    .await
}

/// Query of `POST /vex`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct VexQuery {
    /// The asset (id) the document is about: its statements then cover that asset only, and
    /// products named only by bom-refs that match none of its components are the asset itself
    /// (CycloneDX VEX that refers to its SBOM by BOM-Link).
    pub asset: Option<i64>,
    /// With `asset`: which product reference of the document (a bom-ref, a BOM-Link
    /// fragment) is that asset, when the document names several.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/vex", params(VexQuery), request_body(content = String, description = "A VEX document: CycloneDX 1.4-1.6 with vulnerabilities[].analysis, OpenVEX 0.2.0 or 0.0.1, or CSAF 2.0 of category csaf_vex", content_type = "application/json"), responses((status = 200, body = VexImportOutcome), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn import_vex(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<VexQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let addr = service_addr(&state.risk, "risk", &req)?;
    let asset = match q.asset {
        Some(id) => Some(known_asset_key(&state, &req, id).await?),
        None => None,
    };
    check_media_type(
        &req,
        &[
            "application/json",
            "application/vnd.cyclonedx+json",
            "application/csaf+json",
        ],
        "VEX documents",
    )?;
    let limit = state.max_import_bytes.min(vex::MAX_DOCUMENT_BYTES);
    let body = read_body(&req, payload, limit).await?;
    let bytes = body.to_vec();
    let (document, bytes) = web::block(move || vex::parse(&bytes).map(|d| (d, bytes)))
        .await
        .map_err(|e| internal(e, &req))?
        .map_err(|e| problem(vex_error_status(&e), e.to_string(), &req))?;
    let out = addr
        .ask(ImportVex {
            document,
            bytes,
            by: principal(&req),
            asset,
            reference: q.reference.clone(),
        })
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .map_err(|e| decision_problem(e, &req))?;
    Ok(HttpResponse::Ok().json(out))
}

/// Query of the export routes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// `cyclonedx` (CycloneDX 1.6 VEX, the default) or `openvex` (OpenVEX 0.2.0).
    pub format: Option<String>,
}

pub(crate) async fn asset_key_of(
    state: &ServiceState,
    req: &HttpRequest,
    raw: &str,
) -> Result<String, Problem> {
    known_asset_key(state, req, super::assets::asset_id(raw, req)?).await
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/vex", params(("id" = i64, Path, description = "Asset id"), ExportQuery), responses((status = 200, description = "A CycloneDX 1.6 VEX or an OpenVEX 0.2.0 document of the asset's analysed findings", body = Object), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn export_vex(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, Problem> {
    let format = q.format.as_deref().unwrap_or("cyclonedx");
    if !matches!(format, "cyclonedx" | "openvex") {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!("unknown format {format:?} (cyclonedx, openvex)"),
            &req,
        ));
    }
    let key = asset_key_of(&state, &req, &id).await?;
    let Some((asset, items)) = decisions::vex_export(&state.db, &key)
        .await
        .map_err(|e| internal(e, &req))?
    else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("risk analysis has not scored asset {key} yet"),
            &req,
        ));
    };
    let now = chrono::Utc::now();
    Ok(if format == "openvex" {
        let author = format!("Rampart node {}", state.node_id);
        HttpResponse::Ok()
            .content_type("application/json")
            .json(vex::export::openvex(&asset, &items, &author, now))
    } else {
        HttpResponse::Ok()
            .content_type("application/vnd.cyclonedx+json; version=1.6")
            .json(vex::export::cyclonedx(&asset, &items, now))
    })
}

fn sarif_response(findings: &[FindingView]) -> HttpResponse {
    let items: Vec<rampart_risk::sarif::SarifFinding<'_>> = findings
        .iter()
        .map(|f| rampart_risk::sarif::SarifFinding {
            finding: f,
            analysis_state: f.analysis.as_ref().map(|a| a.state.as_str()),
            analysis_detail: f.analysis.as_ref().and_then(|a| a.detail.as_deref()),
            ssvc: f.ssvc.as_deref(),
        })
        .collect();
    HttpResponse::Ok()
        .content_type("application/sarif+json")
        .json(rampart_risk::sarif::sarif(
            &items,
            env!("CARGO_PKG_VERSION"),
        ))
}

#[utoipa::path(get, path = "/api/v1/assets/{id}/sarif", params(("id" = i64, Path, description = "Asset id")), responses((status = 200, description = "SARIF 2.1.0 of the asset's findings (GitHub code scanning)", body = Object), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn asset_sarif(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let key = asset_key_of(&state, &req, &id).await?;
    let findings = decisions::export_findings(&state.db, Some(&key))
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(sarif_response(&findings))
}

#[utoipa::path(get, path = "/api/v1/risks/sarif", responses((status = 200, description = "SARIF 2.1.0 of the register (at most 25,000 findings, highest score first)", body = Object)))]
pub(crate) async fn register_sarif(
    state: web::Data<ServiceState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let findings = decisions::export_findings(&state.db, None)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(sarif_response(&findings))
}

/// Registers the triage routes (inside the `/api/v1` scope).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/findings/{key}", P::RisksRead, finding)
        .post("/findings/{key}/analysis", P::RisksTriage, analysis)
        .post("/findings/{key}/treatment", P::RisksTriage, treatment)
        .post("/findings/{key}/acceptance", P::RisksAccept, acceptance)
        .post("/vex", P::RisksTriage, import_vex)
        .get("/assets/{id}/vex", P::RisksRead, export_vex)
        .get("/assets/{id}/sarif", P::RisksRead, asset_sarif)
        .get("/risks/sarif", P::RisksRead, register_sarif);
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        finding,
        analysis,
        treatment,
        acceptance,
        import_vex,
        export_vex,
        asset_sarif,
        register_sarif
    ),
    components(schemas(
        FindingDetail,
        TimelineEntry,
        DecisionInput,
        TreatmentInput,
        TreatmentView,
        AcceptanceInput,
        VexImportOutcome
    ))
)]
pub struct TriageApiDoc;
