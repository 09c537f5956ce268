//! Console sessions: who is signed in to the browser console, and how they signed in.
//!
//! - **Sessions** live in a bounded in-memory store ([`Sessions`], at most
//!   `console.max_sessions`), each with an idle expiry (`console.session_idle_s`, renewed by
//!   every request) and an absolute one (`console.session_absolute_s`), the two timeouts of
//!   OWASP's Session Management Cheat Sheet. The browser holds a random 256-bit id in the
//!   `rampart_session` cookie (`HttpOnly`, `SameSite=Lax`, `Path=/console`, `Secure` when TLS is
//!   on); the store keys sessions by the SHA-256 of that id, so the store never holds a usable
//!   cookie. Logging out removes the session: the old cookie is refused from then on. A node's
//!   restart ends every session (they are not shared between nodes either).
//! - **CSRF**: every session has a random token; a state-changing console request (any method
//!   but GET/HEAD) must carry it (`csrf_token` in the form action's query, or `X-CSRF-Token`),
//!   compared in constant time, and its `Origin`, when sent, must be this node's (OWASP CSRF
//!   Prevention: synchronizer token plus origin verification).
//! - **Sign-in**: a local user (`console.users_file`: argon2id PHC hashes, RFC 9106), an OAuth
//!   client of the token service (the bootstrap admin: client id and secret), or the OpenID
//!   Connect authorization-code flow with PKCE (RFC 7636, S256) against `console.oidc`, whose
//!   access token is validated by the API edge's authorizer like any bearer token, so the
//!   console's roles are exactly the API's.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SecureRandom as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::auth::Principal;

/// The session cookie's name.
pub const COOKIE: &str = "rampart_session";

/// The query parameter (or `X-CSRF-Token` header) carrying the CSRF token.
pub const CSRF_PARAM: &str = "csrf_token";

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who (roles decide what the console shows and allows, as for the API).
    pub principal: Principal,
    /// The CSRF token of this session's forms.
    pub csrf: String,
    /// How they signed in: `local`, `client` or `oidc`.
    pub via: &'static str,
    /// When (absolute expiry counts from here).
    pub created: chrono::DateTime<chrono::Utc>,
}

/// A login under way through the identity provider (state → PKCE verifier and where to go).
#[derive(Debug, Clone)]
pub struct PendingLogin {
    /// The PKCE code verifier (RFC 7636 §4.1).
    pub verifier: String,
    /// The console page asked for before signing in.
    pub next: String,
    /// The redirect URI sent (the token request repeats it, RFC 6749 §4.1.3).
    pub redirect_uri: String,
}

/// The session store (module docs).
#[derive(Clone)]
pub struct Sessions {
    live: moka::sync::Cache<[u8; 32], Arc<Session>>,
    pending: moka::sync::Cache<String, PendingLogin>,
    /// `Secure` on the cookie (TLS on).
    pub secure: bool,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("live", &self.live.entry_count())
            .finish_non_exhaustive()
    }
}

/// 32 random bytes, base64url (256 bits: OWASP asks for at least 64 bits of entropy).
///
/// # Errors
/// The system's random source failed.
pub fn random_token() -> Result<String, ring::error::Unspecified> {
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut b)?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

fn key_of(cookie: &str) -> [u8; 32] {
    sha2::Sha256::digest(cookie.as_bytes()).into()
}

impl Sessions {
    /// A store of at most `max` sessions, `idle` and `absolute` expiries; logins under way
    /// expire after 10 minutes (at most `max` of them).
    pub fn new(max: u64, idle: Duration, absolute: Duration, secure: bool) -> Self {
        Self {
            live: moka::sync::Cache::builder()
                .max_capacity(max.max(1))
                .time_to_idle(idle)
                .time_to_live(absolute)
                .build(),
            pending: moka::sync::Cache::builder()
                .max_capacity(max.max(1))
                .time_to_live(Duration::from_secs(600))
                .build(),
            secure,
        }
    }

    /// Starts a session for `principal`; returns the cookie value.
    ///
    /// # Errors
    /// The random source failed.
    pub fn start(
        &self,
        principal: Principal,
        via: &'static str,
    ) -> Result<String, ring::error::Unspecified> {
        let cookie = random_token()?;
        let csrf = random_token()?;
        self.live.insert(
            key_of(&cookie),
            Arc::new(Session {
                principal,
                csrf,
                via,
                created: chrono::Utc::now(),
            }),
        );
        Ok(cookie)
    }

    /// The live session of `cookie` (its idle expiry renewed).
    pub fn get(&self, cookie: &str) -> Option<Arc<Session>> {
        self.live.get(&key_of(cookie))
    }

    /// Ends the session of `cookie`.
    pub fn end(&self, cookie: &str) {
        self.live.invalidate(&key_of(cookie));
    }

    /// Remembers a login under way under `state`.
    pub fn pend(&self, state: String, login: PendingLogin) {
        self.pending.insert(state, login);
    }

    /// Takes the login under way of `state` (once).
    pub fn take_pending(&self, state: &str) -> Option<PendingLogin> {
        self.pending.remove(state)
    }

    /// Live sessions (approximate).
    pub fn count(&self) -> u64 {
        self.live.run_pending_tasks();
        self.live.entry_count()
    }
}

/// Whether `sent` is `expected`, in constant time.
pub fn same_token(sent: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    sent.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// One `[[users]]` entry of `console.users_file`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocalUser {
    /// The name typed at sign-in.
    pub username: String,
    /// argon2id PHC string (`rampart hash-password` prints one).
    pub password_hash: String,
    /// Rampart roles (`[auth.roles]`).
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<LocalUser>,
}

/// Reads `path` (TOML `[[users]]`), checking every hash parses and every role exists.
///
/// # Errors
/// A message naming the file and what is wrong (never a hash).
pub fn load_users(
    path: &std::path::Path,
    roles: &crate::auth::RoleMap,
) -> Result<Vec<LocalUser>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let f: UsersFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut seen = std::collections::HashSet::new();
    for u in &f.users {
        if !seen.insert(u.username.clone()) {
            return Err(format!(
                "{}: user {:?} listed twice",
                path.display(),
                u.username
            ));
        }
        argon2::PasswordHash::new(&u.password_hash).map_err(|_| {
            format!(
                "{}: user {:?}: password_hash is not a PHC string",
                path.display(),
                u.username
            )
        })?;
        if let Some(r) = u.roles.iter().find(|r| !roles.contains_key(*r)) {
            return Err(format!(
                "{}: user {:?}: unknown role {r:?}",
                path.display(),
                u.username
            ));
        }
    }
    Ok(f.users)
}

/// An argon2id PHC hash of `password` (argon2 crate defaults: m = 19 MiB, t = 2, p = 1, the
/// OWASP Password Storage Cheat Sheet's minimum).
///
/// # Errors
/// Hashing failed (the random salt could not be drawn).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::PasswordHasher as _;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC `hash` (false for an unparsable hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::PasswordVerifier as _;
    argon2::PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal {
            sub: "alice".into(),
            client_id: None,
            issuer: "rampart-console".into(),
            roles: vec!["viewer".into()],
            token_id: None,
            expires_at: 0,
        }
    }

    #[test]
    fn a_session_ends_on_logout_and_on_idle_expiry() {
        let s = Sessions::new(
            10,
            Duration::from_millis(300),
            Duration::from_secs(60),
            false,
        );
        let c = s.start(principal(), "local").unwrap();
        assert_eq!(s.get(&c).unwrap().principal.sub, "alice");
        assert!(s.get("forged").is_none());
        s.end(&c);
        assert!(s.get(&c).is_none(), "logged out");
        let c = s.start(principal(), "local").unwrap();
        std::thread::sleep(Duration::from_millis(500));
        assert!(s.get(&c).is_none(), "idle past 300 ms");
    }

    #[test]
    fn absolute_expiry_holds_even_when_busy() {
        let s = Sessions::new(
            10,
            Duration::from_secs(60),
            Duration::from_millis(400),
            false,
        );
        let c = s.start(principal(), "local").unwrap();
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(100));
            assert!(s.get(&c).is_some());
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(s.get(&c).is_none(), "past the absolute lifetime");
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        // RFC 7636 Appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
