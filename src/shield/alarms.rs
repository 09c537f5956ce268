//! Attacks become incidents (the seed's Splunk alarm → ServiceNow ticket chain): refusals by a
//! rate-based rule, and authentication failures (401), are counted per source in fixed windows
//! of `window_s`; the request that brings a source's count to the threshold raises one
//! `alarm.raised` ([`rampart_contracts::incident::Alarm`], source `rampart-shield`, id
//! `<kind>:<source>:<window start>`), written to the outbox and published like every event.
//! IncidentResponse opens one incident per alarm source + id, so a flood gives one incident
//! per source and window, not one per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[shield.alarms]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlarmConfig {
    /// Default on.
    pub enabled: bool,
    /// The counting window, seconds. Default 300.
    pub window_s: u64,
    /// Refusals by a rate-based rule of one key within a window that raise an alarm.
    /// Default 100.
    pub rate_refusals: u64,
    /// 401 answers to one client address within a window that raise an alarm. Default 50.
    pub auth_failures: u64,
    /// The incident level of these alarms (`very_low` … `very_high`). Default `high`.
    pub level: String,
    /// Sources counted at once (bounded state). Default 65536.
    pub max_sources: u64,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_s: 300,
            rate_refusals: 100,
            auth_failures: 50,
            level: "high".to_owned(),
            max_sources: 65_536,
        }
    }
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmKind {
    /// Refusals by the rate-based rule (its name in the key).
    RateRule,
    /// 401 answers.
    AuthFailures,
}

impl AlarmKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::RateRule => "rate_rule",
            Self::AuthFailures => "auth_failures",
        }
    }
}

/// The alarm counters and the outbox they write to.
pub struct Alarms {
    cfg: AlarmConfig,
    counts: moka::sync::Cache<(AlarmKind, String, u64), Arc<AtomicU64>>,
    last_raised_window: AtomicU64,
    db: rampart_platform::Db,
    node: String,
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Alarms {
    /// Counters per `cfg`, raising into `db`'s outbox as node `node`.
    pub fn new(cfg: &AlarmConfig, db: rampart_platform::Db, node: &str) -> Self {
        let window = cfg.window_s.max(1);
        Self {
            cfg: AlarmConfig {
                window_s: window,
                ..cfg.clone()
            },
            counts: moka::sync::Cache::builder()
                .max_capacity(cfg.max_sources.max(1))
                .time_to_live(Duration::from_secs(window.saturating_mul(2)))
                .build(),
            last_raised_window: AtomicU64::new(u64::MAX),
            db,
            node: node.to_owned(),
        }
    }

    /// Whether an alarm was raised in the current window.
    pub fn attack_standing(&self) -> bool {
        let w = now_s() / self.cfg.window_s;
        self.last_raised_window.load(Ordering::Relaxed) == w
    }

    /// Counts one event of `kind` for `source` (`detail`: the rule, for rate rules); at the
    /// threshold, raises the alarm (once per kind, source and window). Returns whether it did.
    pub fn count(
        &self,
        kind: AlarmKind,
        source: &str,
        detail: &str,
        metrics: &super::ShieldMetrics,
    ) -> bool {
        if !self.cfg.enabled {
            return false;
        }
        let threshold = match kind {
            AlarmKind::RateRule => self.cfg.rate_refusals,
            AlarmKind::AuthFailures => self.cfg.auth_failures,
        };
        if threshold == 0 {
            return false;
        }
        let window = now_s() / self.cfg.window_s;
        let key = format!("{detail}|{source}");
        let n = self
            .counts
            .get_with((kind, key, window), || Arc::new(AtomicU64::new(0)))
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        if n != threshold {
            return false;
        }
        self.last_raised_window.store(window, Ordering::Relaxed);
        metrics.alarms.with_label_values(&[kind.as_str()]).inc();
        let start = chrono::DateTime::from_timestamp(
            i64::try_from(window.saturating_mul(self.cfg.window_s)).unwrap_or(0),
            0,
        )
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let title = match kind {
            AlarmKind::RateRule => format!(
                "Rate-based rule {detail} refused {threshold} requests from {source} within {} s (window from {start})",
                self.cfg.window_s
            ),
            AlarmKind::AuthFailures => format!(
                "{threshold} authentication failures from {source} within {} s (window from {start})",
                self.cfg.window_s
            ),
        };
        let alarm = rampart_contracts::incident::Alarm {
            source: "rampart-shield".to_owned(),
            id: format!("{}:{detail}:{source}:{start}", kind.as_str()),
            title,
            asset_key: None,
            level: self.cfg.level.clone(),
        };
        tracing::warn!(alarm = %alarm.id, "{}", alarm.title);
        let (db, node) = (self.db.clone(), self.node.clone());
        tokio::spawn(async move {
            let envelope = match rampart_platform::bus::Envelope::new(
                rampart_contracts::incident::ALARM_RAISED,
                node.as_str(),
                &alarm,
            ) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(error = %e, "alarm envelope");
                    return;
                }
            };
            // Retried with backoff: an alarm lost to a busy database would hide an attack.
            use backon::Retryable as _;
            let written = (|| rampart_platform::outbox::append(db.conn(), "edge", &envelope))
                .retry(
                    backon::ExponentialBuilder::default()
                        .with_min_delay(Duration::from_millis(200))
                        .with_max_times(5)
                        .with_jitter(),
                )
                .notify(|e, wait| {
                    tracing::warn!(error = %e, ?wait, "writing alarm.raised to the outbox");
                })
                .await;
            if let Err(e) = written {
                tracing::error!(alarm = %alarm.id, error = %e, "alarm.raised could not be written; it is lost");
            }
        });
        true
    }
}
