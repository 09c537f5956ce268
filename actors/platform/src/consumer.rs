//! The consumer loop every event-consuming service runs (in a task its actor starts and that dies
//! with the instance): take up to `batch` queued events, hand them to the actor as one batch
//! (one transaction), then settle each delivery:
//! - applied, duplicate or ignored: **ack** (after the commit);
//! - rejected (can never be handled, e.g. a bad body) or not an envelope at all: dead-letter at
//!   once;
//! - failed this time, or the whole batch failed / the actor crashed: **requeue**, and
//!   dead-letter once the delivery has had `max_deliveries`.
//!
//! Dead letters are recorded with their error ([`crate::dead_letters`]) before the delivery
//! is settled (nack without requeue, so RabbitMQ moves it to the service's dead-letter queue).

use std::future::Future;

use rampart_supervisors::{Addr, AskError, Handler, Message};

use crate::bus::{BusDelivery, BusSubscription, Envelope};
use crate::{Db, dead_letters};

/// What happened to one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// Applied: the event had its effect (committed).
    Applied,
    /// Already handled earlier (redelivery): no effect.
    Duplicate,
    /// Not an event this service handles: no effect.
    Ignored,
    /// The event cannot be handled (bad body); it should be dead-lettered, not retried.
    Rejected(String),
    /// Handling it failed this time (no effect); it should be retried, and dead-lettered after
    /// the bus's `max_deliveries`.
    Failed(String),
}

/// What the actor made of a batch.
#[derive(Debug)]
pub enum Applied {
    /// One outcome per event, or the batch's error (nothing of it stored).
    Done(Result<Vec<EventOutcome>, String>),
    /// The actor is gone for good: stop consuming.
    Stop,
}

async fn dead_letter(db: &Db, service: &str, d: BusDelivery, why: &str) {
    let count = d.delivery_count();
    match d.envelope() {
        Ok(e) => {
            if let Err(err) = dead_letters::record(db, service, e, why, count).await {
                // Not recorded: leave it to the bus to redeliver rather than lose the error.
                tracing::warn!(service, error = %err, "recording a dead letter");
                d.nack(true, why).await;
                return;
            }
            tracing::warn!(service, event = %e.event_id, error = why, deliveries = count, "dead-lettered");
        }
        Err(not_envelope) => {
            tracing::warn!(
                service,
                error = not_envelope,
                "dead-lettered a message that is not an envelope"
            );
        }
    }
    d.nack(false, why).await;
}

/// Runs the loop (module docs) until the bus is gone or `apply` says [`Applied::Stop`].
pub async fn run<F, Fut>(
    sub: BusSubscription,
    db: Db,
    service: &'static str,
    max_deliveries: u32,
    batch: usize,
    apply: F,
) where
    F: Fn(Vec<Envelope>) -> Fut,
    Fut: Future<Output = Applied>,
{
    loop {
        let mut deliveries = sub.next_batch(batch).await;
        if deliveries.is_empty() {
            return;
        }
        let mut good = Vec::with_capacity(deliveries.len());
        for d in deliveries.drain(..) {
            match d.envelope() {
                Ok(_) => good.push(d),
                Err(why) => {
                    let why = why.to_owned();
                    dead_letter(&db, service, d, &why).await;
                }
            }
        }
        if good.is_empty() {
            continue;
        }
        let envelopes: Vec<Envelope> = good
            .iter()
            .filter_map(|d| d.envelope().ok().cloned())
            .collect();
        let failure = match apply(envelopes).await {
            Applied::Done(Ok(outcomes)) => {
                for (d, o) in good.into_iter().zip(outcomes) {
                    match o {
                        EventOutcome::Rejected(why) => dead_letter(&db, service, d, &why).await,
                        EventOutcome::Failed(why) if d.delivery_count() >= max_deliveries => {
                            dead_letter(&db, service, d, &why).await;
                        }
                        EventOutcome::Failed(why) => d.nack(true, &why).await,
                        _ => d.ack().await,
                    }
                }
                continue;
            }
            Applied::Done(Err(e)) => e,
            Applied::Stop => return,
        };
        for d in good {
            if d.delivery_count() >= max_deliveries {
                dead_letter(&db, service, d, &failure).await;
            } else {
                d.nack(true, &failure).await;
            }
        }
    }
}

/// Starts [`run`] in a task for the actor at `addr`: each batch is sent to it as
/// `message(events)` (a message answering one outcome per event); the loop stops when the actor
/// is gone for good. The caller aborts the task when its instance stops.
pub fn spawn<A, M, F>(
    sub: BusSubscription,
    db: Db,
    service: &'static str,
    max_deliveries: u32,
    batch: usize,
    addr: Addr<A>,
    message: F,
) -> tokio::task::JoinHandle<()>
where
    A: Handler<M>,
    M: Message<Reply = Result<Vec<EventOutcome>, String>>,
    F: Fn(Vec<Envelope>) -> M + Send + Sync + 'static,
{
    tokio::spawn(run(
        sub,
        db,
        service,
        max_deliveries,
        batch,
        move |events| {
            let (addr, msg) = (addr.clone(), message(events));
            async move {
                match addr.ask(msg).await {
                    Ok(r) => Applied::Done(r),
                    Err(AskError::Stopped { .. }) => Applied::Stop,
                    Err(e) => Applied::Done(Err(e.to_string())),
                }
            }
        },
    ))
}
