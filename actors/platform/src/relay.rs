//! The outbox relay as a supervised actor: publishes the events services wrote to the outbox
//! ([`crate::outbox`]) to the bus, every `interval` and whenever told to. Its readiness probe
//! pings the database, so `/readyz` turns 503 while storage is unreachable.

use std::time::Duration;

use rampart_supervisors::{Actor, Context, Handler, Message, ProbeCheck};

use crate::bus::Bus;
use crate::{Db, outbox};

/// Settings of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayConfig {
    /// Time between two relay runs. Default 200 ms.
    pub interval: Duration,
    /// Most events published per run. Default 500.
    pub batch: u64,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(200),
            batch: 500,
        }
    }
}

/// The relay actor. Build one per node with [`OutboxRelay::new`] in the child's factory.
pub struct OutboxRelay {
    db: Db,
    bus: Bus,
    cfg: RelayConfig,
    ticker: Option<tokio::task::JoinHandle<()>>,
    published: u64,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("cfg", &self.cfg)
            .field("published", &self.published)
            .finish()
    }
}

impl OutboxRelay {
    /// A relay from `db`'s outbox to `bus`.
    pub fn new(db: Db, bus: Bus, cfg: RelayConfig) -> Self {
        Self {
            db,
            bus,
            cfg,
            ticker: None,
            published: 0,
        }
    }
}

impl Drop for OutboxRelay {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}

/// Runs the relay now; replies with how many events it published (or the error text).
#[derive(Debug, Clone, Copy)]
pub struct RelayNow;

impl Message for RelayNow {
    type Reply = Result<usize, String>;
}

impl Actor for OutboxRelay {
    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        let addr = ctx.address();
        let interval = self.cfg.interval.max(Duration::from_millis(1));
        self.ticker = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // A full mailbox means a run is already queued: skip this tick.
                if let Err(rampart_supervisors::AskError::Stopped { .. }) = addr.try_tell(RelayNow)
                {
                    return;
                }
            }
        }));
        Ok(())
    }

    async fn readiness(&mut self) -> ProbeCheck {
        self.db.readiness().await
    }
}

impl Handler<RelayNow> for OutboxRelay {
    async fn handle(&mut self, _msg: RelayNow, _ctx: &mut Context<Self>) -> Result<usize, String> {
        match outbox::relay_once(self.db.conn(), &self.bus, self.cfg.batch).await {
            Ok(n) => {
                self.published += n as u64;
                Ok(n)
            }
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay run failed; events stay pending");
                Err(e.to_string())
            }
        }
    }
}
