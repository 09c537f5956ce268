//! Incident playbooks (YAML files in `config/playbooks/`) and their escalation.
//!
//! A playbook applies to an incident when its `applies_to` conditions hold (`kev`: the finding
//! that opened it is KEV-listed; `min_score`: its score is at least that); the first playbook,
//! in file-name order, that applies is used. Its steps are done in order; a step is done when the
//! incident reaches the step's `until_state` (or a later one). A step starts when the previous one
//! is done (the first when the incident opens); when it has run longer than its `time_limit_s`,
//! the incident is **escalated** once for that step: a timeline entry `escalated` naming the
//! step and its role, and an `incident.escalated` event. Independently, an incident still open
//! past its level's SLA (`incidents.sla_s`, seconds) is escalated once to the incident manager.
//!
//! ```yaml
//! name: known-exploited-vulnerability
//! applies_to: { kev: true }
//! steps:
//!   - { name: triage, role: security-analyst, until_state: triaged, time_limit_s: 3600 }
//! ```

use std::path::Path;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

use crate::entities::{incident, incident_event};
use rampart_contracts::incident::Escalation;
use rampart_platform::Db;

use crate::store::{IncidentView, STATES};
use rampart_platform::bus::Envelope;
use rampart_platform::outbox;

/// When a playbook applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// Only incidents from a KEV-listed finding.
    #[serde(default)]
    pub kev: bool,
    /// Only incidents of at least this score.
    #[serde(default)]
    pub min_score: Option<i16>,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What to do.
    pub name: String,
    /// The role that owns it.
    pub role: String,
    /// The lifecycle state that completes it.
    pub until_state: String,
    /// Time limit, seconds.
    pub time_limit_s: u64,
}

/// A playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Name.
    pub name: String,
    /// Conditions.
    #[serde(default)]
    pub applies_to: AppliesTo,
    /// Steps, in order.
    pub steps: Vec<Step>,
}

/// Why playbooks could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    /// Reading the folder or a file.
    #[error("reading {path}: {message}")]
    Io {
        /// Path.
        path: String,
        /// Error.
        message: String,
    },
    /// A file is not a valid playbook.
    #[error("playbook {path}: {message}")]
    Invalid {
        /// Path.
        path: String,
        /// What is wrong (with the YAML line when the parser gives it).
        message: String,
    },
}

/// Parses one playbook and checks its states and limits.
///
/// # Errors
/// [`PlaybookError::Invalid`].
pub fn parse(path: &str, text: &str) -> Result<Playbook, PlaybookError> {
    let invalid = |message: String| PlaybookError::Invalid {
        path: path.to_owned(),
        message,
    };
    let p: Playbook = serde_saphyr::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if p.steps.is_empty() || p.steps.len() > 32 {
        return Err(invalid("a playbook has 1..=32 steps".to_owned()));
    }
    for s in &p.steps {
        if !STATES.contains(&s.until_state.as_str()) || s.until_state == "detected" {
            return Err(invalid(format!(
                "step {:?}: until_state must be one of {}",
                s.name,
                STATES[1..].join(", ")
            )));
        }
        if s.time_limit_s == 0 {
            return Err(invalid(format!(
                "step {:?}: time_limit_s must be > 0",
                s.name
            )));
        }
    }
    Ok(p)
}

/// Loads every `*.yaml` / `*.yml` of `dir`, in file-name order; a missing folder is no playbook.
///
/// # Errors
/// [`PlaybookError`] naming the file.
pub fn load_dir(dir: &Path) -> Result<Vec<Playbook>, PlaybookError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let io = |e: std::io::Error| PlaybookError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).map_err(|e| PlaybookError::Io {
                path: f.display().to_string(),
                message: e.to_string(),
            })?;
            parse(&f.display().to_string(), &text)
        })
        .collect()
}

fn applies(p: &Playbook, kev: bool, score: i16) -> bool {
    (!p.applies_to.kev || kev) && p.applies_to.min_score.is_none_or(|m| score >= m)
}

fn rank(state: &str) -> usize {
    STATES.iter().position(|s| *s == state).unwrap_or(0)
}

/// Escalates every open incident whose current step is past its time limit (module docs), as of
/// `now`; returns how many escalations were recorded.
///
/// # Errors
/// Database and outbox errors.
pub async fn escalate_due(
    db: &Db,
    node: &str,
    playbooks: &[Playbook],
    sla_s: &std::collections::BTreeMap<String, u64>,
    now: DateTime<Utc>,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let open = incident::Entity::find()
        .filter(incident::Column::State.ne("closed"))
        .order_by_asc(incident::Column::Id)
        .limit(10_000)
        .all(db.conn())
        .await?;
    let mut done = 0;
    for inc in open {
        let timeline = incident_event::Entity::find()
            .filter(incident_event::Column::IncidentId.eq(inc.id))
            .order_by_asc(incident_event::Column::Id)
            .all(db.conn())
            .await?;
        // The severity's SLA: open longer than the SLA of its level.
        if let Some(&sla) = sla_s.get(&inc.level) {
            let limit = chrono::Duration::seconds(i64::try_from(sla).unwrap_or(i64::MAX));
            let marker = format!("SLA of {} ({sla} s) passed", inc.level);
            if now - inc.opened_at > limit
                && !timeline.iter().any(|t| {
                    t.kind == "escalated"
                        && t.text.as_deref().is_some_and(|x| x.starts_with(&marker))
                })
            {
                let text = format!("{marker}; escalated to the incident manager");
                escalate(db, node, &inc, None, &text, now).await?;
                done += 1;
            }
        }
        let kev = timeline
            .first()
            .and_then(|t| t.text.as_deref())
            .is_some_and(|t| t.contains("KEV-listed"));
        let Some(p) = playbooks.iter().find(|p| applies(p, kev, inc.score)) else {
            continue;
        };
        // The current step: the first whose state is not reached; it started when the incident
        // reached the previous step's state (or opened).
        let reached = rank(&inc.state);
        let Some((i, step)) = p
            .steps
            .iter()
            .enumerate()
            .find(|(_, s)| rank(&s.until_state) > reached)
        else {
            continue;
        };
        let started = if i == 0 {
            inc.opened_at
        } else {
            let prev = &p.steps[i - 1].until_state;
            timeline
                .iter()
                .rev()
                .find(|t| {
                    t.kind == "transition"
                        && t.to_state.as_deref().is_some_and(|s| rank(s) >= rank(prev))
                })
                .map_or(inc.opened_at, |t| t.at)
        };
        let limit = chrono::Duration::seconds(i64::try_from(step.time_limit_s).unwrap_or(i64::MAX));
        if now - started <= limit {
            continue;
        }
        let marker = format!("step {} ({}) past its time limit", i + 1, step.name);
        if timeline.iter().any(|t| {
            t.kind == "escalated" && t.text.as_deref().is_some_and(|x| x.starts_with(&marker))
        }) {
            continue;
        }
        let text = format!(
            "{marker} of {} s; escalated to {} (playbook {})",
            step.time_limit_s, step.role, p.name
        );
        escalate(db, node, &inc, Some((p, step)), &text, now).await?;
        done += 1;
    }
    Ok(done)
}

/// Records one escalation (timeline entry + `incident.escalated`) in one transaction.
async fn escalate(
    db: &Db,
    node: &str,
    inc: &incident::Model,
    step: Option<(&Playbook, &Step)>,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let tx = db.begin_write().await?;
    incident_event::Entity::insert(incident_event::ActiveModel {
        incident_id: sea_orm::Set(inc.id),
        at: sea_orm::Set(now),
        kind: sea_orm::Set("escalated".to_owned()),
        actor: sea_orm::Set("system".to_owned()),
        from_state: sea_orm::Set(None),
        to_state: sea_orm::Set(None),
        text: sea_orm::Set(Some(text.to_owned())),
        ..Default::default()
    })
    .exec_without_returning(&tx)
    .await?;
    let body = Escalation {
        incident: IncidentView::from(inc.clone()),
        playbook: step.map(|(p, _)| p.name.clone()),
        step: step.map(|(_, s)| s.name.clone()),
        role: step.map(|(_, s)| s.role.clone()),
        reason: text.to_owned(),
    };
    outbox::append(
        &tx,
        crate::store::SERVICE,
        &Envelope::new("incident.escalated", node, &body)?,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_playbooks_parse_and_bad_ones_are_refused() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/playbooks");
        let books = load_dir(&dir).unwrap();
        assert_eq!(books.len(), 2);
        assert!(books[0].applies_to.kev);
        assert!(parse("x", "name: x\nsteps: []\n").is_err());
        let e = parse(
            "x",
            "name: x\nsteps:\n  - {name: a, role: r, until_state: done, time_limit_s: 5}\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("until_state"), "{e}");
        assert!(parse("x", "name: [unclosed").is_err());
        assert!(applies(&books[0], true, 5) && !applies(&books[0], false, 25));
    }
}
