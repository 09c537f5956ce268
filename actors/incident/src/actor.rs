//! The IncidentResponse actor: opens incidents from risk events (`risk.*`, see
//! [`crate::store`]) and carries out lifecycle transitions, assignments and comments,
//! one at a time.

use rampart_supervisors::{Actor, Context, Handler, Message, ProbeCheck};

use crate::store::{self as incidents, IncidentView, OpenRule};
use rampart_platform::Db;
use rampart_platform::bus::{Bus, BusSubscription, Envelope};
use rampart_platform::consumer::EventOutcome;

/// Service name.
pub const SERVICE: &str = incidents::SERVICE;

/// Most risk events applied in one transaction.
pub const CONSUMER_BATCH: usize = 64;

/// Apply a batch of risk events.
#[derive(Debug)]
pub struct ApplyRiskEvents(pub Vec<Envelope>);

impl Message for ApplyRiskEvents {
    type Reply = Result<Vec<EventOutcome>, String>;
}

/// A lifecycle transition.
#[derive(Debug, Clone)]
pub struct Transition {
    /// Incident id.
    pub id: i64,
    /// Target state.
    pub to: String,
    /// Who asks.
    pub actor: String,
    /// Optional note.
    pub note: Option<String>,
}

impl Message for Transition {
    type Reply = Result<IncidentView, incidents::IncidentError>;
}

/// An assignment.
#[derive(Debug, Clone)]
pub struct Assign {
    /// Incident id.
    pub id: i64,
    /// Assignee.
    pub assignee: String,
    /// Who asks.
    pub actor: String,
}

impl Message for Assign {
    type Reply = Result<IncidentView, incidents::IncidentError>;
}

/// A comment.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Incident id.
    pub id: i64,
    /// Text.
    pub text: String,
    /// Who.
    pub actor: String,
}

impl Message for Comment {
    type Reply = Result<(), incidents::IncidentError>;
}

/// Escalate the open incidents past their playbook step's time limit (sent by the actor's own
/// timer every `escalation_check_ms`); replies how many were escalated.
#[derive(Debug, Clone, Copy)]
pub struct CheckEscalations;

impl Message for CheckEscalations {
    type Reply = Result<usize, String>;
}

/// The IncidentResponse actor.
pub struct IncidentResponse {
    db: Db,
    node: String,
    rule: OpenRule,
    playbooks: Vec<crate::playbooks::Playbook>,
    subscription: BusSubscription,
    max_deliveries: u32,
    consumer: Option<tokio::task::JoinHandle<()>>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for IncidentResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncidentResponse")
            .field("rule", &self.rule)
            .finish()
    }
}

impl IncidentResponse {
    /// An actor on `db` opening incidents per `rule` from what `subscription` (of `bus`) delivers.
    pub fn new(
        db: Db,
        node: String,
        rule: OpenRule,
        bus: &Bus,
        subscription: BusSubscription,
    ) -> Self {
        Self {
            db,
            node,
            rule,
            playbooks: Vec::new(),
            subscription,
            max_deliveries: bus.max_deliveries(),
            consumer: None,
            ticker: None,
        }
    }
}

impl Drop for IncidentResponse {
    fn drop(&mut self) {
        if let Some(c) = self.consumer.take() {
            c.abort();
        }
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}

impl Actor for IncidentResponse {
    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        self.playbooks = crate::playbooks::load_dir(std::path::Path::new(&self.rule.playbooks_dir))
            .map_err(|e| e.to_string())?;
        self.ticker = Some(ctx.address().tell_every(
            std::time::Duration::from_millis(self.rule.escalation_check_ms.max(100)),
            CheckEscalations,
        ));
        self.consumer = Some(rampart_platform::consumer::spawn(
            self.subscription.clone(),
            self.db.clone(),
            SERVICE,
            self.max_deliveries,
            CONSUMER_BATCH,
            ctx.address(),
            ApplyRiskEvents,
        ));
        Ok(())
    }

    async fn readiness(&mut self) -> ProbeCheck {
        self.db.readiness().await
    }
}

impl Handler<ApplyRiskEvents> for IncidentResponse {
    async fn handle(
        &mut self,
        msg: ApplyRiskEvents,
        _ctx: &mut Context<Self>,
    ) -> Result<Vec<EventOutcome>, String> {
        incidents::apply_risk_events(&self.db, &self.node, &self.rule, &msg.0)
            .await
            .map_err(|e| e.to_string())
    }
}

impl Handler<Transition> for IncidentResponse {
    async fn handle(
        &mut self,
        m: Transition,
        _ctx: &mut Context<Self>,
    ) -> Result<IncidentView, incidents::IncidentError> {
        incidents::transition(
            &self.db,
            &self.node,
            m.id,
            &m.to,
            &m.actor,
            m.note.as_deref(),
        )
        .await
    }
}

impl Handler<Assign> for IncidentResponse {
    async fn handle(
        &mut self,
        m: Assign,
        _ctx: &mut Context<Self>,
    ) -> Result<IncidentView, incidents::IncidentError> {
        incidents::assign(&self.db, m.id, &m.assignee, &m.actor).await
    }
}

impl Handler<Comment> for IncidentResponse {
    async fn handle(
        &mut self,
        m: Comment,
        _ctx: &mut Context<Self>,
    ) -> Result<(), incidents::IncidentError> {
        incidents::comment(&self.db, m.id, &m.text, &m.actor).await
    }
}

impl Handler<CheckEscalations> for IncidentResponse {
    async fn handle(
        &mut self,
        _m: CheckEscalations,
        _ctx: &mut Context<Self>,
    ) -> Result<usize, String> {
        crate::playbooks::escalate_due(
            &self.db,
            &self.node,
            &self.playbooks,
            &self.rule.sla_s,
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| e.to_string())
    }
}
