//! CISA Vulnrichment (<https://github.com/cisagov/vulnrichment>): CVE records in the CVE JSON 5
//! format (`CVE_RECORD`, data versions 5.0 to 5.2) to which CISA's Authorized Data Publisher
//! container (`containers.adp[]` with `providerMetadata.shortName` `"CISA-ADP"`, title "CISA
//! ADP Vulnrichment") adds SSVC decision points and, for KEV-listed CVEs, the date added to the
//! catalog.
//!
//! # What is read
//!
//! * `cveMetadata.cveId` (required) and `cveMetadata.dateUpdated` (optional, RFC 3339 or an
//!   ISO 8601 date-time without offset, taken as UTC);
//! * in the first CISA-ADP container that has one, the first `metrics[].other` whose `type` is
//!   `"ssvc"`: `content.options`, an array of single-key objects
//!   (`{"Exploitation": "none"}`, `{"Automatable": "yes"}`, `{"Technical Impact": "partial"}`;
//!   keys and values compared ASCII case-insensitively, other keys ignored),
//!   `content.version` (the decision model version, `"2.0.3"`) and `content.timestamp`;
//! * the first `metrics[].other` of `type` `"kev"` in a CISA-ADP container: `content.dateAdded`,
//!   kept as written (`YYYY-MM-DD`).
//!
//! Every other field (the CNA container, CVSS metrics, references...) is skipped without being
//! built. A record without a CISA-ADP container, or whose container has no SSVC metric, parses
//! to a [`VulnrichmentRecord`] with `None` decision points.
//!
//! # Bounds
//! At most [`MAX_RECORDS`] records in one array and [`MAX_BYTES`] bytes of input
//! ([`FeedError::LimitExceeded`]); serde_json's recursion limit (128 levels) also applies.

use std::cell::Cell;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::parse_timestamp;
use crate::error::FeedError;
use crate::ssvc::{Automatable, Exploitation, SsvcInputs, TechnicalImpact};

const FEED: &str = "Vulnrichment CVE record";

/// Most records in one input (an array of records).
pub const MAX_RECORDS: usize = 1_000_000;
/// Largest accepted input, in bytes (512 MiB).
pub const MAX_BYTES: usize = 512 * 1024 * 1024;

/// `providerMetadata.shortName` of CISA's ADP container.
pub const CISA_ADP: &str = "CISA-ADP";

/// Path of each read value, as named in errors.
const PATH_EXPLOITATION: &str =
    "containers.adp[CISA-ADP].metrics[].other(ssvc).content.options[].Exploitation";
const PATH_AUTOMATABLE: &str =
    "containers.adp[CISA-ADP].metrics[].other(ssvc).content.options[].Automatable";
const PATH_TECHNICAL_IMPACT: &str =
    "containers.adp[CISA-ADP].metrics[].other(ssvc).content.options[].Technical Impact";
const PATH_OPTIONS: &str = "containers.adp[CISA-ADP].metrics[].other(ssvc).content.options";
const PATH_OPTION: &str = "containers.adp[CISA-ADP].metrics[].other(ssvc).content.options[]";
const PATH_SSVC_VERSION: &str = "containers.adp[CISA-ADP].metrics[].other(ssvc).content.version";
const PATH_SSVC_TIMESTAMP: &str =
    "containers.adp[CISA-ADP].metrics[].other(ssvc).content.timestamp";
const PATH_KEV_DATE: &str = "containers.adp[CISA-ADP].metrics[].other(kev).content.dateAdded";
const PATH_DATE_UPDATED: &str = "cveMetadata.dateUpdated";

/// The SSVC and KEV data of one CVE record, as CISA's ADP container gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnrichmentRecord {
    /// `cveMetadata.cveId`, e.g. `CVE-2021-44228`.
    pub cve_id: String,
    /// SSVC Exploitation (`none`, `poc`, `active`), if assessed.
    pub exploitation: Option<Exploitation>,
    /// SSVC Automatable (`no`, `yes`), if assessed.
    pub automatable: Option<Automatable>,
    /// SSVC Technical Impact (`partial`, `total`), if assessed.
    pub technical_impact: Option<TechnicalImpact>,
    /// Version of the SSVC decision model the assessment used (`content.version`, `"2.0.3"`).
    pub ssvc_version: Option<String>,
    /// When the assessment was made (`content.timestamp`, UTC).
    pub ssvc_timestamp: Option<DateTime<Utc>>,
    /// `content.dateAdded` of the `kev` metric (`YYYY-MM-DD`, as written): the day the CVE was
    /// added to CISA's KEV catalog; `None` when not listed.
    pub kev_date_added: Option<String>,
    /// `cveMetadata.dateUpdated` (UTC): when the record last changed.
    pub date_updated: Option<DateTime<Utc>>,
}

impl VulnrichmentRecord {
    /// The decision points as [`crate::ssvc::decide_finding`] takes them.
    pub fn ssvc_inputs(&self) -> SsvcInputs {
        SsvcInputs {
            exploitation: self.exploitation,
            automatable: self.automatable,
            technical_impact: self.technical_impact,
        }
    }

    /// Whether the record carries a KEV `dateAdded` (CISA lists the CVE as known exploited).
    pub fn in_kev(&self) -> bool {
        self.kev_date_added.is_some()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord {
    data_type: Option<String>,
    cve_metadata: Option<RawMetadata>,
    containers: Option<RawContainers>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    cve_id: Option<String>,
    date_updated: Option<String>,
}

#[derive(Deserialize)]
struct RawContainers {
    #[serde(default)]
    adp: Vec<RawAdp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAdp {
    provider_metadata: Option<RawProvider>,
    #[serde(default)]
    metrics: Vec<RawMetric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProvider {
    short_name: Option<String>,
}

#[derive(Deserialize)]
struct RawMetric {
    other: Option<RawOther>,
}

#[derive(Deserialize)]
struct RawOther {
    #[serde(rename = "type")]
    kind: Option<String>,
    content: Option<serde_json::Value>,
}

/// Parses CISA Vulnrichment CVE JSON 5 records: one record object, or a JSON array of them.
/// Records come back in input order.
///
/// # Errors
/// - [`FeedError::LimitExceeded`] for more than [`MAX_BYTES`] bytes or [`MAX_RECORDS`] records;
/// - [`FeedError::Json`] (line and column) for invalid or truncated JSON, or a field of the
///   wrong type (e.g. `containers.adp` not an array);
/// - [`FeedError::WrongKind`] for a top level that is neither an object nor an array, a
///   `dataType` other than `CVE_RECORD`, or a record without `cveMetadata.cveId` (the detail
///   names the path and the record's 0-based index);
/// - [`FeedError::InvalidField`] (record = CVE id, field = the JSON path) for an SSVC option
///   value that is not one of the decision point's values (`"Exploitation": "maybe"`), an
///   option that is not a single-key object with a string value, or a timestamp that does not
///   parse.
pub fn parse_vulnrichment(bytes: &[u8]) -> Result<Vec<VulnrichmentRecord>, FeedError> {
    if bytes.len() > MAX_BYTES {
        return Err(FeedError::LimitExceeded {
            what: "input bytes",
            limit: MAX_BYTES as u64,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    let raws = match first {
        Some(b'[') => {
            let too_many = Cell::new(false);
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let parsed = RecordsSeed {
                too_many: &too_many,
            }
            .deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v));
            match parsed {
                Ok(v) => v,
                Err(_) if too_many.get() => {
                    return Err(FeedError::LimitExceeded {
                        what: "records",
                        limit: MAX_RECORDS as u64,
                    });
                }
                Err(e) => return Err(FeedError::json(FEED, &e)),
            }
        }
        Some(b'{') => vec![
            serde_json::from_slice::<RawRecord>(bytes).map_err(|e| FeedError::json(FEED, &e))?,
        ],
        _ => {
            // Let serde_json report the syntax error (empty input, garbage) with its position;
            // valid JSON of another shape is the wrong kind of document.
            let v: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| FeedError::json(FEED, &e))?;
            return Err(FeedError::WrongKind {
                expected: FEED,
                detail: format!(
                    "top level is {}, not an object or an array of objects",
                    kind_of(&v)
                ),
            });
        }
    };
    raws.into_iter()
        .enumerate()
        .map(|(i, raw)| record(i, raw))
        .collect()
}

/// Deserializes an array of records, stopping past [`MAX_RECORDS`].
struct RecordsSeed<'a> {
    too_many: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = Vec<RawRecord>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = Vec<RawRecord>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of CVE JSON 5 records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(r) = seq.next_element::<RawRecord>()? {
            if out.len() == MAX_RECORDS {
                self.too_many.set(true);
                return Err(A::Error::custom(format_args!(
                    "more than {MAX_RECORDS} records"
                )));
            }
            out.push(r);
        }
        Ok(out)
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Normalises one raw record.
fn record(index: usize, raw: RawRecord) -> Result<VulnrichmentRecord, FeedError> {
    if let Some(t) = raw.data_type.as_deref().filter(|t| *t != "CVE_RECORD") {
        return Err(FeedError::WrongKind {
            expected: FEED,
            detail: format!("record {index}: `dataType` is {t:?}, not \"CVE_RECORD\""),
        });
    }
    let meta = raw.cve_metadata;
    let cve_id = meta
        .as_ref()
        .and_then(|m| m.cve_id.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| FeedError::WrongKind {
            expected: FEED,
            detail: format!("record {index}: `cveMetadata.cveId` missing"),
        })?
        .to_owned();
    let date_updated = meta
        .as_ref()
        .and_then(|m| m.date_updated.as_deref())
        .map(|d| parse_timestamp(&cve_id, PATH_DATE_UPDATED, d))
        .transpose()?;

    let mut out = VulnrichmentRecord {
        cve_id,
        exploitation: None,
        automatable: None,
        technical_impact: None,
        ssvc_version: None,
        ssvc_timestamp: None,
        kev_date_added: None,
        date_updated,
    };
    let adps = raw.containers.map(|c| c.adp).unwrap_or_default();
    let cisa = adps.iter().filter(|a| {
        a.provider_metadata
            .as_ref()
            .and_then(|p| p.short_name.as_deref())
            == Some(CISA_ADP)
    });
    let mut ssvc_seen = false;
    let mut kev_seen = false;
    for other in cisa
        .flat_map(|a| a.metrics.iter())
        .filter_map(|m| m.other.as_ref())
    {
        let content = other.content.as_ref();
        match other.kind.as_deref() {
            Some("ssvc") if !ssvc_seen => {
                ssvc_seen = true;
                if let Some(c) = content {
                    read_ssvc(&mut out, c)?;
                }
            }
            Some("kev") if !kev_seen => {
                kev_seen = true;
                if let Some(d) = content.and_then(|c| c.get("dateAdded")) {
                    out.kev_date_added = Some(string(&out.cve_id, PATH_KEV_DATE, d)?.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Reads the `content` of an `ssvc` metric into `out`.
fn read_ssvc(out: &mut VulnrichmentRecord, content: &serde_json::Value) -> Result<(), FeedError> {
    let cve = out.cve_id.clone();
    if let Some(v) = content.get("version").filter(|v| !v.is_null()) {
        out.ssvc_version = Some(string(&cve, PATH_SSVC_VERSION, v)?.to_owned());
    }
    if let Some(v) = content.get("timestamp").filter(|v| !v.is_null()) {
        let s = string(&cve, PATH_SSVC_TIMESTAMP, v)?;
        out.ssvc_timestamp = Some(parse_timestamp(&cve, PATH_SSVC_TIMESTAMP, s)?);
    }
    let Some(options) = content.get("options").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let options = options
        .as_array()
        .ok_or_else(|| invalid(&cve, PATH_OPTIONS, options))?;
    for option in options {
        let (key, value) = match option.as_object().map(|o| o.iter()) {
            Some(mut it) => match (it.next(), it.next()) {
                (Some(kv), None) => kv,
                _ => return Err(invalid(&cve, PATH_OPTION, option)),
            },
            None => return Err(invalid(&cve, PATH_OPTION, option)),
        };
        let key = key.trim();
        if key.eq_ignore_ascii_case("Exploitation") {
            let s = string(&cve, PATH_EXPLOITATION, value)?;
            out.exploitation = Some(
                Exploitation::from_label(s)
                    .ok_or_else(|| invalid(&cve, PATH_EXPLOITATION, value))?,
            );
        } else if key.eq_ignore_ascii_case("Automatable") {
            let s = string(&cve, PATH_AUTOMATABLE, value)?;
            out.automatable = Some(
                Automatable::from_label(s).ok_or_else(|| invalid(&cve, PATH_AUTOMATABLE, value))?,
            );
        } else if key.eq_ignore_ascii_case("Technical Impact") {
            let s = string(&cve, PATH_TECHNICAL_IMPACT, value)?;
            out.technical_impact = Some(
                TechnicalImpact::from_label(s)
                    .ok_or_else(|| invalid(&cve, PATH_TECHNICAL_IMPACT, value))?,
            );
        }
    }
    Ok(())
}

/// The string of a JSON value, or an [`FeedError::InvalidField`] naming `path`.
fn string<'v>(
    cve: &str,
    path: &'static str,
    v: &'v serde_json::Value,
) -> Result<&'v str, FeedError> {
    v.as_str().ok_or_else(|| invalid(cve, path, v))
}

fn invalid(cve: &str, path: &'static str, v: &serde_json::Value) -> FeedError {
    FeedError::InvalidField {
        record: cve.to_owned(),
        field: path,
        value: match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssvc::tests::REAL;
    use crate::ssvc::{CriticalityMapping, MissionWellBeing, decide_finding};
    use rampart_platform::testing::data;

    fn ts(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// shared/data/SOURCES.md, "SSVC / KEV summary": (cve, E, A, TI, SSVC timestamp,
    /// KEV dateAdded).
    /// (cve, E, A, TI, SSVC timestamp, KEV dateAdded).
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    );

    const SOURCES: [Row; 11] = [
        (
            "CVE-2021-23337",
            "none",
            "yes",
            "total",
            "2026-10-08T21:08:30.418276Z",
            None,
        ),
        (
            "CVE-2021-41773",
            "active",
            "yes",
            "total",
            "2025-02-04T14:41:10.766482Z",
            Some("2021-11-03"),
        ),
        (
            "CVE-2021-44228",
            "active",
            "yes",
            "total",
            "2025-02-04T14:25:34.416117Z",
            Some("2021-12-10"),
        ),
        (
            "CVE-2021-44906",
            "none",
            "yes",
            "total",
            "2026-10-08T20:58:18.109504Z",
            None,
        ),
        (
            "CVE-2022-22965",
            "active",
            "yes",
            "total",
            "2025-01-29T17:52:10.886552Z",
            Some("2022-04-04"),
        ),
        (
            "CVE-2022-41723",
            "none",
            "yes",
            "partial",
            "2025-04-23T13:26:37.352634Z",
            None,
        ),
        (
            "CVE-2022-42889",
            "none",
            "yes",
            "total",
            "2024-01-24T16:22:10.690380Z",
            None,
        ),
        (
            "CVE-2023-45288",
            "none",
            "yes",
            "partial",
            "2024-04-05T17:08:42.212936Z",
            None,
        ),
        (
            "CVE-2023-4863",
            "active",
            "no",
            "total",
            "2023-11-28T05:00:18.341149Z",
            Some("2023-09-13"),
        ),
        (
            "CVE-2024-3094",
            "none",
            "yes",
            "total",
            "2024-04-02T04:00:23.138684Z",
            None,
        ),
        (
            "CVE-2024-6387",
            "poc",
            "no",
            "total",
            "2024-07-02T13:18:34.695298Z",
            None,
        ),
    ];

    fn real(cve: &str) -> Vec<u8> {
        data(&format!("vulnrichment/{cve}.json"))
    }

    #[test]
    fn the_eleven_real_records() {
        for (cve, e, a, t, stamp, kev) in SOURCES {
            let records = parse_vulnrichment(&real(cve)).unwrap();
            assert_eq!(records.len(), 1, "{cve}");
            let r = &records[0];
            assert_eq!(r.cve_id, cve);
            assert_eq!(r.exploitation, Exploitation::from_label(e), "{cve}");
            assert_eq!(r.automatable, Automatable::from_label(a), "{cve}");
            assert_eq!(r.technical_impact, TechnicalImpact::from_label(t), "{cve}");
            assert!(
                r.exploitation.is_some() && r.automatable.is_some() && r.technical_impact.is_some()
            );
            assert_eq!(r.ssvc_version.as_deref(), Some("2.0.3"), "{cve}");
            assert_eq!(r.ssvc_timestamp, Some(ts(stamp)), "{cve}");
            assert_eq!(r.kev_date_added.as_deref(), kev, "{cve}");
            assert_eq!(r.in_kev(), kev.is_some());
            assert!(r.date_updated.is_some(), "{cve}");
            // The record round-trips through JSON (it is stored that way).
            let back: VulnrichmentRecord =
                serde_json::from_value(serde_json::to_value(r).unwrap()).unwrap();
            assert_eq!(&back, r);
        }
        let log4j = parse_vulnrichment(&real("CVE-2021-44228")).unwrap();
        assert_eq!(log4j[0].date_updated, Some(ts("2025-10-21T23:25:23.121Z")));
    }

    #[test]
    fn real_records_give_the_hand_computed_decisions() {
        // Default mapping: criticality 3 -> medium, 5 -> high; KEV from the record itself.
        let mapping = CriticalityMapping::default();
        for (cve, _, _, _, kev, medium, high) in REAL {
            let r = parse_vulnrichment(&real(cve)).unwrap().remove(0);
            assert_eq!(r.in_kev(), kev, "{cve}");
            let m = decide_finding(&r.ssvc_inputs(), r.in_kev(), 3, &mapping);
            assert_eq!(
                (m.decision, m.mission_wellbeing),
                (medium, MissionWellBeing::Medium),
                "{cve}"
            );
            assert!(m.complete);
            let h = decide_finding(&r.ssvc_inputs(), r.in_kev(), 5, &mapping);
            assert_eq!(
                (h.decision, h.mission_wellbeing),
                (high, MissionWellBeing::High),
                "{cve}"
            );
        }
    }

    #[test]
    fn an_array_of_records_in_order() {
        let mut body = b"[".to_vec();
        for (i, (cve, ..)) in SOURCES.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend(real(cve));
        }
        body.extend(b"]\n");
        let records = parse_vulnrichment(&body).unwrap();
        let ids: Vec<&str> = records.iter().map(|r| r.cve_id.as_str()).collect();
        let expected: Vec<&str> = SOURCES.iter().map(|s| s.0).collect();
        assert_eq!(ids, expected);
        assert_eq!(parse_vulnrichment(b" [ ] ").unwrap(), vec![]);
    }

    #[test]
    fn records_without_cisa_ssvc_have_no_decision_points() {
        let r = parse_vulnrichment(
            br#"{"dataType":"CVE_RECORD","cveMetadata":{"cveId":"CVE-2000-0001"},
                 "containers":{"cna":{},"adp":[{"providerMetadata":{"shortName":"CVE"},
                 "metrics":[{"other":{"type":"ssvc","content":{"options":[{"Exploitation":"active"}]}}}]}]}}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            vec![VulnrichmentRecord {
                cve_id: "CVE-2000-0001".to_owned(),
                exploitation: None,
                automatable: None,
                technical_impact: None,
                ssvc_version: None,
                ssvc_timestamp: None,
                kev_date_added: None,
                date_updated: None,
            }]
        );
        let r = parse_vulnrichment(br#"[{"cveMetadata":{"cveId":"CVE-2000-0002"}}]"#).unwrap();
        assert_eq!(r[0].cve_id, "CVE-2000-0002");
        assert_eq!(r[0].ssvc_inputs(), SsvcInputs::default());
    }

    #[test]
    fn option_values_are_case_insensitive_and_partial_options_allowed() {
        let r = parse_vulnrichment(
            br#"{"cveMetadata":{"cveId":"CVE-2000-0003","dateUpdated":"2024-04-05T17:08:42.212936"},
                 "containers":{"adp":[{"providerMetadata":{"shortName":"CISA-ADP"},"metrics":[
                 {"cvssV3_1":{}},
                 {"other":{"type":"ssvc","content":{"options":[{"Exploitation":"Public PoC"},
                   {"technical impact":"TOTAL"},{"Mission Prevalence":"essential"}]}}}]}]}}"#,
        )
        .unwrap();
        assert_eq!(r[0].exploitation, Some(Exploitation::Poc));
        assert_eq!(r[0].technical_impact, Some(TechnicalImpact::Total));
        assert_eq!(r[0].automatable, None);
        assert_eq!(r[0].date_updated, Some(ts("2024-04-05T17:08:42.212936Z")));
    }

    #[test]
    fn bad_input_gives_clear_errors() {
        // Truncated real record: a JSON error with its position.
        let full = real("CVE-2021-44228");
        let e = parse_vulnrichment(&full[..full.len() / 2]).unwrap_err();
        assert!(matches!(e, FeedError::Json { line, .. } if line > 1), "{e}");
        assert!(e.to_string().contains("Vulnrichment"), "{e}");
        for bad in [&b""[..], b"   ", b"{", b"[{}", b"nonsense", b"[1,2]"] {
            assert!(
                matches!(parse_vulnrichment(bad), Err(FeedError::Json { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Trailing garbage after the array.
        assert!(matches!(
            parse_vulnrichment(br#"[{"cveMetadata":{"cveId":"CVE-1-1"}}] x"#),
            Err(FeedError::Json { .. })
        ));
        // Wrong types keep serde_json's position.
        let e =
            parse_vulnrichment(br#"{"cveMetadata":{"cveId":"CVE-1-1"},"containers":{"adp":"x"}}"#)
                .unwrap_err();
        assert!(matches!(e, FeedError::Json { .. }), "{e}");

        // No cveMetadata.cveId: the path and the record's index are named.
        let e = parse_vulnrichment(br#"[{"cveMetadata":{"cveId":"CVE-1-1"}},{"cveMetadata":{}}]"#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a Vulnrichment CVE record: record 1: `cveMetadata.cveId` missing"
        );
        let e = parse_vulnrichment(br#"{"containers":{}}"#).unwrap_err();
        assert!(e.to_string().contains("`cveMetadata.cveId` missing"), "{e}");
        // Other kinds of documents.
        let e = parse_vulnrichment(br#""CVE-2021-44228""#).unwrap_err();
        assert!(matches!(e, FeedError::WrongKind { .. }), "{e}");
        let e = parse_vulnrichment(
            br#"{"dataType":"CVE_RECORD_V4","cveMetadata":{"cveId":"CVE-1-1"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("dataType"), "{e}");

        // An unknown option value: the CVE, the path and the value are named.
        let unknown = String::from_utf8(real("CVE-2024-6387"))
            .unwrap()
            .replace(r#""Exploitation": "poc""#, r#""Exploitation": "rumoured""#);
        assert!(unknown.contains("rumoured"));
        let e = parse_vulnrichment(unknown.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "record CVE-2024-6387: field \
             `containers.adp[CISA-ADP].metrics[].other(ssvc).content.options[].Exploitation` \
             has invalid value \"rumoured\""
        );
        let bad_options = [
            (r#"{"Automatable": 1}"#, PATH_AUTOMATABLE),
            (r#"{"Technical Impact": "most"}"#, PATH_TECHNICAL_IMPACT),
            (
                r#"{"Automatable": "yes", "Exploitation": "none"}"#,
                PATH_OPTION,
            ),
            (r#""Automatable""#, PATH_OPTION),
        ];
        for (option, path) in bad_options {
            let doc = format!(
                r#"{{"cveMetadata":{{"cveId":"CVE-1-2"}},"containers":{{"adp":[{{
                   "providerMetadata":{{"shortName":"CISA-ADP"}},
                   "metrics":[{{"other":{{"type":"ssvc","content":{{"options":[{option}]}}}}}}]}}]}}}}"#
            );
            match parse_vulnrichment(doc.as_bytes()) {
                Err(FeedError::InvalidField { record, field, .. }) => {
                    assert_eq!((record.as_str(), field), ("CVE-1-2", path), "{option}");
                }
                other => panic!("{option}: {other:?}"),
            }
        }
        let doc = br#"{"cveMetadata":{"cveId":"CVE-1-3"},"containers":{"adp":[{
              "providerMetadata":{"shortName":"CISA-ADP"},
              "metrics":[{"other":{"type":"ssvc","content":{"timestamp":"yesterday"}}}]}]}}"#;
        assert!(matches!(
            parse_vulnrichment(doc),
            Err(FeedError::InvalidField {
                field: PATH_SSVC_TIMESTAMP,
                ..
            })
        ));
    }

    #[test]
    fn bounds() {
        // One record more than the limit, each the smallest valid record.
        let one = br#"{"cveMetadata":{"cveId":"C"}}"#;
        let mut body = Vec::with_capacity((one.len() + 1) * (MAX_RECORDS + 1) + 2);
        body.push(b'[');
        for i in 0..=MAX_RECORDS {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(one);
        }
        body.push(b']');
        assert!(matches!(
            parse_vulnrichment(&body),
            Err(FeedError::LimitExceeded { what: "records", limit }) if limit == MAX_RECORDS as u64
        ));
        // Zeroed (calloc'd, not touched): the size is checked before any byte is read.
        let big = vec![0u8; MAX_BYTES + 1];
        assert!(matches!(
            parse_vulnrichment(&big),
            Err(FeedError::LimitExceeded {
                what: "input bytes",
                ..
            })
        ));
    }
}
