//! ControlMapping end to end on the real binary and the real catalogs and crosswalks of
//! ../shared/data/frameworks: CISO Assistant libraries (SP 800-53 rev5, CSF 2.0, ISO 27001:2022
//! and two mapping sets) and the OSCAL CSF 2.0 -> SP 800-53 mapping collection; then a control
//! read with its mappings in both directions; bad input.

mod common;

use common::{data, get_json, post, start_node};
use serde_json::Value;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("reading ../shared/data/{rel}: {e}"))
}

#[tokio::test]
async fn catalogs_and_crosswalks_load_and_answer_a_control_with_its_mappings() {
    let node = start_node(&[]).await;
    let import = |format: &str| node.api(&format!("/frameworks/import?format={format}"));
    for f in [
        "nist-sp-800-53-rev5.yaml",
        "nist-csf-2.0.yaml",
        "iso27001-2022.yaml",
        "mapping-nist-sp-800-53-rev5-to-iso27001-2022.yaml",
        "mapping-nist-csf-2.0-to-iso27001-2022.yaml",
    ] {
        let (s, _, out) = post(
            &import("ciso"),
            Some("application/yaml"),
            read(&format!("frameworks/{f}")),
        )
        .await;
        assert_eq!(s, 201, "{f}: {out}");
    }
    let (s, _, out) = post(
        &import("oscal-mapping"),
        Some("application/json"),
        read("frameworks/NIST_CSF_v2.0-to-NIST_SP-800-53_rev5/mapping-collection.json"),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["entries"], 737, "{out}");

    let (_, fws) = get_json(&node.api("/frameworks")).await;
    let ids: Vec<&str> = fws
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["iso27001-2022", "nist-csf-2.0", "nist-sp-800-53-rev5"]
    );
    let (_, csf) = get_json(&node.api("/frameworks/nist-csf-2.0/controls?per_page=1000")).await;
    let subcategories = csf["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["kind"] == "subcategory"
                || (c["assessable"] == true && c["id"].as_str().unwrap().contains('-'))
        })
        .count();
    assert_eq!(subcategories, 106, "CSF 2.0 has 106 subcategories");

    // SI-2 (as a user writes it) -> si-2 "Flaw Remediation"; its mappings, read from both sides:
    // ISO 27001 A.6.8, A.8.8, A.8.32 (800-53 -> ISO set: intersect) and the CSF subcategories
    // whose OSCAL mapping targets si-2 (superset-of from CSF's side, so subset_of from si-2's).
    let (s, d) = get_json(&node.api("/frameworks/nist-sp-800-53-rev5/controls/SI-2")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["control"]["id"], "si-2");
    assert_eq!(d["control"]["title"], "Flaw Remediation");
    let maps: Vec<(String, String, String)> = d["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["framework"].as_str().unwrap().to_owned(),
                m["control"].as_str().unwrap().to_owned(),
                m["relationship"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for iso in ["A.6.8", "A.8.8", "A.8.32"] {
        assert!(
            maps.contains(&("iso27001-2022".into(), iso.into(), "intersects_with".into())),
            "{maps:?}"
        );
    }
    // The CSF side, computed from the OSCAL file itself.
    let oscal: Value = serde_json::from_slice(&read(
        "frameworks/NIST_CSF_v2.0-to-NIST_SP-800-53_rev5/mapping-collection.json",
    ))
    .unwrap();
    let mut want: Vec<String> = Vec::new();
    for m in oscal["mapping-collection"]["mappings"].as_array().unwrap() {
        for mp in m["maps"].as_array().unwrap() {
            let targets = mp["targets"].as_array().cloned().unwrap_or_default();
            if targets.iter().any(|t| t["id-ref"] == "si-2") {
                for src in mp["sources"].as_array().unwrap() {
                    want.push(src["id-ref"].as_str().unwrap().to_uppercase());
                }
            }
        }
    }
    assert!(!want.is_empty());
    let mut got: Vec<String> = maps
        .iter()
        .filter(|m| m.0 == "nist-csf-2.0")
        .map(|m| {
            assert_eq!(m.2, "subset_of", "{m:?}");
            m.1.clone()
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    // Each pair once, although the CISO library holds both directions.
    let mut dedup = maps.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), maps.len());

    // Bad input: a clear 4xx, nothing replaced.
    let cases: Vec<(&str, Option<&str>, Vec<u8>, u16)> = vec![
        (
            "oscal-catalog",
            Some("application/json"),
            read("frameworks/NIST_CSF_v2.0-to-NIST_SP-800-53_rev5/mapping-collection.json"),
            422,
        ),
        (
            "oscal-catalog",
            Some("application/json"),
            read("frameworks/NIST_CSF_v2.0/catalog.json")[..2000].to_vec(),
            400,
        ),
        (
            "ciso",
            Some("application/yaml"),
            b"objects: [unclosed".to_vec(),
            400,
        ),
        (
            "ciso",
            Some("application/json"),
            read("frameworks/nist-csf-2.0.yaml"),
            415,
        ),
        ("excel", Some("application/json"), b"{}".to_vec(), 400),
    ];
    for (format, ct, body, want) in cases {
        let (s, ct2, p) = post(&import(format), ct, body).await;
        assert_eq!(s, want, "{format}: {p}");
        assert!(ct2.starts_with("application/problem+json"));
    }
    let (_, after) = get_json(&node.api("/frameworks")).await;
    assert_eq!(after, fws, "bad input replaced nothing");
    assert_eq!(
        get_json(&node.api("/frameworks/nist-sp-800-53-rev5/controls/zz-99"))
            .await
            .0,
        404
    );
    assert_eq!(
        get_json(&node.api("/frameworks/pci-dss-4/controls"))
            .await
            .0,
        404
    );
}
