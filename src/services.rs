//! The service trees a node runs: one supervisor per service named in its roles (one-for-one,
//! one actor each), each actor from its service crate:
//!
//! | role | supervisor | actor | crate |
//! |---|---|---|---|
//! | `asset` | `assets` | `asset-management` | [`rampart_asset`] |
//! | `risk` | `risk` | `risk-analysis` | [`rampart_risk`] |
//! | `control` | `controls` | `control-mapping` | [`rampart_control`] |
//! | `incident` | `incidents` | `incident-response` | [`rampart_incident`] |
//! | `audit` | `audit` | `audit-reporting` | [`rampart_audit`] |

use rampart_supervisors::{Addr, ChildSpec, MailboxConfig, Probes, SupervisorSpec};

use rampart_asset::actor as asset;
use rampart_audit::actor as audit;
use rampart_control::actor as control;
use rampart_incident::actor as incident;
pub use rampart_platform::SERVICE_MAILBOX;
use rampart_platform::bus::{Bus, BusError};
use rampart_platform::db::Db;
use rampart_risk::actor as risk;

/// The services a node can run (its roles), by name.
pub const ALL_SERVICES: &[&str] = &["asset", "risk", "control", "incident", "audit"];

/// The service trees this node runs and the addresses of their actors.
pub struct Services {
    /// One supervisor per service run here (`assets`, `risk`), each with its actor.
    pub specs: Vec<SupervisorSpec>,
    /// AssetManagement's address, when this node runs `asset`.
    pub asset: Option<Addr<asset::AssetManagement>>,
    /// RiskAnalysis's address, when this node runs `risk`.
    pub risk: Option<Addr<risk::RiskAnalysis>>,
    /// AuditReporting's address, when this node runs `audit`.
    pub audit: Option<Addr<audit::AuditReporting>>,
    /// IncidentResponse's address, when this node runs `incident`.
    pub incident: Option<Addr<incident::IncidentResponse>>,
    /// ControlMapping's address, when this node runs `control`.
    pub control: Option<Addr<control::ControlMapping>>,
}

/// Builds the supervisors of the services named in `cfg.node.services` (one-for-one, one
/// actor each), with the services' settings from `cfg`.
/// RiskAnalysis subscribes to `asset.*` on `bus` here, so no event published after this call is
/// missed.
///
/// # Errors
/// [`BusError`] if the subscription is refused.
pub fn tree(
    db: &Db,
    bus: &Bus,
    probes: Probes,
    cfg: &crate::config::Config,
) -> Result<Services, BusError> {
    let (node, roles) = (cfg.node.id.as_str(), cfg.node.services.as_slice());
    let (open_rule, control_rules, risk_config) =
        (&cfg.incidents, cfg.controls.rules.as_slice(), &cfg.risk);
    let runs = |s: &str| roles.iter().any(|r| r == s);
    let mut out = Services {
        specs: Vec::new(),
        asset: None,
        risk: None,
        audit: None,
        incident: None,
        control: None,
    };
    if runs("asset") {
        let child = ChildSpec::new("asset-management", {
            let (db, node) = (db.clone(), node.to_owned());
            move || asset::AssetManagement::new(db.clone(), node.clone())
        })
        .mailbox(MailboxConfig::bounded(SERVICE_MAILBOX))
        .probes(probes)
        .build();
        out.asset = Some(child.addr());
        out.specs.push(SupervisorSpec::new("assets").child(child));
    }
    if runs("risk") {
        let subscription = bus.subscribe(risk::SERVICE, &["asset.*"])?;
        let child = ChildSpec::new("risk-analysis", {
            let (db, node, bus, rc) = (
                db.clone(),
                node.to_owned(),
                bus.clone(),
                risk_config.clone(),
            );
            move || {
                risk::RiskAnalysis::new(db.clone(), node.clone(), &bus, subscription.clone())
                    .with_triage(
                        rc.ssvc.clone(),
                        std::time::Duration::from_millis(rc.acceptance_check_ms),
                    )
            }
        })
        .mailbox(MailboxConfig::bounded(SERVICE_MAILBOX))
        .probes(probes)
        .build();
        out.risk = Some(child.addr());
        out.specs.push(SupervisorSpec::new("risk").child(child));
    }
    if runs("control") {
        let subscription = bus.subscribe("control", &["risk.*"])?;
        let child = ChildSpec::new("control-mapping", {
            let (db, node, bus, rules) = (
                db.clone(),
                node.to_owned(),
                bus.clone(),
                control_rules.to_vec(),
            );
            move || {
                control::ControlMapping::new(
                    db.clone(),
                    node.clone(),
                    rules.clone(),
                    &bus,
                    subscription.clone(),
                )
            }
        })
        .mailbox(MailboxConfig::bounded(SERVICE_MAILBOX))
        .probes(probes)
        .build();
        out.control = Some(child.addr());
        out.specs.push(SupervisorSpec::new("controls").child(child));
    }
    if runs("incident") {
        let subscription = bus.subscribe(incident::SERVICE, &["risk.*", "alarm.*"])?;
        let child = ChildSpec::new("incident-response", {
            let (db, node, bus, rule) =
                (db.clone(), node.to_owned(), bus.clone(), open_rule.clone());
            move || {
                incident::IncidentResponse::new(
                    db.clone(),
                    node.clone(),
                    rule.clone(),
                    &bus,
                    subscription.clone(),
                )
            }
        })
        .mailbox(MailboxConfig::bounded(SERVICE_MAILBOX))
        .probes(probes)
        .build();
        out.incident = Some(child.addr());
        out.specs
            .push(SupervisorSpec::new("incidents").child(child));
    }
    if runs("audit") {
        let subscription = bus.subscribe(audit::SERVICE, &["#"])?;
        let child = ChildSpec::new("audit-reporting", {
            let (db, bus) = (db.clone(), bus.clone());
            move || audit::AuditReporting::new(db.clone(), &bus, subscription.clone())
        })
        .mailbox(MailboxConfig::bounded(SERVICE_MAILBOX))
        .probes(probes)
        .build();
        out.audit = Some(child.addr());
        out.specs.push(SupervisorSpec::new("audit").child(child));
    }
    Ok(out)
}
