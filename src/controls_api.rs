//! Control-mapping endpoints under `/api/v1` (ControlMapping):
//!
//! | path | answers |
//! |---|---|
//! | `POST /frameworks/import?format=oscal-catalog\|oscal-mapping\|ciso` | 201 + what was loaded; the body is an OSCAL catalog (JSON), an OSCAL mapping collection (JSON) or a CISO Assistant library (YAML: frameworks and/or mapping sets) |
//! | `GET /frameworks` | loaded frameworks |
//! | `GET /frameworks/{framework}/controls?page=&per_page=` | its controls, by id |
//! | `GET /frameworks/{framework}/controls/{id}` | one control with its mappings to other frameworks (both directions of each crosswalk) |
//!
//! Control ids may be written as the framework writes them (`CM-7(2)`, `cm-7.2`, `pr.aa-01`):
//! they are normalised ([`rampart_actors::control::normalise_control_id`]).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rampart_actors::control::{
    ControlError, normalise_control_id, parse_ciso_library, parse_oscal_catalog,
    parse_oscal_mapping_collection,
};
use rampart_actors::db::controls::{self, ControlView, FrameworkView, LoadOutcome, MappingView};
use rampart_actors::services::control::Load;
use serde::{Deserialize, Serialize};

use crate::api::{
    ServiceState, check_media_type, internal, page_args, problem, read_body, service_addr,
};
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
}

fn control_error_status(e: &ControlError) -> StatusCode {
    match e {
        ControlError::Json { .. } | ControlError::Yaml { .. } => StatusCode::BAD_REQUEST,
        ControlError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

#[utoipa::path(post, path = "/api/v1/frameworks/import", params(ImportQuery), request_body(content = String, description = "OSCAL catalog or mapping collection (JSON), or a CISO Assistant library (YAML)", content_type = "application/json"), responses((status = 201, body = LoadOutcome), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn import(
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
                vec![rampart_actors::control::Catalog {
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
async fn frameworks(
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
async fn list_controls(
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
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items, "page": page, "per_page": per_page, "total": total
    })))
}

#[utoipa::path(get, path = "/api/v1/frameworks/{framework}/controls/{id}", params(("framework" = String, Path, description = "Framework id"), ("id" = String, Path, description = "Control id, as the framework writes it")), responses((status = 200, body = ControlDetail), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_control(
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
            Ok(HttpResponse::Ok().json(ControlDetail { control, mappings }))
        }
        None => Err(problem(
            StatusCode::NOT_FOUND,
            format!("no control {raw:?} (normalised {id:?}) in framework {fw:?}"),
            &req,
        )),
    }
}

/// Registers the control-mapping routes (inside the `/api/v1` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/frameworks/import", web::post().to(import))
        .route("/frameworks", web::get().to(frameworks))
        .route(
            "/frameworks/{framework}/controls",
            web::get().to(list_controls),
        )
        .route(
            "/frameworks/{framework}/controls/{id}",
            web::get().to(get_control),
        );
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(import, frameworks, list_controls, get_control),
    components(schemas(LoadOutcome, FrameworkView, ControlView, MappingView, ControlDetail))
)]
pub struct ControlApiDoc;
