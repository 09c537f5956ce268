//! The ControlMapping actor: loads control catalogs and crosswalks (parsed by
//! [`crate::control`]) into its tables ([`crate::db::controls`]), one load at a time.

use rampart_supervisors::{Actor, Context, Handler, Message, ProbeCheck};

use crate::control::{Catalog, Crosswalk};
use crate::db::Db;
use crate::db::controls::{self, LoadOutcome};

/// Store catalogs and crosswalks (one transaction); replies with what was stored.
#[derive(Debug)]
pub struct Load {
    /// Frameworks with their controls.
    pub catalogs: Vec<Catalog>,
    /// Crosswalks.
    pub crosswalks: Vec<Crosswalk>,
}

impl Message for Load {
    type Reply = Result<LoadOutcome, String>;
}

/// The ControlMapping actor.
#[derive(Debug)]
pub struct ControlMapping {
    db: Db,
}

impl ControlMapping {
    /// An actor storing into `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

impl Actor for ControlMapping {
    async fn readiness(&mut self) -> ProbeCheck {
        self.db
            .conn()
            .ping()
            .await
            .map_err(|e| format!("database unreachable: {e}"))
    }
}

impl Handler<Load> for ControlMapping {
    async fn handle(&mut self, msg: Load, _ctx: &mut Context<Self>) -> Result<LoadOutcome, String> {
        controls::load(&self.db, &msg.catalogs, &msg.crosswalks)
            .await
            .map_err(|e| e.to_string())
    }
}
