//! A cached fallback: serve the last good answer, marked stale, while the callee is down.
//!
//! Resilience4j leaves fallbacks to the caller (`Decorators.withFallback`, "Resilience4j
//! Decorators docs"); this is Rampart's: every successful result is stored in a bounded
//! [`moka::future::Cache`] (`max_capacity` entries, `time_to_live`), and when a call fails — for
//! any reason: its own error, an open breaker, a timeout, a full bulkhead — the stored value for
//! the same key is served instead, with [`Freshness::Stale`] and its age, so the caller (and its
//! caller) can tell. With nothing stored, the original error is returned.
//!
//! Ages are measured on tokio's clock (deterministic under paused time); `time_to_live` is enforced
//! both by moka (real time, bounds memory) and on tokio's clock when an entry is read.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use tokio::time::Instant;

use super::error::{ConfigError, check_ms};
use super::metrics::{FallbackMetrics, ResilienceMetrics};

/// The largest `max_capacity` accepted (entries).
pub const MAX_FALLBACK_CAPACITY: u64 = 10_000_000;

/// Configuration of a [`CachedFallback`]. Deserializes with every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FallbackConfig {
    /// Most entries kept (moka evicts the least useful beyond it). Default `10_000`;
    /// `1..=10_000_000`.
    pub max_capacity: u64,
    /// How long a stored answer may be served, ms. Default `300_000` (5 min); at least 1 ms, at
    /// most 365 days.
    pub time_to_live_ms: u64,
}

impl Default for FallbackConfig {
    fn default() -> Self {
        Self {
            max_capacity: 10_000,
            time_to_live_ms: 300_000,
        }
    }
}

impl FallbackConfig {
    /// Checks the ranges in the fields' doc comments.
    ///
    /// # Errors
    /// [`ConfigError`] for the first field out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_capacity == 0 || self.max_capacity > MAX_FALLBACK_CAPACITY {
            return Err(ConfigError::new(
                "fallback",
                "max_capacity",
                "must be in 1..=10000000",
            ));
        }
        check_ms("fallback", "time_to_live_ms", self.time_to_live_ms, 1)
    }
}

/// How fresh a served value is.
///
/// Serialized inside [`Served`] as `"freshness": "fresh"` or
/// `"freshness": "stale", "age_ms": 1500, "stored_at": "2026-01-01T00:00:00Z"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "freshness", rename_all = "snake_case")]
pub enum Freshness {
    /// Just returned by the callee.
    Fresh,
    /// Served from the cache because the call failed.
    Stale {
        /// Time since it was stored (tokio clock); serialized as `age_ms`.
        #[serde(rename = "age_ms", serialize_with = "serialize_ms")]
        age: Duration,
        /// Wall-clock time it was stored (UTC, RFC 3339), for display.
        stored_at: DateTime<Utc>,
    },
}

fn serialize_ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A value and how fresh it is. Serializes as `{"value": ..., "freshness": "fresh"}` or
/// `{"value": ..., "freshness": "stale", "age_ms": 1500, "stored_at": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Served<V> {
    /// The value.
    pub value: V,
    /// Fresh from the callee or stale from the cache.
    #[serde(flatten)]
    pub freshness: Freshness,
}

impl<V> Served<V> {
    /// A fresh value.
    pub const fn fresh(value: V) -> Self {
        Self {
            value,
            freshness: Freshness::Fresh,
        }
    }

    /// Whether it came from the cache.
    pub fn is_stale(&self) -> bool {
        matches!(self.freshness, Freshness::Stale { .. })
    }

    /// The age of a stale value; `None` if fresh.
    pub fn age(&self) -> Option<Duration> {
        match self.freshness {
            Freshness::Fresh => None,
            Freshness::Stale { age, .. } => Some(age),
        }
    }

    /// The value, dropping its freshness.
    pub fn into_value(self) -> V {
        self.value
    }
}

#[derive(Debug, Clone)]
struct Entry<V> {
    value: V,
    stored_at: Instant,
    stored_wall: DateTime<Utc>,
}

/// A bounded cache of last good answers, served when a call fails. Cheap to clone; clones share
/// the cache. `V` is cloned once per successful call (prefer `Arc`/`Bytes` for large values).
pub struct CachedFallback<K, V> {
    name: Arc<str>,
    cache: moka::future::Cache<K, Entry<V>>,
    ttl: Duration,
    metrics: Option<FallbackMetrics>,
}

impl<K, V> Clone for CachedFallback<K, V> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            cache: self.cache.clone(),
            ttl: self.ttl,
            metrics: self.metrics.clone(),
        }
    }
}

impl<K, V> std::fmt::Debug for CachedFallback<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedFallback")
            .field("name", &self.name)
            .field("ttl", &self.ttl)
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

impl<K, V> CachedFallback<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A fallback named `name` (the `policy` label), counting served values in
    /// `rampart_fallback_served_total{freshness}` if `metrics` is given.
    ///
    /// # Errors
    /// [`ConfigError`] if the config fails [`FallbackConfig::validate`].
    pub fn new(
        name: impl Into<Arc<str>>,
        config: &FallbackConfig,
        metrics: Option<&ResilienceMetrics>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let name = name.into();
        let ttl = Duration::from_millis(config.time_to_live_ms);
        Ok(Self {
            cache: moka::future::Cache::builder()
                .name(&name)
                .max_capacity(config.max_capacity)
                .time_to_live(ttl)
                .build(),
            metrics: metrics.map(|m| m.fallback(&name)),
            name,
            ttl,
        })
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long a stored answer may be served (`time_to_live_ms`).
    pub fn time_to_live(&self) -> Duration {
        self.ttl
    }

    /// Awaits `fut`: on `Ok`, stores the value under `key` and returns it fresh; on `Err`, returns
    /// the value stored under `key` (younger than `time_to_live`) as stale.
    ///
    /// # Errors
    /// `fut`'s error when nothing usable is stored under `key`.
    pub async fn call<E, F>(&self, key: K, fut: F) -> Result<Served<V>, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        match fut.await {
            Ok(value) => {
                let entry = Entry {
                    value: value.clone(),
                    stored_at: Instant::now(),
                    stored_wall: Utc::now(),
                };
                self.cache.insert(key, entry).await;
                if let Some(m) = &self.metrics {
                    m.fresh.inc();
                }
                Ok(Served::fresh(value))
            }
            Err(e) => match self.stale(&key).await {
                Some(served) => {
                    if let Some(m) = &self.metrics {
                        m.stale.inc();
                    }
                    tracing::debug!(policy = %self.name, age_ms = served.age().unwrap_or_default().as_millis(), "serving a stale fallback");
                    Ok(served)
                }
                None => Err(e),
            },
        }
    }

    /// The value stored under `key`, as stale, if younger than `time_to_live` (tokio clock).
    pub async fn stale(&self, key: &K) -> Option<Served<V>> {
        let entry = self.cache.get(key).await?;
        let age = Instant::now().saturating_duration_since(entry.stored_at);
        if age > self.ttl {
            self.cache.invalidate(key).await;
            return None;
        }
        Some(Served {
            value: entry.value,
            freshness: Freshness::Stale {
                age,
                stored_at: entry.stored_wall,
            },
        })
    }

    /// Forgets the value stored under `key`.
    pub async fn invalidate(&self, key: &K) {
        self.cache.invalidate(key).await;
    }

    /// Approximate number of entries (moka updates it lazily).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }
}
