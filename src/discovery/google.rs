//! Google Workspace discovery through the Admin SDK Directory API: mobile devices, ChromeOS
//! devices and users (the devices' owners), read with a service account and domain-wide
//! delegation, mapped to Rampart assets.
//!
//! - **Token** (RFC 7523 §2.1, Google's "Using OAuth 2.0 for Server to Server Applications"):
//!   a JWT signed RS256 with the service account's private key, `iss` the account's
//!   `client_email`, `sub` the administrator it acts for, `scope` the read-only Directory
//!   scopes, `aud` the token URI, one hour of validity; exchanged at the token URI with
//!   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` for a bearer token.
//! - **Paging**: `maxResults` and `pageToken` until no `nextPageToken` (at most
//!   [`MAX_PAGES`] pages a list).
//! - **Quota**: 429, 5xx and Google's 403 quota reasons (`rateLimitExceeded`,
//!   `userRateLimitExceeded`, `quotaExceeded`) are transient ([`DirectoryError::is_transient`]):
//!   the caller's resilience policy retries them with backoff.
//! - **Mapping**: [`rampart_asset::google_workspace::to_inventory`] (the same as for an
//!   exported file, `format=google_workspace`).

use base64::Engine as _;
use serde::Deserialize;

/// The read-only Directory scopes asked for.
pub const SCOPES: [&str; 3] = [
    "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly",
    "https://www.googleapis.com/auth/admin.directory.device.chromeos.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
];

/// Most pages read of one list.
pub const MAX_PAGES: usize = 10_000;

/// Items asked for per page (`maxResults`; Google's maximum for mobile devices is 100).
pub const PAGE_SIZE: u32 = 100;

/// Why discovery failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DirectoryError {
    /// The service account key file is wrong (what is wrong is said, never the key).
    #[error("service account key: {0}")]
    Key(String),
    /// Connection, TLS, timeout.
    #[error("transport: {0}")]
    Transport(String),
    /// An HTTP error answer; `reason` is Google's `error.errors[0].reason` when given.
    #[error("HTTP {status}{}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Status {
        /// The status.
        status: u16,
        /// Google's reason.
        reason: Option<String>,
    },
    /// An answer that is not what the API documents.
    #[error("unexpected answer: {0}")]
    Answer(String),
}

impl DirectoryError {
    /// Whether retrying can help: transport errors, 429, 5xx and Google's quota 403s.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status { status, reason } => {
                *status == 429
                    || *status >= 500
                    || (*status == 403
                        && reason.as_deref().is_some_and(|r| {
                            matches!(
                                r,
                                "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded"
                            )
                        }))
            }
            _ => false,
        }
    }
}

/// A service account key (the JSON file Google issues).
pub struct ServiceAccount {
    /// `client_email`.
    pub client_email: String,
    /// `token_uri`.
    pub token_uri: String,
    key: ring::signature::RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: String,
    #[serde(default = "default_token_uri")]
    token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

impl ServiceAccount {
    /// Reads a service account key file's JSON (`client_email`, `private_key` as PKCS#8 PEM,
    /// `token_uri`).
    ///
    /// # Errors
    /// [`DirectoryError::Key`]: not JSON, a missing field, a key that is not an RSA PKCS#8 key.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DirectoryError> {
        let f: KeyFile = serde_json::from_slice(bytes)
            .map_err(|e| DirectoryError::Key(format!("not a service account key file ({e})")))?;
        let b64: String = f
            .private_key
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(|l| l.trim().chars())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| DirectoryError::Key("private_key is not PEM".into()))?;
        let key = ring::signature::RsaKeyPair::from_pkcs8(&der).map_err(|e| {
            DirectoryError::Key(format!("private_key is not an RSA PKCS#8 key ({e})"))
        })?;
        Ok(Self {
            client_email: f.client_email,
            token_uri: f.token_uri,
            key,
        })
    }

    /// The signed JWT-bearer assertion acting for `subject`, issued at `now` (Unix seconds).
    ///
    /// # Errors
    /// [`DirectoryError::Key`] if signing fails.
    pub fn assertion(&self, subject: &str, now: i64) -> Result<String, DirectoryError> {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = enc.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": self.client_email,
            "sub": subject,
            "scope": SCOPES.join(" "),
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let claims = enc.encode(claims.to_string().as_bytes());
        let input = format!("{header}.{claims}");
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| DirectoryError::Key("signing the assertion failed".into()))?;
        Ok(format!("{input}.{}", enc.encode(&sig)))
    }
}

async fn error_of(r: reqwest::Response) -> DirectoryError {
    let status = r.status().as_u16();
    let reason = r.json::<serde_json::Value>().await.ok().and_then(|v| {
        v.pointer("/error/errors/0/reason")
            .and_then(|r| r.as_str())
            .map(str::to_owned)
    });
    DirectoryError::Status { status, reason }
}

/// Exchanges `assertion` at `token_uri` for an access token.
///
/// # Errors
/// [`DirectoryError`] (transient ones retried by the caller's policy).
pub async fn token(
    http: &reqwest::Client,
    token_uri: &str,
    assertion: &str,
) -> Result<String, DirectoryError> {
    let r = http
        .post(token_uri)
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ])
        .send()
        .await
        .map_err(|e| DirectoryError::Transport(e.without_url().to_string()))?;
    if !r.status().is_success() {
        return Err(error_of(r).await);
    }
    let v: serde_json::Value = r
        .json()
        .await
        .map_err(|e| DirectoryError::Answer(e.without_url().to_string()))?;
    v["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| DirectoryError::Answer("no access_token in the token answer".into()))
}

/// One page of a Directory list at `url` (with `pageToken` when given): its items under
/// `items_key` and the next page's token.
///
/// # Errors
/// [`DirectoryError`].
pub async fn page(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    items_key: &str,
    page_token: Option<&str>,
) -> Result<(Vec<serde_json::Value>, Option<String>), DirectoryError> {
    let mut q: Vec<(&str, String)> = vec![("maxResults", PAGE_SIZE.to_string())];
    if let Some(t) = page_token {
        q.push(("pageToken", t.to_owned()));
    }
    let r = http
        .get(url)
        .query(&q)
        .bearer_auth(bearer)
        .send()
        .await
        .map_err(|e| DirectoryError::Transport(e.without_url().to_string()))?;
    if !r.status().is_success() {
        return Err(error_of(r).await);
    }
    let v: serde_json::Value = r
        .json()
        .await
        .map_err(|e| DirectoryError::Answer(e.without_url().to_string()))?;
    let items = match v.get(items_key) {
        None => Vec::new(),
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(DirectoryError::Answer(format!(
                "{items_key} is not an array"
            )));
        }
    };
    let next = v
        .get("nextPageToken")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok((items, next))
}

/// Every item of the Directory list at `url`, page by page (at most [`MAX_PAGES`]), each page
/// fetched through `policy` (quota errors retried with its backoff); returns the items and the
/// number of pages read.
///
/// # Errors
/// The policy's error for the first page that could not be read; nothing is returned then.
pub async fn list_all(
    http: &reqwest::Client,
    policy: &rampart_supervisors::resilience::ResiliencePolicy<DirectoryError>,
    url: &str,
    bearer: &str,
    items_key: &str,
) -> Result<
    (Vec<serde_json::Value>, usize),
    rampart_supervisors::resilience::CallError<DirectoryError>,
> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    for n in 1..=MAX_PAGES {
        let (page_items, next) = policy
            .call(|| page(http, url, bearer, items_key, token.as_deref()))
            .await?;
        items.extend(page_items);
        match next {
            Some(t) => token = Some(t),
            None => return Ok((items, n)),
        }
    }
    Ok((items, MAX_PAGES))
}
