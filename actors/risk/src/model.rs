//! Normalized vulnerability records, common to all feeds (OSV, NVD) and the KEV catalog.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One vulnerability, normalized from an OSV record or an NVD CVE record.
///
/// OSV records fill [`Vulnerability::affected`]; NVD records fill
/// [`Vulnerability::cpe_matches`]. Both may fill `cvss` and `cwes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    /// The record's own id: an OSV id (`GO-2022-0493`, `GHSA-…`) or a CVE id for NVD.
    pub id: String,
    /// Other ids of the same vulnerability (CVE, GHSA), as the record lists them.
    pub aliases: Vec<String>,
    /// One-line summary (OSV `summary`, else the first line of OSV `details`; NVD: the
    /// English description). Empty when the record has none.
    pub summary: String,
    /// First publication, when the record says (UTC).
    pub published: Option<DateTime<Utc>>,
    /// Last modification (OSV `modified`, NVD `lastModified`), UTC. Used for incremental
    /// re-scoring: a record whose `modified` did not change need not be scored again.
    pub modified: DateTime<Utc>,
    /// Affected packages (OSV only).
    pub affected: Vec<Affected>,
    /// CPE match criteria from the NVD `configurations` (NVD only), flattened.
    pub cpe_matches: Vec<CpeMatch>,
    /// CVSS v3.0, v3.1 and v4.0 vectors (OSV `severity`, NVD `metrics`), in feed order.
    pub cvss: Vec<CvssVector>,
    /// CWE ids such as `CWE-22` (NVD `weaknesses`, OSV `database_specific.cwe_ids`).
    pub cwes: Vec<String>,
}

impl Vulnerability {
    /// The CVE ids of this vulnerability: its id if it is a CVE id, plus CVE aliases.
    pub fn cve_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .filter(|id| id.starts_with("CVE-"))
    }
}

/// One OSV `affected[]` entry: a package and the versions of it that are affected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// OSV ecosystem as written in the record, e.g. `Go`, `Maven`, `npm`, `Debian:10`.
    pub ecosystem: String,
    /// OSV package name: Maven `group:artifact`, Go module path, npm name (`@scope/name`),
    /// PyPI name, Packagist `vendor/name`, crate name, Debian source package, gem name.
    pub package: String,
    /// Version ranges (OSV `ranges`).
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions (OSV `versions`), matched exactly.
    pub versions: Vec<String>,
}

/// One OSV range: a kind and its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// How the event versions are to be ordered.
    pub kind: RangeKind,
    /// Events as listed in the record (evaluation sorts them).
    pub events: Vec<Event>,
}

/// OSV range type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RangeKind {
    /// `ECOSYSTEM`: versions ordered by the package ecosystem's own rules.
    Ecosystem,
    /// `SEMVER`: versions ordered by Semantic Versioning 2.0 precedence (without leading `v`).
    Semver,
    /// `GIT`: commit hashes. Not evaluated by the matcher (needs the repository's history).
    Git,
}

/// One OSV range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// `introduced`: first affected version, inclusive; `"0"` means "all versions before".
    Introduced(String),
    /// `fixed`: first unaffected version, exclusive end of the interval.
    Fixed(String),
    /// `last_affected`: last affected version, inclusive end of the interval.
    LastAffected(String),
    /// `limit`: upper limit on the whole range (versions at or above every limit are not
    /// affected).
    Limit(String),
}

impl Event {
    /// The version this event carries.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// One NVD CPE match criterion (`configurations[].nodes[].cpeMatch[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpeMatch {
    /// CPE 2.3 formatted string, e.g. `cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*`.
    pub criteria: String,
    /// Whether this CPE is the vulnerable product (`true`) or only a platform it runs on
    /// (`false`; such entries never produce a finding).
    pub vulnerable: bool,
    /// `versionStartIncluding`.
    pub version_start_including: Option<String>,
    /// `versionStartExcluding`.
    pub version_start_excluding: Option<String>,
    /// `versionEndIncluding`.
    pub version_end_including: Option<String>,
    /// `versionEndExcluding`.
    pub version_end_excluding: Option<String>,
}

/// A CVSS vector as found in a feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssVector {
    /// CVSS version: `"3.0"`, `"3.1"` or `"4.0"`.
    pub version: String,
    /// The vector string, e.g. `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.
    pub vector: String,
    /// Base score 0.0–10.0: the feed's value (NVD), else computed by the `cvss` crate;
    /// `None` when the vector does not parse.
    pub base_score: Option<f64>,
}

/// One entry of the CISA Known Exploited Vulnerabilities catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    /// `cveID`, e.g. `CVE-2021-44228`.
    pub cve_id: String,
    /// `vendorProject`.
    pub vendor_project: String,
    /// `product`.
    pub product: String,
    /// `vulnerabilityName`.
    pub vulnerability_name: String,
    /// `dateAdded`: when CISA added it.
    pub date_added: NaiveDate,
    /// `dueDate`: remediation deadline for US federal agencies (BOD 22-01).
    pub due_date: NaiveDate,
    /// `knownRansomwareCampaignUse` is `"Known"` (otherwise it reads `"Unknown"`).
    pub known_ransomware_campaign_use: bool,
    /// `cwes`, e.g. `["CWE-502"]`.
    pub cwes: Vec<String>,
}

/// Identifies one version of a feed, so that a caller can skip a feed that did not change.
///
/// Built from the feed's own version fields (never from an in-process hash, which is not
/// stable across runs): for KEV `catalogVersion`, for OSV/NVD the newest `modified` of its
/// records; plus the number of records in both cases. Two equal fingerprints mean "same
/// feed content" as far as the publisher's metadata can tell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FeedFingerprint {
    /// Feed kind: `"kev"`, `"osv"` or `"nvd"`.
    pub kind: String,
    /// KEV `catalogVersion`, or the newest record `modified` as RFC 3339 (empty if no records).
    pub version: String,
    /// Number of records.
    pub count: usize,
}
