//! TLS on the HTTP listener, end to end against the real binary: TLS 1.3 only unless
//! `allow_tls12`, `Strict-Transport-Security` while TLS is on, certificates reloaded from their
//! files while the node runs (keep-alive connections survive), invalid replacements refused, a
//! missing key file stopping the node with a message naming it.
//!
//! Certificates are made here with rcgen (ring); handshakes are raw tokio-rustls connections
//! with session resumption off, so every connection is a full handshake that shows the
//! certificate currently served. Only the open probes (`/livez`, `/readyz`) are requested.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{NodeProc, free_port};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, SupportedProtocolVersion};

const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The test CA.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
}

/// A server certificate issued by [`Ca`], with its key.
struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Rampart test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let der = params.self_signed(&key).unwrap().der().clone();
        Self { params, key, der }
    }

    /// A certificate for `localhost` / 127.0.0.1 with this serial and common name.
    fn issue(&self, serial: u64, common_name: &str) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.serial_number = Some(SerialNumber::from(serial));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }

    /// A client trusting this CA, limited to `versions`, without session resumption.
    fn client(&self, versions: &[&'static SupportedProtocolVersion]) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let mut cfg =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(versions)
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        cfg.resumption = rustls::client::Resumption::disabled();
        TlsConnector::from(Arc::new(cfg))
    }

    fn tls13(&self) -> TlsConnector {
        self.client(&[&rustls::version::TLS13])
    }

    fn tls12(&self) -> TlsConnector {
        self.client(&[&rustls::version::TLS12])
    }
}

/// The node's certificate and key files, in a folder removed on drop.
struct Files {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn new(leaf: &Leaf) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "rampart-tls-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let files = Self {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir,
        };
        files.write(leaf);
        files
    }

    /// Overwrites both files in place (key first, then certificate, as `cp` would).
    fn write(&self, leaf: &Leaf) {
        std::fs::write(&self.key, &leaf.key_pem).unwrap();
        std::fs::write(&self.cert, &leaf.cert_pem).unwrap();
    }

    fn envs(&self) -> Vec<(String, String)> {
        vec![
            (
                "RAMPART_HTTP__TLS__CERT_FILE".to_owned(),
                self.cert.display().to_string(),
            ),
            (
                "RAMPART_HTTP__TLS__KEY_FILE".to_owned(),
                self.key.display().to_string(),
            ),
        ]
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A node process whose output (logs on stdout, errors on stderr) is collected (and echoed).
struct TlsNode {
    proc: NodeProc,
    port: u16,
    output: Arc<Mutex<String>>,
}

impl TlsNode {
    /// Starts `rampart serve` with `envs` (a fresh SQLite database) without waiting.
    fn spawn(envs: &[(String, String)]) -> Self {
        let port = free_port();
        let data_dir =
            std::env::temp_dir().join(format!("rampart-e2e-tls-{}-{port}", std::process::id()));
        let db = format!("sqlite://{}/rampart.sqlite", data_dir.display());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--node-id")
            .arg("tls-node")
            .env("RAMPART_LOG", "warn,rampart::tls=info,rampart::node=info")
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "0")
            .env("RAMPART_DATABASE__URL", &db)
            .env("RAMPART_NODE__DATA_DIR", &data_dir)
            .env("RAMPART_HTTP__WORKERS", "1")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn rampart");
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), &output);
        collect(child.stderr.take().unwrap(), &output);
        Self {
            proc: NodeProc {
                child,
                base: format!("https://localhost:{port}"),
                data_dir,
            },
            port,
            output,
        }
    }

    /// [`TlsNode::spawn`], then waits until `GET /readyz` over TLS 1.3 answers 200.
    async fn start(ca: &Ca, envs: &[(String, String)]) -> Self {
        let mut node = Self::spawn(envs);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut s) = node.connect(&ca.tls13()).await
                && let Ok(r) = get(&mut s, "/readyz").await
                && r.status == 200
            {
                return node;
            }
            if let Ok(Some(status)) = node.exited() {
                panic!("node exited ({status}) before ready:\n{}", node.output());
            }
            assert!(
                Instant::now() < deadline,
                "node not ready over TLS within 60 s:\n{}",
                node.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn exited(&mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        self.proc.child.try_wait()
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    async fn connect(&self, connector: &TlsConnector) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await?;
        let name = ServerName::try_from("localhost").unwrap();
        tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
            .await
            .map_err(|_| std::io::Error::other("TLS handshake timed out"))?
    }

    /// Waits until the output contains every one of `needles` (at most `limit`).
    async fn wait_output(&self, needles: &[&str], limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            let out = self.output();
            if needles.iter().all(|n| out.contains(n)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

fn collect(stream: impl Read + Send + 'static, into: &Arc<Mutex<String>>) {
    let into = into.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            eprintln!("[node] {line}");
            let mut out = into.lock().unwrap();
            out.push_str(&line);
            out.push('\n');
        }
    });
}

/// The end-entity certificate the server presented on `s`.
fn peer_cert(s: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    s.get_ref()
        .1
        .peer_certificates()
        .expect("server certificates")[0]
        .clone()
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` on a kept-alive HTTP/1.1 connection; reads exactly one response.
async fn get(s: &mut TlsStream<TcpStream>, path: &str) -> std::io::Result<Response> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    s.flush().await?;
    tokio::time::timeout(Duration::from_secs(10), read_response(s))
        .await
        .map_err(|_| std::io::Error::other("no response within 10 s"))?
}

async fn read_response(s: &mut TlsStream<TcpStream>) -> std::io::Result<Response> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let response = Response { status, headers };
    let mut body = buf[head_end..].to_vec();
    if let Some(len) = response.header("content-length") {
        let len: usize = len.parse().map_err(std::io::Error::other)?;
        while body.len() < len {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if response
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        // Enough of chunked coding for small bodies: read until the last chunk.
        while !body.ends_with(b"0\r\n\r\n") {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Ok(response)
}

fn envs(files: &Files, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut e = files.envs();
    e.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    e
}

#[tokio::test]
async fn tls13_serves_the_api_with_hsts_and_plain_http_has_none() {
    let ca = Ca::new();
    let leaf = ca.issue(1, "rampart-node-a");
    let files = Files::new(&leaf);
    let node = TlsNode::start(&ca, &files.envs()).await;
    assert!(node.proc.base.starts_with("https://"));

    let mut s = node.connect(&ca.tls13()).await.expect("TLS 1.3 handshake");
    let conn = &s.get_ref().1;
    assert_eq!(
        conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(peer_cert(&s), leaf.der);
    let r = get(&mut s, "/livez").await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("strict-transport-security"), Some(HSTS));
    // Every response, a refusal included.
    let r = get(&mut s, "/api/v1/assets").await.unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.header("strict-transport-security"), Some(HSTS));
    let out = node.output();
    assert!(
        out.lines()
            .any(|l| l.contains("serving") && l.contains("tls=true")),
        "{out}"
    );

    // Without TLS: plain HTTP, no HSTS.
    let plain = common::start_node(&[]).await;
    let r = reqwest::get(format!("{}/livez", plain.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn tls12_is_refused_unless_allowed() {
    let ca = Ca::new();
    let files = Files::new(&ca.issue(1, "rampart-node-a"));
    let (strict_envs, lenient_envs) = (
        files.envs(),
        envs(&files, &[("RAMPART_HTTP__TLS__ALLOW_TLS12", "true")]),
    );
    let (strict, lenient) = tokio::join!(
        TlsNode::start(&ca, &strict_envs),
        TlsNode::start(&ca, &lenient_envs),
    );

    let Err(err) = strict.connect(&ca.tls12()).await else {
        panic!("a TLS 1.2-only client must be refused by default");
    };
    eprintln!("TLS 1.2 refused: {err}");

    let mut s = lenient
        .connect(&ca.tls12())
        .await
        .expect("TLS 1.2 accepted with allow_tls12");
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    let r = get(&mut s, "/livez").await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("strict-transport-security"), Some(HSTS));
    // TLS 1.3 is still preferred there.
    let s = lenient.connect(&ca.tls13()).await.unwrap();
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert!(
        lenient
            .wait_output(&["allow_tls12 is on"], Duration::from_secs(5))
            .await,
        "the TLS 1.2 warning is logged:\n{}",
        lenient.output()
    );
}

#[tokio::test]
async fn a_replaced_certificate_is_served_without_a_restart_and_old_connections_stay() {
    let ca = Ca::new();
    let first = ca.issue(1, "rampart-node-a");
    let second = ca.issue(2, "rampart-node-b");
    let files = Files::new(&first);
    let node = TlsNode::start(
        &ca,
        &envs(&files, &[("RAMPART_HTTP__TLS__RELOAD_INTERVAL_MS", "200")]),
    )
    .await;

    let mut old = node.connect(&ca.tls13()).await.unwrap();
    assert_eq!(peer_cert(&old), first.der);
    assert_eq!(get(&mut old, "/livez").await.unwrap().status, 200);

    files.write(&second);
    let started = Instant::now();
    let mut seen = false;
    while started.elapsed() < Duration::from_secs(10) {
        let s = node.connect(&ca.tls13()).await.unwrap();
        if peer_cert(&s) == second.der {
            seen = true;
            break;
        }
        assert_eq!(peer_cert(&s), first.der, "neither certificate served");
        // The kept-alive connection answers all along (and stays within keep-alive).
        assert_eq!(get(&mut old, "/livez").await.unwrap().status, 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen,
        "new handshakes still get the old certificate after 10 s:\n{}",
        node.output()
    );
    eprintln!("new certificate served after {:?}", started.elapsed());

    // The connection opened before the swap keeps its session and still answers.
    let r = get(&mut old, "/livez")
        .await
        .expect("old keep-alive connection");
    assert_eq!(r.status, 200);
    assert_eq!(peer_cert(&old), first.der);
    let mut new = node.connect(&ca.tls13()).await.unwrap();
    assert_eq!(peer_cert(&new), second.der);
    assert_eq!(get(&mut new, "/livez").await.unwrap().status, 200);
    assert!(
        node.wait_output(&["TLS certificate reloaded"], Duration::from_secs(5))
            .await,
        "{}",
        node.output()
    );
}

#[tokio::test]
async fn a_key_not_matching_the_certificate_is_refused_and_the_old_pair_serves() {
    let ca = Ca::new();
    let first = ca.issue(1, "rampart-node-a");
    let files = Files::new(&first);
    let node = TlsNode::start(
        &ca,
        &envs(&files, &[("RAMPART_HTTP__TLS__RELOAD_INTERVAL_MS", "200")]),
    )
    .await;

    // Only the key changes: it no longer matches the certificate.
    let stranger = KeyPair::generate().unwrap().serialize_pem();
    std::fs::write(&files.key, &stranger).unwrap();
    let key_path = files.key.display().to_string();
    assert!(
        node.wait_output(
            &[
                "TLS certificate reload refused",
                "does not match",
                &key_path
            ],
            Duration::from_secs(10)
        )
        .await,
        "the refused reload is logged with its reason:\n{}",
        node.output()
    );
    let out = node.output();
    let secret = stranger.lines().nth(1).unwrap();
    assert!(!out.contains(secret), "key material in the log");

    let mut s = node.connect(&ca.tls13()).await.unwrap();
    assert_eq!(peer_cert(&s), first.der, "the previous certificate serves");
    assert_eq!(get(&mut s, "/livez").await.unwrap().status, 200);

    // A valid pair afterwards is taken.
    let second = ca.issue(2, "rampart-node-b");
    files.write(&second);
    let started = Instant::now();
    loop {
        let s = node.connect(&ca.tls13()).await.unwrap();
        if peer_cert(&s) == second.der {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the valid pair was not taken:\n{}",
            node.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the node to exit (at most 60 s); its exit status and output.
async fn exit_of(node: &mut TlsNode) -> (std::process::ExitStatus, String) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = node.exited().unwrap() {
            // Let the collectors drain the pipes.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return (status, node.output());
        }
        assert!(
            Instant::now() < end,
            "node still running:\n{}",
            node.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_missing_key_file_or_half_a_configuration_stops_the_node() {
    let ca = Ca::new();
    let files = Files::new(&ca.issue(1, "rampart-node-a"));
    let missing: PathBuf = files.dir.join("no-such-key.pem");
    let mut node = TlsNode::spawn(&[
        (
            "RAMPART_HTTP__TLS__CERT_FILE".to_owned(),
            files.cert.display().to_string(),
        ),
        (
            "RAMPART_HTTP__TLS__KEY_FILE".to_owned(),
            missing.display().to_string(),
        ),
    ]);
    let (status, out) = exit_of(&mut node).await;
    assert!(!status.success(), "{status}: {out}");
    assert!(
        out.contains(&missing.display().to_string()) && out.contains("cannot read"),
        "the message names the file:\n{out}"
    );

    let mut node = TlsNode::spawn(&[(
        "RAMPART_HTTP__TLS__CERT_FILE".to_owned(),
        files.cert.display().to_string(),
    )]);
    let (status, out) = exit_of(&mut node).await;
    assert!(!status.success(), "{status}: {out}");
    assert!(out.contains("http.tls.key_file"), "{out}");
}
