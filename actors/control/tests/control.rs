//! Control catalogs and crosswalks loaded from the real public files in `shared/data`
//! (see `shared/data/SOURCES.md` and `frameworks/SOURCES-frameworks.md`).

use std::collections::{BTreeMap, BTreeSet};

use rampart_control::{
    Control, ControlError, ControlKind, Crosswalk, Library, Relationship, parse_ciso_library,
    parse_oscal_catalog, parse_oscal_mapping,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn oscal(path: &str) -> Vec<Control> {
    parse_oscal_catalog(&read(path), None).unwrap().1
}

fn ciso(path: &str) -> Library {
    parse_ciso_library(&read(&format!("frameworks/{path}"))).unwrap()
}

fn ciso_controls(path: &str) -> Vec<Control> {
    let mut lib = ciso(path);
    assert_eq!(lib.frameworks.len(), 1);
    lib.frameworks.remove(0).controls
}

fn count(controls: &[Control], kind: ControlKind) -> usize {
    controls.iter().filter(|c| c.kind == kind).count()
}

fn find<'a>(controls: &'a [Control], id: &str) -> &'a Control {
    controls
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

fn ids(controls: &[Control]) -> BTreeSet<&str> {
    controls.iter().map(|c| c.id.as_str()).collect()
}

fn relationships(c: &Crosswalk) -> BTreeMap<Relationship, usize> {
    let mut out = BTreeMap::new();
    for e in &c.entries {
        *out.entry(e.relationship).or_default() += 1;
    }
    out
}

const HIGH: &str = "oscal/NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json";
const MODERATE: &str = "oscal/NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog.json";
const CSF_OSCAL: &str = "frameworks/NIST_CSF_v2.0/catalog.json";
const CSF_TO_SP: &str = "frameworks/NIST_CSF_v2.0-to-NIST_SP-800-53_rev5/mapping-collection.json";

#[test]
fn sp800_53_high_baseline_oscal_catalog() {
    let (fw, controls) = parse_oscal_catalog(&read(HIGH), None).unwrap();
    assert_eq!(fw.id, "nist-sp-800-53-rev5");
    assert_eq!(fw.version.as_deref(), Some("5.1.1+u4"));
    assert_eq!(count(&controls, ControlKind::Group), 18);
    assert_eq!(count(&controls, ControlKind::Control), 188);
    assert_eq!(count(&controls, ControlKind::Enhancement), 182);
    assert_eq!(controls.len(), 388);
    let ac2 = find(&controls, "ac-2");
    assert_eq!(ac2.title, "Account Management");
    assert_eq!(ac2.label, "AC-2");
    assert_eq!(ac2.parent.as_deref(), Some("ac"));
    assert!(
        ac2.statement
            .as_deref()
            .unwrap()
            .starts_with("a. Define and document")
    );
    let ac21 = find(&controls, "ac-2.1");
    assert_eq!(ac21.parent.as_deref(), Some("ac-2"));
    assert_eq!(ac21.label, "AC-2(1)");
    assert_eq!(ac21.title, "Automated System Account Management");
    assert_eq!(
        ac21.statement.as_deref(),
        Some(
            "Support the management of system accounts using \
             [Assignment: organization-defined automated mechanisms]."
        )
    );
    assert_eq!(find(&controls, "ac").title, "Access Control");

    // the override wins
    let (fw, _) = parse_oscal_catalog(&read(HIGH), Some("sp800-53-high")).unwrap();
    assert_eq!(fw.id, "sp800-53-high");
}

#[test]
fn sp800_53_moderate_baseline_oscal_catalog() {
    let controls = oscal(MODERATE);
    assert_eq!(count(&controls, ControlKind::Group), 18);
    assert_eq!(count(&controls, ControlKind::Control), 177);
    assert_eq!(count(&controls, ControlKind::Enhancement), 110);
}

#[test]
fn sp800_53_ciso_library_agrees_with_oscal() {
    let lib = ciso("nist-sp-800-53-rev5.yaml");
    assert_eq!(lib.frameworks[0].framework.id, "nist-sp-800-53-rev5");
    let controls = &lib.frameworks[0].controls;
    assert_eq!(controls.len(), 1209);
    assert_eq!(count(controls, ControlKind::Group), 20);
    assert_eq!(count(controls, ControlKind::Control), 322);
    assert_eq!(count(controls, ControlKind::Enhancement), 867);
    // withdrawn controls ("[Withdrawn: ...]") are kept but not assessable
    assert_eq!(controls.iter().filter(|c| c.withdrawn).count(), 180);
    assert_eq!(controls.iter().filter(|c| c.assessable).count(), 1009);
    let ac21 = find(controls, "ac-2.1");
    assert_eq!(ac21.parent.as_deref(), Some("ac-2"));
    assert_eq!(ac21.label, "AC-2(1)");
    assert_eq!(
        ac21.urn.as_deref(),
        Some("urn:intuitem:risk:req_node:nist-sp-800-53-rev5:ac-2(1)")
    );
    assert_eq!(find(controls, "ac-2").title, "Account Management");

    // every id of the OSCAL baselines exists in the full library, with the same parent
    let all: BTreeMap<&str, &Control> = controls.iter().map(|c| (c.id.as_str(), c)).collect();
    for path in [HIGH, MODERATE] {
        for c in oscal(path) {
            let other = all
                .get(c.id.as_str())
                .unwrap_or_else(|| panic!("{} missing", c.id));
            assert_eq!(other.parent, c.parent, "{}", c.id);
            assert_eq!(other.kind, c.kind, "{}", c.id);
        }
    }
}

#[test]
fn csf_oscal_and_ciso_agree_on_subcategories() {
    let (fw, o) = parse_oscal_catalog(&read(CSF_OSCAL), None).unwrap();
    assert_eq!(fw.id, "nist-csf-2.0");
    let c = ciso_controls("nist-csf-2.0.yaml");

    let current = |cs: &[Control]| -> BTreeSet<String> {
        cs.iter()
            .filter(|c| c.kind == ControlKind::Subcategory && !c.withdrawn)
            .map(|c| c.id.clone())
            .collect()
    };
    assert_eq!(current(&o).len(), 106);
    assert_eq!(current(&o), current(&c));
    // the OSCAL catalog also lists the 79 withdrawn CSF 1.1 subcategories
    assert_eq!(
        o.iter()
            .filter(|c| c.kind == ControlKind::Subcategory && c.withdrawn)
            .count(),
        79
    );
    // 6 functions and 22 current categories in both; the OSCAL catalog's duplicated function
    // groups collapse into one node each, and it keeps 12 withdrawn categories
    let groups = |cs: &[Control]| -> BTreeSet<String> {
        cs.iter()
            .filter(|c| c.kind == ControlKind::Group && !c.withdrawn)
            .map(|c| c.id.clone())
            .collect()
    };
    assert_eq!(groups(&o).len(), 28);
    assert_eq!(groups(&o), groups(&c));
    assert_eq!(
        o.iter()
            .filter(|c| c.kind == ControlKind::Group && c.withdrawn)
            .count(),
        12
    );

    let (a, b) = (find(&o, "PR.AA-01"), find(&c, "PR.AA-01"));
    assert_eq!(a.statement, b.statement);
    assert_eq!(a.parent.as_deref(), Some("PR.AA"));
    assert_eq!(b.parent.as_deref(), Some("PR.AA"));
    assert_eq!(find(&o, "GV.OC").title, "Organizational Context");
    assert_eq!(find(&c, "GV.OC").title, "Organizational Context");
    assert!(find(&o, "ID.BE-01").withdrawn);
}

#[test]
fn csf_to_sp800_53_oscal_mapping() {
    let m = parse_oscal_mapping(&read(CSF_TO_SP)).unwrap();
    assert_eq!(m.source_framework, "nist-csf-2.0");
    assert_eq!(m.target_framework, "nist-sp-800-53-rev5");
    assert_eq!(m.entries.len(), 737);
    assert_eq!(
        relationships(&m),
        BTreeMap::from([(Relationship::SupersetOf, 737)])
    );
    let first = &m.entries[0];
    assert_eq!(
        (first.source.as_str(), first.target.as_str()),
        ("DE.AE-02", "au-6")
    );

    let sources: BTreeSet<&str> = m.entries.iter().map(|e| e.source.as_str()).collect();
    let targets: BTreeSet<&str> = m.entries.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(sources.len(), 106);
    assert_eq!(targets.len(), 210);

    // every source is a current CSF 2.0 subcategory
    let csf = ciso_controls("nist-csf-2.0.yaml");
    let csf_ids = ids(&csf);
    assert!(sources.iter().all(|s| csf_ids.contains(s)));

    // targets against the full SP 800-53 rev5 library: 4 are 800-53 release 5.2.0 additions
    let sp = ciso_controls("nist-sp-800-53-rev5.yaml");
    let sp_ids = ids(&sp);
    let missing: BTreeSet<&str> = targets.difference(&sp_ids).copied().collect();
    assert_eq!(
        missing,
        BTreeSet::from(["ia-13", "sa-15.13", "sa-24", "si-2.7"])
    );
    assert!(targets.contains("cm-7.2"));
}

#[test]
fn csf_to_iso27001_ciso_mapping() {
    let lib = ciso("mapping-nist-csf-2.0-to-iso27001-2022.yaml");
    assert!(lib.frameworks.is_empty());
    assert_eq!(lib.crosswalks.len(), 2);
    let (fwd, rev) = (&lib.crosswalks[0], &lib.crosswalks[1]);
    assert_eq!(
        (fwd.source_framework.as_str(), fwd.target_framework.as_str()),
        ("nist-csf-2.0", "iso27001-2022")
    );
    assert_eq!(
        (rev.source_framework.as_str(), rev.target_framework.as_str()),
        ("iso27001-2022", "nist-csf-2.0")
    );
    assert_eq!(fwd.entries.len(), 343);
    assert_eq!(rev.entries.len(), 343);
    assert_eq!(
        relationships(fwd),
        BTreeMap::from([(Relationship::IntersectsWith, 343)])
    );

    let iso = ciso_controls("iso27001-2022.yaml");
    let iso_ids = ids(&iso);
    let csf = ciso_controls("nist-csf-2.0.yaml");
    let csf_ids = ids(&csf);
    let targets: BTreeSet<&str> = fwd.entries.iter().map(|e| e.target.as_str()).collect();
    let sources: BTreeSet<&str> = fwd.entries.iter().map(|e| e.source.as_str()).collect();
    assert_eq!(targets.len(), 90);
    assert_eq!(sources.len(), 106);
    assert!(
        targets.iter().all(|t| iso_ids.contains(t)),
        "unresolved ISO ids"
    );
    assert!(
        sources.iter().all(|s| csf_ids.contains(s)),
        "unresolved CSF ids"
    );
    // 67 of the 90 ISO targets are Annex A controls, the others clauses 4-10
    assert_eq!(targets.iter().filter(|t| t.starts_with("A.")).count(), 67);
    assert!(targets.contains("A.5.1"));
    let e = fwd.entries.iter().find(|e| e.target == "A.5.1").unwrap();
    assert_eq!(
        e.target_urn.as_deref(),
        Some("urn:intuitem:risk:req_node:iso27001-2022:a.5.1")
    );
}

#[test]
fn sp800_53_to_iso27001_ciso_mapping() {
    let lib = ciso("mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml");
    let fwd = &lib.crosswalks[0];
    assert_eq!(fwd.source_framework, "nist-sp-800-53-rev5");
    assert_eq!(fwd.entries.len(), 642);
    let sp = ciso_controls("nist-sp-800-53-rev5.yaml");
    let iso = ciso_controls("iso27001-2022.yaml");
    let (sp_ids, iso_ids) = (ids(&sp), ids(&iso));
    let sources: BTreeSet<&str> = fwd.entries.iter().map(|e| e.source.as_str()).collect();
    let targets: BTreeSet<&str> = fwd.entries.iter().map(|e| e.target.as_str()).collect();
    assert_eq!((sources.len(), targets.len()), (220, 120));
    assert!(sources.iter().all(|s| sp_ids.contains(s)));
    assert!(targets.iter().all(|t| iso_ids.contains(t)));
}

#[test]
fn iso27001_library() {
    let iso = ciso_controls("iso27001-2022.yaml");
    assert_eq!(iso.len(), 140);
    assert_eq!(iso.iter().filter(|c| c.assessable).count(), 123);
    let a51 = find(&iso, "A.5.1");
    assert_eq!(a51.title, "Policies for information security");
    assert_eq!(a51.parent.as_deref(), Some("A.5"));
    assert_eq!(find(&iso, "A.5").parent.as_deref(), Some("annex-a"));
}

#[test]
fn scf_pci_mapping_relationship_counts() {
    let lib = ciso("scf/mapping-pcidss-4_0-and-scf-2025.2.2.yaml");
    assert_eq!(lib.crosswalks.len(), 2);
    assert_eq!(
        relationships(&lib.crosswalks[0]),
        BTreeMap::from([
            (Relationship::SubsetOf, 115),
            (Relationship::IntersectsWith, 1103)
        ])
    );
    assert_eq!(
        relationships(&lib.crosswalks[1]),
        BTreeMap::from([
            (Relationship::SupersetOf, 115),
            (Relationship::IntersectsWith, 1103)
        ])
    );
}

#[test]
fn truncated_json_reports_line() {
    let bytes = read(MODERATE);
    let cut = &bytes[..bytes.len() / 2];
    let lines = cut.iter().filter(|b| **b == b'\n').count() + 1;
    match parse_oscal_catalog(cut, None) {
        Err(ControlError::Json { line, .. }) => assert_eq!(line, lines),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mapping_given_as_catalog_is_wrong_kind() {
    match parse_oscal_catalog(&read(CSF_TO_SP), None) {
        Err(ControlError::WrongKind { found, .. }) => assert_eq!(found, "OSCAL mapping-collection"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_oscal_mapping(&read(HIGH)),
        Err(ControlError::WrongKind { .. })
    ));
    assert!(matches!(
        parse_ciso_library(&read(CSF_OSCAL)),
        Err(ControlError::WrongKind { .. })
    ));
}

#[test]
fn unknown_relationship_is_named() {
    let json = r#"{"mapping-collection": {"uuid": "u", "metadata": {"title": "A to B"},
        "mappings": [{"source-resource": {"href": "catalogs/NIST_CSF_v2.0/catalog.json"},
                      "target-resource": {"href": "catalogs/NIST_SP-800-53_rev5/catalog.json"},
                      "maps": [{"relationship": "kinda-like", "sources": [{"type": "control", "id-ref": "pr.aa-01"}],
                                "targets": [{"type": "control", "id-ref": "ac-2"}]}]}]}}"#;
    match parse_oscal_mapping(json.as_bytes()) {
        Err(ControlError::UnknownRelationship { value, path }) => {
            assert_eq!(value, "kinda-like");
            assert_eq!(path, "mapping-collection.mappings[0].maps[0].relationship");
        }
        other => panic!("{other:?}"),
    }
    let yaml = "urn: urn:intuitem:risk:library:x\nobjects:\n  requirement_mapping_set:\n    \
        source_framework_urn: urn:intuitem:risk:framework:a\n    \
        target_framework_urn: urn:intuitem:risk:framework:b\n    requirement_mappings:\n    \
        - source_requirement_urn: urn:intuitem:risk:req_node:a:1\n      \
        target_requirement_urn: urn:intuitem:risk:req_node:b:2\n      relationship: sorta\n";
    match parse_ciso_library(yaml.as_bytes()) {
        Err(ControlError::UnknownRelationship { value, path }) => {
            assert_eq!(value, "sorta");
            assert_eq!(
                path,
                "objects.requirement_mapping_set.requirement_mappings[0].relationship"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_fields_name_their_path() {
    let json = r#"{"catalog": {"uuid": "u", "metadata": {"title": "T"},
        "groups": [{"id": "g", "title": "G", "controls": [{"title": "no id"}]}]}}"#;
    assert_eq!(
        parse_oscal_catalog(json.as_bytes(), None),
        Err(ControlError::MissingField {
            path: "catalog.groups[0].controls[0].id".into()
        })
    );
    let yaml = "objects:\n  framework:\n    urn: urn:intuitem:risk:framework:f\n    requirement_nodes:\n    - ref_id: X\n";
    assert_eq!(
        parse_ciso_library(yaml.as_bytes()),
        Err(ControlError::MissingField {
            path: "objects.framework.requirement_nodes[0].urn".into()
        })
    );
}

#[test]
fn malformed_yaml_reports_position_and_nesting_is_bounded() {
    match parse_ciso_library(b"objects:\n  framework: [unclosed\n") {
        Err(ControlError::Yaml { line, .. }) => assert!(line.is_some()),
        other => panic!("{other:?}"),
    }
    // deeply nested controls: rejected, no stack overflow
    let depth = 100;
    let mut json = String::from(r#"{"catalog": {"metadata": {"title": "T"}, "controls": ["#);
    for i in 0..depth {
        json.push_str(&format!(r#"{{"id": "c{i}", "title": "t", "controls": ["#));
    }
    for _ in 0..depth {
        json.push_str("]}");
    }
    json.push_str("]}}");
    assert!(parse_oscal_catalog(json.as_bytes(), None).is_err());
    assert!(parse_oscal_catalog(b"", None).is_err());
    assert!(parse_oscal_catalog(b"[1, 2]", None).is_err());
    assert!(parse_ciso_library(b"").is_err());
}
