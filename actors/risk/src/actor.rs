//! The RiskAnalysis actor: holds the vulnerability records and KEV entries in memory (loaded
//! from its tables at each start), ingests feeds, consumes asset events and answers "current
//! risk of asset X" (request/reply). Storage and the incremental re-scoring rules are in
//! [`crate::store`].
//!
//! Asset events come from the bus through a consumer task the actor starts (and that dies with
//! the instance): it takes up to [`CONSUMER_BATCH`] queued events at a time, hands them to the
//! actor as one [`ApplyAssetEvents`] (one transaction), then acks each applied, duplicate or
//! ignored event (after the commit), dead-letters rejected ones at once (a bad body: retrying
//! cannot help) and requeues the whole batch when the transaction failed or the actor crashed;
//! an event that has had the bus's `max_deliveries` is dead-lettered instead. Dead letters are
//! recorded with their error ([`rampart_platform::dead_letters`]) for listing and replay.

use rampart_supervisors::{Actor, Context, Handler, Message, ProbeCheck};

use rampart_contracts::risk::{AssetRisk, CurrentRisk, RiskReply, RiskRequest};
use rampart_platform::Db;
use rampart_platform::bus::{Bus, BusSubscription, Envelope};
use rampart_platform::consumer::EventOutcome;

use crate::decisions::{
    self, DecisionError, DecisionInput, TreatmentInput, TreatmentView, VexImportOutcome,
};
use crate::feeds::vulnrichment::VulnrichmentRecord;
use crate::ssvc::CriticalityMapping;
use crate::store::{self as risk, FeedInput, IngestOutcome, RiskState};
use crate::vex::VexDocument;
use rampart_contracts::risk::FindingView;

/// Service name (bus queue, processed events, outbox).
pub const SERVICE: &str = risk::SERVICE;

/// Most asset events applied in one transaction.
pub const CONSUMER_BATCH: usize = 64;

/// Ingest a parsed feed; replies with what it did or the storage error's text.
#[derive(Debug)]
pub struct IngestFeed(pub FeedInput);

impl Message for IngestFeed {
    type Reply = Result<IngestOutcome, String>;
}

/// Apply a batch of asset events (from the consumer); one outcome per event.
#[derive(Debug)]
pub struct ApplyAssetEvents(pub Vec<Envelope>);

impl Message for ApplyAssetEvents {
    type Reply = Result<Vec<EventOutcome>, String>;
}

/// Fault injection (tests, demos): events of the asset `key` fail transiently until cleared
/// with `None`.
#[derive(Debug, Clone)]
pub struct SetPoison(pub Option<String>);

impl Message for SetPoison {
    type Reply = ();
}

/// Import a parsed VEX document (`bytes`: the document as sent, for its fingerprint) sent
/// by the principal `by` ([`decisions::import_vex`]).
#[derive(Debug)]
pub struct ImportVex {
    /// The parsed document.
    pub document: VexDocument,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The importing principal's `sub`.
    pub by: String,
    /// The asset (key) the document is about, when the importer says so.
    pub asset: Option<String>,
    /// Which of the document's unresolved product references is that asset.
    pub reference: Option<String>,
}

impl Message for ImportVex {
    type Reply = Result<VexImportOutcome, DecisionError>;
}

/// A triage decision about the finding `key` ([`decisions::decide`]).
#[derive(Debug)]
pub struct Decide {
    /// The finding's key.
    pub key: String,
    /// The decision.
    pub decision: DecisionInput,
    /// The deciding principal's `sub`.
    pub by: String,
}

impl Message for Decide {
    type Reply = Result<FindingView, DecisionError>;
}

/// A risk treatment of the finding `key` ([`decisions::treat`]).
#[derive(Debug)]
pub struct Treat {
    /// The finding's key.
    pub key: String,
    /// The treatment.
    pub treatment: TreatmentInput,
    /// The deciding principal's `sub`.
    pub by: String,
}

impl Message for Treat {
    type Reply = Result<TreatmentView, DecisionError>;
}

/// Ingest CISA Vulnrichment records; replies (records changed, assets re-scored).
#[derive(Debug)]
pub struct IngestVulnrichment(pub Vec<VulnrichmentRecord>);

impl Message for IngestVulnrichment {
    type Reply = Result<(usize, usize), DecisionError>;
}

/// The vulnerabilities the held records give these components (SBOM diffs).
#[derive(Debug)]
pub struct MatchComponents(pub Vec<rampart_contracts::asset::Component>);

impl Message for MatchComponents {
    type Reply = Vec<risk::ComponentVulnerability>;
}

impl Handler<MatchComponents> for RiskAnalysis {
    async fn handle(
        &mut self,
        msg: MatchComponents,
        _ctx: &mut Context<Self>,
    ) -> Vec<risk::ComponentVulnerability> {
        risk::match_components(&self.state, &msg.0)
    }
}

/// The actor's own timer: end the acceptances past their expiry.
#[derive(Debug, Clone, Copy)]
pub struct ExpireAcceptances;

impl Message for ExpireAcceptances {
    type Reply = ();
}

/// The RiskAnalysis actor.
pub struct RiskAnalysis {
    db: Db,
    node: String,
    state: RiskState,
    subscription: BusSubscription,
    max_deliveries: u32,
    bus: Bus,
    consumer: Option<tokio::task::JoinHandle<()>>,
    rpc_server: Option<tokio::task::JoinHandle<()>>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    ssvc_mapping: CriticalityMapping,
    expiry_check: std::time::Duration,
}

impl std::fmt::Debug for RiskAnalysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskAnalysis")
            .field("node", &self.node)
            .field("vulnerabilities", &self.state.vulnerability_count())
            .field("kev", &self.state.kev_count())
            .finish()
    }
}

impl RiskAnalysis {
    /// An actor on `db`, consuming asset events from `subscription` (of `bus`).
    pub fn new(db: Db, node: String, bus: &Bus, subscription: BusSubscription) -> Self {
        Self {
            db,
            node,
            state: RiskState::default(),
            subscription,
            max_deliveries: bus.max_deliveries(),
            bus: bus.clone(),
            consumer: None,
            rpc_server: None,
            ticker: None,
            ssvc_mapping: CriticalityMapping::default(),
            expiry_check: std::time::Duration::from_secs(60),
        }
    }

    /// Sets the SSVC mapping of asset criticality (`[risk.ssvc]`) and how often acceptances
    /// are checked for expiry (`risk.acceptance_check_ms`, at least 100 ms).
    #[must_use]
    pub fn with_triage(
        mut self,
        mapping: CriticalityMapping,
        expiry_check: std::time::Duration,
    ) -> Self {
        self.ssvc_mapping = mapping;
        self.expiry_check = expiry_check.max(std::time::Duration::from_millis(100));
        self
    }

    async fn reload_if_stale(&mut self) -> Result<(), String> {
        // Another replica may have ingested a feed or stored a statement since this state
        // was loaded.
        let mark = risk::state_mark(self.db.conn())
            .await
            .map_err(|e| e.to_string())?;
        if mark != self.state.feed_mark() {
            self.state
                .reload_decisions(&self.db)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(
                mark,
                "risk state reloaded: another replica wrote feeds or statements"
            );
        }
        Ok(())
    }
}

impl Drop for RiskAnalysis {
    fn drop(&mut self) {
        if let Some(c) = self.consumer.take() {
            c.abort();
        }
        if let Some(c) = self.rpc_server.take() {
            c.abort();
        }
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}

/// Longest a request served over RabbitMQ waits for the local actor.
const RPC_ASK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

async fn answer_rpc(addr: &rampart_supervisors::Addr<RiskAnalysis>, req: &[u8]) -> Vec<u8> {
    let reply = match serde_json::from_slice::<RiskRequest>(req) {
        Err(e) => RiskReply::Error(format!("bad request: {e}")),
        Ok(r) => match addr
            .ask_timeout(
                CurrentRisk {
                    asset_key: r.asset_key,
                },
                RPC_ASK_TIMEOUT,
            )
            .await
        {
            Ok(Ok(v)) => RiskReply::Ok(v),
            Ok(Err(e)) => RiskReply::Error(e),
            Err(e) => RiskReply::Error(e.to_string()),
        },
    };
    serde_json::to_vec(&reply).unwrap_or_default()
}

/// Asks "current risk of asset `asset_key`" of whichever node runs RiskAnalysis, over RabbitMQ
/// (request/reply with direct reply-to), waiting at most `timeout`.
///
/// # Errors
/// The failure's text: no connection, no answer in time, or the remote error.
pub async fn remote_current_risk(
    bus: &rampart_platform::bus::amqp::AmqpBus,
    asset_key: &str,
    timeout: std::time::Duration,
) -> Result<Option<AssetRisk>, String> {
    let req = serde_json::to_vec(&RiskRequest {
        asset_key: asset_key.to_owned(),
    })
    .map_err(|e| e.to_string())?;
    let answer = bus
        .call(SERVICE, &req, timeout)
        .await
        .map_err(|e| e.to_string())?;
    match serde_json::from_slice::<RiskReply>(&answer).map_err(|e| e.to_string())? {
        RiskReply::Ok(v) => Ok(v),
        RiskReply::Error(e) => Err(e),
    }
}

impl Actor for RiskAnalysis {
    async fn started(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        self.state = RiskState::load(self.db.conn())
            .await
            .map_err(|e| format!("loading risk state: {e}"))?;
        self.state.set_ssvc_mapping(self.ssvc_mapping.clone());
        self.ticker = Some(
            ctx.address()
                .tell_every(self.expiry_check, ExpireAcceptances),
        );
        tracing::info!(
            vulnerabilities = self.state.vulnerability_count(),
            kev = self.state.kev_count(),
            generation = ctx.generation(),
            "risk analysis started"
        );
        self.consumer = Some(rampart_platform::consumer::spawn(
            self.subscription.clone(),
            self.db.clone(),
            SERVICE,
            self.max_deliveries,
            CONSUMER_BATCH,
            ctx.address(),
            ApplyAssetEvents,
        ));
        if let Bus::Amqp(amqp) = &self.bus {
            let (amqp, addr) = (amqp.clone(), ctx.address());
            self.rpc_server = Some(tokio::spawn(async move {
                amqp.serve(SERVICE, |req| {
                    let addr = addr.clone();
                    async move { answer_rpc(&addr, &req).await }
                })
                .await;
            }));
        }
        Ok(())
    }

    async fn readiness(&mut self) -> ProbeCheck {
        self.db.readiness().await
    }
}

impl Handler<IngestFeed> for RiskAnalysis {
    async fn handle(
        &mut self,
        msg: IngestFeed,
        _ctx: &mut Context<Self>,
    ) -> Result<IngestOutcome, String> {
        risk::ingest(&self.db, &self.node, &mut self.state, msg.0)
            .await
            .map_err(|e| e.to_string())
    }
}

impl Handler<ApplyAssetEvents> for RiskAnalysis {
    async fn handle(
        &mut self,
        msg: ApplyAssetEvents,
        _ctx: &mut Context<Self>,
    ) -> Result<Vec<EventOutcome>, String> {
        self.reload_if_stale().await?;
        risk::apply_asset_events(&self.db, &self.node, &self.state, &msg.0)
            .await
            .map_err(|e| e.to_string())
    }
}

impl Handler<CurrentRisk> for RiskAnalysis {
    async fn handle(
        &mut self,
        msg: CurrentRisk,
        _ctx: &mut Context<Self>,
    ) -> Result<Option<AssetRisk>, String> {
        risk::asset_risk(&self.db, &msg.asset_key)
            .await
            .map_err(|e| e.to_string())
    }
}

impl Handler<SetPoison> for RiskAnalysis {
    async fn handle(&mut self, msg: SetPoison, _ctx: &mut Context<Self>) {
        self.state.set_poison(msg.0);
    }
}

impl Handler<ImportVex> for RiskAnalysis {
    async fn handle(
        &mut self,
        msg: ImportVex,
        _ctx: &mut Context<Self>,
    ) -> Result<VexImportOutcome, DecisionError> {
        self.reload_if_stale()
            .await
            .map_err(DecisionError::Invalid)?;
        decisions::import_vex(
            &self.db,
            &self.node,
            &mut self.state,
            msg.document,
            &msg.bytes,
            &msg.by,
            msg.asset.as_deref().map(|a| (a, msg.reference.as_deref())),
        )
        .await
    }
}

impl Handler<Decide> for RiskAnalysis {
    async fn handle(
        &mut self,
        msg: Decide,
        _ctx: &mut Context<Self>,
    ) -> Result<FindingView, DecisionError> {
        self.reload_if_stale()
            .await
            .map_err(DecisionError::Invalid)?;
        decisions::decide(
            &self.db,
            &self.node,
            &mut self.state,
            &msg.key,
            msg.decision,
            &msg.by,
        )
        .await
    }
}

impl Handler<Treat> for RiskAnalysis {
    async fn handle(
        &mut self,
        msg: Treat,
        _ctx: &mut Context<Self>,
    ) -> Result<TreatmentView, DecisionError> {
        decisions::treat(
            &self.db,
            &self.node,
            &mut self.state,
            &msg.key,
            msg.treatment,
            &msg.by,
        )
        .await
    }
}

impl Handler<IngestVulnrichment> for RiskAnalysis {
    async fn handle(
        &mut self,
        msg: IngestVulnrichment,
        _ctx: &mut Context<Self>,
    ) -> Result<(usize, usize), DecisionError> {
        self.reload_if_stale()
            .await
            .map_err(DecisionError::Invalid)?;
        decisions::ingest_vulnrichment(&self.db, &self.node, &mut self.state, msg.0).await
    }
}

impl Handler<ExpireAcceptances> for RiskAnalysis {
    async fn handle(&mut self, _msg: ExpireAcceptances, _ctx: &mut Context<Self>) {
        match decisions::expire_acceptances(
            &self.db,
            &self.node,
            &mut self.state,
            chrono::Utc::now(),
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "risk acceptances expired; findings reopened"),
            Err(e) => {
                tracing::warn!(error = %e, "checking acceptance expiry failed; next tick retries")
            }
        }
    }
}
