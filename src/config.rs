//! The node's configuration: one typed struct, loaded from `config/default.toml` (or `--config`),
//! then the environment (`RAMPART_*`, nested keys joined by `__`, e.g.
//! `RAMPART_HTTP__LISTEN=0.0.0.0:8080`), then command-line flags; printed at start.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use rampart_supervisors::resilience::{
    CircuitBreakerConfig, FallbackConfig, PolicyConfig, RetryConfig, TimeLimiterConfig,
};
use rampart_supervisors::{ProbeConfig, Probes, RestartBackoff};
use serde::{Deserialize, Serialize};

/// Whole node configuration. Every field has a default, so an empty file is valid.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Node identity.
    pub node: NodeConfig,
    /// HTTP API.
    pub http: HttpConfig,
    /// Supervision of the node's actors.
    pub supervision: SupervisionConfig,
    /// Probes given to every service actor.
    pub probes: ProbesConfig,
    /// Storage.
    pub database: DatabaseConfig,
    /// The demonstration tree.
    pub demo: DemoConfig,
    /// The service API (imports, feeds, risk queries).
    pub api: ApiConfig,
    /// AssetManagement: criticality rules for assets whose input gives none.
    pub assets: rampart_asset::CriticalityRules,
    /// The event bus between services and nodes.
    pub bus: BusConfig,
    /// RiskAnalysis: triage and SSVC.
    pub risk: RiskConfig,
    /// `[intel]`: threat-intelligence sources pulled on schedule ([`crate::intel`]).
    pub intel: crate::intel::IntelConfig,
    /// `[discovery]`: AWS Config and Google Workspace sources read on schedule
    /// ([`crate::discovery`]).
    pub discovery: crate::discovery::DiscoveryConfig,
    /// `[console]`: the web console ([`crate::console`]).
    pub console: crate::console::ConsoleConfig,
    /// IncidentResponse: when a risk finding opens an incident.
    pub incidents: rampart_incident::store::OpenRule,
    /// ControlMapping: Rampart's weakness -> control rules.
    pub controls: ControlsConfig,
    /// The identity edge: token service, authorizer, RBAC ([`crate::auth`]).
    pub auth: crate::auth::AuthConfig,
    /// `[shield]`: WAF-style rules, throttling and connection shielding (src/shield).
    pub shield: crate::shield::ShieldConfig,
}

/// RiskAnalysis settings (`[risk]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// How often accepted risks are checked for expiry, ms (at least 100; default 60,000).
    pub acceptance_check_ms: u64,
    /// Asset criticality -> SSVC mission prevalence and public well-being (`[risk.ssvc]`).
    pub ssvc: rampart_risk::ssvc::CriticalityMapping,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            acceptance_check_ms: 60_000,
            ssvc: rampart_risk::ssvc::CriticalityMapping::default(),
        }
    }
}

/// ControlMapping settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlsConfig {
    /// Weakness -> SP 800-53 rules ([`rampart_control::rules`]); a finding maps to the
    /// union of the controls of every rule it matches.
    pub rules: Vec<rampart_control::rules::WeaknessRule>,
}

impl Default for ControlsConfig {
    fn default() -> Self {
        Self {
            rules: rampart_control::rules::default_rules(),
        }
    }
}

/// The event bus: in-process (no `amqp_url`) or RabbitMQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    /// RabbitMQ URL (`amqp://USER:PASS@HOST:5672/%2f`); empty: the in-process bus. Also
    /// `--amqp-url` or `RAMPART_AMQP_URL`.
    pub amqp_url: String,
    /// Prefix of the exchanges and queues (default `rampart`): deployments sharing a broker use
    /// different ones.
    pub namespace: String,
    /// Unacknowledged deliveries per consumer (`basic.qos` prefetch). Default 64.
    pub prefetch: u16,
    /// Deliveries of one event before its consumer dead-letters it. Default 5.
    pub max_deliveries: u32,
    /// Longest wait for a publisher confirm, ms. Default 10000.
    pub confirm_timeout_ms: u64,
    /// First reconnection delay, ms (then doubling, with jitter). Default 100.
    pub reconnect_initial_ms: u64,
    /// Largest reconnection delay, ms. Default 10000.
    pub reconnect_max_ms: u64,
    /// File holding the password of the `amqp_url`'s user (a Docker secret such as
    /// `/run/secrets/amqp-password`); the URL then has no password. Read at every connection.
    pub amqp_password_file: Option<std::path::PathBuf>,
    /// `amqps://` only: PEM CA certificate(s) the broker's certificate chains to (trusted besides
    /// the system's roots).
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// `amqps://` only: PEM client certificate presented to the broker (RabbitMQ EXTERNAL auth
    /// with `?auth_mechanism=external` in the URL); needs `tls_client_key_file`.
    pub tls_client_cert_file: Option<std::path::PathBuf>,
    /// `amqps://` only: PEM private key of `tls_client_cert_file` (unencrypted).
    pub tls_client_key_file: Option<std::path::PathBuf>,
}

impl Default for BusConfig {
    fn default() -> Self {
        let a = rampart_platform::bus::amqp::AmqpConfig::default();
        Self {
            amqp_url: String::new(),
            namespace: a.namespace,
            prefetch: a.prefetch,
            max_deliveries: a.max_deliveries,
            confirm_timeout_ms: a.confirm_timeout_ms,
            reconnect_initial_ms: a.reconnect_initial_ms,
            reconnect_max_ms: a.reconnect_max_ms,
            amqp_password_file: a.password_file,
            tls_ca_file: a.tls_ca_file,
            tls_client_cert_file: a.tls_client_cert_file,
            tls_client_key_file: a.tls_client_key_file,
        }
    }
}

impl BusConfig {
    /// The RabbitMQ settings, when a URL is set.
    pub fn amqp(&self) -> Option<rampart_platform::bus::amqp::AmqpConfig> {
        (!self.amqp_url.trim().is_empty()).then(|| rampart_platform::bus::amqp::AmqpConfig {
            url: self.amqp_url.trim().to_owned(),
            namespace: self.namespace.clone(),
            prefetch: self.prefetch,
            max_deliveries: self.max_deliveries,
            confirm_timeout_ms: self.confirm_timeout_ms,
            reconnect_initial_ms: self.reconnect_initial_ms,
            reconnect_max_ms: self.reconnect_max_ms,
            password_file: self.amqp_password_file.clone(),
            tls_ca_file: self.tls_ca_file.clone(),
            tls_client_cert_file: self.tls_client_cert_file.clone(),
            tls_client_key_file: self.tls_client_key_file.clone(),
        })
    }
}

/// Settings of the service API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Largest inventory or feed body accepted, bytes; larger ones get 413. Default 64 MiB.
    pub max_import_bytes: usize,
    /// Most import and feed jobs accepted but not finished, per node; more get 503 with
    /// `Retry-After`. Default 8.
    pub max_pending_jobs: usize,
    /// Policy of `GET /api/v1/assets/{id}/risk` calls to RiskAnalysis (retry, breaker, time
    /// limiter, bulkhead, cached fallback served marked stale). Defaults: 2 attempts, window 20
    /// calls, minimum 10, 10 s open, 2 s timeout, 5 min cache.
    pub risk_query: PolicyConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_import_bytes: 64 * 1024 * 1024,
            max_pending_jobs: 8,
            risk_query: PolicyConfig {
                retry: RetryConfig {
                    max_attempts: 2,
                    initial_interval_ms: 100,
                    ..RetryConfig::default()
                },
                circuit_breaker: CircuitBreakerConfig {
                    sliding_window_size: 20,
                    minimum_number_of_calls: 10,
                    wait_duration_in_open_state_ms: 10_000,
                    permitted_number_of_calls_in_half_open_state: 3,
                    ..CircuitBreakerConfig::default()
                },
                time_limiter: TimeLimiterConfig {
                    timeout_duration_ms: 2000,
                },
                fallback: Some(FallbackConfig::default()),
                ..PolicyConfig::default()
            },
        }
    }
}

/// Storage settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created with its folder on first run) or `postgres://USER[:PASS]@HOST/DB`.
    /// Default `sqlite://data/rampart.sqlite`, relative to the working directory.
    pub url: String,
    /// Pooled connections. Default 8.
    pub max_connections: u32,
    /// Wait for a connection, ms. Default 5000.
    pub connect_timeout_ms: u64,
    /// PostgreSQL only: schema holding Rampart's tables (created if missing). Default: none,
    /// the server's search path (normally `public`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// PostgreSQL only: a file holding the password of `url`'s user (a Docker or Kubernetes
    /// secret; trailing whitespace is not part of it). The URL must then name a user and no
    /// password. Default: none (the URL's own password, if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<std::path::PathBuf>,
}

impl DatabaseConfig {
    /// The URL to connect with, as a secret: `url`, with the password of `password_file` put
    /// in its user-info (percent-encoded, RFC 3986 §3.2.1) when that is set.
    ///
    /// # Errors
    /// A message naming the setting (never the password): an unreadable or empty file, a URL
    /// that does not parse, is not `postgres://`, has no user or already has a password.
    pub fn connection_url(&self) -> Result<secrecy::SecretString, String> {
        let Some(path) = &self.password_file else {
            return Ok(secrecy::SecretString::from(self.url.clone()));
        };
        let mut u = url::Url::parse(&self.url).map_err(|e| {
            format!(
                "database.url ({}) does not parse: {e}",
                redact_url(&self.url)
            )
        })?;
        if !matches!(u.scheme(), "postgres" | "postgresql") {
            return Err("database.password_file is for postgres:// URLs".to_owned());
        }
        if u.password().is_some() {
            return Err(format!(
                "both database.url and database.password_file ({}) give a password: keep one",
                path.display()
            ));
        }
        if u.username().is_empty() {
            return Err(
                "database.password_file needs a user in database.url (postgres://USER@HOST/DB)"
                    .to_owned(),
            );
        }
        let raw = std::fs::read_to_string(path)
            .map_err(|e| format!("reading database.password_file {}: {e}", path.display()))?;
        let password = raw.trim_end();
        if password.is_empty() {
            return Err(format!(
                "database.password_file {} is empty",
                path.display()
            ));
        }
        u.set_password(Some(password))
            .map_err(|()| "database.url cannot hold a password".to_owned())?;
        Ok(secrecy::SecretString::from(String::from(u)))
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: rampart_platform::DEFAULT_URL.to_owned(),
            max_connections: 8,
            connect_timeout_ms: 5000,
            schema: None,
            password_file: None,
        }
    }
}

/// `url` with its password (if any) replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl Config {
    /// A copy safe to print: secrets (database and broker passwords) replaced by `***`.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        c.database.url = redact_url(&c.database.url);
        c.bus.amqp_url = redact_url(&c.bus.amqp_url);
        c
    }
}

/// Node identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Names the node in logs, metrics and message envelopes. Default `rampart-1`.
    pub id: String,
    /// The services this node runs (its roles): `asset`, `risk`, `control`, `incident`, `audit`.
    /// Default: all. Several nodes may
    /// run the same service: they share its queue as competing consumers.
    pub services: Vec<String>,
    /// Directory of the node's own files (the bootstrap admin's credentials). Default `data`.
    pub data_dir: std::path::PathBuf,
    /// Period of the node's heartbeat in the node registry ([`crate::nodes`]), in s; a node is
    /// shown unreachable after three missed. Default 10.
    pub heartbeat_s: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            id: "rampart-1".to_owned(),
            data_dir: std::path::PathBuf::from("data"),
            heartbeat_s: 10,
            services: crate::services::ALL_SERVICES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

/// HTTP API settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Largest accepted request body, in bytes; larger bodies get 413. Default 1 MiB.
    pub max_body_bytes: usize,
    /// actix-web worker threads (0: one per core). Default 0.
    pub workers: usize,
    /// `[http.tls]`: TLS 1.3 on the listener when `cert_file` and `key_file` are both set
    /// (certificates reloaded without a restart, HSTS on every response); plain HTTP when
    /// neither is. Default: off.
    pub tls: crate::tls::TlsConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1024 * 1024,
            workers: 0,
            tls: crate::tls::TlsConfig::default(),
        }
    }
}

/// Restart intensity and crash-loop backoff of the node's supervisors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisionConfig {
    /// Erlang/OTP intensity: restarts allowed within `within_ms`. Default 3.
    pub max_restarts: u32,
    /// Erlang/OTP period, ms. Default 5000.
    pub within_ms: u64,
    /// CrashLoopBackOff: delay of the second consecutive restart, ms. Default 100.
    pub backoff_initial_ms: u64,
    /// CrashLoopBackOff growth factor. Default 2.0.
    pub backoff_factor: f64,
    /// CrashLoopBackOff cap, ms. Default 30000.
    pub backoff_max_ms: u64,
    /// A run this long resets the backoff, ms. Default 60000.
    pub backoff_reset_after_ms: u64,
}

impl Default for SupervisionConfig {
    fn default() -> Self {
        let b = RestartBackoff::default();
        Self {
            max_restarts: 3,
            within_ms: 5000,
            backoff_initial_ms: ms(b.initial),
            backoff_factor: b.factor,
            backoff_max_ms: ms(b.max),
            backoff_reset_after_ms: ms(b.reset_after),
        }
    }
}

impl SupervisionConfig {
    /// The backoff as the runtime takes it.
    pub fn backoff(&self) -> RestartBackoff {
        RestartBackoff {
            initial: Duration::from_millis(self.backoff_initial_ms),
            factor: self.backoff_factor,
            max: Duration::from_millis(self.backoff_max_ms),
            reset_after: Duration::from_millis(self.backoff_reset_after_ms),
        }
    }

    /// The intensity window.
    pub fn within(&self) -> Duration {
        Duration::from_millis(self.within_ms)
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One probe, Kubernetes' fields in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeSettings {
    /// Off when false. Default true.
    pub enabled: bool,
    /// `initialDelaySeconds`, in ms. Default 0.
    pub initial_delay_ms: u64,
    /// `periodSeconds`, in ms. Default 10000.
    pub period_ms: u64,
    /// `timeoutSeconds`, in ms. Default 1000.
    pub timeout_ms: u64,
    /// `failureThreshold`. Default 3.
    pub failure_threshold: u32,
    /// `successThreshold`. Default 1.
    pub success_threshold: u32,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        let p = ProbeConfig::default();
        Self {
            enabled: true,
            initial_delay_ms: ms(p.initial_delay),
            period_ms: ms(p.period),
            timeout_ms: ms(p.timeout),
            failure_threshold: p.failure_threshold,
            success_threshold: p.success_threshold,
        }
    }
}

impl ProbeSettings {
    fn to_probe(self) -> Option<ProbeConfig> {
        self.enabled.then(|| ProbeConfig {
            initial_delay: Duration::from_millis(self.initial_delay_ms),
            period: Duration::from_millis(self.period_ms),
            timeout: Duration::from_millis(self.timeout_ms),
            failure_threshold: self.failure_threshold,
            success_threshold: self.success_threshold,
        })
    }
}

/// Probes of the service actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbesConfig {
    /// Liveness probe.
    pub liveness: ProbeSettings,
    /// Readiness probe.
    pub readiness: ProbeSettings,
    /// Startup probe (off by default).
    pub startup: ProbeSettings,
}

impl Default for ProbesConfig {
    fn default() -> Self {
        Self {
            liveness: ProbeSettings::default(),
            readiness: ProbeSettings::default(),
            startup: ProbeSettings {
                enabled: false,
                ..ProbeSettings::default()
            },
        }
    }
}

impl ProbesConfig {
    /// The probes as the runtime takes them.
    pub fn to_probes(self) -> Probes {
        Probes {
            liveness: self.liveness.to_probe(),
            readiness: self.readiness.to_probe(),
            startup: self.startup.to_probe(),
        }
    }
}

/// The demonstration tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// Runs the `demo` tree. Default true.
    pub enabled: bool,
    /// Enables `POST /api/v1/demo/faults/{panic,stall}`; never turn on in production. Default false.
    pub fault_injection: bool,
    /// Policy of `GET /api/v1/demo/echo-cached` (retry, breaker, time limiter, bulkhead, cached
    /// fallback). Defaults are scaled down from Resilience4j's so the breaker reacts within a
    /// demo: window 10 calls, minimum 5, 5 s open, 500 ms timeout, 2 attempts, 60 s cache.
    pub resilience: PolicyConfig,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            fault_injection: false,
            resilience: PolicyConfig {
                retry: RetryConfig {
                    max_attempts: 2,
                    initial_interval_ms: 100,
                    ..RetryConfig::default()
                },
                circuit_breaker: CircuitBreakerConfig {
                    sliding_window_size: 10,
                    minimum_number_of_calls: 5,
                    wait_duration_in_open_state_ms: 5000,
                    permitted_number_of_calls_in_half_open_state: 2,
                    ..CircuitBreakerConfig::default()
                },
                time_limiter: TimeLimiterConfig {
                    timeout_duration_ms: 500,
                },
                fallback: Some(FallbackConfig::default()),
                ..PolicyConfig::default()
            },
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file given with `--config` does not exist.
    #[error("configuration file {0} not found")]
    NotFound(String),
    /// A value is missing, malformed or unknown.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
}

/// The top-level sections of [`Config`], as environment variables spell them.
const SECTIONS: &[&str] = &[
    "auth",
    "shield",
    "node",
    "http",
    "supervision",
    "probes",
    "database",
    "demo",
    "api",
    "assets",
    "bus",
    "risk",
    "intel",
    "discovery",
    "console",
    "incidents",
    "controls",
];

impl Config {
    /// Loads defaults, then `file` (if given; else `config/default.toml` when present), then
    /// `RAMPART_*` variables.
    ///
    /// # Errors
    /// [`ConfigError::NotFound`] for a missing explicit file, [`ConfigError::Invalid`] for bad values
    /// or unknown keys (the message names the key and its source).
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::NotFound(path.display().to_string()));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("config/default.toml")),
        }
        // Only RAMPART_<SECTION>__<KEY> variables are configuration; others (RAMPART_LOG,
        // RAMPART_CONFIG, RAMPART_TEST_*) belong to other readers.
        fig = fig.merge(
            Env::prefixed("RAMPART_")
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    SECTIONS.iter().any(|s| {
                        k.strip_prefix(s)
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with("__"))
                    })
                })
                .split("__"),
        );
        fig.extract().map_err(|e| ConfigError::Invalid(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_toml_states_exactly_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let shipped: Config = Figment::from(Toml::file(&path)).extract().unwrap();
        assert_eq!(shipped, Config::default());
    }

    #[test]
    fn the_database_password_file_goes_into_the_url() {
        let dir = std::env::temp_dir().join(format!("rampart-dbpw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "p@ss:w/rd\n").unwrap();
        let mut db = DatabaseConfig {
            url: "postgres://rampart@db:5432/rampart".to_owned(),
            password_file: Some(file.clone()),
            ..DatabaseConfig::default()
        };
        use secrecy::ExposeSecret as _;
        assert_eq!(
            db.connection_url().unwrap().expose_secret(),
            "postgres://rampart:p%40ss%3Aw%2Frd@db:5432/rampart"
        );
        db.url = "postgres://rampart:other@db/rampart".to_owned();
        assert!(db.connection_url().unwrap_err().contains("keep one"));
        db.url = "postgres://db/rampart".to_owned();
        assert!(db.connection_url().unwrap_err().contains("needs a user"));
        db.url = "sqlite://data/x.sqlite".to_owned();
        assert!(db.connection_url().is_err());
        std::fs::write(&file, "\n").unwrap();
        db.url = "postgres://rampart@db/rampart".to_owned();
        assert!(db.connection_url().unwrap_err().contains("is empty"));
        db.password_file = Some(dir.join("missing"));
        let e = db.connection_url().unwrap_err();
        assert!(e.contains("database.password_file"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn passwords_are_redacted_for_printing() {
        assert_eq!(
            redact_url("postgres://rampart:s3cret@db:5432/rampart"),
            "postgres://rampart:***@db:5432/rampart"
        );
        assert_eq!(
            redact_url("postgres://rampart@db/r"),
            "postgres://rampart@db/r"
        );
        assert_eq!(
            redact_url("sqlite://data/x.sqlite"),
            "sqlite://data/x.sqlite"
        );
        let mut cfg = Config::default();
        cfg.database.url = "postgres://u:pw@h/d".to_owned();
        cfg.bus.amqp_url = "amqp://mq:mqpw@rabbit:5672/%2f".to_owned();
        let shown = format!("{:?}", cfg.redacted());
        assert!(!shown.contains("pw@") && !shown.contains("mqpw"), "{shown}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure returns figment::Error
    fn only_section_variables_are_read_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RAMPART_TEST_DATABASE_URL", "postgres://elsewhere/x");
            jail.set_env("RAMPART_LOG", "debug");
            jail.set_env("RAMPART_HTTP__MAX_BODY_BYTES", "2048");
            let cfg = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(cfg.http.max_body_bytes, 2048);
            assert_eq!(cfg.database.url, DatabaseConfig::default().url);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Figment::from(Toml::string("[http]\nlisten_on = \"x\"\n"))
            .extract::<Config>()
            .unwrap_err();
        assert!(err.to_string().contains("listen_on"), "{err}");
    }
}
