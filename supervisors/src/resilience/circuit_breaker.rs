//! A circuit breaker with Resilience4j's state machine, windows and defaults.
//!
//! Source of every rule below: "Resilience4j CircuitBreaker docs" (resilience4j.readme.io,
//! *CircuitBreaker*), and where the docs are silent, Resilience4j's `CircuitBreakerStateMachine`
//! and `CircuitBreakerMetrics`.
//!
//! ```text
//!                 failure rate or slow-call rate >= its threshold
//!                 (once minimum_number_of_calls are buffered)
//!   +--------+ -------------------------------------------------> +------+
//!   | CLOSED |                                                    | OPEN |  rejects every call
//!   +--------+                                                    +------+
//!       ^                                                           |   ^
//!       |                         wait_duration_in_open_state       |   |  trial rates >= threshold,
//!       |                         elapsed: next call attempt,       |   |  or max_wait_duration_in_
//!       |  trial rates            or a timer if automatic           |   |  half_open_state elapsed
//!       |  below thresholds                                         v   |
//!       |                       +-----------+ <---------------------+   |
//!       +---------------------- | HALF_OPEN | --------------------------+
//!                               +-----------+
//!                 at most permitted_number_of_calls_in_half_open_state trial calls
//! ```
//!
//! - **Closed**: every call is permitted; outcomes go into the sliding window
//!   ([`SlidingWindowType`]). After each recorded outcome, once the window holds at least
//!   `minimum_number_of_calls` calls (for a count-based window, `min(minimum_number_of_calls,
//!   sliding_window_size)`), the breaker opens if the failure rate `>= failure_rate_threshold` or
//!   the slow-call rate `>= slow_call_rate_threshold`. A call is *slow* when it took strictly longer
//!   than `slow_call_duration_threshold` (Resilience4j compares `duration > threshold`).
//! - **Open**: every call is rejected with [`CallNotPermitted`] (and counted as not permitted) until
//!   `wait_duration_in_open_state` has elapsed; then the first call attempt moves the breaker to
//!   half-open and takes a half-open permit. With `automatic_transition_from_open_to_half_open_enabled`
//!   the move happens by itself at the deadline (a tokio timer when a runtime is present, and in any
//!   case at the next `state()`/`metrics()`/call). Rampart moves at `elapsed >= wait`;
//!   Resilience4j's `isAfter` needs one more nanosecond, which only matters on a paused clock.
//! - **Half-open**: at most `permitted_number_of_calls_in_half_open_state` calls hold a permit;
//!   others are rejected. Once that many outcomes are recorded, the rates over exactly those calls
//!   decide: above a threshold -> open again, else -> closed with a fresh window. A permit dropped
//!   without an outcome (the call was cancelled) or released for an ignored error gives its slot
//!   back. With `max_wait_duration_in_half_open_state > 0` the breaker opens again if it is still
//!   half-open after that long.
//! - **Stale outcomes**: every transition starts a new epoch; an outcome recorded by a permit from
//!   an earlier epoch (the call started before the breaker changed state) is counted in the
//!   Prometheus call counters but not in any window, and triggers no transition. (Resilience4j
//!   records such late outcomes into the open state's metrics; Rampart ignores them so a slow
//!   straggler can never close or reopen the breaker.)
//!
//! Every transition is logged (`tracing::info!` with `breaker`, `from`, `to`), counted in
//! `rampart_circuit_breaker_transitions_total`, kept in a bounded log
//! ([`CircuitBreaker::recent_transitions`], last [`TRANSITION_LOG_CAPACITY`]) and broadcast to
//! [`CircuitBreaker::subscribe`]rs.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::clock::{Clock, TokioClock};
use super::error::{ConfigError, check_ms};
use super::metrics::{BreakerMetrics, ResilienceMetrics, transition_index};
use super::sliding_window::{
    CallOutcome, MAX_COUNT_WINDOW, MAX_TIME_WINDOW_SECS, SlidingWindow, SlidingWindowType,
    WindowTotals,
};

/// How many transitions [`CircuitBreaker::recent_transitions`] keeps (the oldest are dropped).
pub const TRANSITION_LOG_CAPACITY: usize = 32;
/// Capacity of the [`CircuitBreaker::subscribe`] channel; a receiver that falls further behind gets
/// `RecvError::Lagged` and skips ahead.
pub const TRANSITION_CHANNEL_CAPACITY: usize = 64;

/// The state of a circuit breaker. Serialized as `"closed"`, `"open"`, `"half_open"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls flow; outcomes are measured.
    Closed,
    /// Calls are rejected until the wait duration has elapsed.
    Open,
    /// A limited number of trial calls decide between closed and open.
    HalfOpen,
}

impl CircuitState {
    /// The label value: `closed`, `open`, `half_open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }

    /// The value of the `rampart_circuit_breaker_state` gauge: 0 closed, 1 open, 2 half-open.
    pub const fn as_gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Configuration of a [`CircuitBreaker`]; names and defaults are Resilience4j's
/// ("Resilience4j CircuitBreaker docs", *Create and configure a CircuitBreaker*), durations in
/// milliseconds with an `_ms` suffix.
///
/// Deserializes from TOML/JSON with every field optional (`#[serde(default)]`) and unknown fields
/// rejected, e.g. `{ "failure_rate_threshold": 25.0, "wait_duration_in_open_state_ms": 5000 }`.
/// Which errors count as failures is not data: see [`RecordPredicate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitBreakerConfig {
    /// Failure rate, in percent, at or above which the breaker opens. Default `50.0`; must be in
    /// `(0, 100]`.
    pub failure_rate_threshold: f32,
    /// Slow-call rate, in percent, at or above which the breaker opens. Default `100.0`; must be
    /// in `(0, 100]`.
    pub slow_call_rate_threshold: f32,
    /// A call taking strictly longer than this is slow, in ms. Default `60_000` (60 s); at least
    /// 1 ms, at most 365 days.
    pub slow_call_duration_threshold_ms: u64,
    /// Count-based (last N calls) or time-based (last N seconds). Default `count_based`.
    pub sliding_window_type: SlidingWindowType,
    /// N: calls (count-based, `1..=1_000_000`) or seconds (time-based, `1..=86_400`). Default
    /// `100`.
    pub sliding_window_size: u32,
    /// Calls the window must hold before rates are evaluated; count-based windows use
    /// `min(minimum_number_of_calls, sliding_window_size)`. Default `100`; at least 1.
    pub minimum_number_of_calls: u32,
    /// How long the breaker stays open before it lets trial calls through, in ms. Default `60_000`
    /// (60 s); at least 1 ms, at most 365 days.
    pub wait_duration_in_open_state_ms: u64,
    /// Trial calls permitted in half-open state. Default `10`; `1..=1_000_000`.
    pub permitted_number_of_calls_in_half_open_state: u32,
    /// Longest stay in half-open before the breaker opens again, in ms; `0` (the default) stays
    /// half-open until the permitted calls have completed. At most 365 days.
    pub max_wait_duration_in_half_open_state_ms: u64,
    /// `true`: move from open to half-open by itself once the wait has elapsed; `false` (the
    /// default): on the first call attempt after the wait.
    pub automatic_transition_from_open_to_half_open_enabled: bool,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration_threshold_ms: 60_000,
            sliding_window_type: SlidingWindowType::CountBased,
            sliding_window_size: 100,
            minimum_number_of_calls: 100,
            wait_duration_in_open_state_ms: 60_000,
            permitted_number_of_calls_in_half_open_state: 10,
            max_wait_duration_in_half_open_state_ms: 0,
            automatic_transition_from_open_to_half_open_enabled: false,
        }
    }
}

const CB: &str = "circuit_breaker";

impl CircuitBreakerConfig {
    /// `slow_call_duration_threshold_ms` as a [`Duration`].
    pub const fn slow_call_duration_threshold(&self) -> Duration {
        Duration::from_millis(self.slow_call_duration_threshold_ms)
    }

    /// `wait_duration_in_open_state_ms` as a [`Duration`].
    pub const fn wait_duration_in_open_state(&self) -> Duration {
        Duration::from_millis(self.wait_duration_in_open_state_ms)
    }

    /// `max_wait_duration_in_half_open_state_ms` as a [`Duration`]; `None` for 0 (no limit).
    pub const fn max_wait_duration_in_half_open_state(&self) -> Option<Duration> {
        if self.max_wait_duration_in_half_open_state_ms == 0 {
            None
        } else {
            Some(Duration::from_millis(
                self.max_wait_duration_in_half_open_state_ms,
            ))
        }
    }

    /// The number of buffered calls from which the closed-state rates are evaluated:
    /// `min(minimum_number_of_calls, sliding_window_size)` for a count-based window,
    /// `minimum_number_of_calls` for a time-based one (Resilience4j `CircuitBreakerMetrics`).
    pub fn effective_minimum_number_of_calls(&self) -> u32 {
        match self.sliding_window_type {
            SlidingWindowType::CountBased => {
                self.minimum_number_of_calls.min(self.sliding_window_size)
            }
            SlidingWindowType::TimeBased => self.minimum_number_of_calls,
        }
    }

    /// Checks every field against the range given in its doc comment.
    ///
    /// # Errors
    /// The first field out of range, as a [`ConfigError`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let pct = |v: f32| v > 0.0 && v <= 100.0;
        if !pct(self.failure_rate_threshold) {
            return Err(ConfigError::new(
                CB,
                "failure_rate_threshold",
                "must be in (0, 100]",
            ));
        }
        if !pct(self.slow_call_rate_threshold) {
            return Err(ConfigError::new(
                CB,
                "slow_call_rate_threshold",
                "must be in (0, 100]",
            ));
        }
        check_ms(
            CB,
            "slow_call_duration_threshold_ms",
            self.slow_call_duration_threshold_ms,
            1,
        )?;
        let max_window = match self.sliding_window_type {
            SlidingWindowType::CountBased => MAX_COUNT_WINDOW,
            SlidingWindowType::TimeBased => MAX_TIME_WINDOW_SECS,
        };
        if self.sliding_window_size == 0 || self.sliding_window_size > max_window {
            return Err(ConfigError::new(
                CB,
                "sliding_window_size",
                "must be in 1..=1000000 calls (count_based) or 1..=86400 s (time_based)",
            ));
        }
        if self.minimum_number_of_calls == 0 {
            return Err(ConfigError::new(
                CB,
                "minimum_number_of_calls",
                "must be at least 1",
            ));
        }
        check_ms(
            CB,
            "wait_duration_in_open_state_ms",
            self.wait_duration_in_open_state_ms,
            1,
        )?;
        if self.permitted_number_of_calls_in_half_open_state == 0
            || self.permitted_number_of_calls_in_half_open_state > MAX_COUNT_WINDOW
        {
            return Err(ConfigError::new(
                CB,
                "permitted_number_of_calls_in_half_open_state",
                "must be in 1..=1000000",
            ));
        }
        check_ms(
            CB,
            "max_wait_duration_in_half_open_state_ms",
            self.max_wait_duration_in_half_open_state_ms,
            0,
        )
    }
}

type ErrorPredicate<E> = Arc<dyn Fn(&E) -> bool + Send + Sync>;

/// How a [`RecordPredicate`] classifies an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorDisposition {
    /// Recorded as a failed call.
    Failure,
    /// Recorded as a successful call (the error is a normal answer, e.g. "not found").
    Success,
    /// Not recorded at all; the permit is released (a half-open slot is given back).
    Ignored,
}

/// Which errors of type `E` the breaker records as failures: Resilience4j's
/// `recordFailurePredicate` (true -> failure, false -> *success*) and `ignoreExceptions` (neither
/// failure nor success; checked first). Default: every error is a failure.
///
/// Cheap to clone (`Arc`s inside); the default holds no allocation.
pub struct RecordPredicate<E: ?Sized> {
    failure: Option<ErrorPredicate<E>>,
    ignore: Option<ErrorPredicate<E>>,
}

impl<E: ?Sized> RecordPredicate<E> {
    /// Every error is a failure (Resilience4j's default).
    pub const fn all_failures() -> Self {
        Self {
            failure: None,
            ignore: None,
        }
    }

    /// Errors for which `f` returns `true` are failures; the others count as successes (unless
    /// ignored by [`Self::ignore_when`]).
    #[must_use]
    pub fn failure_when(mut self, f: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.failure = Some(Arc::new(f));
        self
    }

    /// Errors for which `f` returns `true` are neither failures nor successes: not recorded, the
    /// permit is released.
    #[must_use]
    pub fn ignore_when(mut self, f: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.ignore = Some(Arc::new(f));
        self
    }

    /// Classifies `error`: ignored first, then failure or success.
    pub fn classify(&self, error: &E) -> ErrorDisposition {
        if self.ignore.as_ref().is_some_and(|ignore| ignore(error)) {
            return ErrorDisposition::Ignored;
        }
        match &self.failure {
            Some(failure) if !failure(error) => ErrorDisposition::Success,
            _ => ErrorDisposition::Failure,
        }
    }
}

impl<E: ?Sized> Default for RecordPredicate<E> {
    fn default() -> Self {
        Self::all_failures()
    }
}

impl<E: ?Sized> Clone for RecordPredicate<E> {
    fn clone(&self) -> Self {
        Self {
            failure: self.failure.clone(),
            ignore: self.ignore.clone(),
        }
    }
}

impl<E: ?Sized> fmt::Debug for RecordPredicate<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordPredicate")
            .field("failure_predicate", &self.failure.is_some())
            .field("ignore_predicate", &self.ignore.is_some())
            .finish()
    }
}

/// A call was rejected because the breaker is open, or half-open with all trial permits taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker '{breaker}' is {state}: call not permitted")]
pub struct CallNotPermitted {
    /// The breaker's name.
    pub breaker: Arc<str>,
    /// Its state when it rejected the call (`open` or `half_open`).
    pub state: CircuitState,
}

/// The error of [`CircuitBreaker::call`]: rejected, or the call's own error.
#[derive(Debug, thiserror::Error)]
pub enum BreakerError<E> {
    /// The breaker did not permit the call; it was not started.
    #[error(transparent)]
    NotPermitted(#[from] CallNotPermitted),
    /// The call ran and failed with this error.
    #[error(transparent)]
    Inner(E),
}

impl<E> BreakerError<E> {
    /// The call's own error, if it ran.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Self::Inner(e) => Some(e),
            Self::NotPermitted(_) => None,
        }
    }
}

/// A state change: `from -> to` at instant `at` (the breaker's clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionEvent {
    /// The breaker's name.
    pub breaker: Arc<str>,
    /// The state left.
    pub from: CircuitState,
    /// The state entered.
    pub to: CircuitState,
    /// When (tokio clock, or the breaker's [`Clock`]).
    pub at: Instant,
}

/// A point-in-time view of a breaker (Resilience4j `CircuitBreaker.Metrics`), over the window of
/// the current state (closed: the sliding window; half-open: the trial calls; open: the window of
/// the state it opened from).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CircuitBreakerSnapshot {
    /// The breaker's name.
    pub name: String,
    /// Current state.
    pub state: CircuitState,
    /// Failure rate in percent; `None` while fewer than the minimum number of calls are buffered
    /// (Resilience4j returns `-1`).
    pub failure_rate: Option<f32>,
    /// Slow-call rate in percent; `None` below the minimum number of calls.
    pub slow_call_rate: Option<f32>,
    /// Calls in the window.
    pub buffered_calls: u64,
    /// Failed calls in the window.
    pub failed_calls: u64,
    /// Slow calls in the window (failed or not).
    pub slow_calls: u64,
    /// Slow failed calls in the window.
    pub slow_failed_calls: u64,
    /// Calls rejected since the current window started (reset on entering closed or half-open,
    /// carried into open, as in Resilience4j).
    pub not_permitted_calls: u64,
}

/// Permission to make one call, from [`CircuitBreaker::try_acquire_permission`].
///
/// Record the outcome with [`Permit::record_success`], [`Permit::record_failure`] or
/// [`Permit::record_result`]. Dropping it without recording (the call was cancelled) or calling
/// [`Permit::release`] records nothing and gives a half-open slot back. An outcome recorded after
/// the breaker changed state is ignored (see the [module docs](self)).
#[must_use = "record the call's outcome, or drop the permit to release it"]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    epoch: u64,
    granted_in: CircuitState,
    granted_at: Instant,
    done: bool,
}

impl Permit<'_> {
    /// The state the breaker was in when it granted this permit (`closed` or `half_open`).
    pub fn granted_in(&self) -> CircuitState {
        self.granted_in
    }

    /// When the permit was granted (breaker clock).
    pub fn granted_at(&self) -> Instant {
        self.granted_at
    }

    /// Records a successful call that took `duration` (slow if `> slow_call_duration_threshold`).
    pub fn record_success(mut self, duration: Duration) {
        self.done = true;
        self.breaker.record(self.epoch, false, duration, None);
    }

    /// Records a failed call that took `duration`.
    pub fn record_failure(mut self, duration: Duration) {
        self.done = true;
        self.breaker.record(self.epoch, true, duration, None);
    }

    /// Records `result`, classifying an error with `predicate` (an ignored error releases the
    /// permit), with the duration measured from [`Self::granted_at`] to now.
    pub fn record_result<T, E>(self, result: &Result<T, E>, predicate: &RecordPredicate<E>) {
        match result {
            Ok(_) => self.record_now(false),
            Err(e) => match predicate.classify(e) {
                ErrorDisposition::Failure => self.record_now(true),
                ErrorDisposition::Success => self.record_now(false),
                ErrorDisposition::Ignored => self.release(),
            },
        }
    }

    /// Records a call that `failed` or not, with the duration measured from [`Self::granted_at`]
    /// to now (one clock read).
    pub fn record_now(mut self, failed: bool) {
        self.done = true;
        let now = self.breaker.inner.clock.now();
        let duration = now.saturating_duration_since(self.granted_at);
        self.breaker.record(self.epoch, failed, duration, Some(now));
    }

    /// Records nothing and gives the permit back (Resilience4j `releasePermission`).
    pub fn release(mut self) {
        self.done = true;
        self.breaker.release(self.epoch);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.release(self.epoch);
        }
    }
}

struct Core {
    state: CircuitState,
    /// Incremented on every transition; permits of an older epoch are stale.
    epoch: u64,
    window: SlidingWindow,
    /// Buffered calls needed before the window's rates are evaluated.
    min_calls: u64,
    not_permitted: u64,
    /// Open: when trial calls may start.
    open_until: Instant,
    /// Half-open: permits not yet handed out.
    half_open_left: u32,
    /// Half-open: when to give up and open again.
    half_open_deadline: Option<Instant>,
    log: VecDeque<TransitionEvent>,
    timer: Option<AbortHandle>,
}

struct Inner {
    name: Arc<str>,
    config: CircuitBreakerConfig,
    slow_threshold: Duration,
    wait_open: Duration,
    max_wait_half_open: Option<Duration>,
    closed_min_calls: u64,
    clock: Arc<dyn Clock>,
    metrics: Option<BreakerMetrics>,
    events: broadcast::Sender<TransitionEvent>,
    core: Mutex<Core>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let core = self.core.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(timer) = core.timer.take() {
            timer.abort();
        }
    }
}

/// A circuit breaker. Cheap to clone (an `Arc` inside); clones share state. Thread-safe: one
/// uncontended mutex acquisition per permit and per recorded outcome.
///
/// ```
/// # use rampart_supervisors::resilience::{CircuitBreaker, CircuitBreakerConfig, BreakerError};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let breaker = CircuitBreaker::new("billing", CircuitBreakerConfig::default()).unwrap();
/// let r: Result<u32, BreakerError<std::io::Error>> = breaker.call(|| async { Ok(7) }).await;
/// assert_eq!(r.unwrap(), 7);
/// # }
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.inner.name)
            .field("state", &self.lock().state)
            .finish_non_exhaustive()
    }
}

/// Builds a [`CircuitBreaker`] with metrics and/or a custom [`Clock`].
#[derive(Debug)]
pub struct CircuitBreakerBuilder {
    name: Arc<str>,
    config: CircuitBreakerConfig,
    metrics: Option<ResilienceMetrics>,
    clock: Arc<dyn Clock>,
}

impl CircuitBreakerBuilder {
    /// Exports the breaker's state, transitions and calls into `metrics` (label `breaker` = name).
    #[must_use]
    pub fn metrics(mut self, metrics: &ResilienceMetrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// Reads time from `clock` instead of [`TokioClock`].
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the breaker, closed.
    ///
    /// # Errors
    /// [`ConfigError`] if the config fails [`CircuitBreakerConfig::validate`].
    pub fn build(self) -> Result<CircuitBreaker, ConfigError> {
        self.config.validate()?;
        let now = self.clock.now();
        let config = self.config;
        let metrics = self.metrics.map(|m| m.breaker(&self.name));
        if let Some(m) = &metrics {
            m.state.set(CircuitState::Closed.as_gauge());
        }
        let (events, _) = broadcast::channel(TRANSITION_CHANNEL_CAPACITY);
        let closed_min_calls = u64::from(config.effective_minimum_number_of_calls());
        let core = Core {
            state: CircuitState::Closed,
            epoch: 0,
            window: SlidingWindow::new(config.sliding_window_type, config.sliding_window_size, now),
            min_calls: closed_min_calls,
            not_permitted: 0,
            open_until: now,
            half_open_left: 0,
            half_open_deadline: None,
            log: VecDeque::with_capacity(TRANSITION_LOG_CAPACITY),
            timer: None,
        };
        Ok(CircuitBreaker {
            inner: Arc::new(Inner {
                name: self.name,
                slow_threshold: config.slow_call_duration_threshold(),
                wait_open: config.wait_duration_in_open_state(),
                max_wait_half_open: config.max_wait_duration_in_half_open_state(),
                closed_min_calls,
                config,
                clock: self.clock,
                metrics,
                events,
                core: Mutex::new(core),
            }),
        })
    }
}

impl CircuitBreaker {
    /// A closed breaker named `name` (the `breaker` label and log field), without metrics, on
    /// tokio's clock.
    ///
    /// # Errors
    /// [`ConfigError`] if the config fails [`CircuitBreakerConfig::validate`].
    pub fn new(
        name: impl Into<Arc<str>>,
        config: CircuitBreakerConfig,
    ) -> Result<Self, ConfigError> {
        Self::builder(name, config).build()
    }

    /// A builder, to add metrics or a clock.
    pub fn builder(
        name: impl Into<Arc<str>>,
        config: CircuitBreakerConfig,
    ) -> CircuitBreakerBuilder {
        CircuitBreakerBuilder {
            name: name.into(),
            config,
            metrics: None,
            clock: Arc::new(TokioClock),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The breaker's config.
    pub fn config(&self) -> &CircuitBreakerConfig {
        &self.inner.config
    }

    /// The breaker's clock (used to time calls).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.inner.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks to make one call: `Ok(permit)` in closed state, in half-open state while trial permits
    /// remain, and in open state once `wait_duration_in_open_state` has elapsed (the breaker then
    /// moves to half-open and this is its first trial permit).
    ///
    /// # Errors
    /// [`CallNotPermitted`] otherwise; it is counted (`not_permitted`).
    pub fn try_acquire_permission(&self) -> Result<Permit<'_>, CallNotPermitted> {
        let now = self.inner.clock.now();
        let mut core = self.lock();
        self.advance_timers(&mut core, now);
        if core.state == CircuitState::Open && now >= core.open_until {
            self.transition(&mut core, CircuitState::HalfOpen, now);
        }
        let granted = match core.state {
            CircuitState::Closed => true,
            CircuitState::Open => false,
            CircuitState::HalfOpen => {
                if core.half_open_left > 0 {
                    core.half_open_left -= 1;
                    true
                } else {
                    false
                }
            }
        };
        if granted {
            return Ok(Permit {
                breaker: self,
                epoch: core.epoch,
                granted_in: core.state,
                granted_at: now,
                done: false,
            });
        }
        core.not_permitted += 1;
        let state = core.state;
        drop(core);
        if let Some(m) = &self.inner.metrics {
            m.not_permitted.inc();
        }
        Err(CallNotPermitted {
            breaker: self.inner.name.clone(),
            state,
        })
    }

    /// Runs `f` if permitted, timing it with the breaker's clock; every error counts as a failure.
    /// If the returned future is dropped before `f` completes, nothing is recorded and the permit
    /// is released.
    ///
    /// # Errors
    /// [`BreakerError::NotPermitted`] without running `f`, or [`BreakerError::Inner`] with `f`'s
    /// error.
    pub async fn call<F, Fut, T, E>(&self, f: F) -> Result<T, BreakerError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_with(&RecordPredicate::all_failures(), f).await
    }

    /// Like [`Self::call`], classifying errors with `predicate`.
    ///
    /// # Errors
    /// As [`Self::call`].
    pub async fn call_with<F, Fut, T, E>(
        &self,
        predicate: &RecordPredicate<E>,
        f: F,
    ) -> Result<T, BreakerError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire_permission()?;
        let result = f().await;
        permit.record_result(&result, predicate);
        result.map_err(BreakerError::Inner)
    }

    /// The current state (applying an automatic transition whose deadline has passed).
    pub fn state(&self) -> CircuitState {
        let now = self.inner.clock.now();
        let mut core = self.lock();
        self.advance_timers(&mut core, now);
        core.state
    }

    /// A snapshot of the current state's window and counters.
    pub fn metrics(&self) -> CircuitBreakerSnapshot {
        let now = self.inner.clock.now();
        let mut core = self.lock();
        self.advance_timers(&mut core, now);
        let totals: WindowTotals = core.window.totals(now);
        let evaluated = totals.calls > 0 && totals.calls >= core.min_calls;
        CircuitBreakerSnapshot {
            name: self.inner.name.to_string(),
            state: core.state,
            failure_rate: evaluated.then(|| totals.failure_rate()),
            slow_call_rate: evaluated.then(|| totals.slow_call_rate()),
            buffered_calls: totals.calls,
            failed_calls: totals.failed_calls,
            slow_calls: totals.slow_calls,
            slow_failed_calls: totals.slow_failed_calls,
            not_permitted_calls: core.not_permitted,
        }
    }

    /// Forces the breaker closed with a fresh window (admin/test use). No-op if already closed.
    pub fn transition_to_closed(&self) {
        self.force(CircuitState::Closed);
    }

    /// Forces the breaker open for `wait_duration_in_open_state` (admin/test use). No-op if
    /// already open.
    pub fn transition_to_open(&self) {
        self.force(CircuitState::Open);
    }

    /// Forces the breaker half-open with fresh trial permits (admin/test use). No-op if already
    /// half-open.
    pub fn transition_to_half_open(&self) {
        self.force(CircuitState::HalfOpen);
    }

    /// Resets to closed with a fresh window and counters (Resilience4j `reset`); outstanding
    /// permits become stale.
    pub fn reset(&self) {
        let now = self.inner.clock.now();
        let mut core = self.lock();
        if core.state == CircuitState::Closed {
            core.epoch += 1;
            self.enter(&mut core, CircuitState::Closed, now);
        } else {
            self.transition(&mut core, CircuitState::Closed, now);
        }
    }

    /// A receiver of every future transition (bounded: [`TRANSITION_CHANNEL_CAPACITY`]).
    pub fn subscribe(&self) -> broadcast::Receiver<TransitionEvent> {
        self.inner.events.subscribe()
    }

    /// The last [`TRANSITION_LOG_CAPACITY`] transitions, oldest first.
    pub fn recent_transitions(&self) -> Vec<TransitionEvent> {
        self.lock().log.iter().cloned().collect()
    }

    fn force(&self, to: CircuitState) {
        let now = self.inner.clock.now();
        let mut core = self.lock();
        self.transition(&mut core, to, now);
    }

    /// Applies the deadline-driven transitions that are due: half-open past its max wait -> open;
    /// open past its wait with automatic transition enabled -> half-open.
    fn advance_timers(&self, core: &mut Core, now: Instant) {
        if core.state == CircuitState::HalfOpen && core.half_open_deadline.is_some_and(|d| now >= d)
        {
            self.transition(core, CircuitState::Open, now);
        }
        if core.state == CircuitState::Open
            && self
                .inner
                .config
                .automatic_transition_from_open_to_half_open_enabled
            && now >= core.open_until
        {
            self.transition(core, CircuitState::HalfOpen, now);
        }
    }

    fn record(&self, epoch: u64, failed: bool, duration: Duration, now: Option<Instant>) {
        let outcome = CallOutcome::new(failed, duration > self.inner.slow_threshold);
        if let Some(m) = &self.inner.metrics {
            match outcome {
                CallOutcome::Success => m.success.inc(),
                CallOutcome::Failure => m.failure.inc(),
                CallOutcome::SlowSuccess => m.slow_success.inc(),
                CallOutcome::SlowFailure => m.slow_failure.inc(),
            }
        }
        let now = now.unwrap_or_else(|| self.inner.clock.now());
        let mut core = self.lock();
        if core.epoch != epoch {
            return;
        }
        let totals = core.window.record(now, outcome, duration);
        let min_calls = core.min_calls;
        let evaluated = totals.calls > 0 && totals.calls >= min_calls;
        let exceeded = evaluated
            && (totals.failure_rate() >= self.inner.config.failure_rate_threshold
                || totals.slow_call_rate() >= self.inner.config.slow_call_rate_threshold);
        match core.state {
            CircuitState::Closed if exceeded => {
                self.transition(&mut core, CircuitState::Open, now);
            }
            CircuitState::HalfOpen if exceeded => {
                self.transition(&mut core, CircuitState::Open, now);
            }
            CircuitState::HalfOpen if evaluated => {
                self.transition(&mut core, CircuitState::Closed, now);
            }
            _ => {}
        }
    }

    fn release(&self, epoch: u64) {
        let mut core = self.lock();
        if core.epoch == epoch && core.state == CircuitState::HalfOpen {
            let permitted = self
                .inner
                .config
                .permitted_number_of_calls_in_half_open_state;
            core.half_open_left = (core.half_open_left + 1).min(permitted);
        }
    }

    /// Moves to `to` (no-op if already there): new epoch, state set up, event emitted.
    fn transition(&self, core: &mut Core, to: CircuitState, now: Instant) {
        let from = core.state;
        if from == to {
            return;
        }
        core.epoch += 1;
        self.enter(core, to, now);
        let event = TransitionEvent {
            breaker: self.inner.name.clone(),
            from,
            to,
            at: now,
        };
        tracing::info!(breaker = %self.inner.name, %from, %to, "circuit breaker state transition");
        if let Some(m) = &self.inner.metrics {
            m.state.set(to.as_gauge());
            if let Some(counter) = transition_index(from, to).and_then(|i| m.transitions.get(i)) {
                counter.inc();
            }
        }
        if core.log.len() >= TRANSITION_LOG_CAPACITY {
            core.log.pop_front();
        }
        core.log.push_back(event.clone());
        // No receivers is not an error.
        let _ = self.inner.events.send(event);
    }

    /// Sets up state `to` entered at `now`.
    fn enter(&self, core: &mut Core, to: CircuitState, now: Instant) {
        core.state = to;
        if let Some(timer) = core.timer.take() {
            timer.abort();
        }
        let config = &self.inner.config;
        match to {
            CircuitState::Closed => {
                core.window =
                    SlidingWindow::new(config.sliding_window_type, config.sliding_window_size, now);
                core.min_calls = self.inner.closed_min_calls;
                core.not_permitted = 0;
                core.half_open_deadline = None;
            }
            CircuitState::Open => {
                core.open_until = now + self.inner.wait_open;
                core.half_open_deadline = None;
                if config.automatic_transition_from_open_to_half_open_enabled {
                    core.timer = self.schedule(core.epoch, self.inner.wait_open);
                }
            }
            CircuitState::HalfOpen => {
                let permitted = config.permitted_number_of_calls_in_half_open_state;
                core.window = SlidingWindow::new(SlidingWindowType::CountBased, permitted, now);
                core.min_calls = u64::from(permitted);
                core.not_permitted = 0;
                core.half_open_left = permitted;
                core.half_open_deadline = self.inner.max_wait_half_open.map(|d| now + d);
                if let Some(d) = self.inner.max_wait_half_open {
                    core.timer = self.schedule(core.epoch, d);
                }
            }
        }
    }

    /// Spawns a timer that applies the due transitions of `epoch` after `delay`, if a tokio runtime
    /// is running. It holds only a weak reference and is aborted by the next transition.
    fn schedule(&self, epoch: u64, delay: Duration) -> Option<AbortHandle> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let task = handle.spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(inner) = weak.upgrade() {
                let breaker = CircuitBreaker { inner };
                let now = breaker.inner.clock.now();
                let mut core = breaker.lock();
                if core.epoch == epoch {
                    // This task is finishing; don't let the transition abort it.
                    core.timer = None;
                    breaker.advance_timers(&mut core, now);
                }
            }
        });
        Some(task.abort_handle())
    }
}
