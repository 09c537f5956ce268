//! Prometheus metrics of the resilience layers.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `rampart_circuit_breaker_state` | gauge (0 closed, 1 open, 2 half_open) | `breaker` |
//! | `rampart_circuit_breaker_transitions_total` | counter | `breaker`, `from`, `to` |
//! | `rampart_circuit_breaker_calls_total` | counter | `breaker`, `outcome` (`success`, `failure`, `slow_success`, `slow_failure`, `not_permitted`) |
//! | `rampart_retry_attempts_total` | counter (retries, i.e. attempts after the first) | `policy` |
//! | `rampart_fallback_served_total` | counter | `policy`, `freshness` (`fresh`, `stale`) |
//! | `rampart_bulkhead_rejected_total` | counter | `policy` |
//! | `rampart_timeouts_total` | counter | `policy` |
//!
//! The names follow the meters Resilience4j exports through Micrometer ("Resilience4j Micrometer
//! docs": `resilience4j_circuitbreaker_state`, `..._calls{kind}`, `resilience4j_retry_calls`,
//! `resilience4j_bulkhead_...`, `resilience4j_timelimiter_calls{kind=timeout}`), renamed under
//! Rampart's `rampart_` prefix. Each component resolves its label values once when it is built, so
//! the hot path is one atomic add per counter and takes no lock and no allocation.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use super::circuit_breaker::CircuitState;

/// The resilience metric families, registered in one caller-given [`Registry`].
///
/// Cheap to clone (the families are `Arc`s inside). Pass it (by reference) to the components'
/// builders; every component also works without metrics.
#[derive(Debug, Clone)]
pub struct ResilienceMetrics {
    breaker_state: IntGaugeVec,
    breaker_transitions: IntCounterVec,
    breaker_calls: IntCounterVec,
    retry_attempts: IntCounterVec,
    fallback_served: IntCounterVec,
    bulkhead_rejected: IntCounterVec,
    timeouts: IntCounterVec,
}

/// One circuit breaker's metric handles, label values resolved.
#[derive(Debug, Clone)]
pub(crate) struct BreakerMetrics {
    pub state: IntGauge,
    /// The six real transitions, indexed by [`transition_index`].
    pub transitions: [IntCounter; 6],
    pub success: IntCounter,
    pub failure: IntCounter,
    pub slow_success: IntCounter,
    pub slow_failure: IntCounter,
    pub not_permitted: IntCounter,
}

/// Index of the `from -> to` transition in [`BreakerMetrics::transitions`]; `None` for a
/// non-transition (`from == to`).
pub(crate) const fn transition_index(from: CircuitState, to: CircuitState) -> Option<usize> {
    use CircuitState::{Closed, HalfOpen, Open};
    match (from, to) {
        (Closed, Open) => Some(0),
        (Closed, HalfOpen) => Some(1),
        (Open, Closed) => Some(2),
        (Open, HalfOpen) => Some(3),
        (HalfOpen, Closed) => Some(4),
        (HalfOpen, Open) => Some(5),
        _ => None,
    }
}

/// One fallback's metric handles, label values resolved.
#[derive(Debug, Clone)]
pub(crate) struct FallbackMetrics {
    pub fresh: IntCounter,
    pub stale: IntCounter,
}

impl ResilienceMetrics {
    /// Creates the seven families listed in the [module docs](self) and registers them in
    /// `registry`.
    ///
    /// # Errors
    /// `prometheus::Error::AlreadyReg` if `registry` already holds them (create one
    /// `ResilienceMetrics` per registry and clone it).
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let breaker_state = IntGaugeVec::new(
            Opts::new(
                "rampart_circuit_breaker_state",
                "Circuit breaker state: 0 closed, 1 open, 2 half_open",
            ),
            &["breaker"],
        )?;
        let breaker_transitions = IntCounterVec::new(
            Opts::new(
                "rampart_circuit_breaker_transitions_total",
                "Circuit breaker state transitions",
            ),
            &["breaker", "from", "to"],
        )?;
        let breaker_calls = IntCounterVec::new(
            Opts::new(
                "rampart_circuit_breaker_calls_total",
                "Calls seen by a circuit breaker, by outcome",
            ),
            &["breaker", "outcome"],
        )?;
        let retry_attempts = IntCounterVec::new(
            Opts::new(
                "rampart_retry_attempts_total",
                "Retries performed (attempts after the first)",
            ),
            &["policy"],
        )?;
        let fallback_served = IntCounterVec::new(
            Opts::new(
                "rampart_fallback_served_total",
                "Results served through a cached fallback, fresh or stale",
            ),
            &["policy", "freshness"],
        )?;
        let bulkhead_rejected = IntCounterVec::new(
            Opts::new(
                "rampart_bulkhead_rejected_total",
                "Calls rejected by a full bulkhead",
            ),
            &["policy"],
        )?;
        let timeouts = IntCounterVec::new(
            Opts::new(
                "rampart_timeouts_total",
                "Calls cancelled by a time limiter",
            ),
            &["policy"],
        )?;
        registry.register(Box::new(breaker_state.clone()))?;
        registry.register(Box::new(breaker_transitions.clone()))?;
        registry.register(Box::new(breaker_calls.clone()))?;
        registry.register(Box::new(retry_attempts.clone()))?;
        registry.register(Box::new(fallback_served.clone()))?;
        registry.register(Box::new(bulkhead_rejected.clone()))?;
        registry.register(Box::new(timeouts.clone()))?;
        Ok(Self {
            breaker_state,
            breaker_transitions,
            breaker_calls,
            retry_attempts,
            fallback_served,
            bulkhead_rejected,
            timeouts,
        })
    }

    pub(crate) fn breaker(&self, breaker: &str) -> BreakerMetrics {
        let t = |from: CircuitState, to: CircuitState| {
            self.breaker_transitions
                .with_label_values(&[breaker, from.as_str(), to.as_str()])
        };
        use CircuitState::{Closed, HalfOpen, Open};
        let calls = |outcome: &str| self.breaker_calls.with_label_values(&[breaker, outcome]);
        BreakerMetrics {
            state: self.breaker_state.with_label_values(&[breaker]),
            transitions: [
                t(Closed, Open),
                t(Closed, HalfOpen),
                t(Open, Closed),
                t(Open, HalfOpen),
                t(HalfOpen, Closed),
                t(HalfOpen, Open),
            ],
            success: calls("success"),
            failure: calls("failure"),
            slow_success: calls("slow_success"),
            slow_failure: calls("slow_failure"),
            not_permitted: calls("not_permitted"),
        }
    }

    pub(crate) fn retry_attempts(&self, policy: &str) -> IntCounter {
        self.retry_attempts.with_label_values(&[policy])
    }

    pub(crate) fn fallback(&self, policy: &str) -> FallbackMetrics {
        FallbackMetrics {
            fresh: self.fallback_served.with_label_values(&[policy, "fresh"]),
            stale: self.fallback_served.with_label_values(&[policy, "stale"]),
        }
    }

    pub(crate) fn bulkhead_rejected(&self, policy: &str) -> IntCounter {
        self.bulkhead_rejected.with_label_values(&[policy])
    }

    pub(crate) fn timeouts(&self, policy: &str) -> IntCounter {
        self.timeouts.with_label_values(&[policy])
    }
}
