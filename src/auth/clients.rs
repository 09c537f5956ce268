//! OAuth 2.0 clients of Rampart's token service: id, hashed secret, roles (which are also the
//! scopes a client may ask for).
//!
//! ## Why SHA-256 and not a password hash
//! Every secret Rampart issues is 256 bits from the operating system's CSPRNG (`ring`'s
//! `SystemRandom`). A slow password hash (Argon2, bcrypt, scrypt) exists to make guessing a
//! low-entropy human password expensive; against a 2^256 search space a single SHA-256 is
//! already out of reach, so a slow hash adds no protection. It would add a cost: tens of ms of
//! CPU per token request, which turns the public token endpoint into a CPU-exhaustion vector
//! (OWASP's Password Storage Cheat Sheet makes the same distinction for high-entropy API keys).
//! Comparison is constant-time. Secrets chosen by people (a clients file written by hand) must
//! be generated the same way: `rampart clients secret` prints one with its hash.
//!
//! ## Where clients live
//! - `auth.clients_file`: a TOML file, `[[clients]]` with `client_id`, `secret_sha256`
//!   (`sha256:<hex>`), `roles` (a Kubernetes secret or a file mounted read-only);
//! - the database table `auth_client` (the bootstrap admin; clients added later).
//!
//! ## Bootstrap
//! With no clients file and an empty table, the first node to start creates `admin` (role
//! `admin`), writes its credentials to an owner-only file (mode 0600) and logs the file's
//! path once, never the secret.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::entities::auth_client as row;
use rampart_platform::Db;

/// A client as the token service sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub client_id: String,
    /// `sha256:<hex>` of the secret.
    pub secret_hash: String,
    /// Roles; a token gets these or the requested subset.
    pub roles: Vec<String>,
}

/// One `[[clients]]` entry of the clients file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    /// `client_id`.
    pub client_id: String,
    /// `sha256:<hex>` of the secret ([`hash_secret`]).
    pub secret_sha256: String,
    /// Roles (`viewer`, `analyst`, `responder`, `auditor`, `admin`, `node`).
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    #[serde(default)]
    clients: Vec<ClientEntry>,
}

/// Why clients could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The clients file is unreadable or invalid (its path and the parser's message).
    #[error("clients file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The client table failed.
    #[error("clients: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Writing the bootstrap credentials failed.
    #[error("writing {path}: {reason}")]
    Credentials {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
}

/// A new 256-bit secret, base64url with the `rps_` prefix (so a leaked one is recognisable by
/// secret scanners).
///
/// # Errors
/// The operating system's random number generator failed (no secret is ever made without it).
pub fn new_secret() -> Result<SecretString, ring::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(SecretString::from(format!(
        "rps_{}",
        URL_SAFE_NO_PAD.encode(bytes)
    )))
}

/// `sha256:<hex>` of `secret` (module docs: why SHA-256).
pub fn hash_secret(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    let mut s = String::with_capacity(7 + 64);
    s.push_str("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Whether `secret` matches `stored` (`sha256:<hex>`), in constant time.
pub fn verify_secret(secret: &str, stored: &str) -> bool {
    let candidate = hash_secret(secret);
    use subtle::ConstantTimeEq as _;
    candidate.as_bytes().ct_eq(stored.as_bytes()).into()
}

/// The clients the token service accepts (module docs).
#[derive(Debug, Clone)]
pub struct ClientRegistry {
    db: Db,
    file: HashMap<String, Client>,
}

impl ClientRegistry {
    /// Loads `clients_file` (if any); database clients are read per lookup.
    ///
    /// # Errors
    /// [`ClientError::File`] for an unreadable or invalid file, a hash not of the form
    /// `sha256:<64 hex>`, an unknown role or a duplicate id.
    pub fn open(db: Db, clients_file: Option<&Path>) -> Result<Self, ClientError> {
        let mut file = HashMap::new();
        if let Some(path) = clients_file {
            let bad = |reason: String| ClientError::File {
                path: path.display().to_string(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
            let parsed: ClientsFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
            for c in parsed.clients {
                let hex = c.secret_sha256.strip_prefix("sha256:").unwrap_or("");
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad(format!(
                        "client {}: secret_sha256 must be sha256:<64 hex digits>",
                        c.client_id
                    )));
                }
                if let Some(r) = c
                    .roles
                    .iter()
                    .find(|r| !super::rbac::ROLES.contains(&r.as_str()))
                {
                    return Err(bad(format!("client {}: unknown role {r}", c.client_id)));
                }
                if file.contains_key(&c.client_id) {
                    return Err(bad(format!("client {} is listed twice", c.client_id)));
                }
                file.insert(
                    c.client_id.clone(),
                    Client {
                        client_id: c.client_id,
                        secret_hash: c.secret_sha256.to_ascii_lowercase(),
                        roles: c.roles,
                    },
                );
            }
        }
        Ok(Self { db, file })
    }

    /// Whether a clients file was given.
    pub fn has_file(&self) -> bool {
        !self.file.is_empty()
    }

    /// The client `client_id` (file first, then the database); disabled ones are absent.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find(&self, client_id: &str) -> Result<Option<Client>, ClientError> {
        if let Some(c) = self.file.get(client_id) {
            return Ok(Some(c.clone()));
        }
        if client_id.len() > 128 {
            return Ok(None);
        }
        Ok(row::Entity::find_by_id(client_id.to_owned())
            .one(self.db.conn())
            .await?
            .filter(|r| !r.disabled)
            .map(|r| Client {
                client_id: r.client_id,
                secret_hash: r.secret_hash,
                roles: serde_json::from_str(&r.roles).unwrap_or_default(),
            }))
    }

    /// Stores a client in the database unless one with its id exists; whether it was stored.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert(&self, client: &Client) -> Result<bool, ClientError> {
        let res = row::Entity::insert(row::ActiveModel {
            client_id: Set(client.client_id.clone()),
            secret_hash: Set(client.secret_hash.clone()),
            roles: Set(serde_json::to_string(&client.roles).unwrap_or_else(|_| "[]".to_owned())),
            created_at: Set(Utc::now()),
            disabled: Set(false),
        })
        .on_conflict(
            OnConflict::column(row::Column::ClientId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.db.conn())
        .await?;
        Ok(res > 0)
    }

    /// The bootstrap (module docs): with no clients file and no stored client, creates `admin`
    /// and writes `{"client_id", "client_secret", "token_endpoint"}` to `credentials` (mode
    /// 0600, its directory created). Returns the file written, if this call created the admin.
    ///
    /// # Errors
    /// Database errors; the file cannot be written (the admin row is then removed again, so
    /// the next start retries).
    pub async fn bootstrap(
        &self,
        credentials: &Path,
        token_endpoint: &str,
    ) -> Result<Option<PathBuf>, ClientError> {
        if self.has_file() || row::Entity::find().count(self.db.conn()).await? > 0 {
            return Ok(None);
        }
        let secret = new_secret().map_err(|_| ClientError::Credentials {
            path: credentials.display().to_string(),
            reason: "the operating system's random number generator failed".to_owned(),
        })?;
        let admin = Client {
            client_id: "admin".to_owned(),
            secret_hash: hash_secret(secret.expose_secret()),
            roles: vec!["admin".to_owned()],
        };
        if !self.insert(&admin).await? {
            return Ok(None);
        }
        let body = serde_json::json!({
            "client_id": admin.client_id,
            "client_secret": secret.expose_secret(),
            "token_endpoint": token_endpoint,
        });
        if let Err(e) = write_owner_only(credentials, body.to_string().as_bytes()) {
            let _ = row::Entity::delete_by_id("admin".to_owned())
                .exec(self.db.conn())
                .await;
            return Err(ClientError::Credentials {
                path: credentials.display().to_string(),
                reason: e.to_string(),
            });
        }
        Ok(Some(credentials.to_owned()))
    }
}

/// Writes `bytes` to `path` readable and writable by the owner only (0600 on Unix), replacing
/// an earlier file.
///
/// # Errors
/// I/O errors.
pub fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bit_and_verify_only_against_their_own_hash() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 4 + 43);
        let h = hash_secret(a.expose_secret());
        assert!(h.starts_with("sha256:") && h.len() == 71);
        assert!(verify_secret(a.expose_secret(), &h));
        assert!(!verify_secret(b.expose_secret(), &h));
        assert!(!verify_secret("", &h));
    }
}
