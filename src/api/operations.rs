//! Operations routes: jobs, dead letters and their replay, the runtime (supervision tree and
//! in-process dead letters), the demo actor and fault injection (config `demo.fault_injection`).
//!
//! | path | answers |
//! |---|---|
//! | `GET /jobs/{id}` | the job's state, counts, errors |
//! | `GET /dead-letters` | events a service's consumer gave up on |
//! | `POST /dead-letters/{service}/{event_id}/replay` | re-publishes one (through the outbox) |
//! | `GET /runtime/tree` | the supervision tree snapshot |
//! | `GET /runtime/dead-letters` | the in-process dead-letter list |
//! | `GET /nodes` | the deployment's nodes, their roles and state ([`crate::nodes`]) |
//! | `GET /queues` | every queue of the bus with its depth and consumers |
//! | `POST /demo/echo` | `{"text": ...}` answered by the `demo/echo` actor |
//! | `GET /demo/echo-cached?text=` | the same through retry, breaker, time limiter, bulkhead and cached fallback |
//! | `POST /demo/faults/panic`, `/faults/stall?ms=N`, `/faults/poison` | fault injection |

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rampart_platform::dead_letters::{self, DeadLetterView};
use rampart_platform::jobs::{self, JobView};
use rampart_risk::actor::SetPoison;
use rampart_supervisors::resilience::CallError;
use rampart_supervisors::{Addr, AskError};
use serde::Deserialize;
use uuid::Uuid;

use super::ServiceState;
use super::common::{internal, problem, service_addr};
use crate::auth::{Permission as P, Routes};
use crate::demo::{Echo, EchoActor, EchoReply, InjectPanic, InjectStall};
use crate::http::AppState;
use crate::problem::Problem;

#[utoipa::path(get, path = "/api/v1/jobs/{id}", params(("id" = Uuid, Path, description = "Job id")), responses((status = 200, body = JobView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn job(
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

#[utoipa::path(get, path = "/api/v1/dead-letters", responses((status = 200, description = "Events a service's consumer gave up on, newest first (at most 1000)", body = [DeadLetterView])))]
pub(crate) async fn list_dead_letters(
    state: web::Data<ServiceState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let items = dead_letters::list(&state.db, 1000)
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok().json(items))
}

#[utoipa::path(post, path = "/api/v1/dead-letters/{service}/{event_id}/replay", params(("service" = String, Path, description = "The consuming service"), ("event_id" = Uuid, Path, description = "The event id")), responses((status = 202, description = "Re-published (through the outbox)", body = DeadLetterView), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn replay_dead_letter(
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
pub(crate) async fn poison(
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

#[utoipa::path(get, path = "/api/v1/runtime/tree", responses((status = 200, description = "Supervision tree snapshot", body = Object)))]
pub(crate) async fn tree(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.root.snapshot())
}

#[utoipa::path(get, path = "/api/v1/runtime/dead-letters", responses((status = 200, description = "In-process dead letters, oldest first", body = [Object])))]
pub(crate) async fn dead_letters(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.dead_letters.list())
}

#[utoipa::path(get, path = "/api/v1/nodes", responses((status = 200, description = "The deployment's nodes (every node sharing this database seen in the last 7 days), by id: roles, version, bus, last heartbeat, state up/unreachable/stopped", body = [crate::nodes::NodeView])))]
pub(crate) async fn nodes(
    state: web::Data<ServiceState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let list = crate::nodes::list(&state.db, chrono::Utc::now())
        .await
        .map_err(|e| internal(e, &req))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(list))
}

#[utoipa::path(get, path = "/api/v1/queues", responses((status = 200, description = "Every queue of the bus: name, service, kind (events, dead-letter, requests), messages ready, consumers (RabbitMQ; null in process), capacity (in process)", body = [Object]), (status = 503, description = "RabbitMQ is not connected", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn queues(
    app: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    match app.bus.queue_stats().await {
        Ok(q) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(q)),
        Err(e) => {
            tracing::warn!(error = %e, "reading the queues' figures");
            Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the broker cannot be asked right now; try again",
                &req,
            ))
        }
    }
}

/// Maps an actor call's failure to a problem: the actor is there but could not answer (503), or
/// did not in time (504).
fn ask_problem(e: AskError, path: &str) -> Problem {
    let status = match e {
        AskError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    Problem::new(status, e.to_string()).at(path)
}

fn echo_addr<'a>(state: &'a AppState, req: &HttpRequest) -> Result<&'a Addr<EchoActor>, Problem> {
    state.echo.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "the demo tree is not running on this node",
        )
        .at(req.path())
    })
}

/// Request timeout of the demo endpoints.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

#[utoipa::path(post, path = "/api/v1/demo/echo", request_body = Echo, responses((status = 200, body = EchoReply), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn echo(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Echo>,
) -> Result<HttpResponse, Problem> {
    let addr = echo_addr(&state, &req)?;
    let reply = addr
        .ask_timeout(body.into_inner(), ASK_TIMEOUT)
        .await
        .map_err(|e| ask_problem(e, req.path()))?;
    Ok(HttpResponse::Ok().json(reply))
}

/// Query of the cached echo.
#[derive(Debug, Deserialize)]
pub struct EchoQuery {
    /// Text to echo (at most 1024 bytes); also the cache key.
    pub text: String,
}

/// `GET /api/v1/demo/echo-cached?text=`: asks `demo/echo` through the resilience policy. While echo
/// cannot answer (stalled, restarting, breaker open), the last good reply for the same text is
/// served with `"freshness": "stale"` and its `age_ms`; with nothing cached, 503.
#[utoipa::path(get, path = "/api/v1/demo/echo-cached", params(("text" = String, Query, description = "Text to echo, at most 1024 bytes")), responses((status = 200, description = "`{value, freshness, age_ms?, stored_at?}`", body = Object), (status = 503, body = Problem, content_type = "application/problem+json"), (status = 504, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn echo_cached(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<EchoQuery>,
) -> Result<HttpResponse, Problem> {
    let addr = echo_addr(&state, &req)?;
    let Some(policy) = state.echo_policy.as_ref() else {
        return Err(
            Problem::new(StatusCode::NOT_FOUND, "no policy for the demo tree").at(req.path()),
        );
    };
    let text = q.into_inner().text;
    if text.len() > 1024 {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "text must be at most 1024 bytes",
        )
        .at(req.path()));
    }
    let served = policy
        .call_with_fallback(text.clone(), || addr.ask(Echo { text: text.clone() }))
        .await
        .map_err(|e| {
            let status = match e {
                CallError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            Problem::new(status, format!("echo unavailable and nothing cached: {e}")).at(req.path())
        })?;
    Ok(HttpResponse::Ok().json(served))
}

fn faults_enabled(state: &AppState, req: &HttpRequest) -> Result<(), Problem> {
    if state.fault_injection {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::NOT_FOUND,
            "fault injection is off (config demo.fault_injection)",
        )
        .at(req.path()))
    }
}

#[utoipa::path(post, path = "/api/v1/demo/faults/panic", responses((status = 202, description = "The handler panicked; the actor restarts", body = Object), (status = 404, description = "Fault injection is off", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn fault_panic(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    faults_enabled(&state, &req)?;
    let addr = echo_addr(&state, &req)?;
    match addr.ask_timeout(InjectPanic, ASK_TIMEOUT).await {
        // The expected outcome: the handler panicked, the caller got an error, the actor restarts.
        Err(AskError::Failed { reason, .. }) => {
            Ok(HttpResponse::Accepted().json(serde_json::json!({
                "injected": "panic",
                "caller_saw": reason,
            })))
        }
        Err(e) => Err(ask_problem(e, req.path())),
        Ok(()) => Err(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the injected panic did not happen",
        )
        .at(req.path())),
    }
}

/// Query of the stall fault.
#[derive(Debug, Deserialize)]
pub struct StallQuery {
    /// How long the handler stalls, ms (at most 600000).
    pub ms: u64,
}

#[utoipa::path(post, path = "/api/v1/demo/faults/stall", params(("ms" = u64, Query, description = "Stall length, ms, at most 600000")), responses((status = 202, body = Object), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn fault_stall(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<StallQuery>,
) -> Result<HttpResponse, Problem> {
    faults_enabled(&state, &req)?;
    if q.ms > 600_000 {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ms must be at most 600000",
        )
        .at(req.path()));
    }
    let addr = echo_addr(&state, &req)?;
    addr.tell(InjectStall {
        duration: Duration::from_millis(q.ms),
    })
    .await
    .map_err(|e| ask_problem(e, req.path()))?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "injected": "stall", "ms": q.ms })))
}

/// Registers the operations routes (inside the `/api/v1` scope).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/jobs/{id}", P::JobsRead, job)
        .get("/dead-letters", P::OperationsRead, list_dead_letters)
        .post("/demo/faults/poison", P::OperationsFaults, poison)
        .post(
            "/dead-letters/{service}/{event_id}/replay",
            P::OperationsReplay,
            replay_dead_letter,
        )
        .get("/runtime/tree", P::OperationsRead, tree)
        .get("/runtime/dead-letters", P::OperationsRead, dead_letters)
        .get("/nodes", P::OperationsRead, nodes)
        .get("/queues", P::OperationsRead, queues)
        .post("/demo/echo", P::OperationsFaults, echo)
        .get("/demo/echo-cached", P::OperationsFaults, echo_cached)
        .post("/demo/faults/panic", P::OperationsFaults, fault_panic)
        .post("/demo/faults/stall", P::OperationsFaults, fault_stall)
        .post(
            "/auth/keys/rotate",
            P::AuthAdmin,
            crate::auth::token::rotate,
        );
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        job,
        list_dead_letters,
        replay_dead_letter,
        poison,
        tree,
        dead_letters,
        nodes,
        queues,
        echo,
        echo_cached,
        fault_panic,
        fault_stall
    ),
    components(schemas(JobView, DeadLetterView, Echo, EchoReply, crate::nodes::NodeView))
)]
pub struct OperationsApiDoc;
