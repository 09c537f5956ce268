//! A semaphore bulkhead: at most `max_concurrent_calls` calls run at once.
//!
//! "Resilience4j Bulkhead docs" (`SemaphoreBulkhead`): `maxConcurrentCalls` default 25,
//! `maxWaitDuration` default 0 — a call that finds the bulkhead full fails at once with
//! [`BulkheadFull`]; with a positive wait it queues (fairly, tokio's semaphore is FIFO) for at most
//! that long.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use prometheus::IntCounter;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::error::{ConfigError, check_ms};
use super::metrics::ResilienceMetrics;

/// The largest `max_concurrent_calls` accepted.
pub const MAX_CONCURRENT_CALLS: u32 = 1_000_000;

/// Configuration of a [`Bulkhead`]. Deserializes with every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BulkheadConfig {
    /// Calls allowed to run at once (Resilience4j `maxConcurrentCalls`). Default `25`;
    /// `1..=1_000_000`.
    pub max_concurrent_calls: u32,
    /// Longest a call waits for a slot, ms (Resilience4j `maxWaitDuration`). Default `0`: fail at
    /// once. At most 365 days.
    pub max_wait_duration_ms: u64,
}

impl Default for BulkheadConfig {
    fn default() -> Self {
        Self {
            max_concurrent_calls: 25,
            max_wait_duration_ms: 0,
        }
    }
}

impl BulkheadConfig {
    /// Checks the ranges in the fields' doc comments.
    ///
    /// # Errors
    /// [`ConfigError`] for the first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_concurrent_calls == 0 || self.max_concurrent_calls > MAX_CONCURRENT_CALLS {
            return Err(ConfigError::new(
                "bulkhead",
                "max_concurrent_calls",
                "must be in 1..=1000000",
            ));
        }
        check_ms(
            "bulkhead",
            "max_wait_duration_ms",
            self.max_wait_duration_ms,
            0,
        )
    }
}

/// The bulkhead was full (for the whole `max_wait_duration`); the call was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bulkhead '{bulkhead}' is full ({max_concurrent_calls} concurrent calls)")]
pub struct BulkheadFull {
    /// The bulkhead's name.
    pub bulkhead: Arc<str>,
    /// Its limit.
    pub max_concurrent_calls: u32,
}

/// Limits concurrent calls. Cheap to clone; clones share the slots.
#[derive(Debug, Clone)]
pub struct Bulkhead {
    name: Arc<str>,
    semaphore: Arc<Semaphore>,
    max_concurrent_calls: u32,
    max_wait: Duration,
    rejected: Option<IntCounter>,
}

impl Bulkhead {
    /// A bulkhead named `name` (the `policy` label), counting rejections in
    /// `rampart_bulkhead_rejected_total` if `metrics` is given.
    ///
    /// # Errors
    /// [`ConfigError`] if the config fails [`BulkheadConfig::validate`].
    pub fn new(
        name: impl Into<Arc<str>>,
        config: &BulkheadConfig,
        metrics: Option<&ResilienceMetrics>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let name = name.into();
        Ok(Self {
            rejected: metrics.map(|m| m.bulkhead_rejected(&name)),
            name,
            semaphore: Arc::new(Semaphore::new(config.max_concurrent_calls as usize)),
            max_concurrent_calls: config.max_concurrent_calls,
            max_wait: Duration::from_millis(config.max_wait_duration_ms),
        })
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Free slots right now.
    pub fn available_permits(&self) -> usize {
        self.semaphore.available_permits()
    }

    /// Runs `fut` in a slot, waiting at most `max_wait_duration` for one; the slot is freed when
    /// `fut` completes or is dropped.
    ///
    /// # Errors
    /// [`BulkheadFull`] if no slot was free in time; `fut` is dropped without being polled.
    pub async fn call<F: Future>(&self, fut: F) -> Result<F::Output, BulkheadFull> {
        let permit = if self.max_wait.is_zero() {
            self.semaphore.try_acquire().ok()
        } else {
            tokio::time::timeout(self.max_wait, self.semaphore.acquire())
                .await
                .ok()
                .and_then(Result::ok)
        };
        let Some(_permit) = permit else {
            if let Some(c) = &self.rejected {
                c.inc();
            }
            return Err(BulkheadFull {
                bulkhead: self.name.clone(),
                max_concurrent_calls: self.max_concurrent_calls,
            });
        };
        Ok(fut.await)
    }
}
