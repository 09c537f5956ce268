//! Triage: deciding a finding once and applying the decision everywhere it holds.
//!
//! Every decision is a [`crate::vex::Statement`] held in `risk_statements`: the statements of
//! imported VEX documents (CycloneDX, OpenVEX, CSAF) and the triage decisions people make
//! through the API (origin `triage`, the principal as author). A finding's **analysis** is
//! the latest statement (by the time it was made, then by arrival) that
//! - names the finding's vulnerability: its record id, CVE ids or aliases
//!   ([`crate::vex::product::vulnerability_matches`]), and
//! - covers the finding's component inside the finding's asset, with the VEX product
//!   semantics ([`crate::vex::product::covers`]: a statement about product P with
//!   subcomponent C covers C inside P only), and
//! - for a decision about one finding, names that finding's asset.
//!
//! The analysis is computed whenever a finding is scored, so a finding born after the
//! statement arrived is born decided, and a later statement supersedes an earlier one. The
//! statements are few next to the findings; they are held in memory ([`Statements`]), indexed
//! by lower-cased vulnerability id, and loaded at start.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use sha2::{Digest as _, Sha256};

use crate::entities::risk_statement;
use crate::vex::Statement;
use crate::vex::product::{Target, covers, vulnerability_matches};

/// Most statements held (VEX statements and triage decisions together); past it an import
/// is refused.
pub const MAX_STATEMENTS: usize = 1_000_000;

/// The stable key of a finding: the first 32 hex digits of the SHA-256 of asset key,
/// vulnerability id, component name, version and purl, separated by NUL bytes.
pub fn finding_key(
    asset_key: &str,
    vuln_id: &str,
    component: &str,
    version: Option<&str>,
    purl: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        asset_key,
        vuln_id,
        component,
        version.unwrap_or(""),
        purl.unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A statement as RiskAnalysis holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldStatement {
    /// `risk_statements.id`.
    pub id: i64,
    /// `vex` or `triage`.
    pub origin: String,
    /// For a decision about one finding: its asset.
    pub asset_key: Option<String>,
    /// Who made it: a principal `sub` or `vex:<document id>`.
    pub made_by: String,
    /// The statement.
    pub statement: Statement,
}

impl HeldStatement {
    /// Whether this statement decides the finding of vulnerability `ids` on `component`
    /// inside `asset` (module docs).
    pub fn decides(
        &self,
        ids: &[&str],
        asset_key: &str,
        asset: &Target<'_>,
        component: &Target<'_>,
    ) -> bool {
        if self.asset_key.as_deref().is_some_and(|k| k != asset_key) {
            return false;
        }
        vulnerability_matches(&self.statement, ids)
            && self
                .statement
                .products
                .iter()
                .any(|p| covers(p, asset, component))
    }

    /// The order of supersession: the time the statement was made, then its arrival.
    fn rank(&self) -> (DateTime<Utc>, i64) {
        (self.statement.timestamp, self.id)
    }
}

/// The statements held, indexed by lower-cased vulnerability id and alias.
#[derive(Debug, Clone, Default)]
pub struct Statements {
    list: Vec<HeldStatement>,
    by_id: HashMap<String, Vec<usize>>,
}

/// Why the stored statements could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StatementsError {
    /// A database error.
    #[error("loading statements: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// A stored statement does not decode.
    #[error("stored statement {id} does not decode: {message}")]
    Corrupt {
        /// Its id.
        id: i64,
        /// serde's message.
        message: String,
    },
}

impl Statements {
    /// Loads every stored statement, in arrival order.
    ///
    /// # Errors
    /// [`StatementsError`].
    pub async fn load<C: ConnectionTrait>(db: &C) -> Result<Self, StatementsError> {
        let mut out = Self::default();
        for row in risk_statement::Entity::find()
            .order_by_asc(risk_statement::Column::Id)
            .all(db)
            .await?
        {
            let statement: Statement =
                serde_json::from_value(row.statement).map_err(|e| StatementsError::Corrupt {
                    id: row.id,
                    message: e.to_string(),
                })?;
            out.push(HeldStatement {
                id: row.id,
                origin: row.origin,
                asset_key: row.asset_key,
                made_by: row.made_by,
                statement,
            });
        }
        Ok(out)
    }

    /// Adds a statement (already stored).
    pub fn push(&mut self, s: HeldStatement) {
        let i = self.list.len();
        for id in s.statement.names() {
            self.by_id.entry(id).or_default().push(i);
        }
        self.list.push(s);
    }

    /// Number of statements held.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The statement deciding the finding of vulnerability `ids` (record id, CVE ids,
    /// aliases) on `component` inside the asset `asset_key` / `asset`: the latest of those
    /// that decide it ([`HeldStatement::decides`]), `None` when none does.
    pub fn effective(
        &self,
        ids: &[&str],
        asset_key: &str,
        asset: &Target<'_>,
        component: &Target<'_>,
    ) -> Option<&HeldStatement> {
        let mut seen: Vec<usize> = ids
            .iter()
            .filter_map(|id| self.by_id.get(&id.to_ascii_lowercase()))
            .flatten()
            .copied()
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.into_iter()
            .filter_map(|i| self.list.get(i))
            .filter(|s| s.decides(ids, asset_key, asset, component))
            .max_by_key(|s| s.rank())
    }
}

/// The product identity of an asset for VEX matching: its purl when its key is one
/// (`purl:pkg:...`, the key CycloneDX and SPDX imports give a document whose subject has a
/// purl), its name and version otherwise.
pub fn asset_target<'a>(key: &'a str, name: &'a str, version: Option<&'a str>) -> Target<'a> {
    Target {
        purl: key.strip_prefix("purl:"),
        cpe: None,
        name,
        version,
    }
}
