//! CSAF 2.0 documents with the VEX profile (OASIS CSAF v2.0, §4.5 "Profile 5: VEX").
//!
//! # Profile
//!
//! `document.category` must be `csaf_vex` (§4.5); any other category (a
//! `csaf_security_advisory`, a `csaf_base`) is refused with [`VexError::NotVexProfile`]: its
//! product statuses are not VEX statements.
//!
//! # Product tree (§3.1.3 / §3.2.2)
//!
//! Every `product_id` is resolved to a [`Product`]:
//!
//! * `full_product_names[]` and the `product` of every `branches[]` node (recursively): the
//!   `product_identification_helper`'s `purl` (and CSAF 2.1 `purls[]`) and `cpe`; without a
//!   helper a [`Identifier::Name`] made from the branch path: the name of the nearest
//!   `product_name` branch (else the product's `name`) and the name of the nearest
//!   `product_version` or `product_version_range` branch as version (a range such as
//!   `<=1.14.0` is kept as written, so it matches no concrete version: such statements are
//!   reported but never over-applied);
//! * `relationships[]`: the `full_product_name.product_id` of a relationship (any category:
//!   `default_component_of`, `external_component_of`, `installed_on`, `installed_with`,
//!   `optional_component_of`) names "component X (`product_reference`) inside product Y
//!   (`relates_to_product_reference`)": `Product { ids: Y's ids, subcomponents: [X's ids] }`;
//! * `product_groups[]` expand `group_ids` in flags, threats and remediations.
//!
//! A product id that resolves to nothing (not in the tree, or a relationship whose ends are
//! not) is left out of its statement; a statement can so end up with no product, and then
//! matches nothing.
//!
//! # Statements (§3.2.3)
//!
//! `vulnerability` = `cve`, else the first `ids[].text`; `aliases` = the other `ids[].text`.
//!
//! | `product_status` bucket | [`AnalysisState`] |
//! |---|---|
//! | `known_not_affected` | `NotAffected` |
//! | `known_affected`, `first_affected`, `last_affected` | `Exploitable` (the two `*_affected` buckets name affected versions, §3.2.3.12.1/5) |
//! | `fixed`, `first_fixed` | `Resolved` |
//! | `under_investigation` | `InTriage` |
//! | `recommended` | ignored: a recommendation, not a status |
//!
//! Per product:
//!
//! * justification (for `NotAffected` only): the `flags[].label` naming it (through
//!   `product_ids` or `group_ids`), mapped like OpenVEX's labels
//!   ([`super::openvex::justification_from_label`]); an inexact mapping keeps the label in
//!   `detail` (`CSAF flag: <label>`); an unknown label is refused with its path;
//! * responses: `remediations[].category` `vendor_fix` -> `Update`, `workaround` and
//!   `mitigation` -> `WorkaroundAvailable`, `no_fix_planned` -> `WillNotFix`, `none_available`
//!   -> `CanNotFix` (CSAF 2.1's `fix_planned` and `optional_patch` give no response);
//! * detail: the `details` of the `threats[]` of category `impact` and of the
//!   `remediations[]` naming it, in document order, one a line (a threat without
//!   `product_ids`/`group_ids` applies to every product of the vulnerability).
//!
//! One [`Statement`] per (vulnerability, state, justification, responses, detail): products
//! that share all of these share a statement, so a vulnerability whose products differ in
//! justification gets one statement per distinct justification, in document order.
//!
//! The timestamp of every statement is `document.tracking.current_release_date` (§3.2.1.12.3,
//! required): a later revision of the document supersedes the earlier one. The
//! vulnerabilities' `release_date` / `discovery_date` date the vulnerability, not the
//! statement, and are not used.
//!
//! # Document
//!
//! `id` = `document.tracking.id`; `author` = `document.publisher.name`; `timestamp` =
//! `document.tracking.current_release_date`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::openvex::{
    JUSTIFICATION_LABELS, invalid, join_detail, justification_from_label, opt_time,
};
use super::{
    AnalysisState, Identifier, Justification, MAX_STATEMENTS, Product, Response, Statement,
    VexDocument, VexError, VexFormat,
};

/// The `document.category` of the VEX profile.
pub const VEX_CATEGORY: &str = "csaf_vex";

/// `product_status` buckets read, with their state (module table).
const BUCKETS: [(&str, AnalysisState); 7] = [
    ("known_not_affected", AnalysisState::NotAffected),
    ("known_affected", AnalysisState::Exploitable),
    ("first_affected", AnalysisState::Exploitable),
    ("last_affected", AnalysisState::Exploitable),
    ("fixed", AnalysisState::Resolved),
    ("first_fixed", AnalysisState::Resolved),
    ("under_investigation", AnalysisState::InTriage),
];

/// Parses a CSAF 2.0 VEX document (module docs).
///
/// # Errors
/// * [`VexError::NotVexProfile`]: `document.category` is not `csaf_vex`;
/// * [`VexError::Invalid`]: `document.tracking.id` or `current_release_date` missing, a
///   vulnerability with neither `cve` nor `ids`, an unknown flag label (path and allowed
///   labels), fields of the wrong type;
/// * [`VexError::TooLarge`]: more than [`MAX_STATEMENTS`] statements.
pub fn parse(v: &Value) -> Result<VexDocument, VexError> {
    let document = v
        .get("document")
        .filter(|d| d.is_object())
        .ok_or_else(|| invalid("document", "missing or not an object"))?;
    let category = document
        .get("category")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    if category != VEX_CATEGORY {
        return Err(VexError::NotVexProfile(category.to_owned()));
    }
    let tracking = document.get("tracking").unwrap_or(&Value::Null);
    let id = tracking
        .get("id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("document.tracking.id", "missing"))?
        .to_owned();
    let timestamp = opt_time(
        tracking,
        "current_release_date",
        "document.tracking.current_release_date",
    )?
    .ok_or_else(|| invalid("document.tracking.current_release_date", "missing"))?;
    let author = document
        .pointer("/publisher/name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(super::openvex::clip);

    let tree = Tree::build(v.get("product_tree").unwrap_or(&Value::Null));
    let vulns = match v.get("vulnerabilities") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(invalid("vulnerabilities", "not an array")),
    };
    let mut statements = Vec::new();
    for (i, vuln) in vulns.iter().enumerate() {
        parse_vulnerability(i, vuln, &tree, timestamp, &mut statements)?;
    }
    Ok(VexDocument {
        format: VexFormat::Csaf,
        id,
        author,
        timestamp: Some(timestamp),
        statements,
    })
}

/// The resolved product tree.
#[derive(Default)]
struct Tree {
    products: HashMap<String, Product>,
    groups: HashMap<String, Vec<String>>,
}

impl Tree {
    fn build(pt: &Value) -> Tree {
        let mut t = Tree::default();
        for fpn in arr(pt.get("full_product_names")) {
            t.add(fpn, None, None);
        }
        for b in arr(pt.get("branches")) {
            t.walk(b, None, None);
        }
        for r in arr(pt.get("relationships")) {
            let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::trim);
            let (Some(pid), Some(x), Some(y)) = (
                r.pointer("/full_product_name/product_id")
                    .and_then(Value::as_str)
                    .map(str::trim),
                s("product_reference"),
                s("relates_to_product_reference"),
            ) else {
                continue;
            };
            let (Some(xp), Some(yp)) = (t.products.get(x), t.products.get(y)) else {
                continue;
            };
            if xp.ids.is_empty() || yp.ids.is_empty() {
                continue;
            }
            let p = Product {
                ids: yp.ids.clone(),
                subcomponents: vec![xp.ids.clone()],
            };
            t.products.entry(pid.to_owned()).or_insert(p);
        }
        for g in arr(pt.get("product_groups")) {
            if let Some(gid) = g.get("group_id").and_then(Value::as_str) {
                let ids = arr(g.get("product_ids"))
                    .filter_map(Value::as_str)
                    .map(|s| s.trim().to_owned())
                    .collect();
                t.groups.insert(gid.trim().to_owned(), ids);
            }
        }
        t
    }

    /// Walks a branch, tracking the nearest `product_name` and version names.
    fn walk(&mut self, b: &Value, name: Option<&str>, version: Option<&str>) {
        let cat = b.get("category").and_then(Value::as_str).unwrap_or("");
        let bname = b.get("name").and_then(Value::as_str).map(str::trim);
        let (name, version) = match cat {
            "product_name" => (bname.or(name), version),
            "product_version" | "product_version_range" => (name, bname.or(version)),
            _ => (name, version),
        };
        if let Some(p) = b.get("product") {
            self.add(p, name, version);
        }
        for child in arr(b.get("branches")) {
            self.walk(child, name, version);
        }
    }

    /// Adds a `full_product_name`.
    fn add(&mut self, fpn: &Value, name: Option<&str>, version: Option<&str>) {
        let Some(pid) = fpn.get("product_id").and_then(Value::as_str) else {
            return;
        };
        let helper = fpn
            .get("product_identification_helper")
            .unwrap_or(&Value::Null);
        let mut ids = Vec::new();
        let purls = helper
            .get("purl")
            .into_iter()
            .chain(arr(helper.get("purls")))
            .filter_map(Value::as_str);
        for p in purls.map(str::trim).filter(|p| !p.is_empty()) {
            ids.push(Identifier::Purl(p.to_owned()));
        }
        if let Some(c) = helper.get("cpe").and_then(Value::as_str).map(str::trim)
            && !c.is_empty()
        {
            ids.push(Identifier::Cpe(c.to_owned()));
        }
        if ids.is_empty() {
            let fallback = fpn.get("name").and_then(Value::as_str).map(str::trim);
            if let Some(n) = name.or(fallback).filter(|n| !n.is_empty()) {
                ids.push(Identifier::Name {
                    name: n.to_owned(),
                    version: version.filter(|v| !v.is_empty()).map(str::to_owned),
                });
            }
        }
        self.products
            .entry(pid.trim().to_owned())
            .or_insert(Product {
                ids,
                subcomponents: vec![],
            });
    }

    /// The product ids named by an element's `product_ids` and `group_ids`; `None` when it has
    /// neither (then it applies to every product).
    fn targets(&self, e: &Value) -> Option<Vec<String>> {
        if e.get("product_ids").is_none() && e.get("group_ids").is_none() {
            return None;
        }
        let mut out: Vec<String> = arr(e.get("product_ids"))
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_owned())
            .collect();
        for g in arr(e.get("group_ids")).filter_map(Value::as_str) {
            out.extend(self.groups.get(g.trim()).into_iter().flatten().cloned());
        }
        Some(out)
    }
}

/// The items of an array value (nothing for anything else).
fn arr(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

/// What a product's statement says beyond its state: the grouping key.
#[derive(Clone, PartialEq)]
struct Facts {
    justification: Option<Justification>,
    responses: Vec<Response>,
    detail: Vec<String>,
}

/// A threat or remediation: the products it names (`None`: all), its response, its text.
struct Note {
    targets: Option<Vec<String>>,
    response: Option<Response>,
    detail: Option<String>,
}

fn parse_vulnerability(
    i: usize,
    vuln: &Value,
    tree: &Tree,
    timestamp: DateTime<Utc>,
    out: &mut Vec<Statement>,
) -> Result<(), VexError> {
    let path = format!("vulnerabilities[{i}]");
    let texts: Vec<String> = arr(vuln.get("ids"))
        .filter_map(|e| e.get("text").and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let cve = vuln
        .get("cve")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let vulnerability = cve
        .map(str::to_owned)
        .or_else(|| texts.first().cloned())
        .ok_or_else(|| invalid(&path, "neither cve nor ids[].text"))?;
    let mut aliases: Vec<String> = Vec::new();
    for t in texts {
        if t != vulnerability && !aliases.contains(&t) {
            aliases.push(t);
        }
    }

    // Per product: justification (with the label when inexact), responses, detail lines.
    let mut flags: HashMap<String, (Justification, Option<String>)> = HashMap::new();
    for (j, f) in arr(vuln.get("flags")).enumerate() {
        let label = f.get("label").and_then(Value::as_str).unwrap_or("").trim();
        let (just, exact) = justification_from_label(label).ok_or_else(|| {
            invalid(
                &format!("{path}.flags[{j}].label"),
                &format!(
                    "unknown flag label {label:?}; allowed: {}",
                    JUSTIFICATION_LABELS.join(", ")
                ),
            )
        })?;
        let note = (!exact).then(|| format!("CSAF flag: {label}"));
        for pid in tree.targets(f).unwrap_or_default() {
            flags.entry(pid).or_insert((just, note.clone()));
        }
    }
    // Threats and remediations, in document order.
    let mut notes: Vec<Note> = Vec::new();
    for t in arr(vuln.get("threats")) {
        if t.get("category").and_then(Value::as_str) == Some("impact") {
            let d = t.get("details").and_then(Value::as_str).map(str::to_owned);
            notes.push(Note {
                targets: tree.targets(t),
                response: None,
                detail: d,
            });
        }
    }
    for r in arr(vuln.get("remediations")) {
        let response = match r.get("category").and_then(Value::as_str).unwrap_or("") {
            "vendor_fix" => Some(Response::Update),
            "workaround" | "mitigation" => Some(Response::WorkaroundAvailable),
            "no_fix_planned" => Some(Response::WillNotFix),
            "none_available" => Some(Response::CanNotFix),
            _ => None,
        };
        let d = r.get("details").and_then(Value::as_str).map(str::to_owned);
        notes.push(Note {
            targets: tree.targets(r),
            response,
            detail: d,
        });
    }

    let status = vuln.get("product_status").unwrap_or(&Value::Null);
    for state in [
        AnalysisState::NotAffected,
        AnalysisState::Exploitable,
        AnalysisState::Resolved,
        AnalysisState::InTriage,
    ] {
        let mut pids: Vec<String> = Vec::new();
        for (bucket, _) in BUCKETS.iter().filter(|(_, s)| *s == state) {
            for pid in arr(status.get(*bucket)).filter_map(Value::as_str) {
                let pid = pid.trim().to_owned();
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
        }
        // Group the products by what is said about them.
        let mut groups: Vec<(Facts, Vec<String>)> = Vec::new();
        for pid in pids {
            let mut facts = Facts {
                justification: None,
                responses: vec![],
                detail: vec![],
            };
            let mut flag_note = None;
            if state == AnalysisState::NotAffected
                && let Some((j, note)) = flags.get(&pid)
            {
                facts.justification = Some(*j);
                flag_note.clone_from(note);
            }
            for Note {
                targets,
                response,
                detail: d,
            } in &notes
            {
                if targets.as_ref().is_some_and(|t| !t.contains(&pid)) {
                    continue;
                }
                if let Some(r) = response
                    && !facts.responses.contains(r)
                {
                    facts.responses.push(*r);
                }
                facts.detail.extend(d.clone());
            }
            facts.detail.extend(flag_note);
            match groups.iter_mut().find(|(f, _)| *f == facts) {
                Some((_, members)) => members.push(pid),
                None => groups.push((facts, vec![pid])),
            }
        }
        for (facts, members) in groups {
            if out.len() >= MAX_STATEMENTS {
                return Err(VexError::TooLarge(format!(
                    "more than {MAX_STATEMENTS} statements"
                )));
            }
            let mut products: Vec<Product> = Vec::new();
            for p in members.iter().filter_map(|pid| tree.products.get(pid)) {
                if !p.ids.is_empty() && !products.contains(p) {
                    products.push(p.clone());
                }
            }
            out.push(Statement {
                vulnerability: vulnerability.clone(),
                aliases: aliases.clone(),
                products,
                state,
                justification: facts.justification,
                responses: facts.responses,
                detail: join_detail(facts.detail),
                timestamp,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vex::parse as parse_any;
    use serde_json::json;

    fn doc(v: Value) -> Result<VexDocument, VexError> {
        parse_any(v.to_string().as_bytes())
    }

    fn base(product_tree: Value, vulnerabilities: Value) -> Value {
        json!({
            "document": {"category": "csaf_vex", "csaf_version": "2.0",
                         "publisher": {"name": "P"},
                         "tracking": {"id": "T-1", "current_release_date": "2024-03-01T00:00:00Z"}},
            "product_tree": product_tree,
            "vulnerabilities": vulnerabilities
        })
    }

    #[test]
    fn relationships_groups_and_per_product_justifications() {
        let tree = json!({
            "full_product_names": [
                {"name": "Product P 1.0", "product_id": "P",
                 "product_identification_helper": {"purl": "pkg:oci/p@sha256:aa", "cpe": "cpe:2.3:a:acme:p:1.0:*:*:*:*:*:*:*"}},
                {"name": "libx 2.0", "product_id": "X",
                 "product_identification_helper": {"purl": "pkg:npm/libx@2.0.0"}},
                {"name": "liby 3.0", "product_id": "Y",
                 "product_identification_helper": {"purl": "pkg:npm/liby@3.0.0"}}
            ],
            "relationships": [
                {"category": "default_component_of", "product_reference": "X",
                 "relates_to_product_reference": "P",
                 "full_product_name": {"name": "libx in P", "product_id": "P:X"}},
                {"category": "default_component_of", "product_reference": "Y",
                 "relates_to_product_reference": "P",
                 "full_product_name": {"name": "liby in P", "product_id": "P:Y"}},
                {"category": "installed_on", "product_reference": "nope",
                 "relates_to_product_reference": "P",
                 "full_product_name": {"name": "?", "product_id": "P:nope"}}
            ],
            "product_groups": [{"group_id": "G", "product_ids": ["P:X", "P:Y"]}]
        });
        let vulns = json!([{
            "ids": [{"system_name": "GHSA", "text": "GHSA-aaaa-bbbb-cccc"}],
            "product_status": {"known_not_affected": ["P:X", "P:Y", "P:nope"],
                               "first_fixed": ["P"], "recommended": ["P"]},
            "flags": [
                {"label": "vulnerable_code_not_in_execute_path", "product_ids": ["P:X"]},
                {"label": "inline_mitigations_already_exist", "group_ids": ["G"]}
            ],
            "threats": [{"category": "impact", "details": "Not reachable.", "group_ids": ["G"]},
                        {"category": "exploit_status", "details": "ignored"}],
            "remediations": [{"category": "vendor_fix", "details": "Upgrade P.", "product_ids": ["P"]}]
        }]);
        let d = doc(base(tree, vulns)).unwrap();
        assert_eq!(d.id, "T-1");
        assert_eq!(d.author.as_deref(), Some("P"));
        let s = &d.statements;
        assert_eq!(s.len(), 4, "{s:#?}");
        let p_ids = vec![
            Identifier::Purl("pkg:oci/p@sha256:aa".into()),
            Identifier::Cpe("cpe:2.3:a:acme:p:1.0:*:*:*:*:*:*:*".into()),
        ];
        // P:X: its own flag (first one wins), exact mapping.
        assert_eq!(s[0].vulnerability, "GHSA-aaaa-bbbb-cccc");
        assert!(s[0].aliases.is_empty());
        assert_eq!(s[0].state, AnalysisState::NotAffected);
        assert_eq!(s[0].justification, Some(Justification::CodeNotReachable));
        assert_eq!(s[0].detail.as_deref(), Some("Not reachable."));
        assert_eq!(
            s[0].products,
            vec![Product {
                ids: p_ids.clone(),
                subcomponents: vec![vec![Identifier::Purl("pkg:npm/libx@2.0.0".into())]],
            }]
        );
        // P:Y: the group's flag, inexact: the label is kept.
        assert_eq!(
            s[1].justification,
            Some(Justification::ProtectedByMitigatingControl)
        );
        assert_eq!(
            s[1].detail.as_deref(),
            Some("Not reachable.\nCSAF flag: inline_mitigations_already_exist")
        );
        assert_eq!(
            s[1].products[0].subcomponents[0][0],
            Identifier::Purl("pkg:npm/liby@3.0.0".into())
        );
        // P:nope: unresolved, with no flag and no threat: its own statement without product.
        assert_eq!(s[2].state, AnalysisState::NotAffected);
        assert_eq!((s[2].justification, s[2].detail.as_deref()), (None, None));
        assert!(s[2].products.is_empty());
        // first_fixed P: Resolved with the vendor fix ("recommended" is ignored).
        assert_eq!(s[3].state, AnalysisState::Resolved);
        assert_eq!(s[3].responses, vec![Response::Update]);
        assert_eq!(s[3].detail.as_deref(), Some("Upgrade P."));
        assert_eq!(
            s[3].products,
            vec![Product {
                ids: p_ids,
                subcomponents: vec![]
            }]
        );
        assert_eq!(s[3].timestamp.to_rfc3339(), "2024-03-01T00:00:00+00:00");
    }

    #[test]
    fn unknown_flag_is_refused_with_its_path() {
        let vulns = json!([{"cve": "CVE-1", "product_status": {"known_not_affected": ["A"]},
                            "flags": [{"label": "not_vulnerable", "product_ids": ["A"]}]}]);
        match doc(base(json!({}), vulns)) {
            Err(VexError::Invalid { path, reason }) => {
                assert_eq!(path, "vulnerabilities[0].flags[0].label");
                assert!(reason.contains("component_not_present"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn required_tracking_fields() {
        let mut v = base(json!({}), json!([]));
        v["document"]["tracking"]
            .as_object_mut()
            .map(|t| t.remove("current_release_date"));
        assert!(
            matches!(doc(v), Err(VexError::Invalid { path, .. }) if path == "document.tracking.current_release_date")
        );
        let v = base(json!({}), json!([{"product_status": {}}]));
        assert!(
            matches!(doc(v), Err(VexError::Invalid { path, .. }) if path == "vulnerabilities[0]")
        );
    }
}
