//! The service actors: AssetManagement ([`asset`]) and RiskAnalysis ([`risk`]), each supervised
//! under its own supervisor ([`tree`]), plus the runner of asynchronous jobs ([`jobs`]).

pub mod asset;
pub mod jobs;
pub mod risk;

use rampart_supervisors::{Addr, ChildSpec, MailboxConfig, Probes, SupervisorSpec};

use crate::bus::{BusError, InProcessBus};
use crate::db::Db;

/// Mailbox capacity of the service actors (messages). An import or a feed is one message; the
/// HTTP layer answers 503 rather than queue more jobs than this.
pub const SERVICE_MAILBOX: usize = 16;

/// The service trees and the addresses of their actors.
pub struct Services {
    /// `assets` supervisor with `asset-management`.
    pub asset_spec: SupervisorSpec,
    /// `risk` supervisor with `risk-analysis`.
    pub risk_spec: SupervisorSpec,
    /// AssetManagement's address (stable across restarts).
    pub asset: Addr<asset::AssetManagement>,
    /// RiskAnalysis's address (stable across restarts).
    pub risk: Addr<risk::RiskAnalysis>,
}

/// Builds the two service supervisors (one-for-one, one actor each). RiskAnalysis subscribes to
/// `asset.*` on `bus` here, so no event published after this call is missed.
///
/// # Errors
/// [`BusError`] if the subscription is refused.
pub fn tree(db: &Db, bus: &InProcessBus, node: &str, probes: Probes) -> Result<Services, BusError> {
    let asset_child = ChildSpec::new("asset-management", {
        let (db, node) = (db.clone(), node.to_owned());
        move || asset::AssetManagement::new(db.clone(), node.clone())
    })
    .mailbox(MailboxConfig::bounded(SERVICE_MAILBOX))
    .probes(probes)
    .build();
    let asset_addr = asset_child.addr();
    let subscription = bus.subscribe(risk::SERVICE, &["asset.*"])?;
    let risk_child = ChildSpec::new("risk-analysis", {
        let (db, node) = (db.clone(), node.to_owned());
        move || risk::RiskAnalysis::new(db.clone(), node.clone(), subscription.clone())
    })
    .mailbox(MailboxConfig::bounded(SERVICE_MAILBOX))
    .probes(probes)
    .build();
    let risk_addr = risk_child.addr();
    Ok(Services {
        asset_spec: SupervisorSpec::new("assets").child(asset_child),
        risk_spec: SupervisorSpec::new("risk").child(risk_child),
        asset: asset_addr,
        risk: risk_addr,
    })
}
