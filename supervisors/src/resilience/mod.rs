//! Resilience for the calls an actor makes to another service: retry, circuit breaker, time
//! limiter, bulkhead and a cached fallback, with Resilience4j's semantics, names and defaults.
//!
//! ## The model
//! A [`ResiliencePolicy`] wraps one downstream service. Each call goes through the layers in the
//! order Resilience4j documents ("Resilience4j Getting Started docs", *Aspect order*:
//! `Retry(CircuitBreaker(RateLimiter(TimeLimiter(Bulkhead(Function)))))`, without the rate
//! limiter), with Rampart's cached fallback outermost:
//!
//! ```text
//!  caller
//!    |  policy.call_with_fallback(key, || call())
//!    v
//!  CachedFallback  -- Ok: store under key, serve Fresh | Err: serve stored value as Stale{age}, else the error
//!    v
//!  Retry           -- repeat transient failures with exponential backoff (never CallNotPermitted)
//!    v  (each attempt)
//!  CircuitBreaker  -- open: reject at once (CallNotPermitted); else permit, time and record the attempt
//!    v
//!  TimeLimiter     -- cancel the attempt after timeout_duration (Timeout, recorded as a failure)
//!    v
//!  Bulkhead        -- at most max_concurrent_calls at once (BulkheadFull, not recorded)
//!    v
//!  call()          -- the actual request
//! ```
//!
//! Each submodule documents its layer's rules and their Resilience4j source. Each layer is also
//! usable alone: [`CircuitBreaker`] (with its [`SlidingWindow`]s), [`Retry`],
//! [`TimeLimiter`], [`Bulkhead`], [`CachedFallback`]. Every layer is bounded (windows, caches,
//! attempts, waits, event logs) and reads time from tokio ([`TokioClock`]), so tests run on a
//! paused clock; a [`CircuitBreaker`] can also take a [`ManualClock`]. All configs deserialize
//! with defaults for missing fields and durations in milliseconds (`*_ms`). Metrics go to a
//! caller-given Prometheus registry through [`ResilienceMetrics`]; every component also works
//! without.
//!
//! ```
//! use rampart_supervisors::resilience::{
//!     CallError, FallbackConfig, PolicyConfig, ResilienceMetrics, ResiliencePolicy,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let registry = prometheus::Registry::new();
//! let metrics = ResilienceMetrics::new(&registry).unwrap();
//! let config = PolicyConfig { fallback: Some(FallbackConfig::default()), ..Default::default() };
//! let policy: ResiliencePolicy<std::io::Error, String, u32> =
//!     ResiliencePolicy::builder("scores", config).metrics(&metrics).build().unwrap();
//!
//! let served = policy
//!     .call_with_fallback("alice".to_string(), || async { Ok(7) })
//!     .await
//!     .unwrap();
//! assert!(!served.is_stale());
//! # }
//! ```

pub mod bulkhead;
pub mod circuit_breaker;
pub mod clock;
pub mod error;
pub mod fallback;
pub mod metrics;
pub mod policy;
pub mod retry;
pub mod sliding_window;
pub mod time_limiter;

pub use bulkhead::{Bulkhead, BulkheadConfig, BulkheadFull, MAX_CONCURRENT_CALLS};
pub use circuit_breaker::{
    BreakerError, CallNotPermitted, CircuitBreaker, CircuitBreakerBuilder, CircuitBreakerConfig,
    CircuitBreakerSnapshot, CircuitState, ErrorDisposition, Permit, RecordPredicate,
    TRANSITION_CHANNEL_CAPACITY, TRANSITION_LOG_CAPACITY, TransitionEvent,
};
pub use clock::{Clock, ManualClock, TokioClock};
pub use error::{ConfigError, MAX_DURATION_MS};
pub use fallback::{CachedFallback, FallbackConfig, Freshness, MAX_FALLBACK_CAPACITY, Served};
pub use metrics::ResilienceMetrics;
pub use policy::{CallError, PolicyBuilder, PolicyConfig, ResiliencePolicy};
pub use retry::{MAX_ATTEMPTS, Retry, RetryConfig, Transient};
pub use sliding_window::{
    CallOutcome, CountWindow, MAX_COUNT_WINDOW, MAX_TIME_WINDOW_SECS, SlidingWindow,
    SlidingWindowType, TimeWindow, WindowTotals,
};
pub use time_limiter::{TimeLimiter, TimeLimiterConfig, Timeout};
