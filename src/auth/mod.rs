//! The secure API edge, identity part: Rampart's own OAuth 2.0 token service, the bearer-token
//! authorizer for every configured issuer, role-based access control per route, and the record
//! of every API call in the audit chain.
//!
//! | module | what |
//! |---|---|
//! | [`crypto`] | jsonwebtoken's crypto provider on `ring` (one provider in the tree) |
//! | [`keys`] | Rampart's signing keys: ES256/EdDSA, stored in the database, rotation with overlap, JWKS |
//! | [`clients`] | OAuth clients (id, SHA-256 of a 256-bit secret, roles), file or database; the bootstrap admin |
//! | [`token`] | `POST /oauth2/token` (client credentials, RFC 6749 §4.4), RFC 8414 and OIDC discovery, JWKS |
//! | [`authorizer`] | JWT validation for Rampart's own and any OIDC issuer (RFC 9068, RFC 8725), JWKS cache |
//! | [`rbac`] | permissions, roles, the route table that is the policy |
//! | [`middleware`] | the actix middleware: 401/403 per RFC 6750 §3, principal into the request, call records |
//! | [`calls`] | API call records (CloudTrail's fields) written to the outbox off the request path |

pub mod authorizer;
pub mod calls;
pub mod clients;
pub mod crypto;
pub mod entities;
pub mod keys;
pub mod middleware;
pub mod migrations;
pub mod rbac;
pub mod token;

use std::path::PathBuf;

use rampart_supervisors::resilience::{
    CircuitBreakerConfig, PolicyConfig, RetryConfig, TimeLimiterConfig,
};
use serde::{Deserialize, Serialize};

pub use rbac::{Permission, RoleMap, RouteTable, Routes};

/// Algorithm of Rampart's own signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlg {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4).
    ES256,
    /// Ed25519 (RFC 8037 §3.1).
    EdDSA,
}

impl SigningAlg {
    /// The jsonwebtoken algorithm.
    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::ES256 => jsonwebtoken::Algorithm::ES256,
            Self::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

/// Settings of the identity edge (`[auth]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `false` turns authentication and authorization OFF: every route answers anyone. For
    /// development only; the node logs an error-level warning at start and on `/readyz`'s
    /// JSON. Default `true`.
    pub enabled: bool,
    /// Rampart's own issuer identifier (`iss` of its tokens, RFC 8414 §2). Every node of a
    /// deployment uses the same. Empty: `http://{http.listen}` (`https://` with TLS).
    pub issuer: String,
    /// Audience of Rampart's own tokens and the default required `aud` (RFC 9068 §3). Default
    /// `rampart`.
    pub audience: String,
    /// Lifetime of the tokens Rampart issues, seconds. Default 900 (15 min).
    pub token_ttl_s: u64,
    /// Algorithm of new signing keys: `ES256` (default) or `EdDSA`.
    pub signing_alg: SigningAlg,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, seconds (RFC 7519 §4.1.4). Default 60.
    pub leeway_s: u64,
    /// Longest lifetime (`exp - iat`) accepted from Rampart's own issuer, seconds. Default 3600.
    pub max_token_lifetime_s: u64,
    /// A TOML file of OAuth clients (`[[clients]]` with `client_id`, `secret_sha256`, `roles`).
    /// With it, no bootstrap admin is created. Clients in the database are accepted too.
    pub clients_file: Option<PathBuf>,
    /// Where the bootstrap admin's credentials are written on the first start (owner-only
    /// file). Default `{node.data_dir}/admin-credentials.json`.
    pub bootstrap_credentials_file: Option<PathBuf>,
    /// `GET /metrics` without a token. Default `false` (it needs `metrics:read`).
    pub public_metrics: bool,
    /// Role → permissions. Defaults: [`rbac::default_roles`].
    pub roles: RoleMap,
    /// Foreign OIDC issuers whose tokens are accepted (Entra ID, Keycloak, ...).
    pub issuers: Vec<IssuerConfig>,
    /// Fewest seconds between two JWKS fetches of one issuer caused by an unknown `kid`
    /// (Envoy's and go-oidc's protection against kid floods). Default 30.
    pub jwks_min_refetch_interval_s: u64,
    /// Seconds after which an issuer's cached keys are fetched again on use (the old ones keep
    /// serving when the fetch fails). Default 600.
    pub jwks_refresh_interval_s: u64,
    /// Largest JWKS or discovery document, bytes. Default 1 MiB.
    pub jwks_max_bytes: usize,
    /// Validated tokens kept until their expiry so a repeat costs a lookup. Default 100000.
    pub validated_cache_entries: u64,
    /// Resilience policy of discovery and JWKS fetches (retry, circuit breaker, time limiter).
    pub jwks_fetch: PolicyConfig,
    /// API call records waiting for the writer; past it records are dropped and counted
    /// (`rampart_api_call_records_dropped_total`). Default 10000.
    pub call_record_queue: usize,
    /// `false` stops recording API calls in the audit log (the node logs it at error level):
    /// for benchmarks, or behind a gateway that keeps its own trail. Default `true`.
    pub record_calls: bool,
    /// A file holding a 256-bit key encryption key (base64, 32 bytes: `openssl rand -base64
    /// 32`): the signing keys' private parts are sealed with it (AES-256-GCM) in the database,
    /// so a copy of the database alone cannot mint tokens. Every node sharing the database needs
    /// the same file. Default: none, and the keys are stored unsealed (the node warns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_encryption_key_file: Option<PathBuf>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            issuer: String::new(),
            audience: "rampart".to_owned(),
            token_ttl_s: 900,
            signing_alg: SigningAlg::ES256,
            leeway_s: 60,
            max_token_lifetime_s: 3600,
            clients_file: None,
            bootstrap_credentials_file: None,
            public_metrics: false,
            roles: rbac::default_roles(),
            issuers: Vec::new(),
            jwks_min_refetch_interval_s: 30,
            jwks_refresh_interval_s: 600,
            jwks_max_bytes: 1024 * 1024,
            validated_cache_entries: 100_000,
            jwks_fetch: PolicyConfig {
                retry: RetryConfig {
                    max_attempts: 3,
                    initial_interval_ms: 200,
                    ..RetryConfig::default()
                },
                circuit_breaker: CircuitBreakerConfig {
                    sliding_window_size: 10,
                    minimum_number_of_calls: 4,
                    wait_duration_in_open_state_ms: 30_000,
                    ..CircuitBreakerConfig::default()
                },
                time_limiter: TimeLimiterConfig {
                    timeout_duration_ms: 5_000,
                },
                ..PolicyConfig::default()
            },
            call_record_queue: 10_000,
            record_calls: true,
            signing_key_encryption_key_file: None,
        }
    }
}

/// Where the roles of a foreign token are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerConfig {
    /// The issuer identifier, compared exactly with `iss` and with the discovery document's
    /// `issuer` (OpenID Connect Discovery 1.0 §4.3).
    pub issuer: String,
    /// Accepted `aud` values (one must be present). Default: `auth.audience`.
    pub audiences: Vec<String>,
    /// Accepted algorithms. Default `["RS256"]` (Entra ID, Keycloak's default). Never `none`
    /// and never HMAC (refused at load).
    pub algorithms: Vec<String>,
    /// The JWKS URL; empty: `jwks_uri` of `{issuer}/.well-known/openid-configuration`.
    pub jwks_uri: String,
    /// Claim holding the roles: `roles` (Entra app roles, default), `scp` or `scope`
    /// (space-separated string), or any claim holding a string or an array of strings.
    pub roles_claim: String,
    /// Prefix stripped from role values before they are matched (e.g. `rampart.`); values
    /// without it are ignored. Default empty.
    pub role_prefix: String,
    /// Longest accepted lifetime `exp - iat`, seconds. Default 86400.
    pub max_token_lifetime_s: u64,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audiences: Vec::new(),
            algorithms: vec!["RS256".to_owned()],
            jwks_uri: String::new(),
            roles_claim: "roles".to_owned(),
            role_prefix: String::new(),
            max_token_lifetime_s: 86_400,
        }
    }
}

/// Who made a request, from a validated token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Principal {
    /// `sub`.
    pub sub: String,
    /// `client_id` (RFC 9068 §2.2), or Entra's `azp`/`appid`, when present.
    pub client_id: Option<String>,
    /// `iss`.
    pub issuer: String,
    /// Rampart roles the token holds.
    pub roles: Vec<String>,
    /// `jti`, when present.
    pub token_id: Option<String>,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: u64,
}

impl Principal {
    /// The principal of a node with authentication turned off (`auth.enabled = false`).
    pub fn anonymous_admin() -> Self {
        Self {
            sub: "anonymous".to_owned(),
            client_id: None,
            issuer: "auth-disabled".to_owned(),
            roles: vec!["admin".to_owned()],
            token_id: None,
            expires_at: u64::MAX,
        }
    }
}

/// What the edge's middleware and routes share (`web::Data<Edge>`).
pub struct Edge {
    /// `auth.enabled`.
    pub enabled: bool,
    /// Rampart's own issuer identifier.
    pub issuer: String,
    /// Audience of Rampart's tokens.
    pub audience: String,
    /// Lifetime of issued tokens, s.
    pub token_ttl_s: u64,
    /// Signing keys.
    pub keys: keys::SigningKeys,
    /// OAuth clients.
    pub clients: clients::ClientRegistry,
    /// Token validation.
    pub authorizer: authorizer::Authorizer,
    /// Role → permissions.
    pub roles: RoleMap,
    /// The route table (the policy).
    pub table: RouteTable,
    /// `/metrics` without a token.
    pub public_metrics: bool,
    /// API call records.
    pub calls: calls::CallLog,
    /// This node's id.
    pub node_id: String,
    /// Counters of the edge.
    pub metrics: EdgeMetrics,
}

/// Prometheus counters of the edge.
#[derive(Clone)]
pub struct EdgeMetrics {
    /// `rampart_auth_decisions_total{outcome}`: `allowed`, `unauthenticated`, `forbidden`,
    /// `public`.
    pub decisions: prometheus::IntCounterVec,
    /// `rampart_oauth_token_requests_total{outcome}`: `issued` or the RFC 6749 §5.2 error code.
    pub token_requests: prometheus::IntCounterVec,
}

impl EdgeMetrics {
    /// Registers the counters on `registry`.
    ///
    /// # Errors
    /// Registration errors (a name registered twice).
    pub fn new(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let decisions = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "rampart_auth_decisions_total",
                "Authorization decisions of the API edge",
            ),
            &["outcome"],
        )?;
        let token_requests = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "rampart_oauth_token_requests_total",
                "Token endpoint requests by outcome",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(decisions.clone()))?;
        registry.register(Box::new(token_requests.clone()))?;
        Ok(Self {
            decisions,
            token_requests,
        })
    }
}

/// A started edge: its shared state and the call-record writer to stop on shutdown.
pub struct StartedEdge {
    /// Shared by the middleware and the token routes.
    pub edge: actix_web::web::Data<Edge>,
    /// Stop it after the HTTP server.
    pub writer: calls::CallWriter,
}

/// Builds the edge of a node: installs the ring JWT provider, opens the signing keys and the
/// clients, creates the bootstrap admin when there is no client, builds the authorizer and
/// starts the call-record writer.
///
/// # Errors
/// Key, client, issuer configuration and metric registration errors, each naming its setting.
pub async fn start(
    cfg: &AuthConfig,
    issuer: &str,
    data_dir: &std::path::Path,
    node_id: &str,
    db: &rampart_platform::Db,
    registry: &prometheus::Registry,
    resilience: &rampart_supervisors::resilience::ResilienceMetrics,
) -> anyhow::Result<StartedEdge> {
    use anyhow::Context as _;
    if !crypto::install() {
        anyhow::bail!(
            "another jsonwebtoken crypto provider is installed; Rampart needs its ring provider"
        );
    }
    if !cfg.enabled {
        tracing::error!(
            "AUTHENTICATION IS OFF (auth.enabled = false): every route answers anyone, with admin rights. Development only."
        );
    }
    if !cfg.record_calls {
        tracing::error!(
            "API CALLS ARE NOT RECORDED (auth.record_calls = false): the audit trail misses every API call"
        );
    }
    let overlap = std::time::Duration::from_secs(cfg.token_ttl_s + cfg.leeway_s);
    let kek = match &cfg.signing_key_encryption_key_file {
        Some(path) => Some(
            keys::KeyEncryptionKey::from_file(path)
                .context("auth.signing_key_encryption_key_file")?,
        ),
        None => {
            tracing::warn!(
                "auth.signing_key_encryption_key_file is not set: token signing keys are stored unsealed in the database"
            );
            None
        }
    };
    let keys = keys::SigningKeys::open(db.clone(), cfg.signing_alg, overlap, kek)
        .await
        .context("auth: signing keys")?;
    let clients = clients::ClientRegistry::open(db.clone(), cfg.clients_file.as_deref())
        .context("auth.clients_file")?;
    if cfg.enabled {
        let file = cfg
            .bootstrap_credentials_file
            .clone()
            .unwrap_or_else(|| data_dir.join("admin-credentials.json"));
        let endpoint = format!("{}/oauth2/token", issuer.trim_end_matches('/'));
        if let Some(path) = clients
            .bootstrap(&file, &endpoint)
            .await
            .context("auth: bootstrap admin")?
        {
            tracing::warn!(
                file = %path.display(),
                "no OAuth client was configured: created the client `admin`; its credentials are in this owner-only file (shown once: move them to your secrets store)"
            );
        }
    }
    let authorizer = authorizer::Authorizer::new(cfg, issuer, keys.clone(), registry, resilience)
        .context("auth.issuers")?;
    let (calls, writer) = calls::CallLog::start(
        db.clone(),
        node_id,
        cfg.call_record_queue,
        cfg.record_calls,
        data_dir,
        registry,
    )
    .await
    .context("auth: API call records")?;
    let edge = Edge {
        enabled: cfg.enabled,
        issuer: issuer.to_owned(),
        audience: cfg.audience.clone(),
        token_ttl_s: cfg.token_ttl_s,
        keys,
        clients,
        authorizer,
        roles: cfg.roles.clone(),
        table: crate::http::route_table(),
        public_metrics: cfg.public_metrics,
        calls,
        node_id: node_id.to_owned(),
        metrics: EdgeMetrics::new(registry).context("auth metrics")?,
    };
    Ok(StartedEdge {
        edge: actix_web::web::Data::new(edge),
        writer,
    })
}
