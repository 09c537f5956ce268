//! The clock the resilience components read: tokio's, so paused-time tests are deterministic.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// A monotonic time source, in [`tokio::time::Instant`]s.
///
/// Components default to [`TokioClock`], which follows tokio's clock: under
/// `#[tokio::test(start_paused = true)]` time only moves when the test sleeps or calls
/// `tokio::time::advance`. [`ManualClock`] lets a caller (e.g. a property test without a runtime)
/// drive time explicitly.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// [`tokio::time::Instant::now`]: the runtime's (possibly paused) clock, or the system's monotonic
/// clock outside a runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to: `now() = origin + offset`, with the offset advanced by
/// [`ManualClock::advance`]. Shared through `Arc`; thread-safe.
#[derive(Debug)]
pub struct ManualClock {
    origin: Instant,
    offset_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock standing at `Instant::now()` (tokio's clock) until advanced.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            offset_nanos: AtomicU64::new(0),
        }
    }

    /// Moves the clock forward by `by` (saturating at ~584 years of total offset).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                Some(cur.saturating_add(nanos))
            });
    }

    /// How far the clock has been advanced since it was created.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::Acquire))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }
}
