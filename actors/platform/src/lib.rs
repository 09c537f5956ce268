//! # rampart-platform
//!
//! What every Rampart service stands on and no service owns:
//!
//! | module | what |
//! |---|---|
//! | [`db`] | the database handle ([`Db`]: SQLite by default, PostgreSQL in production), `BEGIN IMMEDIATE` writers, paging bounds |
//! | [`migrations`] | the platform's tables, the helpers service migrations use, and [`migrations::compose`] that orders every crate's migrations into one |
//! | [`outbox`], [`relay`] | the transactional outbox (an event written in the transaction of the change it reports) and the supervised relay that publishes it |
//! | [`processed`] | processed event ids: idempotent handlers under at-least-once delivery |
//! | [`jobs`] | asynchronous jobs (202 Accepted + status resource) and their runner |
//! | [`dead_letters`] | events a consumer gave up on, with their error, for listing and replay |
//! | [`consumer`] | the consumer loop every event-consuming service runs (batch, ack after commit, requeue, dead-letter) |
//! | [`bus`] | the event bus: in-process (the embedded default) and RabbitMQ ([`bus::amqp`]) |
//! | [`link`] | the supervised AMQP link actor (reconnection with exponential backoff) |
//!
//! The platform's tables (`processed_events`, `outbox`, `jobs`, `dead_letters`) are its own;
//! each service crate owns its tables and migrations, and depends on this crate, on
//! `rampart-contracts` and on `rampart-supervisors`, never on another service.

#![warn(missing_docs)]

pub mod bus;
pub mod consumer;
pub mod db;
pub mod dead_letters;
pub mod entities;
pub mod jobs;
pub mod link;
pub mod migrations;
pub mod outbox;
pub mod processed;
pub mod relay;
#[cfg(feature = "test-support")]
pub mod testing;

pub use db::{DEFAULT_URL, Db, DbError, DbOptions, MAX_SQL_INT, page_offset};

/// Mailbox capacity of the service actors (messages). An import or a feed is one message; the
/// HTTP layer answers 503 rather than queue more jobs than this.
pub const SERVICE_MAILBOX: usize = 16;
