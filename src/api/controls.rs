//! Control-mapping endpoints under `/api/v1` (ControlMapping):
//!
//! | path | answers |
//! |---|---|
//! | `POST /frameworks/import?format=oscal-catalog\|oscal-mapping\|ciso` | 201 + what was loaded; the body is an OSCAL catalog (JSON), an OSCAL mapping collection (JSON) or a CISO Assistant library (YAML: frameworks and/or mapping sets) |
//! | `GET /frameworks` | loaded frameworks |
//! | `GET /frameworks/{framework}/controls?page=&per_page=` | its controls, by id |
//! | `GET /frameworks/{framework}/controls/{id}` | one control with its mappings to other frameworks (both directions of each crosswalk) |
//! | `PUT /frameworks/{framework}/controls/{id}/status` `{status, evidence[], actor?}` | sets not_assessed / planned / implemented / partial / not_applicable (`control.status_changed`) |
//! | `GET /frameworks/{framework}/coverage` | coverage `(implemented + 0.5 × partial) / (assessable − not_applicable)` for the framework, each top-level group and each second-level group |
//! | `GET /assets/{id}/controls` | the asset's findings mapped to SP 800-53 controls by the `[[controls.rules]]`, with owner and due date, and each control's crosswalked counterparts |
//!
//! Control ids may be written as the framework writes them (`CM-7(2)`, `cm-7.2`, `pr.aa-01`):
//! they are normalised ([`rampart_control::normalise_control_id`]).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rampart_control::actor::{Load, SetStatus};
use rampart_control::store::{
    self as controls, ControlView, Coverage, FrameworkView, LoadOutcome, MappingView, StatusError,
    StatusView,
};
use rampart_control::{
    ControlError, normalise_control_id, parse_ciso_library, parse_oscal_catalog,
    parse_oscal_mapping_collection,
};
use serde::{Deserialize, Serialize};

use super::ServiceState;
use super::common::{check_media_type, internal, page_args, problem, read_body, service_addr};
use crate::auth::{Permission as P, Routes};
use crate::problem::Problem;

/// Query of the import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// `oscal-catalog`, `oscal-mapping` or `ciso`.
    pub format: String,
}

/// Query of the control list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Page from 1 (default 1).
    pub page: Option<u64>,
    /// Per page 1..=1000 (default 50).
    pub per_page: Option<u64>,
}

/// One control with its mappings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ControlDetail {
    /// The control.
    pub control: ControlView,
    /// Its mappings to controls of other frameworks.
    pub mappings: Vec<MappingView>,
    /// Its recorded status and evidence, if any.
    pub status: Option<controls::StatusView>,
}

fn control_error_status(e: &ControlError) -> StatusCode {
    match e {
        ControlError::Json { .. } | ControlError::Yaml { .. } => StatusCode::BAD_REQUEST,
        ControlError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

#[utoipa::path(post, path = "/api/v1/frameworks/import", params(ImportQuery), request_body(content = String, description = "OSCAL catalog or mapping collection (JSON), or a CISO Assistant library (YAML)", content_type = "application/json"), responses((status = 201, body = LoadOutcome), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn import(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    q: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let addr = service_addr(&state.control, "control", &req)?;
    let format = q.into_inner().format;
    let accepted: &[&str] = match format.as_str() {
        "oscal-catalog" | "oscal-mapping" => &["application/json"],
        "ciso" => &["application/yaml", "application/x-yaml", "text/yaml"],
        other => {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                format!("unknown format {other:?} (expected oscal-catalog, oscal-mapping or ciso)"),
                &req,
            ));
        }
    };
    check_media_type(&req, accepted, &format!("{format} imports"))?;
    let body = read_body(&req, payload, state.max_import_bytes).await?;
    let f = format.clone();
    let parsed = web::block(move || match f.as_str() {
        "oscal-catalog" => parse_oscal_catalog(&body, None).map(|(framework, controls)| {
            (
                vec![rampart_control::Catalog {
                    framework,
                    controls,
                }],
                Vec::new(),
            )
        }),
        "oscal-mapping" => parse_oscal_mapping_collection(&body).map(|x| (Vec::new(), x)),
        _ => parse_ciso_library(&body).map(|l| (l.frameworks, l.crosswalks)),
    })
    .await
    .map_err(|e| internal(e, &req))?
    .map_err(|e| problem(control_error_status(&e), e.to_string(), &req))?;
    let out = addr
        .ask(Load {
            catalogs: parsed.0,
            crosswalks: parsed.1,
        })
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Created().json(out))
}

#[utoipa::path(get, path = "/api/v1/frameworks", responses((status = 200, body = [FrameworkView])))]
pub(crate) async fn frameworks(
    state: web::Data<ServiceState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(
        controls::frameworks(&state.db)
            .await
            .map_err(|e| internal(e, &req))?,
    ))
}

#[utoipa::path(get, path = "/api/v1/frameworks/{framework}/controls", params(("framework" = String, Path, description = "Framework id"), PageQuery), responses((status = 200, description = "`{items, page, per_page, total}`", body = Object), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list_controls(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    fw: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, Problem> {
    let q = q.into_inner();
    let (page, per_page) = page_args(q.page, q.per_page, &req)?;
    let (items, total) = controls::controls(&state.db, &fw, page, per_page)
        .await
        .map_err(|e| internal(e, &req))?;
    if total == 0 {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!(
                "unknown framework {:?} (GET /api/v1/frameworks lists the loaded ones)",
                fw.as_str()
            ),
            &req,
        ));
    }
    // Each control with its recorded status and evidence count.
    let ids: Vec<String> = items.iter().map(|c| c.id.clone()).collect();
    let statuses = controls::statuses(&state.db, &fw, Some(&ids))
        .await
        .map_err(|e| internal(e, &req))?;
    let items: Vec<serde_json::Value> = items
        .into_iter()
        .map(|c| {
            let st = statuses.get(&c.id);
            let mut v = serde_json::to_value(&c).unwrap_or_default();
            if let serde_json::Value::Object(m) = &mut v {
                m.insert(
                    "status".into(),
                    st.map_or(serde_json::Value::Null, |s| s.status.clone().into()),
                );
                m.insert(
                    "evidence_count".into(),
                    st.map_or(0, |s| s.evidence.len()).into(),
                );
            }
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items, "page": page, "per_page": per_page, "total": total
    })))
}

#[utoipa::path(get, path = "/api/v1/frameworks/{framework}/controls/{id}", params(("framework" = String, Path, description = "Framework id"), ("id" = String, Path, description = "Control id, as the framework writes it")), responses((status = 200, body = ControlDetail), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get_control(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (fw, raw) = path.into_inner();
    let id = normalise_control_id(&fw, &raw);
    match controls::control(&state.db, &fw, &id)
        .await
        .map_err(|e| internal(e, &req))?
    {
        Some((control, mappings)) => {
            let status = controls::statuses(&state.db, &fw, Some(std::slice::from_ref(&id)))
                .await
                .map_err(|e| internal(e, &req))?
                .remove(&id);
            Ok(HttpResponse::Ok().json(ControlDetail {
                control,
                mappings,
                status,
            }))
        }
        None => Err(problem(
            StatusCode::NOT_FOUND,
            format!("no control {raw:?} (normalised {id:?}) in framework {fw:?}"),
            &req,
        )),
    }
}

/// One recommendation: a finding, the controls that mitigate it, an owner and a due date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recommendation {
    /// Vulnerability record id.
    pub vulnerability: String,
    /// Its CVE ids.
    pub cves: Vec<String>,
    /// Component and version.
    pub component: String,
    /// Risk level.
    pub level: String,
    /// Risk score.
    pub score: u8,
    /// KEV-listed.
    pub kev: bool,
    /// Owner: the asset's owner, else `unassigned`.
    pub owner: String,
    /// Remediate by (YYYY-MM-DD), from the level (CISA BOD 19-02 / 22-01, see
    /// `control::rules`).
    pub due_date: String,
    /// SP 800-53 controls (canonical ids).
    pub controls: Vec<String>,
    /// Names of the rules that matched.
    pub rules: Vec<String>,
}

/// A mitigating control with its crosswalked counterparts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MitigatingControl {
    /// SP 800-53 rev5 id.
    pub id: String,
    /// Title, when SP 800-53 is loaded.
    pub title: Option<String>,
    /// Findings it mitigates.
    pub findings: usize,
    /// The same control in the other loaded frameworks.
    pub mappings: Vec<MappingView>,
}

/// `GET /assets/{id}/controls`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssetControls {
    /// Asset key.
    pub asset_key: String,
    /// One per finding.
    pub recommendations: Vec<Recommendation>,
    /// The union of the controls, most findings first.
    pub controls: Vec<MitigatingControl>,
    /// ControlMapping's own view, kept from `risk.*` events (`controls.mapped`): control id ->
    /// findings it mitigates (asset-kind rules excluded).
    pub mapped: std::collections::BTreeMap<String, i64>,
}

/// Framework id of the rules' controls.
const RULES_FRAMEWORK: &str = "nist-sp-800-53-rev5";

#[utoipa::path(get, path = "/api/v1/assets/{id}/controls", params(("id" = i64, Path, description = "Asset id")), responses((status = 200, body = AssetControls), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn asset_controls(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id: i64 = id
        .parse()
        .map_err(|_| problem(StatusCode::BAD_REQUEST, "an asset id is an integer", &req))?;
    let Some(asset) = rampart_asset::store::get_asset(&state.db, id)
        .await
        .map_err(|e| internal(e, &req))?
    else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no asset {id}"),
            &req,
        ));
    };
    let a = asset.asset;
    let (findings, _) = rampart_risk::store::list_findings(
        &state.db,
        &rampart_risk::store::FindingFilter {
            asset_key: Some(a.key.clone()),
            page: 1,
            per_page: 1000,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| internal(e, &req))?;
    let today = chrono::Utc::now().date_naive();
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut recommendations = Vec::with_capacity(findings.len());
    for f in findings {
        let mut controls = Vec::new();
        let mut rules = Vec::new();
        for r in state
            .control_rules
            .iter()
            .filter(|r| r.matches(&f.cwes, f.kev, f.score, &a.kind))
        {
            rules.push(r.name.clone());
            for c in &r.controls {
                let c = normalise_control_id(RULES_FRAMEWORK, c);
                if !controls.contains(&c) {
                    controls.push(c);
                }
            }
        }
        for c in &controls {
            *counts.entry(c.clone()).or_default() += 1;
        }
        let due = today + chrono::Duration::days(rampart_control::rules::due_days(&f.level, f.kev));
        recommendations.push(Recommendation {
            vulnerability: f.vulnerability,
            cves: f.cves,
            component: format!(
                "{} {}",
                f.component,
                f.component_version.unwrap_or_default()
            )
            .trim()
            .to_owned(),
            level: f.level,
            score: f.score,
            kev: f.kev,
            owner: a.owner.clone().unwrap_or_else(|| "unassigned".to_owned()),
            due_date: due.format("%Y-%m-%d").to_string(),
            controls,
            rules,
        });
    }
    let mut controls_out = Vec::with_capacity(counts.len());
    for (c, n) in counts {
        let found = controls::control(&state.db, RULES_FRAMEWORK, &c)
            .await
            .map_err(|e| internal(e, &req))?;
        let (title, mappings) = match found {
            Some((v, m)) => (Some(v.title), m),
            None => (None, Vec::new()),
        };
        controls_out.push(MitigatingControl {
            id: c,
            title,
            findings: n,
            mappings,
        });
    }
    controls_out.sort_by(|x, y| y.findings.cmp(&x.findings).then(x.id.cmp(&y.id)));
    let mapped = controls::mapped_controls(&state.db, &a.key)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok().json(AssetControls {
        mapped,
        asset_key: a.key,
        recommendations,
        controls: controls_out,
    }))
}

/// Body of a status update.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusBody {
    /// not_assessed, planned, implemented, partial, not_applicable.
    pub status: String,
    /// Evidence links or references (at most 50).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Who (default `anonymous`).
    pub actor: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/frameworks/{framework}/controls/{id}/status", params(("framework" = String, Path, description = "Framework id"), ("id" = String, Path, description = "Control id")), request_body = StatusBody, responses((status = 200, body = StatusView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn set_status(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<StatusBody>,
) -> Result<HttpResponse, Problem> {
    let addr = service_addr(&state.control, "control", &req)?;
    let (fw, raw) = path.into_inner();
    let b = body.into_inner();
    let out = addr
        .ask(SetStatus {
            id: normalise_control_id(&fw, &raw),
            framework: fw,
            status: b.status,
            evidence: b.evidence,
            actor: b
                .actor
                .filter(|a| !a.trim().is_empty())
                .unwrap_or_else(|| "anonymous".to_owned()),
        })
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?;
    match out {
        Ok(v) => Ok(HttpResponse::Ok().json(v)),
        Err(e @ StatusError::NotFound { .. }) => {
            Err(problem(StatusCode::NOT_FOUND, e.to_string(), &req))
        }
        Err(e @ StatusError::Invalid(_)) => Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.to_string(),
            &req,
        )),
        Err(e) => Err(internal(e, &req)),
    }
}

#[utoipa::path(get, path = "/api/v1/frameworks/{framework}/coverage", params(("framework" = String, Path, description = "Framework id")), responses((status = 200, body = Coverage), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn coverage(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    fw: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    match controls::coverage(&state.db, &fw)
        .await
        .map_err(|e| internal(e, &req))?
    {
        Some(c) => Ok(HttpResponse::Ok().json(c)),
        None => Err(problem(
            StatusCode::NOT_FOUND,
            format!("unknown framework {:?}", fw.as_str()),
            &req,
        )),
    }
}

/// Registers the control-mapping routes (inside the `/api/v1` scope).
pub fn routes(r: &mut Routes<'_>) {
    r.post("/frameworks/import", P::ControlsImport, import)
        .get("/assets/{id}/controls", P::ControlsRead, asset_controls)
        .get(
            "/frameworks/{framework}/coverage",
            P::ControlsRead,
            coverage,
        )
        .put(
            "/frameworks/{framework}/controls/{id}/status",
            P::ControlsEdit,
            set_status,
        )
        .get("/frameworks", P::ControlsRead, frameworks)
        .get(
            "/frameworks/{framework}/controls",
            P::ControlsRead,
            list_controls,
        )
        .get(
            "/frameworks/{framework}/controls/{id}",
            P::ControlsRead,
            get_control,
        );
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        import,
        frameworks,
        list_controls,
        get_control,
        asset_controls,
        set_status,
        coverage
    ),
    components(schemas(
        LoadOutcome,
        FrameworkView,
        ControlView,
        MappingView,
        ControlDetail,
        Recommendation,
        MitigatingControl,
        AssetControls
    ))
)]
pub struct ControlApiDoc;
