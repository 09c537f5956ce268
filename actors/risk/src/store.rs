//! RiskAnalysis's storage and incremental scoring.
//!
//! Tables (owned by RiskAnalysis, prefixed `risk_`): its own view of the assets and their
//! components, built from `asset.discovered` / `asset.changed` / `asset.retired` events (it never
//! reads AssetManagement's tables); the vulnerability records and KEV entries ingested; the
//! fingerprints of the feeds ingested; and the findings (the risk register).
//!
//! # What is re-scored, and when (incremental)
//! - An asset event re-scores that asset only: its components are matched against the
//!   vulnerability index ([`crate::matching::VulnIndex`]).
//! - A feed whose fingerprint was already ingested is a no-op. Otherwise only its new or changed
//!   records (by record id and `modified`; for KEV, by entry content) are stored, and only the
//!   assets holding a component of a package (OSV) or CPE product (NVD) named by a changed record
//!   are re-scored; for KEV, the assets holding a package of a record whose CVE entered or left
//!   the catalog. Assets are found through indexed keys on `risk_components`, not by a scan.
//!
//! Every operation runs in one transaction with the events it publishes (outbox): `risk.scored`
//! (an asset was scored) and `risk.changed` (an asset's findings or top score changed from what
//! was stored before). A transaction that changes findings or assets also bumps the write
//! counter the read models check ([`crate::read_model::bump`]), just before it commits.
//!
//! Scores follow [`crate::scoring`] (NIST SP 800-30 Rev. 1 likelihood × impact).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use crate::cpe::Cpe;
use crate::entities::{
    risk_asset, risk_component, risk_epss, risk_feed, risk_finding, risk_kev, risk_vulnerability,
};
use crate::entities::{risk_finding_history, risk_ssvc, risk_treatment};
use crate::feeds::VulnerabilityFeed;
use crate::feeds::kev::KevCatalog;
use crate::feeds::vulnrichment::VulnrichmentRecord;
use crate::matching::{Confidence, VulnIndex};
use crate::purl::{package_from_purl, package_key};
use crate::scoring::{Level, RiskInput, score_risk};
use crate::ssvc::{CriticalityMapping, SsvcInputs, decide_finding};
use crate::triage::{Statements, asset_target, finding_key};
use crate::version::Ecosystem;
use crate::vex::product::Target;
use crate::{KevEntry, Vulnerability};
use rampart_contracts::asset::{Asset, AssetEvent, AssetRetired, Component};
pub use rampart_contracts::risk::{
    AssetRisk, AssetRiskEvent, FindingView, MAX_FINDINGS_PER_EVENT, RiskFigures,
};
use rampart_platform::Db;
use rampart_platform::bus::{BusError, Envelope};
use rampart_platform::consumer::EventOutcome;
use rampart_platform::outbox::{self, OutboxError};
use rampart_platform::processed;

/// Service name under which RiskAnalysis writes its events and records processed events.
pub const SERVICE: &str = "risk";

/// Rows inserted per statement.
const BATCH: usize = 400;

/// Routing key of the event listing the findings of one asset whose analysis changed.
pub const ANALYSIS_CHANGED: &str = "risk.analysis.changed";

/// Why a risk operation failed; nothing of it was stored (one transaction).
#[derive(Debug, thiserror::Error)]
pub enum RiskStoreError {
    /// A database error.
    #[error("risk storage: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Writing an event failed.
    #[error("writing risk events: {0}")]
    Outbox(#[from] OutboxError),
    /// Building an event failed.
    #[error("building risk events: {0}")]
    Event(#[from] BusError),
    /// A stored record does not deserialize (the row is named).
    #[error("stored {what} {id} does not decode: {message}")]
    Corrupt {
        /// `vulnerability` or `kev entry`.
        what: &'static str,
        /// Its id.
        id: String,
        /// serde's message.
        message: String,
    },
}

/// RiskAnalysis's in-memory state: the vulnerability records and KEV entries, loaded from its
/// tables at start and kept in step with them.
#[derive(Debug, Default, Clone)]
pub struct RiskState {
    vulns: Vec<Vulnerability>,
    pos: HashMap<String, usize>,
    kev: HashMap<String, KevEntry>,
    epss: HashMap<String, f64>,
    feed_mark: i64,
    poison: Option<String>,
    pub(crate) statements: crate::triage::Statements,
    pub(crate) ssvc: HashMap<String, VulnrichmentRecord>,
    pub(crate) ssvc_mapping: CriticalityMapping,
    pub(crate) treatments: HashMap<String, String>,
}

/// The newest `risk_feeds` row id (0 when none): a node whose state was loaded at an older mark
/// reloads before scoring, so replicas of RiskAnalysis see feeds another replica ingested.
///
/// # Errors
/// Database errors.
pub async fn feed_mark<C: ConnectionTrait>(db: &C) -> Result<i64, sea_orm::DbErr> {
    let max: Option<Option<i64>> = risk_feed::Entity::find()
        .select_only()
        .column_as(risk_feed::Column::Id.max(), "m")
        .into_tuple()
        .one(db)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// The mark a replica's state is compared with: the newest `risk_feeds` row id plus the
/// newest `risk_statements` id times 2^32 (either changing changes it), 0 when none.
///
/// # Errors
/// Database errors.
pub async fn state_mark<C: ConnectionTrait>(db: &C) -> Result<i64, sea_orm::DbErr> {
    let statements: Option<Option<i64>> = crate::entities::risk_statement::Entity::find()
        .select_only()
        .column_as(crate::entities::risk_statement::Column::Id.max(), "m")
        .into_tuple()
        .one(db)
        .await?;
    let ssvc = risk_ssvc::Entity::find().count(db).await?;
    Ok(feed_mark(db)
        .await?
        .wrapping_add(statements.flatten().unwrap_or(0).wrapping_shl(32))
        .wrapping_add(i64::try_from(ssvc).unwrap_or(0).wrapping_shl(20)))
}

impl RiskState {
    /// Loads the stored records and KEV entries.
    ///
    /// # Errors
    /// Database errors, [`RiskStoreError::Corrupt`].
    pub async fn load<C: ConnectionTrait>(db: &C) -> Result<Self, RiskStoreError> {
        let mut state = RiskState {
            feed_mark: state_mark(db).await?,
            ..RiskState::default()
        };
        for row in risk_vulnerability::Entity::find()
            .order_by_asc(risk_vulnerability::Column::Id)
            .all(db)
            .await?
        {
            let v: Vulnerability =
                serde_json::from_value(row.record).map_err(|e| RiskStoreError::Corrupt {
                    what: "vulnerability",
                    id: row.id.clone(),
                    message: e.to_string(),
                })?;
            state.upsert_vuln(v);
        }
        for row in risk_kev::Entity::find().all(db).await? {
            let e: KevEntry =
                serde_json::from_value(row.entry).map_err(|e| RiskStoreError::Corrupt {
                    what: "kev entry",
                    id: row.cve_id.clone(),
                    message: e.to_string(),
                })?;
            state.kev.insert(row.cve_id, e);
        }
        for row in risk_epss::Entity::find().all(db).await? {
            state.epss.insert(row.cve_id, row.epss);
        }
        state.statements = Statements::load(db)
            .await
            .map_err(|e| RiskStoreError::Corrupt {
                what: "statement",
                id: String::new(),
                message: e.to_string(),
            })?;
        for row in risk_ssvc::Entity::find().all(db).await? {
            let r: VulnrichmentRecord =
                serde_json::from_value(row.record).map_err(|e| RiskStoreError::Corrupt {
                    what: "ssvc record",
                    id: row.cve_id.clone(),
                    message: e.to_string(),
                })?;
            state.ssvc.insert(row.cve_id, r);
        }
        for row in risk_treatment::Entity::find()
            .filter(risk_treatment::Column::Status.eq("active"))
            .all(db)
            .await?
        {
            state.treatments.insert(row.finding_key, row.option);
        }
        Ok(state)
    }

    fn upsert_vuln(&mut self, v: Vulnerability) {
        match self.pos.get(&v.id) {
            Some(&i) => {
                if let Some(slot) = self.vulns.get_mut(i) {
                    *slot = v;
                }
            }
            None => {
                self.pos.insert(v.id.clone(), self.vulns.len());
                self.vulns.push(v);
            }
        }
    }

    /// Takes the current [`state_mark`] after this replica's own committed write.
    ///
    /// # Errors
    /// Database errors.
    pub(crate) async fn refresh_mark(&mut self, db: &Db) -> Result<(), sea_orm::DbErr> {
        self.feed_mark = state_mark(db.conn()).await?;
        Ok(())
    }

    /// The state mark this state was loaded at (see [`state_mark`]).
    pub fn feed_mark(&self) -> i64 {
        self.feed_mark
    }

    /// Fault injection: events of asset `key` fail (transiently) until cleared with `None`.
    pub fn set_poison(&mut self, key: Option<String>) {
        self.poison = key;
    }

    /// The poisoned asset key, if any.
    pub fn poison(&self) -> Option<&str> {
        self.poison.as_deref()
    }

    /// Number of vulnerability records held.
    pub fn vulnerability_count(&self) -> usize {
        self.vulns.len()
    }

    /// Number of KEV entries held.
    pub fn kev_count(&self) -> usize {
        self.kev.len()
    }

    fn in_kev(&self, v: &Vulnerability) -> bool {
        v.cve_ids().any(|c| self.kev.contains_key(c))
    }

    /// The highest EPSS probability among the record's CVE ids, if any is scored.
    fn epss_of(&self, v: &Vulnerability) -> Option<f64> {
        v.cve_ids()
            .filter_map(|c| self.epss.get(c).copied())
            .reduce(f64::max)
    }

    /// Number of CVEs with an EPSS score.
    pub fn epss_count(&self) -> usize {
        self.epss.len()
    }

    /// Sets the mapping of asset criticality to SSVC mission prevalence and public
    /// well-being (configuration, `[risk.ssvc]`); kept across reloads by the actor.
    pub fn set_ssvc_mapping(&mut self, m: CriticalityMapping) {
        self.ssvc_mapping = m;
    }

    /// The SSVC mapping in force.
    pub fn ssvc_mapping(&self) -> &CriticalityMapping {
        &self.ssvc_mapping
    }

    /// Number of statements (VEX and triage) held.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// The vulnerability records held.
    pub fn vulnerabilities(&self) -> impl Iterator<Item = &Vulnerability> {
        self.vulns.iter()
    }

    /// Adds a stored statement.
    pub(crate) fn push_statement(&mut self, s: crate::triage::HeldStatement) {
        self.statements.push(s);
    }

    /// Sets (or clears) the active treatment option of finding `key`.
    pub(crate) fn set_treatment(&mut self, key: &str, option: Option<&str>) {
        match option {
            Some(o) => {
                self.treatments.insert(key.to_owned(), o.to_owned());
            }
            None => {
                self.treatments.remove(key);
            }
        }
    }

    /// The Vulnrichment record held for `cve`.
    pub fn ssvc_record(&self, cve: &str) -> Option<&VulnrichmentRecord> {
        self.ssvc.get(cve)
    }

    /// Holds a Vulnrichment record (already stored).
    pub(crate) fn set_ssvc_record(&mut self, r: VulnrichmentRecord) {
        self.ssvc.insert(r.cve_id.clone(), r);
    }

    /// Reloads everything from the database after a failed write, keeping the poison and
    /// the SSVC mapping (which are not stored).
    ///
    /// # Errors
    /// Database errors, [`RiskStoreError::Corrupt`].
    pub async fn reload_decisions(&mut self, db: &Db) -> Result<(), RiskStoreError> {
        let poison = self.poison.take();
        let mapping = std::mem::take(&mut self.ssvc_mapping);
        *self = RiskState::load(db.conn()).await?;
        self.poison = poison;
        self.ssvc_mapping = mapping;
        Ok(())
    }
}

/// The asset a finding belongs to, as scoring needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScoredAsset<'a> {
    pub(crate) key: &'a str,
    pub(crate) name: &'a str,
    pub(crate) version: Option<&'a str>,
    pub(crate) criticality: u8,
}

/// `Ecosystem|package` key of an OSV package (lower-case), as stored in `risk_components.pkg_key`.
fn pkg_key_of(ecosystem: &Ecosystem, name: &str) -> String {
    let (eco, name) = package_key(ecosystem, name);
    format!("{}|{}", eco.osv_name().to_ascii_lowercase(), name)
}

fn component_pkg_key(purl: &str) -> Option<String> {
    let p = package_from_purl(purl).ok()?;
    Some(pkg_key_of(&p.ecosystem, &p.name))
}

fn cpe_key_of(cpe: &str) -> Option<String> {
    let c = Cpe::parse(cpe).ok()?;
    Some(format!("{}:{}", c.vendor(), c.product()))
}

/// The package and CPE keys a record names (what its changes can affect).
fn record_keys(v: &Vulnerability, pkgs: &mut BTreeSet<String>, cpes: &mut BTreeSet<String>) {
    for a in &v.affected {
        pkgs.insert(pkg_key_of(&Ecosystem::from_osv(&a.ecosystem), &a.package));
    }
    for c in v.cpe_matches.iter().filter(|c| c.vulnerable) {
        if let Some(k) = cpe_key_of(&c.criteria) {
            cpes.insert(k);
        }
    }
}

/// Snake-case name of a level as stored and filtered (`very_low` .. `very_high`).
pub fn level_name(l: Level) -> &'static str {
    match l {
        Level::VeryLow => "very_low",
        Level::Low => "low",
        Level::Moderate => "moderate",
        Level::High => "high",
        Level::VeryHigh => "very_high",
    }
}

/// Parses a level name: `very_low`, `very low`, `very-low`, … `very_high`, case-insensitive, or
/// its value `1`..`5`.
pub fn parse_level(s: &str) -> Option<Level> {
    let n = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    match n.as_str() {
        "very_low" | "1" => Some(Level::VeryLow),
        "low" | "2" => Some(Level::Low),
        "moderate" | "3" => Some(Level::Moderate),
        "high" | "4" => Some(Level::High),
        "very_high" | "5" => Some(Level::VeryHigh),
        _ => None,
    }
}

impl From<risk_finding::Model> for FindingView {
    fn from(m: risk_finding::Model) -> Self {
        let strings =
            |j: serde_json::Value| -> Vec<String> { serde_json::from_value(j).unwrap_or_default() };
        Self {
            asset_key: m.asset_key,
            vulnerability: m.vuln_id,
            cves: strings(m.cves),
            cwes: strings(m.cwes),
            component: m.component,
            component_version: m.component_version,
            purl: m.purl,
            cpe: m.cpe,
            kev: m.kev,
            likelihood: u8::try_from(m.likelihood).unwrap_or(0),
            impact: u8::try_from(m.impact).unwrap_or(0),
            score: u8::try_from(m.score).unwrap_or(0),
            level: m.level,
            confidence: m.confidence,
            summary: m.summary,
            rationale: strings(m.rationale),
            finding_key: m.finding_key,
            analysis: match (m.analysis_state, m.analysis_statement, m.analysis_at) {
                (Some(state), Some(statement), Some(at)) => {
                    Some(rampart_contracts::risk::FindingAnalysis {
                        state,
                        justification: m.analysis_justification,
                        responses: m.analysis_responses.map(strings).unwrap_or_default(),
                        detail: m.analysis_detail,
                        by: m.analysis_by.unwrap_or_default(),
                        at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        statement,
                    })
                }
                _ => None,
            },
            suppressed: m.suppressed,
            ssvc: m.ssvc,
            treatment: m.treatment,
        }
    }
}

fn finding_models(
    state: &RiskState,
    index: &VulnIndex<'_>,
    asset: ScoredAsset<'_>,
    components: &[Component],
) -> Vec<risk_finding::ActiveModel> {
    let now = Utc::now();
    let (asset_key, criticality) = (asset.key, asset.criticality);
    let crit = Level::from_value(criticality.clamp(1, 5)).unwrap_or(Level::Moderate);
    let asset_t = asset_target(asset.key, asset.name, asset.version);
    let mut out = Vec::new();
    for c in components {
        let mut found = Vec::new();
        if let Some(purl) = &c.purl
            && let Ok(fs) = index.match_purl(purl)
        {
            found.extend(fs);
        }
        if let Some(cpe) = &c.cpe
            && let Ok(fs) = index.match_cpe(cpe)
        {
            // An NVD record for a CVE already found through an OSV record is the same finding.
            let seen: HashSet<String> = found
                .iter()
                .flat_map(|f| f.vulnerability.cve_ids().map(str::to_owned))
                .collect();
            found.extend(
                fs.into_iter()
                    .filter(|f| !f.vulnerability.cve_ids().any(|id| seen.contains(id))),
            );
        }
        for f in found {
            let v = f.vulnerability;
            let in_kev = state.in_kev(v);
            let s = score_risk(&RiskInput {
                cvss: &v.cvss,
                in_kev,
                epss: state.epss_of(v),
                asset_criticality: crit,
            });
            let cves: Vec<&str> = v.cve_ids().collect();
            let mut ids: Vec<&str> = vec![v.id.as_str()];
            ids.extend(v.aliases.iter().map(String::as_str));
            ids.extend(cves.iter().copied());
            let component_t = Target {
                purl: c.purl.as_deref(),
                cpe: c.cpe.as_deref(),
                name: &c.name,
                version: c.version.as_deref(),
            };
            let analysis = state
                .statements
                .effective(&ids, asset_key, &asset_t, &component_t);
            let record = cves.iter().find_map(|c| state.ssvc.get(*c));
            let ssvc = decide_finding(
                &SsvcInputs {
                    exploitation: record.and_then(|r| r.exploitation),
                    automatable: record.and_then(|r| r.automatable),
                    technical_impact: record.and_then(|r| r.technical_impact),
                },
                in_kev,
                criticality,
                &state.ssvc_mapping,
            );
            let key = finding_key(
                asset_key,
                &v.id,
                &c.name,
                c.version.as_deref(),
                c.purl.as_deref(),
            );
            let treatment = state.treatments.get(&key).cloned();
            out.push(risk_finding::ActiveModel {
                finding_key: Set(key),
                suppressed: Set(analysis.is_some_and(|a| a.statement.state.suppresses())),
                analysis_state: Set(analysis.map(|a| a.statement.state.as_str().to_owned())),
                analysis_justification: Set(analysis
                    .and_then(|a| a.statement.justification)
                    .map(|j| j.as_str().to_owned())),
                analysis_responses: Set(analysis.map(|a| {
                    serde_json::json!(
                        a.statement
                            .responses
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                    )
                })),
                analysis_detail: Set(analysis.and_then(|a| a.statement.detail.clone())),
                analysis_by: Set(analysis.map(|a| a.made_by.clone())),
                analysis_at: Set(analysis.map(|a| a.statement.timestamp)),
                analysis_statement: Set(analysis.map(|a| a.id)),
                ssvc: Set(serde_json::to_value(ssvc.decision)
                    .ok()
                    .and_then(|d| d.as_str().map(str::to_owned))),
                ssvc_detail: Set(serde_json::to_value(&ssvc).ok()),
                treatment: Set(treatment),
                asset_key: Set(asset_key.to_owned()),
                vuln_id: Set(v.id.clone()),
                component: Set(c.name.clone()),
                component_version: Set(c.version.clone()),
                purl: Set(c.purl.clone()),
                cpe: Set(c.cpe.clone()),
                cves: Set(serde_json::json!(cves)),
                cwes: Set(serde_json::json!(v.cwes)),
                kev: Set(in_kev),
                likelihood: Set(i16::from(s.likelihood.value())),
                impact: Set(i16::from(s.impact.value())),
                score: Set(i16::from(s.score)),
                level: Set(level_name(s.level).to_owned()),
                confidence: Set(match f.confidence {
                    Confidence::High => "high",
                    Confidence::Low => "low",
                }
                .to_owned()),
                summary: Set(v.summary.clone()),
                rationale: Set(serde_json::json!(s.rationale)),
                scored_at: Set(now),
                ..Default::default()
            });
        }
    }
    out
}

fn view_of(m: &risk_finding::ActiveModel) -> Option<FindingView> {
    use sea_orm::ActiveValue;
    fn get<T: Clone + Into<sea_orm::Value>>(v: &ActiveValue<T>) -> Option<T> {
        match v {
            ActiveValue::Set(x) | ActiveValue::Unchanged(x) => Some(x.clone()),
            ActiveValue::NotSet => None,
        }
    }
    Some(FindingView::from(risk_finding::Model {
        id: 0,
        asset_key: get(&m.asset_key)?,
        vuln_id: get(&m.vuln_id)?,
        component: get(&m.component)?,
        component_version: get(&m.component_version)?,
        purl: get(&m.purl)?,
        cpe: get(&m.cpe)?,
        cves: get(&m.cves)?,
        cwes: get(&m.cwes)?,
        kev: get(&m.kev)?,
        likelihood: get(&m.likelihood)?,
        impact: get(&m.impact)?,
        score: get(&m.score)?,
        level: get(&m.level)?,
        confidence: get(&m.confidence)?,
        summary: get(&m.summary)?,
        rationale: get(&m.rationale)?,
        scored_at: get(&m.scored_at)?,
        finding_key: get(&m.finding_key)?,
        suppressed: get(&m.suppressed)?,
        analysis_state: get(&m.analysis_state)?,
        analysis_justification: get(&m.analysis_justification)?,
        analysis_responses: get(&m.analysis_responses)?,
        analysis_detail: get(&m.analysis_detail)?,
        analysis_by: get(&m.analysis_by)?,
        analysis_at: get(&m.analysis_at)?,
        analysis_statement: get(&m.analysis_statement)?,
        ssvc: get(&m.ssvc)?,
        ssvc_detail: get(&m.ssvc_detail)?,
        treatment: get(&m.treatment)?,
    }))
}

/// One finding as change detection sees it: vulnerability, component, version, score, SSVC
/// decision (a change of any of them is a `risk.changed`).
type FindingSig = (String, String, Option<String>, i16, Option<String>);

/// (finding count, max score, the findings' [`FindingSig`]s) of the stored findings.
type Signature = (usize, u8, BTreeSet<FindingSig>);

async fn stored_signature(
    tx: &DatabaseTransaction,
    asset_key: &str,
) -> Result<Signature, sea_orm::DbErr> {
    let rows: Vec<FindingSig> = risk_finding::Entity::find()
        .select_only()
        .column(risk_finding::Column::VulnId)
        .column(risk_finding::Column::Component)
        .column(risk_finding::Column::ComponentVersion)
        .column(risk_finding::Column::Score)
        .column(risk_finding::Column::Ssvc)
        .filter(risk_finding::Column::AssetKey.eq(asset_key))
        .filter(risk_finding::Column::Suppressed.eq(false))
        .into_tuple()
        .all(tx)
        .await?;
    let max = rows.iter().map(|r| r.3).max().unwrap_or(0);
    Ok((
        rows.len(),
        u8::try_from(max).unwrap_or(0),
        rows.into_iter().collect(),
    ))
}

/// Replaces the findings of `asset_key` with `models` and writes `risk.scored`, plus
/// `risk.changed` when they differ from what was stored.
#[allow(clippy::too_many_arguments)]
async fn replace_findings(
    tx: &DatabaseTransaction,
    node: &str,
    cause: Option<&Envelope>,
    asset_key: &str,
    criticality: u8,
    models: Vec<risk_finding::ActiveModel>,
    emit_scored: bool,
) -> Result<(usize, bool), RiskStoreError> {
    let before = stored_signature(tx, asset_key).await?;
    let decided_before: HashMap<String, (Option<i64>, Option<String>)> =
        risk_finding::Entity::find()
            .select_only()
            .column(risk_finding::Column::FindingKey)
            .column(risk_finding::Column::AnalysisStatement)
            .column(risk_finding::Column::AnalysisState)
            .filter(risk_finding::Column::AssetKey.eq(asset_key))
            .into_tuple::<(String, Option<i64>, Option<String>)>()
            .all(tx)
            .await?
            .into_iter()
            .map(|(k, s, st)| (k, (s, st)))
            .collect();
    risk_finding::Entity::delete_many()
        .filter(risk_finding::Column::AssetKey.eq(asset_key))
        .exec(tx)
        .await?;
    let all_views: Vec<FindingView> = models.iter().filter_map(view_of).collect();
    let changes = analysis_changes(&decided_before, &all_views);
    let mut views: Vec<FindingView> = all_views.into_iter().filter(|v| !v.suppressed).collect();
    views.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.vulnerability.cmp(&b.vulnerability))
    });
    let after: BTreeSet<_> = views
        .iter()
        .map(|v| {
            (
                v.vulnerability.clone(),
                v.component.clone(),
                v.component_version.clone(),
                i16::from(v.score),
                v.ssvc.clone(),
            )
        })
        .collect();
    let n = models.len();
    let mut rows = models.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(BATCH).collect();
        risk_finding::Entity::insert_many(chunk)
            .exec_without_returning(tx)
            .await?;
    }
    let changed = before.2 != after;
    let body = AssetRiskEvent {
        asset_key: asset_key.to_owned(),
        criticality,
        finding_count: views.len(),
        max_score: views.first().map_or(0, |v| v.score),
        kev_count: views.iter().filter(|v| v.kev).count(),
        previous_max_score: before.1,
        previous_finding_count: before.0,
        findings: views.into_iter().take(MAX_FINDINGS_PER_EVENT).collect(),
    };
    let mut types = Vec::new();
    if emit_scored {
        types.push("risk.scored");
    }
    if changed {
        types.push("risk.changed");
    }
    for t in types {
        let mut e = Envelope::new(t, node, &body)?;
        if let Some(c) = cause {
            e = e.caused_by(c);
        }
        outbox::append(tx, SERVICE, &e).await?;
    }
    record_analysis_changes(tx, node, cause, asset_key, changes).await?;
    Ok((n, changed))
}

/// One finding whose analysis changed in a scoring (its timeline entry and the
/// `risk.analysis.changed` event).
#[derive(Debug, Clone, Serialize)]
struct AnalysisChange {
    finding_key: String,
    vulnerability: String,
    component: String,
    component_version: Option<String>,
    previous_state: Option<String>,
    analysis: Option<rampart_contracts::risk::FindingAnalysis>,
}

/// The findings of `after` whose deciding statement differs from `before`'s (a finding born
/// decided counts; a finding that left the asset does not).
fn analysis_changes(
    before: &HashMap<String, (Option<i64>, Option<String>)>,
    after: &[FindingView],
) -> Vec<AnalysisChange> {
    let mut out = Vec::new();
    for v in after {
        let (prev_statement, prev_state) = before.get(&v.finding_key).cloned().unwrap_or_default();
        let now_statement = v.analysis.as_ref().map(|a| a.statement);
        if prev_statement == now_statement {
            continue;
        }
        out.push(AnalysisChange {
            finding_key: v.finding_key.clone(),
            vulnerability: v.vulnerability.clone(),
            component: v.component.clone(),
            component_version: v.component_version.clone(),
            previous_state: prev_state,
            analysis: v.analysis.clone(),
        });
    }
    out
}

/// Body of `risk.analysis.changed`: the findings of one asset whose analysis changed, at
/// most [`MAX_FINDINGS_PER_EVENT`] listed.
#[derive(Debug, Clone, Serialize)]
struct AnalysisChangedEvent {
    asset_key: String,
    count: usize,
    changes: Vec<AnalysisChange>,
}

/// Appends the timeline entries of `changes` and one `risk.analysis.changed` event (which
/// AuditReporting chains).
async fn record_analysis_changes(
    tx: &DatabaseTransaction,
    node: &str,
    cause: Option<&Envelope>,
    asset_key: &str,
    changes: Vec<AnalysisChange>,
) -> Result<(), RiskStoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    for chunk in changes.chunks(BATCH) {
        let rows = chunk.iter().map(|c| risk_finding_history::ActiveModel {
            finding_key: Set(c.finding_key.clone()),
            asset_key: Set(asset_key.to_owned()),
            vuln_id: Set(c.vulnerability.clone()),
            event: Set("analysis".to_owned()),
            change: Set(serde_json::json!({
                "previous_state": c.previous_state,
                "analysis": c.analysis,
            })),
            actor: Set(c
                .analysis
                .as_ref()
                .map_or_else(|| "system".to_owned(), |a| a.by.clone())),
            at: Set(now),
            ..Default::default()
        });
        risk_finding_history::Entity::insert_many(rows)
            .exec_without_returning(tx)
            .await?;
    }
    let body = AnalysisChangedEvent {
        asset_key: asset_key.to_owned(),
        count: changes.len(),
        changes: changes.into_iter().take(MAX_FINDINGS_PER_EVENT).collect(),
    };
    let mut e = Envelope::new(ANALYSIS_CHANGED, node, &body)?;
    if let Some(c) = cause {
        e = e.caused_by(c);
    }
    outbox::append(tx, SERVICE, &e).await?;
    Ok(())
}

async fn store_view(
    tx: &DatabaseTransaction,
    asset: &Asset,
    event_at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let kind = serde_json::to_value(asset.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "application".to_owned());
    risk_asset::Entity::insert(risk_asset::ActiveModel {
        key: Set(asset.key.clone()),
        name: Set(asset.name.clone()),
        kind: Set(kind),
        criticality: Set(i16::from(asset.criticality)),
        retired: Set(false),
        version: Set(asset.version.clone()),
        last_event_at: Set(Some(event_at)),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(risk_asset::Column::Key)
            .update_columns([
                risk_asset::Column::Name,
                risk_asset::Column::Kind,
                risk_asset::Column::Criticality,
                risk_asset::Column::Retired,
                risk_asset::Column::Version,
                risk_asset::Column::LastEventAt,
                risk_asset::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    risk_component::Entity::delete_many()
        .filter(risk_component::Column::AssetKey.eq(asset.key.as_str()))
        .exec(tx)
        .await?;
    for chunk in asset.components.chunks(BATCH) {
        let rows = chunk.iter().map(|c| risk_component::ActiveModel {
            asset_key: Set(asset.key.clone()),
            name: Set(c.name.clone()),
            version: Set(c.version.clone()),
            purl: Set(c.purl.clone()),
            cpe: Set(c.cpe.clone()),
            pkg_key: Set(c.purl.as_deref().and_then(component_pkg_key)),
            cpe_key: Set(c.cpe.as_deref().and_then(cpe_key_of)),
            ..Default::default()
        });
        risk_component::Entity::insert_many(rows)
            .exec_without_returning(tx)
            .await?;
    }
    Ok(())
}

/// Whether event `e` about asset `key` is older than the last event applied to it (a
/// redelivered event overtaken by a newer one): applying it would bring an older state back.
async fn stale(tx: &DatabaseTransaction, key: &str, e: &Envelope) -> Result<bool, sea_orm::DbErr> {
    let last: Option<Option<DateTime<Utc>>> = risk_asset::Entity::find_by_id(key.to_owned())
        .select_only()
        .column(risk_asset::Column::LastEventAt)
        .into_tuple()
        .one(tx)
        .await?;
    Ok(last.flatten().is_some_and(|t| t > e.occurred_at))
}

/// Applies a batch of asset events in one transaction: updates RiskAnalysis's view of each asset
/// and re-scores it (`asset.discovered`, `asset.changed`), or clears its findings
/// (`asset.retired`). Each event id is recorded ([`processed::first_time`]) so a redelivered
/// event has no second effect. Returns one outcome per event, in order.
///
/// # Errors
/// [`RiskStoreError`]: nothing of the batch is stored; the caller retries it.
pub async fn apply_asset_events(
    db: &Db,
    node: &str,
    state: &RiskState,
    events: &[Envelope],
) -> Result<Vec<EventOutcome>, RiskStoreError> {
    let index = VulnIndex::new(&state.vulns);
    let tx = db.begin_write().await?;
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let outcome = match e.event_type.as_str() {
            "asset.discovered" | "asset.changed" => match e.body_as::<AssetEvent<'static>>() {
                Err(err) => EventOutcome::Rejected(err.to_string()),
                Ok(body) if state.poison.as_deref() == Some(body.asset.key.as_str()) => {
                    EventOutcome::Failed(format!(
                        "injected fault: asset {} is poisoned",
                        body.asset.key
                    ))
                }
                Ok(_) if !processed::first_time(&tx, SERVICE, e.event_id).await? => {
                    EventOutcome::Duplicate
                }
                Ok(body) if stale(&tx, &body.asset.key, e).await? => {
                    tracing::info!(asset = %body.asset.key, event = %e.event_id, "a stale asset event (older than the last one applied) was skipped");
                    EventOutcome::Applied
                }
                Ok(body) => {
                    let a = body.asset.into_owned();
                    store_view(&tx, &a, e.occurred_at).await?;
                    let models = finding_models(
                        state,
                        &index,
                        ScoredAsset {
                            key: &a.key,
                            name: &a.name,
                            version: a.version.as_deref(),
                            criticality: a.criticality,
                        },
                        &a.components,
                    );
                    replace_findings(&tx, node, Some(e), &a.key, a.criticality, models, true)
                        .await?;
                    EventOutcome::Applied
                }
            },
            "asset.retired" => match e.body_as::<AssetRetired>() {
                Err(err) => EventOutcome::Rejected(err.to_string()),
                Ok(_) if !processed::first_time(&tx, SERVICE, e.event_id).await? => {
                    EventOutcome::Duplicate
                }
                Ok(body) if stale(&tx, &body.key, e).await? => EventOutcome::Applied,
                Ok(body) => {
                    risk_asset::Entity::update_many()
                        .col_expr(risk_asset::Column::Retired, Expr::value(true))
                        .col_expr(
                            risk_asset::Column::LastEventAt,
                            Expr::value(Some(e.occurred_at)),
                        )
                        .col_expr(risk_asset::Column::UpdatedAt, Expr::value(Utc::now()))
                        .filter(risk_asset::Column::Key.eq(body.key.as_str()))
                        .exec(&tx)
                        .await?;
                    let crit = risk_asset::Entity::find_by_id(body.key.clone())
                        .one(&tx)
                        .await?
                        .map_or(3, |a| u8::try_from(a.criticality).unwrap_or(3));
                    replace_findings(&tx, node, Some(e), &body.key, crit, Vec::new(), false)
                        .await?;
                    EventOutcome::Applied
                }
            },
            _ => EventOutcome::Ignored,
        };
        out.push(outcome);
    }
    if out.contains(&EventOutcome::Applied) {
        crate::read_model::bump(&tx).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// A parsed feed to ingest.
#[derive(Debug, Clone)]
pub enum FeedInput {
    /// The CISA KEV catalog (a full snapshot: entries absent from it leave the catalog).
    Kev(KevCatalog),
    /// OSV or NVD records (partial: records absent from it are kept).
    Vulnerabilities(VulnerabilityFeed),
    /// FIRST EPSS scores (partial: scores absent from it are kept).
    Epss(crate::feeds::epss::EpssFeed),
}

/// Largest size a gzip-compressed feed may inflate to, bytes (1 GiB; FIRST's daily EPSS file
/// inflates to about 12 MB, NVD's yearly JSON files to a few hundred MB).
pub const MAX_GUNZIPPED_BYTES: u64 = 1 << 30;

/// `bytes` inflated when they are a gzip stream (RFC 1952 §2.3.1: they begin `1f 8b`), at most
/// [`MAX_GUNZIPPED_BYTES`]; else `None`.
///
/// # Errors
/// [`crate::FeedError::Gzip`]: a corrupt or truncated stream, or one inflating past the bound.
pub fn gunzip(bytes: &[u8]) -> Result<Option<Vec<u8>>, crate::FeedError> {
    use std::io::Read as _;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(None);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_GUNZIPPED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| crate::FeedError::Gzip(e.to_string()))?;
    if out.len() as u64 > MAX_GUNZIPPED_BYTES {
        return Err(crate::FeedError::Gzip(format!(
            "inflates past {MAX_GUNZIPPED_BYTES} bytes"
        )));
    }
    Ok(Some(out))
}

impl FeedInput {
    /// Parses `bytes` as a feed of `kind` (`kev`, `nvd`, `epss`, `osv`; OSV as an `all.zip`
    /// archive when `zip`, else JSON), the one dispatch of uploads and scheduled pulls. A
    /// gzip-compressed feed (FIRST publishes EPSS as `epss_scores-current.csv.gz`, NVD its
    /// files as `.json.gz`) is inflated first ([`gunzip`]).
    ///
    /// # Errors
    /// The parser's [`crate::FeedError`]; [`crate::FeedError::WrongKind`] for another kind;
    /// [`crate::FeedError::Gzip`].
    pub fn parse(kind: &str, bytes: &[u8], zip: bool) -> Result<Self, crate::FeedError> {
        use crate::feeds::{epss, kev, nvd, osv};
        let inflated = gunzip(bytes)?;
        let bytes = inflated.as_deref().unwrap_or(bytes);
        Ok(match kind {
            "kev" => Self::Kev(kev::parse_kev(bytes)?),
            "nvd" => Self::Vulnerabilities(nvd::parse_nvd(bytes)?),
            "epss" => Self::Epss(epss::parse_epss(bytes)?),
            "osv" if zip => {
                Self::Vulnerabilities(osv::parse_osv_zip(bytes, &osv::ZipLimits::default())?)
            }
            "osv" => Self::Vulnerabilities(osv::osv_feed(osv::parse_osv(bytes)?)),
            other => {
                return Err(crate::FeedError::WrongKind {
                    expected: "feed of kind kev, nvd, epss or osv",
                    detail: format!("{other:?} was asked for"),
                });
            }
        })
    }
}

/// What a feed ingestion did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestOutcome {
    /// `kev`, `osv` or `nvd`.
    pub kind: String,
    /// The feed's version (KEV catalogVersion, else the newest record `modified`).
    pub version: String,
    /// `true` when this exact feed was ingested before: nothing was done.
    pub unchanged: bool,
    /// Records (or KEV entries) in the feed.
    pub records: usize,
    /// New or changed records (or KEV entries added, changed or removed).
    pub changed_records: usize,
    /// Assets re-scored because of the changes.
    pub assets_rescored: usize,
    /// Findings of those assets after re-scoring.
    pub findings: usize,
}

/// Ingests a feed in one transaction (see the module docs for what is re-scored). `state` is
/// updated in step; on error it is reloaded from the database, so it never holds what was not
/// committed.
///
/// # Errors
/// [`RiskStoreError`]: nothing of the feed is stored.
pub async fn ingest(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    feed: FeedInput,
) -> Result<IngestOutcome, RiskStoreError> {
    let result = ingest_inner(db, node, state, feed).await;
    if result.is_err() {
        state.reload_decisions(db).await?;
    } else {
        state.feed_mark = state_mark(db.conn()).await?;
    }
    result
}

async fn ingest_inner(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    feed: FeedInput,
) -> Result<IngestOutcome, RiskStoreError> {
    let fp = match &feed {
        FeedInput::Kev(k) => k.fingerprint(),
        FeedInput::Vulnerabilities(f) => f.fingerprint(),
        FeedInput::Epss(e) => e.fingerprint(),
    };
    let mut out = IngestOutcome {
        kind: fp.kind.clone(),
        version: fp.version.clone(),
        records: fp.count,
        ..Default::default()
    };
    let count = i64::try_from(fp.count).unwrap_or(i64::MAX);
    let tx = db.begin_write().await?;
    let seen = risk_feed::Entity::find()
        .filter(risk_feed::Column::Kind.eq(fp.kind.as_str()))
        .filter(risk_feed::Column::Version.eq(fp.version.as_str()))
        .filter(risk_feed::Column::Count.eq(count))
        .count(&tx)
        .await?;
    if seen > 0 {
        tx.rollback().await?;
        out.unchanged = true;
        return Ok(out);
    }
    let now = Utc::now();
    let mut pkgs = BTreeSet::new();
    let mut cpes = BTreeSet::new();
    match feed {
        FeedInput::Vulnerabilities(f) => {
            let kind = f.kind;
            let changed: Vec<Vulnerability> = f
                .records
                .into_iter()
                .filter(|r| {
                    state
                        .pos
                        .get(&r.id)
                        .and_then(|&i| state.vulns.get(i))
                        .is_none_or(|old| old != r)
                })
                .collect();
            out.changed_records = changed.len();
            for chunk in changed.chunks(BATCH) {
                let rows = chunk.iter().map(|r| risk_vulnerability::ActiveModel {
                    id: Set(r.id.clone()),
                    kind: Set(kind.to_owned()),
                    modified: Set(r.modified),
                    record: Set(serde_json::to_value(r).unwrap_or_default()),
                    updated_at: Set(now),
                });
                risk_vulnerability::Entity::insert_many(rows)
                    .on_conflict(
                        OnConflict::column(risk_vulnerability::Column::Id)
                            .update_columns([
                                risk_vulnerability::Column::Kind,
                                risk_vulnerability::Column::Modified,
                                risk_vulnerability::Column::Record,
                                risk_vulnerability::Column::UpdatedAt,
                            ])
                            .to_owned(),
                    )
                    .exec_without_returning(&tx)
                    .await?;
            }
            for r in changed {
                // The old version of a record may name packages the new one no longer does.
                if let Some(old) = state.pos.get(&r.id).and_then(|&i| state.vulns.get(i)) {
                    record_keys(old, &mut pkgs, &mut cpes);
                }
                record_keys(&r, &mut pkgs, &mut cpes);
                state.upsert_vuln(r);
            }
        }
        FeedInput::Epss(f) => {
            let changed: Vec<(&String, &crate::feeds::epss::EpssScore)> = f
                .scores
                .iter()
                .filter(|(cve, s)| state.epss.get(*cve) != Some(&s.epss))
                .collect();
            out.changed_records = changed.len();
            for chunk in changed.chunks(BATCH) {
                let rows = chunk.iter().map(|(cve, s)| risk_epss::ActiveModel {
                    cve_id: Set((*cve).clone()),
                    epss: Set(s.epss),
                    percentile: Set(s.percentile),
                    updated_at: Set(now),
                });
                risk_epss::Entity::insert_many(rows)
                    .on_conflict(
                        OnConflict::column(risk_epss::Column::CveId)
                            .update_columns([
                                risk_epss::Column::Epss,
                                risk_epss::Column::Percentile,
                                risk_epss::Column::UpdatedAt,
                            ])
                            .to_owned(),
                    )
                    .exec_without_returning(&tx)
                    .await?;
            }
            let changed_cves: HashSet<String> = changed.iter().map(|(c, _)| (*c).clone()).collect();
            for (cve, s) in changed {
                state.epss.insert(cve.clone(), s.epss);
            }
            for v in &state.vulns {
                if v.cve_ids().any(|c| changed_cves.contains(c)) {
                    record_keys(v, &mut pkgs, &mut cpes);
                }
            }
        }
        FeedInput::Kev(k) => {
            let mut changed_cves: HashSet<String> = HashSet::new();
            let new: HashMap<&str, &KevEntry> =
                k.entries.iter().map(|e| (e.cve_id.as_str(), e)).collect();
            for (cve, e) in &new {
                if state.kev.get(*cve) != Some(*e) {
                    changed_cves.insert((*cve).to_owned());
                }
            }
            let removed: Vec<String> = state
                .kev
                .keys()
                .filter(|c| !new.contains_key(c.as_str()))
                .cloned()
                .collect();
            changed_cves.extend(removed.iter().cloned());
            out.changed_records = changed_cves.len();
            let upserts: Vec<&KevEntry> = k
                .entries
                .iter()
                .filter(|e| changed_cves.contains(&e.cve_id))
                .collect();
            for chunk in upserts.chunks(BATCH) {
                let rows = chunk.iter().map(|e| risk_kev::ActiveModel {
                    cve_id: Set(e.cve_id.clone()),
                    entry: Set(serde_json::to_value(e).unwrap_or_default()),
                    updated_at: Set(now),
                });
                risk_kev::Entity::insert_many(rows)
                    .on_conflict(
                        OnConflict::column(risk_kev::Column::CveId)
                            .update_columns([risk_kev::Column::Entry, risk_kev::Column::UpdatedAt])
                            .to_owned(),
                    )
                    .exec_without_returning(&tx)
                    .await?;
            }
            for chunk in removed.chunks(BATCH) {
                risk_kev::Entity::delete_many()
                    .filter(risk_kev::Column::CveId.is_in(chunk.iter().cloned()))
                    .exec(&tx)
                    .await?;
            }
            for c in &removed {
                state.kev.remove(c);
            }
            for e in upserts {
                state.kev.insert(e.cve_id.clone(), e.clone());
            }
            for v in &state.vulns {
                if v.cve_ids().any(|c| changed_cves.contains(c)) {
                    record_keys(v, &mut pkgs, &mut cpes);
                }
            }
        }
    }
    risk_feed::Entity::insert(risk_feed::ActiveModel {
        kind: Set(fp.kind.clone()),
        version: Set(fp.version.clone()),
        count: Set(count),
        ingested_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(&tx)
    .await?;
    // Assets holding an affected package or product, found through the indexed keys.
    let mut assets: BTreeSet<String> = BTreeSet::new();
    let pkgs: Vec<String> = pkgs.into_iter().collect();
    for chunk in pkgs.chunks(BATCH) {
        let keys: Vec<String> = risk_component::Entity::find()
            .select_only()
            .column(risk_component::Column::AssetKey)
            .distinct()
            .filter(risk_component::Column::PkgKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(&tx)
            .await?;
        assets.extend(keys);
    }
    let cpes: Vec<String> = cpes.into_iter().collect();
    for chunk in cpes.chunks(BATCH) {
        let keys: Vec<String> = risk_component::Entity::find()
            .select_only()
            .column(risk_component::Column::AssetKey)
            .distinct()
            .filter(risk_component::Column::CpeKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(&tx)
            .await?;
        assets.extend(keys);
    }
    let (n_assets, n_findings) = rescore(&tx, node, state, &assets).await?;
    out.assets_rescored = n_assets;
    out.findings = n_findings;
    crate::read_model::bump(&tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Re-scores the assets `keys` (those not retired) from RiskAnalysis's view of their
/// components; returns (assets re-scored, findings after).
///
/// # Errors
/// Database and event errors.
pub(crate) async fn rescore(
    tx: &DatabaseTransaction,
    node: &str,
    state: &RiskState,
    keys: &BTreeSet<String>,
) -> Result<(usize, usize), RiskStoreError> {
    let index = VulnIndex::new(&state.vulns);
    let (mut assets, mut findings) = (0, 0);
    for key in keys {
        let Some(a) = risk_asset::Entity::find_by_id(key.clone()).one(tx).await? else {
            continue;
        };
        if a.retired {
            continue;
        }
        let comps: Vec<Component> = risk_component::Entity::find()
            .filter(risk_component::Column::AssetKey.eq(key.as_str()))
            .order_by(risk_component::Column::Id, Order::Asc)
            .all(tx)
            .await?
            .into_iter()
            .map(|c| Component {
                version: c.version,
                purl: c.purl,
                cpe: c.cpe,
                ..Component::named(c.name)
            })
            .collect();
        let crit = u8::try_from(a.criticality).unwrap_or(3);
        let models = finding_models(
            state,
            &index,
            ScoredAsset {
                key,
                name: &a.name,
                version: a.version.as_deref(),
                criticality: crit,
            },
            &comps,
        );
        let (n, _) = replace_findings(tx, node, None, key, crit, models, false).await?;
        assets += 1;
        findings += n;
    }
    Ok((assets, findings))
}

/// A vulnerability a component has, for SBOM diffs (which findings a version introduces or
/// fixes): the record id and CVE ids, and the component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ComponentVulnerability {
    /// Vulnerability record id.
    pub vulnerability: String,
    /// Its CVE ids.
    pub cves: Vec<String>,
    /// Its summary.
    pub summary: String,
    /// Component name.
    pub component: String,
    /// Component version.
    pub component_version: Option<String>,
    /// Component purl.
    pub purl: Option<String>,
}

/// The vulnerabilities the records held give `components` (the same matching as scoring,
/// [`crate::matching`]), in component order.
pub fn match_components(
    state: &RiskState,
    components: &[Component],
) -> Vec<ComponentVulnerability> {
    let index = VulnIndex::new(&state.vulns);
    let mut out = Vec::new();
    for c in components {
        let mut found: Vec<&Vulnerability> = Vec::new();
        if let Some(purl) = &c.purl
            && let Ok(fs) = index.match_purl(purl)
        {
            found.extend(fs.into_iter().map(|f| f.vulnerability));
        }
        if let Some(cpe) = &c.cpe
            && let Ok(fs) = index.match_cpe(cpe)
        {
            let seen: HashSet<String> = found
                .iter()
                .flat_map(|v| v.cve_ids().map(str::to_owned))
                .collect();
            found.extend(
                fs.into_iter()
                    .map(|f| f.vulnerability)
                    .filter(|v| !v.cve_ids().any(|id| seen.contains(id))),
            );
        }
        for v in found {
            out.push(ComponentVulnerability {
                vulnerability: v.id.clone(),
                cves: v.cve_ids().map(str::to_owned).collect(),
                summary: v.summary.clone(),
                component: c.name.clone(),
                component_version: c.version.clone(),
                purl: c.purl.clone(),
            });
        }
    }
    out
}

/// Filter and page of [`list_findings`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FindingFilter {
    /// Only findings with `score >= min_score`.
    pub min_score: Option<u8>,
    /// Only findings of this level.
    pub level: Option<Level>,
    /// Only findings of this asset key.
    pub asset_key: Option<String>,
    /// Only KEV-listed findings.
    pub kev_only: bool,
    /// Only findings whose analysis state is this (`in_triage` ... `resolved`), or `none`
    /// for never decided. Suppressed findings (`not_affected`, `false_positive`) are listed
    /// only when asked for by this filter or by `include_suppressed`.
    pub analysis: Option<String>,
    /// Only findings with this SSVC decision (`Track`, `Track*`, `Attend`, `Act`).
    pub ssvc: Option<String>,
    /// Only findings with this active treatment (`mitigate`, `accept`, `transfer`, `avoid`).
    pub treatment: Option<String>,
    /// List suppressed findings too.
    pub include_suppressed: bool,
    /// Page number, from 1.
    pub page: u64,
    /// Findings per page (1..=1000).
    pub per_page: u64,
    /// Order ([`SORTS`]); `None`: `score` (highest first, then KEV-listed, asset, vulnerability).
    pub sort: Option<String>,
}

/// Orders of the register: `score` (highest first), `score_asc`, `asset`, `vulnerability`,
/// `newest` (most recently scored first), `component`.
pub const SORTS: [&str; 6] = [
    "score",
    "score_asc",
    "asset",
    "vulnerability",
    "newest",
    "component",
];

/// The findings matching `filter`, highest score first (then KEV-listed first, then by asset
/// and vulnerability), one page of them, with the total count.
///
/// # Errors
/// Database errors.
pub async fn list_findings(
    db: &Db,
    filter: &FindingFilter,
) -> Result<(Vec<FindingView>, u64), sea_orm::DbErr> {
    let mut q = risk_finding::Entity::find();
    if let Some(m) = filter.min_score {
        q = q.filter(risk_finding::Column::Score.gte(i16::from(m)));
    }
    if let Some(l) = filter.level {
        q = q.filter(risk_finding::Column::Level.eq(level_name(l)));
    }
    if let Some(a) = &filter.asset_key {
        q = q.filter(risk_finding::Column::AssetKey.eq(a.as_str()));
    }
    if filter.kev_only {
        q = q.filter(risk_finding::Column::Kev.eq(true));
    }
    match filter.analysis.as_deref() {
        Some("none") => q = q.filter(risk_finding::Column::AnalysisState.is_null()),
        Some(state) => q = q.filter(risk_finding::Column::AnalysisState.eq(state)),
        None if !filter.include_suppressed => {
            q = q.filter(risk_finding::Column::Suppressed.eq(false));
        }
        None => {}
    }
    if let Some(d) = &filter.ssvc {
        q = q.filter(risk_finding::Column::Ssvc.eq(d.as_str()));
    }
    if let Some(t) = &filter.treatment {
        q = q.filter(risk_finding::Column::Treatment.eq(t.as_str()));
    }
    let total = q.clone().count(db.conn()).await?;
    let per_page = filter.per_page.clamp(1, 1000);
    use risk_finding::Column as C;
    q = match filter.sort.as_deref() {
        Some("score_asc") => q.order_by_asc(C::Score).order_by_asc(C::Kev),
        Some("asset") => q.order_by_asc(C::AssetKey).order_by_desc(C::Score),
        Some("vulnerability") => q.order_by_asc(C::VulnId).order_by_asc(C::AssetKey),
        Some("newest") => q.order_by_desc(C::ScoredAt).order_by_desc(C::Score),
        Some("component") => q.order_by_asc(C::Component).order_by_desc(C::Score),
        _ => q.order_by_desc(C::Score).order_by_desc(C::Kev),
    };
    let rows = q
        .order_by_asc(risk_finding::Column::AssetKey)
        .order_by_asc(risk_finding::Column::VulnId)
        .order_by_asc(risk_finding::Column::Id)
        .offset(rampart_platform::page_offset(filter.page, per_page))
        .limit(per_page)
        .all(db.conn())
        .await?;
    Ok((rows.into_iter().map(FindingView::from).collect(), total))
}

/// The current risk of the asset `key`, `None` if RiskAnalysis does not know it (or it is
/// retired).
///
/// # Errors
/// Database errors.
pub async fn asset_risk(db: &Db, key: &str) -> Result<Option<AssetRisk>, sea_orm::DbErr> {
    let Some(a) = risk_asset::Entity::find_by_id(key.to_owned())
        .one(db.conn())
        .await?
    else {
        return Ok(None);
    };
    if a.retired {
        return Ok(None);
    }
    let base = risk_finding::Entity::find()
        .filter(risk_finding::Column::AssetKey.eq(key))
        .filter(risk_finding::Column::Suppressed.eq(false));
    let finding_count = base.clone().count(db.conn()).await?;
    let kev_count = base
        .clone()
        .filter(risk_finding::Column::Kev.eq(true))
        .count(db.conn())
        .await?;
    let top: Vec<FindingView> = base
        .order_by_desc(risk_finding::Column::Score)
        .order_by_desc(risk_finding::Column::Kev)
        .order_by_asc(risk_finding::Column::VulnId)
        .limit(10)
        .all(db.conn())
        .await?
        .into_iter()
        .map(FindingView::from)
        .collect();
    Ok(Some(AssetRisk {
        asset_key: a.key,
        name: a.name,
        criticality: u8::try_from(a.criticality).unwrap_or(0),
        finding_count,
        kev_count,
        max_score: top.first().map_or(0, |f| f.score),
        level: top
            .first()
            .map_or_else(|| "none".to_owned(), |f| f.level.clone()),
        top,
        updated_at: a.updated_at.to_rfc3339(),
    }))
}

/// The register's figures for a framework report: findings by level, KEV-listed findings, the
/// 10 highest (AuditReporting's reports read them through the node, never the table).
///
/// # Errors
/// Database errors.
pub async fn report_figures(db: &Db) -> Result<RiskFigures, sea_orm::DbErr> {
    let mut by_level = std::collections::BTreeMap::new();
    for level in ["very_high", "high", "moderate", "low", "very_low"] {
        let n = risk_finding::Entity::find()
            .filter(risk_finding::Column::Level.eq(level))
            .filter(risk_finding::Column::Suppressed.eq(false))
            .count(db.conn())
            .await?;
        by_level.insert(level.to_owned(), n);
    }
    let total = by_level.values().sum();
    let kev = risk_finding::Entity::find()
        .filter(risk_finding::Column::Kev.eq(true))
        .filter(risk_finding::Column::Suppressed.eq(false))
        .count(db.conn())
        .await?;
    let (top, _) = list_findings(
        db,
        &FindingFilter {
            page: 1,
            per_page: 10,
            ..Default::default()
        },
    )
    .await?;
    let accepted = crate::decisions::accepted_risks(db, 1000)
        .await?
        .into_iter()
        .map(|t| rampart_contracts::risk::AcceptedRisk {
            finding_key: t.finding_key,
            asset_key: t.asset_key,
            vulnerability: t.vulnerability,
            rationale: t.rationale,
            accepted_by: t.decided_by,
            expires_at: t.expires_at.unwrap_or_default(),
        })
        .collect();
    Ok(RiskFigures {
        total,
        kev,
        by_level,
        top,
        accepted,
    })
}

/// Publication dates of the vulnerability records `ids` that have one (OSV/NVD `published`).
///
/// # Errors
/// Database errors.
pub async fn published_dates(
    db: &Db,
    ids: impl IntoIterator<Item = String>,
) -> Result<std::collections::HashMap<String, DateTime<Utc>>, sea_orm::DbErr> {
    let mut out = std::collections::HashMap::new();
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        let record = risk_vulnerability::Entity::find_by_id(id.clone())
            .one(db.conn())
            .await?;
        let published = record
            .and_then(|r| r.record.get("published").cloned())
            .and_then(|p| serde_json::from_value::<Option<DateTime<Utc>>>(p).ok())
            .flatten();
        if let Some(p) = published {
            out.insert(id, p);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_contracts::asset::{AssetKind, Format};

    async fn db() -> Db {
        Db::connect::<crate::migrations::Migrator>(
            "sqlite::memory:",
            &rampart_platform::DbOptions {
                max_connections: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }

    fn event(component: &str, at: DateTime<Utc>) -> Envelope {
        let asset = Asset {
            key: "purl:pkg:generic/app@1".to_owned(),
            kind: AssetKind::Application,
            name: "app".to_owned(),
            version: Some("1".to_owned()),
            owner: None,
            tags: Vec::new(),
            criticality: 3,
            components: vec![Component::named(component)],
            addresses: Vec::new(),
            source: Format::CycloneDx,
        };
        let mut e = Envelope::new(
            "asset.changed",
            "n1",
            &AssetEvent {
                asset: std::borrow::Cow::Owned(asset),
                fingerprint: std::borrow::Cow::Borrowed("f"),
            },
        )
        .unwrap();
        e.occurred_at = at;
        e
    }

    async fn components(db: &Db) -> Vec<String> {
        risk_component::Entity::find()
            .all(db.conn())
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    #[tokio::test]
    async fn an_older_asset_event_arriving_after_a_newer_one_changes_nothing() {
        let db = db().await;
        let state = RiskState::default();
        let t0 = Utc::now() - chrono::Duration::seconds(10);
        let (older, newer) = (event("old-lib", t0), event("new-lib", Utc::now()));
        let out = apply_asset_events(&db, "n1", &state, std::slice::from_ref(&newer))
            .await
            .unwrap();
        assert_eq!(out, vec![EventOutcome::Applied]);
        // The older one, redelivered late: acknowledged, not applied.
        let out = apply_asset_events(&db, "n1", &state, std::slice::from_ref(&older))
            .await
            .unwrap();
        assert_eq!(out, vec![EventOutcome::Applied]);
        assert_eq!(components(&db).await, vec!["new-lib"]);
        // In order, both apply.
        let later = event("newest-lib", Utc::now() + chrono::Duration::seconds(1));
        apply_asset_events(&db, "n1", &state, std::slice::from_ref(&later))
            .await
            .unwrap();
        assert_eq!(components(&db).await, vec!["newest-lib"]);
    }
}
