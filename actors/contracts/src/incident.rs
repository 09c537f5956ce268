//! IncidentResponse's side of the boundary: the bodies of `incident.*` events, the body of
//! `alarm.raised` (which any system may publish and IncidentResponse consumes), and the incident
//! figures of a period (read by AuditReporting's reports).
//!
//! | event | body |
//! |---|---|
//! | `incident.opened`, `incident.transitioned`, `incident.resolved` | [`IncidentView`] |
//! | `incident.escalated` | [`Escalation`] |
//! | `alarm.raised` | [`Alarm`] |

use serde::{Deserialize, Serialize};

/// An incident as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentView {
    /// Id.
    pub id: i64,
    /// `risk:<asset>:<vulnerability>`.
    pub cause_key: String,
    /// Title.
    pub title: String,
    /// Affected asset key.
    pub asset_key: String,
    /// Risk level when opened.
    pub level: String,
    /// Risk score when opened.
    pub score: i16,
    /// Lifecycle state.
    pub state: String,
    /// Assignee.
    pub assignee: Option<String>,
    /// RFC 3339 UTC.
    pub opened_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
    /// RFC 3339 UTC, when closed.
    pub closed_at: Option<String>,
}

/// Event type of [`Alarm`].
pub const ALARM_RAISED: &str = "alarm.raised";

/// Body of `alarm.raised`: an alarm from a monitoring source (SIEM, IDS, …).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alarm {
    /// The raising system, e.g. `wazuh`.
    pub source: String,
    /// The alarm's id in that system (one incident per `source` + `id`).
    pub id: String,
    /// What happened.
    pub title: String,
    /// Affected asset key, if known.
    #[serde(default)]
    pub asset_key: Option<String>,
    /// `very_low`, `low`, `moderate`, `high` or `very_high`.
    pub level: String,
}

/// Incident figures of a report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentFigures {
    /// Incidents not closed now.
    pub open_now: u64,
    /// Incidents opened in the period.
    pub opened_in_period: u64,
    /// Incidents closed in the period.
    pub closed_in_period: u64,
    /// Mean time to detect, hours (module docs); `None` without data.
    pub mttd_hours: Option<f64>,
    /// Mean time to resolve, hours (module docs); `None` without data.
    pub mttr_hours: Option<f64>,
}

/// Body of `incident.escalated`: the incident, and the playbook step that is overdue (all `None`
/// when the level's resolution SLA, not a step, was exceeded).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Escalation {
    /// The incident as it is now.
    pub incident: IncidentView,
    /// Playbook name.
    pub playbook: Option<String>,
    /// Overdue step name.
    pub step: Option<String>,
    /// Role owning the step.
    pub role: Option<String>,
    /// Why it escalated (also the timeline entry's text).
    pub reason: String,
}
