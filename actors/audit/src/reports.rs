//! AuditReporting's reports per framework: coverage, open risks by level, top risks, incidents
//! with mean time to detect and to resolve, control status changes over a period. Built from the
//! services' read side (risk register, incidents, control statuses) and, for the status changes,
//! from the audit log; rendered as JSON or CSV here, as HTML by the node's console
//! (`rampart::console::report::render`, styled by the console's stylesheet).
//!
//! Definitions (period = `[from, to)`, RFC 3339):
//! - **open risks**: the current findings, counted by level (`very_high` … `very_low`);
//! - **mean time to resolve (MTTR)**: mean of `closed_at − opened_at` over incidents closed in
//!   the period, in hours;
//! - **mean time to detect (MTTD)**: mean of `opened_at − published` over incidents opened in the
//!   period whose vulnerability record has a publication date: how long a vulnerability was
//!   public before Rampart opened an incident for it on an asset, in hours;
//! - **control status changes**: `control.status_changed` events of the framework in the audit
//!   log whose `occurred_at` is in the period.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;

use rampart_contracts::control::Coverage;
use rampart_contracts::incident::IncidentFigures;
use rampart_contracts::risk::{AcceptedRisk, FindingView, RiskFigures};
use rampart_platform::Db;

use crate::entities::audit_entry;

/// One control status change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusChange {
    /// When (RFC 3339).
    pub at: String,
    /// Control id.
    pub control: String,
    /// New status.
    pub status: String,
    /// Who.
    pub by: String,
}

/// A report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// Framework id.
    pub framework: String,
    /// RFC 3339.
    pub generated_at: String,
    /// Period start (RFC 3339).
    pub from: String,
    /// Period end, exclusive (RFC 3339).
    pub to: String,
    /// Coverage of the framework.
    pub coverage: Coverage,
    /// Current findings.
    pub risks_total: u64,
    /// KEV-listed current findings.
    pub risks_kev: u64,
    /// Current findings by level.
    pub risks_by_level: BTreeMap<String, u64>,
    /// The 10 highest findings.
    pub top_risks: Vec<FindingView>,
    /// Risks accepted and not expired (rationale, who, until when).
    pub accepted_risks: Vec<AcceptedRisk>,
    /// Incident figures.
    pub incidents: IncidentFigures,
    /// Control status changes in the period.
    pub status_changes: Vec<StatusChange>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Mean time to detect, hours: the mean of `opened_at − published` over `opened` (each incident
/// opened in the period with the vulnerability record id its cause names) whose record has a
/// publication date in `published`; `None` without data (module docs).
pub fn mean_time_to_detect(
    opened: &[(DateTime<Utc>, String)],
    published: &HashMap<String, DateTime<Utc>>,
) -> Option<f64> {
    let detect: Vec<f64> = opened
        .iter()
        .filter_map(|(at, vuln)| {
            published
                .get(vuln)
                .map(|p| (*at - *p).num_seconds() as f64 / 3600.0)
        })
        .collect();
    mean(&detect)
}

/// The `control.status_changed` entries of `framework` in the audit log whose `occurred_at` is
/// in `[from, to)`, in log order (AuditReporting's own table).
///
/// # Errors
/// Database errors.
pub async fn status_changes(
    db: &Db,
    framework: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StatusChange>, sea_orm::DbErr> {
    let mut status_changes = Vec::new();
    for e in audit_entry::Entity::find()
        .filter(audit_entry::Column::EventType.eq("control.status_changed"))
        .limit(100_000)
        .all(db.conn())
        .await?
    {
        let Ok(env) = serde_json::from_str::<serde_json::Value>(&e.entry) else {
            continue;
        };
        let body = &env["body"];
        let at = env["occurred_at"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc));
        if body["framework"] != framework || at.is_none_or(|t| t < from || t >= to) {
            continue;
        }
        status_changes.push(StatusChange {
            at: at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            control: body["control_id"].as_str().unwrap_or_default().to_owned(),
            status: body["status"].as_str().unwrap_or_default().to_owned(),
            by: body["updated_by"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(status_changes)
}

/// What the other services hand AuditReporting for one report: each read from the service that
/// owns the data (the node composes them; no service reads another's tables).
#[derive(Debug, Clone)]
pub struct ReportInputs {
    /// The framework's coverage (ControlMapping).
    pub coverage: Coverage,
    /// The register's figures (RiskAnalysis).
    pub risks: RiskFigures,
    /// The period's incident figures (IncidentResponse, MTTD from RiskAnalysis's publication
    /// dates through [`mean_time_to_detect`]).
    pub incidents: IncidentFigures,
    /// The period's control status changes ([`status_changes`]).
    pub status_changes: Vec<StatusChange>,
}

impl Report {
    /// The report of `framework` over `[from, to)` from its inputs.
    pub fn assemble(
        framework: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        inputs: ReportInputs,
    ) -> Self {
        Report {
            framework: framework.to_owned(),
            generated_at: Utc::now().to_rfc3339(),
            from: from.to_rfc3339(),
            to: to.to_rfc3339(),
            coverage: inputs.coverage,
            risks_total: inputs.risks.total,
            risks_kev: inputs.risks.kev,
            risks_by_level: inputs.risks.by_level,
            top_risks: inputs.risks.top,
            accepted_risks: inputs.risks.accepted,
            incidents: inputs.incidents,
            status_changes: inputs.status_changes,
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The report as CSV (RFC 4180): one table `section,item,value`.
pub fn to_csv(r: &Report) -> String {
    let mut rows: Vec<[String; 3]> = vec![
        ["report".into(), "framework".into(), r.framework.clone()],
        ["report".into(), "from".into(), r.from.clone()],
        ["report".into(), "to".into(), r.to.clone()],
        [
            "coverage".into(),
            r.framework.clone(),
            format!("{:.4}", r.coverage.coverage),
        ],
    ];
    for g in &r.coverage.groups {
        rows.push([
            "coverage".into(),
            g.id.clone(),
            format!("{:.4}", g.coverage),
        ]);
    }
    rows.push(["risks".into(), "total".into(), r.risks_total.to_string()]);
    rows.push(["risks".into(), "kev".into(), r.risks_kev.to_string()]);
    for (l, n) in &r.risks_by_level {
        rows.push(["risks_by_level".into(), l.clone(), n.to_string()]);
    }
    for f in &r.top_risks {
        rows.push([
            "top_risk".into(),
            format!("{} {}", f.asset_key, f.vulnerability),
            f.score.to_string(),
        ]);
    }
    for a in &r.accepted_risks {
        rows.push([
            "accepted_risk".into(),
            format!("{} {}", a.asset_key, a.vulnerability),
            a.expires_at.clone(),
        ]);
    }
    let i = &r.incidents;
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_default();
    rows.push([
        "incidents".into(),
        "open_now".into(),
        i.open_now.to_string(),
    ]);
    rows.push([
        "incidents".into(),
        "opened_in_period".into(),
        i.opened_in_period.to_string(),
    ]);
    rows.push([
        "incidents".into(),
        "closed_in_period".into(),
        i.closed_in_period.to_string(),
    ]);
    rows.push(["incidents".into(), "mttd_hours".into(), opt(i.mttd_hours)]);
    rows.push(["incidents".into(), "mttr_hours".into(), opt(i.mttr_hours)]);
    for c in &r.status_changes {
        rows.push([
            "status_change".into(),
            format!("{} {}", c.at, c.control),
            c.status.clone(),
        ]);
    }
    let mut out = String::from("section,item,value\r\n");
    for [a, b, c] in rows {
        let _ = write!(
            out,
            "{},{},{}\r\n",
            csv_field(&a),
            csv_field(&b),
            csv_field(&c)
        );
    }
    out
}
