//! The writing side of triage ([`crate::triage`]): VEX imports, triage decisions, risk
//! treatment and the expiry of acceptances, each in one transaction with its events and its
//! timeline entries, re-scoring only the assets whose findings it can change.
//!
//! | operation | event (outbox, chained by AuditReporting) |
//! |---|---|
//! | [`import_vex`] | `risk.vex.imported`, then `risk.analysis.changed` per asset changed |
//! | [`decide`] | `risk.analysis.changed` |
//! | [`treat`] | `risk.treatment.changed` |
//! | [`expire_acceptances`] | `risk.treatment.expired` |
//!
//! Risk treatment follows ISO/IEC 27005:2022 §8.5 (options: modify the risk, here
//! `mitigate` with the controls that do it; retain, here `accept`, with a rationale and an
//! expiry; share, here `transfer`; avoid). An acceptance that reaches its expiry reopens the
//! finding: the treatment ends, the timeline says so, and the finding counts as untreated again.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::entities::{
    risk_finding, risk_finding_history, risk_ssvc, risk_statement, risk_treatment,
    risk_vex_document,
};
use crate::feeds::vulnrichment::VulnrichmentRecord;
use crate::store::{RiskState, RiskStoreError, SERVICE, rescore};
use crate::triage::HeldStatement;
use crate::vex::{
    AnalysisState, Identifier, Justification, Product, Response, Statement, VexDocument,
};
use rampart_contracts::risk::FindingView;
use rampart_platform::Db;
use rampart_platform::bus::Envelope;
use rampart_platform::outbox;

/// Longest acceptance: 3 years (an acceptance is reviewed at least that often).
pub const MAX_ACCEPTANCE_DAYS: i64 = 3 * 366;

/// Most controls linked to one mitigation.
pub const MAX_CONTROLS: usize = 64;

/// Longest rationale or detail text, characters.
pub const MAX_TEXT: usize = 4096;

/// Statements of one import listed as matching nothing (the rest are counted).
pub const MAX_UNMATCHED_LISTED: usize = 200;

/// Why a triage operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// No finding has this key.
    #[error("no finding has the key {0}")]
    NotFound(String),
    /// The request is wrong (a 4xx: what is wrong is said).
    #[error("{0}")]
    Invalid(String),
    /// Storage failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] RiskStoreError),
}

impl From<sea_orm::DbErr> for DecisionError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Store(RiskStoreError::Db(e))
    }
}

impl From<rampart_platform::outbox::OutboxError> for DecisionError {
    fn from(e: rampart_platform::outbox::OutboxError) -> Self {
        Self::Store(RiskStoreError::Outbox(e))
    }
}

impl From<rampart_platform::bus::BusError> for DecisionError {
    fn from(e: rampart_platform::bus::BusError) -> Self {
        Self::Store(RiskStoreError::Event(e))
    }
}

/// A statement of an import that decided no finding (reported, not an error).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UnmatchedStatement {
    /// Its vulnerability.
    pub vulnerability: String,
    /// Its products, as written (purl, CPE or name).
    pub products: Vec<String>,
    /// Its state.
    pub state: AnalysisState,
}

/// What a VEX import did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VexImportOutcome {
    /// The stored document's id (`risk_vex_documents.id`).
    pub document: i64,
    /// The document's own id.
    pub document_id: String,
    /// `cyclonedx`, `openvex`, `csaf`.
    pub format: String,
    /// `true` when these exact bytes were imported before: nothing was done.
    pub duplicate: bool,
    /// Statements in the document.
    pub statements: usize,
    /// Findings whose analysis one of its statements now decides.
    pub findings_decided: u64,
    /// Assets re-scored.
    pub assets_rescored: usize,
    /// Statements that decide no finding (about products not in the inventory, or
    /// superseded by later statements), at most [`MAX_UNMATCHED_LISTED`] listed.
    pub unmatched: Vec<UnmatchedStatement>,
    /// How many decide no finding.
    pub unmatched_count: usize,
}

fn ids_text(ids: &[Identifier]) -> String {
    ids.iter()
        .map(|i| match i {
            Identifier::Purl(p) => p.clone(),
            Identifier::Cpe(c) => c.clone(),
            Identifier::Name { name, version } => match version {
                Some(v) => format!("{name}@{v}"),
                None => name.clone(),
            },
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn product_text(p: &Product) -> String {
    let mut s = ids_text(&p.ids);
    if !p.subcomponents.is_empty() {
        let subs: Vec<String> = p.subcomponents.iter().map(|c| ids_text(c)).collect();
        s.push_str(&format!(" (subcomponents: {})", subs.join(", ")));
    }
    s
}

/// The asset keys holding a finding of a vulnerability record named by one of `names`
/// (lower-cased ids and aliases), through the records' ids, aliases and CVE ids.
async fn assets_with_findings_of(
    tx: &sea_orm::DatabaseTransaction,
    state: &RiskState,
    names: &HashSet<String>,
) -> Result<BTreeSet<String>, sea_orm::DbErr> {
    let records: Vec<String> = state
        .vulnerabilities()
        .filter(|v| {
            std::iter::once(v.id.as_str())
                .chain(v.aliases.iter().map(String::as_str))
                .chain(v.cve_ids())
                .any(|id| names.contains(&id.to_ascii_lowercase()))
        })
        .map(|v| v.id.clone())
        .collect();
    let mut assets = BTreeSet::new();
    for chunk in records.chunks(400) {
        let keys: Vec<String> = risk_finding::Entity::find()
            .select_only()
            .column(risk_finding::Column::AssetKey)
            .distinct()
            .filter(risk_finding::Column::VulnId.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(tx)
            .await?;
        assets.extend(keys);
    }
    Ok(assets)
}

/// `result`, after reloading `state` from the database when it is an error (the state may
/// hold what was not committed).
async fn reloaded_on_error<T>(
    db: &Db,
    state: &mut RiskState,
    result: Result<T, DecisionError>,
) -> Result<T, DecisionError> {
    if result.is_err() {
        state.reload_decisions(db).await?;
    }
    result
}

/// Imports a parsed VEX document (`bytes` for its fingerprint) sent by `by`: stores it and
/// its statements, re-scores the assets holding findings of the vulnerabilities it names,
/// and reports the statements that decided nothing. `state` is reloaded on error.
///
/// With `scope` = (`asset`, `reference`) (an asset key), the document is about that asset, the way Dependency-Track
/// takes a VEX per project: every statement covers that asset only, and the product named
/// only by a reference that matches none of the asset's components (a CycloneDX
/// `affects[].ref` or BOM-Link fragment naming the SBOM's own `metadata.component`) is the
/// asset itself: the one such reference of the document, or `reference` when it names
/// several (refused otherwise, as ambiguous). Statements about the other references then
/// match nothing.
///
/// # Errors
/// [`DecisionError::Invalid`] past [`crate::triage::MAX_STATEMENTS`] or for an unknown
/// asset; storage errors (nothing stored).
pub async fn import_vex(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    mut doc: VexDocument,
    bytes: &[u8],
    by: &str,
    scope: Option<(&str, Option<&str>)>,
) -> Result<VexImportOutcome, DecisionError> {
    let asset = scope.map(|(key, _)| key);
    if let Some((key, reference)) = scope {
        scope_to_asset(db, &mut doc, key, reference).await?;
    }
    let result = import_inner(db, node, state, doc, bytes, by, asset).await;
    reloaded_on_error(db, state, result).await
}

/// Rewrites the products of `doc` that name the asset `key` itself (see [`import_vex`]).
async fn scope_to_asset(
    db: &Db,
    doc: &mut VexDocument,
    key: &str,
    reference: Option<&str>,
) -> Result<(), DecisionError> {
    use crate::entities::{risk_asset, risk_component};
    let Some(a) = risk_asset::Entity::find_by_id(key.to_owned())
        .one(db.conn())
        .await?
    else {
        return Err(DecisionError::Invalid(format!(
            "risk analysis does not know the asset {key}"
        )));
    };
    let names: HashSet<String> = risk_component::Entity::find()
        .select_only()
        .column(risk_component::Column::Name)
        .filter(risk_component::Column::AssetKey.eq(key))
        .into_tuple::<String>()
        .all(db.conn())
        .await?
        .into_iter()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    // A product named only by one reference (possibly at several versions) that is none
    // of the asset's components.
    let unresolved = |p: &Product| -> Option<String> {
        let mut name: Option<&str> = None;
        for i in &p.ids {
            match i {
                Identifier::Name { name: n, .. }
                    if !names.contains(&n.to_ascii_lowercase())
                        && name.is_none_or(|m| m.eq_ignore_ascii_case(n)) =>
                {
                    name = Some(n);
                }
                _ => return None,
            }
        }
        name.map(str::to_owned)
    };
    let refs: std::collections::BTreeSet<String> = doc
        .statements
        .iter()
        .flat_map(|s| s.products.iter().filter_map(&unresolved))
        .collect();
    let this = match (reference, refs.len()) {
        (Some(r), _) if refs.contains(r) => Some(r.to_owned()),
        (Some(r), _) => {
            return Err(DecisionError::Invalid(format!(
                "ref {r:?} names no product of the document (its unresolved references: {})",
                refs.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        (None, 0) => None,
        (None, 1) => refs.into_iter().next(),
        (None, _) => {
            return Err(DecisionError::Invalid(format!(
                "the document names several products by reference ({}): say which one is this asset with ref=",
                refs.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
    };
    for s in &mut doc.statements {
        for p in &mut s.products {
            if this.is_some() && unresolved(p) == this {
                // The asset itself, at the versions the statement names (any without one).
                p.ids = p
                    .ids
                    .iter()
                    .map(|i| match i {
                        Identifier::Name { version, .. } => Identifier::Name {
                            name: a.name.clone(),
                            version: version.clone(),
                        },
                        other => other.clone(),
                    })
                    .collect();
            }
        }
    }
    Ok(())
}

async fn import_inner(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    doc: VexDocument,
    bytes: &[u8],
    by: &str,
    asset: Option<&str>,
) -> Result<VexImportOutcome, DecisionError> {
    let sha: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let format = serde_json::to_value(doc.format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut out = VexImportOutcome {
        document: 0,
        document_id: doc.id.clone(),
        format,
        duplicate: false,
        statements: doc.statements.len(),
        findings_decided: 0,
        assets_rescored: 0,
        unmatched: Vec::new(),
        unmatched_count: 0,
    };
    if state.statement_count() + doc.statements.len() > crate::triage::MAX_STATEMENTS {
        return Err(DecisionError::Invalid(format!(
            "{} statements are held and the document adds {}: at most {} in all",
            state.statement_count(),
            doc.statements.len(),
            crate::triage::MAX_STATEMENTS
        )));
    }
    let tx = db.begin_write().await?;
    if let Some(prev) = risk_vex_document::Entity::find()
        .filter(risk_vex_document::Column::Sha256.eq(sha.as_str()))
        .one(&tx)
        .await?
    {
        tx.rollback().await?;
        out.document = prev.id;
        out.duplicate = true;
        return Ok(out);
    }
    let now = Utc::now();
    let made_by: String = format!("vex:{}", doc.id).chars().take(1024).collect();
    let row = risk_vex_document::Entity::insert(risk_vex_document::ActiveModel {
        doc_id: Set(doc.id.chars().take(1024).collect()),
        format: Set(out.format.clone()),
        author: Set(doc.author.clone().map(|a| a.chars().take(1024).collect())),
        sha256: Set(sha),
        statements: Set(i64::try_from(doc.statements.len()).unwrap_or(i64::MAX)),
        imported_by: Set(by.chars().take(256).collect()),
        imported_at: Set(now),
        ..Default::default()
    })
    .exec(&tx)
    .await?;
    out.document = row.last_insert_id;
    let mut names: HashSet<String> = HashSet::new();
    let mut new_ids = Vec::with_capacity(doc.statements.len());
    for s in &doc.statements {
        names.extend(s.names());
        let r = risk_statement::Entity::insert(risk_statement::ActiveModel {
            document: Set(Some(out.document)),
            origin: Set("vex".to_owned()),
            asset_key: Set(asset.map(str::to_owned)),
            statement: Set(serde_json::to_value(s).unwrap_or_default()),
            made_at: Set(s.timestamp),
            made_by: Set(made_by.clone()),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(&tx)
        .await?;
        new_ids.push(r.last_insert_id);
        state.push_statement(HeldStatement {
            id: r.last_insert_id,
            origin: "vex".to_owned(),
            asset_key: asset.map(str::to_owned),
            made_by: made_by.clone(),
            statement: s.clone(),
        });
    }
    let assets = assets_with_findings_of(&tx, state, &names).await?;
    let (n_assets, _) = rescore(&tx, node, state, &assets).await?;
    out.assets_rescored = n_assets;
    // Which statements decide a finding now.
    let mut decided: BTreeMap<i64, u64> = BTreeMap::new();
    for chunk in new_ids.chunks(400) {
        let rows: Vec<Option<i64>> = risk_finding::Entity::find()
            .select_only()
            .column(risk_finding::Column::AnalysisStatement)
            .filter(risk_finding::Column::AnalysisStatement.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&tx)
            .await?;
        for id in rows.into_iter().flatten() {
            *decided.entry(id).or_default() += 1;
        }
    }
    out.findings_decided = decided.values().sum();
    for (id, s) in new_ids.iter().zip(&doc.statements) {
        if decided.contains_key(id) {
            continue;
        }
        out.unmatched_count += 1;
        if out.unmatched.len() < MAX_UNMATCHED_LISTED {
            out.unmatched.push(UnmatchedStatement {
                vulnerability: s.vulnerability.clone(),
                products: s.products.iter().map(product_text).collect(),
                state: s.state,
            });
        }
    }
    let e = Envelope::new(
        "risk.vex.imported",
        node,
        &serde_json::json!({
            "document": out.document,
            "document_id": out.document_id,
            "format": out.format,
            "statements": out.statements,
            "findings_decided": out.findings_decided,
            "unmatched": out.unmatched_count,
            "imported_by": by,
        }),
    )?;
    outbox::append(&tx, SERVICE, &e).await?;
    crate::read_model::bump(&tx).await?;
    tx.commit().await?;
    state.refresh_mark(db).await?;
    Ok(out)
}

/// Whom a triage decision covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionScope {
    /// This finding only (its asset, vulnerability and component).
    #[default]
    Finding,
    /// The same component (same purl, or name and version) with this vulnerability in every
    /// asset, now and later: "decide once, apply everywhere".
    Component,
}

/// A triage decision as the API takes it.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// The analysis state.
    pub state: AnalysisState,
    /// Why not affected (CycloneDX justification).
    #[serde(default)]
    pub justification: Option<Justification>,
    /// Responses.
    #[serde(default)]
    pub responses: Vec<Response>,
    /// Detail text, at most [`MAX_TEXT`] characters.
    #[serde(default)]
    pub detail: Option<String>,
    /// Whom it covers (default `finding`).
    #[serde(default)]
    pub scope: DecisionScope,
}

/// Checks a decision: `not_affected` needs a justification or a detail (CISA, "Minimum
/// Requirements for VEX", 2023: a not-affected status carries a justification or an impact
/// statement); a justification only goes with `not_affected`; texts bounded.
///
/// # Errors
/// [`DecisionError::Invalid`] naming the problem.
pub fn validate_decision(d: &DecisionInput) -> Result<(), DecisionError> {
    if d.state == AnalysisState::NotAffected
        && d.justification.is_none()
        && d.detail.as_deref().is_none_or(|t| t.trim().is_empty())
    {
        return Err(DecisionError::Invalid(
            "not_affected needs a justification or a detail (CISA minimum requirements for VEX)"
                .into(),
        ));
    }
    if d.justification.is_some() && d.state != AnalysisState::NotAffected {
        return Err(DecisionError::Invalid(format!(
            "a justification explains not_affected only, not {}",
            d.state.as_str()
        )));
    }
    if d.detail
        .as_deref()
        .is_some_and(|t| t.chars().count() > MAX_TEXT)
    {
        return Err(DecisionError::Invalid(format!(
            "detail is longer than {MAX_TEXT} characters"
        )));
    }
    if d.responses.len() > Response::ALL.len() {
        return Err(DecisionError::Invalid("too many responses".into()));
    }
    Ok(())
}

async fn finding_by_key(
    db: &impl sea_orm::ConnectionTrait,
    key: &str,
) -> Result<risk_finding::Model, DecisionError> {
    risk_finding::Entity::find()
        .filter(risk_finding::Column::FindingKey.eq(key))
        .one(db)
        .await?
        .ok_or_else(|| DecisionError::NotFound(key.to_owned()))
}

/// Records the triage decision `d` of `by` about the finding `key` (a statement made now,
/// superseding earlier ones), re-scores what it covers, and returns the finding as it is
/// then. `state` is reloaded on error.
///
/// # Errors
/// [`DecisionError::NotFound`], [`DecisionError::Invalid`], storage errors (nothing stored).
pub async fn decide(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    key: &str,
    d: DecisionInput,
    by: &str,
) -> Result<FindingView, DecisionError> {
    validate_decision(&d)?;
    let result = decide_inner(db, node, state, key, d, by).await;
    reloaded_on_error(db, state, result).await
}

async fn decide_inner(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    key: &str,
    d: DecisionInput,
    by: &str,
) -> Result<FindingView, DecisionError> {
    let tx = db.begin_write().await?;
    let f = finding_by_key(&tx, key).await?;
    let cves: Vec<String> = serde_json::from_value(f.cves.clone()).unwrap_or_default();
    let component = match &f.purl {
        Some(p) => Identifier::Purl(p.clone()),
        None => Identifier::Name {
            name: f.component.clone(),
            version: f.component_version.clone(),
        },
    };
    let now = Utc::now();
    let statement = Statement {
        vulnerability: f.vuln_id.clone(),
        aliases: cves,
        products: vec![Product {
            ids: vec![component],
            subcomponents: Vec::new(),
        }],
        state: d.state,
        justification: d.justification,
        responses: d.responses,
        detail: d.detail,
        timestamp: now,
    };
    let asset_key = (d.scope == DecisionScope::Finding).then(|| f.asset_key.clone());
    let by: String = by.chars().take(256).collect();
    let r = risk_statement::Entity::insert(risk_statement::ActiveModel {
        document: Set(None),
        origin: Set("triage".to_owned()),
        asset_key: Set(asset_key.clone()),
        statement: Set(serde_json::to_value(&statement).unwrap_or_default()),
        made_at: Set(now),
        made_by: Set(by.clone()),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(&tx)
    .await?;
    let names: HashSet<String> = statement.names().into_iter().collect();
    state.push_statement(HeldStatement {
        id: r.last_insert_id,
        origin: "triage".to_owned(),
        asset_key: asset_key.clone(),
        made_by: by,
        statement,
    });
    let assets = match asset_key {
        Some(k) => BTreeSet::from([k]),
        None => assets_with_findings_of(&tx, state, &names).await?,
    };
    rescore(&tx, node, state, &assets).await?;
    crate::read_model::bump(&tx).await?;
    let after = finding_by_key(&tx, key).await?;
    tx.commit().await?;
    state.refresh_mark(db).await?;
    Ok(FindingView::from(after))
}

/// The ISO/IEC 27005 risk treatment options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TreatmentOption {
    /// Modify the risk with controls (`controls` required).
    Mitigate,
    /// Retain the risk (`rationale` and `expires_at` required; the accepting role only).
    Accept,
    /// Share the risk (`transferred_to` required).
    Transfer,
    /// Avoid the risk (remove the activity or component).
    Avoid,
}

impl TreatmentOption {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mitigate => "mitigate",
            Self::Accept => "accept",
            Self::Transfer => "transfer",
            Self::Avoid => "avoid",
        }
    }
}

/// A treatment as the API takes it.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TreatmentInput {
    /// The option.
    pub option: TreatmentOption,
    /// Control ids that mitigate the risk (`mitigate`), e.g. `PR.PS-02`, `SI-2`.
    #[serde(default)]
    pub controls: Vec<String>,
    /// Why (required for `accept`), at most [`MAX_TEXT`] characters.
    #[serde(default)]
    pub rationale: String,
    /// To whom (`transfer`).
    #[serde(default)]
    pub transferred_to: Option<String>,
    /// When an acceptance ends, RFC 3339 (`accept`; in the future, at most
    /// [`MAX_ACCEPTANCE_DAYS`] days ahead).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A finding's treatment as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TreatmentView {
    /// The finding.
    pub finding_key: String,
    /// Its asset.
    pub asset_key: String,
    /// Its vulnerability.
    pub vulnerability: String,
    /// The option.
    pub option: String,
    /// Linked controls.
    pub controls: Vec<String>,
    /// Why.
    pub rationale: String,
    /// To whom (transfer).
    pub transferred_to: Option<String>,
    /// Acceptance expiry, RFC 3339.
    pub expires_at: Option<String>,
    /// `active` or `expired`.
    pub status: String,
    /// Who decided.
    pub decided_by: String,
    /// When, RFC 3339.
    pub decided_at: String,
}

impl From<risk_treatment::Model> for TreatmentView {
    fn from(m: risk_treatment::Model) -> Self {
        Self {
            finding_key: m.finding_key,
            asset_key: m.asset_key,
            vulnerability: m.vuln_id,
            option: m.option,
            controls: serde_json::from_value(m.controls).unwrap_or_default(),
            rationale: m.rationale,
            transferred_to: m.transferred_to,
            expires_at: m
                .expires_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            status: m.status,
            decided_by: m.decided_by,
            decided_at: m
                .decided_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

/// Checks a treatment against its option's requirements (module docs) at `now`.
///
/// # Errors
/// [`DecisionError::Invalid`] naming the problem.
pub fn validate_treatment(t: &TreatmentInput, now: DateTime<Utc>) -> Result<(), DecisionError> {
    let bad = |m: String| Err(DecisionError::Invalid(m));
    if t.rationale.chars().count() > MAX_TEXT {
        return bad(format!("rationale is longer than {MAX_TEXT} characters"));
    }
    if t.controls.len() > MAX_CONTROLS || t.controls.iter().any(|c| c.is_empty() || c.len() > 64) {
        return bad(format!(
            "controls: at most {MAX_CONTROLS} ids of 1 to 64 characters"
        ));
    }
    match t.option {
        TreatmentOption::Mitigate if t.controls.is_empty() => {
            bad("mitigate names the controls that mitigate the risk (controls)".into())
        }
        TreatmentOption::Accept => {
            if t.rationale.trim().is_empty() {
                return bad("accept needs a rationale".into());
            }
            match t.expires_at {
                None => bad("accept needs expires_at (an acceptance is reviewed)".into()),
                Some(e) if e <= now => bad(format!("expires_at {e} is not in the future")),
                Some(e) if e > now + Duration::days(MAX_ACCEPTANCE_DAYS) => bad(format!(
                    "expires_at is more than {MAX_ACCEPTANCE_DAYS} days ahead"
                )),
                Some(_) => Ok(()),
            }
        }
        TreatmentOption::Transfer
            if t.transferred_to
                .as_deref()
                .is_none_or(|s| s.trim().is_empty()) =>
        {
            bad("transfer names to whom (transferred_to)".into())
        }
        _ if t.expires_at.is_some() && t.option != TreatmentOption::Accept => {
            bad("expires_at goes with accept only".into())
        }
        _ => Ok(()),
    }
}

/// Records treatment `t` of the finding `key` by `by`.
///
/// # Errors
/// [`DecisionError::NotFound`], [`DecisionError::Invalid`], storage errors (nothing stored).
pub async fn treat(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    key: &str,
    t: TreatmentInput,
    by: &str,
) -> Result<TreatmentView, DecisionError> {
    let now = Utc::now();
    validate_treatment(&t, now)?;
    let tx = db.begin_write().await?;
    let f = finding_by_key(&tx, key).await?;
    let model = risk_treatment::ActiveModel {
        finding_key: Set(key.to_owned()),
        asset_key: Set(f.asset_key.clone()),
        vuln_id: Set(f.vuln_id.clone()),
        option: Set(t.option.as_str().to_owned()),
        controls: Set(serde_json::json!(t.controls)),
        rationale: Set(t.rationale.clone()),
        transferred_to: Set(t.transferred_to.clone()),
        expires_at: Set(t.expires_at),
        status: Set("active".to_owned()),
        decided_by: Set(by.chars().take(256).collect()),
        decided_at: Set(now),
    };
    risk_treatment::Entity::insert(model)
        .on_conflict(
            OnConflict::column(risk_treatment::Column::FindingKey)
                .update_columns([
                    risk_treatment::Column::AssetKey,
                    risk_treatment::Column::VulnId,
                    risk_treatment::Column::Option,
                    risk_treatment::Column::Controls,
                    risk_treatment::Column::Rationale,
                    risk_treatment::Column::TransferredTo,
                    risk_treatment::Column::ExpiresAt,
                    risk_treatment::Column::Status,
                    risk_treatment::Column::DecidedBy,
                    risk_treatment::Column::DecidedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&tx)
        .await?;
    let view = risk_treatment::Entity::find_by_id(key.to_owned())
        .one(&tx)
        .await?
        .map(TreatmentView::from)
        .ok_or_else(|| DecisionError::NotFound(key.to_owned()))?;
    history(&tx, &f, "treatment", serde_json::json!(view), by).await?;
    risk_finding::Entity::update_many()
        .col_expr(
            risk_finding::Column::Treatment,
            Expr::value(t.option.as_str()),
        )
        .filter(risk_finding::Column::FindingKey.eq(key))
        .exec(&tx)
        .await?;
    let e = Envelope::new("risk.treatment.changed", node, &view)?;
    outbox::append(&tx, SERVICE, &e).await?;
    crate::read_model::bump(&tx).await?;
    tx.commit().await?;
    state.set_treatment(key, Some(t.option.as_str()));
    Ok(view)
}

async fn history(
    tx: &sea_orm::DatabaseTransaction,
    f: &risk_finding::Model,
    event: &str,
    change: serde_json::Value,
    actor: &str,
) -> Result<(), sea_orm::DbErr> {
    risk_finding_history::Entity::insert(risk_finding_history::ActiveModel {
        finding_key: Set(f.finding_key.clone()),
        asset_key: Set(f.asset_key.clone()),
        vuln_id: Set(f.vuln_id.clone()),
        event: Set(event.to_owned()),
        change: Set(change),
        actor: Set(actor.chars().take(1024).collect()),
        at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

/// Ends the acceptances whose expiry is at or before `now`: each treatment becomes
/// `expired`, its finding untreated again, with an `acceptance_expired` timeline entry and a
/// `risk.treatment.expired` event. Returns how many expired. Run from the actor's own timer.
///
/// # Errors
/// Storage errors (nothing stored; the next tick retries).
pub async fn expire_acceptances(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    now: DateTime<Utc>,
) -> Result<usize, DecisionError> {
    let due_count = risk_treatment::Entity::find()
        .filter(risk_treatment::Column::Status.eq("active"))
        .filter(risk_treatment::Column::Option.eq("accept"))
        .filter(risk_treatment::Column::ExpiresAt.lte(now))
        .count(db.conn())
        .await?;
    if due_count == 0 {
        return Ok(0);
    }
    let tx = db.begin_write().await?;
    let due = risk_treatment::Entity::find()
        .filter(risk_treatment::Column::Status.eq("active"))
        .filter(risk_treatment::Column::Option.eq("accept"))
        .filter(risk_treatment::Column::ExpiresAt.lte(now))
        .limit(1000)
        .all(&tx)
        .await?;
    let mut expired = Vec::new();
    for t in due {
        risk_treatment::Entity::update_many()
            .col_expr(risk_treatment::Column::Status, Expr::value("expired"))
            .filter(risk_treatment::Column::FindingKey.eq(t.finding_key.as_str()))
            .exec(&tx)
            .await?;
        risk_finding::Entity::update_many()
            .col_expr(
                risk_finding::Column::Treatment,
                Expr::value(Option::<String>::None),
            )
            .filter(risk_finding::Column::FindingKey.eq(t.finding_key.as_str()))
            .exec(&tx)
            .await?;
        let mut view = TreatmentView::from(t.clone());
        view.status = "expired".to_owned();
        let change = serde_json::json!({
            "message": format!(
                "the acceptance by {} expired at {}: the finding is open again",
                view.decided_by,
                view.expires_at.clone().unwrap_or_default()
            ),
            "treatment": view,
        });
        risk_finding_history::Entity::insert(risk_finding_history::ActiveModel {
            finding_key: Set(t.finding_key.clone()),
            asset_key: Set(t.asset_key.clone()),
            vuln_id: Set(t.vuln_id.clone()),
            event: Set("acceptance_expired".to_owned()),
            change: Set(change),
            actor: Set("system".to_owned()),
            at: Set(now),
            ..Default::default()
        })
        .exec_without_returning(&tx)
        .await?;
        let e = Envelope::new("risk.treatment.expired", node, &view)?;
        outbox::append(&tx, SERVICE, &e).await?;
        expired.push(t.finding_key);
    }
    crate::read_model::bump(&tx).await?;
    tx.commit().await?;
    for k in &expired {
        state.set_treatment(k, None);
    }
    Ok(expired.len())
}

/// Stores CISA Vulnrichment records (SSVC decision points by CVE) and re-scores the assets
/// holding findings of those CVEs whose record changed. Returns (records changed, assets
/// re-scored). `state` is reloaded on error.
///
/// # Errors
/// Storage errors (nothing stored).
pub async fn ingest_vulnrichment(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    records: Vec<VulnrichmentRecord>,
) -> Result<(usize, usize), DecisionError> {
    let result = vulnrichment_inner(db, node, state, records).await;
    reloaded_on_error(db, state, result).await
}

async fn vulnrichment_inner(
    db: &Db,
    node: &str,
    state: &mut RiskState,
    records: Vec<VulnrichmentRecord>,
) -> Result<(usize, usize), DecisionError> {
    let changed: Vec<VulnrichmentRecord> = records
        .into_iter()
        .filter(|r| state.ssvc_record(&r.cve_id) != Some(r))
        .collect();
    if changed.is_empty() {
        return Ok((0, 0));
    }
    let now = Utc::now();
    let tx = db.begin_write().await?;
    for chunk in changed.chunks(400) {
        let rows = chunk.iter().map(|r| risk_ssvc::ActiveModel {
            cve_id: Set(r.cve_id.clone()),
            record: Set(serde_json::to_value(r).unwrap_or_default()),
            updated_at: Set(now),
        });
        risk_ssvc::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(risk_ssvc::Column::CveId)
                    .update_columns([risk_ssvc::Column::Record, risk_ssvc::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&tx)
            .await?;
    }
    let names: HashSet<String> = changed
        .iter()
        .map(|r| r.cve_id.to_ascii_lowercase())
        .collect();
    let n = changed.len();
    for r in changed {
        state.set_ssvc_record(r);
    }
    let assets = assets_with_findings_of(&tx, state, &names).await?;
    let (n_assets, _) = rescore(&tx, node, state, &assets).await?;
    crate::read_model::bump(&tx).await?;
    tx.commit().await?;
    state.refresh_mark(db).await?;
    Ok((n, n_assets))
}

/// A finding's timeline: its analysis and treatment changes, oldest first (at most 1,000).
///
/// # Errors
/// Database errors.
pub async fn timeline(
    db: &Db,
    key: &str,
) -> Result<Vec<risk_finding_history::Model>, sea_orm::DbErr> {
    use sea_orm::QueryOrder as _;
    risk_finding_history::Entity::find()
        .filter(risk_finding_history::Column::FindingKey.eq(key))
        .order_by_asc(risk_finding_history::Column::Id)
        .limit(1000)
        .all(db.conn())
        .await
}

/// One finding by its key, `None` when none has it.
///
/// # Errors
/// Database errors.
pub async fn finding(db: &Db, key: &str) -> Result<Option<FindingView>, sea_orm::DbErr> {
    Ok(risk_finding::Entity::find()
        .filter(risk_finding::Column::FindingKey.eq(key))
        .one(db.conn())
        .await?
        .map(FindingView::from))
}

/// A finding's treatment (active or expired), `None` when never treated.
///
/// # Errors
/// Database errors.
pub async fn treatment(db: &Db, key: &str) -> Result<Option<TreatmentView>, sea_orm::DbErr> {
    Ok(risk_treatment::Entity::find_by_id(key.to_owned())
        .one(db.conn())
        .await?
        .map(TreatmentView::from))
}

/// Active acceptances (for the framework reports), soonest expiry first, at most `limit`.
///
/// # Errors
/// Database errors.
pub async fn accepted_risks(db: &Db, limit: u64) -> Result<Vec<TreatmentView>, sea_orm::DbErr> {
    use sea_orm::QueryOrder as _;
    Ok(risk_treatment::Entity::find()
        .filter(risk_treatment::Column::Status.eq("active"))
        .filter(risk_treatment::Column::Option.eq("accept"))
        .order_by_asc(risk_treatment::Column::ExpiresAt)
        .limit(limit)
        .all(db.conn())
        .await?
        .into_iter()
        .map(TreatmentView::from)
        .collect())
}

/// Most findings in one export (SARIF's run, a VEX document): GitHub code scanning takes
/// at most 25,000 results per run.
pub const MAX_EXPORTED: u64 = 25_000;

/// The findings of asset `key` (or of the whole register with `None`), suppressed ones
/// included, highest score first, at most [`MAX_EXPORTED`].
///
/// # Errors
/// Database errors.
pub async fn export_findings(
    db: &Db,
    key: Option<&str>,
) -> Result<Vec<FindingView>, sea_orm::DbErr> {
    use sea_orm::QueryOrder as _;
    let mut q = risk_finding::Entity::find();
    if let Some(k) = key {
        q = q.filter(risk_finding::Column::AssetKey.eq(k));
    }
    Ok(q.order_by_desc(risk_finding::Column::Score)
        .order_by_asc(risk_finding::Column::AssetKey)
        .order_by_asc(risk_finding::Column::VulnId)
        .order_by_asc(risk_finding::Column::Id)
        .limit(MAX_EXPORTED)
        .all(db.conn())
        .await?
        .into_iter()
        .map(FindingView::from)
        .collect())
}

/// The VEX export of asset `key` (the findings with an analysis), as the VEX module takes
/// it; `None` when RiskAnalysis does not know the asset.
///
/// # Errors
/// Database errors.
pub async fn vex_export(
    db: &Db,
    key: &str,
) -> Result<
    Option<(
        crate::vex::export::ExportAsset,
        Vec<crate::vex::export::ExportItem>,
    )>,
    sea_orm::DbErr,
> {
    use crate::entities::risk_asset;
    let Some(a) = risk_asset::Entity::find_by_id(key.to_owned())
        .one(db.conn())
        .await?
    else {
        return Ok(None);
    };
    let asset = crate::vex::export::ExportAsset {
        name: a.name,
        version: a.version,
        purl: key.strip_prefix("purl:").map(str::to_owned),
    };
    let mut items = Vec::new();
    for f in export_findings(db, Some(key)).await? {
        let Some(an) = &f.analysis else { continue };
        let Some(state) = AnalysisState::parse(&an.state) else {
            continue;
        };
        let at = DateTime::parse_from_rfc3339(&an.at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        items.push(crate::vex::export::ExportItem {
            vulnerability: f.vulnerability.clone(),
            aliases: f.cves.clone(),
            component_name: f.component.clone(),
            component_version: f.component_version.clone(),
            component_purl: f.purl.clone(),
            state,
            justification: an.justification.as_deref().and_then(Justification::parse),
            responses: an
                .responses
                .iter()
                .filter_map(|r| Response::parse(r))
                .collect(),
            detail: an.detail.clone(),
            first_issued: at,
            last_updated: at,
        });
    }
    Ok(Some((asset, items)))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn treatment_row(key: &str, expires: DateTime<Utc>) -> risk_treatment::ActiveModel {
        risk_treatment::ActiveModel {
            finding_key: Set(key.to_owned()),
            asset_key: Set("purl:pkg:npm/a@1".to_owned()),
            vuln_id: Set("GHSA-x".to_owned()),
            option: Set("accept".to_owned()),
            controls: Set(serde_json::json!([])),
            rationale: Set("r".to_owned()),
            transferred_to: Set(None),
            expires_at: Set(Some(expires)),
            status: Set("active".to_owned()),
            decided_by: Set("owner".to_owned()),
            decided_at: Set(Utc::now()),
        }
    }

    #[tokio::test]
    async fn acceptances_past_their_expiry_end_and_say_so_the_others_stay() {
        let db = db().await;
        let now = Utc::now();
        for (k, e) in [
            ("a".repeat(32), now - Duration::seconds(1)),
            ("b".repeat(32), now + Duration::hours(1)),
        ] {
            risk_treatment::Entity::insert(treatment_row(&k, e))
                .exec_without_returning(db.conn())
                .await
                .unwrap();
        }
        let mut state = RiskState::default();
        state.set_treatment(&"a".repeat(32), Some("accept"));
        let n = expire_acceptances(&db, "n1", &mut state, now)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let a = treatment(&db, &"a".repeat(32)).await.unwrap().unwrap();
        assert_eq!(a.status, "expired");
        let b = treatment(&db, &"b".repeat(32)).await.unwrap().unwrap();
        assert_eq!(b.status, "active");
        let t = timeline(&db, &"a".repeat(32)).await.unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].event, "acceptance_expired");
        assert!(state.treatments.is_empty());
        // Nothing more is due.
        assert_eq!(
            expire_acceptances(&db, "n1", &mut state, now)
                .await
                .unwrap(),
            0
        );
    }

    #[test]
    fn treatments_are_checked_against_their_option() {
        let now = Utc::now();
        let t =
            |option, controls: &[&str], rationale: &str, to: Option<&str>, exp| TreatmentInput {
                option,
                controls: controls.iter().map(|c| (*c).to_owned()).collect(),
                rationale: rationale.to_owned(),
                transferred_to: to.map(str::to_owned),
                expires_at: exp,
            };
        let ok = |x: TreatmentInput| validate_treatment(&x, now).is_ok();
        assert!(ok(t(TreatmentOption::Mitigate, &["SI-2"], "", None, None)));
        assert!(!ok(t(TreatmentOption::Mitigate, &[], "", None, None)));
        assert!(ok(t(
            TreatmentOption::Transfer,
            &[],
            "",
            Some("insurer"),
            None
        )));
        assert!(!ok(t(TreatmentOption::Transfer, &[], "", None, None)));
        assert!(ok(t(TreatmentOption::Avoid, &[], "", None, None)));
        let soon = Some(now + Duration::days(1));
        assert!(ok(t(TreatmentOption::Accept, &[], "why", None, soon)));
        assert!(!ok(t(TreatmentOption::Accept, &[], "", None, soon)));
        assert!(!ok(t(TreatmentOption::Accept, &[], "why", None, None)));
        assert!(!ok(t(TreatmentOption::Accept, &[], "why", None, Some(now))));
        assert!(!ok(t(
            TreatmentOption::Accept,
            &[],
            "why",
            None,
            Some(now + Duration::days(MAX_ACCEPTANCE_DAYS + 1))
        )));
        assert!(!ok(t(TreatmentOption::Avoid, &[], "", None, soon)));
    }

    #[test]
    fn decisions_follow_the_cisa_minimum_requirements() {
        let d = |state, j, detail: Option<&str>| DecisionInput {
            state,
            justification: j,
            responses: Vec::new(),
            detail: detail.map(str::to_owned),
            scope: DecisionScope::Finding,
        };
        assert!(validate_decision(&d(AnalysisState::NotAffected, None, None)).is_err());
        assert!(validate_decision(&d(AnalysisState::NotAffected, None, Some("  "))).is_err());
        assert!(
            validate_decision(&d(
                AnalysisState::NotAffected,
                Some(Justification::CodeNotReachable),
                None
            ))
            .is_ok()
        );
        assert!(validate_decision(&d(AnalysisState::NotAffected, None, Some("why"))).is_ok());
        assert!(
            validate_decision(&d(
                AnalysisState::Exploitable,
                Some(Justification::CodeNotReachable),
                None
            ))
            .is_err()
        );
        assert!(validate_decision(&d(AnalysisState::FalsePositive, None, None)).is_ok());
    }
}
