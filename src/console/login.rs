//! Sign-in and sign-out: the login page, local users and OAuth clients (the bootstrap admin),
//! and the OpenID Connect authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636 S256,
//! OpenID Connect Core 1.0 §3.1; `state` binds the callback to the browser that started it).
//! The provider's access token is validated by the API edge's authorizer (signature through the
//! issuer's JWKS, `iss`, `aud`, lifetime, roles claim), so a console session holds exactly the
//! roles the same token would have at the API.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use serde::Deserialize;

use super::session::{self, PendingLogin};
use super::{ConsoleState, html_response, see_other, with_param};
use crate::auth::{Edge, Permission, Principal, Routes};

/// Where a `next` parameter may send the browser: a console path, nothing else (no open
/// redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console/") && !n.starts_with("/console//") && !n.contains('\\') =>
        {
            n.to_owned()
        }
        _ => "/console/".to_owned(),
    }
}

fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(session::COOKIE, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

fn disabled(req: &HttpRequest) -> HttpResponse {
    use actix_web::ResponseError as _;
    crate::problem::Problem::new(
        StatusCode::NOT_FOUND,
        "the web console is disabled on this node ([console] enabled = false)",
    )
    .at(req.path())
    .error_response()
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    error: Option<String>,
}

async fn login_page(
    cs: web::Data<ConsoleState>,
    req: HttpRequest,
    q: web::Query<LoginQuery>,
) -> HttpResponse {
    if !cs.config.enabled {
        return disabled(&req);
    }
    let next = safe_next(q.next.as_deref());
    if let Some(c) = req.cookie(session::COOKIE)
        && cs.sessions.get(c.value()).is_some()
    {
        return see_other(&next);
    }
    let markup = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · Rampart" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                main.login {
                    h1 { "Rampart" }
                    @if let Some(e) = &q.error { p."flash flash-error" #login-error { (e) } }
                    @if let Some(o) = &cs.config.oidc {
                        p { a.btn #oidc-login href=(with_param("/console/login/oidc", "next", &next)) {
                            (o.label.clone().unwrap_or_else(|| "Sign in with your identity provider".to_owned()))
                        } }
                        p.muted { "or with a local account:" }
                    }
                    form method="post" action="/console/login" {
                        input type="hidden" name="next" value=(next);
                        label for="username" { "User name or client id" }
                        input #username type="text" name="username" autocomplete="username" required;
                        label for="password" { "Password or client secret" }
                        input #password type="password" name="password" autocomplete="current-password" required;
                        button.btn #sign-in type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// Whether a POST's `Origin`, when the browser sent one, is this node (the `Host` it reached).
pub fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let info = req.connection_info();
    origin == format!("{}://{}", info.scheme(), info.host())
}

const BAD_LOGIN: &str = "Wrong user name or password.";

async fn login_post(
    cs: web::Data<ConsoleState>,
    edge: web::Data<Edge>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    if !cs.config.enabled {
        return disabled(&req);
    }
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let back = with_param(
        &with_param("/console/login", "next", &next),
        "error",
        BAD_LOGIN,
    );
    if !same_origin(&req) {
        return see_other(&with_param(
            "/console/login",
            "error",
            "The sign-in came from another site.",
        ));
    }
    if form.username.len() > 256 || form.password.len() > 1024 {
        return see_other(&back);
    }
    // A local user first; then an OAuth client (the bootstrap admin).
    let user = cs.users.iter().find(|u| u.username == form.username);
    let principal = if let Some(u) = user {
        let (hash, password) = (u.password_hash.clone(), form.password.clone());
        let ok = web::block(move || session::verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        ok.then(|| Principal {
            sub: u.username.clone(),
            client_id: None,
            issuer: "rampart-console".to_owned(),
            roles: u.roles.clone(),
            token_id: None,
            expires_at: 0,
        })
    } else {
        match edge.clients.find(&form.username).await {
            Ok(Some(c)) if crate::auth::clients::verify_secret(&form.password, &c.secret_hash) => {
                Some(Principal {
                    sub: c.client_id.clone(),
                    client_id: Some(c.client_id.clone()),
                    issuer: edge.issuer.clone(),
                    roles: c.roles.clone(),
                    token_id: None,
                    expires_at: 0,
                })
            }
            _ => None,
        }
    };
    let Some(principal) = principal else {
        tracing::warn!(user = %form.username.chars().take(64).collect::<String>(), "console sign-in refused");
        return see_other(&back);
    };
    let via = if user.is_some() { "local" } else { "client" };
    start(&cs, principal, via, &next)
}

fn start(cs: &ConsoleState, principal: Principal, via: &'static str, next: &str) -> HttpResponse {
    tracing::info!(sub = %principal.sub, via, "console sign-in");
    match cs.sessions.start(principal, via) {
        Ok(cookie) => {
            let mut r = see_other(next);
            let _ = r.add_cookie(&session_cookie(cookie, cs.sessions.secure));
            r
        }
        Err(_) => see_other(&with_param(
            "/console/login",
            "error",
            "The node could not start a session (no randomness).",
        )),
    }
}

async fn logout(cs: web::Data<ConsoleState>, req: HttpRequest) -> HttpResponse {
    if let Some(c) = req.cookie(session::COOKIE) {
        cs.sessions.end(c.value());
    }
    let mut r = see_other(&with_param("/console/login", "flash", "Signed out."));
    let mut gone = session_cookie(String::new(), cs.sessions.secure);
    gone.make_removal();
    let _ = r.add_cookie(&gone);
    r
}

/// The provider's endpoints (OpenID Connect Discovery 1.0 §3).
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

async fn discover(cs: &ConsoleState, issuer: &str) -> Result<Discovery, String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let d: Discovery = cs
        .http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("the identity provider is unreachable ({})", e.without_url()))?
        .error_for_status()
        .map_err(|e| format!("the identity provider answered {}", e.without_url()))?
        .json()
        .await
        .map_err(|e| format!("the identity provider's discovery document: {e}"))?;
    if d.issuer != issuer {
        return Err("the identity provider's discovery document names another issuer".into());
    }
    Ok(d)
}

fn redirect_uri(cs: &ConsoleState, req: &HttpRequest) -> String {
    cs.config
        .oidc
        .as_ref()
        .and_then(|o| o.redirect_uri.clone())
        .unwrap_or_else(|| {
            let info = req.connection_info();
            format!("{}://{}/console/callback", info.scheme(), info.host())
        })
}

async fn oidc_start(
    cs: web::Data<ConsoleState>,
    req: HttpRequest,
    q: web::Query<LoginQuery>,
) -> HttpResponse {
    let fail = |e: &str| see_other(&with_param("/console/login", "error", e));
    let Some(o) = cs.config.oidc.clone() else {
        return fail("No identity provider is configured ([console.oidc]).");
    };
    let d = match discover(&cs, &o.issuer).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "console OIDC discovery");
            return fail(&format!("Sign-in is unavailable: {e}."));
        }
    };
    let (Ok(state), Ok(verifier), Ok(nonce)) = (
        session::random_token(),
        session::random_token(),
        session::random_token(),
    ) else {
        return fail("The node has no randomness.");
    };
    let redirect = redirect_uri(&cs, &req);
    let mut params: Vec<(&str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", o.client_id.clone()),
        ("redirect_uri", redirect.clone()),
        ("scope", o.scopes.join(" ")),
        ("state", state.clone()),
        ("nonce", nonce),
        ("code_challenge", session::challenge(&verifier)),
        ("code_challenge_method", "S256".into()),
    ];
    if let Some(r) = &o.resource {
        params.push(("resource", r.clone()));
    }
    let Ok(url) = reqwest::Url::parse_with_params(&d.authorization_endpoint, &params) else {
        return fail("The identity provider's authorization endpoint is not a URL.");
    };
    cs.sessions.pend(
        state,
        PendingLogin {
            verifier,
            next: safe_next(q.next.as_deref()),
            redirect_uri: redirect,
        },
    );
    see_other(url.as_str())
}

/// The provider's answer at the redirect URI.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: String,
}

async fn callback(
    cs: web::Data<ConsoleState>,
    edge: web::Data<Edge>,
    q: web::Query<Callback>,
) -> HttpResponse {
    let fail = |e: &str| see_other(&with_param("/console/login", "error", e));
    let q = q.into_inner();
    if let Some(e) = q.error {
        let d = q.error_description.unwrap_or_default();
        return fail(&format!(
            "The identity provider refused the sign-in: {} {}",
            e.chars().take(64).collect::<String>(),
            d.chars().take(200).collect::<String>()
        ));
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return fail("The identity provider's answer has no code.");
    };
    let Some(pending) = cs.sessions.take_pending(&state) else {
        return fail("This sign-in expired or was not started here; try again.");
    };
    let Some(o) = cs.config.oidc.clone() else {
        return fail("No identity provider is configured.");
    };
    let d = match discover(&cs, &o.issuer).await {
        Ok(d) => d,
        Err(e) => return fail(&format!("Sign-in is unavailable: {e}.")),
    };
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", pending.redirect_uri.clone()),
        ("code_verifier", pending.verifier.clone()),
    ];
    let mut request = cs.http.post(&d.token_endpoint);
    match &cs.oidc_secret {
        Some(secret) => request = request.basic_auth(&o.client_id, Some(secret)),
        None => form.push(("client_id", o.client_id.clone())),
    }
    let answer = match request.form(&form).send().await {
        Ok(a) => a,
        Err(e) => {
            return fail(&format!(
                "The identity provider is unreachable ({}).",
                e.without_url()
            ));
        }
    };
    if !answer.status().is_success() {
        let status = answer.status();
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        tracing::warn!(%status, error = %body["error"], "console OIDC token exchange refused");
        return fail(&format!(
            "The identity provider refused the code ({}).",
            body["error"].as_str().unwrap_or("error")
        ));
    }
    let Ok(token) = answer.json::<TokenAnswer>().await else {
        return fail("The identity provider's token answer has no access token.");
    };
    match edge.authorizer.validate(&token.access_token).await {
        Ok(principal) if !principal.roles.is_empty() => {
            start(&cs, principal, "oidc", &pending.next)
        }
        Ok(_) => fail("Your account holds no Rampart role."),
        Err(e) => fail(&format!("The identity provider's token was refused: {e}.")),
    }
}

/// Registers the sign-in routes (public: they are how one gets a session).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/console/login", Permission::Public, login_page)
        .post("/console/login", Permission::Public, login_post)
        .post("/console/logout", Permission::Public, logout)
        .get("/console/login/oidc", Permission::Public, oidc_start)
        .get("/console/callback", Permission::Public, callback);
}
