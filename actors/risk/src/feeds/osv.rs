//! OSV records (<https://ossf.github.io/osv-schema/>): one record, a JSON array of records, or
//! an ecosystem `all.zip` as osv.dev publishes it
//! (`https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip`: one `<id>.json`
//! file per record).
//!
//! Kept: `id`, `aliases`, `summary` (else the first line of `details`), `published`,
//! `modified`, `affected[]` (`package.ecosystem`, `package.name`, `ranges[].type/events`,
//! `versions`), CVSS v3/v4 vectors from `severity[]` (top level and per `affected`), and CWE
//! ids from `database_specific.cwe_ids` (GitHub advisories). Ranges of an unknown `type` are
//! dropped.

use std::io::{Cursor, Read};

use serde::Deserialize;

use super::{VulnerabilityFeed, cvss_vector, parse_timestamp, top_level_keys};
use crate::error::FeedError;
use crate::model::{Affected, Event, Range, RangeKind, Vulnerability};

const FEED: &str = "OSV record";

#[derive(Deserialize)]
struct RawRecord {
    id: String,
    modified: String,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    affected: Vec<RawAffected>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
    #[serde(default)]
    database_specific: Option<RawDatabaseSpecific>,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Vec<RawRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<RawSeverity>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<RawEvent>,
}

#[derive(Deserialize)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawDatabaseSpecific {
    #[serde(default)]
    cwe_ids: Vec<String>,
}

/// Bounds applied when reading an `all.zip` (protection against zip bombs and runaway
/// memory use). Sizes are counted on the *decompressed* bytes actually read, not on the
/// sizes the archive declares (which an attacker controls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Maximum number of entries in the archive (all entries count, not only `.json`).
    /// Default 1,000,000 (osv.dev's largest ecosystems hold a few hundred thousand records).
    pub max_entries: usize,
    /// Maximum decompressed size of one entry, in bytes. Default 16 MiB (real records are a
    /// few KB).
    pub max_entry_bytes: u64,
    /// Maximum decompressed size of all entries together, in bytes. Default 2 GiB.
    pub max_total_bytes: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entries: 1_000_000,
            max_entry_bytes: 16 * 1024 * 1024,
            max_total_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// Parses OSV JSON: a single record (a JSON object) or an array of records.
///
/// # Errors
/// [`FeedError::Json`] (line, column) for invalid JSON or wrong field types;
/// [`FeedError::WrongKind`] if the object (or an array element) is not an OSV record
/// (`id` or `modified` missing); [`FeedError::InvalidField`] for an unparsable timestamp.
pub fn parse_osv(bytes: &[u8]) -> Result<Vec<Vulnerability>, FeedError> {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first == Some(b'[') {
        let raws: Vec<serde_json::Value> =
            serde_json::from_slice(bytes).map_err(|e| FeedError::json(FEED, &e))?;
        raws.into_iter()
            .map(|v| {
                check_record_keys(v.as_object().map(|o| o.keys().map(String::as_str)))?;
                let raw: RawRecord =
                    serde_json::from_value(v).map_err(|e| FeedError::json(FEED, &e))?;
                normalize(raw)
            })
            .collect()
    } else {
        parse_osv_record(bytes).map(|r| vec![r])
    }
}

/// Parses one OSV record (a JSON object).
///
/// # Errors
/// As [`parse_osv`].
pub fn parse_osv_record(bytes: &[u8]) -> Result<Vulnerability, FeedError> {
    let keys = top_level_keys(FEED, bytes)?;
    check_record_keys(Some(keys.keys().map(String::as_str)))?;
    let raw: RawRecord = serde_json::from_slice(bytes).map_err(|e| FeedError::json(FEED, &e))?;
    normalize(raw)
}

fn check_record_keys<'k>(keys: Option<impl Iterator<Item = &'k str>>) -> Result<(), FeedError> {
    let Some(keys) = keys else {
        return Err(FeedError::WrongKind {
            expected: FEED,
            detail: "array element is not an object".to_owned(),
        });
    };
    let keys: Vec<&str> = keys.collect();
    for key in ["id", "modified"] {
        if !keys.contains(&key) {
            return Err(FeedError::WrongKind {
                expected: FEED,
                detail: format!("`{key}` missing"),
            });
        }
    }
    Ok(())
}

/// Parses an osv.dev `all.zip` held in memory: every entry whose name ends in `.json` is one
/// OSV record; other entries (directories, READMEs) are skipped. Records come back in archive
/// order as a [`VulnerabilityFeed`] of kind `"osv"`.
///
/// # Errors
/// [`FeedError::Zip`] for a corrupt archive or unsupported compression;
/// [`FeedError::LimitExceeded`] when a bound of `limits` is exceeded;
/// [`FeedError::ZipEntry`] (with the entry name) wrapping the error of a record that does not
/// parse.
pub fn parse_osv_zip(bytes: &[u8], limits: &ZipLimits) -> Result<VulnerabilityFeed, FeedError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| FeedError::Zip(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(FeedError::LimitExceeded {
            what: "entries",
            limit: limits.max_entries as u64,
        });
    }
    let mut total: u64 = 0;
    let mut records = Vec::with_capacity(archive.len());
    let mut buf = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive
            .by_index(i)
            .map_err(|e| FeedError::Zip(e.to_string()))?;
        let name = file
            .name()
            .map_err(|e| FeedError::Zip(e.to_string()))?
            .into_owned();
        if file.is_dir() || !name.ends_with(".json") {
            continue;
        }
        buf.clear();
        (&mut file)
            .take(limits.max_entry_bytes.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| FeedError::Zip(format!("{name}: {e}")))?;
        let len = buf.len() as u64;
        if len > limits.max_entry_bytes {
            return Err(FeedError::LimitExceeded {
                what: "uncompressed bytes per entry",
                limit: limits.max_entry_bytes,
            });
        }
        total = total.saturating_add(len);
        if total > limits.max_total_bytes {
            return Err(FeedError::LimitExceeded {
                what: "uncompressed bytes in total",
                limit: limits.max_total_bytes,
            });
        }
        let record = parse_osv_record(&buf).map_err(|e| FeedError::ZipEntry {
            name: name.clone(),
            source: Box::new(e),
        })?;
        records.push(record);
    }
    Ok(VulnerabilityFeed {
        kind: "osv",
        records,
    })
}

/// Wraps parsed records as a feed of kind `"osv"` (for fingerprinting).
pub fn osv_feed(records: Vec<Vulnerability>) -> VulnerabilityFeed {
    VulnerabilityFeed {
        kind: "osv",
        records,
    }
}

fn normalize(raw: RawRecord) -> Result<Vulnerability, FeedError> {
    let modified = parse_timestamp(&raw.id, "modified", &raw.modified)?;
    let published = raw
        .published
        .as_deref()
        .map(|p| parse_timestamp(&raw.id, "published", p))
        .transpose()?;
    let summary = raw
        .summary
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            raw.details
                .as_deref()
                .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_default();
    let mut cvss = Vec::new();
    let mut push_severity = |sev: &RawSeverity| {
        if (sev.kind == "CVSS_V3" || sev.kind == "CVSS_V4")
            && let Some(v) = cvss_vector(&sev.score, None)
            && !cvss.contains(&v)
        {
            cvss.push(v);
        }
    };
    raw.severity.iter().for_each(&mut push_severity);
    let mut affected = Vec::with_capacity(raw.affected.len());
    for a in raw.affected {
        a.severity.iter().for_each(&mut push_severity);
        let Some(package) = a.package else { continue };
        let ranges = a
            .ranges
            .into_iter()
            .filter_map(|r| {
                let kind = match r.kind.as_str() {
                    "ECOSYSTEM" => RangeKind::Ecosystem,
                    "SEMVER" => RangeKind::Semver,
                    "GIT" => RangeKind::Git,
                    _ => return None,
                };
                let events = r
                    .events
                    .into_iter()
                    .filter_map(|e| {
                        e.introduced
                            .map(Event::Introduced)
                            .or(e.fixed.map(Event::Fixed))
                            .or(e.last_affected.map(Event::LastAffected))
                            .or(e.limit.map(Event::Limit))
                    })
                    .collect();
                Some(Range { kind, events })
            })
            .collect();
        affected.push(Affected {
            ecosystem: package.ecosystem,
            package: package.name,
            ranges,
            versions: a.versions,
        });
    }
    Ok(Vulnerability {
        id: raw.id,
        aliases: raw.aliases,
        summary,
        published,
        modified,
        affected,
        cpe_matches: Vec::new(),
        cvss,
        cwes: raw.database_specific.map(|d| d.cwe_ids).unwrap_or_default(),
    })
}
