//! ControlMapping's storage: frameworks with their controls, and crosswalks between frameworks
//! (tables `control_frameworks`, `control_controls`, `control_crosswalk`). Loading a framework
//! again replaces its controls; loading a crosswalk again replaces the entries of its framework
//! pair; each load is one transaction.
//!
//! A control's mappings are read in both directions: entries whose source it is, and entries
//! whose target it is (with the relationship inverted: `subset_of` ↔ `superset_of`), so a
//! CSF 2.0 → SP 800-53 crosswalk also answers "which CSF subcategories does `si-2` serve".

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use serde::Serialize;

#[cfg(test)]
use crate::Relationship;
use crate::{Catalog, Crosswalk};
pub use rampart_contracts::control::{ControlsMapped, Coverage, StatusView};
use rampart_platform::Db;
use rampart_platform::bus::Envelope;
use rampart_platform::outbox;

/// Rows per INSERT.
const BATCH: usize = 200;

fn kind_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn placeholders(backend: DbBackend, rows: usize, cols: usize) -> String {
    let mut n = 0;
    (0..rows)
        .map(|_| {
            let row: Vec<String> = (0..cols)
                .map(|_| {
                    n += 1;
                    match backend {
                        DbBackend::Postgres => format!("${n}"),
                        _ => "?".to_owned(),
                    }
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn p(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// What a load stored.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct LoadOutcome {
    /// Frameworks (re)loaded, by id.
    pub frameworks: Vec<String>,
    /// Controls stored.
    pub controls: usize,
    /// Crosswalks (re)loaded, as `source -> target`.
    pub crosswalks: Vec<String>,
    /// Crosswalk entries stored.
    pub entries: usize,
}

/// Stores `catalogs` and `crosswalks` in one transaction.
///
/// # Errors
/// Database errors: nothing of the load is stored.
pub async fn load(
    db: &Db,
    catalogs: &[Catalog],
    crosswalks: &[Crosswalk],
) -> Result<LoadOutcome, sea_orm::DbErr> {
    let b = db.backend();
    let tx = db.begin_write().await?;
    let mut out = LoadOutcome::default();
    for c in catalogs {
        let fw = &c.framework;
        tx.execute_raw(Statement::from_sql_and_values(
            b,
            format!("DELETE FROM control_controls WHERE framework = {}", p(b, 1)),
            [Value::from(fw.id.clone())],
        ))
        .await?;
        tx.execute_raw(Statement::from_sql_and_values(
            b,
            format!("DELETE FROM control_frameworks WHERE id = {}", p(b, 1)),
            [Value::from(fw.id.clone())],
        ))
        .await?;
        tx.execute_raw(Statement::from_sql_and_values(
            b,
            format!(
                "INSERT INTO control_frameworks (id, name, version, source_format, controls, updated_at) VALUES {}",
                placeholders(b, 1, 6)
            ),
            [
                Value::from(fw.id.clone()),
                Value::from(fw.name.clone()),
                Value::from(fw.version.clone()),
                Value::from(kind_str(&fw.source_format)),
                Value::from(i64::try_from(c.controls.len()).unwrap_or(i64::MAX)),
                Value::from(Utc::now().to_rfc3339()),
            ],
        ))
        .await?;
        for chunk in c.controls.chunks(BATCH) {
            let mut values = Vec::with_capacity(chunk.len() * 9);
            for k in chunk {
                values.extend([
                    Value::from(fw.id.clone()),
                    Value::from(k.id.clone()),
                    Value::from(k.label.clone()),
                    Value::from(k.title.clone()),
                    Value::from(k.parent.clone()),
                    Value::from(kind_str(&k.kind)),
                    Value::from(k.assessable),
                    Value::from(k.withdrawn),
                    Value::from(k.statement.clone()),
                ]);
            }
            tx.execute_raw(Statement::from_sql_and_values(
                b,
                format!(
                    "INSERT INTO control_controls (framework, id, label, title, parent, kind, assessable, withdrawn, statement) VALUES {}",
                    placeholders(b, chunk.len(), 9)
                ),
                values,
            ))
            .await?;
        }
        out.frameworks.push(fw.id.clone());
        out.controls += c.controls.len();
    }
    for x in crosswalks {
        tx.execute_raw(Statement::from_sql_and_values(
            b,
            format!(
                "DELETE FROM control_crosswalk WHERE source_framework = {} AND target_framework = {}",
                p(b, 1),
                p(b, 2)
            ),
            [
                Value::from(x.source_framework.clone()),
                Value::from(x.target_framework.clone()),
            ],
        ))
        .await?;
        // One row per (source, target): a pair listed twice keeps its first relationship.
        let mut seen = std::collections::HashSet::new();
        let entries: Vec<_> = x
            .entries
            .iter()
            .filter(|e| seen.insert((e.source.clone(), e.target.clone())))
            .collect();
        for chunk in entries.chunks(BATCH) {
            let mut values = Vec::with_capacity(chunk.len() * 6);
            for e in chunk {
                values.extend([
                    Value::from(x.source_framework.clone()),
                    Value::from(e.source.clone()),
                    Value::from(x.target_framework.clone()),
                    Value::from(e.target.clone()),
                    Value::from(kind_str(&e.relationship)),
                    Value::from(e.rationale.clone()),
                ]);
            }
            tx.execute_raw(Statement::from_sql_and_values(
                b,
                format!(
                    "INSERT INTO control_crosswalk (source_framework, source_id, target_framework, target_id, relationship, rationale) VALUES {}",
                    placeholders(b, chunk.len(), 6)
                ),
                values,
            ))
            .await?;
        }
        out.crosswalks
            .push(format!("{} -> {}", x.source_framework, x.target_framework));
        out.entries += entries.len();
    }
    tx.commit().await?;
    Ok(out)
}

/// A framework as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FrameworkView {
    /// Id, e.g. `nist-sp-800-53-rev5`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// `oscal_catalog`, `ciso_assistant`, …
    pub source_format: String,
    /// Number of nodes (groups, controls, enhancements, …).
    pub controls: i64,
}

/// The loaded frameworks, by id.
///
/// # Errors
/// Database errors.
pub async fn frameworks(db: &Db) -> Result<Vec<FrameworkView>, sea_orm::DbErr> {
    let rows = db
        .conn()
        .query_all_raw(Statement::from_string(
            db.backend(),
            "SELECT id, name, version, source_format, controls FROM control_frameworks ORDER BY id",
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(FrameworkView {
                id: r.try_get("", "id")?,
                name: r.try_get("", "name")?,
                version: r.try_get("", "version")?,
                source_format: r.try_get("", "source_format")?,
                controls: r.try_get("", "controls")?,
            })
        })
        .collect()
}

/// A control as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ControlView {
    /// Framework id.
    pub framework: String,
    /// Canonical id (`ac-2.1`, `PR.AA-01`, `A.5.1`).
    pub id: String,
    /// Display label.
    pub label: String,
    /// Title.
    pub title: String,
    /// Parent id.
    pub parent: Option<String>,
    /// `group`, `control`, `enhancement`, `subcategory`, `requirement`.
    pub kind: String,
    /// Whether it can be assessed (has a status).
    pub assessable: bool,
    /// Withdrawn by its publisher.
    pub withdrawn: bool,
    /// Statement text.
    pub statement: Option<String>,
}

fn control_of(r: &sea_orm::QueryResult) -> Result<ControlView, sea_orm::DbErr> {
    Ok(ControlView {
        framework: r.try_get("", "framework")?,
        id: r.try_get("", "id")?,
        label: r.try_get("", "label")?,
        title: r.try_get("", "title")?,
        parent: r.try_get("", "parent")?,
        kind: r.try_get("", "kind")?,
        assessable: r.try_get("", "assessable")?,
        withdrawn: r.try_get("", "withdrawn")?,
        statement: r.try_get("", "statement")?,
    })
}

/// Controls of `framework`, by id, one page (`limit` 1..=1000) and the total.
///
/// # Errors
/// Database errors.
pub async fn controls(
    db: &Db,
    framework: &str,
    page: u64,
    per_page: u64,
) -> Result<(Vec<ControlView>, i64), sea_orm::DbErr> {
    let b = db.backend();
    let per_page = per_page.clamp(1, 1000);
    let total = db
        .conn()
        .query_one_raw(Statement::from_sql_and_values(
            b,
            format!(
                "SELECT count(*) AS n FROM control_controls WHERE framework = {}",
                p(b, 1)
            ),
            [Value::from(framework.to_owned())],
        ))
        .await?
        .map_or(Ok(0), |r| r.try_get::<i64>("", "n"))?;
    let rows = db
        .conn()
        .query_all_raw(Statement::from_sql_and_values(
            b,
            format!(
                "SELECT * FROM control_controls WHERE framework = {} ORDER BY id LIMIT {} OFFSET {}",
                p(b, 1),
                per_page,
                rampart_platform::page_offset(page, per_page)
            ),
            [Value::from(framework.to_owned())],
        ))
        .await?;
    Ok((
        rows.iter().map(control_of).collect::<Result<_, _>>()?,
        total,
    ))
}

/// One mapping of a control to a control of another framework.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MappingView {
    /// The other framework.
    pub framework: String,
    /// The other control's id.
    pub control: String,
    /// Its title, when that framework is loaded.
    pub title: Option<String>,
    /// How this control relates to the other (OLIR), read from this control's side.
    pub relationship: String,
}

fn inverse(rel: &str) -> String {
    match rel {
        "subset_of" => "superset_of".to_owned(),
        "superset_of" => "subset_of".to_owned(),
        r => r.to_owned(),
    }
}

/// Control `id` of `framework` with its mappings (both directions, module docs).
///
/// # Errors
/// Database errors.
pub async fn control(
    db: &Db,
    framework: &str,
    id: &str,
) -> Result<Option<(ControlView, Vec<MappingView>)>, sea_orm::DbErr> {
    let b = db.backend();
    let Some(row) = db
        .conn()
        .query_one_raw(Statement::from_sql_and_values(
            b,
            format!(
                "SELECT * FROM control_controls WHERE framework = {} AND id = {}",
                p(b, 1),
                p(b, 2)
            ),
            [
                Value::from(framework.to_owned()),
                Value::from(id.to_owned()),
            ],
        ))
        .await?
    else {
        return Ok(None);
    };
    let c = control_of(&row)?;
    let mut maps = Vec::new();
    for (sql, forward) in [
        (
            "SELECT x.target_framework AS fw, x.target_id AS cid, x.relationship AS rel, c.title AS title \
             FROM control_crosswalk x LEFT JOIN control_controls c ON c.framework = x.target_framework AND c.id = x.target_id \
             WHERE x.source_framework = {1} AND x.source_id = {2} ORDER BY fw, cid",
            true,
        ),
        (
            "SELECT x.source_framework AS fw, x.source_id AS cid, x.relationship AS rel, c.title AS title \
             FROM control_crosswalk x LEFT JOIN control_controls c ON c.framework = x.source_framework AND c.id = x.source_id \
             WHERE x.target_framework = {1} AND x.target_id = {2} ORDER BY fw, cid",
            false,
        ),
    ] {
        let sql = sql.replace("{1}", &p(b, 1)).replace("{2}", &p(b, 2));
        for r in db
            .conn()
            .query_all_raw(Statement::from_sql_and_values(
                b,
                sql,
                [
                    Value::from(framework.to_owned()),
                    Value::from(id.to_owned()),
                ],
            ))
            .await?
        {
            let rel: String = r.try_get("", "rel")?;
            let (ofw, oid): (String, String) = (r.try_get("", "fw")?, r.try_get("", "cid")?);
            // A library holding both directions of a crosswalk lists each pair once.
            if maps
                .iter()
                .any(|m: &MappingView| m.framework == ofw && m.control == oid)
            {
                continue;
            }
            maps.push(MappingView {
                framework: r.try_get("", "fw")?,
                control: r.try_get("", "cid")?,
                title: r.try_get("", "title")?,
                relationship: if forward { rel } else { inverse(&rel) },
            });
        }
    }
    Ok(Some((c, maps)))
}

/// Control statuses (assessment results).
pub const STATUSES: &[&str] = &[
    "not_assessed",
    "planned",
    "implemented",
    "partial",
    "not_applicable",
];

/// Why a status could not be set.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No such control in that framework.
    #[error("no control {id:?} in framework {framework:?}")]
    NotFound {
        /// Framework.
        framework: String,
        /// Control id.
        id: String,
    },
    /// Bad value.
    #[error("{0}")]
    Invalid(String),
    /// Storage.
    #[error("control storage: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Event.
    #[error("control events: {0}")]
    Event(String),
}

/// Sets the status of control `id` of `framework` (an assessable one) with its evidence (at most
/// 50 entries of 2048 bytes), and writes `control.status_changed` to the outbox in the same
/// transaction.
///
/// # Errors
/// [`StatusError`].
pub async fn set_status(
    db: &Db,
    node: &str,
    framework: &str,
    id: &str,
    status: &str,
    evidence: &[String],
    actor: &str,
) -> Result<StatusView, StatusError> {
    if !STATUSES.contains(&status) {
        return Err(StatusError::Invalid(format!(
            "unknown status {status:?} (statuses: {})",
            STATUSES.join(", ")
        )));
    }
    if evidence.len() > 50 || evidence.iter().any(|e| e.is_empty() || e.len() > 2048) {
        return Err(StatusError::Invalid(
            "evidence is at most 50 entries of 1..=2048 bytes".to_owned(),
        ));
    }
    let Some((c, _)) = control(db, framework, id).await? else {
        return Err(StatusError::NotFound {
            framework: framework.to_owned(),
            id: id.to_owned(),
        });
    };
    if !c.assessable {
        return Err(StatusError::Invalid(format!(
            "{id} is a {} of {framework}, not an assessable control",
            c.kind
        )));
    }
    let b = db.backend();
    let view = StatusView {
        framework: framework.to_owned(),
        control_id: id.to_owned(),
        status: status.to_owned(),
        evidence: evidence.to_vec(),
        updated_by: actor.chars().take(256).collect(),
        updated_at: Utc::now().to_rfc3339(),
    };
    let tx = db.begin_write().await?;
    tx.execute_raw(Statement::from_sql_and_values(
        b,
        format!(
            "DELETE FROM control_status WHERE framework = {} AND control_id = {}",
            p(b, 1),
            p(b, 2)
        ),
        [
            Value::from(framework.to_owned()),
            Value::from(id.to_owned()),
        ],
    ))
    .await?;
    tx.execute_raw(Statement::from_sql_and_values(
        b,
        format!(
            "INSERT INTO control_status (framework, control_id, status, evidence, updated_by, updated_at) VALUES {}",
            placeholders(b, 1, 6)
        ),
        [
            Value::from(framework.to_owned()),
            Value::from(id.to_owned()),
            Value::from(status.to_owned()),
            Value::from(serde_json::to_string(evidence).unwrap_or_default()),
            Value::from(view.updated_by.clone()),
            Value::from(view.updated_at.clone()),
        ],
    ))
    .await?;
    let ev = Envelope::new("control.status_changed", node, &view)
        .map_err(|e| StatusError::Event(e.to_string()))?;
    outbox::append(&tx, "control", &ev)
        .await
        .map_err(|e| StatusError::Event(e.to_string()))?;
    tx.commit().await?;
    Ok(view)
}

/// The recorded statuses of `framework`'s controls `ids` (all of them when `ids` is `None`), by
/// control id (ids as stored, normalised).
///
/// # Errors
/// Database errors.
pub async fn statuses(
    db: &Db,
    framework: &str,
    ids: Option<&[String]>,
) -> Result<std::collections::HashMap<String, StatusView>, sea_orm::DbErr> {
    let b = db.backend();
    let rows = db
        .conn()
        .query_all_raw(Statement::from_sql_and_values(
            b,
            format!(
                "SELECT control_id, status, evidence, updated_by, updated_at FROM control_status WHERE framework = {}",
                p(b, 1)
            ),
            [Value::from(framework.to_owned())],
        ))
        .await?;
    let wanted: Option<std::collections::HashSet<&str>> =
        ids.map(|ids| ids.iter().map(String::as_str).collect());
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let id: String = r.try_get("", "control_id").ok()?;
            if wanted.as_ref().is_some_and(|w| !w.contains(id.as_str())) {
                return None;
            }
            let evidence: String = r.try_get("", "evidence").unwrap_or_default();
            Some((
                id.clone(),
                StatusView {
                    framework: framework.to_owned(),
                    control_id: id,
                    status: r.try_get("", "status").ok()?,
                    evidence: serde_json::from_str(&evidence).unwrap_or_default(),
                    updated_by: r.try_get("", "updated_by").unwrap_or_default(),
                    updated_at: r.try_get("", "updated_at").unwrap_or_default(),
                },
            ))
        })
        .collect())
}

/// Computes `c.coverage` and its groups' (`(implemented + 0.5 × partial) / (assessable −
/// not_applicable)`, 0 when nothing is applicable) from their counts.
fn finish(c: &mut Coverage) {
    let n = |s: &str| *c.by_status.get(s).unwrap_or(&0) as f64;
    let denom = c.assessable as f64 - n("not_applicable");
    c.coverage = if denom > 0.0 {
        (n("implemented") + 0.5 * n("partial")) / denom
    } else {
        0.0
    };
    for g in &mut c.groups {
        finish(g);
    }
}

/// Coverage of `framework` as a whole, per top-level group (CSF function, 800-53 family, ISO
/// clause/annex) and per second-level group (CSF category); `None` if the framework is not
/// loaded.
///
/// # Errors
/// Database errors.
pub async fn coverage(db: &Db, framework: &str) -> Result<Option<Coverage>, sea_orm::DbErr> {
    let (all, total) = {
        let mut v = Vec::new();
        let mut page = 1;
        loop {
            let (items, total) = controls(db, framework, page, 1000).await?;
            let done = items.is_empty() || (v.len() + items.len()) as i64 >= total;
            v.extend(items);
            if done {
                break (v, total);
            }
            page += 1;
        }
    };
    if total == 0 {
        return Ok(None);
    }
    let b = db.backend();
    let statuses: std::collections::HashMap<String, String> = db
        .conn()
        .query_all_raw(Statement::from_sql_and_values(
            b,
            format!(
                "SELECT control_id, status FROM control_status WHERE framework = {}",
                p(b, 1)
            ),
            [Value::from(framework.to_owned())],
        ))
        .await?
        .into_iter()
        .filter_map(|r| {
            Some((
                r.try_get("", "control_id").ok()?,
                r.try_get("", "status").ok()?,
            ))
        })
        .collect();
    let by_id: std::collections::HashMap<&str, &ControlView> =
        all.iter().map(|c| (c.id.as_str(), c)).collect();
    // Ancestors from the root: [top, second, ...].
    let chain = |c: &ControlView| {
        let mut up = Vec::new();
        let mut cur = c.parent.as_deref();
        while let Some(pid) = cur {
            if up.len() > 64 {
                break;
            }
            up.push(pid.to_owned());
            cur = by_id.get(pid).and_then(|p| p.parent.as_deref());
        }
        up.reverse();
        up
    };
    let mut root = Coverage {
        id: framework.to_owned(),
        title: framework.to_owned(),
        ..Default::default()
    };
    let title = |id: &str| {
        by_id
            .get(id)
            .map_or_else(|| id.to_owned(), |c| c.title.clone())
    };
    for c in all.iter().filter(|c| c.assessable && !c.withdrawn) {
        let status = statuses
            .get(&c.id)
            .cloned()
            .unwrap_or_else(|| "not_assessed".to_owned());
        let anc = chain(c);
        let mut node = &mut root;
        node.assessable += 1;
        *node.by_status.entry(status.clone()).or_default() += 1;
        for gid in anc.iter().take(2) {
            let pos = match node.groups.iter().position(|g| &g.id == gid) {
                Some(i) => i,
                None => {
                    node.groups.push(Coverage {
                        id: gid.clone(),
                        title: title(gid),
                        ..Default::default()
                    });
                    node.groups.len() - 1
                }
            };
            node = &mut node.groups[pos];
            node.assessable += 1;
            *node.by_status.entry(status.clone()).or_default() += 1;
        }
    }
    finish(&mut root);
    Ok(Some(root))
}

/// Applies `risk.scored` / `risk.changed` events (one transaction): maps each asset's findings to
/// SP 800-53 controls by `rules` (the asset-kind condition does not apply here: risk events do
/// not carry the kind), replaces the asset's rows of `control_risk_map` and writes
/// `controls.mapped`. Redelivered events have no second effect.
///
/// # Errors
/// Database and outbox errors (nothing of the batch stored).
pub async fn apply_risk_events(
    db: &Db,
    node: &str,
    rules: &[crate::rules::WeaknessRule],
    events: &[Envelope],
) -> Result<Vec<rampart_platform::consumer::EventOutcome>, Box<dyn std::error::Error + Send + Sync>>
{
    use rampart_contracts::risk::AssetRiskEvent;
    use rampart_platform::consumer::EventOutcome;
    let b = db.backend();
    let tx = db.begin_write().await?;
    let mut out = Vec::with_capacity(events.len());
    for e in events {
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
        if !rampart_platform::processed::first_time(&tx, "control", e.event_id).await? {
            out.push(EventOutcome::Duplicate);
            continue;
        }
        let mut mapped: std::collections::BTreeMap<String, usize> = Default::default();
        for f in &body.findings {
            let mut ids = std::collections::BTreeSet::new();
            for r in rules
                .iter()
                .filter(|r| r.asset_kind.is_none() && r.matches(&f.cwes, f.kev, f.score, ""))
            {
                for c in &r.controls {
                    ids.insert(crate::normalise_control_id("nist-sp-800-53-rev5", c));
                }
            }
            for id in ids {
                *mapped.entry(id).or_default() += 1;
            }
        }
        tx.execute_raw(Statement::from_sql_and_values(
            b,
            format!("DELETE FROM control_risk_map WHERE asset_key = {}", p(b, 1)),
            [Value::from(body.asset_key.clone())],
        ))
        .await?;
        let rows: Vec<(&String, &usize)> = mapped.iter().collect();
        for chunk in rows.chunks(BATCH) {
            let mut values = Vec::with_capacity(chunk.len() * 3);
            for (id, n) in chunk {
                values.extend([
                    Value::from(body.asset_key.clone()),
                    Value::from((*id).clone()),
                    Value::from(i64::try_from(**n).unwrap_or(i64::MAX)),
                ]);
            }
            tx.execute_raw(Statement::from_sql_and_values(
                b,
                format!(
                    "INSERT INTO control_risk_map (asset_key, control_id, findings) VALUES {}",
                    placeholders(b, chunk.len(), 3)
                ),
                values,
            ))
            .await?;
        }
        let ev = Envelope::new(
            "controls.mapped",
            node,
            &ControlsMapped {
                asset_key: body.asset_key.clone(),
                controls: mapped,
            },
        )?
        .caused_by(e);
        outbox::append(&tx, "control", &ev).await?;
        out.push(EventOutcome::Applied);
    }
    tx.commit().await?;
    Ok(out)
}

/// The controls mapped to `asset_key`'s current findings (control id -> findings), from
/// `control_risk_map`.
///
/// # Errors
/// Database errors.
pub async fn mapped_controls(
    db: &Db,
    asset_key: &str,
) -> Result<std::collections::BTreeMap<String, i64>, sea_orm::DbErr> {
    let b = db.backend();
    let rows = db
        .conn()
        .query_all_raw(Statement::from_sql_and_values(
            b,
            format!(
                "SELECT control_id, findings FROM control_risk_map WHERE asset_key = {}",
                p(b, 1)
            ),
            [Value::from(asset_key.to_owned())],
        ))
        .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get("", "control_id")?, r.try_get("", "findings")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_reads_the_relationship_from_the_other_side() {
        // `inverse` relies on these serde names.
        assert_eq!(kind_str(&Relationship::SubsetOf), "subset_of");
        assert_eq!(kind_str(&Relationship::SupersetOf), "superset_of");
        assert_eq!(inverse("subset_of"), "superset_of");
        assert_eq!(inverse("superset_of"), "subset_of");
        assert_eq!(inverse("intersects_with"), "intersects_with");
    }
}
