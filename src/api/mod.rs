//! The service API under `/api/v1`, one file per service and one for operations; what they
//! share (problem details, paging, media types, body limits, accepted jobs) is in [`common`].
//!
//! | file | routes |
//! |---|---|
//! | [`assets`] | `POST /assets/import`, `GET /assets`, `GET /assets/{id}`, `DELETE /assets/{id}` (AssetManagement) |
//! | [`risks`] | `POST /threat-intel/{kind}`, `GET /risks`, `GET /assets/{id}/risk` (RiskAnalysis) |
//! | [`controls`] | `/frameworks/...`, `GET /assets/{id}/controls` (ControlMapping) |
//! | [`incidents`] | `/incidents/...`, `POST /alarms` (IncidentResponse) |
//! | [`audit`] | `GET /audit`, `GET /audit/verify`, `GET /reports/{framework}` (AuditReporting) |
//! | [`operations`] | `GET /jobs/{id}`, dead letters and replay, the runtime tree, the demo and fault injection |
//!
//! Input is checked before a job is accepted: the body's size (413 past `api.max_import_bytes`),
//! its `Content-Type` (415), then the parser (400 for malformed syntax, 422 for a well-formed
//! document that is not valid input, both with the parser's line/column or path). So a job that
//! is accepted only fails on a storage error or a crash of the service actor, and then nothing of
//! it is stored (one transaction per import or feed).

pub mod assets;
pub mod audit;
pub mod common;
pub mod controls;
pub mod discovery;
pub mod incidents;
pub mod intel;
pub mod operations;
pub mod risks;
pub mod triage;

use std::sync::Arc;

use rampart_asset::CriticalityRules;
use rampart_asset::actor::AssetManagement;
use rampart_contracts::risk::AssetRisk;
use rampart_platform::Db;
use rampart_risk::actor::RiskAnalysis;
use rampart_supervisors::Addr;
use rampart_supervisors::resilience::ResiliencePolicy;
use tokio::sync::Semaphore;

pub use common::{Accepted, Page};

/// Resilience policy of risk queries: errors are the failure's text, keyed by asset key.
pub type RiskQueryPolicy = ResiliencePolicy<String, String, Option<AssetRisk>>;

/// What the service handlers share.
pub struct ServiceState {
    /// The node's id (jobs record it).
    pub node_id: String,
    /// The node's database.
    pub db: Db,
    /// AssetManagement, when this node runs `asset`.
    pub asset: Option<Addr<AssetManagement>>,
    /// RiskAnalysis, when this node runs `risk`.
    pub risk: Option<Addr<RiskAnalysis>>,
    /// Weakness -> control rules (`[[controls.rules]]`).
    pub control_rules: Vec<rampart_control::rules::WeaknessRule>,
    /// ControlMapping, when this node runs `control`.
    pub control: Option<Addr<rampart_control::actor::ControlMapping>>,
    /// IncidentResponse, when this node runs `incident`.
    pub incident: Option<Addr<rampart_incident::actor::IncidentResponse>>,
    /// The node's bus (its connection state is part of readiness).
    pub bus: rampart_platform::bus::Bus,
    /// Criticality rules for imports.
    pub rules: CriticalityRules,
    /// Largest import or feed body, bytes.
    pub max_import_bytes: usize,
    /// Permits for jobs accepted but unfinished (`api.max_pending_jobs`).
    pub jobs: Arc<Semaphore>,
    /// Policy of calls to RiskAnalysis for `GET /assets/{id}/risk`.
    pub risk_policy: RiskQueryPolicy,
    /// RiskAnalysis's read side on this node: the register and current risks, cached by write
    /// generation ([`risks::RiskReads::new`]).
    pub risk_reads: risks::RiskReads,
    /// The threat-intelligence sync, when this node runs RiskAnalysis and has sources.
    pub intel: Option<Addr<crate::intel::IntelSync>>,
    /// The discovery scheduler, when this node runs AssetManagement and has sources.
    pub discovery: Option<Addr<crate::discovery::DiscoverySync>>,
    /// Whether the `X-Rampart-Fault` request header is honoured (config `demo.fault_injection`).
    pub fault_injection: bool,
}

/// Registers the service routes (inside the `/api/v1` scope), each with its permission.
pub fn routes(r: &mut crate::auth::Routes<'_>) {
    assets::routes(r);
    risks::routes(r);
    triage::routes(r);
    intel::routes(r);
    discovery::routes(r);
    incidents::routes(r);
    controls::routes(r);
    audit::routes(r);
    operations::routes(r);
}

/// The OpenAPI document of every service route (merged into [`crate::http::ApiDoc`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi as _;
    let mut doc = assets::AssetApiDoc::openapi();
    doc.merge(risks::RiskApiDoc::openapi());
    doc.merge(triage::TriageApiDoc::openapi());
    doc.merge(intel::IntelApiDoc::openapi());
    doc.merge(discovery::DiscoveryApiDoc::openapi());
    doc.merge(incidents::IncidentApiDoc::openapi());
    doc.merge(controls::ControlApiDoc::openapi());
    doc.merge(audit::AuditApiDoc::openapi());
    doc.merge(operations::OperationsApiDoc::openapi());
    doc
}
