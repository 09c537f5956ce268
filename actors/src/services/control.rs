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

/// Set a control's status (see [`controls::set_status`]).
#[derive(Debug, Clone)]
pub struct SetStatus {
    /// Framework id.
    pub framework: String,
    /// Control id (canonical).
    pub id: String,
    /// Status.
    pub status: String,
    /// Evidence.
    pub evidence: Vec<String>,
    /// Who.
    pub actor: String,
}

impl Message for SetStatus {
    type Reply = Result<controls::StatusView, controls::StatusError>;
}

/// The ControlMapping actor.
#[derive(Debug)]
pub struct ControlMapping {
    db: Db,
    node: String,
}

impl ControlMapping {
    /// An actor storing into `db`, naming `node` in its events.
    pub fn new(db: Db, node: String) -> Self {
        Self { db, node }
    }
}

impl Handler<SetStatus> for ControlMapping {
    async fn handle(
        &mut self,
        m: SetStatus,
        _ctx: &mut Context<Self>,
    ) -> Result<controls::StatusView, controls::StatusError> {
        controls::set_status(
            &self.db,
            &self.node,
            &m.framework,
            &m.id,
            &m.status,
            &m.evidence,
            &m.actor,
        )
        .await
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
