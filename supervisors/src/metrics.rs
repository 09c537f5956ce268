//! Prometheus metrics of the supervision runtime.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `rampart_actor_restarts_total` | counter | `actor` |
//! | `rampart_actor_panics_total` | counter | `actor` |
//! | `rampart_actor_probe_failures_total` | counter | `actor`, `probe` (liveness, readiness, startup) |
//! | `rampart_actor_mailbox_depth` | gauge (messages) | `actor` |
//! | `rampart_actor_handler_duration_seconds` | histogram (s) | `actor` |
//! | `rampart_actor_dead_letters_total` | counter | `actor` |
//! | `rampart_supervisor_escalations_total` | counter | `supervisor` |
//!
//! Label values are resolved once per child, so the hot path (one histogram observation and one gauge
//! store per message) takes no lock and no allocation.

use std::sync::{Arc, Mutex};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Histogram buckets of handler latency, in seconds: 10 µs .. 10 s.
pub const HANDLER_BUCKETS: &[f64] = &[
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
];

/// The runtime's metric families, registered in one [`Registry`].
#[derive(Debug, Clone)]
pub struct RuntimeMetrics {
    restarts: IntCounterVec,
    panics: IntCounterVec,
    probe_failures: IntCounterVec,
    depths: DepthCollector,
    handler_seconds: HistogramVec,
    dead_letters: IntCounterVec,
    escalations: IntCounterVec,
}

/// One child's metric handles, label values resolved.
#[derive(Debug, Clone)]
pub(crate) struct ActorMetrics {
    pub panics: IntCounter,
    pub liveness_failures: IntCounter,
    pub readiness_failures: IntCounter,
    pub startup_failures: IntCounter,
    pub latency: Histogram,
    pub dead_letters: IntCounter,
}

impl RuntimeMetrics {
    /// Creates the families and registers them in `registry`.
    ///
    /// # Errors
    /// `prometheus::Error::AlreadyReg` if `registry` already holds them.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let restarts = IntCounterVec::new(
            Opts::new(
                "rampart_actor_restarts_total",
                "Restarts of a supervised child",
            ),
            &["actor"],
        )?;
        let panics = IntCounterVec::new(
            Opts::new("rampart_actor_panics_total", "Panics caught in an actor"),
            &["actor"],
        )?;
        let probe_failures = IntCounterVec::new(
            Opts::new(
                "rampart_actor_probe_failures_total",
                "Failed probe checks (timeouts included)",
            ),
            &["actor", "probe"],
        )?;
        let mailbox_depth = IntGaugeVec::new(
            Opts::new(
                "rampart_actor_mailbox_depth",
                "Messages queued in the mailbox",
            ),
            &["actor"],
        )?;
        let handler_seconds = HistogramVec::new(
            HistogramOpts::new(
                "rampart_actor_handler_duration_seconds",
                "Time a handler took, seconds",
            )
            .buckets(HANDLER_BUCKETS.to_vec()),
            &["actor"],
        )?;
        let dead_letters = IntCounterVec::new(
            Opts::new("rampart_actor_dead_letters_total", "Messages dead-lettered"),
            &["actor"],
        )?;
        let escalations = IntCounterVec::new(
            Opts::new(
                "rampart_supervisor_escalations_total",
                "Times a supervisor exceeded its restart intensity and escalated",
            ),
            &["supervisor"],
        )?;
        registry.register(Box::new(restarts.clone()))?;
        registry.register(Box::new(panics.clone()))?;
        registry.register(Box::new(probe_failures.clone()))?;
        let depths = DepthCollector {
            vec: mailbox_depth,
            sources: Arc::new(Mutex::new(Vec::new())),
        };
        registry.register(Box::new(depths.clone()))?;
        registry.register(Box::new(handler_seconds.clone()))?;
        registry.register(Box::new(dead_letters.clone()))?;
        registry.register(Box::new(escalations.clone()))?;
        Ok(Self {
            restarts,
            panics,
            probe_failures,
            depths,
            handler_seconds,
            dead_letters,
            escalations,
        })
    }

    pub(crate) fn for_actor(&self, actor: &str, depth: DepthFn) -> ActorMetrics {
        self.depths
            .add(self.depths.vec.with_label_values(&[actor]), depth);
        ActorMetrics {
            panics: self.panics.with_label_values(&[actor]),
            liveness_failures: self.probe_failures.with_label_values(&[actor, "liveness"]),
            readiness_failures: self.probe_failures.with_label_values(&[actor, "readiness"]),
            startup_failures: self.probe_failures.with_label_values(&[actor, "startup"]),
            latency: self.handler_seconds.with_label_values(&[actor]),
            dead_letters: self.dead_letters.with_label_values(&[actor]),
        }
    }

    pub(crate) fn restarts_of(&self, child: &str) -> IntCounter {
        self.restarts.with_label_values(&[child])
    }

    pub(crate) fn escalation(&self, supervisor: &str) {
        self.escalations.with_label_values(&[supervisor]).inc();
    }
}

/// Reads one mailbox's depth, in messages.
pub(crate) type DepthFn = Box<dyn Fn() -> usize + Send + Sync>;

/// `rampart_actor_mailbox_depth`, read from the mailboxes when scraped (no cost per message).
#[derive(Clone)]
struct DepthCollector {
    vec: IntGaugeVec,
    sources: Arc<Mutex<Vec<(IntGauge, DepthFn)>>>,
}

impl std::fmt::Debug for DepthCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DepthCollector")
    }
}

impl DepthCollector {
    fn add(&self, gauge: IntGauge, depth: DepthFn) {
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((gauge, depth));
    }
}

impl Collector for DepthCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.vec.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        for (gauge, depth) in self
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            gauge.set(i64::try_from(depth()).unwrap_or(i64::MAX));
        }
        self.vec.collect()
    }
}
