//! # rampart-supervisors
//!
//! The supervision runtime of Rampart: supervised actors that survive panics and hangs, in trees of
//! supervisors with Erlang/OTP's strategies, Kubernetes-style probes and crash-loop backoff, and
//! Resilience4j-style policies for the calls they make to other services.
//!
//! ## The model
//! - An [`Actor`] is state plus async [`Handler`]s; it runs in one task and handles one message at a
//!   time. Its bounded mailbox belongs to its [`ChildSpec`], not to an instance, so it survives
//!   restarts: queued messages are served by the next instance, or returned to their senders as
//!   errors when the child is terminated for good.
//! - A panic in a handler is caught ([`std::panic::catch_unwind`] around the handler's future): the
//!   runtime thread and every other actor go on; the message in hand gets an error reply, or is
//!   redelivered and finally dead-lettered ([`OnFailure`]); the supervisor restarts the instance.
//! - Probes ([`Probes`]) check each actor between messages; a handler that hangs misses its
//!   liveness checks and is killed and restarted just like a crashed one.
//! - A [`SupervisorSpec`] restarts children per [`Strategy`] and [`RestartPolicy`], delays repeated
//!   restarts ([`RestartBackoff`]) and escalates past its [`RestartIntensity`].
//! - [`SupervisorHandle::snapshot`] gives the whole tree's state for `/livez`, `/readyz`, `/startupz`;
//!   [`RuntimeMetrics`] exports restarts, probe failures, mailbox depth and handler latency.
//! - [`resilience`] wraps outgoing calls: retry, circuit breaker, time limiter, bulkhead and cached
//!   fallback.
//!
//! ## Why not plain actix actors
//! actix's `Context` owns the mailbox of one actor instance: a panic unwinds through it, and a
//! handler that never completes cannot be cancelled from outside. Here the mailbox is owned by the
//! child and every instance is driven by a manager task that can race its handler against a kill,
//! which is what lets hung and crashed actors be replaced without losing messages. Children run as
//! tasks on the tokio runtime under actix-rt/actix-web, so they live beside the HTTP API in one node.
//!
//! ```
//! use rampart_supervisors::{Actor, ChildSpec, Context, Handler, Message, Runtime, SupervisorSpec};
//!
//! #[derive(Default)]
//! struct Counter(u64);
//! impl Actor for Counter {}
//!
//! #[derive(Debug)]
//! struct Add(u64);
//! impl Message for Add {
//!     type Reply = u64;
//! }
//! impl Handler<Add> for Counter {
//!     async fn handle(&mut self, msg: Add, _ctx: &mut Context<Self>) -> u64 {
//!         self.0 += msg.0;
//!         self.0
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let rt = Runtime::new(&prometheus::Registry::new()).unwrap();
//! let counter = ChildSpec::new("counter", Counter::default).build();
//! let addr = counter.addr();
//! let root = SupervisorSpec::new("root").child(counter).start(&rt);
//! assert_eq!(addr.ask(Add(2)).await.unwrap(), 2);
//! root.shutdown().await;
//! # }
//! ```

#![warn(missing_docs)]

mod actor;
mod child;
mod dead_letter;
mod mailbox;
mod metrics;
mod probe;
pub mod resilience;
mod snapshot;
mod spawn;
mod supervisor;

pub use actor::{Actor, Context, Handler, Message, ProbeCheck};
pub use child::{ChildSpec, ChildSpecBuilder};
pub use dead_letter::{DeadLetter, DeadLetters};
pub use mailbox::{Addr, AskError, Backpressure, MailboxConfig, OnFailure};
pub use metrics::{HANDLER_BUCKETS, RuntimeMetrics};
pub use probe::{ProbeConfig, ProbeKind, ProbeStatus, Probes};
pub use snapshot::{
    ChildState, FailureRecord, MailboxSnapshot, NodeKind, NodeSnapshot, ProbeSnapshots,
};
pub use supervisor::{
    BoxedChild, IntoChild, RestartBackoff, RestartIntensity, RestartPolicy, Runtime, Strategy,
    SupervisorHandle, SupervisorSpec,
};
