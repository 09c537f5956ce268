//! The actor model of the runtime: [`Actor`], [`Message`], [`Handler`] and the per-instance [`Context`].
//!
//! An actor is plain state plus async handlers. The runtime owns its mailbox (see [`crate::mailbox`]):
//! the mailbox outlives any one instance of the actor, so when a supervisor replaces a crashed or hung
//! instance with a fresh one built by the child's factory, the messages still queued are served by the
//! new instance instead of being lost.
//!
//! Handlers take `&mut self` across `.await` points and run one at a time per actor, so an actor
//! never needs a lock around its own state.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::mailbox::Addr;

/// A message an actor can receive.
///
/// `Reply` is what [`Addr::ask`] returns on success. `Debug` is required so that a message that ends
/// in the dead-letter list can be inspected there (its `Debug` text is kept, cut at 1 KiB).
pub trait Message: fmt::Debug + Send + 'static {
    /// The handler's answer, sent back to the caller of [`Addr::ask`].
    type Reply: Send + 'static;

    /// A copy of the message for redelivery to a new instance after the handler panicked or hung
    /// (used only under [`crate::OnFailure::Redeliver`]). `None` (the default) means the message is not
    /// safe to deliver twice: its caller gets the error instead, or it is dead-lettered.
    ///
    /// Messages whose handling is idempotent typically return `Some(self.clone())`.
    fn redeliverable(&self) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
}

/// Outcome of a probe check written by an actor: `Ok(())` passes, `Err(reason)` fails.
pub type ProbeCheck = Result<(), String>;

/// An actor: state that lives in one task and is changed only by its handlers.
///
/// All hooks have defaults, so `impl Actor for MyActor {}` is enough. Hooks run inside the actor's
/// task, between messages; a panic inside any of them counts as a crash of the instance.
pub trait Actor: Sized + Send + 'static {
    /// Runs once per instance before the first message. `Err(reason)` fails the start, which the
    /// supervisor treats as a crash (restart per policy). A startup probe, when configured, bounds how
    /// long this may take (Kubernetes' startup probe).
    fn started(
        &mut self,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = Result<(), String>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs when the instance is stopped on purpose (graceful stop, shutdown, sibling restart), not
    /// after a crash. Bounded by the child's `shutdown_timeout`.
    fn stopping(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Liveness check, called by the liveness probe between messages. The default passes: an actor
    /// that answers at all is alive. A handler that never returns makes the probe time out, which is
    /// how hung actors are found.
    fn liveness(&mut self) -> impl Future<Output = ProbeCheck> + Send {
        async { Ok(()) }
    }

    /// Readiness check, called by the readiness probe between messages: `Err` takes the actor out of
    /// traffic (`/readyz` answers 503) without restarting it. The default passes.
    fn readiness(&mut self) -> impl Future<Output = ProbeCheck> + Send {
        async { Ok(()) }
    }
}

/// Handles messages of type `M`.
pub trait Handler<M: Message>: Actor {
    /// Handles one message. A panic in here is caught: the caller gets an error (or the message is
    /// redelivered / dead-lettered, per [`crate::OnFailure`]) and the instance is restarted.
    fn handle(&mut self, msg: M, ctx: &mut Context<Self>) -> impl Future<Output = M::Reply> + Send;
}

/// What the instance asked for from inside a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExitRequest {
    /// Stop normally (Erlang `normal` exit): a permanent child is restarted, transient and temporary
    /// ones are not.
    Stop,
    /// Fail with a reason: counts as a crash.
    Fail(String),
}

/// Per-instance context handed to every hook and handler.
pub struct Context<A: Actor> {
    addr: Addr<A>,
    name: Arc<str>,
    generation: u64,
    pub(crate) exit: Option<ExitRequest>,
}

impl<A: Actor> Context<A> {
    pub(crate) fn new(addr: Addr<A>, name: Arc<str>, generation: u64) -> Self {
        Self {
            addr,
            name,
            generation,
            exit: None,
        }
    }

    /// The actor's own address (stable across restarts).
    pub fn address(&self) -> Addr<A> {
        self.addr.clone()
    }

    /// The child's name in its supervisor.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which instance this is: 1 for the first start, +1 on every restart.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Stops this instance normally once the current handler returns.
    pub fn stop(&mut self) {
        self.exit = Some(ExitRequest::Stop);
    }

    /// Fails this instance once the current handler returns: the supervisor handles it as a crash.
    pub fn fail(&mut self, reason: impl Into<String>) {
        self.exit = Some(ExitRequest::Fail(reason.into()));
    }
}
