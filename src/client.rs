//! Client subcommands: feed a running node from a shell (`rampart import`, `rampart intel`) and
//! read its risk register (`rampart risks`). They speak the node's HTTP API: upload the file,
//! get `202 Accepted` with a job id, poll `GET /api/v1/jobs/{id}` until the job has succeeded
//! or failed, print the job as JSON.
//!
//! Exit codes: 0 done (job succeeded, or accepted with `--no-wait`), 1 the job failed or did not
//! finish in time, 2 the request failed (unreachable node, 4xx/5xx answer, unreadable file).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Inventory formats of `rampart import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// CycloneDX JSON.
    Cyclonedx,
    /// SPDX JSON.
    Spdx,
    /// nmap XML.
    Nmap,
    /// CSV.
    Csv,
    /// Google Workspace Directory JSON (exported list answers).
    GoogleWorkspace,
    /// AWS Config configuration items (a snapshot, history file, notification or API answer).
    AwsConfig,
}

impl ImportFormat {
    /// Query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cyclonedx => "cyclonedx",
            Self::Spdx => "spdx",
            Self::Nmap => "nmap",
            Self::Csv => "csv",
            Self::GoogleWorkspace => "google_workspace",
            Self::AwsConfig => "aws_config",
        }
    }

    /// Content type sent.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Cyclonedx | Self::Spdx | Self::GoogleWorkspace | Self::AwsConfig => {
                "application/json"
            }
            Self::Nmap => "application/xml",
            Self::Csv => "text/csv",
        }
    }
}

/// Feed kinds of `rampart intel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FeedKind {
    /// CISA Known Exploited Vulnerabilities JSON.
    Kev,
    /// OSV JSON (record or array) or an ecosystem's `all.zip`.
    Osv,
    /// NVD CVE API 2.0 JSON.
    Nvd,
    /// FIRST EPSS scores (CSV).
    Epss,
}

impl FeedKind {
    /// Path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kev => "kev",
            Self::Osv => "osv",
            Self::Nvd => "nvd",
            Self::Epss => "epss",
        }
    }
}

/// Content type of a feed file: `application/zip` for `*.zip`, `text/csv` for `*.csv`, else
/// JSON.
pub fn feed_content_type(file: &Path) -> &'static str {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("zip") => "application/zip",
        Some("csv") => "text/csv",
        _ => "application/json",
    }
}

/// OAuth client credentials of the CLI: flags, else the environment, else the bootstrap
/// admin's credentials file. The secret is read from a file or the environment, never a flag
/// (a flag is visible to every user in the process list).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Credentials {
    /// OAuth client id (else `client_id` of the credentials file).
    #[arg(long, env = "RAMPART_CLIENT_ID")]
    pub client_id: Option<String>,
    /// File holding the client secret (else `RAMPART_CLIENT_SECRET`, else the credentials file).
    #[arg(long, env = "RAMPART_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// A JSON file with `client_id` and `client_secret`, as the first start writes it.
    #[arg(
        long,
        env = "RAMPART_CREDENTIALS_FILE",
        default_value = "data/admin-credentials.json"
    )]
    pub credentials_file: PathBuf,
}

impl Credentials {
    /// `(client_id, secret)` if any source gives both.
    ///
    /// # Errors
    /// An unreadable secret file, or a credentials file that is not JSON.
    fn resolve(&self) -> Result<Option<(String, secrecy::SecretString)>, Failure> {
        let from_file = match std::fs::read(&self.credentials_file) {
            Ok(bytes) => {
                let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    request_failed(format!("{}: {e}", self.credentials_file.display()))
                })?;
                Some((
                    v["client_id"].as_str().map(str::to_owned),
                    v["client_secret"].as_str().map(str::to_owned),
                ))
            }
            Err(_) => None,
        };
        let secret = match &self.client_secret_file {
            Some(f) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| request_failed(format!("{}: {e}", f.display())))?
                    .trim()
                    .to_owned(),
            ),
            None => std::env::var("RAMPART_CLIENT_SECRET")
                .ok()
                .or_else(|| from_file.as_ref().and_then(|f| f.1.clone())),
        };
        let id = self
            .client_id
            .clone()
            .or_else(|| from_file.as_ref().and_then(|f| f.0.clone()));
        Ok(id
            .zip(secret)
            .map(|(i, s)| (i, secrecy::SecretString::from(s))))
    }
}

/// An HTTP client that adds a bearer token obtained with the client-credentials grant
/// (`POST {server}/oauth2/token`), fetched once and reused until a minute before it expires.
struct Authed {
    http: reqwest::Client,
    server: String,
    credentials: Option<(String, secrecy::SecretString)>,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl Authed {
    fn new(server: &str, creds: &Credentials) -> Result<Self, Failure> {
        Ok(Self {
            http: client()?,
            server: server.to_owned(),
            credentials: creds.resolve()?,
            token: tokio::sync::Mutex::new(None),
        })
    }

    async fn bearer(&self) -> Result<Option<String>, Failure> {
        use secrecy::ExposeSecret as _;
        let Some((id, secret)) = &self.credentials else {
            return Ok(None);
        };
        let mut cached = self.token.lock().await;
        if let Some((t, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(Some(t.clone()));
        }
        let url = join(&self.server, "/oauth2/token");
        let resp = self
            .http
            .post(&url)
            .basic_auth(id, Some(secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| request_failed(format!("cannot reach {url}: {e}")))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(request_failed(format!(
                "getting a token for client {id}: {} {}",
                body["error"].as_str().unwrap_or(status.as_str()),
                body["error_description"].as_str().unwrap_or("")
            )));
        }
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| request_failed("no access_token in the token answer".to_owned()))?
            .to_owned();
        let ttl = body["expires_in"].as_u64().unwrap_or(60).saturating_sub(60);
        *cached = Some((token.clone(), Instant::now() + Duration::from_secs(ttl)));
        Ok(Some(token))
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<Value, Failure> {
        let req = match self.bearer().await? {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req
            .send()
            .await
            .map_err(|e| request_failed(format!("cannot reach {url}: {e}")))?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED && self.credentials.is_none() {
            return Err(request_failed(format!(
                "{url}: 401: the node needs a token; give --client-id and --client-secret-file, RAMPART_CLIENT_ID and RAMPART_CLIENT_SECRET, or --credentials-file"
            )));
        }
        answer(resp).await
    }
}

/// Flags shared by the job-submitting commands.
#[derive(Debug, Clone, clap::Args)]
pub struct JobArgs {
    /// The node's base URL, e.g. `http://127.0.0.1:8080`.
    #[arg(long)]
    pub server: String,
    /// How to get a token.
    #[command(flatten)]
    pub credentials: Credentials,
    /// Return once the job is accepted instead of waiting for it.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest wait for the job, seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_s: u64,
}

/// `rampart import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Server and waiting.
    #[command(flatten)]
    pub job: JobArgs,
    /// Inventory format.
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    /// The inventory: a file, or an `http(s)://` URL to download it from.
    pub file: PathBuf,
}

/// `rampart intel`.
#[derive(Debug, Clone, clap::Args)]
pub struct IntelArgs {
    /// Server and waiting.
    #[command(flatten)]
    pub job: JobArgs,
    /// Feed kind.
    #[arg(long, value_enum)]
    pub kind: FeedKind,
    /// The feed: a file, or an `http(s)://` URL to download it from (`.zip` for an OSV dump,
    /// `.csv` for EPSS).
    pub file: PathBuf,
}

/// `rampart risks`.
#[derive(Debug, Clone, clap::Args)]
pub struct RisksArgs {
    /// The node's base URL.
    #[arg(long)]
    pub server: String,
    /// How to get a token.
    #[command(flatten)]
    pub credentials: Credentials,
    /// Only findings with at least this score (1..=25).
    #[arg(long)]
    pub min_score: Option<u8>,
    /// Only this level (very_low .. very_high).
    #[arg(long)]
    pub level: Option<String>,
    /// Only this asset (id or key).
    #[arg(long)]
    pub asset: Option<String>,
    /// Only KEV-listed findings.
    #[arg(long)]
    pub kev_only: bool,
    /// Page from 1.
    #[arg(long, default_value_t = 1)]
    pub page: u64,
    /// Findings per page (1..=1000).
    #[arg(long, default_value_t = 50)]
    pub per_page: u64,
}

/// `base` without trailing slashes, joined with `path` (which starts with `/`).
pub fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// Query string of `rampart risks`.
pub fn risks_query(a: &RisksArgs) -> Vec<(&'static str, String)> {
    let mut q = vec![
        ("page", a.page.to_string()),
        ("per_page", a.per_page.to_string()),
    ];
    if let Some(s) = a.min_score {
        q.push(("min_score", s.to_string()));
    }
    if let Some(l) = &a.level {
        q.push(("level", l.clone()));
    }
    if let Some(x) = &a.asset {
        q.push(("asset", x.clone()));
    }
    if a.kev_only {
        q.push(("kev_only", "true".to_owned()));
    }
    q
}

/// What went wrong, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// 1 or 2 (module docs).
    pub code: u8,
    /// The message printed on stderr.
    pub message: String,
    /// JSON printed on stdout all the same: the failed or unfinished job.
    pub output: Option<Value>,
}

fn request_failed(message: String) -> Failure {
    Failure {
        code: 2,
        message,
        output: None,
    }
}

/// The stderr message of an error answer: `<status> <title>: <detail>` from an RFC 9457
/// problem body, the status's reason phrase standing in for a missing title.
pub fn problem_message(status: u16, body: &Value) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error");
    let title = body["title"].as_str().unwrap_or(reason);
    match body["detail"].as_str() {
        Some(detail) if !detail.is_empty() => format!("{status} {title}: {detail}"),
        _ => format!("{status} {title}"),
    }
}

async fn answer(resp: reqwest::Response) -> Result<Value, Failure> {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    Err(request_failed(problem_message(status.as_u16(), &body)))
}

fn client() -> Result<reqwest::Client, Failure> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| request_failed(format!("building the HTTP client: {e}")))
}

/// Largest feed downloaded from a URL, bytes (512 MiB).
pub const MAX_DOWNLOAD_BYTES: usize = 512 * 1024 * 1024;

/// Whether `file` names an `http://` or `https://` URL rather than a path.
pub fn is_url(file: &Path) -> bool {
    file.to_str()
        .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
}

/// The bytes of `file`: read from disk, or downloaded when it is a URL (at most
/// [`MAX_DOWNLOAD_BYTES`], 10 minutes).
async fn load(file: &Path) -> Result<Vec<u8>, Failure> {
    if !is_url(file) {
        return std::fs::read(file)
            .map_err(|e| request_failed(format!("reading {}: {e}", file.display())));
    }
    let url = file.to_string_lossy().into_owned();
    let mut resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| request_failed(format!("building the HTTP client: {e}")))?
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| request_failed(format!("downloading {url}: {e}")))?;
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| request_failed(format!("downloading {url}: {e}")))?
    {
        if body.len() + chunk.len() > MAX_DOWNLOAD_BYTES {
            return Err(request_failed(format!(
                "{url} is larger than {MAX_DOWNLOAD_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn submit(
    args: &JobArgs,
    path: &str,
    file: &Path,
    content_type: &str,
) -> Result<Value, Failure> {
    let body = load(file).await?;
    let http = Authed::new(&args.server, &args.credentials)?;
    let url = join(&args.server, path);
    let accepted = http
        .send(
            http.http
                .post(&url)
                .header("Content-Type", content_type)
                .body(body),
            &url,
        )
        .await?;
    if args.no_wait {
        return Ok(accepted);
    }
    let Some(id) = accepted["job_id"].as_str() else {
        return Err(request_failed(format!(
            "no job id in the answer: {accepted}"
        )));
    };
    let job_url = join(&args.server, &format!("/api/v1/jobs/{id}"));
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    loop {
        let job = http.send(http.http.get(&job_url), &job_url).await?;
        match job["state"].as_str() {
            Some("succeeded") => return Ok(job),
            Some("failed") => {
                let errors: Vec<&str> = job["errors"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let why = if errors.is_empty() {
                    String::new()
                } else {
                    format!(": {}", errors.join("; "))
                };
                return Err(Failure {
                    code: 1,
                    message: format!("job {id} failed{why}"),
                    output: Some(job),
                });
            }
            _ if Instant::now() >= deadline => {
                return Err(Failure {
                    code: 1,
                    message: format!("job {id} unfinished after {} s", args.timeout_s),
                    output: Some(job),
                });
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Runs `rampart import`: the finished (or accepted) job.
///
/// # Errors
/// [`Failure`] (module docs).
pub async fn import(a: &ImportArgs) -> Result<Value, Failure> {
    let path = format!("/api/v1/assets/import?format={}", a.format.as_str());
    submit(&a.job, &path, &a.file, a.format.content_type()).await
}

/// Runs `rampart intel`: the finished (or accepted) job.
///
/// # Errors
/// [`Failure`] (module docs).
pub async fn intel(a: &IntelArgs) -> Result<Value, Failure> {
    let path = format!("/api/v1/threat-intel/{}", a.kind.as_str());
    submit(&a.job, &path, &a.file, feed_content_type(&a.file)).await
}

/// Runs `rampart risks`: one page of the register.
///
/// # Errors
/// [`Failure`] (module docs).
pub async fn risks(a: &RisksArgs) -> Result<Value, Failure> {
    let url = join(&a.server, "/api/v1/risks");
    let http = Authed::new(&a.server, &a.credentials)?;
    http.send(http.http.get(&url).query(&risks_query(a)), &url)
        .await
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    #[test]
    fn urls_join_whatever_the_trailing_slash() {
        assert_eq!(
            join("http://h:1/", "/api/v1/risks"),
            "http://h:1/api/v1/risks"
        );
        assert_eq!(
            join("http://h:1", "/api/v1/risks"),
            "http://h:1/api/v1/risks"
        );
    }

    #[test]
    fn problems_print_status_title_and_detail() {
        let p = serde_json::json!({
            "type": "about:blank",
            "title": "Unprocessable Entity",
            "status": 422,
            "detail": "not an SPDX document",
        });
        assert_eq!(
            problem_message(422, &p),
            "422 Unprocessable Entity: not an SPDX document"
        );
        // No problem body (a proxy's HTML page, an empty 404): the reason phrase.
        assert_eq!(problem_message(404, &Value::Null), "404 Not Found");
        assert_eq!(problem_message(502, &Value::Null), "502 Bad Gateway");
    }

    #[test]
    fn content_types_follow_format_and_file_name() {
        assert_eq!(ImportFormat::Nmap.content_type(), "application/xml");
        assert_eq!(ImportFormat::Csv.content_type(), "text/csv");
        assert_eq!(ImportFormat::Spdx.content_type(), "application/json");
        assert_eq!(
            feed_content_type(Path::new("Go/all.zip")),
            "application/zip"
        );
        assert_eq!(feed_content_type(Path::new("kev.json")), "application/json");
        assert_eq!(feed_content_type(Path::new("epss.CSV")), "text/csv");
        assert_eq!(
            feed_content_type(Path::new(
                "https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip"
            )),
            "application/zip"
        );
        assert!(is_url(Path::new("https://example.org/kev.json")));
        assert!(!is_url(Path::new("./kev.json")));
    }

    #[test]
    fn risks_query_carries_only_the_given_filters() {
        let cli = Cli::try_parse_from([
            "rampart",
            "risks",
            "--server",
            "http://x/",
            "--level",
            "very_high",
            "--asset",
            "keycloak",
            "--page",
            "3",
            "--per-page",
            "1000",
        ])
        .unwrap();
        let Command::Risks(a) = cli.command else {
            panic!("risks")
        };
        assert_eq!(
            risks_query(&a),
            vec![
                ("page", "3".to_owned()),
                ("per_page", "1000".to_owned()),
                ("level", "very_high".to_owned()),
                ("asset", "keycloak".to_owned()),
            ]
        );
        assert_eq!(ImportFormat::Cyclonedx.content_type(), "application/json");
        assert_eq!(FeedKind::Kev.as_str(), "kev");
    }

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from([
            "rampart",
            "import",
            "--server",
            "http://x",
            "--format",
            "cyclonedx",
            "bom.json",
        ])
        .unwrap();
        let Command::Import(a) = cli.command else {
            panic!("import")
        };
        assert_eq!(a.format, ImportFormat::Cyclonedx);
        assert!(!a.job.no_wait);
        let cli = Cli::try_parse_from([
            "rampart",
            "intel",
            "--server",
            "http://x",
            "--kind",
            "osv",
            "--no-wait",
            "all.zip",
        ])
        .unwrap();
        let Command::Intel(a) = cli.command else {
            panic!("intel")
        };
        assert_eq!(a.kind, FeedKind::Osv);
        assert!(a.job.no_wait);
        let cli = Cli::try_parse_from([
            "rampart",
            "risks",
            "--server",
            "http://x",
            "--min-score",
            "15",
            "--kev-only",
        ])
        .unwrap();
        let Command::Risks(a) = cli.command else {
            panic!("risks")
        };
        let q = risks_query(&a);
        assert!(q.contains(&("min_score", "15".to_owned())));
        assert!(q.contains(&("kev_only", "true".to_owned())));
        assert!(
            Cli::try_parse_from([
                "rampart", "import", "--server", "x", "--format", "excel", "f"
            ])
            .is_err()
        );
    }
}
