//! The ControlMapping actor: loads control catalogs and crosswalks (parsed by
//! the [crate root](crate)) into its tables ([`crate::store`]), one load at a time.

use rampart_supervisors::{Actor, Context, Handler, Message, ProbeCheck};

use crate::store::{self as controls, LoadOutcome};
use crate::{Catalog, Crosswalk};
use rampart_platform::Db;

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

/// Map a batch of risk events to controls (from the consumer).
#[derive(Debug)]
pub struct ApplyRiskEvents(pub Vec<rampart_platform::bus::Envelope>);

impl Message for ApplyRiskEvents {
    type Reply = Result<Vec<rampart_platform::consumer::EventOutcome>, String>;
}

/// The ControlMapping actor: consumes `risk.*` (publishing `controls.mapped`), loads catalogs,
/// sets control statuses.
pub struct ControlMapping {
    db: Db,
    node: String,
    rules: Vec<crate::rules::WeaknessRule>,
    subscription: rampart_platform::bus::BusSubscription,
    max_deliveries: u32,
    consumer: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for ControlMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlMapping")
            .field("node", &self.node)
            .finish()
    }
}

impl ControlMapping {
    /// An actor storing into `db`, naming `node` in its events, mapping risks by `rules`, fed by
    /// `subscription` (of `bus`).
    pub fn new(
        db: Db,
        node: String,
        rules: Vec<crate::rules::WeaknessRule>,
        bus: &rampart_platform::bus::Bus,
        subscription: rampart_platform::bus::BusSubscription,
    ) -> Self {
        Self {
            db,
            node,
            rules,
            subscription,
            max_deliveries: bus.max_deliveries(),
            consumer: None,
        }
    }
}

impl Drop for ControlMapping {
    fn drop(&mut self) {
        if let Some(c) = self.consumer.take() {
            c.abort();
        }
    }
}

impl Handler<ApplyRiskEvents> for ControlMapping {
    async fn handle(
        &mut self,
        m: ApplyRiskEvents,
        _ctx: &mut Context<Self>,
    ) -> Result<Vec<rampart_platform::consumer::EventOutcome>, String> {
        controls::apply_risk_events(&self.db, &self.node, &self.rules, &m.0)
            .await
            .map_err(|e| e.to_string())
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
    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        self.consumer = Some(rampart_platform::consumer::spawn(
            self.subscription.clone(),
            self.db.clone(),
            "control",
            self.max_deliveries,
            64,
            ctx.address(),
            ApplyRiskEvents,
        ));
        Ok(())
    }

    async fn readiness(&mut self) -> ProbeCheck {
        self.db.readiness().await
    }
}

impl Handler<Load> for ControlMapping {
    async fn handle(&mut self, msg: Load, _ctx: &mut Context<Self>) -> Result<LoadOutcome, String> {
        controls::load(&self.db, &msg.catalogs, &msg.crosswalks)
            .await
            .map_err(|e| e.to_string())
    }
}
