//! The event bus contract of DESIGN.md ("Messages between nodes") and its in-process
//! implementation, the embedded default when no broker is configured.
//!
//! - [`Envelope`]: every event travels in one: event id (UUID v7), type (the routing key, e.g.
//!   `asset.discovered`), schema version, source node, occurred-at (RFC 3339), correlation id, W3C
//!   `traceparent`, JSON body.
//! - [`TopicPattern`]: subscriptions use RabbitMQ's topic-exchange patterns (`*` one word, `#` zero
//!   or more words), so the in-process bus and the RabbitMQ bus route the same way.
//! - [`InProcessBus`]: one bounded queue per service, shared by that service's consumers
//!   (competing consumers); one copy of an event per subscribed service. Consumers settle each
//!   [`Delivery`] as RabbitMQ consumers do: `ack` after the effect is committed, `nack` to requeue
//!   (up to `max_deliveries`, then the bus's dead-letter list).
//! - [`Deduplicator`]: redeliveries are expected (at-least-once), so handlers check the event id
//!   before acting; an event seen twice has one effect.

pub mod amqp;
mod any;
mod dedup;
mod envelope;
mod in_process;
pub mod permissions;
mod topic;

pub use any::{Bus, BusDelivery, BusSubscription, PublishError, QueueStat};
pub use dedup::Deduplicator;
pub use envelope::{BusError, Envelope, SCHEMA_VERSION, TraceParent, validate_event_type};
pub use in_process::{BusDeadLetter, Delivery, InProcessBus, InProcessBusConfig, Subscription};
pub use topic::TopicPattern;
