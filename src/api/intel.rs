//! The threat-intelligence sources' routes ([`crate::intel`]).
//!
//! | path | permission | answers |
//! |---|---|---|
//! | `GET /threat-intel/sources` | `risks:read` | each source's last success, last error, next run and breaker state |
//! | `POST /threat-intel/sources/{name}/pull` | `intel:ingest` | 202: the source is pulled now |

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::ServiceState;
use super::common::problem;
use crate::auth::{Permission as P, Routes};
use crate::intel::{PullNow, SourceStatus, Sources};
use crate::problem::Problem;

fn intel(
    state: &ServiceState,
    req: &HttpRequest,
) -> Result<rampart_supervisors::Addr<crate::intel::IntelSync>, Problem> {
    state.intel.clone().ok_or_else(|| {
        problem(
            StatusCode::NOT_FOUND,
            "no threat-intelligence source is configured on this node ([[intel.sources]], on a node that runs the risk service)",
            req,
        )
    })
}

#[utoipa::path(get, path = "/api/v1/threat-intel/sources", responses((status = 200, body = [SourceStatus], description = "Each configured source (empty when none is)")))]
pub(crate) async fn sources(
    state: web::Data<ServiceState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    // No source configured here: an empty list.
    let Some(addr) = state.intel.clone() else {
        return Ok(HttpResponse::Ok().json(Vec::<SourceStatus>::new()));
    };
    let list = addr
        .ask(Sources)
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/v1/threat-intel/sources/{name}/pull", params(("name" = String, Path, description = "The source's name")), responses((status = 202, description = "The pull started"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn pull(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let addr = intel(&state, &req)?;
    let name = name.into_inner();
    let known = addr
        .ask(Sources)
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .into_iter()
        .any(|s| s.name == name);
    if !known {
        return Err(problem(
            StatusCode::NOT_FOUND,
            format!("no source {name:?} is configured"),
            &req,
        ));
    }
    addr.ask(PullNow(name))
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .map_err(|e| problem(StatusCode::CONFLICT, e, &req))?;
    Ok(HttpResponse::Accepted().finish())
}

/// Registers the routes (inside the `/api/v1` scope).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/threat-intel/sources", P::RisksRead, sources).post(
        "/threat-intel/sources/{name}/pull",
        P::IntelIngest,
        pull,
    );
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(paths(sources, pull), components(schemas(SourceStatus)))]
pub struct IntelApiDoc;
