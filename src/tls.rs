//! TLS on the HTTP listener: TLS 1.3 only by default (RFC 8446), TLS 1.2 only when asked for
//! (RFC 5246), certificates reloaded from their files without a restart, and HTTP Strict
//! Transport Security (RFC 6797) on every response while TLS is on.
//!
//! The crypto provider is rustls' `ring` one, passed explicitly: the process has no default
//! provider to depend on (see `../shared/STACK.md`, pitfall 1). PEM is parsed with
//! `rustls-pki-types` (`rustls-pemfile` is unmaintained, RUSTSEC-2025-0134).
//!
//! How a reload works: [`load`] builds a [`rustls::ServerConfig`] whose certificate comes from a
//! [`CertResolver`], an [`ArcSwap`] holding exactly one current [`CertifiedKey`]. The
//! [`Reloader`] polls the two files; when one of them changed it loads and validates the new
//! pair and swaps it in. New handshakes then get the new certificate; established connections
//! keep the session they negotiated. A pair that fails validation is logged and the previous one
//! keeps serving.

use std::future::{Future, Ready, ready};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, STRICT_TRANSPORT_SECURITY};
use actix_web::{HttpResponse, ResponseError};
use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

/// `[http.tls]`: TLS on the HTTP listener. TLS is on when both `cert_file` and `key_file` are
/// set; with neither the listener speaks plain HTTP; one without the other is a configuration
/// error ([`TlsError::Incomplete`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain: the server's certificate first, then the
    /// intermediates (`-----BEGIN CERTIFICATE-----` blocks). Default: unset.
    pub cert_file: Option<PathBuf>,
    /// PEM file with the unencrypted private key of the first certificate: PKCS#8
    /// (`BEGIN PRIVATE KEY`), SEC1 (`BEGIN EC PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    /// Default: unset.
    pub key_file: Option<PathBuf>,
    /// Also accepts TLS 1.2 (RFC 5246) clients; off: TLS 1.3 (RFC 8446) only. Turning it on is
    /// logged as a warning. Default false.
    pub allow_tls12: bool,
    /// How often the two files are checked for a change (modification time, size), in ms;
    /// 0 turns reloading off. Default 10000.
    pub reload_interval_ms: u64,
    /// `max-age` of the `Strict-Transport-Security` header (RFC 6797 §6.1.1), in seconds.
    /// Default 31536000 (one year).
    pub hsts_max_age_s: u64,
    /// Adds `includeSubDomains` to the `Strict-Transport-Security` header (RFC 6797 §6.1.2).
    /// Default true.
    pub hsts_include_subdomains: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            allow_tls12: false,
            reload_interval_ms: 10_000,
            hsts_max_age_s: 31_536_000,
            hsts_include_subdomains: true,
        }
    }
}

impl TlsConfig {
    /// The certificate and key files when TLS is on, `None` when it is off.
    ///
    /// # Errors
    /// [`TlsError::Incomplete`] when only one of the two files is set.
    pub fn files(&self) -> Result<Option<(&Path, &Path)>, TlsError> {
        match (&self.cert_file, &self.key_file) {
            (Some(c), Some(k)) => Ok(Some((c.as_path(), k.as_path()))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(TlsError::Incomplete {
                set: "cert_file",
                unset: "key_file",
            }),
            (None, Some(_)) => Err(TlsError::Incomplete {
                set: "key_file",
                unset: "cert_file",
            }),
        }
    }

    /// Whether TLS is on (both files set).
    ///
    /// # Errors
    /// [`TlsError::Incomplete`] when only one of the two files is set.
    pub fn enabled(&self) -> Result<bool, TlsError> {
        Ok(self.files()?.is_some())
    }

    /// The `Strict-Transport-Security` value (RFC 6797 §6.1): `max-age=N` (seconds), then
    /// `; includeSubDomains` when configured.
    pub fn hsts_value(&self) -> String {
        let mut v = format!("max-age={}", self.hsts_max_age_s);
        if self.hsts_include_subdomains {
            v.push_str("; includeSubDomains");
        }
        v
    }
}

/// Why a certificate/key pair could not be loaded. Messages name the file and what is wrong
/// with it; they never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only one of `cert_file` and `key_file` is set.
    #[error(
        "http.tls.{set} is set but http.tls.{unset} is not: TLS needs both files (or neither, for plain HTTP)"
    )]
    Incomplete {
        /// The key that is set.
        set: &'static str,
        /// The key that is missing.
        unset: &'static str,
    },
    /// [`load`] was called with neither file set.
    #[error("TLS is not configured: http.tls.cert_file and http.tls.key_file are unset")]
    NotConfigured,
    /// A file could not be read (missing, unreadable).
    #[error("TLS {kind} file {}: cannot read it: {error}", .path.display())]
    Read {
        /// `certificate` or `key`.
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A file is not well-formed PEM.
    #[error("TLS {kind} file {}: invalid PEM: {problem}", .path.display())]
    Pem {
        /// `certificate` or `key`.
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong (no file content is quoted).
        problem: &'static str,
    },
    /// The certificate file holds no certificate.
    #[error(
        "TLS certificate file {}: no certificate in it (expected PEM `BEGIN CERTIFICATE` blocks)",
        .path.display()
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The first certificate of the chain cannot be parsed.
    #[error("TLS certificate file {}: invalid certificate: {reason}", .path.display())]
    InvalidCertificate {
        /// The file.
        path: PathBuf,
        /// rustls' reason.
        reason: String,
    },
    /// The key file holds no private key.
    #[error(
        "TLS key file {}: no private key in it (expected an unencrypted PEM PKCS#8, SEC1 or PKCS#1 key)",
        .path.display()
    )]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The key cannot be used for signing (unsupported algorithm, malformed DER).
    #[error("TLS key file {}: invalid private key: {reason}", .path.display())]
    InvalidKey {
        /// The file.
        path: PathBuf,
        /// rustls' reason (it does not quote the key).
        reason: String,
    },
    /// The key is not the one of the certificate (their public keys differ).
    #[error(
        "TLS key file {} does not match the certificate in {} (their public keys differ)",
        .key.display(), .cert.display()
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the configuration (protocol versions).
    #[error("building the TLS configuration: {0}")]
    Config(#[source] rustls::Error),
}

/// The server's certificate, swapped in place by the [`Reloader`]: every new handshake gets the
/// [`CertifiedKey`] current at that moment. It holds exactly one.
#[derive(Debug)]
pub struct CertResolver {
    current: ArcSwap<CertifiedKey>,
}

impl CertResolver {
    /// A resolver serving `key`.
    pub fn new(key: Arc<CertifiedKey>) -> Self {
        Self {
            current: ArcSwap::new(key),
        }
    }

    /// The certificate and key new handshakes get.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.load_full()
    }

    /// Replaces the served certificate and key; the previous one is released once the
    /// handshakes using it are done.
    pub fn replace(&self, key: Arc<CertifiedKey>) {
        self.current.store(key);
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The ring provider, the only one in this build.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the listener's TLS configuration from `cfg` and the [`Reloader`] that keeps its
/// certificate current.
///
/// The configuration uses the `ring` provider, TLS 1.3 (RFC 8446) only, plus TLS 1.2 (RFC 5246)
/// when `allow_tls12` is on (logged as a warning); no client authentication; ALPN `http/1.1`
/// (RFC 7301; this build has no HTTP/2).
///
/// # Errors
/// [`TlsError::NotConfigured`] / [`TlsError::Incomplete`] when the files are not both set, and
/// the errors of reading and validating the pair (see [`TlsError`]).
pub fn load(cfg: &TlsConfig) -> Result<(rustls::ServerConfig, Reloader), TlsError> {
    let (cert_file, key_file) = cfg.files()?.ok_or(TlsError::NotConfigured)?;
    let provider = provider();
    let stamps = (stamp(cert_file), stamp(key_file));
    let key = load_pair(cert_file, key_file, &provider)?;
    let resolver = Arc::new(CertResolver::new(Arc::new(key)));
    let versions: &[&'static rustls::SupportedProtocolVersion] = if cfg.allow_tls12 {
        tracing::warn!(
            "http.tls.allow_tls12 is on: TLS 1.2 clients are accepted (TLS 1.3 is preferred)"
        );
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    let reloader = Reloader {
        resolver,
        provider,
        cert_file: cert_file.to_path_buf(),
        key_file: key_file.to_path_buf(),
        interval: Duration::from_millis(cfg.reload_interval_ms),
        stamps,
    };
    Ok((server, reloader))
}

/// Reads and validates a certificate chain and its key: at least one certificate, one private
/// key the provider can sign with, and the key matching the first certificate.
///
/// # Errors
/// See [`TlsError`].
pub fn load_pair(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let cert_pem = std::fs::read(cert_file).map_err(|error| TlsError::Read {
        kind: "certificate",
        path: cert_file.to_path_buf(),
        error,
    })?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error("certificate", cert_file, &e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert_file.to_path_buf(),
        });
    }
    let key_pem = std::fs::read(key_file).map_err(|error| TlsError::Read {
        kind: "key",
        path: key_file.to_path_buf(),
        error,
    })?;
    let key_der = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(k) => k,
        Err(rustls_pki_types::pem::Error::NoItemsFound) => {
            return Err(TlsError::NoKey {
                path: key_file.to_path_buf(),
            });
        }
        Err(e) => return Err(pem_error("key", key_file, &e)),
    };
    drop(key_pem);
    let signing_key = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| TlsError::InvalidKey {
            path: key_file.to_path_buf(),
            reason: e.to_string(),
        })?;
    let key = CertifiedKey::new(chain, signing_key);
    match key.keys_match() {
        Ok(()) => Ok(key),
        // The key cannot tell its public key: nothing to compare, as rustls' own `from_der`.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            tracing::debug!(key = %key_file.display(), "TLS key: no public key to compare with the certificate");
            Ok(key)
        }
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::KeyMismatch {
            cert: cert_file.to_path_buf(),
            key: key_file.to_path_buf(),
        }),
        Err(e) => Err(TlsError::InvalidCertificate {
            path: cert_file.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// Describes a PEM error without quoting the file (its lines may be key material).
fn pem_error(kind: &'static str, path: &Path, e: &rustls_pki_types::pem::Error) -> TlsError {
    use rustls_pki_types::pem::Error as E;
    let problem = match e {
        E::MissingSectionEnd { .. } => "a section has no END line",
        E::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        E::Base64Decode(_) => "a section is not valid base64",
        E::NoItemsFound => "no PEM section of the expected type",
        E::SectionTooLarge => "a section is larger than 256 MB",
        _ => "unreadable PEM",
    };
    TlsError::Pem {
        kind,
        path: path.to_path_buf(),
        problem,
    }
}

/// What tells a file changed: modification time, size (and, on Unix, the inode, for files
/// replaced by a rename). `None` while the file cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    ino: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: m.modified().ok(),
        len: m.len(),
        #[cfg(unix)]
        ino: std::os::unix::fs::MetadataExt::ino(&m),
    })
}

/// Keeps the served certificate current: every `reload_interval_ms` it compares the files'
/// modification time and size with the last seen; on a change it loads and validates the new
/// pair ([`load_pair`]) and swaps it into the [`CertResolver`]. A pair that fails is logged
/// (`warn`, with the reason) and the previous one keeps serving; it is tried again when a file
/// changes again. It holds only the current key (in the resolver).
#[derive(Debug)]
pub struct Reloader {
    resolver: Arc<CertResolver>,
    provider: Arc<CryptoProvider>,
    cert_file: PathBuf,
    key_file: PathBuf,
    interval: Duration,
    stamps: (Option<Stamp>, Option<Stamp>),
}

impl Reloader {
    /// The resolver it updates.
    pub fn resolver(&self) -> &Arc<CertResolver> {
        &self.resolver
    }

    /// Checks the files once: `Ok(true)` when a changed pair was loaded and swapped in,
    /// `Ok(false)` when nothing changed.
    ///
    /// # Errors
    /// The changed pair is invalid ([`TlsError`]); the previous one still serves.
    pub fn check(&mut self) -> Result<bool, TlsError> {
        // Stamps first, contents after: a write racing with the read shows as a new stamp at the
        // next check, which then reads the file again.
        let now = (stamp(&self.cert_file), stamp(&self.key_file));
        if now == self.stamps {
            return Ok(false);
        }
        self.stamps = now;
        let key = load_pair(&self.cert_file, &self.key_file, &self.provider)?;
        self.resolver.replace(Arc::new(key));
        Ok(true)
    }

    /// Polls the files until the task is dropped or aborted; returns at once when reloading is
    /// off (`reload_interval_ms = 0`). Spawn it on the server's runtime.
    pub async fn run(mut self) {
        if self.interval.is_zero() {
            tracing::info!("TLS certificate reloading is off (http.tls.reload_interval_ms = 0)");
            return;
        }
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match self.check() {
                Ok(false) => {}
                Ok(true) => tracing::info!(
                    cert_file = %self.cert_file.display(),
                    key_file = %self.key_file.display(),
                    chain_len = self.resolver.current().cert.len(),
                    "TLS certificate reloaded: new handshakes use it"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    "TLS certificate reload refused; the previous certificate keeps serving"
                ),
            }
        }
    }
}

/// Middleware adding `Strict-Transport-Security` (RFC 6797) to every response, error responses
/// included, when TLS is on; a no-op when it is off (HSTS over plain HTTP is ignored by
/// browsers, RFC 6797 §7.2, and would only mislead).
#[derive(Debug, Clone)]
pub struct Hsts {
    value: Option<HeaderValue>,
}

impl Hsts {
    /// The header of `cfg` ([`TlsConfig::hsts_value`]) when `tls_on`, nothing otherwise.
    pub fn new(cfg: &TlsConfig, tls_on: bool) -> Self {
        Self {
            value: tls_on
                .then(|| HeaderValue::from_str(&cfg.hsts_value()).ok())
                .flatten(),
        }
    }

    /// The header value added, if any.
    pub fn value(&self) -> Option<&HeaderValue> {
        self.value.as_ref()
    }
}

impl<S, B> Transform<S, ServiceRequest> for Hsts
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = HstsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(HstsMiddleware {
            service,
            value: self.value.clone(),
        }))
    }
}

/// The service [`Hsts`] wraps around the application.
#[derive(Debug)]
pub struct HstsMiddleware<S> {
    service: S,
    value: Option<HeaderValue>,
}

type BoxedResponse<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

impl<S, B> Service<ServiceRequest> for HstsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = BoxedResponse<B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let fut = self.service.call(req);
        let Some(value) = self.value.clone() else {
            return Box::pin(fut);
        };
        Box::pin(async move {
            match fut.await {
                Ok(mut res) => {
                    res.headers_mut().insert(STRICT_TRANSPORT_SECURITY, value);
                    Ok(res)
                }
                // An error from an inner middleware becomes its response in the server: wrapped,
                // that response gets the header too.
                Err(error) => Err(WithHsts { error, value }.into()),
            }
        })
    }
}

/// An error whose response carries `Strict-Transport-Security`, otherwise the inner error's.
#[derive(Debug)]
struct WithHsts {
    error: actix_web::Error,
    value: HeaderValue,
}

impl std::fmt::Display for WithHsts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

impl ResponseError for WithHsts {
    fn status_code(&self) -> StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut res = self.error.error_response();
        res.headers_mut()
            .insert(STRICT_TRANSPORT_SECURITY, self.value.clone());
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir(name: &str) -> Dir {
        let d =
            std::env::temp_dir().join(format!("rampart-tls-unit-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    /// A self-signed certificate for `localhost`: (certificate PEM, key PEM).
    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn cfg(d: &Dir, cert: &str, key: &str) -> TlsConfig {
        let (c, k) = (d.0.join("cert.pem"), d.0.join("key.pem"));
        std::fs::write(&c, cert).unwrap();
        std::fs::write(&k, key).unwrap();
        TlsConfig {
            cert_file: Some(c),
            key_file: Some(k),
            ..TlsConfig::default()
        }
    }

    #[test]
    fn one_file_without_the_other_is_refused() {
        let c = TlsConfig {
            cert_file: Some("c.pem".into()),
            ..TlsConfig::default()
        };
        let e = c.enabled().unwrap_err().to_string();
        assert!(e.contains("http.tls.key_file is not"), "{e}");
        assert!(!TlsConfig::default().enabled().unwrap());
    }

    #[test]
    fn hsts_value_follows_the_config() {
        let mut c = TlsConfig::default();
        assert_eq!(c.hsts_value(), "max-age=31536000; includeSubDomains");
        c.hsts_include_subdomains = false;
        c.hsts_max_age_s = 60;
        assert_eq!(c.hsts_value(), "max-age=60");
        assert!(Hsts::new(&c, false).value().is_none());
        assert_eq!(Hsts::new(&c, true).value().unwrap(), "max-age=60");
    }

    #[test]
    fn a_valid_pair_loads_tls13_only_by_default() {
        let d = dir("valid");
        let (cert, key) = self_signed();
        let (server, _reloader) = load(&cfg(&d, &cert, &key)).unwrap();
        assert_eq!(server.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn errors_name_the_file_and_never_the_key() {
        let d = dir("errors");
        let (cert, key) = self_signed();
        let (_, other_key) = self_signed();
        let secret_line = key.lines().nth(1).unwrap().to_owned();

        let mut c = cfg(&d, &cert, &other_key);
        let e = load(&c).unwrap_err();
        assert!(matches!(e, TlsError::KeyMismatch { .. }), "{e}");
        assert!(e.to_string().contains("key.pem does not match"), "{e}");

        std::fs::write(c.key_file.as_ref().unwrap(), &cert).unwrap();
        let e = load(&c).unwrap_err().to_string();
        assert!(e.contains("key.pem: no private key"), "{e}");

        std::fs::write(c.cert_file.as_ref().unwrap(), &key).unwrap();
        let e = load(&c).unwrap_err().to_string();
        assert!(e.contains("cert.pem: no certificate"), "{e}");

        // A truncated key: the PEM error must not quote it.
        std::fs::write(c.cert_file.as_ref().unwrap(), &cert).unwrap();
        let truncated = key.lines().take(2).collect::<Vec<_>>().join("\n");
        std::fs::write(c.key_file.as_ref().unwrap(), truncated).unwrap();
        let e = format!("{:?} {}", load(&c).unwrap_err(), load(&c).unwrap_err());
        assert!(e.contains("key.pem"), "{e}");
        assert!(!e.contains(&secret_line), "key material in the error: {e}");

        c.key_file = Some(d.0.join("missing.pem"));
        let e = load(&c).unwrap_err().to_string();
        assert!(e.contains("missing.pem: cannot read it"), "{e}");
    }

    /// Replaces `path` by a rename, as a deployment tool would (a new inode: the change shows
    /// even within the file system's timestamp granularity).
    fn replace(path: &Path, content: &str) {
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, content).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    #[test]
    fn check_swaps_a_changed_pair_and_keeps_the_old_one_on_error() {
        let d = dir("reload");
        let (cert, key) = self_signed();
        let c = cfg(&d, &cert, &key);
        let (_server, mut reloader) = load(&c).unwrap();
        let first = reloader.resolver().current();
        assert!(!reloader.check().unwrap());

        let (_, other_key) = self_signed();
        replace(c.key_file.as_ref().unwrap(), &other_key);
        assert!(matches!(
            reloader.check(),
            Err(TlsError::KeyMismatch { .. })
        ));
        assert!(Arc::ptr_eq(&first, &reloader.resolver().current()));
        // Not retried until a file changes again.
        assert!(!reloader.check().unwrap());

        let (cert2, key2) = self_signed();
        replace(c.cert_file.as_ref().unwrap(), &cert2);
        replace(c.key_file.as_ref().unwrap(), &key2);
        assert!(reloader.check().unwrap());
        let now = reloader.resolver().current();
        assert_ne!(now.cert[0], first.cert[0]);
    }

    #[actix_web::test]
    async fn hsts_is_on_every_response_while_tls_is_on() {
        use actix_web::{App, test, web};
        let cfg = TlsConfig::default();
        for tls_on in [true, false] {
            let app = test::init_service(
                App::new()
                    // An inner middleware failing (actix: the last `wrap` is the outermost):
                    // its error becomes a response outside.
                    .wrap_fn(|req, srv| {
                        let fail = req.path() == "/fail";
                        let fut = srv.call(req);
                        async move {
                            if fail {
                                Err(actix_web::error::ErrorForbidden("no"))
                            } else {
                                fut.await
                            }
                        }
                    })
                    .wrap(Hsts::new(&cfg, tls_on))
                    .route("/ok", web::get().to(HttpResponse::Ok)),
            )
            .await;
            for (path, status) in [("/ok", 200), ("/missing", 404), ("/fail", 403)] {
                let res = match test::try_call_service(
                    &app,
                    test::TestRequest::get().uri(path).to_request(),
                )
                .await
                {
                    Ok(res) => res.into_parts().1.map_into_boxed_body(),
                    Err(e) => e.error_response(),
                };
                assert_eq!(res.status().as_u16(), status, "{path}");
                let hsts = res.headers().get(STRICT_TRANSPORT_SECURITY);
                if tls_on {
                    assert_eq!(
                        hsts.map(|v| v.to_str().unwrap_or_default()),
                        Some("max-age=31536000; includeSubDomains"),
                        "{path}"
                    );
                } else {
                    assert!(hsts.is_none(), "{path}: {hsts:?}");
                }
            }
        }
    }
}
