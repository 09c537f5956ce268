//! Helpers of the end-to-end tests: run the real `rampart` binary, talk HTTP to it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Real data shipped beside the project (../shared/data).
pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel)
}

/// A running node process; killed (and its SQLite folder removed) on drop.
pub struct NodeProc {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
}

impl NodeProc {
    /// `base + /api/v1 + path`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The test clients every node started here accepts (from a clients file): `test-<role>` for
/// each role, with a secret fixed for this test process (so nodes sharing a database agree).
pub fn test_secret(role: &str) -> String {
    format!("rps_test_{role}_{}", std::process::id())
}

fn write_clients_file(dir: &std::path::Path) -> PathBuf {
    let mut text = String::new();
    for role in rampart::auth::rbac::ROLES {
        text.push_str(&format!(
            "[[clients]]\nclient_id = \"test-{role}\"\nsecret_sha256 = \"{}\"\nroles = [\"{role}\"]\n\n",
            rampart::auth::clients::hash_secret(&test_secret(role))
        ));
    }
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("clients.toml");
    std::fs::write(&path, text).unwrap();
    path
}

static TOKENS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// A token for `test-<role>` from the node at `base` (client credentials, Basic auth).
pub async fn token_for(base: &str, role: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .basic_auth(format!("test-{role}"), Some(test_secret(role)))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token endpoint reachable");
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "token for {role} from {base}: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// The admin token of the node whose base URL `url` starts with (set when it started).
pub fn admin_token(url: &str) -> Option<String> {
    TOKENS
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(base, _)| url.starts_with(base.as_str()))
        .map(|(_, t)| t.clone())
}

/// An HTTP client whose requests carry the admin token of the node they go to.
#[derive(Clone, Default)]
pub struct Client(reqwest::Client);

impl Client {
    fn with(&self, rb: reqwest::RequestBuilder, url: &str) -> reqwest::RequestBuilder {
        match admin_token(url) {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }
    pub fn get(&self, url: impl AsRef<str>) -> reqwest::RequestBuilder {
        let url = url.as_ref();
        self.with(self.0.get(url), url)
    }
    pub fn post(&self, url: impl AsRef<str>) -> reqwest::RequestBuilder {
        let url = url.as_ref();
        self.with(self.0.post(url), url)
    }
    pub fn put(&self, url: impl AsRef<str>) -> reqwest::RequestBuilder {
        let url = url.as_ref();
        self.with(self.0.put(url), url)
    }
    pub fn delete(&self, url: impl AsRef<str>) -> reqwest::RequestBuilder {
        let url = url.as_ref();
        self.with(self.0.delete(url), url)
    }
}

/// [`Client`] (authenticated as the node's test admin).
pub fn client() -> Client {
    Client::default()
}

/// `GET url` as the node's test admin.
pub async fn get(url: impl AsRef<str>) -> reqwest::Result<reqwest::Response> {
    client().get(url).send().await
}

/// Starts a node with `envs` (database: a fresh SQLite file unless `RAMPART_DATABASE__URL` is
/// among `envs`; clients: the test clients of [`test_secret`]) and waits until `/readyz`
/// answers 200, then gets the admin token its requests through [`client`] carry.
pub async fn start_node(envs: &[(&str, &str)]) -> NodeProc {
    start_node_args("test-node", &[], envs).await
}

/// [`start_node`] with a node id and extra `serve` arguments (`--services`, `--amqp-url`).
pub async fn start_node_args(node_id: &str, args: &[&str], envs: &[(&str, &str)]) -> NodeProc {
    start_node_at(free_port(), node_id, args, envs).await
}

/// [`start_node_args`] listening on `port` (a test that must know the node's address before it
/// starts: an identity provider's registered redirect URI).
pub async fn start_node_at(
    port: u16,
    node_id: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> NodeProc {
    let data_dir = std::env::temp_dir().join(format!("rampart-e2e-{}-{port}", std::process::id()));
    let db = format!("sqlite://{}/rampart.sqlite", data_dir.display());
    let clients = write_clients_file(&data_dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--node-id")
        .arg(node_id)
        .args(args)
        .env("RAMPART_LOG", "warn")
        // Injected panics print their message, not a backtrace.
        .env("RUST_BACKTRACE", "0")
        .env("RAMPART_DATABASE__URL", &db)
        .env("RAMPART_NODE__DATA_DIR", &data_dir)
        .env("RAMPART_AUTH__CLIENTS_FILE", &clients)
        .env("RAMPART_AUTH__TOKEN_TTL_S", "3600")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let node = NodeProc {
        child: cmd.spawn().expect("spawn rampart"),
        base: format!("http://127.0.0.1:{port}"),
        data_dir,
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", node.base)).send().await
            && r.status().is_success()
        {
            let auth_off = envs
                .iter()
                .any(|(k, v)| *k == "RAMPART_AUTH__ENABLED" && *v == "false");
            if !auth_off {
                let t = token_for(&node.base, "admin").await;
                TOKENS.lock().unwrap().push((node.base.clone(), t));
            }
            return node;
        }
        assert!(Instant::now() < deadline, "node did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn get_json(url: &str) -> (u16, Value) {
    let r = get(url).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// POSTs `body` with `content_type`; returns status, content type and JSON body.
pub async fn post(url: &str, content_type: Option<&str>, body: Vec<u8>) -> (u16, String, Value) {
    let mut req = client().post(url).body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ct, r.json().await.unwrap_or(Value::Null))
}

/// Polls `GET /jobs/{id}` until it is finished (at most `limit`); returns the job.
pub async fn wait_job(node: &NodeProc, id: &str, limit: Duration) -> Value {
    let end = Instant::now() + limit;
    loop {
        let (status, job) = get_json(&node.api(&format!("/jobs/{id}"))).await;
        assert_eq!(status, 200, "{job}");
        if job["state"] == "succeeded" || job["state"] == "failed" {
            return job;
        }
        assert!(
            Instant::now() < end,
            "job {id} unfinished after {limit:?}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// POSTs a file as a job and waits for it; returns the finished job.
pub async fn run_job(node: &NodeProc, path: &str, content_type: &str, body: Vec<u8>) -> Value {
    let (status, _, accepted) = post(&node.api(path), Some(content_type), body).await;
    assert_eq!(status, 202, "{path}: {accepted}");
    let id = accepted["job_id"].as_str().expect("job id").to_owned();
    wait_job(node, &id, Duration::from_secs(120)).await
}

pub async fn wait_for(limit: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
pub mod oidc;

/// The `rampart` binary as a CLI client of the test nodes, authenticated as `test-<role>`
/// through `RAMPART_CLIENT_ID` / `RAMPART_CLIENT_SECRET`.
pub fn cli(role: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rampart"));
    c.env("RAMPART_CLIENT_ID", format!("test-{role}"))
        .env("RAMPART_CLIENT_SECRET", test_secret(role));
    c
}

/// `v` written the way a `RAMPART_*` variable carries a structured value (figment's inline
/// syntax: `[{name = "x", n = 1}]`); object keys must be bare words.
pub fn env_value(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k} = {}", env_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(env_value).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}
