//! Bounded mailboxes, addresses and envelopes.
//!
//! Every supervised actor has one bounded mailbox (a tokio `mpsc` channel of `capacity` messages)
//! created with its [`crate::ChildSpec`] and owned by the child, not by an instance: a restart hands
//! the queued messages to the new instance. When a child is terminated for good, the messages still
//! queued are returned to their senders as [`AskError::Stopped`]; nothing is dropped in silence.
//!
//! A full mailbox either makes the sender wait ([`Backpressure::Wait`], the default) or fails the
//! send at once with [`AskError::MailboxFull`] ([`Backpressure::FailFast`]).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::actor::{Actor, Context, Handler, Message};
use crate::dead_letter::DeadLetter;

/// What a full mailbox does to a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backpressure {
    /// The sender waits until there is room (async backpressure). Default.
    #[default]
    Wait,
    /// The send fails at once with [`AskError::MailboxFull`].
    FailFast,
}

/// Mailbox settings of one child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MailboxConfig {
    /// Most messages queued at once (not counting the one being handled). Default 1024.
    pub capacity: usize,
    /// What a full mailbox does to a sender. Default [`Backpressure::Wait`].
    pub backpressure: Backpressure,
}

impl Default for MailboxConfig {
    fn default() -> Self {
        Self {
            capacity: 1024,
            backpressure: Backpressure::Wait,
        }
    }
}

impl MailboxConfig {
    /// A mailbox of `capacity` messages (at least 1) with the default backpressure.
    pub fn bounded(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            ..Self::default()
        }
    }

    /// The same mailbox, failing fast when full.
    pub fn fail_fast(mut self) -> Self {
        self.backpressure = Backpressure::FailFast;
        self
    }
}

/// What happens to the message in hand when its handler panics or hangs (is killed by the liveness
/// probe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum OnFailure {
    /// The caller of `ask` gets [`AskError::Failed`] at once; a `tell` message (no caller) goes to the
    /// dead-letter list. Default.
    #[default]
    ReplyError,
    /// The message is delivered again to the restarted instance, up to `max_deliveries` deliveries in
    /// all (the first one included), if [`Message::redeliverable`] gives a copy; after that it goes to
    /// the dead-letter list and an `ask` caller gets [`AskError::DeadLettered`].
    Redeliver {
        /// Deliveries in all, the first included (like RabbitMQ's `delivery-limit` + 1). At least 1.
        max_deliveries: u32,
    },
}

/// Why a message sent to an actor got no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// The mailbox was full and the child's backpressure is fail-fast (or `try_*` was used).
    #[error("mailbox of actor `{actor}` is full")]
    MailboxFull {
        /// The child's name.
        actor: String,
    },
    /// The actor is terminated (or was while the message was queued): nothing handled it.
    #[error("actor `{actor}` is stopped")]
    Stopped {
        /// The child's name.
        actor: String,
    },
    /// The handler panicked or hung while handling this message; the actor was restarted.
    #[error("actor `{actor}` failed while handling the message: {reason}")]
    Failed {
        /// The child's name.
        actor: String,
        /// The panic message, or the probe failure that killed the hung instance.
        reason: String,
    },
    /// The message failed on every allowed delivery and is now in the dead-letter list.
    #[error("message to actor `{actor}` was dead-lettered after {deliveries} deliveries: {reason}")]
    DeadLettered {
        /// The child's name.
        actor: String,
        /// The last failure's reason.
        reason: String,
        /// How many times it was delivered.
        deliveries: u32,
    },
    /// No reply within the caller's timeout ([`Addr::ask_timeout`]); the message may still be handled.
    #[error("actor `{actor}` did not reply within {after_ms} ms")]
    Timeout {
        /// The child's name.
        actor: String,
        /// The caller's timeout in milliseconds.
        after_ms: u64,
    },
}

/// Context for deciding what to do with the message in hand after a failure.
pub(crate) struct FailureInfo<'a> {
    pub actor: &'a str,
    pub reason: &'a str,
    pub on_failure: OnFailure,
}

/// What became of the message in hand after its handler failed.
pub(crate) enum Disposition<A: Actor> {
    /// Deliver it again to the next instance.
    Redeliver(BoxEnvelope<A>),
    /// Its caller got an error.
    Replied,
    /// It belongs in the dead-letter list.
    DeadLetter(DeadLetter),
}

/// A type-erased message on its way to an actor of type `A`.
pub(crate) trait Envelope<A: Actor>: Send {
    /// Runs the handler. The envelope keeps its reply channel (and, with `keep_copy`, a redelivery
    /// copy of the message) until the handler's future completes, so a failure can still be answered.
    fn handle<'a>(
        &'a mut self,
        actor: &'a mut A,
        ctx: &'a mut Context<A>,
        keep_copy: bool,
    ) -> BoxFuture<'a, ()>;

    /// Decides the fate of the message after its handler panicked or hung.
    fn fail(self: Box<Self>, info: &FailureInfo<'_>) -> Disposition<A>;

    /// Answers the sender with `err` without handling the message.
    fn reject(self: Box<Self>, err: AskError);
}

pub(crate) type BoxEnvelope<A> = Box<dyn Envelope<A>>;

/// Longest `Debug` text of a message kept in a dead letter, in bytes.
const DEAD_LETTER_TEXT_MAX: usize = 1024;

struct Call<M: Message> {
    msg: Option<M>,
    copy: Option<M>,
    reply: Option<oneshot::Sender<Result<M::Reply, AskError>>>,
    deliveries: u32,
}

fn describe<M: Message>(m: &M) -> String {
    let mut s = format!("{m:?}");
    if s.len() > DEAD_LETTER_TEXT_MAX {
        let mut cut = DEAD_LETTER_TEXT_MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

impl<A, M> Envelope<A> for Call<M>
where
    A: Handler<M>,
    M: Message,
{
    fn handle<'a>(
        &'a mut self,
        actor: &'a mut A,
        ctx: &'a mut Context<A>,
        keep_copy: bool,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some(msg) = self.msg.take() else {
                return;
            };
            self.deliveries += 1;
            if keep_copy {
                self.copy = msg.redeliverable();
            }
            let reply = actor.handle(msg, ctx).await;
            self.copy = None;
            if let Some(tx) = self.reply.take() {
                // The caller may have given up (timeout, dropped future): nothing to do then.
                let _ = tx.send(Ok(reply));
            }
        })
    }

    fn fail(mut self: Box<Self>, info: &FailureInfo<'_>) -> Disposition<A> {
        let max_deliveries = match info.on_failure {
            OnFailure::ReplyError => 1,
            OnFailure::Redeliver { max_deliveries } => max_deliveries.max(1),
        };
        let copy = self.copy.take();
        if let Some(copy) = copy {
            if self.deliveries < max_deliveries {
                self.msg = Some(copy);
                return Disposition::Redeliver(self);
            }
            return self.dead_letter(info, Some(describe(&copy)));
        }
        match (info.on_failure, self.reply.take()) {
            (OnFailure::ReplyError, Some(tx)) => {
                let _ = tx.send(Err(AskError::Failed {
                    actor: info.actor.to_owned(),
                    reason: info.reason.to_owned(),
                }));
                Disposition::Replied
            }
            (_, reply) => {
                self.reply = reply;
                self.dead_letter(info, None)
            }
        }
    }

    fn reject(mut self: Box<Self>, err: AskError) {
        if let Some(tx) = self.reply.take() {
            let _ = tx.send(Err(err));
        }
    }
}

impl<M: Message> Call<M> {
    fn dead_letter<A: Actor>(
        &mut self,
        info: &FailureInfo<'_>,
        text: Option<String>,
    ) -> Disposition<A> {
        if let Some(tx) = self.reply.take() {
            let _ = tx.send(Err(AskError::DeadLettered {
                actor: info.actor.to_owned(),
                reason: info.reason.to_owned(),
                deliveries: self.deliveries,
            }));
        }
        Disposition::DeadLetter(DeadLetter::new(
            info.actor,
            std::any::type_name::<M>(),
            text,
            info.reason,
            self.deliveries,
        ))
    }
}

/// The address of a supervised actor: cheap to clone, valid across restarts of the actor.
pub struct Addr<A: Actor> {
    tx: mpsc::Sender<BoxEnvelope<A>>,
    backpressure: Backpressure,
    name: Arc<str>,
}

impl<A: Actor> Clone for Addr<A> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            backpressure: self.backpressure,
            name: self.name.clone(),
        }
    }
}

impl<A: Actor> std::fmt::Debug for Addr<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Addr")
            .field("actor", &self.name)
            .field("depth", &self.mailbox_depth())
            .finish()
    }
}

impl<A: Actor> Addr<A> {
    pub(crate) fn new(
        tx: mpsc::Sender<BoxEnvelope<A>>,
        cfg: MailboxConfig,
        name: Arc<str>,
    ) -> Self {
        Self {
            tx,
            backpressure: cfg.backpressure,
            name,
        }
    }

    /// The child's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Messages queued now (not counting the one being handled).
    pub fn mailbox_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The mailbox's capacity in messages.
    pub fn mailbox_capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    /// Whether the actor is terminated for good (its mailbox is closed).
    pub fn is_stopped(&self) -> bool {
        self.tx.is_closed()
    }

    fn stopped(&self) -> AskError {
        AskError::Stopped {
            actor: self.name.to_string(),
        }
    }

    async fn enqueue(&self, env: BoxEnvelope<A>, fail_fast: bool) -> Result<(), AskError> {
        if fail_fast || self.backpressure == Backpressure::FailFast {
            self.tx.try_send(env).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => AskError::MailboxFull {
                    actor: self.name.to_string(),
                },
                mpsc::error::TrySendError::Closed(_) => self.stopped(),
            })
        } else {
            self.tx.send(env).await.map_err(|_| self.stopped())
        }
    }

    async fn ask_inner<M>(&self, msg: M, fail_fast: bool) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
        M: Message,
    {
        let (tx, rx) = oneshot::channel();
        let env = Box::new(Call {
            msg: Some(msg),
            copy: None,
            reply: Some(tx),
            deliveries: 0,
        });
        self.enqueue(env, fail_fast).await?;
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(self.stopped()),
        }
    }

    /// Sends `msg` and waits for the handler's reply (request/reply).
    ///
    /// A full mailbox waits or fails per the child's [`Backpressure`].
    ///
    /// # Errors
    /// [`AskError::MailboxFull`], [`AskError::Stopped`], [`AskError::Failed`] (the handler panicked or
    /// hung), [`AskError::DeadLettered`].
    pub async fn ask<M>(&self, msg: M) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
        M: Message,
    {
        self.ask_inner(msg, false).await
    }

    /// Like [`Addr::ask`] but fails fast with [`AskError::MailboxFull`] whatever the child's
    /// backpressure.
    ///
    /// # Errors
    /// As [`Addr::ask`].
    pub async fn try_ask<M>(&self, msg: M) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
        M: Message,
    {
        self.ask_inner(msg, true).await
    }

    /// Like [`Addr::ask`], giving up after `timeout` (time spent waiting for room included).
    ///
    /// # Errors
    /// As [`Addr::ask`], plus [`AskError::Timeout`].
    pub async fn ask_timeout<M>(&self, msg: M, timeout: Duration) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
        M: Message,
    {
        match tokio::time::timeout(timeout, self.ask_inner(msg, false)).await {
            Ok(r) => r,
            Err(_) => Err(AskError::Timeout {
                actor: self.name.to_string(),
                after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    /// Enqueues `msg` without waiting for it to be handled (fire and forget). If its handler fails,
    /// the message is redelivered or dead-lettered per [`OnFailure`]: it is never dropped in silence.
    ///
    /// # Errors
    /// [`AskError::MailboxFull`] (fail-fast backpressure), [`AskError::Stopped`].
    pub async fn tell<M>(&self, msg: M) -> Result<(), AskError>
    where
        A: Handler<M>,
        M: Message,
    {
        let env = Box::new(Call {
            msg: Some(msg),
            copy: None,
            reply: None,
            deliveries: 0,
        });
        self.enqueue(env, false).await
    }

    /// A timer that tells this actor `msg` every `every` (at least 1 ms; the first at once), with
    /// a fixed delay after a late tick (`MissedTickBehavior::Delay`), like Akka's
    /// `startTimerWithFixedDelay`. A tick that finds the mailbox full is skipped, not queued
    /// ([`Addr::try_tell`]), so a slow actor is not buried under its own timers; the task ends
    /// once the actor has stopped for good (abort the handle to end it sooner, e.g. in
    /// `stopped`, since a restarted instance starts its own).
    pub fn tell_every<M>(&self, every: std::time::Duration, msg: M) -> tokio::task::JoinHandle<()>
    where
        A: Handler<M>,
        M: Message + Clone,
    {
        let addr = self.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(every.max(std::time::Duration::from_millis(1)));
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                t.tick().await;
                if let Err(AskError::Stopped { .. }) = addr.try_tell(msg.clone()) {
                    return;
                }
            }
        })
    }

    /// Like [`Addr::tell`] but never waits: a full mailbox gives [`AskError::MailboxFull`].
    ///
    /// # Errors
    /// [`AskError::MailboxFull`], [`AskError::Stopped`].
    pub fn try_tell<M>(&self, msg: M) -> Result<(), AskError>
    where
        A: Handler<M>,
        M: Message,
    {
        let env: BoxEnvelope<A> = Box::new(Call {
            msg: Some(msg),
            copy: None,
            reply: None,
            deliveries: 0,
        });
        self.tx.try_send(env).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AskError::MailboxFull {
                actor: self.name.to_string(),
            },
            mpsc::error::TrySendError::Closed(_) => self.stopped(),
        })
    }
}
