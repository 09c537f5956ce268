//! The bearer-token authorizer: validates a JWT access token from any configured issuer and
//! yields its [`Principal`].
//!
//! What it checks, in order, following RFC 8725 (JWT best current practices), RFC 9068 (JWT
//! access tokens) and what Envoy's `jwt_authn`, go-oidc and Ory Oathkeeper do:
//!
//! 1. size (at most [`MAX_TOKEN_BYTES`]) and shape (three base64url segments);
//! 2. the header: `alg` in the issuer's allowed list (never `none`, never HMAC: the crypto
//!    provider refuses HMAC outright), a `kid` of at most 256 bytes, no `crit` (RFC 7515
//!    §4.1.11), and no `jku`, `x5u` or embedded `jwk` (RFC 8725 §3.10: keys come only from the
//!    issuer's configured `jwks_uri`, so such a header is refused without fetching anything);
//! 3. the issuer: the unverified `iss` selects one configured issuer, compared exactly; an
//!    unknown issuer is refused before any key lookup;
//! 4. the key: by `kid` from the issuer's cached key set; an unknown `kid` causes at most one
//!    fetch per `auth.jwks_min_refetch_interval_s` per issuer, concurrent requests sharing it
//!    (moka's per-key compute); a fetch goes through the runtime's retry + circuit breaker +
//!    time limiter, and when it fails the cached keys keep serving. A JWK with `alg` or `use`
//!    must agree (`alg` equal, `use` = `sig`);
//! 5. signature, then the claims, required explicitly (library defaults are permissive): `exp`,
//!    `iat`, `iss` and `aud` present and of the right JSON type, `exp`/`nbf` with the leeway,
//!    `iat` not in the future, `exp - iat` within the issuer's maximum lifetime, `aud` holding an
//!    accepted value (a string or an array), and for Rampart's own tokens `typ` = `at+jwt`
//!    (RFC 9068 §4).
//!
//! A validated token is cached (by its SHA-256) until its `exp`, so a repeat costs a hash and a
//! lookup.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;
use rampart_supervisors::resilience::{ResilienceMetrics, ResiliencePolicy};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::keys::{SigningKeys, VerifyingKey};
use super::{AuthConfig, IssuerConfig, Principal};

/// Largest accepted token, bytes (Envoy's default header limit is 60 KiB; tokens past 8 KiB are
/// not access tokens any issuer we know of mints).
pub const MAX_TOKEN_BYTES: usize = 8192;

/// Largest accepted `kid`, bytes.
pub const MAX_KID_BYTES: usize = 256;

/// Why a token was refused. The text is safe to return in `error_description` (no token
/// content beyond the issuer name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer` header.
    #[error("a bearer token is required")]
    Missing,
    /// The header or token is malformed.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `iss` names no configured issuer.
    #[error("untrusted issuer")]
    UntrustedIssuer,
    /// `alg` not allowed for the issuer.
    #[error("algorithm not allowed for this issuer")]
    Algorithm,
    /// A `jku`, `x5u`, `jwk` or `crit` header.
    #[error("header parameter {0} is not accepted")]
    ForbiddenHeader(&'static str),
    /// No key with this `kid` (after a refetch, if one was allowed).
    #[error("unknown key id")]
    UnknownKey,
    /// The signature does not verify.
    #[error("invalid signature")]
    Signature,
    /// A claim is missing, of the wrong type or out of range.
    #[error("{0}")]
    Claims(String),
}

#[derive(Clone)]
struct KeySet {
    keys: HashMap<String, (Option<Algorithm>, DecodingKey)>,
    fetched_at: Instant,
}

/// Where an issuer's keys come from.
enum KeySource {
    /// Rampart's own keys (the database).
    Local(SigningKeys),
    /// A JWKS URL (configured, or from discovery).
    Remote {
        jwks_uri: tokio::sync::OnceCell<String>,
        configured: Option<String>,
    },
}

/// One trusted issuer.
struct Issuer {
    cfg: IssuerConfig,
    own: bool,
    algorithms: Vec<Algorithm>,
    audiences: Vec<String>,
    source: KeySource,
    keys: Cache<(), Arc<KeySet>>,
    last_attempt: std::sync::Mutex<Option<Instant>>,
}

struct PrincipalExpiry;

impl Expiry<[u8; 32], Arc<Principal>> for PrincipalExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Principal>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        let now = jsonwebtoken::get_current_timestamp();
        Some(Duration::from_secs(value.expires_at.saturating_sub(now)))
    }
}

/// The authorizer (module docs). Cheap to clone.
#[derive(Clone)]
pub struct Authorizer {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<Issuer>,
    leeway: u64,
    min_refetch: Duration,
    refresh: Duration,
    max_bytes: usize,
    http: reqwest::Client,
    policy: ResiliencePolicy<String>,
    validated: Cache<[u8; 32], Arc<Principal>>,
    fetches: prometheus::IntCounterVec,
}

/// Why the authorizer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizerError {
    /// An issuer's configuration is invalid.
    #[error("auth.issuers[{index}] ({issuer}): {reason}")]
    Issuer {
        /// Position in `auth.issuers`.
        index: usize,
        /// Its `issuer`.
        issuer: String,
        /// What is wrong.
        reason: String,
    },
    /// The JWKS fetch policy is invalid, or metrics failed to register.
    #[error("auth: {0}")]
    Setup(String),
}

/// Parses an algorithm name allowed for a foreign issuer (asymmetric only).
fn asymmetric_alg(name: &str) -> Option<Algorithm> {
    match name {
        "RS256" => Some(Algorithm::RS256),
        "RS384" => Some(Algorithm::RS384),
        "RS512" => Some(Algorithm::RS512),
        "PS256" => Some(Algorithm::PS256),
        "PS384" => Some(Algorithm::PS384),
        "PS512" => Some(Algorithm::PS512),
        "ES256" => Some(Algorithm::ES256),
        "ES384" => Some(Algorithm::ES384),
        "EdDSA" => Some(Algorithm::EdDSA),
        _ => None,
    }
}

fn jwk_alg(a: &KeyAlgorithm) -> Option<Algorithm> {
    asymmetric_alg(&format!("{a:?}"))
}

fn key_set(jwks: &JwkSet) -> KeySet {
    let mut keys = HashMap::new();
    for jwk in &jwks.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let alg = match &jwk.common.key_algorithm {
            Some(a) => match jwk_alg(a) {
                Some(a) => Some(a),
                None => continue,
            },
            None => None,
        };
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            keys.insert(kid, (alg, key));
        }
    }
    KeySet {
        keys,
        fetched_at: Instant::now(),
    }
}

impl Authorizer {
    /// Builds the authorizer for Rampart's own issuer (`own_issuer`, keys from `keys`) and every
    /// `cfg.issuers` entry. Nothing is fetched yet: a foreign issuer's discovery and keys are
    /// fetched on first use.
    ///
    /// # Errors
    /// [`AuthorizerError`] for an issuer without a name, an unknown or symmetric algorithm, or a
    /// duplicate issuer.
    pub fn new(
        cfg: &AuthConfig,
        own_issuer: &str,
        keys: SigningKeys,
        registry: &prometheus::Registry,
        metrics: &ResilienceMetrics,
    ) -> Result<Self, AuthorizerError> {
        let cache = || Cache::builder().max_capacity(1).build();
        let mut issuers = vec![Issuer {
            cfg: IssuerConfig {
                issuer: own_issuer.to_owned(),
                audiences: vec![cfg.audience.clone()],
                max_token_lifetime_s: cfg.max_token_lifetime_s,
                ..IssuerConfig::default()
            },
            own: true,
            algorithms: vec![Algorithm::ES256, Algorithm::EdDSA],
            audiences: vec![cfg.audience.clone()],
            source: KeySource::Local(keys),
            keys: cache(),
            last_attempt: std::sync::Mutex::new(None),
        }];
        for (index, ic) in cfg.issuers.iter().enumerate() {
            let bad = |reason: String| AuthorizerError::Issuer {
                index,
                issuer: ic.issuer.clone(),
                reason,
            };
            if ic.issuer.trim().is_empty() {
                return Err(bad("issuer is empty".to_owned()));
            }
            if issuers.iter().any(|i| i.cfg.issuer == ic.issuer) {
                return Err(bad("issuer configured twice".to_owned()));
            }
            let mut algorithms = Vec::new();
            for a in &ic.algorithms {
                algorithms.push(asymmetric_alg(a).ok_or_else(|| {
                    bad(format!(
                        "algorithm {a:?} is not accepted (asymmetric only: RS256..PS512, ES256, ES384, EdDSA)"
                    ))
                })?);
            }
            if algorithms.is_empty() {
                return Err(bad("algorithms is empty".to_owned()));
            }
            let audiences = if ic.audiences.is_empty() {
                vec![cfg.audience.clone()]
            } else {
                ic.audiences.clone()
            };
            let configured =
                (!ic.jwks_uri.trim().is_empty()).then(|| ic.jwks_uri.trim().to_owned());
            issuers.push(Issuer {
                cfg: ic.clone(),
                own: false,
                algorithms,
                audiences,
                source: KeySource::Remote {
                    jwks_uri: tokio::sync::OnceCell::new(),
                    configured,
                },
                keys: cache(),
                last_attempt: std::sync::Mutex::new(None),
            });
        }
        let policy = ResiliencePolicy::builder("jwks-fetch", cfg.jwks_fetch.clone())
            .metrics(metrics)
            .retry_when(|_| true)
            .build()
            .map_err(|e| AuthorizerError::Setup(e.to_string()))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AuthorizerError::Setup(e.to_string()))?;
        let fetches = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "rampart_auth_jwks_fetches_total",
                "Key set fetches per issuer and outcome (ok, error)",
            ),
            &["issuer", "outcome"],
        )
        .map_err(|e| AuthorizerError::Setup(e.to_string()))?;
        registry
            .register(Box::new(fetches.clone()))
            .map_err(|e| AuthorizerError::Setup(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                issuers,
                leeway: cfg.leeway_s,
                min_refetch: Duration::from_secs(cfg.jwks_min_refetch_interval_s),
                refresh: Duration::from_secs(cfg.jwks_refresh_interval_s.max(1)),
                max_bytes: cfg.jwks_max_bytes,
                http,
                policy,
                validated: Cache::builder()
                    .max_capacity(cfg.validated_cache_entries.max(1))
                    .expire_after(PrincipalExpiry)
                    .build(),
                fetches,
            }),
        })
    }

    /// Validates `token` (the bearer value) and returns its principal.
    ///
    /// # Errors
    /// [`TokenError`], one per refusal reason (module docs).
    pub async fn validate(&self, token: &str) -> Result<Principal, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("token too large"));
        }
        if token.split('.').count() != 3 {
            return Err(TokenError::Malformed("a JWT has three segments"));
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(p) = self.inner.validated.get(&digest).await
            && p.expires_at > jsonwebtoken::get_current_timestamp()
        {
            return Ok((*p).clone());
        }
        let principal = self.validate_uncached(token).await?;
        self.inner
            .validated
            .insert(digest, Arc::new(principal.clone()))
            .await;
        Ok(principal)
    }

    async fn validate_uncached(&self, token: &str) -> Result<Principal, TokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| TokenError::Malformed("header is not a JWS header"))?;
        if header.jku.is_some() {
            return Err(TokenError::ForbiddenHeader("jku"));
        }
        if header.x5u.is_some() {
            return Err(TokenError::ForbiddenHeader("x5u"));
        }
        if header.jwk.is_some() {
            return Err(TokenError::ForbiddenHeader("jwk"));
        }
        if header.crit.is_some() {
            return Err(TokenError::ForbiddenHeader("crit"));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or(TokenError::Malformed("kid is required"))?;
        if kid.len() > MAX_KID_BYTES {
            return Err(TokenError::Malformed("kid too long"));
        }
        let iss = unverified_issuer(token)?;
        let issuer = self
            .inner
            .issuers
            .iter()
            .find(|i| i.cfg.issuer == iss)
            .ok_or(TokenError::UntrustedIssuer)?;
        if !issuer.algorithms.contains(&header.alg) {
            return Err(TokenError::Algorithm);
        }
        if issuer.own
            && !header.typ.as_deref().is_some_and(|t| {
                t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
            })
        {
            return Err(TokenError::Claims("typ must be at+jwt".to_owned()));
        }
        let key = self.key(issuer, kid).await?;
        if key.alg != header.alg {
            return Err(TokenError::Algorithm);
        }
        let mut v = Validation::new(header.alg);
        v.leeway = self.inner.leeway;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.validate_aud = true;
        v.set_audience(&issuer.audiences);
        v.set_issuer(&[issuer.cfg.issuer.as_str()]);
        v.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key.key, &v)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::InvalidSignature => TokenError::Signature,
                    K::InvalidAlgorithm => TokenError::Algorithm,
                    K::ExpiredSignature => TokenError::Claims("token expired".to_owned()),
                    K::ImmatureSignature => {
                        TokenError::Claims("token not yet valid (nbf)".to_owned())
                    }
                    K::InvalidAudience => TokenError::Claims("audience not accepted".to_owned()),
                    K::InvalidIssuer => TokenError::UntrustedIssuer,
                    K::MissingRequiredClaim(c) => {
                        TokenError::Claims(format!("claim {c} is required"))
                    }
                    K::InvalidClaimFormat(c) => {
                        TokenError::Claims(format!("claim {c} has the wrong type"))
                    }
                    _ => TokenError::Malformed("token does not decode"),
                }
            })?;
        principal(issuer, &data.claims, self.inner.leeway)
    }

    /// Forgets the cached copy of Rampart's own keys (after this node rotated them), so the
    /// next token signed by the new key is verified at once.
    pub async fn own_keys_changed(&self) {
        for issuer in self.inner.issuers.iter().filter(|i| i.own) {
            issuer.keys.invalidate(&()).await;
            let mut last = match issuer.last_attempt.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            *last = None;
        }
    }

    /// The key `kid` of `issuer`, fetching the issuer's set when it is unknown or stale.
    async fn key(&self, issuer: &Issuer, kid: &str) -> Result<VerifyingKey, TokenError> {
        let current = issuer.keys.get(&()).await;
        if let Some(set) = &current
            && set.fetched_at.elapsed() < self.inner.refresh
            && let Some(k) = lookup(issuer, set, kid)
        {
            return Ok(k);
        }
        let seen = current.as_ref().map(|s| s.fetched_at);
        let refreshed = self.refresh(issuer, seen).await;
        refreshed
            .or(current)
            .and_then(|set| lookup(issuer, &set, kid))
            .ok_or(TokenError::UnknownKey)
    }

    /// Fetches `issuer`'s keys unless another caller did since `seen` or the last attempt was
    /// under `min_refetch` ago; concurrent callers wait for one fetch.
    async fn refresh(&self, issuer: &Issuer, seen: Option<Instant>) -> Option<Arc<KeySet>> {
        let entry = issuer
            .keys
            .entry(())
            .and_compute_with(|cur| async move {
                let cur = cur.map(|e| e.into_value());
                if cur.as_ref().map(|s| s.fetched_at) != seen {
                    return Op::Nop;
                }
                {
                    let mut last = match issuer.last_attempt.lock() {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                    // Rampart's own keys are a read of a few database rows: a second is
                    // enough to bound a kid flood, and another node's rotation is seen soon.
                    let min = if issuer.own {
                        Duration::from_secs(1).min(self.inner.min_refetch)
                    } else {
                        self.inner.min_refetch
                    };
                    if last.is_some_and(|t| t.elapsed() < min) {
                        return Op::Nop;
                    }
                    *last = Some(Instant::now());
                }
                match self.fetch(issuer).await {
                    Ok(set) => {
                        self.inner
                            .fetches
                            .with_label_values(&[&issuer.cfg.issuer, "ok"])
                            .inc();
                        Op::Put(Arc::new(set))
                    }
                    Err(e) => {
                        self.inner
                            .fetches
                            .with_label_values(&[&issuer.cfg.issuer, "error"])
                            .inc();
                        tracing::warn!(issuer = %issuer.cfg.issuer, error = %e, "fetching the issuer's keys failed; cached keys keep serving");
                        Op::Nop
                    }
                }
            })
            .await;
        use moka::ops::compute::CompResult as C;
        match entry {
            C::Inserted(e) | C::ReplacedWith(e) | C::Unchanged(e) => Some(e.into_value()),
            C::StillNone(_) | C::Removed(_) => None,
        }
    }

    async fn fetch(&self, issuer: &Issuer) -> Result<KeySet, String> {
        match &issuer.source {
            KeySource::Local(keys) => {
                // A failed reload leaves the set loaded before (at start or the last reload).
                if let Err(e) = keys.reload().await {
                    tracing::warn!(error = %e, "reloading the signing keys failed; the loaded set keeps serving");
                }
                let mut set = KeySet {
                    keys: HashMap::new(),
                    fetched_at: Instant::now(),
                };
                for jwk in keys.jwks().keys {
                    if let Some(kid) = jwk.common.key_id.clone()
                        && let Some(k) = keys.verifying_key(&kid)
                    {
                        set.keys.insert(kid, (Some(k.alg), k.key));
                    }
                }
                Ok(set)
            }
            KeySource::Remote {
                jwks_uri,
                configured,
            } => {
                let uri = match configured {
                    Some(u) => u.clone(),
                    None => jwks_uri
                        .get_or_try_init(|| self.discover(&issuer.cfg.issuer))
                        .await?
                        .clone(),
                };
                let body = self.get_json(&uri).await?;
                let jwks: JwkSet = serde_json::from_value(body)
                    .map_err(|e| format!("{uri}: not a JWK Set: {e}"))?;
                Ok(key_set(&jwks))
            }
        }
    }

    /// The `jwks_uri` of `issuer`'s discovery document, whose `issuer` must equal it exactly
    /// (OpenID Connect Discovery 1.0 §4.3).
    async fn discover(&self, issuer: &str) -> Result<String, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let doc = self.get_json(&url).await?;
        if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
            return Err(format!("{url}: its issuer is not {issuer}"));
        }
        doc.get("jwks_uri")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{url}: no jwks_uri"))
    }

    /// GETs `url` as JSON through the fetch policy, at most `jwks_max_bytes`.
    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let max = self.inner.max_bytes;
        self.inner
            .policy
            .call(|| {
                let req = self.inner.http.get(url);
                async move {
                    let mut resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
                    if !resp.status().is_success() {
                        return Err(format!("{url}: HTTP {}", resp.status()));
                    }
                    let mut body = Vec::new();
                    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{url}: {e}"))? {
                        if body.len() + chunk.len() > max {
                            return Err(format!("{url}: larger than {max} bytes"));
                        }
                        body.extend_from_slice(&chunk);
                    }
                    serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
                }
            })
            .await
            .map_err(|e| e.to_string())
    }
}

fn lookup(issuer: &Issuer, set: &KeySet, kid: &str) -> Option<VerifyingKey> {
    let (alg, key) = set.keys.get(kid)?;
    // A JWK without `alg` verifies the issuer's first allowed algorithm of its family.
    let alg = match alg {
        Some(a) => *a,
        None => *issuer
            .algorithms
            .iter()
            .find(|a| a.family() == key.family())?,
    };
    Some(VerifyingKey {
        alg,
        key: key.clone(),
    })
}

/// The unverified `iss` of `token` (to select the issuer; verified later).
fn unverified_issuer(token: &str) -> Result<String, TokenError> {
    use base64::Engine as _;
    let payload = token
        .split('.')
        .nth(1)
        .ok_or(TokenError::Malformed("a JWT has three segments"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed("payload is not base64url"))?;
    let claims: Value =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed("payload is not JSON"))?;
    match claims.get("iss") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(TokenError::Claims(
            "claim iss has the wrong type".to_owned(),
        )),
        None => Err(TokenError::Claims("claim iss is required".to_owned())),
    }
}

fn as_u64(claims: &serde_json::Map<String, Value>, name: &str) -> Result<u64, TokenError> {
    claims
        .get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| TokenError::Claims(format!("claim {name} must be a number of seconds")))
}

fn opt_string(
    claims: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<String>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TokenError::Claims(format!("claim {name} must be a string"))),
    }
}

/// The roles in `claims[claim]`: an array of strings, or a space-separated string (`scp`,
/// `scope`), with `prefix` stripped (values without it are ignored).
fn roles_of(claims: &serde_json::Map<String, Value>, claim: &str, prefix: &str) -> Vec<String> {
    let values: Vec<&str> = match claims.get(claim) {
        Some(Value::String(s)) => s.split_whitespace().collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut roles: Vec<String> = values
        .into_iter()
        .filter_map(|v| v.strip_prefix(prefix))
        .filter(|v| super::rbac::ROLES.contains(v))
        .map(str::to_owned)
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

fn principal(
    issuer: &Issuer,
    claims: &serde_json::Map<String, Value>,
    leeway: u64,
) -> Result<Principal, TokenError> {
    let exp = as_u64(claims, "exp")?;
    let iat = as_u64(claims, "iat")?;
    let now = jsonwebtoken::get_current_timestamp();
    if iat > now + leeway {
        return Err(TokenError::Claims(
            "token issued in the future (iat)".to_owned(),
        ));
    }
    if exp.saturating_sub(iat) > issuer.cfg.max_token_lifetime_s {
        return Err(TokenError::Claims(format!(
            "token lifetime above the maximum of {} s",
            issuer.cfg.max_token_lifetime_s
        )));
    }
    let sub = opt_string(claims, "sub")?;
    let client_id = match opt_string(claims, "client_id")? {
        Some(c) => Some(c),
        None => match opt_string(claims, "azp")? {
            Some(c) => Some(c),
            None => opt_string(claims, "appid")?,
        },
    };
    let sub = sub
        .or_else(|| client_id.clone())
        .ok_or_else(|| TokenError::Claims("claim sub is required".to_owned()))?;
    let roles = if issuer.own {
        roles_of(claims, "roles", "")
    } else {
        roles_of(claims, &issuer.cfg.roles_claim, &issuer.cfg.role_prefix)
    };
    Ok(Principal {
        sub,
        client_id,
        issuer: issuer.cfg.issuer.clone(),
        roles,
        token_id: opt_string(claims, "jti")?,
        expires_at: exp,
    })
}
