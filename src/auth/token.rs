//! Rampart's token service: `POST /oauth2/token` with the client-credentials grant, the
//! authorization server metadata, the OIDC discovery document and the JWKS.
//!
//! | path | answers |
//! |---|---|
//! | `POST /oauth2/token` | RFC 6749 §4.4 client credentials; `client_secret_basic` (§2.3.1) or `client_secret_post`; `scope` = roles (a subset of the client's); RFC 6749 §5.1 answer with `Cache-Control: no-store`, no refresh token; errors per §5.2 (`invalid_client` is 401 with `WWW-Authenticate: Basic`) |
//! | `GET /.well-known/oauth-authorization-server` | RFC 8414 §2 metadata |
//! | `GET /.well-known/openid-configuration` | the same fields as OpenID Connect Discovery 1.0 §3 |
//! | `GET /.well-known/jwks.json` | RFC 7517 §5 JWK Set of every key that still verifies |
//! | `POST /api/v1/auth/keys/rotate` | rotates the signing key (`auth:admin`) |
//!
//! Tokens are RFC 9068 JWT access tokens: header `typ: at+jwt`, `alg` ES256 or EdDSA, `kid`;
//! claims `iss`, `sub` (= `client_id`), `aud`, `client_id`, `iat`, `nbf`, `exp`, `jti`,
//! `roles`, `scope`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde::Serialize;
use serde_json::json;

use super::Edge;
use super::clients::verify_secret;
use crate::problem::Problem;

/// Largest token request body, bytes.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 4096;

/// The claims of a Rampart access token (module docs).
#[derive(Debug, Serialize)]
pub struct AccessClaims<'a> {
    /// Issuer.
    pub iss: &'a str,
    /// Subject: the client.
    pub sub: &'a str,
    /// Audience.
    pub aud: &'a str,
    /// The client (RFC 9068 §2.2).
    pub client_id: &'a str,
    /// Issued at, s since the epoch.
    pub iat: u64,
    /// Not before, s since the epoch.
    pub nbf: u64,
    /// Expiry, s since the epoch.
    pub exp: u64,
    /// Token id (UUID v4).
    pub jti: String,
    /// Granted roles.
    pub roles: &'a [String],
    /// Granted roles, space-separated (RFC 8693 §4.2 `scope`).
    pub scope: String,
}

/// An RFC 6749 §5.2 error response.
fn oauth_error(
    edge: &Edge,
    status: StatusCode,
    code: &'static str,
    description: &str,
    basic_challenge: bool,
) -> HttpResponse {
    edge.metrics.token_requests.with_label_values(&[code]).inc();
    let mut r = HttpResponse::build(status);
    r.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if basic_challenge {
        r.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"rampart\", charset=\"UTF-8\""),
        ));
    }
    r.json(json!({ "error": code, "error_description": description }))
}

/// `application/x-www-form-urlencoded` decoding of one component (RFC 6749 §2.3.1 encodes the
/// Basic credentials this way before base64).
fn form_decode(s: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={s}")).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

/// `(client_id, client_secret)` of an `Authorization: Basic` header: `None` when absent,
/// `Some(Err)` when malformed.
fn basic_credentials(req: &HttpRequest) -> Option<Result<(String, String), ()>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let parse = || {
        let v = value.to_str().map_err(|_| ())?;
        let (scheme, rest) = v.split_once(' ').ok_or(())?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(());
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| ())?;
        let text = String::from_utf8(raw).map_err(|_| ())?;
        let (id, secret) = text.split_once(':').ok_or(())?;
        Ok((form_decode(id).ok_or(())?, form_decode(secret).ok_or(())?))
    };
    Some(parse())
}

/// `POST /oauth2/token` (module docs).
pub async fn token(req: HttpRequest, body: web::Bytes, edge: web::Data<Edge>) -> HttpResponse {
    let bad_request =
        |code: &'static str, d: &str| oauth_error(&edge, StatusCode::BAD_REQUEST, code, d, false);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return bad_request(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded (RFC 6749 §4.4.2)",
        );
    }
    if body.len() > MAX_TOKEN_REQUEST_BYTES {
        return bad_request("invalid_request", "request too large");
    }
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return bad_request("invalid_request", "the body is not form-encoded");
    };
    let mut params = std::collections::HashMap::new();
    for (k, v) in pairs {
        if params.insert(k.clone(), v).is_some() {
            // RFC 6749 §3.2: parameters MUST NOT be included more than once.
            return bad_request("invalid_request", &format!("parameter {k} is repeated"));
        }
    }
    let basic = basic_credentials(&req);
    let posted = params
        .get("client_secret")
        .map(|s| (params.get("client_id").cloned(), s.clone()));
    let (client_id, secret, used_basic) = match (basic, posted) {
        (Some(_), Some(_)) => {
            return bad_request(
                "invalid_request",
                "use one client authentication method (RFC 6749 §2.3)",
            );
        }
        (Some(Ok((id, s))), None) => (id, s, true),
        (Some(Err(())), None) => {
            return oauth_error(
                &edge,
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "malformed Basic credentials",
                true,
            );
        }
        (None, Some((Some(id), s))) => (id, s, false),
        (None, Some((None, _))) => return bad_request("invalid_request", "client_id is missing"),
        (None, None) => {
            return oauth_error(
                &edge,
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication is required",
                true,
            );
        }
    };
    match params.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(_) => {
            return bad_request(
                "unsupported_grant_type",
                "only client_credentials is supported",
            );
        }
        None => return bad_request("invalid_request", "grant_type is missing"),
    }
    let client = match edge.clients.find(&client_id).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "token endpoint: reading clients failed");
            return oauth_error(
                &edge,
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the client store is unavailable",
                false,
            );
        }
    };
    let Some(client) = client.filter(|c| verify_secret(&secret, &c.secret_hash)) else {
        return oauth_error(
            &edge,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
            used_basic,
        );
    };
    let roles: Vec<String> = match params.get("scope") {
        None => client.roles.clone(),
        Some(scope) => {
            let asked: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
            // A client may ask for any role whose permissions its own roles hold (least
            // privilege: the admin's CLI can work with a viewer token).
            let held: std::collections::BTreeSet<_> = client
                .roles
                .iter()
                .filter_map(|r| edge.roles.get(r))
                .flatten()
                .collect();
            let within = |r: &String| {
                client.roles.contains(r)
                    || edge
                        .roles
                        .get(r)
                        .is_some_and(|ps| ps.iter().all(|p| held.contains(p)))
            };
            if asked.is_empty() || !asked.iter().all(within) {
                return bad_request(
                    "invalid_scope",
                    "scope must name roles within this client's permissions",
                );
            }
            let mut asked = asked;
            asked.sort();
            asked.dedup();
            asked
        }
    };
    let now = jsonwebtoken::get_current_timestamp();
    let claims = AccessClaims {
        iss: &edge.issuer,
        sub: &client.client_id,
        aud: &edge.audience,
        client_id: &client.client_id,
        iat: now,
        nbf: now,
        exp: now + edge.token_ttl_s,
        jti: uuid::Uuid::new_v4().to_string(),
        roles: &roles,
        scope: roles.join(" "),
    };
    let token = match edge.keys.sign(&claims) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "token endpoint: signing failed");
            return oauth_error(
                &edge,
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "no signing key",
                false,
            );
        }
    };
    edge.metrics
        .token_requests
        .with_label_values(&["issued"])
        .inc();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": edge.token_ttl_s,
            "scope": claims.scope,
        }))
}

fn metadata(edge: &Edge) -> serde_json::Value {
    let base = edge.issuer.trim_end_matches('/');
    let alg = edge
        .keys
        .jwks()
        .keys
        .iter()
        .filter_map(|k| k.common.key_algorithm.map(|a| format!("{a:?}")))
        .collect::<std::collections::BTreeSet<_>>();
    json!({
        "issuer": edge.issuer,
        "token_endpoint": format!("{base}/oauth2/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
        "scopes_supported": super::rbac::ROLES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": alg,
        "access_token_signing_alg_values_supported": alg,
    })
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §3).
pub async fn oauth_metadata(edge: web::Data<Edge>) -> HttpResponse {
    HttpResponse::Ok().json(metadata(&edge))
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
pub async fn openid_configuration(edge: web::Data<Edge>) -> HttpResponse {
    HttpResponse::Ok().json(metadata(&edge))
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(edge: web::Data<Edge>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(edge.keys.jwks())
}

/// `POST /api/v1/auth/keys/rotate`: a new active key; the old ones verify until every token
/// they signed has expired.
#[utoipa::path(post, path = "/api/v1/auth/keys/rotate", responses((status = 200, description = "The new key and the keys it retired", body = super::keys::Rotation), (status = 500, body = Problem, content_type = "application/problem+json")))]
pub async fn rotate(req: HttpRequest, edge: web::Data<Edge>) -> Result<HttpResponse, Problem> {
    let r = edge
        .keys
        .rotate()
        .await
        .map_err(|e| crate::api::common::internal(e, &req))?;
    edge.authorizer.own_keys_changed().await;
    Ok(HttpResponse::Ok().json(r))
}

/// Registers the token service's routes (all public but key rotation).
pub fn routes(r: &mut super::Routes<'_>) {
    use super::Permission as P;
    r.post("/oauth2/token", P::Public, token)
        .get(
            "/.well-known/oauth-authorization-server",
            P::Public,
            oauth_metadata,
        )
        .get(
            "/.well-known/openid-configuration",
            P::Public,
            openid_configuration,
        )
        .get("/.well-known/jwks.json", P::Public, jwks);
}
