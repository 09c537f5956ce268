//! A [`jsonwebtoken`] crypto provider on `ring`, the one provider in Rampart's tree (rustls,
//! sqlx and lapin use it too).
//!
//! jsonwebtoken 12 offers two built-in backends: `rust_crypto` pulls the `rsa` crate
//! (RUSTSEC-2023-0071, the Marvin timing attack, no fix) and `aws_lc_rs` brings a second crypto
//! provider into the process (../shared/STACK.md, pitfalls 1 and 4). This module implements its
//! [`CryptoProvider`] with `ring` instead:
//!
//! - verification of RS256/384/512 and PS256/384/512 (RFC 7518 §3.3, §3.5; keys of 2048 to 8192
//!   bits), ES256 and ES384 (RFC 7518 §3.4, fixed-size `r ‖ s` signatures) and EdDSA with Ed25519
//!   (RFC 8037 §3.1);
//! - signing with ES256, ES384 and EdDSA only (Rampart signs its own tokens with those);
//! - never HMAC: a verifier for HS256/384/512 is refused, so a token signed with HMAC and a
//!   public key as the "secret" (the RFC 8725 §2.1 key-confusion attack) cannot verify.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair as _};

fn err(kind: ErrorKind) -> Error {
    Error::from(kind)
}

/// Signer with an ECDSA P-256/P-384 (PKCS#8 DER) or Ed25519 (PKCS#8 DER) key.
enum RingSigner {
    Ecdsa(sig::EcdsaKeyPair, Algorithm),
    Ed(sig::Ed25519KeyPair),
}

impl signature::Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        match self {
            Self::Ecdsa(k, _) => k
                .sign(&SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| signature::Error::new()),
            Self::Ed(k) => Ok(k.sign(msg).as_ref().to_vec()),
        }
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Ecdsa(_, a) => *a,
            Self::Ed(_) => Algorithm::EdDSA,
        }
    }
}

fn new_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    let der = key.as_bytes();
    let rng = SystemRandom::new();
    let signer = match alg {
        Algorithm::ES256 => RingSigner::Ecdsa(
            sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                .map_err(|_| err(ErrorKind::InvalidEcdsaKey))?,
            *alg,
        ),
        Algorithm::ES384 => RingSigner::Ecdsa(
            sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, der, &rng)
                .map_err(|_| err(ErrorKind::InvalidEcdsaKey))?,
            *alg,
        ),
        Algorithm::EdDSA => RingSigner::Ed(
            sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|_| err(ErrorKind::InvalidEddsaKey))?,
        ),
        _ => return Err(err(ErrorKind::UnsupportedAlgorithm)),
    };
    Ok(Box::new(signer))
}

/// Verifier of one algorithm with one public key.
struct RingVerifier {
    alg: Algorithm,
    key: DecodingKey,
}

fn rsa_params(alg: Algorithm) -> Option<&'static sig::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let bad = |_| signature::Error::new();
        if let Some(params) = rsa_params(self.alg) {
            return match self.key.kind() {
                DecodingKeyKind::RsaModulusExponent { n, e } => {
                    sig::RsaPublicKeyComponents { n, e }
                        .verify(params, msg, signature)
                        .map_err(bad)
                }
                DecodingKeyKind::SecretOrDer(der) => sig::UnparsedPublicKey::new(params, der)
                    .verify(msg, signature)
                    .map_err(bad),
            };
        }
        let algorithm: &dyn sig::VerificationAlgorithm = match self.alg {
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
            Algorithm::EdDSA => &sig::ED25519,
            _ => return Err(signature::Error::new()),
        };
        let DecodingKeyKind::SecretOrDer(raw) = self.key.kind() else {
            return Err(signature::Error::new());
        };
        sig::UnparsedPublicKey::new(algorithm, raw)
            .verify(msg, signature)
            .map_err(bad)
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    use jsonwebtoken::AlgorithmFamily as F;
    let family_fits = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            return Err(err(ErrorKind::InvalidAlgorithm));
        }
        Algorithm::ES256 | Algorithm::ES384 => key.family() == F::Ec,
        Algorithm::EdDSA => key.family() == F::Ed,
        _ => key.family() == F::Rsa,
    };
    if !family_fits {
        return Err(err(ErrorKind::InvalidAlgorithm));
    }
    Ok(Box::new(RingVerifier {
        alg: *alg,
        key: key.clone(),
    }))
}

fn unsupported_rsa(_: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    Err(err(ErrorKind::UnsupportedAlgorithm))
}

fn ec_components(der: &[u8], alg: Algorithm) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>), Error> {
    let (signing, curve, half) = match alg {
        Algorithm::ES256 => (
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            EllipticCurve::P256,
            32,
        ),
        Algorithm::ES384 => (
            &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            EllipticCurve::P384,
            48,
        ),
        _ => return Err(err(ErrorKind::InvalidEcdsaKey)),
    };
    let pair = sig::EcdsaKeyPair::from_pkcs8(signing, der, &SystemRandom::new())
        .map_err(|_| err(ErrorKind::InvalidEcdsaKey))?;
    let point = pair.public_key().as_ref();
    if point.len() != 1 + 2 * half || point[0] != 4 {
        return Err(err(ErrorKind::InvalidEcdsaKey));
    }
    let (x, y) = point[1..].split_at(half);
    Ok((curve, x.to_vec(), y.to_vec()))
}

fn ed_component(der: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>, Error> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(err(ErrorKind::InvalidAlgorithm));
    }
    Ok(sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        .map_err(|_| err(ErrorKind::InvalidEddsaKey))?
        .public_key()
        .as_ref()
        .to_vec())
}

fn digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, Error> {
    let alg = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(err(ErrorKind::UnsupportedAlgorithm)),
    };
    Ok(ring::digest::digest(alg, data).as_ref().to_vec())
}

/// The ring-based provider (module docs).
pub static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: unsupported_rsa,
        rsa_pub_components_from_public_key: unsupported_rsa,
        ec_pub_components_from_private_key: ec_components,
        ed_pub_components_from_private_key: ed_component,
        compute_digest: digest,
    },
};

/// Installs [`RING_PROVIDER`] as jsonwebtoken's process default; idempotent. Returns whether
/// the process default is this provider afterwards (`false`: another one was installed first).
pub fn install() -> bool {
    let _ = RING_PROVIDER.install_default();
    CryptoProvider::try_get_default().is_some_and(|p| std::ptr::eq(p, &RING_PROVIDER))
}
