//! The shield's two middlewares (module docs of [`super`]): [`filter`] outside the authorizer,
//! [`throttle`] inside it. Both pass everything through when the node has no [`Shield`]
//! (`shield.enabled = false`).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpResponse, ResponseError as _, web};
use base64::Engine as _;

use super::alarms::AlarmKind;
use super::conn::ConnState;
use super::limiter::Decision;
use super::rules::{Action, RequestView};
use super::{ClientAddr, EvalCtx, Shield};
use crate::problem::Problem;

/// `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
pub static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
pub static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Routes that are never shed nor throttled (the Kubernetes probes).
fn is_probe(path: &str) -> bool {
    matches!(path, "/livez" | "/readyz" | "/startupz")
}

/// Whole seconds, rounded up, at least 1 (`Retry-After`, RFC 9110 §10.2.3).
fn ceil_s(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn refuse(
    status: StatusCode,
    detail: String,
    path: &str,
    retry_after: Option<Duration>,
) -> HttpResponse {
    let mut r = Problem::new(status, detail).at(path).error_response();
    if let Some(d) = retry_after
        && let Ok(v) = HeaderValue::from_str(&ceil_s(d).max(1).to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Keeps `in_flight` counted while a request is handled.
struct InFlight<'a>(&'a Shield);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.metrics.in_flight.dec();
    }
}

/// The client id a request claims, unverified (for `client_id` aggregation, [`super::rules`]):
/// a bearer JWT's `client_id` or `sub`, or the Basic user name; at most 128 characters.
fn claimed_client(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, cred) = v.split_once(' ')?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let id = if scheme.eq_ignore_ascii_case("bearer") {
        let payload = cred.trim().split('.').nth(1).filter(|p| p.len() <= 8192)?;
        let claims: serde_json::Value = serde_json::from_slice(&b64.decode(payload).ok()?).ok()?;
        claims
            .get("client_id")
            .or_else(|| claims.get("sub"))?
            .as_str()?
            .to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(cred.trim())
            .ok()?;
        let s = String::from_utf8(raw).ok()?;
        s.split_once(':')?.0.to_owned()
    } else {
        return None;
    };
    (!id.is_empty() && id.chars().count() <= 128).then_some(id)
}

/// The outer shield middleware (module docs of [`super`]); `wrap(from_fn(filter))` outside the
/// authorizer.
///
/// # Errors
/// Only the inner service's errors.
pub async fn filter(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(shield) = req.app_data::<web::Data<Shield>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let path = req.path().to_owned();
    let conn = req.conn_data::<Arc<ConnState>>().cloned();
    let mut close = false;
    if let Some(c) = &conn {
        if c.refused {
            let mut res = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many connections from this address".to_owned(),
                &path,
                Some(Duration::from_secs(1)),
            );
            res.head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
            return Ok(req.into_response(res).map_into_right_body());
        }
        let n = c.requests.fetch_add(1, Ordering::Relaxed) + 1;
        close = shield.cfg.max_requests_per_connection > 0
            && n >= shield.cfg.max_requests_per_connection;
    }
    let probe = is_probe(&path);
    let _in_flight = if probe {
        None
    } else {
        let n = shield.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        shield.metrics.in_flight.inc();
        let guard = InFlight(&shield);
        if n > shield.cfg.max_in_flight {
            drop(guard);
            shield.metrics.shed.inc();
            shield.metrics.blocked.inc();
            let res = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the node is handling {} requests, its limit; try again shortly",
                    shield.cfg.max_in_flight
                ),
                &path,
                Some(Duration::from_secs(1)),
            );
            return Ok(req.into_response(res).map_into_right_body());
        }
        Some(guard)
    };

    // Header limits (RFC 6585 §5: 431 Request Header Fields Too Large).
    let headers = req.headers();
    let count = headers.len();
    let (mut total, mut largest) = (0usize, 0usize);
    for (k, v) in headers {
        let n = k.as_str().len() + v.len();
        total += n;
        largest = largest.max(n);
    }
    if count > shield.cfg.max_headers || total > shield.cfg.max_header_bytes {
        shield.metrics.refused.with_label_values(&["headers"]).inc();
        shield.metrics.blocked.inc();
        let res = refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "{count} headers of {total} bytes; the limits are {} headers and {} bytes",
                shield.cfg.max_headers, shield.cfg.max_header_bytes
            ),
            &path,
            None,
        );
        return Ok(req.into_response(res).map_into_right_body());
    }

    let peer = req
        .peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let client = super::resolve_client(peer, &xff, &shield.cfg.trusted_proxies);
    let forwarded = xff
        .first()
        .and_then(|v| v.split(',').next())
        .and_then(super::parse_hop);
    drop(xff);
    req.extensions_mut().insert(ClientAddr(client));

    if let Some(set) = shield.rules() {
        let claimed = if set.aggregates_by_client() {
            claimed_client(&req)
        } else {
            None
        };
        let view = RequestView {
            client,
            method: req.method().as_str(),
            path: &path,
            uri_bytes: req.uri().path_and_query().map_or(0, |p| p.as_str().len()) as u64,
            header_count: count as u64,
            max_header_bytes: largest as u64,
            body_bytes: req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
            forwarded,
            claimed_client: claimed.as_deref(),
        };
        let rate = shield.rate.load();
        let verdict = set.evaluate(
            &view,
            &EvalCtx {
                geo: &shield.geo,
                rate: &rate,
            },
        );
        let m = &shield.metrics.requests;
        for c in &verdict.counted {
            m.with_label_values(&[c.as_str(), "count"]).inc();
        }
        let rule = verdict.rule.as_deref().unwrap_or("default");
        if verdict.action == Action::Block {
            m.with_label_values(&[rule, "block"]).inc();
            shield.metrics.blocked.inc();
            shield.log_block(rule, client, req.method().as_str(), &path);
            let res = match &verdict.rate {
                Some(hit) => {
                    shield.alarms.count(
                        AlarmKind::RateRule,
                        &hit.key.to_string(),
                        rule,
                        &shield.metrics,
                    );
                    refuse(
                        StatusCode::TOO_MANY_REQUESTS,
                        format!("rate-based rule {rule} refused this request"),
                        &path,
                        Some(hit.retry_after),
                    )
                }
                None => refuse(
                    StatusCode::FORBIDDEN,
                    format!("rule {rule} refused this request"),
                    &path,
                    None,
                ),
            };
            return Ok(req.into_response(res).map_into_right_body());
        }
        m.with_label_values(&[rule, "allow"]).inc();
    }

    let mut res = next.call(req).await?;
    if res.status() == StatusCode::UNAUTHORIZED {
        shield.alarms.count(
            AlarmKind::AuthFailures,
            &client.to_string(),
            "bearer",
            &shield.metrics,
        );
    }
    if close {
        res.response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    Ok(res.map_into_left_body())
}

impl Shield {
    /// Logs a block, once per rule and client every 10 s (a flood must not become a flood of
    /// log lines; the metrics count every block).
    fn log_block(&self, rule: &str, client: IpAddr, method: &str, path: &str) {
        let key = (rule.to_owned(), client);
        if self.block_log.contains_key(&key) {
            return;
        }
        self.block_log.insert(key, ());
        tracing::warn!(
            target: "rampart::shield",
            rule,
            %client,
            method,
            path,
            "request blocked (more blocks of this rule and client in the next 10 s are counted, not logged)"
        );
    }
}

/// `"name";q=<burst>;w=<seconds to refill>` of a `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
fn policy(name: &str, burst: u32, period: Duration) -> String {
    format!(
        "\"{name}\";q={burst};w={}",
        ceil_s(period.saturating_mul(burst)).max(1)
    )
}

/// The inner shield middleware: API Gateway's throttling per client and per route (module
/// docs of [`super`]); `wrap(from_fn(throttle))` inside the authorizer.
///
/// # Errors
/// Only the inner service's errors.
pub async fn throttle(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(shield) = req.app_data::<web::Data<Shield>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let path = req.path().to_owned();
    if is_probe(&path) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let mut policies = Vec::new();
    let mut states = Vec::new();
    let mut limited: Option<(Duration, &'static str)> = None;
    if let Some(l) = &shield.throttle_client {
        let key = req
            .extensions()
            .get::<crate::auth::Principal>()
            .map(|p| p.client_id.clone().unwrap_or_else(|| p.sub.clone()))
            .unwrap_or_else(|| {
                format!(
                    "ip:{}",
                    super::client_ip(&req).map_or_else(String::new, |i| i.to_string())
                )
            });
        policies.push(policy("client", l.burst(), l.period()));
        match l.check(&key) {
            Decision::Allowed { remaining, reset } => {
                states.push(format!("\"client\";r={remaining};t={}", ceil_s(reset)));
            }
            Decision::Limited { retry_after } => {
                states.push(format!("\"client\";r=0;t={}", ceil_s(retry_after).max(1)));
                limited = Some((retry_after, "client"));
            }
        }
    }
    if limited.is_none() && !shield.throttle_routes.is_empty() {
        let pattern = req
            .app_data::<web::Data<crate::auth::Edge>>()
            .and_then(|e| e.table.find(req.method(), &path).map(|r| r.pattern.clone()));
        if let Some(l) = pattern.and_then(|p| {
            shield
                .throttle_routes
                .get(&(req.method().as_str().to_owned(), p))
        }) {
            policies.push(policy("route", l.burst(), l.period()));
            match l.check(&()) {
                Decision::Allowed { remaining, reset } => {
                    states.push(format!("\"route\";r={remaining};t={}", ceil_s(reset)));
                }
                Decision::Limited { retry_after } => {
                    states.push(format!("\"route\";r=0;t={}", ceil_s(retry_after).max(1)));
                    limited = Some((retry_after, "route"));
                }
            }
        }
    }
    let set = |h: &mut actix_web::http::header::HeaderMap| {
        if policies.is_empty() {
            return;
        }
        if let Ok(v) = HeaderValue::from_str(&policies.join(", ")) {
            h.insert(RATELIMIT_POLICY.clone(), v);
        }
        if let Ok(v) = HeaderValue::from_str(&states.join(", ")) {
            h.insert(RATELIMIT.clone(), v);
        }
    };
    if let Some((wait, scope)) = limited {
        shield.metrics.throttled.with_label_values(&[scope]).inc();
        shield.metrics.blocked.inc();
        let mut res = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!("throttled: the {scope} limit is reached"),
            &path,
            Some(wait),
        );
        set(res.headers_mut());
        return Ok(req.into_response(res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    set(res.headers_mut());
    Ok(res.map_into_left_body())
}
