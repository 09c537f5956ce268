//! The asset discovery sources' routes ([`crate::discovery`]).
//!
//! | path | permission | answers |
//! |---|---|---|
//! | `GET /discovery/sources` | `assets:read` | each source's last success, last error, next run, breaker state and last job |
//! | `POST /discovery/sources/{name}/run` | `assets:import` | 202 with the run's job (`/api/v1/jobs/{id}`) |

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::ServiceState;
use super::common::{accepted, problem};
use crate::auth::{Permission as P, Routes};
use crate::discovery::{DiscoveryStatus, RunNow, RunRefused, Sources};
use crate::problem::Problem;

#[utoipa::path(get, path = "/api/v1/discovery/sources", responses((status = 200, body = [DiscoveryStatus], description = "Each configured source (empty when none is)")))]
pub(crate) async fn sources(
    state: web::Data<ServiceState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let Some(addr) = state.discovery.clone() else {
        return Ok(HttpResponse::Ok().json(Vec::<DiscoveryStatus>::new()));
    };
    let list = addr
        .ask(Sources)
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/v1/discovery/sources/{name}/run", params(("name" = String, Path, description = "The source's name")), responses((status = 202, body = super::common::Accepted, description = "The run started; its job"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn run(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let Some(addr) = state.discovery.clone() else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "no discovery source is configured on this node ([[discovery.aws]], [[discovery.google]], on a node that runs the asset service)",
            &req,
        ));
    };
    let id = addr
        .ask(RunNow(name.into_inner()))
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), &req))?
        .map_err(|e| {
            let status = match e {
                RunRefused::Unknown(_) => StatusCode::NOT_FOUND,
                RunRefused::Running(_) => StatusCode::CONFLICT,
                RunRefused::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            problem(status, e.to_string(), &req)
        })?;
    Ok(accepted(id))
}

/// Registers the routes (inside the `/api/v1` scope).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/discovery/sources", P::AssetsRead, sources).post(
        "/discovery/sources/{name}/run",
        P::AssetsImport,
        run,
    );
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(paths(sources, run), components(schemas(DiscoveryStatus)))]
pub struct DiscoveryApiDoc;
