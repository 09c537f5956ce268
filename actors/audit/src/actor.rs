//! The AuditReporting actor: consumes every event of every service (`#`) and appends it to the
//! hash-chained audit log ([`crate::chain`]), one transaction per batch.

use rampart_supervisors::{Actor, Context, Handler, Message, ProbeCheck};

use crate::chain as audit;
use rampart_platform::Db;
use rampart_platform::bus::{Bus, BusSubscription, Envelope};
use rampart_platform::consumer::EventOutcome;

/// Service name.
pub const SERVICE: &str = audit::SERVICE;

/// Most events appended in one transaction.
pub const CONSUMER_BATCH: usize = 256;

/// Append a batch of events; one outcome per event.
#[derive(Debug)]
pub struct AppendEvents(pub Vec<Envelope>);

impl Message for AppendEvents {
    type Reply = Result<Vec<EventOutcome>, String>;
}

/// The AuditReporting actor.
pub struct AuditReporting {
    db: Db,
    subscription: BusSubscription,
    max_deliveries: u32,
    consumer: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for AuditReporting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditReporting").finish()
    }
}

impl AuditReporting {
    /// An actor appending to `db`'s audit log what `subscription` (of `bus`) delivers.
    pub fn new(db: Db, bus: &Bus, subscription: BusSubscription) -> Self {
        Self {
            db,
            subscription,
            max_deliveries: bus.max_deliveries(),
            consumer: None,
        }
    }
}

impl Drop for AuditReporting {
    fn drop(&mut self) {
        if let Some(c) = self.consumer.take() {
            c.abort();
        }
    }
}

impl Actor for AuditReporting {
    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        self.consumer = Some(rampart_platform::consumer::spawn(
            self.subscription.clone(),
            self.db.clone(),
            SERVICE,
            self.max_deliveries,
            CONSUMER_BATCH,
            ctx.address(),
            AppendEvents,
        ));
        Ok(())
    }

    async fn readiness(&mut self) -> ProbeCheck {
        self.db.readiness().await
    }
}

impl Handler<AppendEvents> for AuditReporting {
    async fn handle(
        &mut self,
        msg: AppendEvents,
        _ctx: &mut Context<Self>,
    ) -> Result<Vec<EventOutcome>, String> {
        audit::append(&self.db, &msg.0)
            .await
            .map_err(|e| e.to_string())
    }
}
