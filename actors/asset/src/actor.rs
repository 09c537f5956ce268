//! The AssetManagement actor: stores parsed inventories (one transaction each, see
//! [`crate::store::apply_inventory`]) and so publishes `asset.discovered` /
//! `asset.changed` through the outbox. Parsing happens before the job is accepted (so bad input
//! is answered at once with a 4xx); this actor does the storing, one import at a time.

use std::sync::Arc;

use rampart_supervisors::{Actor, Context, Handler, Message, ProbeCheck};

use crate::Inventory;
use crate::store::{self as assets, ImportOutcome};
use rampart_platform::Db;

/// A fault to inject while handling [`StoreInventory`] (tests and demos; the HTTP layer passes
/// it on only when fault injection is enabled in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Panic inside the handler before the inventory is stored.
    Panic,
}

/// Store a parsed inventory. Replies with what changed, or the storage error's text (nothing
/// of the import is then stored).
#[derive(Debug)]
pub struct StoreInventory {
    /// The inventory.
    pub inventory: Arc<Inventory>,
    /// Fault to inject, if any.
    pub fault: Option<Fault>,
}

impl Message for StoreInventory {
    type Reply = Result<ImportOutcome, String>;
}

/// Retires an asset (`asset.retired`); replies whether it was active.
#[derive(Debug, Clone)]
pub struct RetireAsset {
    /// The asset's key.
    pub key: String,
}

impl Message for RetireAsset {
    type Reply = Result<bool, String>;
}

/// The AssetManagement actor.
#[derive(Debug)]
pub struct AssetManagement {
    db: Db,
    node: String,
    imports: u64,
}

impl AssetManagement {
    /// An actor storing into `db`, naming `node` as the events' source.
    pub fn new(db: Db, node: String) -> Self {
        Self {
            db,
            node,
            imports: 0,
        }
    }
}

impl Actor for AssetManagement {
    async fn readiness(&mut self) -> ProbeCheck {
        self.db.readiness().await
    }
}

impl Handler<StoreInventory> for AssetManagement {
    async fn handle(
        &mut self,
        msg: StoreInventory,
        _ctx: &mut Context<Self>,
    ) -> Result<ImportOutcome, String> {
        if msg.fault == Some(Fault::Panic) {
            panic!(
                "injected panic while importing {} assets (fault injection)",
                msg.inventory.assets.len()
            );
        }
        let out = assets::apply_inventory(&self.db, &self.node, &msg.inventory, None)
            .await
            .map_err(|e| e.to_string())?;
        self.imports += 1;
        Ok(out)
    }
}

impl Handler<RetireAsset> for AssetManagement {
    async fn handle(&mut self, msg: RetireAsset, _ctx: &mut Context<Self>) -> Result<bool, String> {
        assets::retire(&self.db, &self.node, &msg.key)
            .await
            .map_err(|e| e.to_string())
    }
}
