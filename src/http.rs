//! The HTTP API (actix-web): health endpoints, metrics, runtime introspection and the demo service.
//!
//! | path | answers |
//! |---|---|
//! | `GET /livez` | 200 while the root supervisor has not given up, else 503; JSON with the tree |
//! | `GET /readyz` | 200 when every actor is running and ready, else 503; JSON with the tree |
//! | `GET /startupz` | 200 once every actor has started, else 503; JSON with the tree |
//! | `GET /metrics` | Prometheus text exposition (version 0.0.4) |
//! | `GET /api/v1/openapi.json` | the OpenAPI 3.1 document ([`ApiDoc`]) |
//! | `GET /api/v1/runtime/tree` | the supervision tree snapshot |
//! | `GET /api/v1/runtime/dead-letters` | the in-process dead-letter list |
//! | `POST /api/v1/demo/echo` | `{"text": ...}` answered by the `demo/echo` actor |
//! | `GET /api/v1/demo/echo-cached?text=` | the same through retry, breaker, time limiter, bulkhead and cached fallback |
//! | `POST /api/v1/demo/faults/panic`, `/faults/stall?ms=N` | fault injection (config `demo.fault_injection`) |
//!
//! Every error is an RFC 9457 problem (`application/problem+json`).

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rampart_actors::demo::{Echo, EchoActor, EchoReply, InjectPanic, InjectStall};
use rampart_supervisors::resilience::{CallError, ResiliencePolicy};
use rampart_supervisors::{Addr, AskError, DeadLetters, NodeSnapshot, SupervisorHandle};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

/// What the handlers share.
pub struct AppState {
    /// The node's id.
    pub node_id: String,
    /// The node's event bus (readiness requires it connected).
    pub bus: rampart_actors::bus::Bus,
    /// The root supervisor.
    pub root: Arc<SupervisorHandle>,
    /// Metrics registry exported at `/metrics`.
    pub registry: prometheus::Registry,
    /// The runtime's dead letters.
    pub dead_letters: DeadLetters,
    /// `demo/echo`, when the demo tree runs.
    pub echo: Option<Addr<EchoActor>>,
    /// Resilience policy (with cached fallback, keyed by text) of calls to `demo/echo`.
    pub echo_policy: Option<ResiliencePolicy<AskError, String, EchoReply>>,
    /// Whether fault injection endpoints answer.
    pub fault_injection: bool,
}

/// Body of the health endpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `fail`.
    pub status: &'static str,
    /// The node's id.
    pub node: String,
    /// `in-process`, `connected` (RabbitMQ) or `disconnected` (RabbitMQ unreachable: not ready).
    pub bus: &'static str,
    /// The whole supervision tree: each node's name, kind, state, restarts, generation,
    /// last_failure, started, ready, probes, mailbox and children.
    #[schema(value_type = Object)]
    pub tree: NodeSnapshot,
}

/// The OpenAPI 3.1 document of this API, served at `/api/v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Rampart",
        description = "Cybersecurity-compliance platform on a supervised actor runtime. Errors are RFC 9457 problem details."
    ),
    paths(
        livez,
        readyz,
        startupz,
        metrics,
        tree,
        dead_letters,
        echo,
        echo_cached,
        fault_panic,
        fault_stall,
        openapi
    ),
    components(schemas(Health, Problem, Echo, EchoReply))
)]
pub struct ApiDoc;

/// The OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
async fn openapi() -> HttpResponse {
    use utoipa::OpenApi as _;
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::api::ServiceApiDoc::openapi());
    doc.merge(crate::incidents_api::IncidentApiDoc::openapi());
    doc.merge(crate::controls_api::ControlApiDoc::openapi());
    HttpResponse::Ok().json(doc)
}

fn health(state: &AppState, verdict: impl Fn(&NodeSnapshot) -> bool) -> HttpResponse {
    let tree = state.root.snapshot();
    let ok = verdict(&tree);
    let body = Health {
        status: if ok { "ok" } else { "fail" },
        node: state.node_id.clone(),
        bus: match &state.bus {
            rampart_actors::bus::Bus::InProcess(_) => "in-process",
            b if b.is_connected() => "connected",
            _ => "disconnected",
        },
        tree,
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

#[utoipa::path(get, path = "/livez", responses((status = 200, description = "The root supervisor has not given up", body = Health), (status = 503, description = "The root supervisor gave up (restart intensity exceeded)", body = Health)))]
async fn livez(state: web::Data<AppState>) -> HttpResponse {
    health(&state, NodeSnapshot::is_live)
}

#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Every actor is running and ready, and the bus connected", body = Health), (status = 503, description = "Some actor is not ready, or RabbitMQ is unreachable", body = Health)))]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let bus_up = state.bus.is_connected();
    health(&state, |t| t.is_live() && t.is_ready() && bus_up)
}

#[utoipa::path(get, path = "/startupz", responses((status = 200, description = "Every actor has started", body = Health), (status = 503, description = "Still starting", body = Health)))]
async fn startupz(state: web::Data<AppState>) -> HttpResponse {
    health(&state, NodeSnapshot::is_started)
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text exposition 0.0.4", content_type = "text/plain", body = String)))]
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&state.registry.gather())
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

#[utoipa::path(get, path = "/api/v1/runtime/tree", responses((status = 200, description = "Supervision tree snapshot", body = Object)))]
async fn tree(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.root.snapshot())
}

#[utoipa::path(get, path = "/api/v1/runtime/dead-letters", responses((status = 200, description = "In-process dead letters, oldest first", body = [Object])))]
async fn dead_letters(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.dead_letters.list())
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
async fn echo(
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
async fn echo_cached(
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
async fn fault_panic(
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
async fn fault_stall(
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

async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError as _;
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("no route for {} {}", req.method(), req.path()),
    )
    .at(req.path())
    .error_response()
}

/// Registers every route on `cfg`, with JSON bodies bounded to `max_body_bytes` (413 past it) and
/// malformed JSON answered 400/422 as problems.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    let json = web::JsonConfig::default()
        .limit(max_body_bytes)
        .error_handler(|err, req| {
            use actix_web::error::JsonPayloadError as J;
            let status = match &err {
                J::OverflowKnownLength { .. } | J::Overflow { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                J::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                J::Deserialize(e) if e.is_data() => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::BAD_REQUEST,
            };
            Problem::new(status, err.to_string()).at(req.path()).into()
        });
    let query = web::QueryConfig::default().error_handler(|err, req| {
        Problem::new(StatusCode::BAD_REQUEST, err.to_string())
            .at(req.path())
            .into()
    });
    cfg.app_data(json)
        .app_data(query)
        .route("/livez", web::get().to(livez))
        .route("/readyz", web::get().to(readyz))
        .route("/startupz", web::get().to(startupz))
        .route("/metrics", web::get().to(metrics))
        .service(crate::api::routes(
            web::scope("/api/v1")
                .route("/openapi.json", web::get().to(openapi))
                .route("/runtime/tree", web::get().to(tree))
                .route("/runtime/dead-letters", web::get().to(dead_letters))
                .route("/demo/echo", web::post().to(echo))
                .route("/demo/echo-cached", web::get().to(echo_cached))
                .route("/demo/faults/panic", web::post().to(fault_panic))
                .route("/demo/faults/stall", web::post().to(fault_stall)),
        ))
        .default_service(web::to(not_found));
}
