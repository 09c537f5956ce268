//! The authorizer middleware (the seed's "Lambda authorizer"), in front of every route:
//!
//! 1. the route table ([`super::rbac`]) gives the permission of the route that will run;
//! 2. a public route passes; any other needs `Authorization: Bearer <token>` validated by
//!    [`super::authorizer`]: missing or bad → 401 with `WWW-Authenticate: Bearer
//!    realm="rampart", error="invalid_token"` (RFC 6750 §3; no `error` when no token was sent,
//!    §3.1); a valid token whose roles lack the permission → 403 `error="insufficient_scope"`
//!    with the `scope` needed. Bodies are RFC 9457 problems;
//! 3. the [`Principal`] is put in the request's extensions for the handler;
//! 4. every call under `/api/` and `/oauth2/`, and every refused call anywhere, is recorded
//!    ([`super::calls`]) with CloudTrail's fields, after the answer, without waiting.
//!
//! Requests carry an `X-Request-Id` (the client's, if it is 1..=128 visible ASCII characters,
//! else a new UUID v7) that is echoed in the response and the record.

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpResponse, ResponseError as _, web};
use rampart_contracts::edge::{ApiCall, CallerIdentity};

use super::authorizer::TokenError;
use super::{Edge, Permission, Principal, rbac};
use crate::problem::Problem;

/// `X-Request-Id`.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// The bearer token of `req`: `Ok(None)` without an `Authorization` header.
fn bearer(req: &ServiceRequest) -> Result<Option<String>, TokenError> {
    let Some(v) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| TokenError::Malformed("Authorization is not visible ASCII"))?;
    let (scheme, token) = v.split_once(' ').ok_or(TokenError::Malformed(
        "Authorization must be `Bearer <token>`",
    ))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Malformed("Authorization scheme must be Bearer"));
    }
    let token = token.trim();
    // RFC 6750 §2.1 b64token syntax.
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
    {
        return Err(TokenError::Malformed("the token is not a b64token"));
    }
    Ok(Some(token.to_owned()))
}

fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

fn refusal(status: StatusCode, challenge: String, detail: String, path: &str) -> HttpResponse {
    let mut r = Problem::new(status, detail).at(path).error_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

const SECRET_KEYS: [&str; 6] = ["secret", "token", "password", "passwd", "key", "credential"];

/// The request line for the access log: `METHOD path?query HTTP/x`, with the values of query
/// keys that look like secrets (`SECRET_KEYS`) replaced by `[redacted]`, and a query that
/// does not decode replaced by `[undecodable query]`, so a secret put in a URL never reaches a
/// log line.
pub fn redacted_request_line(req: &ServiceRequest) -> String {
    let q = req.query_string();
    let target = if q.is_empty() {
        req.path().to_owned()
    } else {
        match serde_urlencoded::from_str::<Vec<(String, String)>>(q) {
            Ok(pairs) => {
                let pairs: Vec<(String, String)> = pairs
                    .into_iter()
                    .map(|(k, v)| {
                        let lower = k.to_ascii_lowercase();
                        if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                            (k, "[redacted]".to_owned())
                        } else {
                            (k, v)
                        }
                    })
                    .collect();
                let q = serde_urlencoded::to_string(&pairs)
                    .unwrap_or_else(|_| "[undecodable query]".to_owned());
                format!("{}?{q}", req.path())
            }
            Err(_) => format!("{}?[undecodable query]", req.path()),
        }
    };
    format!("{} {target} {:?}", req.method(), req.version())
}

fn parameters(req: &ServiceRequest, rule: Option<&rbac::RouteRule>) -> BTreeMap<String, String> {
    let cut = |v: &str| v.chars().take(256).collect::<String>();
    let mut out = BTreeMap::new();
    if let Some(rule) = rule {
        for (k, v) in rule.params(req.path()) {
            out.insert(k, cut(&v));
        }
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    for (k, v) in query {
        if out.len() >= 32 {
            break;
        }
        let lower = k.to_ascii_lowercase();
        let v = if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
            "[redacted]".to_owned()
        } else {
            cut(&v)
        };
        out.insert(cut(&k), v);
    }
    out
}

struct Pending {
    request_id: String,
    time: chrono::DateTime<chrono::Utc>,
    started: Instant,
    operation: String,
    source_ip: Option<String>,
    user_agent: Option<String>,
    parameters: BTreeMap<String, String>,
}

impl Pending {
    fn finish(
        self,
        edge: &Edge,
        principal: Option<&Principal>,
        status: StatusCode,
        error_code: Option<&str>,
    ) -> ApiCall {
        ApiCall {
            request_id: self.request_id,
            time: self
                .time
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            operation: self.operation,
            principal: principal.map(|p| CallerIdentity {
                sub: p.sub.clone(),
                client_id: p.client_id.clone(),
                issuer: p.issuer.clone(),
                roles: p.roles.clone(),
            }),
            source_ip: self.source_ip,
            user_agent: self.user_agent,
            parameters: self.parameters,
            status: status.as_u16(),
            error_code: error_code.map(str::to_owned),
            duration_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            node: edge.node_id.clone(),
            repeats: 1,
            last_time: None,
        }
    }
}

/// The middleware (module docs); `wrap(actix_web::middleware::from_fn(authorize))`.
///
/// # Errors
/// Only the inner service's errors.
pub async fn authorize(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(edge) = req.app_data::<web::Data<Edge>>().cloned() else {
        // No edge configured (unit tests of bare routes): fail closed.
        let res = Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the API edge is not configured",
        )
        .error_response();
        return Ok(req.into_response(res).map_into_right_body());
    };
    let rid = request_id(&req);
    let rule = edge.table.find(req.method(), req.path());
    let mut permission = rule.map(|r| r.permission);
    if permission == Some(Permission::MetricsRead) && edge.public_metrics {
        permission = Some(Permission::Public);
    }
    let path = req.path().to_owned();
    // Console pages are reads of the API's data; its forms are recorded like API calls.
    let recorded = path.starts_with("/api/")
        || path.starts_with("/oauth2/")
        || (path.starts_with("/console/") && !matches!(*req.method(), Method::GET | Method::HEAD));
    let pending = Pending {
        request_id: rid.clone(),
        time: chrono::Utc::now(),
        started: Instant::now(),
        operation: format!(
            "{} {}",
            req.method(),
            rule.map_or(path.as_str(), |r| r.pattern.as_str())
        ),
        source_ip: crate::shield::client_ip(&req).map(|a| a.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect()),
        parameters: parameters(&req, rule),
    };

    // The console's pages and forms: a session cookie instead of a bearer token.
    let console = path.starts_with("/console/")
        && permission != Some(Permission::Public)
        && !req.headers().contains_key(header::AUTHORIZATION);
    let principal = if permission == Some(Permission::Public) {
        edge.metrics.decisions.with_label_values(&["public"]).inc();
        None
    } else if console {
        match console_session(&req) {
            Ok((p, session)) => {
                req.extensions_mut().insert(session);
                Some(p)
            }
            Err(refused) => {
                let refused = *refused;
                let status = refused.status();
                if status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED {
                    edge.metrics
                        .decisions
                        .with_label_values(&[if status == StatusCode::FORBIDDEN {
                            "forbidden"
                        } else {
                            "unauthenticated"
                        }])
                        .inc();
                    edge.calls.record(pending.finish(
                        &edge,
                        None,
                        status,
                        Some(if status == StatusCode::FORBIDDEN {
                            "csrf"
                        } else {
                            "no_session"
                        }),
                    ));
                }
                return Ok(with_id(req.into_response(refused), &rid).map_into_right_body());
            }
        }
    } else if !edge.enabled {
        Some(Principal::anonymous_admin())
    } else {
        let validated = match bearer(&req) {
            Ok(Some(t)) => edge.authorizer.validate(&t).await.map_err(Some),
            Ok(None) => Err(None),
            Err(e) => Err(Some(e)),
        };
        match validated {
            Ok(p) => Some(p),
            Err(e) => {
                edge.metrics
                    .decisions
                    .with_label_values(&["unauthenticated"])
                    .inc();
                let (challenge, detail) = match &e {
                    None => (
                        "Bearer realm=\"rampart\"".to_owned(),
                        TokenError::Missing.to_string(),
                    ),
                    Some(e) => (
                        format!(
                            "Bearer realm=\"rampart\", error=\"invalid_token\", error_description=\"{}\"",
                            quoted(&e.to_string())
                        ),
                        e.to_string(),
                    ),
                };
                let res = refusal(StatusCode::UNAUTHORIZED, challenge, detail, &path);
                edge.calls.record(pending.finish(
                    &edge,
                    None,
                    StatusCode::UNAUTHORIZED,
                    Some("invalid_token"),
                ));
                return Ok(with_id(req.into_response(res), &rid).map_into_right_body());
            }
        }
    };

    if let (Some(p), Some(perm)) = (&principal, permission)
        && !rbac::allows(&edge.roles, &p.roles, perm)
    {
        edge.metrics
            .decisions
            .with_label_values(&["forbidden"])
            .inc();
        let challenge =
            format!("Bearer realm=\"rampart\", error=\"insufficient_scope\", scope=\"{perm}\"");
        let res = if console && matches!(*req.method(), Method::GET | Method::HEAD) {
            crate::console::forbidden_page(perm)
        } else {
            refusal(
                StatusCode::FORBIDDEN,
                challenge,
                format!(
                    "this route needs the permission {perm}, which the token's roles do not hold"
                ),
                &path,
            )
        };
        edge.calls.record(pending.finish(
            &edge,
            Some(p),
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
        ));
        return Ok(with_id(req.into_response(res), &rid).map_into_right_body());
    }
    if principal.is_some() {
        edge.metrics.decisions.with_label_values(&["allowed"]).inc();
    }
    if let Some(p) = &principal {
        req.extensions_mut().insert(p.clone());
    }
    let res = next.call(req).await?;
    if recorded {
        edge.calls
            .record(pending.finish(&edge, principal.as_ref(), res.status(), None));
    }
    Ok(with_id(res, &rid).map_into_left_body())
}

/// The console session of `req` (its cookie), checked: for a state-changing method, the CSRF
/// token (`csrf_token` query parameter or `X-CSRF-Token`) and the `Origin`. Refusals: a 303 to
/// the login page for a page view without a session, 401 for anything else without one, 403
/// for a missing or wrong CSRF token or a foreign origin.
fn console_session(
    req: &ServiceRequest,
) -> Result<(Principal, std::sync::Arc<crate::console::session::Session>), Box<HttpResponse>> {
    use crate::console::{ConsoleState, session};
    let path = req.path().to_owned();
    let reading = matches!(*req.method(), Method::GET | Method::HEAD);
    let found = req
        .app_data::<web::Data<ConsoleState>>()
        .zip(req.cookie(session::COOKIE))
        .and_then(|(cs, c)| cs.sessions.get(c.value()));
    let Some(s) = found else {
        if reading {
            let mut next = path.clone();
            if !req.query_string().is_empty() {
                next = format!("{next}?{}", req.query_string());
            }
            return Err(Box::new(crate::console::see_other(
                &crate::console::with_param("/console/login", "next", &next),
            )));
        }
        return Err(Box::new(
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "no console session: sign in at /console/login",
            )
            .at(path)
            .error_response(),
        ));
    };
    if !reading {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                    .ok()
                    .and_then(|q| {
                        q.into_iter()
                            .find(|(k, _)| k == session::CSRF_PARAM)
                            .map(|(_, v)| v)
                    })
            });
        let origin_ok = crate::console::login::same_origin(req.request());
        if !origin_ok || !sent.is_some_and(|t| session::same_token(&t, &s.csrf)) {
            return Err(Box::new(
                Problem::new(
                    StatusCode::FORBIDDEN,
                    "the form's CSRF token is missing or wrong, or it was sent from another site",
                )
                .at(path)
                .error_response(),
            ));
        }
    }
    Ok((s.principal.clone(), s))
}

fn with_id<B>(mut res: ServiceResponse<B>, rid: &str) -> ServiceResponse<B> {
    if let Ok(v) = HeaderValue::from_str(rid) {
        res.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    res
}
