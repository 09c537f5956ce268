//! Threat-intelligence sync: the feeds RiskAnalysis ingests, pulled on schedule from the
//! sources configured under `[[intel.sources]]`, by a supervised actor ([`IntelSync`]).
//!
//! Each source is a kind (`kev`, `osv`, `nvd`, `epss`, `vulnrichment`), a URL, an interval and
//! an optional header from a secret file (`auth_header_file`: one line `Name: value`, e.g.
//! NVD's `apiKey: ...`; never logged, never shown). Every pull goes through the source's own
//! [`ResiliencePolicy`] (`intel.policy`): retry with exponential backoff and jitter on
//! transient failures (transport errors and timeouts, 5xx, 429, whose `Retry-After` is
//! honoured before the next attempt, at most [`MAX_RETRY_AFTER`]), a circuit breaker (a source
//! that keeps failing is left alone while the breaker is open: its data already held keeps
//! serving), a time limiter and a bulkhead; bodies are bounded (`intel.max_body_bytes`).
//!
//! - **Conditional requests** (RFC 9110 §13.1): the `ETag` and `Last-Modified` of each URL's
//!   last good answer are sent back as `If-None-Match` / `If-Modified-Since`; a 304 costs
//!   nothing more. A changed body is parsed and ingested as an upload is (RiskAnalysis's
//!   unchanged-feed no-op still holds); a body that does not parse (truncated, foreign) changes
//!   nothing stored and is the pull's error.
//! - **OSV**: a URL with `{ecosystem}` (`https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip`)
//!   is pulled once per OSV ecosystem present in the inventory, each with its own validators.
//! - **NVD** (CVE API 2.0): incremental by `lastModStartDate` / `lastModEndDate` (from the end of
//!   the last successful pull, at most 120 days back, NVD's largest range), paged with
//!   `startIndex` / `resultsPerPage`, and paced to NVD's published limits: 5 requests per 30 s
//!   without an API key, 50 with one (`intel.nvd_gap_ms` overrides the pause between requests).
//!
//! `GET /api/v1/threat-intel/sources` shows each source's last success, last error, next run and
//! breaker state; `POST /api/v1/threat-intel/sources/{name}/pull` pulls one now. Metrics:
//! `rampart_intel_pulls_total{source,outcome}` (`ingested`, `not_modified`, `failed`,
//! `rejected`: the breaker was open) and `rampart_intel_last_success_timestamp_seconds{source}`.

pub mod migrations;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_platform::Db;
use rampart_risk::actor::{IngestFeed, IngestVulnrichment, RiskAnalysis};
use rampart_risk::feeds::vulnrichment;
use rampart_risk::store::FeedInput;
use rampart_supervisors::resilience::{
    BulkheadConfig, CallError, CircuitBreakerConfig, PolicyConfig, ResilienceMetrics,
    ResiliencePolicy, RetryConfig, TimeLimiterConfig,
};
use rampart_supervisors::{Actor, Addr, Context, Handler, Message, ProbeCheck};
use serde::{Deserialize, Serialize};

/// Longest `Retry-After` honoured before the next attempt (a longer one fails the attempt
/// and leaves the next scheduled run to try again).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// NVD's largest `lastModStartDate`..`lastModEndDate` range, days (NVD CVE API 2.0 docs).
pub const NVD_MAX_RANGE_DAYS: i64 = 120;

/// NVD's page size (`resultsPerPage` maximum for the CVE API).
pub const NVD_PAGE: u64 = 2000;

/// Most pages read in one NVD pull (bounded loop: 2,000,000 records).
pub const NVD_MAX_PAGES: u64 = 1000;

/// Feed kinds a source can be.
pub const KINDS: [&str; 5] = ["kev", "osv", "nvd", "epss", "vulnrichment"];

/// OSV ecosystem names (as OSV's bucket spells them) by the lower-case name RiskAnalysis
/// keys components with.
const OSV_ECOSYSTEMS: [&str; 14] = [
    "Go",
    "Maven",
    "npm",
    "PyPI",
    "crates.io",
    "Packagist",
    "RubyGems",
    "NuGet",
    "Debian",
    "Alpine",
    "Hex",
    "Pub",
    "SwiftURL",
    "Ubuntu",
];

/// `[intel]`: the sources and how they are pulled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntelConfig {
    /// `[[intel.sources]]`.
    pub sources: Vec<SourceConfig>,
    /// How often due sources are looked for, ms (default 1,000).
    pub check_ms: u64,
    /// Largest body read from a source, bytes (default 512 MiB).
    pub max_body_bytes: usize,
    /// Pause between two NVD requests, ms; default: 6,000 without an API key, 600 with one
    /// (NVD: 5 or 50 requests per rolling 30 s).
    pub nvd_gap_ms: Option<u64>,
    /// The resilience policy of each source's pulls (one instance per source). Defaults:
    /// 4 attempts from 1 s, x2, jitter, at most 60 s apart; the breaker's defaults; 300 s per
    /// attempt; 2 pulls at once per source.
    pub policy: PolicyConfig,
}

impl Default for IntelConfig {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            check_ms: 1000,
            max_body_bytes: 512 * 1024 * 1024,
            nvd_gap_ms: None,
            policy: PolicyConfig {
                retry: RetryConfig {
                    max_attempts: 4,
                    initial_interval_ms: 1000,
                    multiplier: 2.0,
                    jitter: true,
                    max_interval_ms: 60_000,
                    ..RetryConfig::default()
                },
                circuit_breaker: CircuitBreakerConfig::default(),
                time_limiter: TimeLimiterConfig {
                    timeout_duration_ms: 300_000,
                },
                bulkhead: BulkheadConfig {
                    max_concurrent_calls: 2,
                    ..BulkheadConfig::default()
                },
                fallback: None,
            },
        }
    }
}

/// One `[[intel.sources]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name (`[a-z0-9-]`, at most 64).
    pub name: String,
    /// `kev`, `osv`, `nvd`, `epss` or `vulnrichment`.
    pub kind: String,
    /// `http` or `https` URL (`{ecosystem}` allowed for `osv`).
    pub url: String,
    /// Seconds between pulls (default 3,600; at least 1).
    #[serde(default = "default_interval")]
    pub interval_s: u64,
    /// A file holding one header line `Name: value` sent with every request (an API key);
    /// owner-only permissions expected.
    #[serde(default)]
    pub auth_header_file: Option<PathBuf>,
    /// This source's own resilience policy instead of `[intel.policy]` (e.g. a slower feed
    /// host with a longer time limit).
    #[serde(default)]
    pub policy: Option<PolicyConfig>,
}

fn default_interval() -> u64 {
    3600
}

/// A validated source with its auth header (name, value), read from its file.
pub type ValidSource = (SourceConfig, Option<(String, String)>);

/// Why the `[intel]` settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum IntelConfigError {
    /// A source is wrong (the source and what is wrong are named; never a secret).
    #[error("intel.sources {name:?}: {reason}")]
    Source {
        /// Its name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The policy is wrong.
    #[error("intel.policy: {0}")]
    Policy(String),
}

impl IntelConfig {
    /// Checks names, kinds, URLs, intervals and the policy; reads each auth header file.
    ///
    /// # Errors
    /// [`IntelConfigError`] naming the source.
    pub fn validate(&self) -> Result<Vec<ValidSource>, IntelConfigError> {
        self.policy
            .validate()
            .map_err(|e| IntelConfigError::Policy(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for s in &self.sources {
            let bad = |reason: String| IntelConfigError::Source {
                name: s.name.clone(),
                reason,
            };
            if s.name.is_empty()
                || s.name.len() > 64
                || !s
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(bad("a name is 1 to 64 of a-z, 0-9 and -".into()));
            }
            if !seen.insert(s.name.clone()) {
                return Err(bad("listed twice".into()));
            }
            if !KINDS.contains(&s.kind.as_str()) {
                return Err(bad(format!("kind {:?} is none of {KINDS:?}", s.kind)));
            }
            let url = s.url.replace("{ecosystem}", "Go");
            match reqwest::Url::parse(&url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return Err(bad("url is not an http or https URL".into())),
            }
            if s.url.contains("{ecosystem}") && s.kind != "osv" {
                return Err(bad("{ecosystem} goes in osv URLs only".into()));
            }
            if s.interval_s == 0 {
                return Err(bad("interval_s is at least 1".into()));
            }
            if let Some(p) = &s.policy {
                p.validate().map_err(|e| bad(format!("policy: {e}")))?;
            }
            let header = match &s.auth_header_file {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| bad(format!("auth_header_file {}: {e}", path.display())))?;
                    let line = text.lines().next().unwrap_or("").trim();
                    let (k, v) = line.split_once(':').ok_or_else(|| {
                        bad(format!(
                            "auth_header_file {}: expected one line `Name: value`",
                            path.display()
                        ))
                    })?;
                    let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
                    if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                        || reqwest::header::HeaderValue::from_str(&v).is_err()
                    {
                        return Err(bad(format!(
                            "auth_header_file {}: not a valid header",
                            path.display()
                        )));
                    }
                    Some((k, v))
                }
            };
            out.push((s.clone(), header));
        }
        Ok(out)
    }
}

/// Why one pull attempt failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PullError {
    /// Connection, TLS, timeout or a body cut short: transient.
    #[error("transport: {0}")]
    Transport(String),
    /// An HTTP status other than 200/304; 5xx and 429 are transient.
    #[error("HTTP {status}")]
    Status {
        /// The status.
        status: u16,
    },
    /// The body exceeded `intel.max_body_bytes`.
    #[error("the body exceeds {0} bytes (intel.max_body_bytes)")]
    TooLarge(usize),
    /// The body does not parse as the source's kind; nothing was stored.
    #[error("the body is not a valid {kind} feed: {reason}")]
    Parse {
        /// The source's kind.
        kind: String,
        /// The parser's message.
        reason: String,
    },
    /// RiskAnalysis could not ingest it.
    #[error("ingesting: {0}")]
    Ingest(String),
}

impl PullError {
    /// Whether retrying can help: transport errors, 5xx, 429.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status { status } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// What one HTTP GET gave.
enum Fetched {
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// The validators of one URL's last good answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
}

/// A source's state as `GET /threat-intel/sources` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SourceStatus {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Its URL (never its auth header).
    pub url: String,
    /// Seconds between pulls.
    pub interval_s: u64,
    /// Whether an auth header is configured.
    pub authenticated: bool,
    /// Last pull that succeeded (ingested or 304), RFC 3339.
    pub last_success: Option<String>,
    /// Last error and when, while the source keeps failing or until the next success.
    pub last_error: Option<String>,
    /// When that error happened, RFC 3339.
    pub last_error_at: Option<String>,
    /// What the last successful pull did (records, changes, 304s).
    pub last_outcome: Option<serde_json::Value>,
    /// Next scheduled pull, RFC 3339.
    pub next_run: String,
    /// Whether a pull is running now.
    pub running: bool,
    /// Circuit breaker: `closed`, `open`, `half_open`, ...
    pub breaker: String,
    /// Pulls so far by outcome.
    pub pulls: BTreeMap<String, u64>,
}

struct Source {
    config: SourceConfig,
    header: Option<(String, String)>,
    policy: Arc<ResiliencePolicy<PullError>>,
    validators: HashMap<String, Validators>,
    nvd_cursor: Option<DateTime<Utc>>,
    status: SourceStatus,
    next_run: DateTime<Utc>,
    running: bool,
}

/// What a pull reports back to the actor.
#[derive(Debug)]
pub struct PullDone {
    name: String,
    result: Result<PullReport, PullError>,
    rejected: bool,
}

impl Message for PullDone {
    type Reply = ();
}

#[derive(Debug, Default)]
struct PullReport {
    validators: HashMap<String, Validators>,
    nvd_cursor: Option<DateTime<Utc>>,
    outcome: serde_json::Value,
    not_modified: bool,
}

/// The scheduler's tick.
#[derive(Debug, Clone, Copy)]
pub struct Tick;

impl Message for Tick {
    type Reply = ();
}

/// Pull source `name` now; `Err` names an unknown source or one already running.
#[derive(Debug, Clone)]
pub struct PullNow(pub String);

impl Message for PullNow {
    type Reply = Result<(), String>;
}

/// Every source's status.
#[derive(Debug, Clone, Copy)]
pub struct Sources;

impl Message for Sources {
    type Reply = Vec<SourceStatus>;
}

/// The sync actor (module docs).
pub struct IntelSync {
    db: Db,
    risk: Addr<RiskAnalysis>,
    config: IntelConfig,
    validated: Vec<ValidSource>,
    metrics: Option<ResilienceMetrics>,
    pulls: prometheus::IntCounterVec,
    last_success: prometheus::GaugeVec,
    http: reqwest::Client,
    sources: Vec<Source>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for IntelSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntelSync")
            .field("sources", &self.sources.len())
            .finish()
    }
}

/// The HTTP client of the pulls: rustls, 10 s to connect, 60 s between reads, at most 5
/// redirects.
///
/// # Errors
/// The client cannot be built (no TLS roots).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("rampart/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
}

/// The metrics of [`IntelSync`], registered once per node.
#[derive(Clone)]
pub struct IntelMetrics {
    pulls: prometheus::IntCounterVec,
    last_success: prometheus::GaugeVec,
}

impl IntelMetrics {
    /// Registers the metrics in `registry`.
    ///
    /// # Errors
    /// Registration errors.
    pub fn new(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let pulls = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "rampart_intel_pulls_total",
                "Threat-intelligence pulls by source and outcome",
            ),
            &["source", "outcome"],
        )?;
        let last_success = prometheus::GaugeVec::new(
            prometheus::Opts::new(
                "rampart_intel_last_success_timestamp_seconds",
                "When each threat-intelligence source last pulled successfully, Unix seconds",
            ),
            &["source"],
        )?;
        registry.register(Box::new(pulls.clone()))?;
        registry.register(Box::new(last_success.clone()))?;
        Ok(Self {
            pulls,
            last_success,
        })
    }
}

impl IntelSync {
    /// The actor for the validated sources of `config`, ingesting through `risk`, pulling
    /// with `http` ([`http_client`]).
    pub fn new(
        db: Db,
        risk: Addr<RiskAnalysis>,
        config: IntelConfig,
        validated: Vec<ValidSource>,
        metrics: Option<ResilienceMetrics>,
        intel_metrics: IntelMetrics,
        http: reqwest::Client,
    ) -> Self {
        Self {
            db,
            risk,
            config,
            validated,
            metrics,
            pulls: intel_metrics.pulls,
            last_success: intel_metrics.last_success,
            http,
            sources: Vec::new(),
            ticker: None,
        }
    }

    fn source(&mut self, name: &str) -> Option<&mut Source> {
        self.sources.iter_mut().find(|s| s.config.name == name)
    }

    fn start_pull(&mut self, i: usize, ctx: &Context<Self>) {
        let Some(s) = self.sources.get_mut(i) else {
            return;
        };
        if s.running {
            return;
        }
        s.running = true;
        let job = PullJob {
            http: self.http.clone(),
            db: self.db.clone(),
            risk: self.risk.clone(),
            config: s.config.clone(),
            header: s.header.clone(),
            validators: s.validators.clone(),
            nvd_cursor: s.nvd_cursor,
            max_body: self.config.max_body_bytes,
            nvd_gap: Duration::from_millis(
                self.config
                    .nvd_gap_ms
                    .unwrap_or(if s.header.is_some() { 600 } else { 6000 }),
            ),
        };
        let policy = s.policy.clone();
        let (addr, name) = (ctx.address(), s.config.name.clone());
        tokio::spawn(async move {
            let (result, rejected) = job.run(&policy).await;
            let _ = addr.try_tell(PullDone {
                name,
                result,
                rejected,
            });
        });
    }
}

impl Drop for IntelSync {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}

impl Actor for IntelSync {
    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        let stored = migrations::load(&self.db)
            .await
            .map_err(|e| format!("loading intel source state: {e}"))?;
        let now = Utc::now();
        self.sources.clear();
        for (config, header) in self.validated.clone() {
            let mut b = ResiliencePolicy::builder(
                format!("intel-{}", config.name),
                config
                    .policy
                    .clone()
                    .unwrap_or_else(|| self.config.policy.clone()),
            )
            .retry_when(PullError::is_transient);
            if let Some(m) = &self.metrics {
                b = b.metrics(m);
            }
            let policy = Arc::new(b.build().map_err(|e| e.to_string())?);
            let row = stored.get(&config.name);
            let status = SourceStatus {
                name: config.name.clone(),
                kind: config.kind.clone(),
                url: config.url.clone(),
                interval_s: config.interval_s,
                authenticated: header.is_some(),
                last_success: row.and_then(|r| r.last_success.map(|t| t.to_rfc3339())),
                last_error: row.and_then(|r| r.last_error.clone()),
                last_error_at: row.and_then(|r| r.last_error_at.map(|t| t.to_rfc3339())),
                last_outcome: row.and_then(|r| r.last_outcome.clone()),
                ..SourceStatus::default()
            };
            // Due at once unless a pull succeeded within the interval.
            let next_run = row
                .and_then(|r| r.last_success)
                .map_or(now, |t| {
                    t + chrono::Duration::seconds(
                        i64::try_from(config.interval_s).unwrap_or(i64::MAX / 2),
                    )
                })
                .max(now);
            self.sources.push(Source {
                validators: row.map(|r| r.validators.clone()).unwrap_or_default(),
                nvd_cursor: row.and_then(|r| r.nvd_cursor),
                header,
                policy,
                status,
                next_run,
                running: false,
                config,
            });
        }
        self.ticker = Some(
            ctx.address()
                .tell_every(Duration::from_millis(self.config.check_ms.max(100)), Tick),
        );
        Ok(())
    }

    async fn readiness(&mut self) -> ProbeCheck {
        self.db.readiness().await
    }
}

impl Handler<Tick> for IntelSync {
    async fn handle(&mut self, _msg: Tick, ctx: &mut Context<Self>) {
        let now = Utc::now();
        let due: Vec<usize> = self
            .sources
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.running && s.next_run <= now)
            .map(|(i, _)| i)
            .collect();
        for i in due {
            self.start_pull(i, ctx);
        }
    }
}

impl Handler<PullNow> for IntelSync {
    async fn handle(&mut self, msg: PullNow, ctx: &mut Context<Self>) -> Result<(), String> {
        let Some(i) = self.sources.iter().position(|s| s.config.name == msg.0) else {
            return Err(format!("no source {:?} is configured", msg.0));
        };
        if self.sources.get(i).is_some_and(|s| s.running) {
            return Err(format!("source {:?} is being pulled now", msg.0));
        }
        self.start_pull(i, ctx);
        Ok(())
    }
}

impl Handler<Sources> for IntelSync {
    async fn handle(&mut self, _msg: Sources, _ctx: &mut Context<Self>) -> Vec<SourceStatus> {
        self.sources
            .iter()
            .map(|s| {
                let mut st = s.status.clone();
                st.next_run = s.next_run.to_rfc3339();
                st.running = s.running;
                st.breaker = s.policy.circuit_breaker().state().as_str().to_owned();
                st
            })
            .collect()
    }
}

impl Handler<PullDone> for IntelSync {
    async fn handle(&mut self, msg: PullDone, _ctx: &mut Context<Self>) {
        let now = Utc::now();
        let (pulls, last_success) = (self.pulls.clone(), self.last_success.clone());
        let db = self.db.clone();
        let Some(s) = self.source(&msg.name) else {
            return;
        };
        s.running = false;
        s.next_run = now
            + chrono::Duration::seconds(i64::try_from(s.config.interval_s).unwrap_or(i64::MAX / 2));
        let outcome = match (&msg.result, msg.rejected) {
            (Err(_), true) => "rejected",
            (Err(_), false) => "failed",
            (Ok(r), _) if r.not_modified => "not_modified",
            (Ok(_), _) => "ingested",
        };
        pulls.with_label_values(&[&msg.name, outcome]).inc();
        *s.status.pulls.entry(outcome.to_owned()).or_default() += 1;
        match msg.result {
            Ok(report) => {
                s.validators.extend(report.validators);
                if report.nvd_cursor.is_some() {
                    s.nvd_cursor = report.nvd_cursor;
                }
                s.status.last_success = Some(now.to_rfc3339());
                s.status.last_error = None;
                s.status.last_error_at = None;
                s.status.last_outcome = Some(report.outcome);
                #[allow(clippy::cast_precision_loss)] // Unix seconds fit f64's 52 bits
                last_success
                    .with_label_values(&[&msg.name])
                    .set(now.timestamp() as f64);
            }
            Err(e) => {
                tracing::warn!(source = %msg.name, error = %e, "threat-intelligence pull failed");
                s.status.last_error = Some(e.to_string());
                s.status.last_error_at = Some(now.to_rfc3339());
            }
        }
        let row = migrations::SourceRow {
            name: msg.name.clone(),
            validators: s.validators.clone(),
            nvd_cursor: s.nvd_cursor,
            last_success: s
                .status
                .last_success
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            last_error: s.status.last_error.clone(),
            last_error_at: s.status.last_error.as_ref().map(|_| now),
            last_outcome: s.status.last_outcome.clone(),
        };
        if let Err(e) = migrations::save(&db, &row).await {
            tracing::warn!(source = %msg.name, error = %e, "saving intel source state failed");
        }
    }
}

/// Everything one pull needs, moved into its task.
struct PullJob {
    http: reqwest::Client,
    db: Db,
    risk: Addr<RiskAnalysis>,
    config: SourceConfig,
    header: Option<(String, String)>,
    validators: HashMap<String, Validators>,
    nvd_cursor: Option<DateTime<Utc>>,
    max_body: usize,
    nvd_gap: Duration,
}

impl PullJob {
    /// Runs the pull; returns its result and whether the breaker refused it.
    async fn run(
        self,
        policy: &ResiliencePolicy<PullError>,
    ) -> (Result<PullReport, PullError>, bool) {
        match self.config.kind.as_str() {
            "nvd" => self.run_nvd(policy).await,
            "osv" if self.config.url.contains("{ecosystem}") => {
                let ecosystems = match inventory_ecosystems(&self.db).await {
                    Ok(e) => e,
                    Err(e) => return (Err(PullError::Ingest(e.to_string())), false),
                };
                let mut report = PullReport::default();
                let mut outcomes = serde_json::Map::new();
                let mut all_not_modified = true;
                for eco in ecosystems {
                    let url = self.config.url.replace("{ecosystem}", &eco);
                    match self.pull_url(policy, &url).await {
                        (Ok((v, outcome, nm)), _) => {
                            all_not_modified &= nm;
                            if let Some(v) = v {
                                report.validators.insert(url, v);
                            }
                            outcomes.insert(eco, outcome);
                        }
                        (Err(e), rejected) => return (Err(e), rejected),
                    }
                }
                report.not_modified = all_not_modified;
                report.outcome = serde_json::Value::Object(outcomes);
                (Ok(report), false)
            }
            _ => {
                let url = self.config.url.clone();
                match self.pull_url(policy, &url).await {
                    (Ok((v, outcome, nm)), _) => {
                        let mut report = PullReport {
                            outcome,
                            not_modified: nm,
                            ..PullReport::default()
                        };
                        if let Some(v) = v {
                            report.validators.insert(url, v);
                        }
                        (Ok(report), false)
                    }
                    (Err(e), rejected) => (Err(e), rejected),
                }
            }
        }
    }

    /// One URL: conditional GET through the policy, then parse and ingest. Returns the new
    /// validators (on 200), what was done, and whether it was a 304.
    #[allow(clippy::type_complexity)]
    async fn pull_url(
        &self,
        policy: &ResiliencePolicy<PullError>,
        url: &str,
    ) -> (
        Result<(Option<Validators>, serde_json::Value, bool), PullError>,
        bool,
    ) {
        let known = self.validators.get(url).cloned().unwrap_or_default();
        let fetched = policy
            .call(|| fetch(&self.http, url, &known, self.header.as_ref(), self.max_body))
            .await;
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => return unwrap_call(e),
        };
        let (bytes, etag, last_modified) = match fetched {
            Fetched::NotModified => {
                return (
                    Ok((None, serde_json::json!({"not_modified": true}), true)),
                    false,
                );
            }
            Fetched::Body {
                bytes,
                etag,
                last_modified,
            } => (bytes, etag, last_modified),
        };
        let outcome = match self.ingest(&bytes, url).await {
            Ok(o) => o,
            Err(e) => return (Err(e), false),
        };
        (
            Ok((
                Some(Validators {
                    etag,
                    last_modified,
                }),
                outcome,
                false,
            )),
            false,
        )
    }

    /// Parses `bytes` as the source's kind and hands it to RiskAnalysis.
    async fn ingest(&self, bytes: &[u8], url: &str) -> Result<serde_json::Value, PullError> {
        let kind = self.config.kind.clone();
        let parse_err = |e: rampart_risk::FeedError| PullError::Parse {
            kind: kind.clone(),
            reason: e.to_string(),
        };
        if kind == "vulnrichment" {
            let records = vulnrichment::parse_vulnrichment(bytes).map_err(parse_err)?;
            let n = records.len();
            let (changed, assets) = self
                .risk
                .ask(IngestVulnrichment(records))
                .await
                .map_err(|e| PullError::Ingest(e.to_string()))?
                .map_err(|e| PullError::Ingest(e.to_string()))?;
            return Ok(serde_json::json!({
                "records": n, "changed_records": changed, "assets_rescored": assets
            }));
        }
        let zip = bytes.starts_with(b"PK") || url.ends_with(".zip");
        let feed = FeedInput::parse(&kind, bytes, zip).map_err(parse_err)?;
        let out = self
            .risk
            .ask(IngestFeed(feed))
            .await
            .map_err(|e| PullError::Ingest(e.to_string()))?
            .map_err(PullError::Ingest)?;
        serde_json::to_value(out).map_err(|e| PullError::Ingest(e.to_string()))
    }

    /// NVD CVE API 2.0, incremental and paged (module docs).
    async fn run_nvd(
        self,
        policy: &ResiliencePolicy<PullError>,
    ) -> (Result<PullReport, PullError>, bool) {
        let end = Utc::now();
        let floor = end - chrono::Duration::days(NVD_MAX_RANGE_DAYS);
        let start = self.nvd_cursor.map_or(floor, |c| c.max(floor));
        let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let mut index = 0u64;
        let (mut pages, mut records, mut changed) = (0u64, 0u64, 0u64);
        let none = Validators::default();
        loop {
            let sep = if self.config.url.contains('?') {
                '&'
            } else {
                '?'
            };
            let url = format!(
                "{}{sep}lastModStartDate={}&lastModEndDate={}&resultsPerPage={NVD_PAGE}&startIndex={index}",
                self.config.url,
                fmt(start),
                fmt(end)
            );
            let fetched = policy
                .call(|| fetch(&self.http, &url, &none, self.header.as_ref(), self.max_body))
                .await;
            let bytes = match fetched {
                Ok(Fetched::Body { bytes, .. }) => bytes,
                Ok(Fetched::NotModified) => Vec::new(),
                Err(e) => return unwrap_call(e),
            };
            if bytes.is_empty() {
                break;
            }
            // The page's own figures (NVD may serve fewer than asked for).
            let head = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
            let figure = |k: &str| {
                head.as_ref()
                    .and_then(|v| v.get(k).and_then(serde_json::Value::as_u64))
                    .unwrap_or(0)
            };
            let (total, served) = (figure("totalResults"), figure("resultsPerPage"));
            let outcome = match self.ingest(&bytes, &url).await {
                Ok(o) => o,
                Err(e) => return (Err(e), false),
            };
            records += outcome["records"].as_u64().unwrap_or(0);
            changed += outcome["changed_records"].as_u64().unwrap_or(0);
            pages += 1;
            index += if served == 0 { NVD_PAGE } else { served };
            if index >= total || pages >= NVD_MAX_PAGES {
                break;
            }
            tokio::time::sleep(self.nvd_gap).await;
        }
        (
            Ok(PullReport {
                nvd_cursor: Some(end),
                outcome: serde_json::json!({
                    "pages": pages, "records": records, "changed_records": changed,
                    "last_mod_start": fmt(start), "last_mod_end": fmt(end),
                }),
                ..PullReport::default()
            }),
            false,
        )
    }
}

/// The pull's error from the policy's: (error, the breaker refused it).
fn unwrap_call<T>(e: CallError<PullError>) -> (Result<T, PullError>, bool) {
    let rejected = e.is_call_not_permitted();
    let text = e.to_string();
    match e.into_inner() {
        Some(inner) => (Err(inner), rejected),
        None => (Err(PullError::Transport(text)), rejected),
    }
}

/// One conditional GET (module docs); a 429's `Retry-After` is waited out here (at most
/// [`MAX_RETRY_AFTER`]) so that the retry that follows respects it.
async fn fetch(
    http: &reqwest::Client,
    url: &str,
    known: &Validators,
    header: Option<&(String, String)>,
    max_body: usize,
) -> Result<Fetched, PullError> {
    let mut rb = http.get(url);
    if let Some(e) = &known.etag {
        rb = rb.header(reqwest::header::IF_NONE_MATCH, e);
    }
    if let Some(m) = &known.last_modified {
        rb = rb.header(reqwest::header::IF_MODIFIED_SINCE, m);
    }
    if let Some((k, v)) = header {
        rb = rb.header(k.as_str(), v.as_str());
    }
    let r = rb
        .send()
        .await
        .map_err(|e| PullError::Transport(e.without_url().to_string()))?;
    let status = r.status().as_u16();
    match status {
        304 => return Ok(Fetched::NotModified),
        200 => {}
        429 => {
            let wait = r
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(Duration::ZERO, Duration::from_secs);
            if wait <= MAX_RETRY_AFTER {
                tokio::time::sleep(wait).await;
            }
            return Err(PullError::Status { status });
        }
        _ => return Err(PullError::Status { status }),
    }
    let header_str = |n: reqwest::header::HeaderName| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = header_str(reqwest::header::ETAG);
    let last_modified = header_str(reqwest::header::LAST_MODIFIED);
    if r.content_length().is_some_and(|n| n > max_body as u64) {
        return Err(PullError::TooLarge(max_body));
    }
    let mut body = Vec::new();
    let mut r = r;
    while let Some(chunk) = r
        .chunk()
        .await
        .map_err(|e| PullError::Transport(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > max_body {
            return Err(PullError::TooLarge(max_body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body {
        bytes: body,
        etag,
        last_modified,
    })
}

/// The OSV ecosystems (OSV's spelling) of the components RiskAnalysis holds.
async fn inventory_ecosystems(db: &Db) -> Result<Vec<String>, sea_orm::DbErr> {
    use rampart_risk::entities::risk_component;
    use sea_orm::{EntityTrait, QuerySelect};
    let keys: Vec<Option<String>> = risk_component::Entity::find()
        .select_only()
        .column(risk_component::Column::PkgKey)
        .distinct()
        .into_tuple()
        .all(db.conn())
        .await?;
    let mut out: Vec<String> = Vec::new();
    for k in keys.into_iter().flatten() {
        let eco = k.split('|').next().unwrap_or("");
        if let Some(name) = OSV_ECOSYSTEMS.iter().find(|e| e.eq_ignore_ascii_case(eco))
            && !out.iter().any(|o| o == name)
        {
            out.push((*name).to_owned());
        }
    }
    out.sort();
    Ok(out)
}
