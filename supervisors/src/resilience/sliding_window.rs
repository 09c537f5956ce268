//! The sliding windows a [`CircuitBreaker`](super::CircuitBreaker) aggregates call outcomes in.
//!
//! Source of the rules: "Resilience4j CircuitBreaker docs", section *Count-based sliding window*
//! and *Time-based sliding window*:
//! - **count-based**: the last `N` calls, kept in a circular array of `N` measurements; the totals
//!   are updated incrementally when a call is recorded and the oldest one is evicted, so recording
//!   is O(1) and reading the totals is O(1).
//! - **time-based**: the calls of the last `N` seconds, kept in a circular array of `N` partial
//!   aggregations (buckets), one per epoch second; a bucket that falls out of the window is
//!   subtracted from the totals when time moves past it, so recording is O(1) amortized.
//!
//! Both are bounded: at most [`MAX_COUNT_WINDOW`] slots or [`MAX_TIME_WINDOW_SECS`] buckets, and
//! the count-based one allocates its slots as calls arrive.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The largest count-based window accepted (calls).
pub const MAX_COUNT_WINDOW: u32 = 1_000_000;
/// The largest time-based window accepted (seconds; one day).
pub const MAX_TIME_WINDOW_SECS: u32 = 86_400;

/// How the closed-state window is measured (Resilience4j `slidingWindowType`, default
/// `COUNT_BASED`). Serialized as `"count_based"` / `"time_based"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlidingWindowType {
    /// The last `sliding_window_size` calls.
    #[default]
    CountBased,
    /// The calls of the last `sliding_window_size` seconds.
    TimeBased,
}

/// The outcome of one call as a window stores it (Resilience4j `Metrics.Outcome`): failed or not,
/// and slow or not (slower than `slow_call_duration_threshold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Succeeded within the slow-call threshold.
    Success,
    /// Failed within the slow-call threshold.
    Failure,
    /// Succeeded, but took longer than the slow-call threshold.
    SlowSuccess,
    /// Failed and took longer than the slow-call threshold.
    SlowFailure,
}

impl CallOutcome {
    /// The outcome of a call that `failed` or not and was `slow` or not.
    pub const fn new(failed: bool, slow: bool) -> Self {
        match (failed, slow) {
            (false, false) => Self::Success,
            (true, false) => Self::Failure,
            (false, true) => Self::SlowSuccess,
            (true, true) => Self::SlowFailure,
        }
    }

    /// Whether the call failed.
    pub const fn is_failure(self) -> bool {
        matches!(self, Self::Failure | Self::SlowFailure)
    }

    /// Whether the call was slow.
    pub const fn is_slow(self) -> bool {
        matches!(self, Self::SlowSuccess | Self::SlowFailure)
    }

    /// The `outcome` label value: `success`, `failure`, `slow_success`, `slow_failure`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::SlowSuccess => "slow_success",
            Self::SlowFailure => "slow_failure",
        }
    }
}

/// Aggregated outcomes of the calls in a window (Resilience4j `Snapshot`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowTotals {
    /// Calls in the window.
    pub calls: u64,
    /// Failed calls (slow or not).
    pub failed_calls: u64,
    /// Slow calls (failed or not).
    pub slow_calls: u64,
    /// Calls that were both slow and failed.
    pub slow_failed_calls: u64,
    /// Sum of the calls' durations, nanoseconds.
    pub total_duration_nanos: u128,
}

impl WindowTotals {
    fn add(&mut self, outcome: CallOutcome, nanos: u128) {
        self.calls += 1;
        self.failed_calls += u64::from(outcome.is_failure());
        self.slow_calls += u64::from(outcome.is_slow());
        self.slow_failed_calls += u64::from(outcome == CallOutcome::SlowFailure);
        self.total_duration_nanos += nanos;
    }

    fn sub_one(&mut self, outcome: CallOutcome, nanos: u128) {
        self.calls = self.calls.saturating_sub(1);
        self.failed_calls = self
            .failed_calls
            .saturating_sub(u64::from(outcome.is_failure()));
        self.slow_calls = self.slow_calls.saturating_sub(u64::from(outcome.is_slow()));
        self.slow_failed_calls = self
            .slow_failed_calls
            .saturating_sub(u64::from(outcome == CallOutcome::SlowFailure));
        self.total_duration_nanos = self.total_duration_nanos.saturating_sub(nanos);
    }

    fn sub(&mut self, other: &WindowTotals) {
        self.calls = self.calls.saturating_sub(other.calls);
        self.failed_calls = self.failed_calls.saturating_sub(other.failed_calls);
        self.slow_calls = self.slow_calls.saturating_sub(other.slow_calls);
        self.slow_failed_calls = self
            .slow_failed_calls
            .saturating_sub(other.slow_failed_calls);
        self.total_duration_nanos = self
            .total_duration_nanos
            .saturating_sub(other.total_duration_nanos);
    }

    /// Failed calls in percent of all calls (`0.0..=100.0`), `0.0` for an empty window.
    /// Computed as Resilience4j does: `failed * 100 / calls` in `f32`.
    pub fn failure_rate(&self) -> f32 {
        rate(self.failed_calls, self.calls)
    }

    /// Slow calls in percent of all calls (`0.0..=100.0`), `0.0` for an empty window.
    pub fn slow_call_rate(&self) -> f32 {
        rate(self.slow_calls, self.calls)
    }

    /// Mean call duration, `Duration::ZERO` for an empty window.
    pub fn average_duration(&self) -> Duration {
        if self.calls == 0 {
            return Duration::ZERO;
        }
        let nanos = self.total_duration_nanos / u128::from(self.calls);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

fn rate(part: u64, whole: u64) -> f32 {
    if whole == 0 {
        0.0
    } else {
        // Precision loss is irrelevant for a percentage.
        #[allow(clippy::cast_precision_loss)]
        let r = part as f32 * 100.0 / whole as f32;
        r
    }
}

fn nanos_of(d: Duration) -> u128 {
    d.as_nanos()
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    outcome: CallOutcome,
    nanos: u128,
}

/// The last `size` calls, in a ring buffer with running totals: O(1) record and read.
#[derive(Debug, Clone)]
pub struct CountWindow {
    size: usize,
    slots: Vec<Slot>,
    /// Next slot to overwrite once the ring is full.
    head: usize,
    totals: WindowTotals,
}

impl CountWindow {
    /// A window over the last `size` calls; `size` is clamped to `1..=MAX_COUNT_WINDOW`.
    pub fn new(size: u32) -> Self {
        let size = size.clamp(1, MAX_COUNT_WINDOW) as usize;
        Self {
            size,
            slots: Vec::with_capacity(size.min(1024)),
            head: 0,
            totals: WindowTotals::default(),
        }
    }

    /// Records one call, evicting the oldest once `size` calls are held. Returns the new totals.
    pub fn record(&mut self, outcome: CallOutcome, duration: Duration) -> WindowTotals {
        let slot = Slot {
            outcome,
            nanos: nanos_of(duration),
        };
        if self.slots.len() < self.size {
            self.slots.push(slot);
        } else if let Some(old) = self.slots.get_mut(self.head) {
            self.totals.sub_one(old.outcome, old.nanos);
            *old = slot;
            self.head = (self.head + 1) % self.size;
        }
        self.totals.add(outcome, slot.nanos);
        self.totals
    }

    /// The totals of the calls held.
    pub fn totals(&self) -> WindowTotals {
        self.totals
    }

    /// The window's capacity, in calls.
    pub fn size(&self) -> usize {
        self.size
    }
}

/// The calls of the last `size` seconds, in one bucket per second: O(1) amortized record and read.
///
/// Seconds are counted from the window's `origin` instant; the window covers the current second
/// and the `size - 1` before it. A record carrying an instant older than the newest one seen (two
/// racing callers) goes into the newest bucket.
#[derive(Debug, Clone)]
pub struct TimeWindow {
    buckets: Vec<WindowTotals>,
    origin: Instant,
    head_sec: u64,
    totals: WindowTotals,
}

impl TimeWindow {
    /// A window over the last `size_secs` seconds (clamped to `1..=MAX_TIME_WINDOW_SECS`) starting
    /// at `origin`.
    pub fn new(size_secs: u32, origin: Instant) -> Self {
        let size = size_secs.clamp(1, MAX_TIME_WINDOW_SECS) as usize;
        Self {
            buckets: vec![WindowTotals::default(); size],
            origin,
            head_sec: 0,
            totals: WindowTotals::default(),
        }
    }

    fn advance(&mut self, now: Instant) {
        let sec = now.saturating_duration_since(self.origin).as_secs();
        if sec <= self.head_sec {
            return;
        }
        let len = self.buckets.len() as u64;
        let gap = sec - self.head_sec;
        if gap >= len {
            self.buckets.fill(WindowTotals::default());
            self.totals = WindowTotals::default();
        } else {
            for s in (self.head_sec + 1)..=sec {
                // `s % len < len <= MAX_TIME_WINDOW_SECS`, so the cast is lossless.
                if let Some(bucket) = self.buckets.get_mut((s % len) as usize) {
                    self.totals.sub(bucket);
                    *bucket = WindowTotals::default();
                }
            }
        }
        self.head_sec = sec;
    }

    /// Records one call at `now`, first forgetting the seconds that left the window.
    pub fn record(
        &mut self,
        now: Instant,
        outcome: CallOutcome,
        duration: Duration,
    ) -> WindowTotals {
        self.advance(now);
        let len = self.buckets.len() as u64;
        let nanos = nanos_of(duration);
        if let Some(bucket) = self.buckets.get_mut((self.head_sec % len) as usize) {
            bucket.add(outcome, nanos);
        }
        self.totals.add(outcome, nanos);
        self.totals
    }

    /// The totals of the calls of the last `size` seconds as of `now`.
    pub fn totals(&mut self, now: Instant) -> WindowTotals {
        self.advance(now);
        self.totals
    }

    /// The window's length, in seconds.
    pub fn size_secs(&self) -> usize {
        self.buckets.len()
    }
}

/// Either window, as chosen by [`SlidingWindowType`].
#[derive(Debug, Clone)]
pub enum SlidingWindow {
    /// See [`CountWindow`].
    Count(CountWindow),
    /// See [`TimeWindow`].
    Time(TimeWindow),
}

impl SlidingWindow {
    /// A window of `kind` and `size` (calls or seconds), time-based ones starting at `now`.
    pub fn new(kind: SlidingWindowType, size: u32, now: Instant) -> Self {
        match kind {
            SlidingWindowType::CountBased => Self::Count(CountWindow::new(size)),
            SlidingWindowType::TimeBased => Self::Time(TimeWindow::new(size, now)),
        }
    }

    /// Records one call at `now`; returns the new totals.
    pub fn record(
        &mut self,
        now: Instant,
        outcome: CallOutcome,
        duration: Duration,
    ) -> WindowTotals {
        match self {
            Self::Count(w) => w.record(outcome, duration),
            Self::Time(w) => w.record(now, outcome, duration),
        }
    }

    /// The totals as of `now`.
    pub fn totals(&mut self, now: Instant) -> WindowTotals {
        match self {
            Self::Count(w) => w.totals(),
            Self::Time(w) => w.totals(now),
        }
    }
}
