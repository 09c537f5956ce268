//! OpenVEX documents: v0.2.0 and the pre-0.2 documents still circulating.
//!
//! # Shapes accepted
//!
//! * **v0.2.0** (`@context` `https://openvex.dev/ns/v0.2.0`, OpenVEX spec v0.2.0
//!   <https://github.com/openvex/spec/blob/main/OPENVEX-SPEC.md>): `statements[]` with
//!   `vulnerability {name | @id, aliases[]}`, `products[] {@id, identifiers {purl, cpe23,
//!   cpe22}, subcomponents[] {@id, identifiers}}`, `status`, `justification`,
//!   `impact_statement`, `action_statement`, `status_notes`, `timestamp`, `last_updated`.
//! * **pre-0.2** (`@context` `https://openvex.dev/ns` or `https://openvex.dev/ns/v0.0.1`):
//!   `vulnerability` is a plain string, `products` a list of strings (possibly absent; then the
//!   statement has no product and matches nothing), an optional statement-level
//!   `subcomponents` list of strings (applied to every product of the statement), `version`
//!   possibly a string.
//!
//! # Mapping onto the common model
//!
//! | OpenVEX `status` | [`AnalysisState`] |
//! |---|---|
//! | `not_affected` | `NotAffected` |
//! | `affected` | `Exploitable` |
//! | `fixed` | `Resolved` |
//! | `under_investigation` | `InTriage` |
//!
//! Justifications (the CISA "Status Justifications" labels, OpenVEX spec §"Status
//! Justifications"; CSAF 2.0 uses the same labels as `flags[].label`) have no 1:1 CycloneDX
//! equivalent ([`justification_from_label`]):
//!
//! | OpenVEX / CSAF label | [`Justification`] | exact? |
//! |---|---|---|
//! | `vulnerable_code_not_present` | `CodeNotPresent` | yes |
//! | `vulnerable_code_not_in_execute_path` | `CodeNotReachable` | yes |
//! | `component_not_present` | `CodeNotPresent` | no |
//! | `vulnerable_code_cannot_be_controlled_by_adversary` | `RequiresEnvironment` | no |
//! | `inline_mitigations_already_exist` | `ProtectedByMitigatingControl` | no |
//!
//! The two exact rows are GUAC's mapping (OpenSSF `guacsec/guac`,
//! `pkg/ingestor/parser/cyclonedx/parser_cyclonedx.go`, `justificationsMap`, commit
//! `a9129548`: `code_not_present` <-> `vulnerable_code_not_present`, `code_not_reachable` <->
//! `vulnerable_code_not_in_execute_path`). For the other three published converters
//! disagree: `component_not_present` is `code_not_present` in several OpenVEX -> CycloneDX
//! exporters and `requires_dependency` in `savoirfairelinux/vulnscout`
//! (`src/models/assessment.py`, `JUSTIFICATION_OPENVEX_TO_CDX_VEX`), which also maps
//! `vulnerable_code_cannot_be_controlled_by_adversary` to `requires_configuration` where
//! others choose `requires_environment`; `inline_mitigations_already_exist` ->
//! `protected_by_mitigating_control` is common to all of them. We take `CodeNotPresent`
//! (the component's code is absent, a fortiori the vulnerable code), `RequiresEnvironment`
//! and `ProtectedByMitigatingControl`; every inexact mapping keeps the original label in the
//! statement's `detail` (`OpenVEX justification: <label>`), so nothing is lost.
//!
//! `detail` is `impact_statement`, `action_statement` and `status_notes`, in this order, one a
//! line, cut at [`MAX_DETAIL_CHARS`] characters.
//!
//! The statement's timestamp is its `last_updated`, else its `timestamp`, else the
//! document's `last_updated`, else the document's `timestamp` (OpenVEX spec §"Data
//! Inheritance"), else the Unix epoch (an undated statement loses against any dated one).
//!
//! # Rampart's round-trip note
//!
//! Rampart's own export ([`super::export::openvex`]) cannot say `false_positive` or the
//! CycloneDX justifications that have no OpenVEX label, so it adds one line to
//! `status_notes`: `CycloneDX analysis: state=<state>; justification=<justification|none>`.
//! The parser honours that line only when it agrees with the OpenVEX `status` and
//! `justification` (the state maps to the status, the justification maps back to the label)
//! and then drops it from `detail`; otherwise it is ordinary text.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::product::identifier_from_str;
use super::{
    AnalysisState, Identifier, Justification, MAX_STATEMENTS, Product, Statement, VexDocument,
    VexError, VexFormat,
};

/// Most characters kept in a statement's `detail` (longer texts are cut).
pub const MAX_DETAIL_CHARS: usize = 4096;

/// The OpenVEX statuses, in the spec's order.
pub const STATUSES: [&str; 4] = ["not_affected", "affected", "fixed", "under_investigation"];

/// The OpenVEX / CSAF justification labels (CISA "Status Justifications", June 2022).
pub const JUSTIFICATION_LABELS: [&str; 5] = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

/// Prefix of the round-trip line Rampart's export writes into `status_notes` (module docs).
pub(crate) const CDX_HINT_PREFIX: &str = "CycloneDX analysis: ";

/// Maps an OpenVEX `status` onto the common model (module table); `None` for anything else.
pub fn state_from_status(status: &str) -> Option<AnalysisState> {
    Some(match status {
        "not_affected" => AnalysisState::NotAffected,
        "affected" => AnalysisState::Exploitable,
        "fixed" => AnalysisState::Resolved,
        "under_investigation" => AnalysisState::InTriage,
        _ => return None,
    })
}

/// The OpenVEX status for a state: `FalsePositive` is `not_affected` (OpenVEX has no
/// false-positive status; the finding does not affect the product either way).
pub fn status_for_state(state: AnalysisState) -> &'static str {
    match state {
        AnalysisState::NotAffected | AnalysisState::FalsePositive => "not_affected",
        AnalysisState::Exploitable => "affected",
        AnalysisState::Resolved => "fixed",
        AnalysisState::InTriage => "under_investigation",
    }
}

/// Maps an OpenVEX / CSAF justification label to a CycloneDX justification, with whether
/// the mapping is exact (module table and its sources); `None` for an unknown label.
pub fn justification_from_label(label: &str) -> Option<(Justification, bool)> {
    Some(match label {
        "vulnerable_code_not_present" => (Justification::CodeNotPresent, true),
        "vulnerable_code_not_in_execute_path" => (Justification::CodeNotReachable, true),
        "component_not_present" => (Justification::CodeNotPresent, false),
        "vulnerable_code_cannot_be_controlled_by_adversary" => {
            (Justification::RequiresEnvironment, false)
        }
        "inline_mitigations_already_exist" => (Justification::ProtectedByMitigatingControl, false),
        _ => return None,
    })
}

/// The OpenVEX / CSAF label closest to a CycloneDX justification (used by the export): the
/// inverse of [`justification_from_label`] on its image, and for the rest
/// `requires_configuration` -> `vulnerable_code_cannot_be_controlled_by_adversary` (like
/// `requires_environment`), `requires_dependency` -> `component_not_present` (the dependency
/// needed to exploit is absent; vulnscout's mapping), every `protected_*` ->
/// `inline_mitigations_already_exist`.
pub fn label_for_justification(j: Justification) -> &'static str {
    match j {
        Justification::CodeNotPresent => "vulnerable_code_not_present",
        Justification::CodeNotReachable => "vulnerable_code_not_in_execute_path",
        Justification::RequiresConfiguration | Justification::RequiresEnvironment => {
            "vulnerable_code_cannot_be_controlled_by_adversary"
        }
        Justification::RequiresDependency => "component_not_present",
        Justification::ProtectedByCompiler
        | Justification::ProtectedAtRuntime
        | Justification::ProtectedAtPerimeter
        | Justification::ProtectedByMitigatingControl => "inline_mitigations_already_exist",
    }
}

/// Parses an OpenVEX document (v0.2.0 or pre-0.2, module docs).
///
/// # Errors
/// * [`VexError::UnknownFormat`]: `@context` is not an OpenVEX namespace;
/// * [`VexError::Invalid`]: `statements` missing, a statement without vulnerability, an
///   unknown `status` or `justification` (the path, e.g. `statements[3].status`, and the
///   allowed values), a product of the wrong type, a timestamp that is not RFC 3339;
/// * [`VexError::TooLarge`]: more than [`MAX_STATEMENTS`] statements.
pub fn parse(v: &Value) -> Result<VexDocument, VexError> {
    check_context(v.get("@context"))?;
    let id = match v.get("@id").and_then(Value::as_str).map(str::trim) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("{:x}", Sha256::digest(v.to_string().as_bytes())),
    };
    let author = v
        .get("author")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(clip);
    let doc_timestamp = opt_time(v, "timestamp", "timestamp")?;
    let doc_updated = opt_time(v, "last_updated", "last_updated")?;
    let inherited = doc_updated.or(doc_timestamp);
    let statements = v
        .get("statements")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("statements", "missing or not an array"))?;
    if statements.len() > MAX_STATEMENTS {
        return Err(VexError::TooLarge(format!(
            "{} statements, at most {MAX_STATEMENTS}",
            statements.len()
        )));
    }
    let statements = statements
        .iter()
        .enumerate()
        .map(|(i, s)| parse_statement(i, s, inherited))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VexDocument {
        format: VexFormat::Openvex,
        id,
        author,
        timestamp: doc_timestamp,
        statements,
    })
}

/// Whether `@context` names an OpenVEX namespace (`https://openvex.dev/ns`, `.../ns/v...`),
/// as a string or inside a JSON-LD context array.
fn check_context(ctx: Option<&Value>) -> Result<(), VexError> {
    let is_openvex = |s: &str| {
        let s = s.trim().trim_end_matches('/');
        let rest = s
            .strip_prefix("https://openvex.dev/ns")
            .or_else(|| s.strip_prefix("http://openvex.dev/ns"));
        rest.is_some_and(|r| r.is_empty() || r.starts_with('/'))
    };
    let ok = match ctx {
        Some(Value::String(s)) => is_openvex(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(is_openvex),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(VexError::UnknownFormat(
            "@context is not an OpenVEX namespace (https://openvex.dev/ns[/vX.Y.Z])".into(),
        ))
    }
}

fn parse_statement(
    i: usize,
    s: &Value,
    inherited: Option<DateTime<Utc>>,
) -> Result<Statement, VexError> {
    let path = format!("statements[{i}]");
    if !s.is_object() {
        return Err(invalid(&path, "not an object"));
    }
    let (vulnerability, aliases) = parse_vulnerability(&path, s.get("vulnerability"))?;

    let status = s
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{path}.status"), "missing or not a string"))?;
    let mut state = state_from_status(status.trim()).ok_or_else(|| {
        invalid(
            &format!("{path}.status"),
            &format!(
                "unknown status {status:?}; allowed: {}",
                STATUSES.join(", ")
            ),
        )
    })?;

    let label = match s.get("justification") {
        None | Some(Value::Null) => None,
        Some(Value::String(l)) if l.trim().is_empty() => None,
        Some(Value::String(l)) => Some(l.trim()),
        Some(_) => return Err(invalid(&format!("{path}.justification"), "not a string")),
    };
    let mapped = match label {
        None => None,
        Some(l) => Some(justification_from_label(l).ok_or_else(|| {
            invalid(
                &format!("{path}.justification"),
                &format!(
                    "unknown justification {l:?}; allowed: {}",
                    JUSTIFICATION_LABELS.join(", ")
                ),
            )
        })?),
    };
    let mut justification = mapped.map(|(j, _)| j);

    let text = |key: &str| s.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut parts: Vec<String> = ["impact_statement", "action_statement"]
        .into_iter()
        .filter_map(text)
        .collect();
    let mut lossy_note = match (label, mapped) {
        (Some(l), Some((_, false))) => Some(format!("OpenVEX justification: {l}")),
        _ => None,
    };
    if let Some(notes) = text("status_notes") {
        let mut kept = Vec::new();
        for line in notes.lines() {
            match read_hint(line, status.trim(), label) {
                Some((hint_state, hint_justification)) => {
                    state = hint_state;
                    justification = hint_justification;
                    lossy_note = None;
                }
                None => kept.push(line),
            }
        }
        parts.push(kept.join("\n"));
    }
    parts.extend(lossy_note);

    let products = parse_products(&path, s)?;
    let timestamp = match opt_time(s, "last_updated", &format!("{path}.last_updated"))? {
        Some(t) => t,
        None => opt_time(s, "timestamp", &format!("{path}.timestamp"))?
            .or(inherited)
            .unwrap_or(DateTime::UNIX_EPOCH),
    };
    Ok(Statement {
        vulnerability,
        aliases,
        products,
        state,
        justification,
        responses: vec![],
        detail: join_detail(parts),
        timestamp,
    })
}

/// `vulnerability`: a string (pre-0.2) or `{name | @id, aliases}`.
fn parse_vulnerability(path: &str, v: Option<&Value>) -> Result<(String, Vec<String>), VexError> {
    let vpath = format!("{path}.vulnerability");
    let nonempty = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok((s.trim().to_owned(), vec![])),
        Some(obj @ Value::Object(_)) => {
            let name = nonempty(obj.get("name"))
                .or_else(|| nonempty(obj.get("@id")))
                .ok_or_else(|| invalid(&vpath, "neither name nor @id"))?;
            let aliases = match obj.get("aliases") {
                None | Some(Value::Null) => vec![],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && *s != name)
                    .map(str::to_owned)
                    .collect(),
                Some(_) => return Err(invalid(&format!("{vpath}.aliases"), "not an array")),
            };
            Ok((name, aliases))
        }
        _ => Err(invalid(&vpath, "missing: a string or an object with name")),
    }
}

/// `products`: objects (v0.2.0) or strings (pre-0.2), with the statement-level pre-0.2
/// `subcomponents` strings applied to every product.
fn parse_products(path: &str, s: &Value) -> Result<Vec<Product>, VexError> {
    let legacy_subs: Vec<Vec<Identifier>> = match s.get("subcomponents") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(|s| vec![identifier_from_str(s)])
            .collect(),
        _ => vec![],
    };
    let items = match s.get("products") {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid(&format!("{path}.products"), "not an array")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (j, p) in items.iter().enumerate() {
        let ppath = format!("{path}.products[{j}]");
        match p {
            Value::String(id) if !id.trim().is_empty() => out.push(Product {
                ids: vec![identifier_from_str(id)],
                subcomponents: legacy_subs.clone(),
            }),
            Value::Object(_) => {
                let ids = component_ids(&ppath, p)?;
                let mut subcomponents = legacy_subs.clone();
                match p.get("subcomponents") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(subs)) => {
                        for (k, sub) in subs.iter().enumerate() {
                            let spath = format!("{ppath}.subcomponents[{k}]");
                            let sids = match sub {
                                Value::String(id) => vec![identifier_from_str(id)],
                                Value::Object(_) => component_ids(&spath, sub)?,
                                _ => return Err(invalid(&spath, "not an object")),
                            };
                            if !sids.is_empty() {
                                subcomponents.push(sids);
                            }
                        }
                    }
                    Some(_) => {
                        return Err(invalid(&format!("{ppath}.subcomponents"), "not an array"));
                    }
                }
                out.push(Product { ids, subcomponents });
            }
            _ => return Err(invalid(&ppath, "not an object or a string")),
        }
    }
    Ok(out)
}

/// A component's identifiers: `identifiers.purl`, `identifiers.cpe23`, `identifiers.cpe22`
/// and `@id` (a purl, a CPE, or else a name: used only when no purl or CPE names the
/// component, OpenVEX spec: "the `@id` can take a purl as a value").
fn component_ids(path: &str, c: &Value) -> Result<Vec<Identifier>, VexError> {
    fn push(ids: &mut Vec<Identifier>, id: Identifier) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut ids: Vec<Identifier> = Vec::new();
    match c.get("identifiers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (key, kind) in [("purl", 0), ("cpe23", 1), ("cpe22", 1)] {
                if let Some(s) = m.get(key).and_then(Value::as_str).map(str::trim)
                    && !s.is_empty()
                {
                    push(
                        &mut ids,
                        if kind == 0 {
                            Identifier::Purl(s.to_owned())
                        } else {
                            Identifier::Cpe(s.to_owned())
                        },
                    );
                }
            }
        }
        Some(_) => return Err(invalid(&format!("{path}.identifiers"), "not an object")),
    }
    if let Some(id) = c.get("@id").and_then(Value::as_str)
        && !id.trim().is_empty()
    {
        let id = identifier_from_str(id);
        if !matches!(id, Identifier::Name { .. }) || ids.is_empty() {
            push(&mut ids, id);
        }
    }
    Ok(ids)
}

/// Reads Rampart's round-trip line (module docs): `Some((state, justification))` when the
/// line is one and agrees with the OpenVEX status and justification label.
fn read_hint(
    line: &str,
    status: &str,
    label: Option<&str>,
) -> Option<(AnalysisState, Option<Justification>)> {
    let rest = line.trim().strip_prefix(CDX_HINT_PREFIX)?;
    let mut state = None;
    let mut justification = None;
    for field in rest.split(';') {
        let (k, v) = field.split_once('=')?;
        match (k.trim(), v.trim()) {
            ("state", v) => state = Some(AnalysisState::parse(v)?),
            ("justification", "none") => justification = Some(None),
            ("justification", v) => justification = Some(Some(Justification::parse(v)?)),
            _ => return None,
        }
    }
    let (state, justification) = (state?, justification?);
    if status_for_state(state) != status {
        return None;
    }
    let agrees = match (justification, label) {
        (Some(j), Some(l)) => label_for_justification(j) == l,
        // OpenVEX has justifications for `not_affected` only: the others carry it here.
        (Some(_), None) => status != "not_affected",
        (None, None) => true,
        // The export writes `component_not_present` for a false positive without one.
        (None, Some("component_not_present")) => state == AnalysisState::FalsePositive,
        _ => false,
    };
    agrees.then_some((state, justification))
}

/// The hint line for a state and justification (see the module docs).
pub(crate) fn hint_line(state: AnalysisState, justification: Option<Justification>) -> String {
    format!(
        "{CDX_HINT_PREFIX}state={}; justification={}",
        state.as_str(),
        justification.map_or("none", Justification::as_str)
    )
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the three parsers.

/// `VexError::Invalid` at `path`.
pub(crate) fn invalid(path: &str, reason: &str) -> VexError {
    VexError::Invalid {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// `s` cut to at most [`MAX_DETAIL_CHARS`] characters.
pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((at, _)) => s[..at].to_owned(),
        None => s.to_owned(),
    }
}

/// The non-blank parts, trimmed, duplicates dropped, one a line, cut at
/// [`MAX_DETAIL_CHARS`]; `None` when nothing is left.
pub(crate) fn join_detail(parts: impl IntoIterator<Item = String>) -> Option<String> {
    let mut seen: Vec<String> = Vec::new();
    for p in parts {
        let p = p.trim();
        if !p.is_empty() && !seen.iter().any(|s| s == p) {
            seen.push(p.to_owned());
        }
    }
    (!seen.is_empty()).then(|| clip(&seen.join("\n")))
}

/// An RFC 3339 timestamp at `v[key]`, if present.
///
/// # Errors
/// [`VexError::Invalid`] at `path` when present but not an RFC 3339 string.
pub(crate) fn opt_time(
    v: &Value,
    key: &str,
    path: &str,
) -> Result<Option<DateTime<Utc>>, VexError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| invalid(path, &format!("not an RFC 3339 timestamp ({e}): {s:?}"))),
        Some(_) => Err(invalid(path, "not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vex::{VexError, parse as parse_any};
    use serde_json::json;

    fn purl(s: &str) -> Identifier {
        Identifier::Purl(s.into())
    }

    fn parse_json(v: Value) -> Result<VexDocument, VexError> {
        parse_any(v.to_string().as_bytes())
    }

    #[test]
    fn unknown_status_is_refused_with_its_path() {
        let doc = json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "x", "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
            "statements": [
                {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/a"}], "status": "fixed"},
                {"vulnerability": {"name": "CVE-2"}, "products": [{"@id": "pkg:npm/a"}], "status": "fixed"},
                {"vulnerability": {"name": "CVE-3"}, "products": [{"@id": "pkg:npm/a"}], "status": "fixed"},
                {"vulnerability": {"name": "CVE-4"}, "products": [{"@id": "pkg:npm/a"}], "status": "mitigated"}
            ]
        });
        let err = parse_json(doc).unwrap_err();
        let VexError::Invalid { path, reason } = err else {
            panic!("{err:?}")
        };
        assert_eq!(path, "statements[3].status");
        assert!(reason.contains("\"mitigated\""), "{reason}");
        assert!(
            reason.contains("not_affected, affected, fixed, under_investigation"),
            "{reason}"
        );
    }

    #[test]
    fn unknown_justification_is_refused_with_its_path() {
        let doc = json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x",
            "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "not_affected",
                            "justification": "code_not_reachable"}]
        });
        let err = parse_json(doc).unwrap_err();
        let VexError::Invalid { path, reason } = err else {
            panic!("{err:?}")
        };
        assert_eq!(path, "statements[0].justification");
        assert!(
            reason.contains("inline_mitigations_already_exist"),
            "{reason}"
        );
    }

    #[test]
    fn other_context_is_not_openvex() {
        let doc = json!({"@context": "https://schema.org", "statements": []});
        assert!(matches!(parse_json(doc), Err(VexError::UnknownFormat(_))));
        let doc = json!({"@context": "https://openvex.dev/nsfoo", "statements": []});
        assert!(matches!(parse_json(doc), Err(VexError::UnknownFormat(_))));
    }

    #[test]
    fn justification_mapping_keeps_lossy_labels_in_detail() {
        for (label, want, exact) in [
            (
                "component_not_present",
                Justification::CodeNotPresent,
                false,
            ),
            (
                "vulnerable_code_not_present",
                Justification::CodeNotPresent,
                true,
            ),
            (
                "vulnerable_code_not_in_execute_path",
                Justification::CodeNotReachable,
                true,
            ),
            (
                "vulnerable_code_cannot_be_controlled_by_adversary",
                Justification::RequiresEnvironment,
                false,
            ),
            (
                "inline_mitigations_already_exist",
                Justification::ProtectedByMitigatingControl,
                false,
            ),
        ] {
            let doc = json!({
                "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x",
                "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "not_affected",
                                "products": [{"@id": "pkg:npm/a"}], "justification": label}]
            });
            let s = &parse_json(doc).unwrap().statements[0];
            assert_eq!(s.justification, Some(want), "{label}");
            let note = format!("OpenVEX justification: {label}");
            assert_eq!(
                s.detail.as_deref() == Some(note.as_str()),
                !exact,
                "{label}"
            );
            // The export's label for the mapped justification maps back to it.
            let back = label_for_justification(want);
            assert_eq!(justification_from_label(back).map(|(j, _)| j), Some(want));
        }
    }

    #[test]
    fn identifiers_and_non_purl_ids() {
        let doc = json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x",
            "statements": [{
                "vulnerability": {"@id": "https://nvd.nist.gov/vuln/detail/CVE-1", "aliases": ["GHSA-x"]},
                "status": "under_investigation",
                "products": [
                    {"@id": "https://example.com/product",
                     "identifiers": {"purl": "pkg:npm/a@1", "cpe23": "cpe:2.3:a:x:a:1:*:*:*:*:*:*:*", "cpe22": "cpe:/a:x:a:1"},
                     "subcomponents": [{"@id": "libfoo"}]},
                    {"@id": "My Product"}
                ]
            }]
        });
        let s = &parse_json(doc).unwrap().statements[0];
        assert_eq!(s.vulnerability, "https://nvd.nist.gov/vuln/detail/CVE-1");
        assert_eq!(s.aliases, vec!["GHSA-x"]);
        assert_eq!(s.state, AnalysisState::InTriage);
        assert_eq!(
            s.products[0].ids,
            vec![
                purl("pkg:npm/a@1"),
                Identifier::Cpe("cpe:2.3:a:x:a:1:*:*:*:*:*:*:*".into()),
                Identifier::Cpe("cpe:/a:x:a:1".into()),
            ]
        );
        assert_eq!(
            s.products[0].subcomponents,
            vec![vec![Identifier::Name {
                name: "libfoo".into(),
                version: None
            }]]
        );
        assert_eq!(
            s.products[1].ids,
            vec![Identifier::Name {
                name: "My Product".into(),
                version: None
            }]
        );
        // No timestamp anywhere: the Unix epoch.
        assert_eq!(s.timestamp, DateTime::UNIX_EPOCH);
    }

    #[test]
    fn detail_is_bounded() {
        let long = "x".repeat(10_000);
        let doc = json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x",
            "statements": [{"vulnerability": "CVE-1", "status": "affected", "action_statement": long}]
        });
        let s = &parse_json(doc).unwrap().statements[0];
        assert_eq!(
            s.detail.as_ref().map(|d| d.chars().count()),
            Some(MAX_DETAIL_CHARS)
        );
    }

    #[test]
    fn bad_timestamp_is_refused() {
        let doc = json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x",
            "statements": [{"vulnerability": "CVE-1", "status": "fixed", "timestamp": "yesterday"}]
        });
        let err = parse_json(doc).unwrap_err();
        assert!(
            matches!(&err, VexError::Invalid { path, .. } if path == "statements[0].timestamp"),
            "{err:?}"
        );
    }

    #[test]
    fn legacy_statement_subcomponents_apply_to_every_product() {
        let doc = json!({
            "@context": "https://openvex.dev/ns", "@id": "x", "version": "1",
            "statements": [{"vulnerability": "CVE-1", "status": "not_affected",
                            "justification": "vulnerable_code_not_present",
                            "products": ["pkg:oci/a", "pkg:oci/b"],
                            "subcomponents": ["pkg:npm/lib@1.0.0"]}]
        });
        let s = &parse_json(doc).unwrap().statements[0];
        let sub = vec![vec![purl("pkg:npm/lib@1.0.0")]];
        assert_eq!(
            s.products,
            vec![
                Product {
                    ids: vec![purl("pkg:oci/a")],
                    subcomponents: sub.clone()
                },
                Product {
                    ids: vec![purl("pkg:oci/b")],
                    subcomponents: sub
                },
            ]
        );
    }

    #[test]
    fn too_many_statements() {
        let one = json!({"vulnerability": "CVE-1", "status": "fixed"});
        let doc = json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x",
            "statements": vec![one; MAX_STATEMENTS + 1]
        });
        assert!(matches!(parse(&doc), Err(VexError::TooLarge(_))));
    }

    #[test]
    fn hint_must_agree_with_the_status() {
        // A hint that contradicts the status stays text.
        let doc = json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x",
            "statements": [{"vulnerability": "CVE-1", "status": "fixed",
                            "status_notes": "CycloneDX analysis: state=false_positive; justification=none"}]
        });
        let s = &parse_json(doc).unwrap().statements[0];
        assert_eq!(s.state, AnalysisState::Resolved);
        assert!(
            s.detail
                .as_deref()
                .is_some_and(|d| d.starts_with(CDX_HINT_PREFIX))
        );
    }
}
