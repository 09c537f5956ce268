//! The in-process bus: RabbitMQ's topology and settlement semantics, inside one process.
//!
//! One bounded queue per service (like one durable queue per service on the broker); every
//! [`Subscription`] to the same service shares that queue (competing consumers). A published
//! event goes once to every service with a matching pattern. A consumer settles each
//! [`Delivery`]: `ack` when its effect is committed; `nack(requeue = true)` to have it delivered
//! again, up to `max_deliveries` deliveries in all (a quorum queue's `delivery-limit` + 1), after
//! which it lands in the bus's dead-letter list with the error; `nack(requeue = false)`
//! dead-letters at once. A delivery dropped without being settled (a crashed handler) is requeued,
//! as the broker requeues the unacked messages of a closed channel.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use super::envelope::{BusError, Envelope};
use super::topic::TopicPattern;

/// Settings of an [`InProcessBus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InProcessBusConfig {
    /// Events a service's queue holds before publishers wait. Default 1024.
    pub queue_capacity: usize,
    /// How long a publisher waits for room in a full queue before [`BusError::QueueFull`].
    /// Default 5 s.
    pub publish_timeout: Duration,
    /// Deliveries of one event in all before it is dead-lettered. Default 5.
    pub max_deliveries: u32,
    /// Dead letters kept (oldest dropped first). Default 1000.
    pub dead_letter_capacity: usize,
}

impl Default for InProcessBusConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 1024,
            publish_timeout: Duration::from_secs(5),
            max_deliveries: 5,
            dead_letter_capacity: 1000,
        }
    }
}

/// An event that failed every allowed delivery, with the last error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusDeadLetter {
    /// The service whose handler failed.
    pub service: String,
    /// The event.
    pub envelope: Envelope,
    /// Deliveries made.
    pub deliveries: u32,
    /// The last handler error.
    pub error: String,
    /// When it was dead-lettered (UTC).
    pub at: DateTime<Utc>,
}

struct Queued {
    envelope: Envelope,
    deliveries: u32,
}

struct Queue {
    service: String,
    patterns: Vec<TopicPattern>,
    tx: mpsc::Sender<Queued>,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Queued>>>,
}

struct Inner {
    cfg: InProcessBusConfig,
    queues: RwLock<Vec<Queue>>,
    dead: Mutex<VecDeque<BusDeadLetter>>,
}

impl Inner {
    fn dead_letter(&self, service: &str, q: Queued, error: &str) {
        tracing::warn!(%service, event_id = %q.envelope.event_id, event_type = %q.envelope.event_type,
            deliveries = q.deliveries, %error, "event dead-lettered");
        let mut dead = self.dead.lock().unwrap_or_else(|e| e.into_inner());
        if dead.len() >= self.cfg.dead_letter_capacity.max(1) {
            dead.pop_front();
        }
        dead.push_back(BusDeadLetter {
            service: service.to_owned(),
            envelope: q.envelope,
            deliveries: q.deliveries,
            error: error.to_owned(),
            at: Utc::now(),
        });
    }
}

/// The embedded event bus. Cheap to clone (shared).
#[derive(Clone)]
pub struct InProcessBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for InProcessBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessBus")
            .field("cfg", &self.inner.cfg)
            .finish()
    }
}

impl InProcessBus {
    /// An empty bus.
    pub fn new(cfg: InProcessBusConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                cfg,
                queues: RwLock::new(Vec::new()),
                dead: Mutex::new(VecDeque::new()),
            }),
        }
    }

    /// Each service's queue: messages waiting and capacity (its consumer is the service's actor).
    pub fn queue_stats(&self) -> Vec<super::QueueStat> {
        let cap = u64::try_from(self.inner.cfg.queue_capacity.max(1)).unwrap_or(u64::MAX);
        self.inner
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|q| super::QueueStat {
                name: q.service.clone(),
                service: q.service.clone(),
                kind: "events".to_owned(),
                messages: cap.saturating_sub(u64::try_from(q.tx.capacity()).unwrap_or(0)),
                consumers: None,
                capacity: Some(cap),
            })
            .collect()
    }

    /// Subscribes `service` to the event types matching `patterns` (RabbitMQ topic patterns).
    /// The first subscription of a service creates its queue; later ones share it (competing
    /// consumers) and add their patterns to its bindings.
    ///
    /// # Errors
    /// [`BusError::InvalidPattern`].
    pub fn subscribe(&self, service: &str, patterns: &[&str]) -> Result<Subscription, BusError> {
        let parsed = patterns
            .iter()
            .map(|p| TopicPattern::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut queues = self.inner.queues.write().unwrap_or_else(|e| e.into_inner());
        let idx = match queues.iter().position(|q| q.service == service) {
            Some(i) => i,
            None => {
                let (tx, rx) = mpsc::channel(self.inner.cfg.queue_capacity.max(1));
                queues.push(Queue {
                    service: service.to_owned(),
                    patterns: Vec::new(),
                    tx,
                    rx: Arc::new(tokio::sync::Mutex::new(rx)),
                });
                queues.len() - 1
            }
        };
        let q = &mut queues[idx];
        for p in parsed {
            if !q.patterns.contains(&p) {
                q.patterns.push(p);
            }
        }
        Ok(Subscription {
            service: service.to_owned(),
            rx: q.rx.clone(),
            requeue: q.tx.clone(),
            inner: self.inner.clone(),
        })
    }

    /// Publishes `envelope` to every service whose bindings match its type; returns how many
    /// services got it (0 is not an error: nobody listens). Waits for room in full queues up to
    /// `publish_timeout`.
    ///
    /// # Errors
    /// [`BusError::InvalidEventType`], [`BusError::QueueFull`] (the services before it in
    /// subscription order did get the event), [`BusError::Closed`].
    pub async fn publish(&self, envelope: Envelope) -> Result<usize, BusError> {
        super::envelope::validate_event_type(&envelope.event_type)?;
        let targets: Vec<(String, mpsc::Sender<Queued>)> = self
            .inner
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|q| q.patterns.iter().any(|p| p.matches(&envelope.event_type)))
            .map(|q| (q.service.clone(), q.tx.clone()))
            .collect();
        let timeout = self.inner.cfg.publish_timeout;
        for (service, tx) in &targets {
            let item = Queued {
                envelope: envelope.clone(),
                deliveries: 0,
            };
            match tokio::time::timeout(timeout, tx.send(item)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(BusError::Closed),
                Err(_) => {
                    return Err(BusError::QueueFull {
                        service: service.clone(),
                        waited_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    });
                }
            }
        }
        Ok(targets.len())
    }

    /// Deliveries of one event before it is dead-lettered.
    pub fn max_deliveries(&self) -> u32 {
        self.inner.cfg.max_deliveries
    }

    /// The dead-letter list, oldest first.
    pub fn dead_letters(&self) -> Vec<BusDeadLetter> {
        self.inner
            .dead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Events waiting in `service`'s queue (0 for an unknown service).
    pub fn queue_depth(&self, service: &str) -> usize {
        self.inner
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|q| q.service == service)
            .map_or(0, |q| q.tx.max_capacity() - q.tx.capacity())
    }
}

/// A consumer of one service's queue. Clones compete for the same events.
#[derive(Clone)]
pub struct Subscription {
    service: String,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Queued>>>,
    requeue: mpsc::Sender<Queued>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("service", &self.service)
            .finish()
    }
}

impl Subscription {
    /// The next event for this service; `None` when the bus is gone.
    pub async fn next(&self) -> Option<Delivery> {
        let mut rx = self.rx.lock().await;
        let q = rx.recv().await?;
        Some(self.delivery(q))
    }
}

impl Subscription {
    /// Waits for the next event, then takes up to `max - 1` more that are already queued
    /// (without waiting), so a consumer can handle them in one transaction. Empty when the bus
    /// is gone.
    pub async fn next_batch(&self, max: usize) -> Vec<Delivery> {
        let mut rx = self.rx.lock().await;
        let mut out = Vec::new();
        let Some(first) = rx.recv().await else {
            return out;
        };
        out.push(self.delivery(first));
        while out.len() < max.max(1) {
            match rx.try_recv() {
                Ok(q) => out.push(self.delivery(q)),
                Err(_) => break,
            }
        }
        out
    }

    fn delivery(&self, q: Queued) -> Delivery {
        Delivery {
            envelope: q.envelope,
            deliveries: q.deliveries + 1,
            settled: false,
            service: self.service.clone(),
            requeue: self.requeue.clone(),
            inner: self.inner.clone(),
        }
    }
}

/// One delivery of an event to a consumer; settle it with [`Delivery::ack`] or
/// [`Delivery::nack`]. Dropped unsettled, it is requeued.
pub struct Delivery {
    envelope: Envelope,
    deliveries: u32,
    settled: bool,
    service: String,
    requeue: mpsc::Sender<Queued>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("service", &self.service)
            .field("event_id", &self.envelope.event_id)
            .field("deliveries", &self.deliveries)
            .finish()
    }
}

impl Delivery {
    /// The event.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Which delivery this is: 1 for the first, more for redeliveries.
    pub fn delivery_count(&self) -> u32 {
        self.deliveries
    }

    /// The effect is committed: the event is done.
    pub fn ack(mut self) {
        self.settled = true;
    }

    /// The handler failed with `error`. With `requeue`, the event is delivered again unless it has
    /// had `max_deliveries`; otherwise (or then) it is dead-lettered.
    pub fn nack(mut self, requeue: bool, error: &str) {
        self.settle_failed(requeue, error);
    }

    fn settle_failed(&mut self, requeue: bool, error: &str) {
        self.settled = true;
        let q = Queued {
            envelope: self.envelope.clone(),
            deliveries: self.deliveries,
        };
        if requeue && q.deliveries < self.inner.cfg.max_deliveries.max(1) {
            if let Err(e) = self.requeue.try_send(q) {
                let q = match e {
                    mpsc::error::TrySendError::Full(q) | mpsc::error::TrySendError::Closed(q) => q,
                };
                self.inner.dead_letter(
                    &self.service,
                    q,
                    &format!("{error} (queue full on requeue)"),
                );
            }
        } else {
            self.inner.dead_letter(&self.service, q, error);
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if !self.settled {
            self.settle_failed(true, "consumer dropped the delivery without settling it");
        }
    }
}
