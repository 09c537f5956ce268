//! Deduplication of redelivered events by event id.
//!
//! Delivery is at least once (a consumer that crashes before its ack gets the event again), so a
//! handler asks [`Deduplicator::first_time`] before acting. This in-memory set is bounded (oldest
//! forgotten first, and after a time to live); a handler whose effect is stored in a database
//! records the event id in the same transaction instead, which survives restarts.

use std::time::Duration;

use moka::sync::Cache;
use uuid::Uuid;

/// A bounded set of event ids already handled. Cheap to clone (shared).
#[derive(Clone)]
pub struct Deduplicator {
    seen: Cache<Uuid, ()>,
}

impl std::fmt::Debug for Deduplicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduplicator")
            .field("entries", &self.seen.entry_count())
            .finish()
    }
}

impl Deduplicator {
    /// Remembers at most `capacity` ids, each for `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            seen: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// `true` the first time `event_id` is offered (and remembers it), `false` after that.
    /// Atomic: of two concurrent callers with the same id, exactly one gets `true`.
    pub fn first_time(&self, event_id: Uuid) -> bool {
        // `or_insert_with` coalesces concurrent callers of one key: one runs the initialiser and
        // sees a fresh entry, the others wait and see it as existing (moka's entry API docs).
        self.seen.entry(event_id).or_insert_with(|| ()).is_fresh()
    }

    /// Forgets `event_id` (the handler failed: let a redelivery run it again).
    pub fn forget(&self, event_id: &Uuid) {
        self.seen.invalidate(event_id);
    }
}
