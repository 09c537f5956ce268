//! Asset discovery from the clouds and services an organisation runs: AWS Config ([`aws`]) and
//! Google Workspace ([`google`]), each source on its own schedule, run by the supervised
//! [`DiscoverySync`] actor.
//!
//! - **Sources**: `[[discovery.aws]]` and `[[discovery.google]]` ([`DiscoveryConfig`]). Each
//!   has a name, an interval and `retire_after`, and its own resilience policy instance
//!   (`[discovery.policy]`, or the source's `policy` override): retry with backoff and jitter on
//!   transient errors (throttling, 429, 5xx, timeouts, Google's quota 403s), a circuit breaker
//!   (a source that keeps failing stops being called; its state is shown), a time limit per
//!   call and a bulkhead.
//! - **A run is a job** (`GET /api/v1/jobs/{id}`, kind `discovery`, input the source's name):
//!   the source is read whole, mapped to an inventory with the same mappings as an upload
//!   (`format=aws_config`, `format=google_workspace`) and stored through AssetManagement like an
//!   import, so an unchanged resource produces no event and a changed one `asset.changed`.
//! - **Retirement**: an asset a source listed before and does not list now counts one
//!   absence; after `retire_after` consecutive successful runs without it, it is retired
//!   (`asset.retired`). A failed run counts nothing and retires nothing; an asset that comes
//!   back starts from zero again (and is active again).
//! - `GET /api/v1/discovery/sources` shows each source's last success, last error, next run,
//!   breaker state and last job; `POST /api/v1/discovery/sources/{name}/run` runs one now.

pub mod aws;
pub mod google;
pub mod migrations;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_asset::actor::{RetireAsset, StoreInventory};
use rampart_asset::{AssetManagement, CriticalityRules, Inventory};
use rampart_platform::Db;
use rampart_platform::jobs;
use rampart_supervisors::resilience::{
    BulkheadConfig, CallError, CircuitBreakerConfig, PolicyConfig, ResilienceMetrics,
    ResiliencePolicy, RetryConfig, TimeLimiterConfig,
};
use rampart_supervisors::{Actor, Addr, Context, Handler, Message, ProbeCheck};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `[discovery]`: the sources and how often due ones are looked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// `[[discovery.aws]]`: AWS Config sources.
    pub aws: Vec<AwsSource>,
    /// `[[discovery.google]]`: Google Workspace sources.
    pub google: Vec<GoogleSource>,
    /// How often due sources are looked for, ms (default 1,000).
    pub check_ms: u64,
    /// The resilience policy of each source's calls (one instance per source) unless the source
    /// has its own. Defaults: 4 attempts from 1 s, x2, jitter, at most 30 s apart; the
    /// breaker's defaults; 60 s per call; 4 calls at once per source.
    pub policy: PolicyConfig,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            aws: Vec::new(),
            google: Vec::new(),
            check_ms: 1000,
            policy: PolicyConfig {
                retry: RetryConfig {
                    max_attempts: 4,
                    initial_interval_ms: 1000,
                    multiplier: 2.0,
                    jitter: true,
                    max_interval_ms: 30_000,
                    ..RetryConfig::default()
                },
                circuit_breaker: CircuitBreakerConfig::default(),
                time_limiter: TimeLimiterConfig {
                    timeout_duration_ms: 60_000,
                },
                bulkhead: BulkheadConfig {
                    max_concurrent_calls: 4,
                    ..BulkheadConfig::default()
                },
                fallback: None,
            },
        }
    }
}

fn default_interval() -> u64 {
    3600
}

fn default_retire_after() -> u32 {
    3
}

fn default_customer() -> String {
    "my_customer".to_owned()
}

fn default_api_base() -> String {
    "https://admin.googleapis.com".to_owned()
}

/// One `[[discovery.aws]]` source: AWS Config in one account and region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSource {
    /// Its name: 1 to 64 of `a-z`, `0-9`, `-`; unique over every discovery source.
    pub name: String,
    /// Seconds between runs (default 3,600).
    #[serde(default = "default_interval")]
    pub interval_s: u64,
    /// Consecutive successful runs an asset must be absent from before it is retired
    /// (default 3, at least 1).
    #[serde(default = "default_retire_after")]
    pub retire_after: u32,
    /// The region; default: the standard chain's (`AWS_REGION`, the profile's).
    #[serde(default)]
    pub region: Option<String>,
    /// An endpoint URL replacing AWS's (a VPC endpoint; an emulator in tests).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// A profile of the shared AWS config files; default: the standard chain's.
    #[serde(default)]
    pub profile: Option<String>,
    /// Resource types listed (`AWS::EC2::Instance`, ...); empty: [`aws::DEFAULT_TYPES`].
    #[serde(default)]
    pub resource_types: Vec<String>,
    /// This source's own resilience policy instead of `[discovery.policy]`.
    #[serde(default)]
    pub policy: Option<PolicyConfig>,
}

/// One `[[discovery.google]]` source: a Google Workspace customer's Directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleSource {
    /// Its name (as for [`AwsSource::name`]).
    pub name: String,
    /// Seconds between runs (default 3,600).
    #[serde(default = "default_interval")]
    pub interval_s: u64,
    /// As for [`AwsSource::retire_after`] (default 3).
    #[serde(default = "default_retire_after")]
    pub retire_after: u32,
    /// The service account's JSON key file (domain-wide delegation granted the read-only
    /// Directory scopes, [`google::SCOPES`]). Read at start; its content never reaches a log.
    pub service_account_file: PathBuf,
    /// The administrator the service account acts for (the JWT's `sub`).
    pub subject: String,
    /// The customer (`my_customer`: the administrator's own, the default).
    #[serde(default = "default_customer")]
    pub customer: String,
    /// The Admin SDK's base URL (default `https://admin.googleapis.com`).
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// This source's own resilience policy instead of `[discovery.policy]`.
    #[serde(default)]
    pub policy: Option<PolicyConfig>,
}

/// Why `[discovery]` is wrong (the source and what is wrong are named, never a secret).
#[derive(Debug, thiserror::Error)]
#[error("discovery source {name:?}: {reason}")]
pub struct DiscoveryConfigError {
    /// The source (`policy` for the shared policy).
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

/// What a validated source reads.
#[derive(Debug, Clone)]
enum Reader {
    Aws {
        target: aws::Target,
        types: Vec<String>,
    },
    Google {
        account: Arc<google::ServiceAccount>,
        subject: String,
        customer: String,
        api_base: String,
    },
}

/// A validated source.
#[derive(Debug, Clone)]
pub struct ValidSource {
    name: String,
    kind: &'static str,
    interval_s: u64,
    retire_after: u32,
    policy: PolicyConfig,
    reader: Reader,
}

impl DiscoveryConfig {
    /// Checks names, intervals, URLs and policies; reads each service account key file.
    ///
    /// # Errors
    /// [`DiscoveryConfigError`] naming the source.
    pub fn validate(&self) -> Result<Vec<ValidSource>, DiscoveryConfigError> {
        let bad = |name: &str, reason: String| DiscoveryConfigError {
            name: name.to_owned(),
            reason,
        };
        self.policy
            .validate()
            .map_err(|e| bad("policy", e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut common =
            |name: &str, interval_s: u64, retire_after: u32, policy: &Option<PolicyConfig>| {
                if name.is_empty()
                    || name.len() > 64
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                {
                    return Err(bad(name, "a name is 1 to 64 of a-z, 0-9 and -".into()));
                }
                if !seen.insert(name.to_owned()) {
                    return Err(bad(name, "listed twice".into()));
                }
                if interval_s == 0 {
                    return Err(bad(name, "interval_s is at least 1".into()));
                }
                if retire_after == 0 {
                    return Err(bad(name, "retire_after is at least 1".into()));
                }
                let policy = policy.clone().unwrap_or_else(|| self.policy.clone());
                policy
                    .validate()
                    .map_err(|e| bad(name, format!("policy: {e}")))?;
                Ok(policy)
            };
        for s in &self.aws {
            let policy = common(&s.name, s.interval_s, s.retire_after, &s.policy)?;
            if let Some(e) = &s.endpoint_url {
                match reqwest::Url::parse(e) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    _ => {
                        return Err(bad(
                            &s.name,
                            "endpoint_url is not an http or https URL".into(),
                        ));
                    }
                }
            }
            if let Some(t) = s
                .resource_types
                .iter()
                .find(|t| !t.starts_with("AWS::") || t.split("::").count() != 3)
            {
                return Err(bad(
                    &s.name,
                    format!("resource type {t:?} is not of the form AWS::Service::Type"),
                ));
            }
            let types = if s.resource_types.is_empty() {
                aws::DEFAULT_TYPES.iter().map(|t| (*t).to_owned()).collect()
            } else {
                s.resource_types.clone()
            };
            out.push(ValidSource {
                name: s.name.clone(),
                kind: "aws_config",
                interval_s: s.interval_s,
                retire_after: s.retire_after,
                policy,
                reader: Reader::Aws {
                    target: aws::Target {
                        region: s.region.clone(),
                        endpoint_url: s.endpoint_url.clone(),
                        profile: s.profile.clone(),
                    },
                    types,
                },
            });
        }
        for s in &self.google {
            let policy = common(&s.name, s.interval_s, s.retire_after, &s.policy)?;
            match reqwest::Url::parse(&s.api_base) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return Err(bad(&s.name, "api_base is not an http or https URL".into())),
            }
            if s.subject.trim().is_empty() {
                return Err(bad(&s.name, "subject (the administrator) is empty".into()));
            }
            let bytes = std::fs::read(&s.service_account_file).map_err(|e| {
                bad(
                    &s.name,
                    format!(
                        "service_account_file {}: {e}",
                        s.service_account_file.display()
                    ),
                )
            })?;
            let account = google::ServiceAccount::from_json(&bytes).map_err(|e| {
                bad(
                    &s.name,
                    format!(
                        "service_account_file {}: {e}",
                        s.service_account_file.display()
                    ),
                )
            })?;
            out.push(ValidSource {
                name: s.name.clone(),
                kind: "google_workspace",
                interval_s: s.interval_s,
                retire_after: s.retire_after,
                policy,
                reader: Reader::Google {
                    account: Arc::new(account),
                    subject: s.subject.clone(),
                    customer: s.customer.clone(),
                    api_base: s.api_base.trim_end_matches('/').to_owned(),
                },
            });
        }
        Ok(out)
    }
}

/// One source's status (`GET /api/v1/discovery/sources`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DiscoveryStatus {
    /// Its name.
    pub name: String,
    /// `aws_config` or `google_workspace`.
    pub kind: String,
    /// Seconds between runs.
    pub interval_s: u64,
    /// Absences before retirement.
    pub retire_after: u32,
    /// Last successful run (RFC 3339).
    pub last_success: Option<String>,
    /// Last failed run's error.
    pub last_error: Option<String>,
    /// When it failed (RFC 3339).
    pub last_error_at: Option<String>,
    /// What the last successful run did.
    pub last_outcome: Option<serde_json::Value>,
    /// The last run's job (`/api/v1/jobs/{id}`).
    pub last_job: Option<Uuid>,
    /// Next scheduled run (RFC 3339).
    pub next_run: String,
    /// A run is under way.
    pub running: bool,
    /// The circuit breaker's state: `closed`, `open`, `half_open`, ...
    pub breaker: String,
    /// Runs since the node started, by outcome (`succeeded`, `failed`, `rejected`).
    pub runs: BTreeMap<String, u64>,
}

/// A source's policy, typed by the errors its calls give.
#[derive(Clone)]
enum Policy {
    Aws(Arc<ResiliencePolicy<aws::AwsError>>),
    Google(Arc<ResiliencePolicy<google::DirectoryError>>),
}

impl Policy {
    fn breaker(&self) -> &'static str {
        match self {
            Self::Aws(p) => p.circuit_breaker().state().as_str(),
            Self::Google(p) => p.circuit_breaker().state().as_str(),
        }
    }
}

struct Source {
    valid: ValidSource,
    policy: Policy,
    status: DiscoveryStatus,
    next_run: DateTime<Utc>,
    running: bool,
}

/// The scheduler's tick.
#[derive(Debug, Clone, Copy)]
pub struct Tick;

impl Message for Tick {
    type Reply = ();
}

/// Run source `name` now; replies with the run's job id, or why not (an unknown source, one
/// already running, a database error).
#[derive(Debug, Clone)]
pub struct RunNow(pub String);

impl Message for RunNow {
    type Reply = Result<Uuid, RunRefused>;
}

/// Why [`RunNow`] was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RunRefused {
    /// No such source.
    #[error("no discovery source {0:?} is configured")]
    Unknown(String),
    /// It is running.
    #[error("discovery source {0:?} is running now")]
    Running(String),
    /// The job could not be recorded.
    #[error("recording the job: {0}")]
    Store(String),
}

/// Every source's status.
#[derive(Debug, Clone, Copy)]
pub struct Sources;

impl Message for Sources {
    type Reply = Vec<DiscoveryStatus>;
}

/// A run's end, reported to the actor.
#[derive(Debug)]
pub struct RunDone {
    name: String,
    result: Result<serde_json::Value, String>,
    rejected: bool,
}

impl Message for RunDone {
    type Reply = ();
}

/// Per-source metrics.
#[derive(Clone)]
pub struct DiscoveryMetrics {
    runs: prometheus::IntCounterVec,
    last_success: prometheus::GaugeVec,
}

impl DiscoveryMetrics {
    /// Registers `rampart_discovery_runs_total{source,outcome}` and
    /// `rampart_discovery_last_success_timestamp_seconds{source}` (Unix s).
    ///
    /// # Errors
    /// Already registered.
    pub fn new(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let runs = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "rampart_discovery_runs_total",
                "Asset discovery runs by source and outcome (succeeded, failed, rejected by the open breaker)",
            ),
            &["source", "outcome"],
        )?;
        let last_success = prometheus::GaugeVec::new(
            prometheus::Opts::new(
                "rampart_discovery_last_success_timestamp_seconds",
                "Unix time of each discovery source's last successful run",
            ),
            &["source"],
        )?;
        registry.register(Box::new(runs.clone()))?;
        registry.register(Box::new(last_success.clone()))?;
        Ok(Self { runs, last_success })
    }
}

/// The discovery scheduler (module docs).
pub struct DiscoverySync {
    db: Db,
    node: String,
    asset: Addr<AssetManagement>,
    rules: CriticalityRules,
    check_ms: u64,
    validated: Vec<ValidSource>,
    resilience: Option<ResilienceMetrics>,
    metrics: DiscoveryMetrics,
    http: reqwest::Client,
    sources: Vec<Source>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for DiscoverySync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscoverySync")
            .field("sources", &self.sources.len())
            .finish_non_exhaustive()
    }
}

/// Everything [`DiscoverySync::new`] takes.
pub struct DiscoveryDeps {
    /// The node's database.
    pub db: Db,
    /// The node's id (jobs record it).
    pub node: String,
    /// Where inventories are stored.
    pub asset: Addr<AssetManagement>,
    /// `[assets]`: criticality, owner and value tags.
    pub rules: CriticalityRules,
    /// `[discovery].check_ms`.
    pub check_ms: u64,
    /// The validated sources.
    pub sources: Vec<ValidSource>,
    /// The node's resilience metrics.
    pub resilience: Option<ResilienceMetrics>,
    /// [`DiscoveryMetrics`].
    pub metrics: DiscoveryMetrics,
    /// The HTTP client of Google calls ([`crate::intel::http_client`]).
    pub http: reqwest::Client,
}

impl DiscoverySync {
    /// The actor (module docs).
    pub fn new(d: DiscoveryDeps) -> Self {
        Self {
            db: d.db,
            node: d.node,
            asset: d.asset,
            rules: d.rules,
            check_ms: d.check_ms,
            validated: d.sources,
            resilience: d.resilience,
            metrics: d.metrics,
            http: d.http,
            sources: Vec::new(),
            ticker: None,
        }
    }

    /// Records a job for source `i` and starts its run; the job's id.
    async fn start_run(&mut self, i: usize, ctx: &Context<Self>) -> Result<Uuid, RunRefused> {
        let Some(s) = self.sources.get_mut(i) else {
            return Err(RunRefused::Unknown(String::new()));
        };
        if s.running {
            return Err(RunRefused::Running(s.valid.name.clone()));
        }
        let id = jobs::create(&self.db, "discovery", &s.valid.name, &self.node)
            .await
            .map_err(|e| RunRefused::Store(e.to_string()))?;
        s.running = true;
        s.status.last_job = Some(id);
        let run = Run {
            db: self.db.clone(),
            asset: self.asset.clone(),
            rules: self.rules.clone(),
            http: self.http.clone(),
            source: s.valid.clone(),
            policy: s.policy.clone(),
        };
        let (addr, name, db) = (ctx.address(), s.valid.name.clone(), self.db.clone());
        tokio::spawn(async move {
            if let Err(e) = jobs::start(&db, id).await {
                tracing::warn!(job = %id, error = %e, "marking the discovery job running");
            }
            let (result, rejected) = run.run().await;
            if let Err(e) = jobs::finish(&db, id, result.clone()).await {
                tracing::error!(job = %id, error = %e, "recording the discovery job's outcome");
            }
            let _ = addr.try_tell(RunDone {
                name,
                result,
                rejected,
            });
        });
        Ok(id)
    }
}

impl Drop for DiscoverySync {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}

fn after(t: DateTime<Utc>, s: u64) -> DateTime<Utc> {
    t + chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2).min(i64::MAX / 2))
}

impl Actor for DiscoverySync {
    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        let stored = migrations::load(&self.db)
            .await
            .map_err(|e| format!("loading discovery source state: {e}"))?;
        let now = Utc::now();
        self.sources.clear();
        for valid in self.validated.clone() {
            let label = format!("discovery-{}", valid.name);
            let policy = match valid.reader {
                Reader::Aws { .. } => {
                    let mut b = ResiliencePolicy::builder(label, valid.policy.clone())
                        .retry_when(aws::AwsError::is_transient);
                    if let Some(m) = &self.resilience {
                        b = b.metrics(m);
                    }
                    Policy::Aws(Arc::new(b.build().map_err(|e| e.to_string())?))
                }
                Reader::Google { .. } => {
                    let mut b = ResiliencePolicy::builder(label, valid.policy.clone())
                        .retry_when(google::DirectoryError::is_transient);
                    if let Some(m) = &self.resilience {
                        b = b.metrics(m);
                    }
                    Policy::Google(Arc::new(b.build().map_err(|e| e.to_string())?))
                }
            };
            let row = stored.get(&valid.name);
            let status = DiscoveryStatus {
                name: valid.name.clone(),
                kind: valid.kind.to_owned(),
                interval_s: valid.interval_s,
                retire_after: valid.retire_after,
                last_success: row.and_then(|r| r.last_success.map(|t| t.to_rfc3339())),
                last_error: row.and_then(|r| r.last_error.clone()),
                last_error_at: row.and_then(|r| r.last_error_at.map(|t| t.to_rfc3339())),
                last_outcome: row.and_then(|r| r.last_outcome.clone()),
                ..DiscoveryStatus::default()
            };
            // Due at once unless a run succeeded within the interval.
            let next_run = row
                .and_then(|r| r.last_success)
                .map_or(now, |t| after(t, valid.interval_s))
                .max(now);
            self.sources.push(Source {
                valid,
                policy,
                status,
                next_run,
                running: false,
            });
        }
        self.ticker = Some(
            ctx.address()
                .tell_every(Duration::from_millis(self.check_ms.max(100)), Tick),
        );
        Ok(())
    }

    async fn readiness(&mut self) -> ProbeCheck {
        self.db.readiness().await
    }
}

impl Handler<Tick> for DiscoverySync {
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
            if let Err(e) = self.start_run(i, ctx).await {
                tracing::warn!(error = %e, "starting a scheduled discovery run");
                // Try again at the next interval rather than at every tick.
                if let Some(s) = self.sources.get_mut(i) {
                    s.next_run = after(now, s.valid.interval_s);
                }
            }
        }
    }
}

impl Handler<RunNow> for DiscoverySync {
    async fn handle(&mut self, msg: RunNow, ctx: &mut Context<Self>) -> Result<Uuid, RunRefused> {
        let Some(i) = self.sources.iter().position(|s| s.valid.name == msg.0) else {
            return Err(RunRefused::Unknown(msg.0));
        };
        self.start_run(i, ctx).await
    }
}

impl Handler<Sources> for DiscoverySync {
    async fn handle(&mut self, _msg: Sources, _ctx: &mut Context<Self>) -> Vec<DiscoveryStatus> {
        self.sources
            .iter()
            .map(|s| {
                let mut st = s.status.clone();
                st.next_run = s.next_run.to_rfc3339();
                st.running = s.running;
                s.policy.breaker().clone_into(&mut st.breaker);
                st
            })
            .collect()
    }
}

impl Handler<RunDone> for DiscoverySync {
    async fn handle(&mut self, msg: RunDone, _ctx: &mut Context<Self>) {
        let now = Utc::now();
        let metrics = self.metrics.clone();
        let db = self.db.clone();
        let Some(s) = self.sources.iter_mut().find(|s| s.valid.name == msg.name) else {
            return;
        };
        s.running = false;
        s.next_run = after(now, s.valid.interval_s);
        let outcome = match (&msg.result, msg.rejected) {
            (Err(_), true) => "rejected",
            (Err(_), false) => "failed",
            (Ok(_), _) => "succeeded",
        };
        metrics.runs.with_label_values(&[&msg.name, outcome]).inc();
        *s.status.runs.entry(outcome.to_owned()).or_default() += 1;
        let mut row = migrations::SourceRow {
            name: msg.name.clone(),
            last_success: s
                .status
                .last_success
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            last_outcome: s.status.last_outcome.clone(),
            ..migrations::SourceRow::default()
        };
        match msg.result {
            Ok(out) => {
                s.status.last_success = Some(now.to_rfc3339());
                s.status.last_error = None;
                s.status.last_error_at = None;
                s.status.last_outcome = Some(out.clone());
                row.last_success = Some(now);
                row.last_outcome = Some(out);
                #[allow(clippy::cast_precision_loss)] // Unix seconds fit f64's 52 bits
                metrics
                    .last_success
                    .with_label_values(&[&msg.name])
                    .set(now.timestamp() as f64);
            }
            Err(e) => {
                tracing::warn!(source = %msg.name, error = %e, "asset discovery run failed");
                s.status.last_error = Some(e.clone());
                s.status.last_error_at = Some(now.to_rfc3339());
                row.last_error = Some(e);
                row.last_error_at = Some(now);
            }
        }
        if let Err(e) = migrations::save(&db, &row).await {
            tracing::warn!(source = %msg.name, error = %e, "saving discovery source state failed");
        }
    }
}

/// Everything one run needs, moved into its task.
struct Run {
    db: Db,
    asset: Addr<AssetManagement>,
    rules: CriticalityRules,
    http: reqwest::Client,
    source: ValidSource,
    policy: Policy,
}

/// The run's error text from a policy's error; whether the breaker refused the call.
fn call_error<E: std::fmt::Display>(what: &str, e: &CallError<E>) -> (String, bool) {
    (format!("{what}: {e}"), e.is_call_not_permitted())
}

impl Run {
    /// Reads the source, stores the inventory, counts absences and retires; the job's result
    /// and whether the breaker refused the run.
    async fn run(self) -> (Result<serde_json::Value, String>, bool) {
        let (inventory, mut figures) = match self.read().await {
            Ok(r) => r,
            Err((e, rejected)) => return (Err(e), rejected),
        };
        match self.store(inventory).await {
            Ok(stored) => {
                if let (serde_json::Value::Object(f), serde_json::Value::Object(s)) =
                    (&mut figures, stored)
                {
                    f.extend(s);
                }
                (Ok(figures), false)
            }
            Err(e) => (Err(e), false),
        }
    }

    /// The source read whole and mapped, with figures about the reading.
    async fn read(&self) -> Result<(Inventory, serde_json::Value), (String, bool)> {
        match (&self.source.reader, &self.policy) {
            (Reader::Aws { target, types }, Policy::Aws(policy)) => {
                let client = aws::client(target).await;
                let found = aws::discover(&client, policy, types)
                    .await
                    .map_err(|e| call_error("AWS Config", &e))?;
                let rules = self.rules.clone();
                let items = found.items;
                let n = items.len();
                let inventory = tokio::task::spawn_blocking(move || {
                    rampart_asset::aws_config::to_inventory(&items, &rules)
                })
                .await
                .map_err(|e| (format!("mapping configuration items: {e}"), false))?;
                Ok((
                    inventory,
                    serde_json::json!({
                        "listed": found.listed,
                        "configuration_items": n,
                        "unprocessed": found.unprocessed,
                    }),
                ))
            }
            (
                Reader::Google {
                    account,
                    subject,
                    customer,
                    api_base,
                },
                Policy::Google(policy),
            ) => {
                let assertion = account
                    .assertion(subject, Utc::now().timestamp())
                    .map_err(|e| (e.to_string(), false))?;
                let bearer = policy
                    .call(|| google::token(&self.http, &account.token_uri, &assertion))
                    .await
                    .map_err(|e| call_error("Google token", &e))?;
                let customer_path = format!("{api_base}/admin/directory/v1/customer/{customer}");
                let mut pages = BTreeMap::new();
                let mut lists = Vec::new();
                for (what, url, key) in [
                    (
                        "mobile devices",
                        format!("{customer_path}/devices/mobile"),
                        "mobiledevices",
                    ),
                    (
                        "ChromeOS devices",
                        format!("{customer_path}/devices/chromeos"),
                        "chromeosdevices",
                    ),
                    (
                        "users",
                        reqwest::Url::parse_with_params(
                            &format!("{api_base}/admin/directory/v1/users"),
                            [("customer", customer.as_str())],
                        )
                        .map_err(|e| (format!("the users URL: {e}"), false))?
                        .to_string(),
                        "users",
                    ),
                ] {
                    let (items, n) = google::list_all(&self.http, policy, &url, &bearer, key)
                        .await
                        .map_err(|e| call_error(&format!("Google Directory {what}"), &e))?;
                    pages.insert(key, n);
                    lists.push(items);
                }
                let users = lists.pop().unwrap_or_default();
                let chromeos = lists.pop().unwrap_or_default();
                let mobile = lists.pop().unwrap_or_default();
                let counts = serde_json::json!({
                    "pages": pages,
                    "mobile_devices": mobile.len(),
                    "chromeos_devices": chromeos.len(),
                    "users": users.len(),
                });
                let rules = self.rules.clone();
                let inventory = tokio::task::spawn_blocking(move || {
                    rampart_asset::google_workspace::to_inventory(
                        &mobile, &chromeos, &users, &rules,
                    )
                })
                .await
                .map_err(|e| (format!("mapping Directory resources: {e}"), false))?;
                Ok((inventory, counts))
            }
            _ => Err(("the source's policy does not fit its kind".into(), false)),
        }
    }

    /// Stores the inventory, records the run's absences and retires what reached the limit.
    async fn store(&self, inventory: Inventory) -> Result<serde_json::Value, String> {
        let keys: Vec<String> = inventory.assets.iter().map(|a| a.key.clone()).collect();
        let (assets, warnings) = (inventory.assets.len(), inventory.warnings.clone());
        let stored = self
            .asset
            .ask(StoreInventory {
                inventory: Arc::new(inventory),
                fault: None,
            })
            .await
            .map_err(|e| format!("asset management could not store the inventory: {e}"))??;
        let absences =
            migrations::record_run(&self.db, &self.source.name, &keys, self.source.retire_after)
                .await
                .map_err(|e| format!("recording the run: {e}"))?;
        let mut retired = Vec::new();
        for key in absences.retire {
            match self.asset.ask(RetireAsset { key: key.clone() }).await {
                Ok(Ok(_)) => {
                    if let Err(e) = migrations::forget(&self.db, &self.source.name, &key).await {
                        tracing::warn!(source = %self.source.name, error = %e, "forgetting a retired asset");
                    }
                    retired.push(key);
                }
                // Kept: the next successful run tries again.
                Ok(Err(e)) => {
                    tracing::warn!(source = %self.source.name, error = %e, "retiring an absent asset")
                }
                Err(e) => {
                    tracing::warn!(source = %self.source.name, error = %e, "retiring an absent asset")
                }
            }
        }
        Ok(serde_json::json!({
            "assets": assets,
            "discovered": stored.discovered.len(),
            "changed": stored.changed.len(),
            "unchanged": stored.unchanged,
            "absent": absences.pending,
            "retired": retired,
            "warnings": warnings.into_iter().take(20).collect::<Vec<_>>(),
        }))
    }
}
