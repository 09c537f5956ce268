//! Feed parsers: CISA KEV ([`kev`]), OSV ([`osv`]) and the NVD CVE API 2.0 ([`nvd`]).
//!
//! Every parser takes bytes (the caller reads files or HTTP bodies) and returns normalized
//! records or a [`FeedError`]. Parsers first look at the top-level keys of the document so
//! that a document of another kind gives [`FeedError::WrongKind`] instead of a confusing serde
//! message; syntax errors keep serde_json's line and column.

pub mod epss;
pub mod kev;
pub mod nvd;
pub mod osv;
pub mod vulnrichment;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::de::IgnoredAny;

use super::error::FeedError;
use super::model::{FeedFingerprint, Vulnerability};

/// Normalized records of one OSV or NVD feed, with the data needed for incremental updates.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnerabilityFeed {
    /// `"osv"` or `"nvd"`.
    pub kind: &'static str,
    /// The records, in feed order.
    pub records: Vec<Vulnerability>,
}

impl VulnerabilityFeed {
    /// Fingerprint: kind, newest `modified` of the records (RFC 3339, UTC) and record count.
    /// An unchanged fingerprint means the feed can be skipped (no re-parse, no re-scoring).
    pub fn fingerprint(&self) -> FeedFingerprint {
        let newest = self.records.iter().map(|r| r.modified).max();
        FeedFingerprint {
            kind: self.kind.to_owned(),
            version: newest.map(|d| d.to_rfc3339()).unwrap_or_default(),
            count: self.records.len(),
        }
    }

    /// The records that are new or changed with respect to `previous` (record id ->
    /// `modified` as last processed): those whose id is absent or whose `modified` differs.
    /// Only these need to be matched and scored again.
    pub fn changed_since<'a>(
        &'a self,
        previous: &'a HashMap<String, DateTime<Utc>>,
    ) -> impl Iterator<Item = &'a Vulnerability> + 'a {
        self.records
            .iter()
            .filter(move |r| previous.get(&r.id) != Some(&r.modified))
    }
}

/// Top-level keys of a JSON object, read without building the values. Errors (including a
/// top level that is not an object) keep their line and column.
pub(crate) fn top_level_keys(
    feed: &'static str,
    bytes: &[u8],
) -> Result<BTreeMap<String, IgnoredAny>, FeedError> {
    serde_json::from_slice(bytes).map_err(|e| FeedError::json(feed, &e))
}

/// Parses a timestamp as found in the feeds: RFC 3339 (OSV, KEV `dateReleased`), or an ISO
/// 8601 date-time without offset (NVD API 2.0, e.g. `2021-10-05T14:15:07.727`), taken as UTC.
pub(crate) fn parse_timestamp(
    record: &str,
    field: &'static str,
    value: &str,
) -> Result<DateTime<Utc>, FeedError> {
    if let Ok(d) = DateTime::parse_from_rfc3339(value) {
        return Ok(d.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|d| d.and_utc())
        .map_err(|_| FeedError::InvalidField {
            record: record.to_owned(),
            field,
            value: value.to_owned(),
        })
}

/// Parses a `YYYY-MM-DD` date.
pub(crate) fn parse_date(
    record: &str,
    field: &'static str,
    value: &str,
) -> Result<NaiveDate, FeedError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| FeedError::InvalidField {
        record: record.to_owned(),
        field,
        value: value.to_owned(),
    })
}

/// Builds a [`super::model::CvssVector`] from a vector string, taking the version from its
/// `CVSS:x.y/` prefix. Returns `None` for versions other than 3.0, 3.1 and 4.0 (CVSS v2 vectors
/// have no prefix and are not kept). `base_score` is `given` if present, else computed with the
/// `cvss` crate (`None` if the vector does not parse).
pub(crate) fn cvss_vector(vector: &str, given: Option<f64>) -> Option<super::model::CvssVector> {
    let version = vector.strip_prefix("CVSS:")?.split('/').next()?;
    if !matches!(version, "3.0" | "3.1" | "4.0") {
        return None;
    }
    let base_score = given.or_else(|| vector.parse::<cvss::Cvss>().ok().map(|c| c.score()));
    Some(super::model::CvssVector {
        version: version.to_owned(),
        vector: vector.to_owned(),
        base_score,
    })
}
