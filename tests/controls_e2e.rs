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
    // A playbook with a 1-second triage step, checked every 200 ms, to see an escalation.
    let books = std::env::temp_dir().join(format!("rampart-playbooks-{}", std::process::id()));
    std::fs::create_dir_all(&books).unwrap();
    std::fs::write(
        books.join("fast.yaml"),
        "name: fast\napplies_to: {kev: true}\nsteps:\n  - {name: triage, role: security-analyst, until_state: triaged, time_limit_s: 1}\n",
    )
    .unwrap();
    let node = start_node(&[
        ("RAMPART_INCIDENTS__PLAYBOOKS_DIR", books.to_str().unwrap()),
        ("RAMPART_INCIDENTS__ESCALATION_CHECK_MS", "200"),
        ("RAMPART_INCIDENTS__SLA_S__HIGH", "1"),
    ])
    .await;
    let import = |format: &str| node.api(&format!("/frameworks/import?format={format}"));
    // An OSCAL catalog (CSF 2.0); the CISO Assistant library of the same framework replaces it
    // below (both give the same 106 subcategories).
    let (s, _, out) = post(
        &import("oscal-catalog"),
        Some("application/json"),
        read("frameworks/NIST_CSF_v2.0/catalog.json"),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["frameworks"][0], "nist-csf-2.0", "{out}");
    assert!(out["controls"].as_u64().unwrap() >= 106, "{out}");
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
    services_on_top(&node).await;
    let _ = std::fs::remove_dir_all(&books);
}

/// Risks -> controls, control status and coverage, playbook escalation and reports, on the node
/// of the test above (frameworks and crosswalks loaded).
async fn services_on_top(node: &common::NodeProc) {
    // Risks -> controls: keycloak's KEV-listed Spring4Shell finding (CWE-74/94) maps through the
    // shipped [[controls.rules]] to flaw remediation, KEV and injection controls, due within 14
    // days, and si-2 carries its CSF and ISO counterparts.
    for (path, ct, file) in [
        (
            "/threat-intel/kev",
            "application/json",
            "kev/known_exploited_vulnerabilities.json",
        ),
        (
            "/threat-intel/osv",
            "application/json",
            "osv/ghsa/GHSA-36p3-wjmg-h94x.json",
        ),
        (
            "/assets/import?format=cyclonedx",
            "application/json",
            "sbom/keycloak-10.0.2.cdx.json",
        ),
    ] {
        let job = common::run_job(node, path, ct, read(file)).await;
        assert_eq!(job["state"], "succeeded", "{path}: {job}");
    }
    let mut ctl = Value::Null;
    let ready = common::wait_for(std::time::Duration::from_secs(30), async || {
        ctl = get_json(&node.api("/assets/1/controls")).await.1;
        ctl["recommendations"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    })
    .await;
    assert!(ready, "{ctl}");
    let spring = ctl["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["vulnerability"] == "GHSA-36p3-wjmg-h94x")
        .unwrap();
    assert_eq!(spring["kev"], true);
    assert_eq!(spring["owner"], "unassigned");
    for c in ["si-2", "si-2.2", "si-10", "ir-4"] {
        assert!(
            spring["controls"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == c),
            "{c}: {spring}"
        );
    }
    let due = chrono::NaiveDate::parse_from_str(spring["due_date"].as_str().unwrap(), "%Y-%m-%d")
        .unwrap();
    let days = (due - chrono::Utc::now().date_naive()).num_days();
    assert!(
        (13..=14).contains(&days),
        "KEV: due within 14 days, got {days}"
    );
    // ControlMapping keeps the same mapping from the risk events it consumes (controls.mapped).
    let n_findings = ctl["recommendations"].as_array().unwrap().len() as u64;
    let consumed = common::wait_for(std::time::Duration::from_secs(30), async || {
        let c = get_json(&node.api("/assets/1/controls")).await.1;
        c["mapped"]["si-2"].as_u64() == Some(n_findings)
            && c["mapped"]["si-2.2"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(
        consumed,
        "controls.mapped view: {}",
        get_json(&node.api("/assets/1/controls")).await.1["mapped"]
    );
    let si2 = ctl["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "si-2")
        .unwrap();
    assert_eq!(si2["title"], "Flaw Remediation");
    let maps = si2["mappings"].to_string();
    for m in ["A.8.8", "ID.IM-01"] {
        assert!(maps.contains(m), "{m} in {maps}");
    }

    // Control status and coverage: (implemented + 0.5 x partial) / (assessable - not_applicable).
    let put = async |path: &str, body: Value| {
        let r = common::client()
            .put(node.api(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json::<Value>().await.unwrap_or(Value::Null))
    };
    let st = |id: &str| format!("/frameworks/nist-csf-2.0/controls/{id}/status");
    let (s, v) = put(&st("pr.ps-02"), serde_json::json!({"status": "implemented", "evidence": ["https://wiki.example/patching"], "actor": "ana"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["control_id"], "PR.PS-02");
    assert_eq!(
        put(&st("ID.IM-01"), serde_json::json!({"status": "partial"}))
            .await
            .0,
        200
    );
    assert_eq!(
        put(
            &st("GV.OC-01"),
            serde_json::json!({"status": "not_applicable"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        put(&st("ID.IM-02"), serde_json::json!({"status": "done"}))
            .await
            .0,
        422
    );
    assert_eq!(
        put(&st("ZZ.ZZ-99"), serde_json::json!({"status": "planned"}))
            .await
            .0,
        404
    );
    let (s, cov) = get_json(&node.api("/frameworks/nist-csf-2.0/coverage")).await;
    assert_eq!(s, 200, "{cov}");
    assert_eq!(cov["assessable"], 106, "{cov}");
    assert_eq!(cov["by_status"]["implemented"], 1);
    assert_eq!(cov["by_status"]["partial"], 1);
    assert_eq!(cov["by_status"]["not_applicable"], 1);
    assert_eq!(cov["by_status"]["not_assessed"], 103);
    let want = 1.5 / 105.0;
    assert!(
        (cov["coverage"].as_f64().unwrap() - want).abs() < 1e-9,
        "{cov}"
    );
    let groups = cov["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 6, "six CSF functions: {cov}");
    assert_eq!(
        groups
            .iter()
            .map(|g| g["assessable"].as_u64().unwrap())
            .sum::<u64>(),
        106
    );
    let protect = groups
        .iter()
        .find(|g| g["by_status"]["implemented"] == 1)
        .unwrap();
    assert!(
        protect["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("protect"),
        "{protect}"
    );
    assert!(
        protect["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["by_status"]["implemented"] == 1),
        "category level"
    );
    assert_eq!(
        get_json(&node.api("/frameworks/nope/coverage")).await.0,
        404
    );

    // Incidents: the KEV incident's triage step is past its 1 s limit: escalated once, recorded,
    // published.
    let mut incidents = Value::Null;
    let opened = common::wait_for(std::time::Duration::from_secs(30), async || {
        incidents = get_json(&node.api("/incidents?per_page=1000")).await.1;
        incidents["total"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(opened, "{incidents}");
    let first = incidents["items"][0]["id"]
        .as_i64()
        .expect("an incident for Spring4Shell");
    let mut detail = Value::Null;
    let escalated = common::wait_for(std::time::Duration::from_secs(15), async || {
        detail = get_json(&node.api(&format!("/incidents/{first}"))).await.1;
        detail["timeline"].to_string().contains("escalated")
    })
    .await;
    assert!(escalated, "{detail}");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (_, detail) = get_json(&node.api(&format!("/incidents/{first}"))).await;
    let escalations: Vec<&Value> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "escalated")
        .collect();
    assert_eq!(escalations.len(), 1, "once per step: {detail}");
    assert!(
        escalations[0]["text"]
            .as_str()
            .unwrap()
            .contains("security-analyst")
    );
    let in_log = common::wait_for(std::time::Duration::from_secs(15), async || {
        get_json(&node.api("/audit?limit=1000"))
            .await
            .1
            .to_string()
            .contains("incident.escalated")
    })
    .await;
    assert!(in_log, "incident.escalated published (and audited)");

    // Reports: counts equal what the database holds (read through the API).
    let tr = async |to: &str| {
        common::client()
            .post(node.api(&format!("/incidents/{first}/transition")))
            .json(&serde_json::json!({"to": to}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(tr("triaged").await, 200);
    assert_eq!(tr("closed").await, 200);
    let mut report = Value::Null;
    let logged = common::wait_for(std::time::Duration::from_secs(30), async || {
        report = get_json(&node.api("/reports/nist-csf-2.0")).await.1;
        report["status_changes"]
            .as_array()
            .is_some_and(|c| c.len() == 3)
    })
    .await;
    assert!(
        logged,
        "the three status changes, from the audit log: {report}"
    );
    let (_, risks) = get_json(&node.api("/risks?per_page=1")).await;
    let (_, kev) = get_json(&node.api("/risks?per_page=1&kev_only=true")).await;
    assert_eq!(report["risks_total"], risks["total"]);
    assert_eq!(report["risks_kev"], kev["total"]);
    let by_level: u64 = report["risks_by_level"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(Some(by_level), risks["total"].as_u64());
    let n_incidents = incidents["total"].as_u64().unwrap();
    assert_eq!(
        report["incidents"]["opened_in_period"].as_u64(),
        Some(n_incidents)
    );
    assert_eq!(report["incidents"]["closed_in_period"], 1);
    assert_eq!(
        report["incidents"]["open_now"].as_u64(),
        Some(n_incidents - 1)
    );
    assert!(report["incidents"]["mttr_hours"].as_f64().unwrap() >= 0.0);
    assert!(
        report["incidents"]["mttd_hours"].as_f64().unwrap() > 24.0 * 365.0,
        "Spring4Shell was public since 2022: {report}"
    );
    assert_eq!(report["coverage"]["coverage"], cov["coverage"]);
    assert_eq!(report["top_risks"][0]["score"], 20);
    let r = common::get(node.api("/reports/nist-csf-2.0?format=csv"))
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("section,item,value\r\n"), "{csv}");
    assert!(
        csv.contains(&format!("risks,total,{}\r\n", risks["total"])),
        "{csv}"
    );
    let r = common::get(node.api("/reports/nist-csf-2.0?format=html"))
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<h1>Compliance report: NIST Cybersecurity Framework 2.0</h1>")
            && html.contains("<table class=\"data\"")
            && html.contains("<svg"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/console/assets/console.css\""),
        "styled by the console's stylesheet"
    );
    assert!(
        !html.contains("<script") && !html.contains("<style") && !html.contains(" style="),
        "no script, no inline style (the console's CSP)"
    );
    // Levels by severity, humanised; times to the second, zone stated.
    let levels: Vec<usize> = ["Very high", "High", "Moderate", "Low", "Very low"]
        .iter()
        .map(|l| {
            html.find(&format!(">{l}</span>"))
                .unwrap_or_else(|| panic!("{l} in {html}"))
        })
        .collect();
    assert!(levels.windows(2).all(|w| w[0] < w[1]), "{levels:?}");
    assert!(
        html.contains(" UTC to ") && !html.contains(">very_high<"),
        "{html}"
    );
    for (q, want) in [
        ("?format=pdf", 400),
        ("?from=yesterday", 400),
        ("?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z", 400),
    ] {
        assert_eq!(
            get_json(&node.api(&format!("/reports/nist-csf-2.0{q}")))
                .await
                .0,
            want,
            "{q}"
        );
    }
    assert_eq!(get_json(&node.api("/reports/pci-dss-4")).await.0, 404);

    // An alarm opens one incident, however often it is raised.
    let alarm = serde_json::json!({"source": "wazuh", "id": "42", "title": "Brute force on ssh", "asset_key": "ip:10.0.0.5", "level": "high"});
    for _ in 0..2 {
        let r = common::client()
            .post(node.api("/alarms"))
            .json(&alarm)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
    }
    let bad =
        serde_json::json!({"source": "wazuh", "id": "43", "title": "x", "level": "apocalyptic"});
    let r = common::client()
        .post(node.api("/alarms"))
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let mut found = Value::Null;
    let opened = common::wait_for(std::time::Duration::from_secs(15), async || {
        found = get_json(&node.api("/incidents?per_page=1000")).await.1;
        found["items"].to_string().contains("alarm:wazuh:42")
    })
    .await;
    assert!(opened, "{found}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (_, all) = get_json(&node.api("/incidents?per_page=1000")).await;
    let n = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["cause_key"] == "alarm:wazuh:42")
        .count();
    assert_eq!(n, 1, "one incident per alarm");
    let i = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["cause_key"] == "alarm:wazuh:42")
        .unwrap();
    assert_eq!(i["level"], "high");
    assert_eq!(i["state"], "detected");
    // Its level's SLA (1 s in this test) passes while it is open: escalated once.
    let id = i["id"].as_i64().unwrap();
    let mut d = Value::Null;
    let sla = common::wait_for(std::time::Duration::from_secs(15), async || {
        d = get_json(&node.api(&format!("/incidents/{id}"))).await.1;
        d["timeline"]
            .to_string()
            .contains("SLA of high (1 s) passed")
    })
    .await;
    assert!(sla, "{d}");
}
