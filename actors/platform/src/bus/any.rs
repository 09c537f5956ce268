//! [`Bus`]: the node's bus, in-process (the embedded default) or RabbitMQ, behind one API used by
//! the outbox relay (publishing) and the service consumers (consuming).

use super::amqp::{AmqpBus, AmqpDelivery, AmqpSubscription};
use super::envelope::{BusError, Envelope};
use super::in_process::{Delivery, InProcessBus, Subscription};

/// A batch publication that failed part-way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} (after {published} events of the batch were published)")]
pub struct PublishError {
    /// Events of the batch, from the first, that were published (confirmed) before the failure.
    pub published: usize,
    /// What failed.
    pub error: BusError,
}

/// One queue's depth and consumers, as the Operations page and `GET /api/v1/queues` show them.
///
/// With RabbitMQ the figures are the broker's answer to a passive `queue.declare` (AMQP 0-9-1
/// `queue.declare-ok`: message-count = messages ready, consumer-count), taken when asked; in
/// process they are the node's own bounded queues.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueStat {
    /// The queue's name (`rampart.risk`, `rampart.risk.dlq`, `rampart.rpc.risk`; in process, the
    /// service's name).
    pub name: String,
    /// The service it belongs to.
    pub service: String,
    /// `events` (a service's event queue), `dead-letter` (its dead-letter queue) or `requests`
    /// (a request/reply endpoint's queue).
    pub kind: String,
    /// Messages ready for delivery.
    pub messages: u64,
    /// Consumers attached (the broker's count); `None` in process, where each service's queue
    /// is consumed by that service's actor on this node.
    pub consumers: Option<u64>,
    /// Capacity, where the queue is bounded by the node (in process); `None` for the broker's.
    pub capacity: Option<u64>,
}

/// The node's event bus.
#[derive(Debug, Clone)]
pub enum Bus {
    /// In-process queues (one node, no broker).
    InProcess(InProcessBus),
    /// RabbitMQ.
    Amqp(AmqpBus),
}

impl Bus {
    /// Every queue of the topology with its depth and consumers ([`QueueStat`]).
    ///
    /// # Errors
    /// With RabbitMQ: [`BusError::Unavailable`] while no connection is up, [`BusError::Broker`]
    /// when no channel can be opened; a queue the broker does not have (never declared, e.g. a
    /// dead-letter queue the node's user may not create) is left out.
    pub async fn queue_stats(&self) -> Result<Vec<QueueStat>, BusError> {
        match self {
            Bus::InProcess(b) => Ok(b.queue_stats()),
            Bus::Amqp(b) => b.queue_stats().await,
        }
    }

    /// Publishes `events` in order; with RabbitMQ, returns once the broker confirmed them all.
    ///
    /// # Errors
    /// [`PublishError`]: how many of the first events were published (confirmed) before the
    /// failure; the rest must be published again (consumers deduplicate by event id).
    pub async fn publish_batch(&self, events: &[Envelope]) -> Result<(), PublishError> {
        match self {
            Bus::InProcess(b) => {
                for (i, e) in events.iter().enumerate() {
                    b.publish(e.clone()).await.map_err(|error| PublishError {
                        published: i,
                        error,
                    })?;
                }
                Ok(())
            }
            Bus::Amqp(b) => b.publish_batch(events).await,
        }
    }

    /// Subscribes `service` to `patterns` (in-process; with RabbitMQ the static topology of
    /// [`super::amqp::TOPOLOGY`] binds the service's queue, and `patterns` must agree with it).
    ///
    /// # Errors
    /// [`BusError`].
    pub fn subscribe(&self, service: &str, patterns: &[&str]) -> Result<BusSubscription, BusError> {
        match self {
            Bus::InProcess(b) => Ok(BusSubscription::InProcess(b.subscribe(service, patterns)?)),
            Bus::Amqp(b) => Ok(BusSubscription::Amqp(b.subscribe(service)?)),
        }
    }

    /// Whether the bus can carry events now (in-process: always).
    pub fn is_connected(&self) -> bool {
        match self {
            Bus::InProcess(_) => true,
            Bus::Amqp(b) => b.is_connected(),
        }
    }

    /// Deliveries of one event before its consumer dead-letters it.
    pub fn max_deliveries(&self) -> u32 {
        match self {
            Bus::InProcess(b) => b.max_deliveries(),
            Bus::Amqp(b) => b.config().max_deliveries,
        }
    }
}

/// A consumer of one service's queue.
#[derive(Debug, Clone)]
pub enum BusSubscription {
    /// In-process.
    InProcess(Subscription),
    /// RabbitMQ.
    Amqp(AmqpSubscription),
}

impl BusSubscription {
    /// Waits for the next event, then takes up to `max - 1` more already waiting. Empty when the
    /// bus is gone.
    pub async fn next_batch(&self, max: usize) -> Vec<BusDelivery> {
        match self {
            BusSubscription::InProcess(s) => s
                .next_batch(max)
                .await
                .into_iter()
                .map(BusDelivery::InProcess)
                .collect(),
            BusSubscription::Amqp(s) => s
                .next_batch(max)
                .await
                .into_iter()
                .map(|d| BusDelivery::Amqp(Box::new(d)))
                .collect(),
        }
    }
}

/// One delivery of an event; settle it with [`BusDelivery::ack`] or [`BusDelivery::nack`].
#[derive(Debug)]
pub enum BusDelivery {
    /// In-process.
    InProcess(Delivery),
    /// RabbitMQ.
    Amqp(Box<AmqpDelivery>),
}

impl BusDelivery {
    /// The event, or why the message is not an envelope (RabbitMQ only).
    pub fn envelope(&self) -> Result<&Envelope, &str> {
        match self {
            BusDelivery::InProcess(d) => Ok(d.envelope()),
            BusDelivery::Amqp(d) => d.envelope(),
        }
    }

    /// Which delivery this is (1 = first).
    pub fn delivery_count(&self) -> u32 {
        match self {
            BusDelivery::InProcess(d) => d.delivery_count(),
            BusDelivery::Amqp(d) => d.delivery_count(),
        }
    }

    /// The effect is committed.
    pub async fn ack(self) {
        match self {
            BusDelivery::InProcess(d) => d.ack(),
            BusDelivery::Amqp(d) => d.ack().await,
        }
    }

    /// The handler failed with `error`: `requeue` for another delivery, otherwise dead-letter.
    pub async fn nack(self, requeue: bool, error: &str) {
        match self {
            BusDelivery::InProcess(d) => d.nack(requeue, error),
            BusDelivery::Amqp(d) => d.nack(requeue).await,
        }
    }
}
