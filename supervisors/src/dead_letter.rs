//! The dead-letter list: messages whose handler failed on every allowed delivery, or that failed
//! with nobody waiting for a reply. Bounded: past `capacity` the oldest entries are dropped (and
//! counted in `rampart_actor_dead_letters_total`, which never drops).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One message that could not be handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// The child (actor) it was sent to.
    pub actor: String,
    /// Rust type name of the message.
    pub message_type: String,
    /// The message's `Debug` text (at most 1 KiB) when a copy was kept for redelivery.
    pub message: Option<String>,
    /// Why its last delivery failed (panic message or probe failure).
    pub reason: String,
    /// How many times it was delivered.
    pub deliveries: u32,
    /// When it was dead-lettered (UTC).
    pub at: DateTime<Utc>,
}

impl DeadLetter {
    pub(crate) fn new(
        actor: &str,
        message_type: &str,
        message: Option<String>,
        reason: &str,
        deliveries: u32,
    ) -> Self {
        Self {
            actor: actor.to_owned(),
            message_type: message_type.to_owned(),
            message,
            reason: reason.to_owned(),
            deliveries,
            at: Utc::now(),
        }
    }
}

/// A bounded, shared, inspectable list of [`DeadLetter`]s. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    inner: Arc<Mutex<VecDeque<DeadLetter>>>,
    capacity: usize,
}

impl DeadLetters {
    /// A list keeping at most `capacity` (at least 1) entries, oldest dropped first.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn push(&self, letter: DeadLetter) {
        tracing::warn!(actor = %letter.actor, message_type = %letter.message_type,
            reason = %letter.reason, deliveries = letter.deliveries, "message dead-lettered");
        let mut q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == self.capacity {
            q.pop_front();
        }
        q.push_back(letter);
    }

    /// All entries, oldest first.
    pub fn list(&self) -> Vec<DeadLetter> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// How many entries are kept now.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for DeadLetters {
    /// 1000 entries.
    fn default() -> Self {
        Self::new(1000)
    }
}
