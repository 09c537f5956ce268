//! [`ResiliencePolicy`]: retry, circuit breaker, time limiter and bulkhead composed in
//! Resilience4j's order, with an optional cached fallback outermost.
//!
//! "Resilience4j Getting Started docs" (*Aspect order*): `Retry ( CircuitBreaker ( RateLimiter (
//! TimeLimiter ( Bulkhead ( Function ) ) ) ) )`. Rampart has no rate limiter, so one attempt is
//! `CircuitBreaker(TimeLimiter(Bulkhead(call)))` and [`Retry`] repeats whole attempts:
//! - each attempt asks the breaker first, so an open breaker fails it at once with
//!   [`CallError::CallNotPermitted`], which is never retried;
//! - the time limit covers the wait for a bulkhead slot and the call;
//! - the breaker times the whole attempt (slow calls) and records its outcome:
//!
//! | attempt ended with | breaker records |
//! |---|---|
//! | `Ok` | success (slow success if slower than the threshold) |
//! | [`CallError::Inner`] | per the policy's [`RecordPredicate`]: failure (default), success, or nothing |
//! | [`CallError::Timeout`] | failure (Resilience4j records `TimeoutException` too) |
//! | [`CallError::BulkheadFull`] | nothing, the permit is released |
//! | cancelled (future dropped) | nothing, the permit is released |
//!
//! `BulkheadFull` differs from Resilience4j, whose breaker would record the
//! `BulkheadFullException` as a failure: a full bulkhead is local saturation, not evidence that the
//! remote service is unhealthy, and counting it would let a burst of our own traffic open the
//! breaker against a healthy callee.
//!
//! Retried: [`CallError::Timeout`], [`CallError::BulkheadFull`] and inner errors the policy's
//! transient predicate accepts (default: all, as Resilience4j's `retryExceptions` default).

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::bulkhead::{Bulkhead, BulkheadConfig, BulkheadFull};
use super::circuit_breaker::{
    CallNotPermitted, CircuitBreaker, CircuitBreakerConfig, ErrorDisposition, Permit,
    RecordPredicate,
};
use super::clock::{Clock, TokioClock};
use super::error::ConfigError;
use super::fallback::{CachedFallback, FallbackConfig, Served};
use super::metrics::ResilienceMetrics;
use super::retry::{Retry, RetryConfig, Transient};
use super::time_limiter::{TimeLimiter, TimeLimiterConfig, Timeout};

/// The sub-configs of a [`ResiliencePolicy`]. Deserializes with every section optional, e.g. in
/// TOML:
///
/// ```toml
/// [retry]
/// max_attempts = 4
/// [circuit_breaker]
/// failure_rate_threshold = 25.0
/// wait_duration_in_open_state_ms = 10000
/// [time_limiter]
/// timeout_duration_ms = 2000
/// [bulkhead]
/// max_concurrent_calls = 10
/// [fallback]            # absent: no cached fallback
/// time_to_live_ms = 60000
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Outermost layer after the fallback. Default [`RetryConfig::default`].
    pub retry: RetryConfig,
    /// Default [`CircuitBreakerConfig::default`].
    pub circuit_breaker: CircuitBreakerConfig,
    /// Default [`TimeLimiterConfig::default`] (1 s).
    pub time_limiter: TimeLimiterConfig,
    /// Default [`BulkheadConfig::default`] (25 concurrent calls, no wait).
    pub bulkhead: BulkheadConfig,
    /// The cached fallback, if any. Default `None`.
    pub fallback: Option<FallbackConfig>,
}

impl PolicyConfig {
    /// Validates every sub-config.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.retry.validate()?;
        self.circuit_breaker.validate()?;
        self.time_limiter.validate()?;
        self.bulkhead.validate()?;
        if let Some(f) = &self.fallback {
            f.validate()?;
        }
        Ok(())
    }
}

/// Why a call through a [`ResiliencePolicy`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// The call ran and returned this error (on its last attempt).
    #[error(transparent)]
    Inner(E),
    /// The circuit breaker rejected the call; it was not started. Never retried.
    #[error(transparent)]
    CallNotPermitted(#[from] CallNotPermitted),
    /// No bulkhead slot was free in time; the call was not started.
    #[error(transparent)]
    BulkheadFull(#[from] BulkheadFull),
    /// The call exceeded the time limit and was cancelled.
    #[error(transparent)]
    Timeout(#[from] Timeout),
}

impl<E> CallError<E> {
    /// Whether a retry may help: timeouts and a full bulkhead yes, a rejection by the breaker
    /// never, an inner error per `inner_is_transient`.
    pub fn is_transient_by(&self, inner_is_transient: impl FnOnce(&E) -> bool) -> bool {
        match self {
            Self::Inner(e) => inner_is_transient(e),
            Self::CallNotPermitted(_) => false,
            Self::BulkheadFull(_) | Self::Timeout(_) => true,
        }
    }

    /// Whether the breaker rejected the call.
    pub fn is_call_not_permitted(&self) -> bool {
        matches!(self, Self::CallNotPermitted(_))
    }

    /// The call's own error, if it ran and failed.
    pub fn inner(&self) -> Option<&E> {
        match self {
            Self::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// The call's own error, if it ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Self::Inner(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: Transient> Transient for CallError<E> {
    /// [`CallError::is_transient_by`] with the inner error's [`Transient`] impl.
    fn is_transient(&self) -> bool {
        self.is_transient_by(Transient::is_transient)
    }
}

type TransientPredicate<E> = Arc<dyn Fn(&E) -> bool + Send + Sync>;

/// The layers composed for one downstream service. Cheap to clone (clones share the breaker,
/// bulkhead and cache). `E` is the call's error type; `K`, `V` the fallback cache's key and value
/// (unused without a fallback).
///
/// ```
/// # use rampart_supervisors::resilience::{CallError, PolicyConfig, ResiliencePolicy};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let policy: ResiliencePolicy<std::io::Error> =
///     ResiliencePolicy::builder("geo-ip", PolicyConfig::default()).build().unwrap();
/// let r: Result<u32, CallError<std::io::Error>> = policy.call(|| async { Ok(42) }).await;
/// assert_eq!(r.unwrap(), 42);
/// # }
/// ```
pub struct ResiliencePolicy<E, K = (), V = ()> {
    name: Arc<str>,
    retry: Retry,
    breaker: CircuitBreaker,
    time_limiter: TimeLimiter,
    bulkhead: Bulkhead,
    fallback: Option<CachedFallback<K, V>>,
    record: RecordPredicate<E>,
    transient: Option<TransientPredicate<E>>,
}

impl<E, K, V> Clone for ResiliencePolicy<E, K, V> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            retry: self.retry.clone(),
            breaker: self.breaker.clone(),
            time_limiter: self.time_limiter.clone(),
            bulkhead: self.bulkhead.clone(),
            fallback: self.fallback.clone(),
            record: self.record.clone(),
            transient: self.transient.clone(),
        }
    }
}

impl<E, K, V> fmt::Debug for ResiliencePolicy<E, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResiliencePolicy")
            .field("name", &self.name)
            .field("retry", &self.retry)
            .field("breaker", &self.breaker)
            .field("time_limiter", &self.time_limiter)
            .field("bulkhead", &self.bulkhead)
            .field("fallback", &self.fallback.is_some())
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ResiliencePolicy`]; from [`ResiliencePolicy::builder`].
pub struct PolicyBuilder<E, K = (), V = ()> {
    name: Arc<str>,
    config: PolicyConfig,
    metrics: Option<ResilienceMetrics>,
    clock: Arc<dyn Clock>,
    record: RecordPredicate<E>,
    transient: Option<TransientPredicate<E>>,
    fallback: Option<CachedFallback<K, V>>,
}

impl<E, K, V> fmt::Debug for PolicyBuilder<E, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<E, K, V> PolicyBuilder<E, K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Exports every layer's metrics into `metrics` (label `breaker`/`policy` = the policy name).
    #[must_use]
    pub fn metrics(mut self, metrics: &ResilienceMetrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// The circuit breaker's clock (default [`TokioClock`]).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Which inner errors the breaker records as failures (default: all).
    #[must_use]
    pub fn record(mut self, predicate: RecordPredicate<E>) -> Self {
        self.record = predicate;
        self
    }

    /// Which inner errors are retried (default: all). Rejections by the breaker never are.
    #[must_use]
    pub fn retry_when(mut self, is_transient: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.transient = Some(Arc::new(is_transient));
        self
    }

    /// Retries the inner errors whose [`Transient::is_transient`] is `true`.
    #[must_use]
    pub fn retry_transient(self) -> Self
    where
        E: Transient + 'static,
    {
        self.retry_when(E::is_transient)
    }

    /// Uses `fallback` (e.g. one shared with other policies) instead of building one from
    /// [`PolicyConfig::fallback`].
    #[must_use]
    pub fn fallback(mut self, fallback: CachedFallback<K, V>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Builds the layers.
    ///
    /// # Errors
    /// [`ConfigError`] if a sub-config fails validation.
    pub fn build(self) -> Result<ResiliencePolicy<E, K, V>, ConfigError> {
        self.config.validate()?;
        let metrics = self.metrics.as_ref();
        let name = self.name;
        let mut breaker =
            CircuitBreaker::builder(name.clone(), self.config.circuit_breaker.clone())
                .clock(self.clock);
        if let Some(m) = metrics {
            breaker = breaker.metrics(m);
        }
        let fallback = match (self.fallback, &self.config.fallback) {
            (Some(f), _) => Some(f),
            (None, Some(cfg)) => Some(CachedFallback::new(name.clone(), cfg, metrics)?),
            (None, None) => None,
        };
        Ok(ResiliencePolicy {
            retry: Retry::new(name.clone(), self.config.retry.clone(), metrics)?,
            breaker: breaker.build()?,
            time_limiter: TimeLimiter::new(name.clone(), &self.config.time_limiter, metrics)?,
            bulkhead: Bulkhead::new(name.clone(), &self.config.bulkhead, metrics)?,
            fallback,
            record: self.record,
            transient: self.transient,
            name,
        })
    }
}

impl<E, K, V> ResiliencePolicy<E, K, V> {
    /// A builder for a policy named `name` (the `breaker`/`policy` label and log field).
    pub fn builder(name: impl Into<Arc<str>>, config: PolicyConfig) -> PolicyBuilder<E, K, V> {
        PolicyBuilder {
            name: name.into(),
            config,
            metrics: None,
            clock: Arc::new(TokioClock),
            record: RecordPredicate::all_failures(),
            transient: None,
            fallback: None,
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The circuit breaker (state, metrics, transitions).
    pub fn circuit_breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The retry layer.
    pub fn retry(&self) -> &Retry {
        &self.retry
    }

    /// The time limiter.
    pub fn time_limiter(&self) -> &TimeLimiter {
        &self.time_limiter
    }

    /// The bulkhead.
    pub fn bulkhead(&self) -> &Bulkhead {
        &self.bulkhead
    }

    /// The cached fallback, if configured.
    pub fn fallback(&self) -> Option<&CachedFallback<K, V>> {
        self.fallback.as_ref()
    }

    fn is_retryable(&self, error: &CallError<E>) -> bool {
        error.is_transient_by(|e| self.transient.as_ref().is_none_or(|p| p(e)))
    }

    /// One attempt: `CircuitBreaker(TimeLimiter(Bulkhead(fut)))`. The caller asked for the permit
    /// and created `fut` only if it was granted; a permit dropped unused is released.
    async fn attempt<T, Fut>(
        &self,
        admitted: Result<(Permit<'_>, Fut), CallNotPermitted>,
    ) -> Result<T, CallError<E>>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let (permit, fut) = admitted?;
        let result = match self.time_limiter.call(self.bulkhead.call(fut)).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => Err(CallError::Inner(e)),
            Ok(Err(full)) => Err(CallError::BulkheadFull(full)),
            Err(timeout) => Err(CallError::Timeout(timeout)),
        };
        match &result {
            Ok(_) => permit.record_now(false),
            Err(CallError::Inner(e)) => match self.record.classify(e) {
                ErrorDisposition::Failure => permit.record_now(true),
                ErrorDisposition::Success => permit.record_now(false),
                ErrorDisposition::Ignored => permit.release(),
            },
            Err(CallError::Timeout(_)) => permit.record_now(true),
            Err(CallError::BulkheadFull(_) | CallError::CallNotPermitted(_)) => permit.release(),
        }
        result
    }

    /// Runs `f` through `Retry(CircuitBreaker(TimeLimiter(Bulkhead(f()))))`; `f` is called once
    /// per attempt.
    ///
    /// # Errors
    /// The last attempt's [`CallError`].
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<T, CallError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut f = f;
        // Ask the breaker before creating the call's future: a rejected attempt never calls `f`.
        // backon polls the attempt's future as soon as it is created, so no time passes between
        // the permit and the call.
        let attempt = || {
            let admitted = self.breaker.try_acquire_permission().map(|p| (p, f()));
            self.attempt(admitted)
        };
        self.retry.call(attempt, |e| self.is_retryable(e)).await
    }
}

impl<E, K, V> ResiliencePolicy<E, K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// [`Self::call`] behind the cached fallback: a success is stored under `key` and served
    /// [`Freshness::Fresh`](super::Freshness::Fresh); a failure (after retries) is answered with
    /// the value stored under `key`, [`Freshness::Stale`](super::Freshness::Stale), if any.
    /// Without a configured fallback every success is fresh and every failure an error.
    ///
    /// # Errors
    /// The last attempt's [`CallError`] when no value is stored under `key`.
    pub async fn call_with_fallback<F, Fut>(&self, key: K, f: F) -> Result<Served<V>, CallError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        match &self.fallback {
            Some(fallback) => fallback.call(key, self.call(f)).await,
            None => self.call(f).await.map(Served::fresh),
        }
    }
}
