//! Rampart's token signing keys: generated with `ring` (ES256 = ECDSA P-256, or EdDSA =
//! Ed25519), stored in the database so every node of a deployment signs and verifies with the
//! same set, and rotated with overlap.
//!
//! Rotation ([`SigningKeys::rotate`], `rampart keys rotate`, `POST /api/v1/auth/keys/rotate`):
//! a new key becomes the active signer; every earlier key is marked retired and keeps verifying
//! until `retired_at + token_ttl + leeway`, i.e. until every token it signed has expired, and is
//! purged after. The JWKS (RFC 7517 §5) lists every key that still verifies, so a relying party
//! that caches it sees a new `kid` before any token carries it... on its next fetch; Rampart's
//! own nodes reload the set on an unknown `kid` (at most once per `auth.jwks_min_refetch_interval_s`).
//!
//! `kid` is the key's RFC 7638 JWK thumbprint (SHA-256, base64url).
//!
//! With a key encryption key ([`KeyEncryptionKey`], `auth.signing_key_encryption_key_file`) the
//! private parts are stored sealed: `sealed:v1:` + base64(nonce ‖ AES-256-GCM(PKCS#8)), the
//! `kid` as associated data so a sealed key cannot be moved to another row (envelope
//! encryption, NIST SP 800-57 Part 1 §6.1.1 "key-wrapping keys").

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::SigningAlg;
use super::entities::auth_signing_key as row;
use rampart_platform::Db;

/// Why a key operation failed. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key table failed.
    #[error("signing keys: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Generating, encoding or parsing a key failed.
    #[error("signing key {kid}: {reason}")]
    Key {
        /// The key's id (or `new`).
        kid: String,
        /// What went wrong.
        reason: String,
    },
    /// No active key to sign with.
    #[error("no active signing key")]
    NoActiveKey,
}

fn key_err(kid: &str, reason: impl std::fmt::Display) -> KeyError {
    KeyError::Key {
        kid: kid.to_owned(),
        reason: reason.to_string(),
    }
}

/// The key encryption key sealing the signing keys' private parts (module docs).
pub struct KeyEncryptionKey(ring::aead::LessSafeKey);

const SEALED: &str = "sealed:v1:";

impl KeyEncryptionKey {
    /// Reads a base64 (standard or URL-safe, padded or not) 32-byte key from `path`.
    ///
    /// # Errors
    /// [`KeyError::Key`] naming the file (never its content): unreadable, not base64, not 32
    /// bytes.
    pub fn from_file(path: &std::path::Path) -> Result<Self, KeyError> {
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| key_err(&file, e))?;
        let text = text.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|e| e.decode(text).ok())
            .ok_or_else(|| key_err(&file, "the key encryption key is not base64"))?;
        Self::from_bytes(&bytes).map_err(|_| {
            key_err(
                &file,
                "the key encryption key must be 32 bytes (openssl rand -base64 32)",
            )
        })
    }

    /// A key from 32 raw bytes.
    ///
    /// # Errors
    /// [`KeyError::Key`] for another length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let key = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, bytes)
            .map_err(|_| key_err("kek", "must be 32 bytes"))?;
        Ok(Self(ring::aead::LessSafeKey::new(key)))
    }

    fn seal(&self, kid: &str, der: &[u8]) -> Result<String, KeyError> {
        use ring::rand::SecureRandom as _;
        let mut nonce = [0u8; 12];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| key_err(kid, "no randomness"))?;
        let mut buf = der.to_vec();
        self.0
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(kid.as_bytes()),
                &mut buf,
            )
            .map_err(|_| key_err(kid, "sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{SEALED}{}", STANDARD.encode(out)))
    }

    fn open(&self, kid: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let raw = STANDARD.decode(sealed).map_err(|e| key_err(kid, e))?;
        if raw.len() < 12 + 16 {
            return Err(key_err(kid, "sealed key too short"));
        }
        let (nonce, rest) = raw.split_at(12);
        let mut buf = rest.to_vec();
        let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| key_err(kid, "bad nonce"))?;
        let plain = self
            .0
            .open_in_place(nonce, ring::aead::Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| {
                key_err(
                    kid,
                    "cannot unseal: it was sealed with another key encryption key (every node needs the same auth.signing_key_encryption_key_file)",
                )
            })?;
        Ok(plain.to_vec())
    }
}

/// A verifying key: its algorithm and public key.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The only algorithm this key verifies.
    pub alg: Algorithm,
    /// The public key.
    pub key: DecodingKey,
}

struct Loaded {
    /// `(kid, alg, key)` of the active signer.
    active: Option<(String, Algorithm, EncodingKey)>,
    jwks: JwkSet,
    verifying: HashMap<String, VerifyingKey>,
}

/// The key set of this deployment (module docs). Cheap to clone.
#[derive(Clone)]
pub struct SigningKeys {
    db: Db,
    alg: SigningAlg,
    /// How long a retired key keeps verifying: token TTL + leeway.
    overlap: Duration,
    kek: Option<Arc<KeyEncryptionKey>>,
    loaded: Arc<RwLock<Arc<Loaded>>>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// What [`SigningKeys::rotate`] did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rotation {
    /// The new active key.
    pub kid: String,
    /// Keys retired by it (they verify until `verify_until`).
    pub retired: Vec<String>,
    /// When the retired keys stop verifying.
    pub verify_until: DateTime<Utc>,
}

fn generate(alg: SigningAlg) -> Result<(Vec<u8>, EncodingKey), KeyError> {
    let rng = SystemRandom::new();
    let der = match alg {
        SigningAlg::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng),
        SigningAlg::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng),
    }
    .map_err(|e| key_err("new", e))?
    .as_ref()
    .to_vec();
    let key = encoding_key(alg.jwt(), &der);
    Ok((der, key))
}

fn encoding_key(alg: Algorithm, der: &[u8]) -> EncodingKey {
    match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_der(der),
        _ => EncodingKey::from_ec_der(der),
    }
}

/// The public JWK of `key` with `kid` (its thumbprint), `use: sig` and `alg`.
fn public_jwk(key: &EncodingKey, alg: Algorithm) -> Result<Jwk, KeyError> {
    let mut jwk = Jwk::from_encoding_key(key, alg).map_err(|e| key_err("new", e))?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| key_err("new", e))?;
    jwk.common.key_id = Some(kid);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(match alg {
        Algorithm::EdDSA => KeyAlgorithm::EdDSA,
        _ => KeyAlgorithm::ES256,
    });
    Ok(jwk)
}

fn parse_alg(s: &str) -> Option<Algorithm> {
    match s {
        "ES256" => Some(Algorithm::ES256),
        "EdDSA" => Some(Algorithm::EdDSA),
        _ => None,
    }
}

impl SigningKeys {
    /// Opens the key set: loads it, purges keys past `verify_until`, and creates the first
    /// key when none is active. New keys are sealed with `kek` when given.
    ///
    /// # Errors
    /// Database errors; a stored key that does not parse, or is sealed and `kek` is missing
    /// or another.
    pub async fn open(
        db: Db,
        alg: SigningAlg,
        overlap: Duration,
        kek: Option<KeyEncryptionKey>,
    ) -> Result<Self, KeyError> {
        let keys = Self {
            db,
            alg,
            overlap,
            kek: kek.map(Arc::new),
            loaded: Arc::new(RwLock::new(Arc::new(Loaded {
                active: None,
                jwks: JwkSet { keys: Vec::new() },
                verifying: HashMap::new(),
            }))),
        };
        keys.purge().await?;
        keys.reload().await?;
        if keys.current().active.is_none() {
            keys.insert_new().await?;
            keys.reload().await?;
        }
        Ok(keys)
    }

    fn current(&self) -> Arc<Loaded> {
        match self.loaded.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    async fn insert_new(&self) -> Result<String, KeyError> {
        let (der, key) = generate(self.alg)?;
        let jwk = public_jwk(&key, self.alg.jwt())?;
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        let json = serde_json::to_string(&jwk).map_err(|e| key_err(&kid, e))?;
        let stored = match &self.kek {
            Some(kek) => kek.seal(&kid, &der)?,
            None => STANDARD.encode(der),
        };
        row::Entity::insert(row::ActiveModel {
            kid: Set(kid.clone()),
            alg: Set(format!("{:?}", self.alg.jwt())),
            private_pkcs8: Set(Some(stored)),
            public_jwk: Set(json),
            created_at: Set(Utc::now()),
            retired_at: Set(None),
            verify_until: Set(None),
        })
        .exec_without_returning(self.db.conn())
        .await?;
        Ok(kid)
    }

    /// Reloads the set from the database (other nodes may have rotated) and purges keys whose
    /// overlap has ended.
    ///
    /// # Errors
    /// Database errors; a stored key that does not parse.
    pub async fn reload(&self) -> Result<(), KeyError> {
        // Only reads: the authorizer reloads on an unknown kid, which must not wait on the
        // database's write lock. Expired keys are skipped here and purged by `purge`.
        let now = Utc::now();
        let rows = row::Entity::find()
            .order_by_desc(row::Column::CreatedAt)
            .all(self.db.conn())
            .await?;
        let mut active = None;
        let mut jwks = Vec::new();
        let mut verifying = HashMap::new();
        for r in rows {
            if r.verify_until.is_some_and(|t| t < now) {
                continue;
            }
            let Some(alg) = parse_alg(&r.alg) else {
                tracing::warn!(kid = %r.kid, alg = %r.alg, "signing key of an unknown algorithm ignored");
                continue;
            };
            let jwk: Jwk = serde_json::from_str(&r.public_jwk).map_err(|e| key_err(&r.kid, e))?;
            let key = DecodingKey::from_jwk(&jwk).map_err(|e| key_err(&r.kid, e))?;
            if active.is_none()
                && r.retired_at.is_none()
                && let Some(stored) = &r.private_pkcs8
            {
                let der = match (stored.strip_prefix(SEALED), &self.kek) {
                    (Some(sealed), Some(kek)) => kek.open(&r.kid, sealed)?,
                    (Some(_), None) => {
                        return Err(key_err(
                            &r.kid,
                            "the signing key is sealed: set auth.signing_key_encryption_key_file",
                        ));
                    }
                    (None, _) => STANDARD.decode(stored).map_err(|e| key_err(&r.kid, e))?,
                };
                active = Some((r.kid.clone(), alg, encoding_key(alg, &der)));
            }
            verifying.insert(r.kid.clone(), VerifyingKey { alg, key });
            jwks.push(jwk);
        }
        let loaded = Arc::new(Loaded {
            active,
            jwks: JwkSet { keys: jwks },
            verifying,
        });
        match self.loaded.write() {
            Ok(mut g) => *g = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        Ok(())
    }

    /// Deletes the keys whose overlap has ended (at open and rotation).
    ///
    /// # Errors
    /// Database errors.
    pub async fn purge(&self) -> Result<(), KeyError> {
        row::Entity::delete_many()
            .filter(row::Column::VerifyUntil.lt(Utc::now()))
            .exec(self.db.conn())
            .await?;
        Ok(())
    }

    /// Makes a new key the signer and retires every other (module docs).
    ///
    /// # Errors
    /// Database errors, key generation errors.
    pub async fn rotate(&self) -> Result<Rotation, KeyError> {
        let now = Utc::now();
        let verify_until = now
            + chrono::Duration::from_std(self.overlap)
                .unwrap_or_else(|_| chrono::Duration::hours(1));
        let previous: Vec<String> = row::Entity::find()
            .filter(row::Column::RetiredAt.is_null())
            .all(self.db.conn())
            .await?
            .into_iter()
            .map(|r| r.kid)
            .collect();
        self.purge().await?;
        let kid = self.insert_new().await?;
        row::Entity::update_many()
            .col_expr(row::Column::RetiredAt, sea_orm::sea_query::Expr::value(now))
            .col_expr(
                row::Column::VerifyUntil,
                sea_orm::sea_query::Expr::value(verify_until),
            )
            .filter(row::Column::Kid.is_in(previous.clone()))
            .exec(self.db.conn())
            .await?;
        self.reload().await?;
        tracing::info!(%kid, retired = previous.len(), %verify_until, "signing key rotated");
        Ok(Rotation {
            kid,
            retired: previous,
            verify_until,
        })
    }

    /// Signs `claims` with the active key: header `{alg, typ: "at+jwt", kid}` (RFC 9068 §2.1).
    ///
    /// # Errors
    /// [`KeyError::NoActiveKey`]; signing errors.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, KeyError> {
        let loaded = self.current();
        let (kid, alg, key) = loaded.active.as_ref().ok_or(KeyError::NoActiveKey)?;
        let mut header = Header::new(*alg);
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key).map_err(|e| key_err(kid, e))
    }

    /// The public keys that still verify (RFC 7517 JWK Set).
    pub fn jwks(&self) -> JwkSet {
        self.current().jwks.clone()
    }

    /// The key `kid`, if it is in the loaded set.
    pub fn verifying_key(&self, kid: &str) -> Option<VerifyingKey> {
        self.current().verifying.get(kid).cloned()
    }

    /// The active key's id.
    pub fn active_kid(&self) -> Option<String> {
        self.current().active.as_ref().map(|(k, _, _)| k.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db(dir: &std::path::Path) -> Db {
        std::fs::create_dir_all(dir).unwrap();
        let url = format!("sqlite://{}/keys.sqlite", dir.display());
        Db::connect::<crate::schema::Migrator>(&url, &rampart_platform::DbOptions::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn sealed_keys_open_only_with_their_key_encryption_key() {
        crate::auth::crypto::install();
        let dir = std::env::temp_dir().join(format!("rampart-kek-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = db(&dir).await;
        let kek = || KeyEncryptionKey::from_bytes(&[7u8; 32]).unwrap();
        let overlap = Duration::from_secs(60);
        let keys = SigningKeys::open(db.clone(), SigningAlg::ES256, overlap, Some(kek()))
            .await
            .unwrap();
        let kid = keys.active_kid().unwrap();
        let stored = row::Entity::find_by_id(kid.clone())
            .one(db.conn())
            .await
            .unwrap()
            .unwrap()
            .private_pkcs8
            .unwrap();
        assert!(stored.starts_with(SEALED), "sealed at rest");

        // The same KEK opens it; none, or another, is refused with a message naming the setting.
        let again = SigningKeys::open(db.clone(), SigningAlg::ES256, overlap, Some(kek()))
            .await
            .unwrap();
        assert_eq!(again.active_kid(), Some(kid.clone()));
        let other = KeyEncryptionKey::from_bytes(&[8u8; 32]).unwrap();
        let e = SigningKeys::open(db.clone(), SigningAlg::ES256, overlap, Some(other))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("another key encryption key"), "{e}");
        let e = SigningKeys::open(db.clone(), SigningAlg::ES256, overlap, None)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("signing_key_encryption_key_file"), "{e}");

        // A sealed key moved to another row (other kid as associated data) does not open.
        let moved = kek().seal("kid-a", b"pkcs8 bytes").unwrap();
        let body = moved.strip_prefix(SEALED).unwrap();
        assert!(kek().open("kid-b", body).is_err());
        assert_eq!(kek().open("kid-a", body).unwrap(), b"pkcs8 bytes");

        // A KEK file: base64 of 32 bytes; anything else is refused without echoing it.
        let file = dir.join("kek");
        std::fs::write(&file, format!("{}\n", STANDARD.encode([7u8; 32]))).unwrap();
        assert!(KeyEncryptionKey::from_file(&file).is_ok());
        std::fs::write(&file, "c2hvcnQ=").unwrap();
        let e = KeyEncryptionKey::from_file(&file)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("32 bytes") && !e.contains("c2hvcnQ"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
