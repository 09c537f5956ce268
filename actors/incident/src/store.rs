//! IncidentResponse's storage: incidents opened from risk events, their lifecycle and timeline.
//!
//! # Opening
//! An `alarm.raised` event ([`Alarm`]) opens one incident per alarm (`alarm:<source>:<id>`).
//! Each finding of a `risk.scored` / `risk.changed` event ([`rampart_contracts::risk::AssetRiskEvent`])
//! that meets the [`OpenRule`] opens an incident whose cause key is `risk:<asset>:<vulnerability>`
//! (unique): a finding seen again (another component version, a re-score, a redelivered event)
//! opens nothing new. `incident.opened` is written to the outbox in the same transaction.
//!
//! # Lifecycle (NIST SP 800-61 Rev. 2, section 3: detection & analysis, containment,
//! eradication & recovery, post-incident activity)
//! `detected` → `triaged` → `contained` → `eradicated` → `recovered` → `closed`, one step at a
//! time; `triaged` → `closed` too (a false positive, closed after analysis). Nothing leaves
//! `closed`. Any other transition is refused ([`IncidentError::IllegalTransition`]).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::entities::{incident, incident_event};
pub use rampart_contracts::incident::{Alarm, IncidentFigures, IncidentView};
use rampart_contracts::risk::AssetRiskEvent;
use rampart_platform::Db;
use rampart_platform::bus::{BusError, Envelope};
use rampart_platform::consumer::EventOutcome;
use rampart_platform::outbox::{self, OutboxError};
use rampart_platform::processed;

/// Service name of IncidentResponse.
pub const SERVICE: &str = "incident";

/// Lifecycle states, in order.
pub const STATES: &[&str] = &[
    "detected",
    "triaged",
    "contained",
    "eradicated",
    "recovered",
    "closed",
];

/// Whether `from` → `to` is allowed (module docs).
pub fn transition_allowed(from: &str, to: &str) -> bool {
    let pos = |s: &str| STATES.iter().position(|x| *x == s);
    match (pos(from), pos(to)) {
        (Some(f), Some(t)) => t == f + 1 || (from == "triaged" && to == "closed"),
        _ => false,
    }
}

/// When a finding opens an incident. Config `[incidents]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenRule {
    /// A KEV-listed finding on an asset of at least this criticality opens one. Default 4.
    pub kev_min_criticality: u8,
    /// Any finding with at least this score (1..=25) opens one. Default 20 (very high).
    pub min_score: u8,
    /// Any finding whose CISA SSVC decision is at least this (`Track*`, `Attend`, `Act`)
    /// opens one; `None` (the default) leaves SSVC out of the rule. Findings decided
    /// `not_affected` or `false_positive` never reach the rule (RiskAnalysis leaves them out
    /// of its events).
    pub ssvc_at_least: Option<String>,
    /// Folder of the playbooks ([`crate::playbooks`]). Default `config/playbooks`.
    pub playbooks_dir: String,
    /// How often open incidents are checked against their playbook's time limits and the SLA,
    /// ms. Default 30000.
    pub escalation_check_ms: u64,
    /// Resolution SLA per level, seconds: an incident still open past its level's SLA is
    /// escalated (once). Defaults: very_high 1 day, high 3 days, moderate 7 days, low 30 days,
    /// very_low 90 days.
    pub sla_s: std::collections::BTreeMap<String, u64>,
}

impl Default for OpenRule {
    fn default() -> Self {
        Self {
            kev_min_criticality: 4,
            min_score: 20,
            ssvc_at_least: None,
            playbooks_dir: "config/playbooks".to_owned(),
            escalation_check_ms: 30_000,
            sla_s: [
                ("very_high", 86_400),
                ("high", 259_200),
                ("moderate", 604_800),
                ("low", 2_592_000),
                ("very_low", 7_776_000),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        }
    }
}

/// The order of SSVC decisions (CISA SSVC guide): Track 1, Track* 2, Attend 3, Act 4;
/// anything else 5 (never reached by a decision, so an unknown threshold opens nothing).
fn ssvc_rank(d: &str) -> u8 {
    match d {
        "Track" => 1,
        "Track*" => 2,
        "Attend" => 3,
        "Act" => 4,
        _ => 5,
    }
}

/// Why an incident operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// No such incident.
    #[error("no incident {0}")]
    NotFound(i64),
    /// The lifecycle forbids it.
    #[error(
        "illegal transition {from} -> {to} (allowed: the next state of detected, triaged, contained, eradicated, recovered, closed; or triaged -> closed)"
    )]
    IllegalTransition {
        /// Current state.
        from: String,
        /// Requested state.
        to: String,
    },
    /// Bad input (empty comment, unknown state, …).
    #[error("{0}")]
    Invalid(String),
    /// Database error.
    #[error("incident storage: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Outbox error.
    #[error("incident events: {0}")]
    Outbox(#[from] OutboxError),
    /// Event building error.
    #[error("incident events: {0}")]
    Event(#[from] BusError),
}

impl From<incident::Model> for IncidentView {
    fn from(m: incident::Model) -> Self {
        Self {
            id: m.id,
            cause_key: m.cause_key,
            title: m.title,
            asset_key: m.asset_key,
            level: m.level,
            score: m.score,
            state: m.state,
            assignee: m.assignee,
            opened_at: m.opened_at.to_rfc3339(),
            updated_at: m.updated_at.to_rfc3339(),
            closed_at: m.closed_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// One timeline entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    /// RFC 3339 UTC.
    pub at: String,
    /// `opened`, `transition`, `assigned`, `comment`.
    pub kind: String,
    /// Who.
    pub actor: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: Option<String>,
    /// Text.
    pub text: Option<String>,
}

async fn note(
    tx: &DatabaseTransaction,
    id: i64,
    kind: &str,
    actor: &str,
    from_to: (Option<&str>, Option<&str>),
    text: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    incident_event::Entity::insert(incident_event::ActiveModel {
        incident_id: Set(id),
        at: Set(Utc::now()),
        kind: Set(kind.to_owned()),
        actor: Set(actor.chars().take(256).collect()),
        from_state: Set(from_to.0.map(str::to_owned)),
        to_state: Set(from_to.1.map(str::to_owned)),
        text: Set(text.map(str::to_owned)),
        ..Default::default()
    })
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

/// Applies a batch of risk events in one transaction (module docs); one outcome per event.
///
/// # Errors
/// [`IncidentError`]: nothing of the batch is stored.
pub async fn apply_risk_events(
    db: &Db,
    node: &str,
    rule: &OpenRule,
    events: &[Envelope],
) -> Result<Vec<EventOutcome>, IncidentError> {
    let tx = db.begin_write().await?;
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        if e.event_type == "alarm.raised" {
            let alarm: Alarm = match e.body_as() {
                Ok(a) => a,
                Err(err) => {
                    out.push(EventOutcome::Rejected(err.to_string()));
                    continue;
                }
            };
            if !processed::first_time(&tx, SERVICE, e.event_id).await? {
                out.push(EventOutcome::Duplicate);
                continue;
            }
            open_for_alarm(&tx, node, e, &alarm).await?;
            out.push(EventOutcome::Applied);
            continue;
        }
        if !matches!(e.event_type.as_str(), "risk.scored" | "risk.changed") {
            out.push(EventOutcome::Ignored);
            continue;
        }
        let body: AssetRiskEvent = match e.body_as() {
            Ok(b) => b,
            Err(err) => {
                out.push(EventOutcome::Rejected(err.to_string()));
                continue;
            }
        };
        if !processed::first_time(&tx, SERVICE, e.event_id).await? {
            out.push(EventOutcome::Duplicate);
            continue;
        }
        for f in &body.findings {
            let opens = (f.kev && body.criticality >= rule.kev_min_criticality)
                || f.score >= rule.min_score
                || rule
                    .ssvc_at_least
                    .as_deref()
                    .zip(f.ssvc.as_deref())
                    .is_some_and(|(min, d)| ssvc_rank(d) >= ssvc_rank(min));
            if !opens {
                continue;
            }
            let title = format!(
                "{} on {} ({} {})",
                f.cves.first().unwrap_or(&f.vulnerability),
                body.asset_key,
                f.component,
                f.component_version.as_deref().unwrap_or("")
            );
            let opened_note = format!(
                "opened from {} (score {}, {}{})",
                e.event_type,
                f.score,
                f.level,
                if f.kev { ", KEV-listed" } else { "" }
            );
            open(
                &tx,
                node,
                e,
                NewIncident {
                    cause: format!("risk:{}:{}", body.asset_key, f.vulnerability),
                    title: title.trim().to_owned(),
                    asset_key: body.asset_key.clone(),
                    level: f.level.clone(),
                    score: i16::from(f.score),
                },
                &opened_note,
            )
            .await?;
        }
        out.push(EventOutcome::Applied);
    }
    tx.commit().await?;
    Ok(out)
}

/// Incident levels (risk levels of the findings and alarms that open them), highest first.
pub const LEVELS: &[&str] = &["very_high", "high", "moderate", "low", "very_low"];

/// Score recorded for an alarm of `level` (the top of that level's band: 4, 9, 14, 19, 25).
pub fn alarm_score(level: &str) -> Option<i16> {
    match level {
        "very_low" => Some(4),
        "low" => Some(9),
        "moderate" => Some(14),
        "high" => Some(19),
        "very_high" => Some(25),
        _ => None,
    }
}

async fn open_for_alarm(
    tx: &DatabaseTransaction,
    node: &str,
    cause_event: &Envelope,
    alarm: &Alarm,
) -> Result<(), IncidentError> {
    open(
        tx,
        node,
        cause_event,
        NewIncident {
            cause: format!("alarm:{}:{}", alarm.source, alarm.id)
                .chars()
                .take(768)
                .collect(),
            title: alarm.title.chars().take(1000).collect(),
            asset_key: alarm.asset_key.clone().unwrap_or_default(),
            level: alarm.level.clone(),
            score: alarm_score(&alarm.level).unwrap_or(14),
        },
        &format!("opened from alarm {} of {}", alarm.id, alarm.source),
    )
    .await
}

/// What an incident is opened with.
struct NewIncident {
    cause: String,
    title: String,
    asset_key: String,
    level: String,
    score: i16,
}

/// Opens an incident for `new.cause` unless one exists (the cause key is unique): the row in
/// state `detected`, an `opened` timeline entry saying `opened_note`, and `incident.opened`
/// caused by `cause_event`, all in `tx`.
async fn open(
    tx: &DatabaseTransaction,
    node: &str,
    cause_event: &Envelope,
    new: NewIncident,
    opened_note: &str,
) -> Result<(), IncidentError> {
    let now = Utc::now();
    let inserted = incident::Entity::insert(incident::ActiveModel {
        cause_key: Set(new.cause.clone()),
        title: Set(new.title),
        asset_key: Set(new.asset_key),
        level: Set(new.level),
        score: Set(new.score),
        state: Set("detected".to_owned()),
        assignee: Set(None),
        opened_at: Set(now),
        updated_at: Set(now),
        closed_at: Set(None),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(incident::Column::CauseKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    if inserted == 0 {
        return Ok(());
    }
    let Some(row) = incident::Entity::find()
        .filter(incident::Column::CauseKey.eq(new.cause.as_str()))
        .one(tx)
        .await?
    else {
        return Ok(());
    };
    note(
        tx,
        row.id,
        "opened",
        "system",
        (None, Some("detected")),
        Some(opened_note),
    )
    .await?;
    let ev =
        Envelope::new("incident.opened", node, &IncidentView::from(row))?.caused_by(cause_event);
    outbox::append(tx, SERVICE, &ev).await?;
    Ok(())
}

/// Moves incident `id` to `to` (module docs), with an optional note; publishes
/// `incident.transitioned` (and `incident.resolved` on `closed`).
///
/// # Errors
/// [`IncidentError::NotFound`], [`IncidentError::IllegalTransition`], storage errors.
pub async fn transition(
    db: &Db,
    node: &str,
    id: i64,
    to: &str,
    actor: &str,
    text: Option<&str>,
) -> Result<IncidentView, IncidentError> {
    if !STATES.contains(&to) {
        return Err(IncidentError::Invalid(format!(
            "unknown state {to:?} (states: {})",
            STATES.join(", ")
        )));
    }
    let tx = db.begin_write().await?;
    let row = incident::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or(IncidentError::NotFound(id))?;
    if !transition_allowed(&row.state, to) {
        return Err(IncidentError::IllegalTransition {
            from: row.state,
            to: to.to_owned(),
        });
    }
    let from = row.state.clone();
    let now = Utc::now();
    let mut m: incident::ActiveModel = row.into();
    m.state = Set(to.to_owned());
    m.updated_at = Set(now);
    if to == "closed" {
        m.closed_at = Set(Some(now));
    }
    let updated = m.update(&tx).await?;
    note(&tx, id, "transition", actor, (Some(&from), Some(to)), text).await?;
    let view = IncidentView::from(updated);
    outbox::append(
        &tx,
        SERVICE,
        &Envelope::new("incident.transitioned", node, &view)?,
    )
    .await?;
    if to == "closed" {
        outbox::append(
            &tx,
            SERVICE,
            &Envelope::new("incident.resolved", node, &view)?,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(view)
}

/// Assigns incident `id` to `assignee`.
///
/// # Errors
/// [`IncidentError::NotFound`], [`IncidentError::Invalid`] for an empty assignee, storage errors.
pub async fn assign(
    db: &Db,
    id: i64,
    assignee: &str,
    actor: &str,
) -> Result<IncidentView, IncidentError> {
    let assignee = assignee.trim();
    if assignee.is_empty() || assignee.len() > 256 {
        return Err(IncidentError::Invalid(
            "assignee must be 1..=256 bytes".to_owned(),
        ));
    }
    let tx = db.begin_write().await?;
    let row = incident::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or(IncidentError::NotFound(id))?;
    let mut m: incident::ActiveModel = row.into();
    m.assignee = Set(Some(assignee.to_owned()));
    m.updated_at = Set(Utc::now());
    let updated = m.update(&tx).await?;
    note(&tx, id, "assigned", actor, (None, None), Some(assignee)).await?;
    tx.commit().await?;
    Ok(IncidentView::from(updated))
}

/// Adds a comment to incident `id`.
///
/// # Errors
/// [`IncidentError::NotFound`], [`IncidentError::Invalid`] for an empty or oversized (> 64 KiB)
/// comment, storage errors.
pub async fn comment(db: &Db, id: i64, text: &str, actor: &str) -> Result<(), IncidentError> {
    if text.trim().is_empty() || text.len() > 64 * 1024 {
        return Err(IncidentError::Invalid(
            "a comment is 1..=65536 bytes".to_owned(),
        ));
    }
    let tx = db.begin_write().await?;
    incident::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or(IncidentError::NotFound(id))?;
    note(&tx, id, "comment", actor, (None, None), Some(text)).await?;
    tx.commit().await?;
    Ok(())
}

/// Incidents, newest first, optionally of one state and/or asset; one page and the total
/// ([`list_filtered`] with no level).
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &Db,
    state: Option<&str>,
    asset_key: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<IncidentView>, u64), sea_orm::DbErr> {
    list_filtered(
        db,
        &IncidentFilter {
            state,
            asset_key,
            level: None,
        },
        page,
        per_page,
    )
    .await
}

/// Which incidents [`list_filtered`] returns; every filter set must hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncidentFilter<'a> {
    /// Only this lifecycle state ([`STATES`]).
    pub state: Option<&'a str>,
    /// Only this asset key.
    pub asset_key: Option<&'a str>,
    /// Only this level ([`LEVELS`]).
    pub level: Option<&'a str>,
}

/// Incidents matching `f`, newest first; one page (`per_page` clamped to 1..=1000) and the
/// total.
///
/// # Errors
/// Database errors.
pub async fn list_filtered(
    db: &Db,
    f: &IncidentFilter<'_>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<IncidentView>, u64), sea_orm::DbErr> {
    let mut q = incident::Entity::find();
    if let Some(s) = f.state {
        q = q.filter(incident::Column::State.eq(s));
    }
    if let Some(a) = f.asset_key {
        q = q.filter(incident::Column::AssetKey.eq(a));
    }
    if let Some(l) = f.level {
        q = q.filter(incident::Column::Level.eq(l));
    }
    let total = q.clone().count(db.conn()).await?;
    let per_page = per_page.clamp(1, 1000);
    let rows = q
        .order_by_desc(incident::Column::Id)
        .offset(rampart_platform::page_offset(page, per_page))
        .limit(per_page)
        .all(db.conn())
        .await?;
    Ok((rows.into_iter().map(IncidentView::from).collect(), total))
}

/// Incident `id` with its timeline, if any.
///
/// # Errors
/// Database errors.
pub async fn get(
    db: &Db,
    id: i64,
) -> Result<Option<(IncidentView, Vec<TimelineEntry>)>, sea_orm::DbErr> {
    let Some(row) = incident::Entity::find_by_id(id).one(db.conn()).await? else {
        return Ok(None);
    };
    let timeline = incident_event::Entity::find()
        .filter(incident_event::Column::IncidentId.eq(id))
        .order_by_asc(incident_event::Column::Id)
        .limit(10_000)
        .all(db.conn())
        .await?
        .into_iter()
        .map(|t| TimelineEntry {
            at: t.at.to_rfc3339(),
            kind: t.kind,
            actor: t.actor,
            from_state: t.from_state,
            to_state: t.to_state,
            text: t.text,
        })
        .collect();
    Ok(Some((IncidentView::from(row), timeline)))
}

/// The incident figures of `[from, to)` for a framework report, with the mean time to detect
/// left `None`, and the (opened-at, vulnerability id) of each incident opened in the period, from
/// which the node computes it with RiskAnalysis's publication dates.
///
/// # Errors
/// Database errors.
pub async fn period_figures(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(IncidentFigures, Vec<(DateTime<Utc>, String)>), sea_orm::DbErr> {
    let mut figures = IncidentFigures {
        open_now: incident::Entity::find()
            .filter(incident::Column::State.ne("closed"))
            .count(db.conn())
            .await?,
        ..Default::default()
    };
    let opened = incident::Entity::find()
        .filter(incident::Column::OpenedAt.gte(from))
        .filter(incident::Column::OpenedAt.lt(to))
        .limit(1_000_000)
        .all(db.conn())
        .await?;
    figures.opened_in_period = opened.len() as u64;
    let closed = incident::Entity::find()
        .filter(incident::Column::ClosedAt.gte(from))
        .filter(incident::Column::ClosedAt.lt(to))
        .limit(1_000_000)
        .all(db.conn())
        .await?;
    figures.closed_in_period = closed.len() as u64;
    let resolve: Vec<f64> = closed
        .iter()
        .filter_map(|i| Some((i.closed_at? - i.opened_at).num_seconds() as f64 / 3600.0))
        .collect();
    figures.mttr_hours =
        (!resolve.is_empty()).then(|| resolve.iter().sum::<f64>() / resolve.len() as f64);
    let causes = opened
        .iter()
        .filter_map(|i| Some((i.opened_at, i.cause_key.rsplit(':').next()?.to_owned())))
        .collect();
    Ok((figures, causes))
}
