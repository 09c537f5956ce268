//! # rampart-contracts
//!
//! What crosses a service boundary, and nothing else: the bodies of the domain events each
//! service publishes, and the request/reply messages between services. A service crate depends
//! on this crate, on `rampart-platform` and on `rampart-supervisors`, never on another service
//! crate, so the only way one service learns of another's data is an event body or a reply
//! defined here (DESIGN.md, "Inter-service data flows only by events and request/reply").
//!
//! Every event travels in the platform's envelope (`rampart_platform::bus::Envelope`): event id
//! (UUID v7), type (the routing key below), schema version, source node, occurred-at (RFC 3339),
//! correlation id, W3C `traceparent`, JSON body. Every body below is at schema version
//! [`SCHEMA_VERSION`]; a change that removes or retypes a field gets a new version, and
//! consumers accept the versions they know.
//!
//! | routing key | publisher | body | consumers |
//! |---|---|---|---|
//! | `asset.discovered`, `asset.changed` | AssetManagement | [`asset::AssetEvent`] | RiskAnalysis, AuditReporting |
//! | `asset.retired` | AssetManagement | [`asset::AssetRetired`] | RiskAnalysis, AuditReporting |
//! | `risk.scored`, `risk.changed` | RiskAnalysis | [`risk::AssetRiskEvent`] | ControlMapping, IncidentResponse, AuditReporting |
//! | `controls.mapped` | ControlMapping | [`control::ControlsMapped`] | AuditReporting |
//! | `control.status_changed` | ControlMapping | [`control::StatusView`] | AuditReporting (reports) |
//! | `incident.opened`, `.transitioned`, `.resolved` | IncidentResponse | [`incident::IncidentView`] | AuditReporting |
//! | `incident.escalated` | IncidentResponse | [`incident::Escalation`] | AuditReporting |
//! | `alarm.raised` | the API edge, any system | [`incident::Alarm`] | IncidentResponse, AuditReporting |
//! | `api.called` | the API edge (every node) | [`edge::ApiCall`] | AuditReporting |
//!
//! | request/reply | asked of | message | answer |
//! |---|---|---|---|
//! | current risk of an asset | RiskAnalysis | [`risk::CurrentRisk`] (in-process), [`risk::RiskRequest`] (RabbitMQ) | [`risk::AssetRisk`] / [`risk::RiskReply`] |
//!
//! The read-side views that the node composes into AuditReporting's framework reports (a
//! framework's [`control::Coverage`], the top [`risk::FindingView`]s, the
//! [`incident::IncidentFigures`] of a period) are defined here too: they are what one service
//! hands another.

#![warn(missing_docs)]

pub mod asset;
pub mod control;
pub mod edge;
pub mod incident;
pub mod risk;

/// Schema version of every event body defined in this crate (the envelope's `schema_version`).
pub const SCHEMA_VERSION: u16 = 1;
