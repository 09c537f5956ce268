//! VEX export of one asset's analysed findings: CycloneDX 1.6 and OpenVEX 0.2.0.
//!
//! Input: the asset ([`ExportAsset`]) and one [`ExportItem`] per (vulnerability, component)
//! pair, at most [`MAX_STATEMENTS`] of them (the rest are left out, so that the document can
//! be imported again).
//!
//! # CycloneDX 1.6 ([`cyclonedx`])
//!
//! A BOM (`bomFormat` `CycloneDX`, `specVersion` `1.6`, a fresh `urn:uuid` `serialNumber`,
//! `version` 1) whose `metadata.component` is the asset and whose `components[]` are the
//! affected components, each with a `bom-ref` equal to its purl, else `name@version`, else its
//! name. One `vulnerabilities[]` entry per item: `id`, `source` (NVD for `CVE-`, GitHub for
//! `GHSA-`, OSV otherwise, [`vulnerability_source`]), the aliases as `references[]`,
//! `analysis` {`state`, `justification`, `response`, `detail`, `firstIssued`, `lastUpdated`}
//! and `affects[{ref}]` naming the component's `bom-ref`. CycloneDX expresses every state,
//! justification and response, so [`super::cyclonedx::parse`] gives them back exactly.
//!
//! # OpenVEX 0.2.0 ([`openvex`], [`openvex_with_id`])
//!
//! `@context` `https://openvex.dev/ns/v0.2.0`, `@id` (`https://rampart.invalid/vex/<uuid>`
//! unless given), `author`, `timestamp`, `version` 1, `tooling`, and one statement per item:
//! `vulnerability {name, aliases}`, `products [{@id: the asset's purl (else its name),
//! subcomponents [{@id: the component's purl (else its name)}]}]` (so that the statement
//! covers the component inside this asset only, OpenVEX "Subcomponent"), `timestamp` (first
//! issued) and `last_updated`, and the status with the fields the OpenVEX spec (and go-vex's
//! `Statement.Validate`) requires of it:
//!
//! | state | `status` | fields |
//! |---|---|---|
//! | `NotAffected` | `not_affected` | `justification` ([`super::openvex::label_for_justification`]), `impact_statement` = detail (a default text when there is neither) |
//! | `FalsePositive` | `not_affected` | as above; without a justification `component_not_present` (the finding named a component or vulnerability that is not there) |
//! | `Exploitable` | `affected` | `action_statement` = detail, else the responses, else a default text |
//! | `Resolved` | `fixed` | `status_notes` = detail |
//! | `InTriage` | `under_investigation` | `status_notes` = detail |
//!
//! Where OpenVEX cannot say the CycloneDX analysis (a false positive, a justification with
//! no exact label, a justification on another state than not affected), one more
//! `status_notes` line `CycloneDX analysis: state=...; justification=...` says it, and
//! [`super::openvex::parse`] reads it back (see there), so the round trip keeps every state
//! and justification. Components without purl are named by their name only: the OpenVEX
//! statement then covers every version of that name inside the asset.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::openvex::{
    clip, hint_line, justification_from_label, label_for_justification, status_for_state,
};
use super::{AnalysisState, Justification, MAX_STATEMENTS, Response};

/// The asset a VEX document is exported for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportAsset {
    /// Its name.
    pub name: String,
    /// Its version, when known.
    pub version: Option<String>,
    /// Its package URL, when known (then the OpenVEX product is this purl).
    pub purl: Option<String>,
}

/// One analysed finding: a vulnerability in a component of the asset, with its analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportItem {
    /// The vulnerability id (CVE, GHSA, GO-, OSV ids).
    pub vulnerability: String,
    /// Its other ids.
    pub aliases: Vec<String>,
    /// The component's name.
    pub component_name: String,
    /// The component's version, when known.
    pub component_version: Option<String>,
    /// The component's package URL, when known.
    pub component_purl: Option<String>,
    /// The analysis state.
    pub state: AnalysisState,
    /// Why not affected.
    pub justification: Option<Justification>,
    /// What is done about it.
    pub responses: Vec<Response>,
    /// Free text (cut at 4,096 characters on export).
    pub detail: Option<String>,
    /// When the analysis was first made.
    pub first_issued: DateTime<Utc>,
    /// When it last changed.
    pub last_updated: DateTime<Utc>,
}

/// The CycloneDX `source` of a vulnerability id: `("NVD", nvd url)` for `CVE-...`,
/// `("GitHub", advisory url)` for `GHSA-...`, `("OSV", osv.dev url)` otherwise.
pub fn vulnerability_source(id: &str) -> (&'static str, String) {
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("CVE-") {
        ("NVD", format!("https://nvd.nist.gov/vuln/detail/{id}"))
    } else if upper.starts_with("GHSA-") {
        ("GitHub", format!("https://github.com/advisories/{id}"))
    } else {
        ("OSV", format!("https://osv.dev/vulnerability/{id}"))
    }
}

/// The CycloneDX `bom-ref` of a component: its purl, else `name@version`, else its name.
pub fn bom_ref(name: &str, version: Option<&str>, purl: Option<&str>) -> String {
    match (purl, version) {
        (Some(p), _) if !p.trim().is_empty() => p.trim().to_owned(),
        (_, Some(v)) if !v.trim().is_empty() => format!("{}@{}", name.trim(), v.trim()),
        _ => name.trim().to_owned(),
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn component_json(
    kind: &str,
    r: &str,
    name: &str,
    version: Option<&str>,
    purl: Option<&str>,
) -> Value {
    let mut c = Map::new();
    c.insert("type".into(), kind.into());
    c.insert("bom-ref".into(), r.into());
    c.insert("name".into(), name.into());
    if let Some(v) = version.filter(|v| !v.trim().is_empty()) {
        c.insert("version".into(), v.into());
    }
    if let Some(p) = purl.filter(|p| !p.trim().is_empty()) {
        c.insert("purl".into(), p.trim().into());
    }
    Value::Object(c)
}

/// A CycloneDX 1.6 VEX document for `asset` (module docs).
pub fn cyclonedx(asset: &ExportAsset, items: &[ExportItem], now: DateTime<Utc>) -> Value {
    let asset_ref = bom_ref(&asset.name, asset.version.as_deref(), asset.purl.as_deref());
    let mut components: Vec<Value> = Vec::new();
    let mut refs: Vec<String> = vec![asset_ref.clone()];
    let mut vulnerabilities = Vec::new();
    for item in items.iter().take(MAX_STATEMENTS) {
        let r = bom_ref(
            &item.component_name,
            item.component_version.as_deref(),
            item.component_purl.as_deref(),
        );
        if !refs.contains(&r) {
            components.push(component_json(
                "library",
                &r,
                &item.component_name,
                item.component_version.as_deref(),
                item.component_purl.as_deref(),
            ));
            refs.push(r.clone());
        }
        let mut analysis = Map::new();
        analysis.insert("state".into(), item.state.as_str().into());
        if let Some(j) = item.justification {
            analysis.insert("justification".into(), j.as_str().into());
        }
        let mut responses: Vec<&str> = Vec::new();
        for r in &item.responses {
            if !responses.contains(&r.as_str()) {
                responses.push(r.as_str());
            }
        }
        if !responses.is_empty() {
            analysis.insert("response".into(), responses.into());
        }
        if let Some(d) = item
            .detail
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            analysis.insert("detail".into(), clip(d).into());
        }
        analysis.insert("firstIssued".into(), ts(item.first_issued).into());
        analysis.insert("lastUpdated".into(), ts(item.last_updated).into());
        let (source, url) = vulnerability_source(&item.vulnerability);
        let references: Vec<Value> = item
            .aliases
            .iter()
            .filter(|a| **a != item.vulnerability)
            .map(|a| {
                let (name, url) = vulnerability_source(a);
                json!({"id": a, "source": {"name": name, "url": url}})
            })
            .collect();
        let mut v = Map::new();
        v.insert("id".into(), item.vulnerability.clone().into());
        v.insert("source".into(), json!({"name": source, "url": url}));
        if !references.is_empty() {
            v.insert("references".into(), references.into());
        }
        v.insert("analysis".into(), Value::Object(analysis));
        v.insert("affects".into(), json!([{"ref": r}]));
        vulnerabilities.push(Value::Object(v));
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "version": 1,
        "metadata": {
            "timestamp": ts(now),
            "tools": {"components": [{"type": "application", "name": "Rampart"}]},
            "component": component_json(
                "application",
                &asset_ref,
                &asset.name,
                asset.version.as_deref(),
                asset.purl.as_deref(),
            ),
        },
        "components": components,
        "vulnerabilities": vulnerabilities,
    })
}

/// An OpenVEX 0.2.0 document for `asset` with the id `https://rampart.invalid/vex/<uuid>`
/// (module docs).
pub fn openvex(
    asset: &ExportAsset,
    items: &[ExportItem],
    author: &str,
    now: DateTime<Utc>,
) -> Value {
    let id = format!("https://rampart.invalid/vex/{}", uuid::Uuid::new_v4());
    openvex_with_id(asset, items, author, &id, now)
}

/// [`openvex`] with the caller's document `@id` (an IRI).
pub fn openvex_with_id(
    asset: &ExportAsset,
    items: &[ExportItem],
    author: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Value {
    let product_id = asset
        .purl
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or(asset.name.trim());
    let statements: Vec<Value> = items
        .iter()
        .take(MAX_STATEMENTS)
        .map(|item| openvex_statement(product_id, item))
        .collect();
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": id,
        "author": author,
        "timestamp": ts(now),
        "version": 1,
        "tooling": "Rampart",
        "statements": statements,
    })
}

fn openvex_statement(product_id: &str, item: &ExportItem) -> Value {
    let component_id = item
        .component_purl
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or(item.component_name.trim());
    let mut vuln = Map::new();
    vuln.insert("name".into(), item.vulnerability.clone().into());
    let aliases: Vec<String> = item
        .aliases
        .iter()
        .filter(|a| **a != item.vulnerability)
        .cloned()
        .collect();
    if !aliases.is_empty() {
        vuln.insert("aliases".into(), aliases.into());
    }
    let mut s = Map::new();
    s.insert("vulnerability".into(), Value::Object(vuln));
    s.insert("timestamp".into(), ts(item.first_issued).into());
    s.insert("last_updated".into(), ts(item.last_updated).into());
    s.insert(
        "products".into(),
        json!([{"@id": product_id, "subcomponents": [{"@id": component_id}]}]),
    );
    let status = status_for_state(item.state);
    s.insert("status".into(), status.into());

    let detail = item
        .detail
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(clip);
    let not_affected = status == "not_affected";
    let label = match (not_affected, item.justification) {
        (true, Some(j)) => Some(label_for_justification(j)),
        (true, None) if item.state == AnalysisState::FalsePositive => Some("component_not_present"),
        _ => None,
    };
    let exact = match item.justification {
        None => true,
        Some(j) => {
            not_affected
                && justification_from_label(label_for_justification(j)).map(|(m, _)| m) == Some(j)
        }
    };
    let mut notes: Vec<String> = Vec::new();
    match item.state {
        AnalysisState::NotAffected | AnalysisState::FalsePositive => {
            if let Some(l) = label {
                s.insert("justification".into(), l.into());
            }
            match (&detail, label) {
                (Some(d), _) => {
                    s.insert("impact_statement".into(), d.clone().into());
                }
                (None, None) => {
                    s.insert(
                        "impact_statement".into(),
                        "Not affected; no justification was recorded.".into(),
                    );
                }
                (None, Some(_)) => {}
            }
        }
        AnalysisState::Exploitable => {
            let action = detail.clone().unwrap_or_else(|| {
                if item.responses.is_empty() {
                    "No remediation was recorded.".to_owned()
                } else {
                    let r: Vec<&str> = item.responses.iter().map(|r| r.as_str()).collect();
                    format!("Responses: {}", r.join(", "))
                }
            });
            s.insert("action_statement".into(), action.into());
        }
        AnalysisState::Resolved | AnalysisState::InTriage => notes.extend(detail),
    }
    if item.state == AnalysisState::FalsePositive || !exact {
        notes.push(hint_line(item.state, item.justification));
    }
    if !notes.is_empty() {
        s.insert("status_notes".into(), notes.join("\n").into());
    }
    Value::Object(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vex::product::{Target, covers, vulnerability_matches};
    use crate::vex::{VexFormat, parse};
    use chrono::TimeZone as _;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    fn item(
        vuln: &str,
        name: &str,
        version: Option<&str>,
        purl: Option<&str>,
        state: AnalysisState,
        justification: Option<Justification>,
    ) -> ExportItem {
        ExportItem {
            vulnerability: vuln.into(),
            aliases: vec![format!("GHSA-{}", vuln.len())],
            component_name: name.into(),
            component_version: version.map(Into::into),
            component_purl: purl.map(Into::into),
            state,
            justification,
            responses: vec![Response::Update, Response::WillNotFix],
            detail: Some(format!("{vuln} in {name}")),
            first_issued: t(0),
            last_updated: t(60),
        }
    }

    /// Every state and every justification (on not_affected), plus a justification on an
    /// exploitable finding and a false positive with and without one, over components with
    /// and without purl.
    fn items() -> Vec<ExportItem> {
        use AnalysisState::*;
        let net = Some("pkg:golang/golang.org/x/net@v0.17.0");
        let mut v = vec![
            item(
                "CVE-2023-39325",
                "golang.org/x/net",
                Some("v0.17.0"),
                net,
                Exploitable,
                None,
            ),
            item(
                "CVE-2023-1",
                "golang.org/x/net",
                Some("v0.17.0"),
                net,
                InTriage,
                None,
            ),
            item(
                "GO-2023-2",
                "golang.org/x/net",
                Some("v0.17.0"),
                net,
                Resolved,
                None,
            ),
            item(
                "CVE-2023-3",
                "libfoo",
                Some("1.2"),
                None,
                FalsePositive,
                None,
            ),
            item(
                "CVE-2023-4",
                "libfoo",
                Some("1.2"),
                None,
                FalsePositive,
                Some(Justification::ProtectedAtRuntime),
            ),
            item("CVE-2023-5", "libfoo", Some("1.2"), None, NotAffected, None),
            item(
                "CVE-2023-6",
                "libbar",
                None,
                None,
                Exploitable,
                Some(Justification::RequiresConfiguration),
            ),
        ];
        for (k, j) in Justification::ALL.into_iter().enumerate() {
            v.push(item(
                &format!("CVE-2024-{k}"),
                "golang.org/x/net",
                Some("v0.17.0"),
                net,
                NotAffected,
                Some(j),
            ));
        }
        v
    }

    fn target<'a>(purl: Option<&'a str>, name: &'a str, version: Option<&'a str>) -> Target<'a> {
        Target {
            purl,
            cpe: None,
            name,
            version,
        }
    }

    fn check_round_trip(asset: &ExportAsset, doc: &Value, format: VexFormat, scoped: bool) {
        let bytes = doc.to_string();
        let parsed = parse(bytes.as_bytes()).unwrap();
        assert_eq!(parsed.format, format);
        let items = items();
        assert_eq!(parsed.statements.len(), items.len());
        let asset_t = target(asset.purl.as_deref(), &asset.name, asset.version.as_deref());
        let other_asset = target(
            Some("pkg:golang/example.com/other@v1.0.0"),
            "other",
            Some("1"),
        );
        let stranger = target(Some("pkg:npm/left-pad@1.3.0"), "left-pad", Some("1.3.0"));
        for (s, it) in parsed.statements.iter().zip(&items) {
            let ctx = format!("{format:?} {}", it.vulnerability);
            assert_eq!(s.vulnerability, it.vulnerability, "{ctx}");
            assert_eq!(s.aliases, it.aliases, "{ctx}");
            assert_eq!(s.state, it.state, "{ctx}");
            assert_eq!(s.justification, it.justification, "{ctx}");
            assert_eq!(s.timestamp, it.last_updated, "{ctx}");
            assert!(vulnerability_matches(s, &[it.aliases[0].as_str()]), "{ctx}");
            if format == VexFormat::Cyclonedx {
                assert_eq!(s.responses, it.responses, "{ctx}");
                assert_eq!(s.detail, it.detail, "{ctx}");
            }
            let comp = target(
                it.component_purl.as_deref(),
                &it.component_name,
                it.component_version.as_deref(),
            );
            assert_eq!(s.products.len(), 1, "{ctx}");
            let p = &s.products[0];
            assert!(covers(p, &asset_t, &comp), "{ctx}");
            assert!(!covers(p, &asset_t, &stranger), "{ctx}");
            // OpenVEX scopes the statement to the asset; CycloneDX names the component alone.
            assert_eq!(covers(p, &other_asset, &comp), !scoped, "{ctx}");
        }
    }

    #[test]
    fn cyclonedx_round_trip() {
        let now = t(3600);
        for asset in [
            ExportAsset {
                name: "sachet".into(),
                version: Some("0.3.0".into()),
                purl: Some("pkg:golang/github.com/messagebird/sachet@v0.3.0".into()),
            },
            ExportAsset {
                name: "billing".into(),
                version: None,
                purl: None,
            },
        ] {
            let doc = cyclonedx(&asset, &items(), now);
            assert_eq!(doc["specVersion"], "1.6");
            assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T23:13:20Z");
            assert!(
                doc["serialNumber"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("urn:uuid:"))
            );
            assert_eq!(doc["vulnerabilities"][0]["source"]["name"], "NVD");
            assert_eq!(doc["vulnerabilities"][2]["source"]["name"], "OSV");
            assert_eq!(
                doc["vulnerabilities"][0]["references"][0]["source"]["name"],
                "GitHub"
            );
            assert_eq!(
                doc["vulnerabilities"][3]["affects"][0]["ref"], "libfoo@1.2",
                "name@version bom-ref"
            );
            // Three distinct components.
            assert_eq!(doc["components"].as_array().map(Vec::len), Some(3));
            check_round_trip(&asset, &doc, VexFormat::Cyclonedx, false);
        }
    }

    #[test]
    fn openvex_round_trip() {
        let now = t(3600);
        let asset = ExportAsset {
            name: "sachet".into(),
            version: Some("0.3.0".into()),
            purl: Some("pkg:golang/github.com/messagebird/sachet".into()),
        };
        let doc = openvex(&asset, &items(), "Rampart <vex@rampart.invalid>", now);
        assert!(
            doc["@id"]
                .as_str()
                .is_some_and(|s| s.starts_with("https://rampart.invalid/vex/"))
        );
        let st = &doc["statements"];
        assert_eq!(st[0]["status"], "affected");
        assert_eq!(
            st[0]["action_statement"],
            "CVE-2023-39325 in golang.org/x/net"
        );
        assert!(st[0].get("justification").is_none());
        assert_eq!(st[3]["justification"], "component_not_present");
        assert_eq!(st[1]["status"], "under_investigation");
        assert_eq!(st[2]["status"], "fixed");
        assert_eq!(
            st[0]["products"][0]["@id"],
            "pkg:golang/github.com/messagebird/sachet"
        );
        assert_eq!(
            st[0]["products"][0]["subcomponents"][0]["@id"],
            "pkg:golang/golang.org/x/net@v0.17.0"
        );
        // Exact justifications need no note.
        assert!(st[7].get("status_notes").is_none(), "{}", st[7]);
        check_round_trip(&asset, &doc, VexFormat::Openvex, true);

        // Without purl the asset is named by its name.
        let named = ExportAsset {
            name: "billing".into(),
            version: None,
            purl: None,
        };
        let doc = openvex_with_id(&named, &items(), "me", "urn:x:1", now);
        assert_eq!(doc["@id"], "urn:x:1");
        assert_eq!(doc["statements"][0]["products"][0]["@id"], "billing");
        check_round_trip(&named, &doc, VexFormat::Openvex, true);
    }

    #[test]
    fn openvex_export_satisfies_the_status_rules() {
        let doc = openvex(
            &ExportAsset {
                name: "a".into(),
                version: None,
                purl: None,
            },
            &items(),
            "me",
            t(0),
        );
        for s in doc["statements"].as_array().into_iter().flatten() {
            let has = |k: &str| s.get(k).is_some();
            match s["status"].as_str() {
                Some("not_affected") => {
                    assert!(has("justification") || has("impact_statement"), "{s}");
                    assert!(!has("action_statement"), "{s}");
                }
                Some("affected") => {
                    assert!(has("action_statement") && !has("justification"), "{s}");
                    assert!(!has("impact_statement"), "{s}");
                }
                _ => {
                    assert!(!has("justification") && !has("impact_statement"), "{s}");
                    assert!(!has("action_statement"), "{s}");
                }
            }
        }
    }

    #[test]
    fn export_is_bounded() {
        let mut it = items().remove(0);
        it.detail = Some("y".repeat(5000));
        let asset = ExportAsset {
            name: "a".into(),
            version: None,
            purl: None,
        };
        let doc = cyclonedx(&asset, std::slice::from_ref(&it), t(0));
        let d = doc["vulnerabilities"][0]["analysis"]["detail"]
            .as_str()
            .unwrap_or("");
        assert_eq!(d.chars().count(), 4096);
    }
}
