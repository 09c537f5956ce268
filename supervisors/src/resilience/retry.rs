//! Retry with exponential backoff, built on [`backon`].
//!
//! Names and defaults follow "Resilience4j Retry docs": `maxAttempts` 3 (the first call
//! included), `waitDuration` 500 ms, `exponentialBackoffMultiplier` 1.5. Differences, on purpose:
//! - Resilience4j's default interval is fixed; Rampart's default is exponential with Resilience4j's
//!   default multiplier 1.5 (set `multiplier = 1.0` for fixed intervals).
//! - Jitter is backon's: a uniform random amount in `[0, 100 %)` of the delay is *added*
//!   (Resilience4j's `randomizedWaitFactor` 0.5 spreads ±50 %).
//! - `max_interval_ms` defaults to 30 s (Resilience4j's exponential maximum is unbounded), and
//!   `max_elapsed_time_ms` optionally bounds the whole retry loop: a retry whose backoff would end
//!   past it is not attempted (checked against the real elapsed time with `backon`'s `adjust`).
//!
//! Only errors the caller classifies as transient are retried ([`Transient`] or a predicate), and
//! a call rejected by an open circuit breaker ([`CallNotPermitted`]) never is: retrying into an
//! open breaker only burns the backoff and hides the outage.
//!
//! Why `backon` and not `backoff`: the `backoff` crate is unmaintained (RUSTSEC-2025-0012) and pulls
//! in `instant`, itself unmaintained (RUSTSEC-2024-0384).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use prometheus::IntCounter;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::bulkhead::BulkheadFull;
use super::circuit_breaker::{BreakerError, CallNotPermitted};
use super::error::{ConfigError, check_ms};
use super::metrics::ResilienceMetrics;
use super::time_limiter::Timeout;

/// The largest `max_attempts` accepted.
pub const MAX_ATTEMPTS: u32 = 100;

/// Whether an error is worth retrying: a timeout, a refused or reset connection, a 503 — not a
/// validation error, and never a call rejected by an open breaker.
pub trait Transient {
    /// `true` if the same call may succeed if tried again later.
    fn is_transient(&self) -> bool;
}

impl Transient for CallNotPermitted {
    /// Never: the breaker is open on purpose.
    fn is_transient(&self) -> bool {
        false
    }
}

impl Transient for Timeout {
    /// Always: the callee may answer in time on the next try.
    fn is_transient(&self) -> bool {
        true
    }
}

impl Transient for BulkheadFull {
    /// Always: local saturation passes.
    fn is_transient(&self) -> bool {
        true
    }
}

impl<E: Transient> Transient for BreakerError<E> {
    /// The inner error's answer; `false` for [`BreakerError::NotPermitted`].
    fn is_transient(&self) -> bool {
        match self {
            Self::NotPermitted(_) => false,
            Self::Inner(e) => e.is_transient(),
        }
    }
}

impl Transient for std::io::Error {
    /// `true` for the kinds a later try may not see: timed out, interrupted, would block,
    /// connection refused/reset/aborted, not connected, broken pipe, unexpected EOF.
    fn is_transient(&self) -> bool {
        use std::io::ErrorKind::{
            BrokenPipe, ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted,
            NotConnected, TimedOut, UnexpectedEof, WouldBlock,
        };
        matches!(
            self.kind(),
            TimedOut
                | Interrupted
                | WouldBlock
                | ConnectionRefused
                | ConnectionReset
                | ConnectionAborted
                | NotConnected
                | BrokenPipe
                | UnexpectedEof
        )
    }
}

/// Configuration of a [`Retry`]; durations in milliseconds. Deserializes with every field optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in all, the first call included (Resilience4j `maxAttempts`). Default `3`;
    /// `1..=100`; `1` disables retrying.
    pub max_attempts: u32,
    /// Delay before the first retry, ms (Resilience4j `waitDuration`). Default `500`; at most
    /// 365 days.
    pub initial_interval_ms: u64,
    /// Each further delay is the previous one times this (Resilience4j
    /// `exponentialBackoffMultiplier`). Default `1.5`; `1.0..=100.0` (`1.0` = fixed interval).
    pub multiplier: f32,
    /// Add a uniform random `[0, 100 %)` of each delay (backon's jitter). Default `false`.
    pub jitter: bool,
    /// Delays stop growing at this, ms (before jitter). Default `30_000`; at least
    /// `initial_interval_ms`, at most 365 days.
    pub max_interval_ms: u64,
    /// Give up instead of sleeping if the sleep would end more than this long after the first
    /// attempt started, ms. Default `None` (bounded by `max_attempts` only); at most 365 days.
    pub max_elapsed_time_ms: Option<u64>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_interval_ms: 500,
            multiplier: 1.5,
            jitter: false,
            max_interval_ms: 30_000,
            max_elapsed_time_ms: None,
        }
    }
}

impl RetryConfig {
    /// Checks every field against the range in its doc comment.
    ///
    /// # Errors
    /// The first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const C: &str = "retry";
        if self.max_attempts == 0 || self.max_attempts > MAX_ATTEMPTS {
            return Err(ConfigError::new(C, "max_attempts", "must be in 1..=100"));
        }
        check_ms(C, "initial_interval_ms", self.initial_interval_ms, 0)?;
        if !(self.multiplier >= 1.0 && self.multiplier <= 100.0) {
            return Err(ConfigError::new(C, "multiplier", "must be in 1.0..=100.0"));
        }
        check_ms(
            C,
            "max_interval_ms",
            self.max_interval_ms,
            self.initial_interval_ms,
        )?;
        if let Some(ms) = self.max_elapsed_time_ms {
            check_ms(C, "max_elapsed_time_ms", ms, 0)?;
        }
        Ok(())
    }

    fn backoff(&self) -> ExponentialBuilder {
        let max_times = self.max_attempts.saturating_sub(1) as usize;
        let builder = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(self.initial_interval_ms))
            .with_factor(self.multiplier)
            .with_max_delay(Duration::from_millis(self.max_interval_ms))
            .with_max_times(max_times);
        if self.jitter {
            builder.with_jitter()
        } else {
            builder
        }
    }
}

/// Retries a fallible async call per [`RetryConfig`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Retry {
    name: Arc<str>,
    config: RetryConfig,
    backoff: ExponentialBuilder,
    max_elapsed: Option<Duration>,
    retries: Option<IntCounter>,
}

impl Retry {
    /// A retry named `name` (the `policy` label), counting its retries in
    /// `rampart_retry_attempts_total` if `metrics` is given.
    ///
    /// # Errors
    /// [`ConfigError`] if the config fails [`RetryConfig::validate`].
    pub fn new(
        name: impl Into<Arc<str>>,
        config: RetryConfig,
        metrics: Option<&ResilienceMetrics>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let name = name.into();
        Ok(Self {
            retries: metrics.map(|m| m.retry_attempts(&name)),
            backoff: config.backoff(),
            max_elapsed: config.max_elapsed_time_ms.map(Duration::from_millis),
            name,
            config,
        })
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The config.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// The delays before each retry, without jitter and `max_elapsed_time`:
    /// `initial, initial*m, initial*m², ...` capped at `max_interval`, `max_attempts - 1` of them.
    pub fn delays(&self) -> impl Iterator<Item = Duration> {
        RetryConfig {
            jitter: false,
            ..self.config.clone()
        }
        .backoff()
        .build()
    }

    /// Calls `f` until it succeeds, fails with an error for which `is_transient` is `false`, or
    /// the attempts or elapsed time run out; sleeps (tokio) between attempts.
    ///
    /// `is_transient` decides alone: when `E` can be a breaker rejection, pass a predicate that
    /// refuses it, such as [`Transient::is_transient`] (via [`Self::call_transient`]) or
    /// `CallError::is_transient_by`, which never retry [`CallNotPermitted`].
    ///
    /// # Errors
    /// The last attempt's error.
    pub async fn call<F, Fut, T, E, P>(&self, f: F, is_transient: P) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        P: Fn(&E) -> bool,
    {
        let mut f = f;
        if self.config.max_attempts <= 1 {
            return f().await;
        }
        let max_elapsed = self.max_elapsed;
        let start = max_elapsed.map(|_| Instant::now());
        let name = &self.name;
        let retries = self.retries.as_ref();
        f.retry(self.backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &E| is_transient(e))
            .adjust(move |_: &E, delay: Option<Duration>| match (delay, start, max_elapsed) {
                (Some(d), Some(start), Some(max)) if start.elapsed() + d > max => None,
                _ => delay,
            })
            .notify(|_: &E, delay: Duration| {
                if let Some(c) = retries {
                    c.inc();
                }
                tracing::debug!(policy = %name, delay_ms = delay.as_millis(), "retrying after a transient error");
            })
            .await
    }

    /// [`Self::call`] retrying the errors whose [`Transient::is_transient`] is `true`.
    ///
    /// # Errors
    /// The last attempt's error.
    pub async fn call_transient<F, Fut, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Transient,
    {
        self.call(f, E::is_transient).await
    }
}
