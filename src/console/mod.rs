//! The web console: pages for analysts, responders, auditors and operators, served by the node
//! itself under `/console/` (and `/` redirecting there).
//!
//! - **No build step, nothing fetched at run time**: pages are `maud` templates compiled into
//!   the binary, charts are server-rendered SVG ([`svg`]), the one stylesheet is embedded;
//!   actions are plain HTML forms (POST, then a redirect: the PRG pattern). No script at all, so
//!   the Content Security Policy is strict ([`CSP`]).
//! - **Same data, same rules as the API**: a page calls the API's own handlers in-process with
//!   the signed-in principal ([`api_json`]), so filters, paging, validation, RBAC and the audit
//!   trail are the API's. Routes are in the same route table as the API's: the authorizer
//!   middleware enforces each page's and each action's permission, and a viewer who forges a
//!   POST gets 403 like a viewer's token would.
//! - **Sign-in and sessions**: [`session`] (cookie, CSRF token, idle and absolute expiry) and
//!   [`login`] (local users, the bootstrap admin's client credentials, OIDC with PKCE).
//!
//! | module | what |
//! |---|---|
//! | [`session`] | session store, CSRF, password hashes, PKCE |
//! | [`login`] | sign-in and sign-out pages, the OIDC redirect and callback |
//! | [`pages`] | every page and form action |
//! | [`trends`] | periodic snapshots of the overview's figures, for its trend lines |
//! | [`svg`] | charts |
//! | [`report`] | the framework report as HTML (`GET /api/v1/reports/{f}?format=html`) |

pub mod audit;
pub mod frameworks;
pub mod incidents;
pub mod login;
pub mod pages;
pub mod report;
pub mod session;
pub mod svg;
pub mod trends;

use std::path::PathBuf;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use maud::{DOCTYPE, Markup, html};
use serde::{Deserialize, Serialize};

use crate::auth::{Permission, Principal, RoleMap, Routes};

/// The console's Content Security Policy: nothing but this origin's stylesheet and images, no
/// script, no framing, forms only to this origin (W3C CSP Level 3).
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The stylesheet, embedded.
pub const CSS: &str = include_str!("assets/console.css");

/// `[console]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Serve the console (default `true`).
    pub enabled: bool,
    /// A session ends after this long without a request, s (default 1,800).
    pub session_idle_s: u64,
    /// A session ends this long after sign-in whatever happens, s (default 43,200: 12 h).
    pub session_absolute_s: u64,
    /// Most sessions held (default 10,000; past it the least recently used end).
    pub max_sessions: u64,
    /// A TOML file of local users (`[[users]]`: `username`, `password_hash` argon2id PHC,
    /// `roles`); owner-only. Default none. The bootstrap admin (an OAuth client) can always sign
    /// in with its client id and secret.
    pub users_file: Option<PathBuf>,
    /// Sign-in through an OpenID provider (authorization code + PKCE). Default none.
    pub oidc: Option<OidcLogin>,
    /// Seconds between two snapshots of the overview's figures (its trend lines; default 3,600).
    pub snapshot_interval_s: u64,
    /// Snapshots kept (default 720: 30 days of hourly ones).
    pub snapshots_kept: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            session_idle_s: 1800,
            session_absolute_s: 43_200,
            max_sessions: 10_000,
            users_file: None,
            oidc: None,
            snapshot_interval_s: 3600,
            snapshots_kept: 720,
        }
    }
}

/// `[console.oidc]`: the OpenID provider people sign in with. Its issuer must also be one of
/// `[[auth.issuers]]`: the access token it returns is validated and its roles read as the
/// API's are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcLogin {
    /// The issuer (its discovery document is `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// The console's client id at the provider.
    pub client_id: String,
    /// A file holding the client secret (confidential client, `client_secret_basic`); none: a
    /// public client (PKCE only).
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// The redirect URI registered at the provider; default: this node's
    /// `{scheme}://{host}/console/callback` as the browser reached it.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// Scopes asked for (default `openid`).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// A `resource` indicator sent with the request (RFC 8707), when the provider needs one to
    /// issue a JWT access token for Rampart. Default none.
    #[serde(default)]
    pub resource: Option<String>,
    /// The button's label (default "Sign in with your identity provider").
    #[serde(default)]
    pub label: Option<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".to_owned()]
}

/// What the console's routes share.
pub struct ConsoleState {
    /// Sessions.
    pub sessions: session::Sessions,
    /// Local users.
    pub users: Vec<session::LocalUser>,
    /// `[console]`.
    pub config: ConsoleConfig,
    /// The OIDC client secret, when confidential.
    pub oidc_secret: Option<String>,
    /// HTTP client of the OIDC calls.
    pub http: reqwest::Client,
    /// Role → permissions (what the menus and buttons show).
    pub roles: RoleMap,
    /// The overview's figures ([`trends::FiguresCache`]).
    pub figures: trends::FiguresCache,
}

impl ConsoleState {
    /// The console's state for `[console]` under `[auth]`: reads the users file and the OIDC
    /// client secret, checks the OIDC issuer is one the API accepts.
    ///
    /// # Errors
    /// What is wrong, naming the file or key (never a secret).
    pub fn new(
        config: &ConsoleConfig,
        auth: &crate::auth::AuthConfig,
        tls_on: bool,
    ) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let users = match &config.users_file {
            Some(p) => session::load_users(p, &auth.roles).map_err(anyhow::Error::msg)?,
            None => Vec::new(),
        };
        let mut oidc_secret = None;
        if let Some(o) = &config.oidc {
            if !auth.issuers.iter().any(|i| i.issuer == o.issuer) {
                anyhow::bail!(
                    "console.oidc.issuer {:?} is not one of [[auth.issuers]]: its tokens could not be validated",
                    o.issuer
                );
            }
            if let Some(f) = &o.client_secret_file {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("console.oidc.client_secret_file {}", f.display()))?;
                oidc_secret = Some(text.trim().to_owned());
            }
        }
        if !config.enabled {
            tracing::warn!("console.enabled = false: the web console is not served");
        }
        Ok(Self {
            sessions: session::Sessions::new(
                config.max_sessions,
                std::time::Duration::from_secs(config.session_idle_s.max(1)),
                std::time::Duration::from_secs(config.session_absolute_s.max(1)),
                tls_on,
            ),
            users,
            config: config.clone(),
            oidc_secret,
            http: crate::intel::http_client().context("the console's HTTP client")?,
            roles: auth.roles.clone(),
            figures: trends::FiguresCache::default(),
        })
    }
}

/// The signed-in principal and session of a console request (put there by the authorizer
/// middleware).
pub fn who(req: &HttpRequest) -> (Option<Principal>, Option<std::sync::Arc<session::Session>>) {
    let ext = req.extensions();
    (
        ext.get::<Principal>().cloned(),
        ext.get::<std::sync::Arc<session::Session>>().cloned(),
    )
}

/// Whether the request's principal holds `p`.
pub fn can(req: &HttpRequest, p: Permission) -> bool {
    let Some(cs) = req.app_data::<web::Data<ConsoleState>>() else {
        return false;
    };
    who(req)
        .0
        .is_some_and(|pr| crate::auth::rbac::allows(&cs.roles, &pr.roles, p))
}

/// The form-action suffix carrying this session's CSRF token (`?csrf_token=...`).
pub fn csrf_query(req: &HttpRequest) -> String {
    who(req).1.map_or_else(String::new, |s| {
        format!("{}={}", session::CSRF_PARAM, s.csrf)
    })
}

/// A POST form's action for `path` with the CSRF token.
pub fn action(req: &HttpRequest, path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{}", csrf_query(req))
}

/// The navigation entries: (path, label, permission to see it).
const NAV: [(&str, &str, Permission); 7] = [
    ("/console/", "Overview", Permission::RisksRead),
    ("/console/risks", "Risk register", Permission::RisksRead),
    ("/console/assets", "Assets", Permission::AssetsRead),
    ("/console/incidents", "Incidents", Permission::IncidentsRead),
    (
        "/console/frameworks",
        "Frameworks",
        Permission::ControlsRead,
    ),
    ("/console/audit", "Audit", Permission::AuditRead),
    (
        "/console/operations",
        "Operations",
        Permission::OperationsRead,
    ),
];

/// A whole page: head, navigation (entries the principal may open), a flash message from the
/// `flash` query parameter, `body`.
pub fn page(req: &HttpRequest, title: &str, body: Markup) -> HttpResponse {
    page_with(req, title, body, None)
}

/// [`page`] that refreshes itself every `refresh_s` seconds (`<meta http-equiv="refresh">`: no
/// script needed).
pub fn page_with(
    req: &HttpRequest,
    title: &str,
    body: Markup,
    refresh_s: Option<u32>,
) -> HttpResponse {
    let (principal, _) = who(req);
    let flash =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("flash").cloned());
    let error =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("error").cloned());
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = refresh_s { meta http-equiv="refresh" content=(s); }
                title { (title) " · Rampart" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                nav.top {
                    a.brand href="/console/" { "Rampart" }
                    @for (href, label, perm) in NAV {
                        @if can(req, perm) {
                            a href=(href) class=[(req.path() == href).then_some("active")] { (label) }
                        }
                    }
                    span.spacer {}
                    @if let Some(p) = &principal {
                        span.user title=(p.roles.join(", ")) { (p.sub) " · " (p.roles.join(", ")) }
                        form.inline method="post" action=(action(req, "/console/logout")) {
                            button.btn type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    @if let Some(f) = flash { p.flash { (f) } }
                    @if let Some(e) = error { p."flash flash-error" { (e) } }
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

/// `markup` as a `text/html` answer with the console's security headers.
pub fn html_response(status: StatusCode, markup: Markup) -> HttpResponse {
    let mut r = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string());
    secure_headers(r.headers_mut());
    r
}

/// The console's response headers: CSP, no sniffing, no framing, same-origin referrers, no
/// caching of pages holding data.
pub fn secure_headers(h: &mut actix_web::http::header::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The answer to a console form, from the API handler's `answer`: a 303 back to `back` with
/// `flash=ok` when it succeeded, or with `error=` the API's problem detail when it did not (the
/// PRG pattern). A success also drops the overview's cached figures
/// ([`trends::FiguresCache::invalidate`]), so the form's author sees its effect at once.
pub async fn done(
    req: &HttpRequest,
    back: &str,
    answer: Result<HttpResponse, crate::problem::Problem>,
    ok: &str,
) -> HttpResponse {
    match api_json(answer).await {
        Ok(_) => {
            if let Some(c) = req.app_data::<web::Data<ConsoleState>>() {
                c.figures.invalidate();
            }
            see_other(&with_param(back, "flash", ok))
        }
        Err((_, detail)) => see_other(&with_param(back, "error", &detail)),
    }
}

/// A 303 See Other to `to` (after a form: the PRG pattern).
pub fn see_other(to: &str) -> HttpResponse {
    let mut r = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish();
    secure_headers(r.headers_mut());
    r
}

/// `to` with `key=value` added to its query (value percent-encoded).
pub fn with_param(to: &str, key: &str, value: &str) -> String {
    let sep = if to.contains('?') { '&' } else { '?' };
    let v: String = url_encode(value);
    format!("{to}{sep}{key}={v}")
}

/// Percent-encodes a query value (`application/x-www-form-urlencoded`).
pub fn url_encode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s.trim_start_matches("v=").to_owned())
        .unwrap_or_default()
}

/// An error page for a problem the API answered (its status, its detail).
pub fn problem_page(req: &HttpRequest, status: StatusCode, detail: &str) -> HttpResponse {
    let mut r = page(
        req,
        status.canonical_reason().unwrap_or("Error"),
        html! { p.flash.flash-error { (detail) } p { a href="/console/" { "Back to the overview" } } },
    );
    *r.status_mut() = status;
    r
}

/// The page of a console view the signed-in roles may not open (403).
pub fn forbidden_page(needed: Permission) -> HttpResponse {
    html_response(
        StatusCode::FORBIDDEN,
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "Forbidden · Rampart" }
                    link rel="stylesheet" href="/console/assets/console.css";
                }
                body { main {
                    h1 { "Forbidden" }
                    p."flash flash-error" { "This page needs the permission " code { (needed.to_string()) } ", which your roles do not hold." }
                    p { a href="/console/" { "Back to the overview" } }
                } }
            }
        },
    )
}

/// Calls an API handler's answer into JSON: `Ok(value)` for a 2xx JSON body, else the API's
/// status and problem detail.
///
/// # Errors
/// The answer's status and its problem's `detail` (or the reason phrase).
pub async fn api_json(
    answer: Result<HttpResponse, crate::problem::Problem>,
) -> Result<serde_json::Value, (StatusCode, String)> {
    let resp = match answer {
        Ok(r) => r,
        Err(p) => {
            return Err((
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                p.detail,
            ));
        }
    };
    let status = resp.status();
    let bytes = actix_web::body::to_bytes(resp.into_body())
        .await
        .map_err(|_| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "unreadable answer".into(),
            )
        })?;
    let v: serde_json::Value = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
    };
    if status.is_success() {
        Ok(v)
    } else {
        Err((
            status,
            v["detail"]
                .as_str()
                .map_or_else(|| status.to_string(), str::to_owned),
        ))
    }
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(CSS)
}

async fn root() -> HttpResponse {
    see_other("/console/")
}

/// Registers the console's routes (at the root scope).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/", Permission::Public, root).get(
        "/console/assets/console.css",
        Permission::Public,
        stylesheet,
    );
    login::routes(r);
    pages::routes(r);
    incidents::routes(r);
    frameworks::routes(r);
    audit::routes(r);
}
