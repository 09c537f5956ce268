//! The secure API edge, traffic part: what AWS WAF, AWS Shield and API Gateway's throttling do
//! in front of an API, done by the node itself.
//!
//! - [`rules`]: ordered WAF-style rules (IP sets, countries from [`geo`], sizes, methods, paths,
//!   rate-based statements), from a file validated at load and reloaded on change;
//! - [`middleware::filter`] (outside the authorizer): connection limits per IP ([`conn`]),
//!   requests per connection, a bound on requests in flight with fast 503 shedding, header
//!   limits (431), the client address (the socket's, or `X-Forwarded-For` through the trusted
//!   proxies only), the rules (403, or 429 for a rate-based block);
//! - [`middleware::throttle`] (inside the authorizer, where the client is known): API Gateway's
//!   token buckets per client and per route ([`limiter`], bounded keyed state), 429 with
//!   `Retry-After` and the IETF `RateLimit` / `RateLimit-Policy` headers;
//! - [`alarms`]: a rate rule tripping past a threshold, or authentication failures from one
//!   source past a threshold, raise one `alarm.raised` per source and window, which
//!   IncidentResponse turns into an incident.
//!
//! The probe routes (`/livez`, `/readyz`, `/startupz`) are never shed nor throttled, so a
//! flood does not make Kubernetes restart a node that is defending itself.

pub mod alarms;
pub mod conn;
pub mod geo;
pub mod limiter;
pub mod middleware;
pub mod rules;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use ipnet::IpNet;
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use serde::{Deserialize, Serialize};

use limiter::KeyedLimiter;
use rules::{RateKey, RuleFile, RuleSet};

/// `[shield]` settings. Every limit has a default that protects a node out of the box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShieldConfig {
    /// Off: no rules, no throttling, no shedding (logged at ERROR at start). Default on.
    pub enabled: bool,
    /// The WAF-style rules file ([`rules`] docs); none: every request passes the rules.
    pub rules_file: Option<PathBuf>,
    /// How often the rules file is checked for a change, ms. Default 2000.
    pub rules_reload_ms: u64,
    /// Country databases for `geo_match` (MMDB or CSV ranges, [`geo`] docs), asked in order.
    pub geo_databases: Vec<PathBuf>,
    /// Proxies whose `X-Forwarded-For` is believed (CIDRs). Default none: the socket's address
    /// is the client's.
    pub trusted_proxies: Vec<IpNet>,
    /// Requests being handled at once past which new ones get a fast 503. Default 1024.
    pub max_in_flight: usize,
    /// Most request headers; more get 431. Default 64 (actix-web's own hard limit is 96).
    pub max_headers: usize,
    /// Most bytes of all request headers (names + values); more get 431. Default 16 KiB.
    pub max_header_bytes: usize,
    /// Open connections of the whole node (split over the workers). Default 10000.
    pub max_connections: usize,
    /// Open connections of one client address; more are shut at accept. Default 128.
    pub max_connections_per_ip: usize,
    /// Time for a client to send a request's head (slowloris), ms; then 408 and close.
    /// Default 5000.
    pub client_request_timeout_ms: u64,
    /// Time for a client to close after the server did, ms. Default 1000.
    pub client_disconnect_timeout_ms: u64,
    /// Idle keep-alive, seconds (0: no keep-alive). Default 5.
    pub keep_alive_s: u64,
    /// Requests on one connection, after which it is closed (`Connection: close`). Default 1000.
    pub max_requests_per_connection: u64,
    /// Keys each rate limiter holds at most ([`limiter`] docs). Default 65536.
    pub max_rate_keys: u64,
    /// `[shield.throttle]`.
    pub throttle: ThrottleConfig,
    /// `[shield.alarms]`.
    pub alarms: alarms::AlarmConfig,
}

impl Default for ShieldConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rules_file: None,
            rules_reload_ms: 2000,
            geo_databases: Vec::new(),
            trusted_proxies: Vec::new(),
            max_in_flight: 1024,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            max_connections: 10_000,
            max_connections_per_ip: 128,
            client_request_timeout_ms: 5000,
            client_disconnect_timeout_ms: 1000,
            keep_alive_s: 5,
            max_requests_per_connection: 1000,
            max_rate_keys: 65_536,
            throttle: ThrottleConfig::default(),
            alarms: alarms::AlarmConfig::default(),
        }
    }
}

/// `[shield.throttle]`: API Gateway's throttling (rate and burst token buckets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Default on.
    pub enabled: bool,
    /// Requests per second of one client (the token's `client_id`, else `sub`; the client
    /// address on public routes). Default 500.
    pub rate_per_s: f64,
    /// Bucket size of one client. Default 1000.
    pub burst: u32,
    /// Limits of single routes, for all clients together (API Gateway's method throttling).
    pub routes: Vec<RouteThrottle>,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rate_per_s: 500.0,
            burst: 1000,
            routes: Vec::new(),
        }
    }
}

/// One `[[shield.throttle.routes]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteThrottle {
    /// Upper-case method.
    pub method: String,
    /// The route as registered, e.g. `/api/v1/assets/{id}/risk`.
    pub path: String,
    /// Requests per second.
    pub rate_per_s: f64,
    /// Bucket size.
    pub burst: u32,
}

/// The client address of a request as the shield resolved it (request extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client address of `req`: the shield's resolution, else the socket's.
pub fn client_ip(req: &actix_web::dev::ServiceRequest) -> Option<IpAddr> {
    use actix_web::HttpMessage as _;
    req.extensions()
        .get::<ClientAddr>()
        .map(|c| c.0)
        .or_else(|| req.peer_addr().map(|a| a.ip()))
}

/// The client address from the socket's `peer` and the `X-Forwarded-For` values `xff`: when
/// `peer` is a trusted proxy, the rightmost address that is not a trusted proxy (each proxy
/// appends the address it saw, so the entries left of the last untrusted hop are the client's
/// to forge); otherwise `peer`. A malformed header is ignored.
pub fn resolve_client(peer: IpAddr, xff: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops = Vec::new();
    for v in xff {
        for part in v.split(',') {
            match parse_hop(part) {
                Some(ip) => hops.push(ip),
                None => return peer,
            }
        }
    }
    let mut client = peer;
    for ip in hops.into_iter().rev() {
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, `[v6]` or `[v6]:port` or `v4:port` tolerated.
fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// Prometheus metrics in the style of AWS WAF / Shield Advanced's CloudWatch metrics.
pub struct ShieldMetrics {
    /// `rampart_shield_requests_total{rule, action}`: decisions per rule (`default` for the
    /// default action; `count` rules with action `count`).
    pub requests: IntCounterVec,
    /// `rampart_shield_blocked_requests_total`: requests refused by rules, throttling,
    /// shedding or header limits.
    pub blocked: IntCounter,
    /// `rampart_shield_blocked_requests_per_second`: over the last whole second (Shield's
    /// `DDoSAttackRequestsPerSecond`).
    pub blocked_per_s: IntGauge,
    /// `rampart_shield_ddos_detected`: 1 while an attack alarm raised in the current window
    /// stands (Shield's `DDoSDetected`).
    pub ddos_detected: IntGauge,
    /// `rampart_shield_throttled_total{scope}`: 429 from throttling (`client`, `route`).
    pub throttled: IntCounterVec,
    /// `rampart_shield_shed_total`: fast 503 past `max_in_flight`.
    pub shed: IntCounter,
    /// `rampart_shield_in_flight`: requests being handled.
    pub in_flight: IntGauge,
    /// `rampart_shield_refused_total{reason}`: `headers` (431), `connection_per_ip`.
    pub refused: IntCounterVec,
    /// `rampart_shield_connections`: open connections seen by the shield.
    pub connections: IntGauge,
    /// `rampart_shield_rate_keys{limiter}`: keys held by each limiter (bounded).
    pub rate_keys: IntGaugeVec,
    /// `rampart_shield_rules_reloads_total{outcome}`: `loaded`, `refused`.
    pub reloads: IntCounterVec,
    /// `rampart_shield_alarms_raised_total{kind}`: `rate_rule`, `auth_failures`.
    pub alarms: IntCounterVec,
}

impl ShieldMetrics {
    fn new(registry: &Registry) -> prometheus::Result<Self> {
        fn reg<C: prometheus::core::Collector + Clone + 'static>(
            r: &Registry,
            c: C,
        ) -> prometheus::Result<C> {
            r.register(Box::new(c.clone()))?;
            Ok(c)
        }
        Ok(Self {
            requests: reg(
                registry,
                IntCounterVec::new(
                    Opts::new("rampart_shield_requests_total", "rule decisions"),
                    &["rule", "action"],
                )?,
            )?,
            blocked: reg(
                registry,
                IntCounter::new("rampart_shield_blocked_requests_total", "requests refused")?,
            )?,
            blocked_per_s: reg(
                registry,
                IntGauge::new(
                    "rampart_shield_blocked_requests_per_second",
                    "requests refused in the last whole second",
                )?,
            )?,
            ddos_detected: reg(
                registry,
                IntGauge::new(
                    "rampart_shield_ddos_detected",
                    "1 while an attack alarm of the current window stands",
                )?,
            )?,
            throttled: reg(
                registry,
                IntCounterVec::new(
                    Opts::new("rampart_shield_throttled_total", "429 from throttling"),
                    &["scope"],
                )?,
            )?,
            shed: reg(
                registry,
                IntCounter::new("rampart_shield_shed_total", "503 past max_in_flight")?,
            )?,
            in_flight: reg(
                registry,
                IntGauge::new("rampart_shield_in_flight", "requests being handled")?,
            )?,
            refused: reg(
                registry,
                IntCounterVec::new(
                    Opts::new("rampart_shield_refused_total", "refused before the rules"),
                    &["reason"],
                )?,
            )?,
            connections: reg(
                registry,
                IntGauge::new("rampart_shield_connections", "open connections")?,
            )?,
            rate_keys: reg(
                registry,
                IntGaugeVec::new(
                    Opts::new("rampart_shield_rate_keys", "keys held by a rate limiter"),
                    &["limiter"],
                )?,
            )?,
            reloads: reg(
                registry,
                IntCounterVec::new(
                    Opts::new("rampart_shield_rules_reloads_total", "rules file reloads"),
                    &["outcome"],
                )?,
            )?,
            alarms: reg(
                registry,
                IntCounterVec::new(
                    Opts::new("rampart_shield_alarms_raised_total", "alarm.raised events"),
                    &["kind"],
                )?,
            )?,
        })
    }
}

/// The rate-based rules' limiters, by rule name, with the `(limit, window_s)` they were made for.
type RateLimiters = HashMap<String, (u64, u64, Arc<KeyedLimiter<RateKey>>)>;

/// What the shield middlewares share (`web::Data<Shield>`).
pub struct Shield {
    /// The settings.
    pub cfg: ShieldConfig,
    rules: Option<RuleFile>,
    geo: geo::Geo,
    rate: ArcSwap<RateLimiters>,
    throttle_client: Option<KeyedLimiter<String>>,
    throttle_routes: HashMap<(String, String), KeyedLimiter<()>>,
    in_flight: AtomicUsize,
    /// Connection accounting (per IP).
    pub conns: conn::ConnTracker,
    alarms: alarms::Alarms,
    /// The metrics.
    pub metrics: ShieldMetrics,
    blocked_last: AtomicU64,
    block_log: moka::sync::Cache<(String, IpAddr), ()>,
}

/// A shield that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ShieldError {
    /// The rules file.
    #[error(transparent)]
    Rules(#[from] rules::RuleFileError),
    /// A country database.
    #[error(transparent)]
    Geo(#[from] geo::GeoError),
    /// A throttle or rate limit.
    #[error("shield.throttle: {0}")]
    Limit(#[from] limiter::LimitError),
    /// A rule needs a country database and none is configured.
    #[error("the rules use geo_match but shield.geo_databases is empty")]
    NoGeo,
    /// Metrics registration.
    #[error("shield metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

fn uses_geo(s: &rules::Statement) -> bool {
    use rules::Statement as S;
    match s {
        S::GeoMatch(_) => true,
        S::And(v) | S::Or(v) => v.iter().any(uses_geo),
        S::Not(s) => uses_geo(s),
        S::RateBased { scope_down, .. } => scope_down.as_deref().is_some_and(uses_geo),
        _ => false,
    }
}

impl Shield {
    /// Builds the shield from `cfg`, raising alarms into `db`'s outbox as node `node`.
    ///
    /// # Errors
    /// [`ShieldError`]: a bad rules file or country database (with file and line), a rule
    /// using `geo_match` without a database, a bad throttle, metrics registration.
    pub fn new(
        cfg: &ShieldConfig,
        db: &rampart_platform::Db,
        node: &str,
        registry: &Registry,
    ) -> Result<Arc<Self>, ShieldError> {
        let rules = cfg.rules_file.as_deref().map(RuleFile::open).transpose()?;
        let geo = geo::Geo::open(&cfg.geo_databases)?;
        if geo.is_empty()
            && rules
                .as_ref()
                .is_some_and(|r| r.current().rules.iter().any(|r| uses_geo(&r.statement)))
        {
            return Err(ShieldError::NoGeo);
        }
        let t = &cfg.throttle;
        let throttle_client = if t.enabled {
            Some(KeyedLimiter::per_second(
                t.rate_per_s,
                t.burst,
                cfg.max_rate_keys,
            )?)
        } else {
            None
        };
        let mut throttle_routes = HashMap::new();
        if t.enabled {
            for r in &t.routes {
                throttle_routes.insert(
                    (r.method.to_ascii_uppercase(), r.path.clone()),
                    KeyedLimiter::per_second(r.rate_per_s, r.burst, 1)?,
                );
            }
        }
        let shield = Arc::new(Self {
            cfg: cfg.clone(),
            geo,
            rate: ArcSwap::from_pointee(HashMap::new()),
            throttle_client,
            throttle_routes,
            in_flight: AtomicUsize::new(0),
            conns: conn::ConnTracker::new(cfg.max_connections_per_ip),
            alarms: alarms::Alarms::new(&cfg.alarms, db.clone(), node),
            metrics: ShieldMetrics::new(registry)?,
            blocked_last: AtomicU64::new(0),
            block_log: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(10))
                .build(),
            rules,
        });
        if let Some(r) = &shield.rules {
            shield.rebuild_rate_limiters(&r.current())?;
        }
        Ok(shield)
    }

    /// Makes the limiters of `set`'s rate-based rules, keeping the state of a rule whose name,
    /// limit and window are unchanged.
    fn rebuild_rate_limiters(&self, set: &RuleSet) -> Result<(), limiter::LimitError> {
        let old = self.rate.load();
        let mut next = HashMap::new();
        for (name, limit, window_s) in set.rate_rules() {
            let l = match old.get(name) {
                Some((l0, w0, l)) if *l0 == limit && *w0 == window_s => l.clone(),
                _ => Arc::new(KeyedLimiter::per_window(
                    limit,
                    Duration::from_secs(window_s),
                    self.cfg.max_rate_keys,
                )?),
            };
            next.insert(name.to_owned(), (limit, window_s, l));
        }
        self.rate.store(Arc::new(next));
        Ok(())
    }

    /// Starts the shield's timers on the current tokio runtime: the rules file reload every
    /// `rules_reload_ms`, and the per-second metrics.
    pub fn spawn_timers(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if self.rules.is_some() {
            let s = self.clone();
            tasks.push(tokio::spawn(async move {
                let mut tick =
                    tokio::time::interval(Duration::from_millis(s.cfg.rules_reload_ms.max(100)));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    s.reload_rules();
                }
            }));
        }
        let s = self.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                s.tick_metrics();
            }
        }));
        tasks
    }

    /// Checks the rules file once (what the reload timer does): new rules are put in force,
    /// a bad file is logged with its line and the rules in force stay.
    pub fn reload_rules(&self) {
        let Some(file) = &self.rules else { return };
        match file.reload_if_changed() {
            Ok(false) => {}
            Ok(true) => match self.rebuild_rate_limiters(&file.current()) {
                Ok(()) => {
                    self.metrics.reloads.with_label_values(&["loaded"]).inc();
                    tracing::info!(rules = file.current().rules.len(), "shield rules reloaded");
                }
                Err(e) => tracing::error!(error = %e, "shield rules: rate limiter"),
            },
            Err(e) => {
                self.metrics.reloads.with_label_values(&["refused"]).inc();
                tracing::error!(error = %e, "shield rules file refused; the rules in force stay");
            }
        }
    }

    fn tick_metrics(&self) {
        let total = self.metrics.blocked.get();
        let last = self.blocked_last.swap(total, Ordering::Relaxed);
        self.metrics
            .blocked_per_s
            .set(i64::try_from(total.saturating_sub(last)).unwrap_or(i64::MAX));
        self.metrics
            .ddos_detected
            .set(i64::from(self.alarms.attack_standing()));
        let set = |name: &str, keys: u64| {
            self.metrics
                .rate_keys
                .with_label_values(&[name])
                .set(i64::try_from(keys).unwrap_or(i64::MAX));
        };
        if let Some(l) = &self.throttle_client {
            l.run_pending_tasks();
            set("throttle:client", l.keys());
        }
        for (name, (_, _, l)) in self.rate.load().iter() {
            l.run_pending_tasks();
            set(&format!("rule:{name}"), l.keys());
        }
    }

    /// The rules in force (none configured: `None`).
    pub fn rules(&self) -> Option<Arc<RuleSet>> {
        self.rules.as_ref().map(RuleFile::current)
    }
}

/// [`rules::Context`] over the shield's country databases and rate limiters.
struct EvalCtx<'a> {
    geo: &'a geo::Geo,
    rate: &'a RateLimiters,
}

impl rules::Context for EvalCtx<'_> {
    fn country(&self, ip: IpAddr) -> Option<String> {
        self.geo.country(ip)
    }

    fn over_rate(
        &self,
        rule: &str,
        _limit: u64,
        _window_s: u64,
        key: &RateKey,
    ) -> Option<Duration> {
        let (_, _, l) = self.rate.get(rule)?;
        match l.check(key) {
            limiter::Decision::Allowed { .. } => None,
            limiter::Decision::Limited { retry_after } => Some(retry_after),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // An untrusted peer's header is ignored.
        assert_eq!(
            resolve_client(ip("192.0.2.1"), &["203.0.113.9"], &trusted),
            ip("192.0.2.1")
        );
        // Through a trusted proxy: the rightmost untrusted hop; what the client wrote to the
        // left of it is not believed.
        assert_eq!(
            resolve_client(
                ip("10.0.0.2"),
                &["1.1.1.1, 203.0.113.9, 10.0.0.3"],
                &trusted
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve_client(ip("10.0.0.2"), &["1.1.1.1", "[2001:db8::1]:443"], &trusted),
            ip("2001:db8::1")
        );
        // A malformed header: the peer.
        assert_eq!(
            resolve_client(ip("10.0.0.2"), &["1.1.1.1, nonsense"], &trusted),
            ip("10.0.0.2")
        );
        // Only trusted hops: the leftmost.
        assert_eq!(
            resolve_client(ip("10.0.0.2"), &["10.0.0.7"], &trusted),
            ip("10.0.0.7")
        );
    }
}
