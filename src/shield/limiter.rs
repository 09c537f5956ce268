//! Keyed token buckets with bounded state: `governor`'s GCRA rate limiter (the generic cell
//! rate algorithm, ATM Forum TM 4.1, equivalent to a token bucket of `burst` cells refilled at
//! `rate`) over a state store kept in a `moka` cache.
//!
//! governor's own keyed store is a map that grows with every key until it is pruned; here the
//! store holds at most `max_keys` keys (moka's TinyLFU admission and LRU eviction: a spray of
//! one-off keys does not push out the busy keys that are being limited) and forgets a key idle
//! for longer than its bucket takes to refill completely, when its state is that of a new key
//! anyway. A key that was evicted starts again with a full bucket: the bound is on memory, and
//! the price is that a limited key pushed out by more than `max_keys` busier ones is forgiven.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{Quota, RateLimiter};

/// governor state store over a bounded moka cache (module docs).
pub struct BoundedStore<K> {
    cache: moka::sync::Cache<K, Arc<InMemoryState>>,
}

impl<K> StateStore for BoundedStore<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let state = self
            .cache
            .get_with_by_ref(key, || Arc::new(InMemoryState::default()));
        state.measure_and_replace(&NotKeyed::NonKey, f)
    }
}

/// The outcome of [`KeyedLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit.
    Allowed {
        /// Cells left in the bucket.
        remaining: u32,
        /// Until the bucket is full again.
        reset: Duration,
    },
    /// Over the limit.
    Limited {
        /// Until one more cell is available.
        retry_after: Duration,
    },
}

/// A keyed token bucket (module docs).
pub struct KeyedLimiter<K: Hash + Eq + Clone + Send + Sync + 'static> {
    limiter: RateLimiter<K, BoundedStore<K>, DefaultClock, StateInformationMiddleware>,
    clock: DefaultClock,
    store: moka::sync::Cache<K, Arc<InMemoryState>>,
    burst: u32,
    period: Duration,
}

/// A limit that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limit: {0}")]
pub struct LimitError(String);

impl<K: Hash + Eq + Clone + Send + Sync + 'static> KeyedLimiter<K> {
    /// `burst` cells refilled one every `period` (a rate of `1 / period`), at most `max_keys`
    /// keys held.
    ///
    /// # Errors
    /// [`LimitError`] for a zero period, a zero burst or zero `max_keys`.
    pub fn new(period: Duration, burst: u32, max_keys: u64) -> Result<Self, LimitError> {
        let burst_nz = NonZeroU32::new(burst).ok_or(LimitError("burst must be > 0".into()))?;
        if max_keys == 0 {
            return Err(LimitError("max_keys must be > 0".into()));
        }
        let quota = Quota::with_period(period)
            .ok_or(LimitError("the period must be > 0".into()))?
            .allow_burst(burst_nz);
        let refill = period.saturating_mul(burst).max(Duration::from_secs(1));
        let store = moka::sync::Cache::builder()
            .max_capacity(max_keys)
            .time_to_idle(refill)
            .build();
        let clock = DefaultClock::default();
        let limiter = RateLimiter::<K, _, _, StateInformationMiddleware>::new(
            quota,
            BoundedStore {
                cache: store.clone(),
            },
            clock.clone(),
        );
        Ok(Self {
            limiter,
            clock,
            store,
            burst,
            period,
        })
    }

    /// `rate_per_s` cells per second, `burst` cells (API Gateway's rate and burst).
    ///
    /// # Errors
    /// [`LimitError`] for a rate that is not positive and finite, or a zero burst.
    pub fn per_second(rate_per_s: f64, burst: u32, max_keys: u64) -> Result<Self, LimitError> {
        if !(rate_per_s.is_finite() && rate_per_s > 0.0) {
            return Err(LimitError(format!(
                "rate_per_s must be > 0, not {rate_per_s}"
            )));
        }
        Self::new(Duration::from_secs_f64(1.0 / rate_per_s), burst, max_keys)
    }

    /// `limit` requests per `window` (a bucket of `limit` refilled over `window`: AWS WAF's
    /// rate-based rule as a GCRA).
    ///
    /// # Errors
    /// [`LimitError`] for a zero limit or window.
    pub fn per_window(limit: u64, window: Duration, max_keys: u64) -> Result<Self, LimitError> {
        let burst = u32::try_from(limit).map_err(|_| LimitError("limit too large".into()))?;
        if burst == 0 {
            return Err(LimitError("limit must be > 0".into()));
        }
        Self::new(window / burst, burst, max_keys)
    }

    /// Takes one cell for `key`.
    pub fn check(&self, key: &K) -> Decision {
        match self.limiter.check_key(key) {
            Ok(snap) => {
                let remaining = snap.remaining_burst_capacity();
                Decision::Allowed {
                    remaining,
                    reset: self
                        .period
                        .saturating_mul(self.burst.saturating_sub(remaining)),
                }
            }
            Err(not_until) => Decision::Limited {
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    /// The bucket size, cells.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Time to refill one cell.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Keys held now (approximate until [`Self::run_pending_tasks`]).
    pub fn keys(&self) -> u64 {
        self.store.entry_count()
    }

    /// Applies pending evictions (moka does them in batches).
    pub fn run_pending_tasks(&self) {
        self.store.run_pending_tasks();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn a_bucket_allows_its_burst_then_limits_with_the_wait() {
        let l = KeyedLimiter::per_window(10, Duration::from_secs(60), 100).unwrap();
        let k = "a".to_owned();
        for i in 0..10 {
            match l.check(&k) {
                Decision::Allowed { remaining, .. } => assert_eq!(remaining, 9 - i),
                d => panic!("request {i}: {d:?}"),
            }
        }
        match l.check(&k) {
            Decision::Limited { retry_after } => {
                assert!(retry_after <= Duration::from_secs(6), "{retry_after:?}");
                assert!(retry_after > Duration::from_secs(5), "{retry_after:?}");
            }
            d => panic!("{d:?}"),
        }
        assert!(matches!(
            l.check(&"b".to_owned()),
            Decision::Allowed { remaining: 9, .. }
        ));
    }

    #[test]
    fn the_state_holds_at_most_max_keys() {
        let l = KeyedLimiter::<IpAddr>::per_second(1.0, 5, 1000).unwrap();
        for i in 0..50_000u32 {
            l.check(&IpAddr::V4(Ipv4Addr::from(i)));
        }
        l.run_pending_tasks();
        assert!(l.keys() <= 1000, "{} keys", l.keys());
    }

    #[test]
    fn bad_limits_are_refused() {
        assert!(KeyedLimiter::<u8>::per_second(0.0, 5, 10).is_err());
        assert!(KeyedLimiter::<u8>::per_second(f64::NAN, 5, 10).is_err());
        assert!(KeyedLimiter::<u8>::per_second(1.0, 0, 10).is_err());
        assert!(KeyedLimiter::<u8>::per_window(0, Duration::from_secs(60), 10).is_err());
        assert!(KeyedLimiter::<u8>::per_second(1.0, 1, 0).is_err());
    }
}
