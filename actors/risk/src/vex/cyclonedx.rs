//! CycloneDX VEX: `vulnerabilities[]` with `analysis` in CycloneDX 1.4, 1.5 and 1.6 JSON (1.7,
//! which keeps the same structure, is accepted too).
//!
//! # Statements
//!
//! Every `vulnerabilities[i]` with an `analysis.state` is one [`Statement`] (a vulnerability
//! without `analysis`, or whose analysis has no state, is vulnerability data, not a VEX
//! statement, and yields nothing):
//!
//! * `vulnerability` = `id`; `aliases` = `references[].id` (CycloneDX 1.6 §"vulnerabilities":
//!   "references: Zero or more pointers to vulnerabilities that are the equivalent of the
//!   vulnerability specified");
//! * `state`, `justification`, `responses` = `analysis.state` (`resolved_with_pedigree` is
//!   `Resolved`), `analysis.justification`, `analysis.response[]`; an unknown value is refused
//!   with its path and the allowed values;
//! * `detail` = `analysis.detail`, cut at [`super::openvex::MAX_DETAIL_CHARS`] characters;
//! * `timestamp` = `analysis.lastUpdated`, else `analysis.firstIssued`, else
//!   `metadata.timestamp`, else the Unix epoch (an undated statement loses against any dated
//!   one);
//! * `products`: one [`Product`] per `affects[]` entry, without subcomponents (CycloneDX
//!   `affects` names the affected component directly).
//!
//! # Resolving `affects[].ref`
//!
//! 1. a `bom-ref` defined in the same document (`metadata.component`, `components[]` and
//!    `services[]`, recursively): that component's purl and CPE; a component with neither is
//!    named by [`Identifier::Name`] (`name`, `version`);
//! 2. a BOM-Link (CycloneDX 1.5 §"BOM-Link", `urn:cdx:<serial>/<version>#<bom-ref>`): the
//!    percent-decoded fragment, resolved as in 1. when the serial is this document's, else as
//!    in 3.; a BOM-Link without a fragment (a whole other BOM) names nothing Rampart knows and
//!    yields no product;
//! 3. anything else is classified by [`identifier_from_str`]: `pkg:...` is a purl, `cpe:...` a
//!    CPE, else a name without version.
//!
//! `affects[].versions[]` narrows the product: every entry with a `version` gives the
//! identifiers with that version (a purl's `@version`, a CPE's version attribute, a name's
//! version); entries with a `range` (`vers:` ranges) are not representable in the model and
//! are left out, so such a statement is never applied beyond what it states (an `affects`
//! entry with ranges only yields no product). The entries' `status` is not looked at: the
//! statement's analysis says what holds for the listed versions.
//!
//! # Document
//!
//! `id` = `serialNumber`, else the hex SHA-256 of the bytes; `author` = the first of
//! `metadata.authors[].name`, `metadata.manufacturer.name`, `metadata.manufacture.name`,
//! `metadata.supplier.name`; `timestamp` = `metadata.timestamp`.

use std::collections::HashMap;

use chrono::DateTime;
use packageurl::PackageUrl;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::openvex::{clip, invalid, opt_time};
use super::product::identifier_from_str;
use super::{
    AnalysisState, Identifier, Justification, MAX_STATEMENTS, Product, Response, Statement,
    VexDocument, VexError, VexFormat,
};
use crate::cpe::Cpe;

/// CycloneDX specification versions accepted (`specVersion`).
pub const SPEC_VERSIONS: [&str; 4] = ["1.4", "1.5", "1.6", "1.7"];

/// CycloneDX `impactAnalysisState` values (1.6 JSON schema).
pub const STATES: [&str; 6] = [
    "resolved",
    "resolved_with_pedigree",
    "exploitable",
    "in_triage",
    "false_positive",
    "not_affected",
];

/// Parses a CycloneDX BOM's VEX statements (module docs); `bytes` is the document as
/// received (its SHA-256 is the id when there is no `serialNumber`).
///
/// # Errors
/// * [`VexError::Invalid`]: a `specVersion` before 1.4 (no `vulnerabilities`) or unknown,
///   `vulnerabilities` not an array, a statement without `id`, an unknown state /
///   justification / response (with the path, e.g. `vulnerabilities[2].analysis.state`, and
///   the allowed values), a timestamp that is not RFC 3339;
/// * [`VexError::TooLarge`]: more than [`MAX_STATEMENTS`] statements.
pub fn parse(v: &Value, bytes: &[u8]) -> Result<VexDocument, VexError> {
    let spec = v.get("specVersion").and_then(Value::as_str).unwrap_or("");
    if !SPEC_VERSIONS.contains(&spec.trim()) {
        return Err(invalid(
            "specVersion",
            &format!(
                "CycloneDX {spec:?}: VEX needs one of {} (vulnerabilities[].analysis)",
                SPEC_VERSIONS.join(", ")
            ),
        ));
    }
    let serial = v
        .get("serialNumber")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let id = serial.map_or_else(|| format!("{:x}", Sha256::digest(bytes)), str::to_owned);
    let metadata = v.get("metadata").unwrap_or(&Value::Null);
    let doc_timestamp = opt_time(metadata, "timestamp", "metadata.timestamp")?;

    let mut refs = HashMap::new();
    if let Some(c) = metadata.get("component") {
        collect_refs(c, &mut refs);
    }
    for key in ["components", "services"] {
        for c in v.get(key).and_then(Value::as_array).into_iter().flatten() {
            collect_refs(c, &mut refs);
        }
    }
    let serial_uuid = serial.map(|s| s.strip_prefix("urn:uuid:").unwrap_or(s));

    let vulns = match v.get("vulnerabilities") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(invalid("vulnerabilities", "not an array")),
    };
    let mut statements = Vec::new();
    for (i, vuln) in vulns.iter().enumerate() {
        let path = format!("vulnerabilities[{i}]");
        let Some(analysis) = vuln.get("analysis").filter(|a| a.is_object()) else {
            continue;
        };
        let Some(state) = analysis.get("state").filter(|s| !s.is_null()) else {
            continue;
        };
        if statements.len() >= MAX_STATEMENTS {
            return Err(VexError::TooLarge(format!(
                "more than {MAX_STATEMENTS} statements"
            )));
        }
        statements.push(parse_vulnerability(
            &path,
            vuln,
            analysis,
            state,
            &refs,
            serial_uuid,
            doc_timestamp,
        )?);
    }

    Ok(VexDocument {
        format: VexFormat::Cyclonedx,
        id,
        author: author(metadata),
        timestamp: doc_timestamp,
        statements,
    })
}

fn author(metadata: &Value) -> Option<String> {
    let name = |v: Option<&Value>| {
        v.and_then(|e| e.get("name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(clip)
    };
    metadata
        .get("authors")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find_map(|e| name(Some(e))))
        .or_else(|| name(metadata.get("manufacturer")))
        .or_else(|| name(metadata.get("manufacture")))
        .or_else(|| name(metadata.get("supplier")))
}

#[allow(clippy::too_many_arguments)]
fn parse_vulnerability(
    path: &str,
    vuln: &Value,
    analysis: &Value,
    state: &Value,
    refs: &HashMap<String, Vec<Identifier>>,
    serial_uuid: Option<&str>,
    doc_timestamp: Option<DateTime<chrono::Utc>>,
) -> Result<Statement, VexError> {
    let id = vuln
        .get("id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            invalid(
                &format!("{path}.id"),
                "missing: a VEX statement needs an id",
            )
        })?
        .to_owned();
    let mut aliases: Vec<String> = Vec::new();
    for r in vuln
        .get("references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(a) = r.get("id").and_then(Value::as_str).map(str::trim)
            && !a.is_empty()
            && a != id
            && !aliases.iter().any(|x| x == a)
        {
            aliases.push(a.to_owned());
        }
    }

    let apath = format!("{path}.analysis");
    let state = state
        .as_str()
        .map(str::trim)
        .and_then(|s| match s {
            "resolved_with_pedigree" => Some(AnalysisState::Resolved),
            s => AnalysisState::parse(s),
        })
        .ok_or_else(|| {
            invalid(
                &format!("{apath}.state"),
                &format!("unknown state {state}; allowed: {}", STATES.join(", ")),
            )
        })?;
    let justification = match analysis.get("justification") {
        None | Some(Value::Null) => None,
        Some(j) => Some(
            j.as_str()
                .map(str::trim)
                .and_then(Justification::parse)
                .ok_or_else(|| {
                    invalid(
                        &format!("{apath}.justification"),
                        &format!(
                            "unknown justification {j}; allowed: {}",
                            Justification::ALL.map(Justification::as_str).join(", ")
                        ),
                    )
                })?,
        ),
    };
    let mut responses = Vec::new();
    match analysis.get("response") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (k, r) in items.iter().enumerate() {
                let resp = r
                    .as_str()
                    .map(str::trim)
                    .and_then(Response::parse)
                    .ok_or_else(|| {
                        invalid(
                            &format!("{apath}.response[{k}]"),
                            &format!(
                                "unknown response {r}; allowed: {}",
                                Response::ALL.map(Response::as_str).join(", ")
                            ),
                        )
                    })?;
                if !responses.contains(&resp) {
                    responses.push(resp);
                }
            }
        }
        Some(_) => return Err(invalid(&format!("{apath}.response"), "not an array")),
    }
    let detail = analysis
        .get("detail")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(clip);
    let timestamp = match opt_time(analysis, "lastUpdated", &format!("{apath}.lastUpdated"))? {
        Some(t) => t,
        None => opt_time(analysis, "firstIssued", &format!("{apath}.firstIssued"))?
            .or(doc_timestamp)
            .unwrap_or(DateTime::UNIX_EPOCH),
    };

    let mut products = Vec::new();
    let affects = match vuln.get("affects") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(invalid(&format!("{path}.affects"), "not an array")),
    };
    for (k, a) in affects.iter().enumerate() {
        let r = a.get("ref").and_then(Value::as_str).ok_or_else(|| {
            invalid(
                &format!("{path}.affects[{k}].ref"),
                "missing or not a string",
            )
        })?;
        let ids = resolve_ref(r, refs, serial_uuid);
        let ids = match a.get("versions").and_then(Value::as_array) {
            Some(versions) if !versions.is_empty() => {
                let mut out = Vec::new();
                for ver in versions
                    .iter()
                    .filter_map(|e| e.get("version").and_then(Value::as_str))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    for id in ids.iter().filter_map(|id| with_version(id, ver)) {
                        if !out.contains(&id) {
                            out.push(id);
                        }
                    }
                }
                out
            }
            _ => ids,
        };
        if !ids.is_empty() {
            products.push(Product {
                ids,
                subcomponents: vec![],
            });
        }
    }

    Ok(Statement {
        vulnerability: id,
        aliases,
        products,
        state,
        justification,
        responses,
        detail,
        timestamp,
    })
}

/// Records the `bom-ref` of a component or service and of those nested in it.
fn collect_refs(c: &Value, refs: &mut HashMap<String, Vec<Identifier>>) {
    if let Some(r) = c.get("bom-ref").and_then(Value::as_str)
        && !r.trim().is_empty()
    {
        let ids = component_ids(c);
        if !ids.is_empty() {
            refs.entry(r.trim().to_owned()).or_insert(ids);
        }
    }
    for key in ["components", "services"] {
        for child in c.get(key).and_then(Value::as_array).into_iter().flatten() {
            collect_refs(child, refs);
        }
    }
}

/// A component's identifiers: its purl and CPE; a name (and version) only when it has
/// neither (a name alone would also match unrelated packages of the same name).
fn component_ids(c: &Value) -> Vec<Identifier> {
    let s = |k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let mut ids = Vec::new();
    if let Some(p) = s("purl") {
        ids.push(Identifier::Purl(p.to_owned()));
    }
    if let Some(p) = s("cpe") {
        ids.push(Identifier::Cpe(p.to_owned()));
    }
    if ids.is_empty()
        && let Some(name) = s("name")
    {
        ids.push(Identifier::Name {
            name: name.to_owned(),
            version: s("version").map(str::to_owned),
        });
    }
    ids
}

/// Resolves an `affects[].ref` (module docs).
fn resolve_ref(
    r: &str,
    refs: &HashMap<String, Vec<Identifier>>,
    serial_uuid: Option<&str>,
) -> Vec<Identifier> {
    let r = r.trim();
    if let Some(link) = r.strip_prefix("urn:cdx:") {
        let Some((doc, fragment)) = link.split_once('#') else {
            return vec![];
        };
        let fragment = percent_decode(fragment);
        let fragment = fragment.trim();
        if fragment.is_empty() {
            return vec![];
        }
        let same_doc = serial_uuid.is_some_and(|s| doc.split('/').next() == Some(s));
        if same_doc && let Some(ids) = refs.get(fragment) {
            return ids.clone();
        }
        return vec![identifier_from_str(fragment)];
    }
    match refs.get(r) {
        Some(ids) => ids.clone(),
        None if r.is_empty() => vec![],
        None => vec![identifier_from_str(r)],
    }
}

/// `id` narrowed to version `v`; `None` when that cannot be expressed (an unparseable purl or
/// CPE), so that the statement is never widened.
fn with_version(id: &Identifier, v: &str) -> Option<Identifier> {
    match id {
        Identifier::Purl(p) => {
            let mut purl: PackageUrl<'static> = p.parse().ok()?;
            purl.with_version(v.to_owned()).ok()?;
            Some(Identifier::Purl(purl.to_string()))
        }
        Identifier::Cpe(c) => {
            let mut cpe = Cpe::parse(c).ok()?;
            cpe.attrs[3] = v.to_lowercase();
            Some(Identifier::Cpe(format_cpe23(&cpe)))
        }
        Identifier::Name { name, .. } => Some(Identifier::Name {
            name: name.clone(),
            version: Some(v.to_owned()),
        }),
    }
}

/// A CPE 2.3 formatted string (NISTIR 7695 §6.2): `*` and `-` as logical values, other
/// characters than letters, digits, `_`, `.` and `-` escaped with `\`.
fn format_cpe23(c: &Cpe) -> String {
    let mut out = String::from("cpe:2.3");
    for a in &c.attrs {
        out.push(':');
        if a == "*" || a == "-" || a.is_empty() {
            out.push_str(if a.is_empty() { "*" } else { a });
            continue;
        }
        for ch in a.chars() {
            if !(ch.is_alphanumeric() || matches!(ch, '_' | '.' | '-')) {
                out.push('\\');
            }
            out.push(ch);
        }
    }
    out
}

/// Percent-decodes `s` (RFC 3986 §2.1); malformed escapes stay as written, invalid UTF-8 is
/// replaced.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vex::parse as parse_any;
    use serde_json::json;

    fn doc(v: Value) -> Result<VexDocument, VexError> {
        parse_any(v.to_string().as_bytes())
    }

    #[test]
    fn refs_resolve_locally_through_bom_links_and_purls() {
        let d = doc(json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6",
            "serialNumber": "urn:uuid:11111111-2222-3333-4444-555555555555", "version": 1,
            "metadata": {"timestamp": "2024-05-01T00:00:00Z",
                         "authors": [{"name": "Acme PSIRT"}],
                         "component": {"bom-ref": "app", "name": "app", "version": "1.0"}},
            "components": [
                {"bom-ref": "lib", "name": "lib", "purl": "pkg:npm/lib@2.0.0",
                 "cpe": "cpe:2.3:a:acme:lib:2.0.0:*:*:*:*:*:*:*",
                 "components": [{"bom-ref": "nested", "name": "nested", "version": "3"}]}
            ],
            "services": [{"bom-ref": "svc", "name": "billing"}],
            "vulnerabilities": [
                {"id": "CVE-2024-1", "analysis": {"state": "not_affected", "justification": "requires_dependency"},
                 "affects": [{"ref": "lib"}, {"ref": "nested"}, {"ref": "svc"}, {"ref": "app"},
                             {"ref": "urn:cdx:11111111-2222-3333-4444-555555555555/1#lib"},
                             {"ref": "urn:cdx:99999999-2222-3333-4444-555555555555/1#pkg%3Anpm%2Fother%401.0.0"},
                             {"ref": "urn:cdx:99999999-2222-3333-4444-555555555555/1"},
                             {"ref": "pkg:pypi/requests@2.0"}]},
                {"id": "CVE-2024-2", "description": "no analysis: not a statement"},
                {"id": "CVE-2024-3", "analysis": {"detail": "no state: not a statement"}}
            ]
        }))
        .unwrap();
        assert_eq!(d.id, "urn:uuid:11111111-2222-3333-4444-555555555555");
        assert_eq!(d.author.as_deref(), Some("Acme PSIRT"));
        assert_eq!(d.statements.len(), 1);
        let s = &d.statements[0];
        assert_eq!(s.justification, Some(Justification::RequiresDependency));
        assert_eq!(s.timestamp.to_rfc3339(), "2024-05-01T00:00:00+00:00");
        let ids: Vec<_> = s.products.iter().map(|p| p.ids.clone()).collect();
        let name = |n: &str, v: Option<&str>| Identifier::Name {
            name: n.into(),
            version: v.map(Into::into),
        };
        let lib = vec![
            Identifier::Purl("pkg:npm/lib@2.0.0".into()),
            Identifier::Cpe("cpe:2.3:a:acme:lib:2.0.0:*:*:*:*:*:*:*".into()),
        ];
        assert_eq!(
            ids,
            vec![
                lib.clone(),
                vec![name("nested", Some("3"))],
                vec![name("billing", None)],
                vec![name("app", Some("1.0"))],
                lib,
                vec![Identifier::Purl("pkg:npm/other@1.0.0".into())],
                vec![Identifier::Purl("pkg:pypi/requests@2.0".into())],
            ]
        );
        assert!(s.products.iter().all(|p| p.subcomponents.is_empty()));
    }

    #[test]
    fn affects_versions_narrow_the_product() {
        let d = doc(json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5",
            "components": [{"bom-ref": "c", "name": "c", "purl": "pkg:maven/g/c?type=jar",
                            "cpe": "cpe:2.3:a:g:c:*:*:*:*:*:*:*:*"}],
            "vulnerabilities": [
                {"id": "CVE-1", "analysis": {"state": "exploitable"},
                 "affects": [{"ref": "c", "versions": [{"version": "1.0"}, {"range": "vers:maven/>=2|<3"}]},
                             {"ref": "only-ranges", "versions": [{"range": "vers:generic/<2"}]}]}
            ]
        }))
        .unwrap();
        let s = &d.statements[0];
        assert_eq!(s.products.len(), 1);
        assert_eq!(
            s.products[0].ids,
            vec![
                Identifier::Purl("pkg:maven/g/c@1.0?type=jar".into()),
                Identifier::Cpe("cpe:2.3:a:g:c:1.0:*:*:*:*:*:*:*".into()),
            ]
        );
    }

    #[test]
    fn unknown_values_are_refused_with_their_path() {
        let base = |analysis: Value| {
            json!({"bomFormat": "CycloneDX", "specVersion": "1.4",
                   "vulnerabilities": [{"id": "CVE-0", "analysis": {"state": "in_triage"}},
                                       {"id": "CVE-1", "analysis": analysis}]})
        };
        let cases = [
            (
                json!({"state": "mitigated"}),
                "vulnerabilities[1].analysis.state",
                "not_affected",
            ),
            (
                json!({"state": "not_affected", "justification": "component_not_present"}),
                "vulnerabilities[1].analysis.justification",
                "protected_by_mitigating_control",
            ),
            (
                json!({"state": "exploitable", "response": ["update", "patch"]}),
                "vulnerabilities[1].analysis.response[1]",
                "workaround_available",
            ),
        ];
        for (analysis, want_path, allowed) in cases {
            match doc(base(analysis)) {
                Err(VexError::Invalid { path, reason }) => {
                    assert_eq!(path, want_path);
                    assert!(reason.contains(allowed), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
        // A missing id.
        let err = doc(json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
                             "vulnerabilities": [{"analysis": {"state": "in_triage"}}]}))
        .unwrap_err();
        assert!(matches!(err, VexError::Invalid { path, .. } if path == "vulnerabilities[0].id"));
        // CycloneDX 1.3 has no vulnerabilities.
        let err = doc(json!({"bomFormat": "CycloneDX", "specVersion": "1.3"})).unwrap_err();
        assert!(matches!(err, VexError::Invalid { path, .. } if path == "specVersion"));
    }

    #[test]
    fn timestamps_and_ids_fall_back() {
        let v = json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
                       "vulnerabilities": [
                           {"id": "CVE-1", "analysis": {"state": "resolved_with_pedigree",
                               "firstIssued": "2024-01-01T00:00:00Z"}},
                           {"id": "CVE-2", "analysis": {"state": "false_positive",
                               "firstIssued": "2024-01-01T00:00:00Z", "lastUpdated": "2024-02-01T00:00:00+01:00"}},
                           {"id": "CVE-3", "analysis": {"state": "in_triage"}}]});
        let bytes = v.to_string();
        let d = parse_any(bytes.as_bytes()).unwrap();
        assert_eq!(d.id, format!("{:x}", Sha256::digest(bytes.as_bytes())));
        assert_eq!(d.id.len(), 64);
        let s = &d.statements;
        assert_eq!(s[0].state, AnalysisState::Resolved);
        assert_eq!(s[0].timestamp.to_rfc3339(), "2024-01-01T00:00:00+00:00");
        assert_eq!(s[1].state, AnalysisState::FalsePositive);
        assert_eq!(s[1].timestamp.to_rfc3339(), "2024-01-31T23:00:00+00:00");
        assert_eq!(s[2].timestamp, DateTime::UNIX_EPOCH);
        assert!(s.iter().all(|s| s.products.is_empty()));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("pkg%3Anpm%2Fa%401"), "pkg:npm/a@1");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
