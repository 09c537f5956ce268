//! # rampart-incident: the IncidentResponse service
//!
//! | | |
//! |---|---|
//! | **owns** (its own tables) | `incident_incidents`, `incident_timeline` ([`entities`], [`migrations`]) |
//! | **consumes** | `risk.*` events meeting the open rule ([`store::OpenRule`]), `alarm.raised` ([`rampart_contracts::incident::Alarm`]); lifecycle commands ([`actor::Transition`], [`actor::Assign`], [`actor::Comment`]) |
//! | **publishes** | `incident.opened`, `incident.transitioned`, `incident.resolved` ([`rampart_contracts::incident::IncidentView`]), `incident.escalated` ([`rampart_contracts::incident::Escalation`]) |
//! | **answers** | incident state ([`store::get`], [`store::list`]); the period figures of a report ([`store::period_figures`]) |
//!
//! Incidents follow the NIST SP 800-61 Rev. 2 lifecycle ([`store`]); playbooks (steps, owning
//! role, time limit) and the per-level resolution SLA escalate overdue incidents from the
//! actor's own timer ([`playbooks`]). The asset's current risk shown beside an incident is asked
//! of RiskAnalysis by request/reply, never read from its tables.

#![warn(missing_docs)]

pub mod actor;
pub mod entities;
pub mod migrations;
pub mod playbooks;
pub mod store;
