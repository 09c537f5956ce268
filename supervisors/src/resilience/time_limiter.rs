//! A time limiter: a call that takes longer than `timeout_duration` is cancelled.
//!
//! "Resilience4j TimeLimiter docs": `timeoutDuration` default 1 s, `cancelRunningFuture` default
//! true. Here cancelling is dropping the call's future (it is not polled again), which is what
//! [`tokio::time::timeout`] does. The inner future is polled before the timer, so a call that is
//! ready at its first poll returns without touching the timer wheel.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use prometheus::IntCounter;
use serde::{Deserialize, Serialize};

use super::error::{ConfigError, check_ms};
use super::metrics::ResilienceMetrics;

/// Configuration of a [`TimeLimiter`]. Deserializes with every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimeLimiterConfig {
    /// Longest a call may take, ms (Resilience4j `timeoutDuration`). Default `1_000` (1 s); at
    /// least 1 ms, at most 365 days.
    pub timeout_duration_ms: u64,
}

impl Default for TimeLimiterConfig {
    fn default() -> Self {
        Self {
            timeout_duration_ms: 1_000,
        }
    }
}

impl TimeLimiterConfig {
    /// `timeout_duration_ms` as a [`Duration`].
    pub const fn timeout_duration(&self) -> Duration {
        Duration::from_millis(self.timeout_duration_ms)
    }

    /// Checks the range in the field's doc comment.
    ///
    /// # Errors
    /// [`ConfigError`] for `timeout_duration_ms` out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_ms(
            "time_limiter",
            "timeout_duration_ms",
            self.timeout_duration_ms,
            1,
        )
    }
}

/// A call did not complete within the time limit and was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("call timed out after {} ms", .after.as_millis())]
pub struct Timeout {
    /// The limit it exceeded.
    pub after: Duration,
}

/// Cancels calls that exceed [`TimeLimiterConfig::timeout_duration_ms`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TimeLimiter {
    name: Arc<str>,
    timeout: Duration,
    timeouts: Option<IntCounter>,
}

impl TimeLimiter {
    /// A time limiter named `name` (the `policy` label), counting timeouts in
    /// `rampart_timeouts_total` if `metrics` is given.
    ///
    /// # Errors
    /// [`ConfigError`] if the config fails [`TimeLimiterConfig::validate`].
    pub fn new(
        name: impl Into<Arc<str>>,
        config: &TimeLimiterConfig,
        metrics: Option<&ResilienceMetrics>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let name = name.into();
        Ok(Self {
            timeouts: metrics.map(|m| m.timeouts(&name)),
            name,
            timeout: config.timeout_duration(),
        })
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limit.
    pub fn timeout_duration(&self) -> Duration {
        self.timeout
    }

    /// Runs `fut` for at most the limit.
    ///
    /// # Errors
    /// [`Timeout`] if the limit passed first; `fut` is dropped (cancelled).
    pub async fn call<F: Future>(&self, fut: F) -> Result<F::Output, Timeout> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(v) => Ok(v),
            Err(_) => {
                if let Some(c) = &self.timeouts {
                    c.inc();
                }
                tracing::debug!(policy = %self.name, timeout_ms = self.timeout.as_millis(), "call timed out");
                Err(Timeout {
                    after: self.timeout,
                })
            }
        }
    }
}
