//! A real foreign OpenID Connect provider for the tests: `tests/oidc/provider.mjs` (panva's
//! OpenID-certified `oidc-provider` on Node.js), issuing RS256 JWT access tokens (`typ: at+jwt`,
//! `aud: rampart`, a `roles` claim) through the client-credentials grant.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

const NEEDS: &str =
    "the OIDC provider needs Node.js 20+ and `npm ci --prefix tests/oidc` (scripts/test runs it)";

/// A running `tests/oidc/provider.mjs`; killed on drop.
pub struct OidcProvider {
    child: Child,
    /// The 127.0.0.1 port it listens on.
    pub port: u16,
    /// Its issuer (`iss` of its tokens, base of its discovery document).
    pub issuer: String,
    /// What it printed on stderr so far (shown when it fails).
    stderr: Arc<Mutex<String>>,
}

impl OidcProvider {
    /// Starts a provider on a free port with `clients` as (client_id, secret, roles); the
    /// tokens' audience is `rampart` and the issuer `http://127.0.0.1:PORT`.
    pub async fn start(clients: &[(&str, &str, &[&str])]) -> OidcProvider {
        Self::start_with(clients, &[]).await
    }

    /// [`OidcProvider::start`] with extra environment for the provider (`ISSUER`, `AUDIENCE`).
    pub async fn start_with(
        clients: &[(&str, &str, &[&str])],
        envs: &[(&str, &str)],
    ) -> OidcProvider {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        check_node(dir);
        let clients: Vec<Value> = clients
            .iter()
            .map(|(id, secret, roles)| {
                serde_json::json!({ "client_id": id, "client_secret": secret, "roles": roles })
            })
            .collect();
        let port = super::free_port();
        let mut cmd = Command::new("node");
        cmd.arg("tests/oidc/provider.mjs")
            .current_dir(dir)
            .env("PORT", port.to_string())
            .env("CLIENTS", Value::Array(clients).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn node: {e}; {NEEDS}"));

        // Both pipes are drained to their end so the provider never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr");
        let err_buf = stderr.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                err_buf
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        let out_pipe = child.stdout.take().expect("stdout");
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<String>();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(issuer) = line.strip_prefix("READY ")
                    && let Some(tx) = ready_tx.take()
                {
                    let _ = tx.send(issuer.trim().to_owned());
                }
            }
        });

        let mut provider = OidcProvider {
            child,
            port,
            issuer: String::new(),
            stderr,
        };
        match tokio::time::timeout(Duration::from_secs(20), ready_rx).await {
            Ok(Ok(issuer)) => provider.issuer = issuer,
            Ok(Err(_)) => {
                // stdout closed without READY: the provider exited.
                let status = provider.child.wait().ok();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the OIDC provider exited before it was ready ({status:?}):\n{}",
                    provider.logs()
                );
            }
            Err(_) => {
                provider.stop();
                panic!(
                    "the OIDC provider was not ready after 20 s:\n{}",
                    provider.logs()
                );
            }
        }
        provider
    }

    /// `http://127.0.0.1:PORT`, where it is reached whatever its issuer says.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the provider printed on stderr so far.
    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// An access token for the client, by the client-credentials grant (client_secret_basic).
    pub async fn token(&self, client_id: &str, secret: &str) -> String {
        // RFC 6749 §2.3.1: both are form-urlencoded before they go into the Basic credentials.
        let r = reqwest::Client::new()
            .post(format!("{}/token", self.base()))
            .basic_auth(form_encode(client_id), Some(form_encode(secret)))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .expect("POST /token");
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        assert_eq!(status.as_u16(), 200, "token for {client_id}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token: {body}"))
            .to_owned()
    }

    /// Puts a new signing key first in the JWKS (the old ones stay); returns its kid.
    pub async fn rotate(&self) -> String {
        let r = reqwest::Client::new()
            .post(format!("{}/__control/rotate", self.base()))
            .send()
            .await
            .expect("POST /__control/rotate");
        assert!(r.status().is_success(), "rotate: {}", r.status());
        let v: Value = r.json().await.expect("rotate answer");
        v["kid"].as_str().expect("kid").to_owned()
    }

    /// Requests served since start: `{"jwks_requests", "discovery_requests", "token_requests"}`.
    pub async fn stats(&self) -> Value {
        let r = reqwest::get(format!("{}/__control/stats", self.base()))
            .await
            .expect("GET /__control/stats");
        assert!(r.status().is_success(), "stats: {}", r.status());
        r.json().await.expect("stats answer")
    }

    /// Kills the provider and waits for it; doing it again does nothing.
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for OidcProvider {
    /// [`OidcProvider::stop`].
    fn drop(&mut self) {
        self.stop();
    }
}

/// Panics with what to install unless Node.js 20+ and `tests/oidc/node_modules` are there.
fn check_node(dir: &Path) {
    let out = Command::new("node")
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("no `node` ({e}): {NEEDS}"));
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(major >= 20, "`node --version` says {version:?}: {NEEDS}");
    assert!(
        dir.join("tests/oidc/node_modules/oidc-provider").is_dir(),
        "tests/oidc/node_modules is missing: {NEEDS}"
    );
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
