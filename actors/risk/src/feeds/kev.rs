//! CISA Known Exploited Vulnerabilities (KEV) catalog, JSON feed
//! (<https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json>,
//! schema `known_exploited_vulnerabilities_schema.json`).
//!
//! Top-level keys: `title`, `catalogVersion` (e.g. `2025.08.25`), `dateReleased` (RFC 3339),
//! `count`, `vulnerabilities[]` with `cveID`, `vendorProject`, `product`, `vulnerabilityName`,
//! `dateAdded`, `dueDate` (`YYYY-MM-DD`), `knownRansomwareCampaignUse` (`Known`/`Unknown`),
//! `cwes[]`. [`parse_kev`] checks that `count` equals the number of entries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{parse_date, parse_timestamp, top_level_keys};
use crate::error::FeedError;
use crate::model::{FeedFingerprint, KevEntry};

const FEED: &str = "KEV catalog";

/// A parsed KEV catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KevCatalog {
    /// `catalogVersion`, e.g. `2025.08.25`.
    pub catalog_version: String,
    /// `dateReleased` (UTC).
    pub date_released: DateTime<Utc>,
    /// `count`, equal to `entries.len()` (checked).
    pub count: usize,
    /// The entries, in feed order.
    pub entries: Vec<KevEntry>,
    by_cve: HashMap<String, usize>,
}

impl KevCatalog {
    /// The entry for a CVE id (exact, case-sensitive `CVE-YYYY-NNNN`), in O(1).
    pub fn get(&self, cve_id: &str) -> Option<&KevEntry> {
        self.by_cve.get(cve_id).and_then(|&i| self.entries.get(i))
    }

    /// Whether the CVE is in the catalog (known to be exploited in the wild).
    pub fn contains(&self, cve_id: &str) -> bool {
        self.by_cve.contains_key(cve_id)
    }

    /// Fingerprint `{kind: "kev", version: catalogVersion, count}`: when it equals the one of
    /// the previously processed catalog, the catalog is unchanged.
    pub fn fingerprint(&self) -> FeedFingerprint {
        FeedFingerprint {
            kind: "kev".to_owned(),
            version: self.catalog_version.clone(),
            count: self.count,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalog {
    catalog_version: String,
    date_released: String,
    count: usize,
    vulnerabilities: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: String,
    product: String,
    #[serde(default)]
    vulnerability_name: String,
    date_added: String,
    due_date: String,
    #[serde(default)]
    known_ransomware_campaign_use: String,
    #[serde(default)]
    cwes: Vec<String>,
}

/// Parses a KEV catalog from its JSON bytes.
///
/// # Errors
/// - [`FeedError::Json`] (with line and column) for invalid or truncated JSON or a field of the
///   wrong type;
/// - [`FeedError::WrongKind`] if the document is not a KEV catalog
///   (`"not a KEV catalog: `vulnerabilities` missing"`, or `catalogVersion` missing);
/// - [`FeedError::InvalidField`] for a date that does not parse;
/// - [`FeedError::CountMismatch`] if `count` differs from the number of entries.
pub fn parse_kev(bytes: &[u8]) -> Result<KevCatalog, FeedError> {
    let keys = top_level_keys(FEED, bytes)?;
    for key in ["vulnerabilities", "catalogVersion"] {
        if !keys.contains_key(key) {
            return Err(FeedError::WrongKind {
                expected: FEED,
                detail: format!("`{key}` missing"),
            });
        }
    }
    let raw: RawCatalog = serde_json::from_slice(bytes).map_err(|e| FeedError::json(FEED, &e))?;
    if raw.count != raw.vulnerabilities.len() {
        return Err(FeedError::CountMismatch {
            declared: raw.count,
            actual: raw.vulnerabilities.len(),
        });
    }
    let date_released = parse_timestamp(FEED, "dateReleased", &raw.date_released)?;
    let mut entries = Vec::with_capacity(raw.vulnerabilities.len());
    let mut by_cve = HashMap::with_capacity(raw.vulnerabilities.len());
    for e in raw.vulnerabilities {
        let date_added = parse_date(&e.cve_id, "dateAdded", &e.date_added)?;
        let due_date = parse_date(&e.cve_id, "dueDate", &e.due_date)?;
        by_cve.insert(e.cve_id.clone(), entries.len());
        entries.push(KevEntry {
            known_ransomware_campaign_use: e.known_ransomware_campaign_use == "Known",
            cve_id: e.cve_id,
            vendor_project: e.vendor_project,
            product: e.product,
            vulnerability_name: e.vulnerability_name,
            date_added,
            due_date,
            cwes: e.cwes,
        });
    }
    Ok(KevCatalog {
        catalog_version: raw.catalog_version,
        date_released,
        count: raw.count,
        entries,
        by_cve,
    })
}
