//! NVD CVE API 2.0 JSON (<https://nvd.nist.gov/developers/vulnerabilities>): a response
//! (`{resultsPerPage, startIndex, totalResults, format: "NVD_CVE", version: "2.0", timestamp,
//! vulnerabilities: [{cve: {...}}]}`) or a bare `cve` object (as in the fkie-cad
//! nvd-json-data-feeds repository).
//!
//! From each `cve`: `id`, `published`, `lastModified` (ISO 8601 without offset, taken as UTC),
//! the English `descriptions` entry as summary, CVSS vectors from
//! `metrics.cvssMetricV40/V31/V30[].cvssData` (in that order; `baseScore` kept as given; v2 is
//! not kept), CWE ids from `weaknesses[].description[].value` (only `CWE-<n>` values, not
//! `NVD-CWE-noinfo`/`NVD-CWE-Other`, de-duplicated), and CPE match criteria from
//! `configurations[].nodes[].cpeMatch[]`, flattened.
//!
//! Flattening drops the AND/OR structure of configurations: an entry with `vulnerable: false`
//! (a platform the vulnerable product runs on) is kept with its flag, and the matcher only
//! reports `vulnerable: true` entries. This can over-report products that are vulnerable only
//! on a given platform; it never under-reports.

use serde::Deserialize;

use super::{VulnerabilityFeed, cvss_vector, parse_timestamp, top_level_keys};
use crate::error::FeedError;
use crate::model::{CpeMatch, Vulnerability};

const FEED: &str = "NVD CVE API 2.0 document";

#[derive(Deserialize)]
struct RawResponse {
    vulnerabilities: Vec<RawItem>,
}

#[derive(Deserialize)]
struct RawItem {
    cve: RawCve,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCve {
    id: String,
    #[serde(default)]
    published: Option<String>,
    last_modified: String,
    #[serde(default)]
    descriptions: Vec<RawLangString>,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    weaknesses: Vec<RawWeakness>,
    #[serde(default)]
    configurations: Vec<RawConfiguration>,
}

#[derive(Deserialize)]
struct RawLangString {
    lang: String,
    value: String,
}

#[derive(Deserialize, Default)]
struct RawMetrics {
    #[serde(default, rename = "cvssMetricV40")]
    v40: Vec<RawMetric>,
    #[serde(default, rename = "cvssMetricV31")]
    v31: Vec<RawMetric>,
    #[serde(default, rename = "cvssMetricV30")]
    v30: Vec<RawMetric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetric {
    cvss_data: RawCvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    vector_string: String,
    #[serde(default)]
    base_score: Option<f64>,
}

#[derive(Deserialize)]
struct RawWeakness {
    #[serde(default)]
    description: Vec<RawLangString>,
}

#[derive(Deserialize)]
struct RawConfiguration {
    #[serde(default)]
    nodes: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
    #[serde(default)]
    cpe_match: Vec<RawCpeMatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCpeMatch {
    vulnerable: bool,
    criteria: String,
    version_start_including: Option<String>,
    version_start_excluding: Option<String>,
    version_end_including: Option<String>,
    version_end_excluding: Option<String>,
}

/// Parses an NVD CVE API 2.0 response or a bare `cve` object into a [`VulnerabilityFeed`] of
/// kind `"nvd"` (one record per CVE, in document order).
///
/// # Errors
/// - [`FeedError::Json`] (line, column) for invalid JSON or wrong field types;
/// - [`FeedError::WrongKind`] when the document is neither shape (e.g. a KEV catalog, which
///   also has `vulnerabilities` but carries `catalogVersion`; an OSV record, which lacks
///   `lastModified`);
/// - [`FeedError::InvalidField`] for an unparsable timestamp.
pub fn parse_nvd(bytes: &[u8]) -> Result<VulnerabilityFeed, FeedError> {
    let keys = top_level_keys(FEED, bytes)?;
    let cves = if keys.contains_key("vulnerabilities") {
        if keys.contains_key("catalogVersion") {
            return Err(FeedError::WrongKind {
                expected: FEED,
                detail: "this is a KEV catalog (`catalogVersion` present)".to_owned(),
            });
        }
        let raw: RawResponse =
            serde_json::from_slice(bytes).map_err(|e| FeedError::json(FEED, &e))?;
        raw.vulnerabilities.into_iter().map(|i| i.cve).collect()
    } else if keys.contains_key("id") {
        if !keys.contains_key("lastModified") {
            return Err(FeedError::WrongKind {
                expected: FEED,
                detail: "`lastModified` missing".to_owned(),
            });
        }
        let raw: RawCve = serde_json::from_slice(bytes).map_err(|e| FeedError::json(FEED, &e))?;
        vec![raw]
    } else {
        return Err(FeedError::WrongKind {
            expected: FEED,
            detail: "neither `vulnerabilities` (response) nor `id` (cve object) present".to_owned(),
        });
    };
    let records = cves
        .into_iter()
        .map(normalize)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VulnerabilityFeed {
        kind: "nvd",
        records,
    })
}

fn normalize(raw: RawCve) -> Result<Vulnerability, FeedError> {
    let modified = parse_timestamp(&raw.id, "lastModified", &raw.last_modified)?;
    let published = raw
        .published
        .as_deref()
        .map(|p| parse_timestamp(&raw.id, "published", p))
        .transpose()?;
    let summary = raw
        .descriptions
        .iter()
        .find(|d| d.lang == "en")
        .or(raw.descriptions.first())
        .map(|d| d.value.clone())
        .unwrap_or_default();
    let mut cvss = Vec::new();
    for m in raw
        .metrics
        .v40
        .iter()
        .chain(&raw.metrics.v31)
        .chain(&raw.metrics.v30)
    {
        if let Some(v) = cvss_vector(&m.cvss_data.vector_string, m.cvss_data.base_score)
            && !cvss
                .iter()
                .any(|c: &crate::model::CvssVector| c.vector == v.vector)
        {
            cvss.push(v);
        }
    }
    let mut cwes: Vec<String> = Vec::new();
    for d in raw.weaknesses.iter().flat_map(|w| &w.description) {
        if d.value.starts_with("CWE-") && !cwes.contains(&d.value) {
            cwes.push(d.value.clone());
        }
    }
    let cpe_matches = raw
        .configurations
        .into_iter()
        .flat_map(|c| c.nodes)
        .flat_map(|n| n.cpe_match)
        .map(|m| CpeMatch {
            criteria: m.criteria,
            vulnerable: m.vulnerable,
            version_start_including: m.version_start_including,
            version_start_excluding: m.version_start_excluding,
            version_end_including: m.version_end_including,
            version_end_excluding: m.version_end_excluding,
        })
        .collect();
    Ok(Vulnerability {
        id: raw.id,
        aliases: Vec::new(),
        summary,
        published,
        modified,
        affected: Vec::new(),
        cpe_matches,
        cvss,
        cwes,
    })
}
