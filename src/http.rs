//! The HTTP server's own routes (actix-web): health endpoints, metrics, the OpenAPI document;
//! the service routes under `/api/v1` are in [`crate::api`] (runtime introspection and the demo
//! in [`crate::api::operations`]).
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

use crate::demo::{EchoActor, EchoReply};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rampart_supervisors::resilience::ResiliencePolicy;
use rampart_supervisors::{Addr, AskError, DeadLetters, NodeSnapshot, SupervisorHandle};
use serde::Serialize;

use crate::auth::{Permission, RouteTable, Routes};
use crate::problem::Problem;

/// What the handlers share.
pub struct AppState {
    /// The node's id.
    pub node_id: String,
    /// The node's event bus (readiness requires it connected).
    pub bus: rampart_platform::bus::Bus,
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
    paths(livez, readyz, startupz, metrics, openapi, crate::auth::token::rotate),
    components(schemas(Health, Problem, crate::auth::keys::Rotation))
)]
pub struct ApiDoc;

/// The OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(openapi_document())
}

/// The whole OpenAPI 3.1 document: every route's operation, the `bearer` and `oauth2` security
/// schemes and each operation's permission ([`document_security`]).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi as _;
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::api::openapi());
    document_security(&mut doc, &route_table());
    doc
}

/// Declares the edge in `doc`: the security schemes `bearer` (a JWT access token, RFC 6750 and
/// RFC 9068) and `oauth2` (client-credentials flow at `/oauth2/token`, RFC 6749 §4.4; its scopes
/// are the roles), and, on every operation of `table`, its permission as the extension
/// `x-rampart-permission` and its security requirement: none (`{}`) for public routes, else
/// `bearer` or `oauth2` with the roles that hold the permission by default.
pub fn document_security(doc: &mut utoipa::openapi::OpenApi, table: &RouteTable) {
    use utoipa::openapi::security::{
        ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityRequirement,
        SecurityScheme,
    };
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An access token (RFC 9068) of Rampart's token service or a configured OIDC issuer",
                ))
                .build(),
        ),
    );
    let scopes = Scopes::from_iter(
        crate::auth::rbac::ROLES
            .iter()
            .map(|r| (r.to_string(), format!("the `{r}` role"))),
    );
    components.add_security_scheme(
        "oauth2",
        SecurityScheme::OAuth2(OAuth2::new([Flow::ClientCredentials(
            ClientCredentials::new("/oauth2/token", scopes),
        )])),
    );
    let roles = crate::auth::rbac::default_roles();
    for rule in table.rules() {
        let Some(item) = doc.paths.paths.get_mut(&rule.pattern) else {
            continue;
        };
        let op = match rule.method.as_str() {
            "GET" => item.get.as_mut(),
            "POST" => item.post.as_mut(),
            "PUT" => item.put.as_mut(),
            "DELETE" => item.delete.as_mut(),
            "PATCH" => item.patch.as_mut(),
            _ => None,
        };
        let Some(op) = op else { continue };
        op.extensions.get_or_insert_with(Default::default).insert(
            "x-rampart-permission".to_owned(),
            serde_json::Value::from(rule.permission.as_str()),
        );
        op.security = Some(if rule.permission == Permission::Public {
            vec![SecurityRequirement::default()]
        } else {
            let holders: Vec<String> = roles
                .iter()
                .filter(|(_, ps)| ps.contains(&rule.permission))
                .map(|(r, _)| r.clone())
                .collect();
            vec![
                SecurityRequirement::new("bearer", Vec::<String>::new()),
                SecurityRequirement::new("oauth2", holders),
            ]
        });
    }
}

fn health(state: &AppState, verdict: impl Fn(&NodeSnapshot) -> bool) -> HttpResponse {
    let tree = state.root.snapshot();
    let ok = verdict(&tree);
    let body = Health {
        status: if ok { "ok" } else { "fail" },
        node: state.node_id.clone(),
        bus: match &state.bus {
            rampart_platform::bus::Bus::InProcess(_) => "in-process",
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

async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError as _;
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("no route for {} {}", req.method(), req.path()),
    )
    .at(req.path())
    .error_response()
}

/// Registers every route on `cfg`, each with its permission recorded in `table` (the policy the
/// authorizer middleware enforces, [`crate::auth::rbac`]), with JSON bodies bounded to
/// `max_body_bytes` (413 past it) and malformed JSON answered 400/422 as problems.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize, table: &mut RouteTable) {
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
    cfg.app_data(json).app_data(query);
    {
        let mut r = Routes::new(cfg, "", table);
        r.get("/livez", Permission::Public, livez)
            .get("/readyz", Permission::Public, readyz)
            .get("/startupz", Permission::Public, startupz)
            .get("/metrics", Permission::MetricsRead, metrics);
        crate::auth::token::routes(&mut r);
        crate::console::routes(&mut r);
    }
    cfg.service(web::scope("/api/v1").configure(|c| {
        let mut r = Routes::new(c, "/api/v1", table);
        r.get("/openapi.json", Permission::Public, openapi);
        crate::api::routes(&mut r);
    }))
    .default_service(web::to(not_found));
}

/// The route table of [`configure`] (every route, its method, pattern and permission), built
/// without serving.
pub fn route_table() -> RouteTable {
    let mut table = RouteTable::default();
    let _app = actix_web::App::new().configure(|c| configure(c, 1, &mut table));
    table
}
