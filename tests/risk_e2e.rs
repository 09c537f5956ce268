//! Issue 3 end to end, on the real binary and real data (../shared/data): ingest CISA KEV, the OSV
//! Go dump (all.zip) and GHSA records, import real SBOMs, and check specific findings against
//! the documented NIST SP 800-30 formula; then bad input, a panic inside an import, and
//! idempotent re-import. Once on SQLite (the embedded default), once on PostgreSQL.

mod common;

use std::time::Duration;

use common::{NodeProc, data, get_json, post, run_job, start_node, wait_for};
use serde_json::Value;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("reading ../shared/data/{rel}: {e}"))
}

/// The scoring formula as documented (README, `risk::scoring`), written again here from the
/// documentation so the test checks the implementation against the text: returns
/// (likelihood, impact, score, level) for a CVSS v3 vector, KEV flag and asset criticality.
fn documented_score(vector: &str, kev: bool, criticality: u8) -> (u8, u8, u8, &'static str) {
    let m = |k: &str| {
        vector
            .split('/')
            .find_map(|p| p.strip_prefix(&format!("{k}:")))
            .unwrap_or("")
            .to_owned()
    };
    let e = match m("AV").as_str() {
        "N" => 3,
        "A" => 2,
        "L" => 1,
        _ => 0,
    } + u8::from(m("AC") == "L")
        + match m("PR").as_str() {
            "N" => 2,
            "L" => 1,
            _ => 0,
        }
        + u8::from(m("UI") == "N");
    let mut l = match e {
        0..=1 => 1,
        2..=3 => 2,
        4..=5 => 3,
        6 => 4,
        _ => 5,
    };
    if kev {
        l = 5;
    }
    let s: u8 = ["C", "I", "A"]
        .iter()
        .map(|k| match m(k).as_str() {
            "H" => 2,
            "L" => 1,
            _ => 0,
        })
        .sum();
    let t = match s {
        0 => 1,
        1..=2 => 2,
        3..=4 => 3,
        5 => 4,
        _ => 5,
    };
    let i = (criticality + t).div_ceil(2);
    let score = l * i;
    let level = match score {
        1..=4 => "very_low",
        5..=9 => "low",
        10..=14 => "moderate",
        15..=19 => "high",
        _ => "very_high",
    };
    (l, i, score, level)
}

async fn all_findings(node: &NodeProc, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let (status, body) =
            get_json(&node.api(&format!("/risks?per_page=1000&page={page}{query}"))).await;
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        out.extend(items);
    }
    out
}

async fn asset_id(node: &NodeProc, name: &str) -> i64 {
    let (_, body) = get_json(&node.api(&format!("/assets?name={name}"))).await;
    body["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("asset {name} listed: {body}"))
}

async fn totals(node: &NodeProc) -> (u64, u64) {
    let (_, a) = get_json(&node.api("/assets?per_page=1&include_retired=true")).await;
    let (_, r) = get_json(&node.api("/risks?per_page=1")).await;
    (a["total"].as_u64().unwrap(), r["total"].as_u64().unwrap())
}

/// Waits until RiskAnalysis has scored the asset `id` (its risk endpoint answers 200).
async fn wait_scored(node: &NodeProc, id: i64) -> Value {
    let mut last = Value::Null;
    let ok = wait_for(Duration::from_secs(60), async || {
        let (status, body) = get_json(&node.api(&format!("/assets/{id}/risk"))).await;
        last = body;
        status == 200
    })
    .await;
    assert!(ok, "asset {id} was never scored: {last}");
    last
}

async fn suite(node: &NodeProc) {
    // Threat intelligence: the KEV catalog, the Go OSV dump and the GHSA records.
    let kev = run_job(
        node,
        "/threat-intel/kev",
        "application/json",
        read("kev/known_exploited_vulnerabilities.json"),
    )
    .await;
    assert_eq!(kev["state"], "succeeded", "{kev}");
    let kev_records = kev["result"]["records"].as_u64().unwrap();
    assert!(kev_records > 1000, "{kev}");
    assert_eq!(kev["result"]["changed_records"].as_u64(), Some(kev_records));
    let again = run_job(
        node,
        "/threat-intel/kev",
        "application/json",
        read("kev/known_exploited_vulnerabilities.json"),
    )
    .await;
    assert_eq!(
        again["result"]["unchanged"], true,
        "an unchanged feed is a no-op: {again}"
    );

    let go = run_job(
        node,
        "/threat-intel/osv",
        "application/zip",
        read("osv/Go/all.zip"),
    )
    .await;
    assert_eq!(go["state"], "succeeded", "{go}");
    assert!(go["result"]["records"].as_u64().unwrap() > 100, "{go}");
    let mut ghsa: Vec<_> = std::fs::read_dir(data("osv/ghsa"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    ghsa.sort();
    for p in &ghsa {
        let job = run_job(
            node,
            "/threat-intel/osv",
            "application/json",
            std::fs::read(p).unwrap(),
        )
        .await;
        assert_eq!(job["state"], "succeeded", "{}: {job}", p.display());
    }

    // A feed fetched from a URL by `rampart intel` (here a one-shot local HTTP server).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let feed_url = format!(
        "http://{}/GHSA-xvch-5gv4-984h.json",
        listener.local_addr().unwrap()
    );
    let served = read("osv/ghsa/GHSA-xvch-5gv4-984h.json");
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).unwrap();
        write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            served.len()
        )
        .unwrap();
        s.write_all(&served).unwrap();
    });
    let out = common::cli("analyst")
        .args(["intel", "--server", &node.base, "--kind", "osv", &feed_url])
        .output()
        .unwrap();
    server.join().unwrap();
    assert!(
        out.status.success(),
        "rampart intel URL: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let intel: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(intel["state"], "succeeded", "{intel}");
    assert_eq!(intel["result"]["records"], 1, "{intel}");

    // The real SBOMs: keycloak through the CLI (`rampart import`), the others over HTTP.
    let out = common::cli("analyst")
        .args(["import", "--server", &node.base, "--format", "cyclonedx"])
        .arg(data("sbom/keycloak-10.0.2.cdx.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rampart import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli_job: Value =
        serde_json::from_slice(&out.stdout).expect("rampart import prints the job");
    assert_eq!(cli_job["state"], "succeeded", "{cli_job}");
    assert_eq!(cli_job["result"]["discovered"], 1, "{cli_job}");
    for sbom in ["dropwizard-1.3.15.cdx.json", "proton-bridge-1.8.0.cdx.json"] {
        let job = run_job(
            node,
            "/assets/import?format=cyclonedx",
            "application/json",
            read(&format!("sbom/{sbom}")),
        )
        .await;
        assert_eq!(job["state"], "succeeded", "{sbom}: {job}");
        assert_eq!(job["result"]["discovered"], 1, "{job}");
    }
    let keycloak = asset_id(node, "keycloak").await;
    let dropwizard = asset_id(node, "dropwizard").await;
    let proton = asset_id(node, "proton-bridge").await;
    let (_, detail) = get_json(&node.api(&format!("/assets/{keycloak}"))).await;
    assert!(
        detail["components"].as_array().unwrap().len() > 100,
        "components listed"
    );
    let kc_risk = wait_scored(node, keycloak).await;
    wait_scored(node, dropwizard).await;
    wait_scored(node, proton).await;
    assert_eq!(kc_risk["freshness"], "fresh");
    assert_eq!(kc_risk["value"]["level"], "very_high", "{kc_risk}");
    let kc_key = kc_risk["value"]["asset_key"].as_str().unwrap().to_owned();

    // keycloak's spring-beans 4.3.19 is flagged for CVE-2022-22965, KEV-listed, likelihood very high,
    // scored as documented from the advisory's CVSS vector and the asset's criticality.
    let kc = all_findings(node, &format!("&asset={keycloak}")).await;
    let spring = kc
        .iter()
        .find(|f| {
            f["component"] == "spring-beans"
                && f["component_version"] == "4.3.19.RELEASE"
                && f["cves"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c == "CVE-2022-22965")
        })
        .unwrap_or_else(|| panic!("spring-beans 4.3.19 flagged for CVE-2022-22965"));
    assert_eq!(spring["kev"], true);
    assert_eq!(spring["likelihood"], 5, "KEV: very high likelihood");
    let advisory: Value =
        serde_json::from_slice(&read("osv/ghsa/GHSA-36p3-wjmg-h94x.json")).unwrap();
    let vector = advisory["severity"][0]["score"].as_str().unwrap();
    let crit = detail["criticality"].as_u64().unwrap() as u8;
    let (l, i, score, level) = documented_score(vector, true, crit);
    assert_eq!(
        (
            spring["likelihood"].as_u64(),
            spring["impact"].as_u64(),
            spring["score"].as_u64()
        ),
        (Some(l.into()), Some(i.into()), Some(score.into()))
    );
    assert_eq!(spring["level"], level);
    // Every finding's score is likelihood × impact.
    for f in &kc {
        assert_eq!(
            f["score"].as_u64().unwrap(),
            f["likelihood"].as_u64().unwrap() * f["impact"].as_u64().unwrap(),
            "{f}"
        );
    }
    // The register is sorted by score, and kev_only keeps only KEV-listed findings.
    let scores: Vec<u64> = kc.iter().map(|f| f["score"].as_u64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "sorted by score: {scores:?}"
    );
    let kev_only = all_findings(node, &format!("&asset={kc_key}&kev_only=true")).await;
    assert!(!kev_only.is_empty() && kev_only.iter().all(|f| f["kev"] == true));
    // The same through `rampart risks`.
    let out = common::cli("analyst")
        .args([
            "risks",
            "--server",
            &node.base,
            "--kev-only",
            "--per-page",
            "1000",
        ])
        .args(["--asset", &keycloak.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["total"].as_u64(), Some(kev_only.len() as u64));
    // A client error is exit code 2 with the problem's detail on stderr.
    let out = common::cli("analyst")
        .args(["import", "--server", &node.base, "--format", "spdx"])
        .arg(data("sbom/keycloak-10.0.2.cdx.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("422"));
    let high = all_findings(node, "&min_score=20").await;
    assert!(high.iter().all(|f| f["score"].as_u64().unwrap() >= 20));

    // log4j-api is not flagged for CVE-2021-44228: that advisory names log4j-core.
    // (keycloak does carry log4j-api, and the Log4Shell advisory GHSA-jfh8-c2jp-5v3q is loaded.)
    assert!(
        detail["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "log4j-api")
    );
    let log4shell: Value =
        serde_json::from_slice(&read("osv/ghsa/GHSA-jfh8-c2jp-5v3q.json")).unwrap();
    assert!(log4shell["aliases"].to_string().contains("CVE-2021-44228"));
    assert!(
        !kc.iter().any(|f| f["component"] == "log4j-api"
            && f["cves"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "CVE-2021-44228")),
        "log4j-api must not be flagged for Log4Shell"
    );
    // dropwizard's commons-text 1.2 is not flagged for CVE-2022-42889 (affected: 1.5 to 1.9).
    let dw = all_findings(node, &format!("&asset={dropwizard}")).await;
    assert!(
        !dw.iter().any(|f| f["component"] == "commons-text"
            && f["cves"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "CVE-2022-42889")),
        "commons-text 1.2 must not be flagged for Text4Shell"
    );
    // proton-bridge's golang.org/x/net at pseudo-version v0.0.0-20210405180319-a5a99cb37ef4 is
    // ordered by semver: affected by GO-2021-0238 (fixed 0.0.0-20210520170846-…) and GO-2022-0236
    // (fixed 0.0.0-20210428140749-…), not by GO-2022-0536 (fixed 0.0.0-20190813141303-…) nor
    // GO-2020-0014 (fixed 0.0.0-20190125091013-…).
    let pb = all_findings(node, &format!("&asset={proton}")).await;
    let xnet: Vec<&str> = pb
        .iter()
        .filter(|f| {
            f["component"] == "golang.org/x/net"
                && f["component_version"] == "v0.0.0-20210405180319-a5a99cb37ef4"
        })
        .map(|f| f["vulnerability"].as_str().unwrap())
        .collect();
    for id in ["GO-2021-0238", "GO-2022-0236"] {
        assert!(xnet.contains(&id), "{id} flagged on x/net: {xnet:?}");
    }
    for id in ["GO-2022-0536", "GO-2020-0014"] {
        assert!(
            !xnet.contains(&id),
            "{id} fixed before that pseudo-version: {xnet:?}"
        );
    }

    // Incidents (issue 5): one per (asset, vulnerability) whose finding scores >= 20 (config
    // incidents.min_score; KEV needs criticality >= 4, these assets have 3).
    let mut causes = std::collections::BTreeSet::new();
    for f in all_findings(node, "").await {
        if f["score"].as_u64().unwrap() >= 20 {
            causes.insert(format!(
                "risk:{}:{}",
                f["asset_key"].as_str().unwrap(),
                f["vulnerability"].as_str().unwrap()
            ));
        }
    }
    assert!(
        causes.iter().any(|c| c.contains("GHSA-36p3-wjmg-h94x")),
        "{causes:?}"
    );
    let mut listed = Value::Null;
    let opened = wait_for(Duration::from_secs(30), async || {
        listed = get_json(&node.api("/incidents?per_page=1000")).await.1;
        listed["total"].as_u64() == Some(causes.len() as u64)
    })
    .await;
    assert!(opened, "one incident per cause {causes:?}: {listed}");
    let got: std::collections::BTreeSet<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["cause_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, causes);
    let spring_incident = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["cause_key"]
                .as_str()
                .unwrap()
                .ends_with("GHSA-36p3-wjmg-h94x")
        })
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let inc = |p: &str| node.api(&format!("/incidents/{spring_incident}{p}"));
    let (_, d) = get_json(&inc("")).await;
    assert_eq!(d["incident"]["state"], "detected");
    assert_eq!(d["timeline"][0]["kind"], "opened");
    assert_eq!(d["risk"]["freshness"], "fresh", "{d}");
    assert!(d["risk"]["value"]["max_score"].as_u64().unwrap() >= 20);
    let post_json = async |url: String, body: Value| {
        let r = common::client().post(url).json(&body).send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (s, p) = post_json(inc("/transition"), serde_json::json!({"to": "contained"})).await;
    assert_eq!(s, 409, "detected -> contained skips triage: {p}");
    let (s, p) = post_json(inc("/transition"), serde_json::json!({"to": "exploded"})).await;
    assert_eq!(s, 422, "{p}");
    let (s, _) = post_json(inc("/transition"), serde_json::json!({"to": "triaged", "actor": "ana", "note": "Spring4Shell on the admin console"})).await;
    assert_eq!(s, 200);
    let (s, _) = post_json(
        inc("/assign"),
        serde_json::json!({"assignee": "platform-team"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = post_json(
        inc("/comments"),
        serde_json::json!({"text": "WAF rule deployed", "actor": "ana"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = post_json(inc("/comments"), serde_json::json!({"text": "  "})).await;
    assert_eq!(s, 422);
    let (s, _) = post_json(
        inc("/transition"),
        serde_json::json!({"to": "contained", "actor": "ana"}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, d) = get_json(&inc("")).await;
    assert_eq!(d["incident"]["state"], "contained");
    assert_eq!(d["incident"]["assignee"], "platform-team");
    let kinds: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["opened", "transition", "assigned", "comment", "transition"]
    );
    assert_eq!(get_json(&node.api("/incidents/999999")).await.0, 404);
    assert_eq!(get_json(&node.api("/incidents/abc")).await.0, 400);
    assert_eq!(get_json(&node.api("/incidents?state=bogus")).await.0, 400);
    let incidents_before = causes.len() as u64;

    // EPSS (FIRST's CSV): CVE-2021-33194 (GO-2021-0238 on x/net, no CVSS vector, not in KEV)
    // at 0.6 raises its likelihood from the no-vector default 3 to 5; only proton-bridge, the
    // asset holding that package, is re-scored.
    let before = pb
        .iter()
        .find(|f| f["vulnerability"] == "GO-2021-0238")
        .unwrap()
        .clone();
    assert_eq!(before["likelihood"], 3, "{before}");
    let csv = b"#model_version:v2025.03.14,score_date:2026-11-23T00:00:00Z\ncve,epss,percentile\nCVE-2021-33194,0.60000,0.98000\nCVE-1999-0001,0.01000,0.50000\n".to_vec();
    let epss = run_job(node, "/threat-intel/epss", "text/csv", csv).await;
    assert_eq!(epss["state"], "succeeded", "{epss}");
    assert_eq!(epss["result"]["assets_rescored"], 1, "{epss}");
    let after = all_findings(node, &format!("&asset={proton}"))
        .await
        .into_iter()
        .find(|f| f["vulnerability"] == "GO-2021-0238")
        .unwrap();
    let crit = u64::from(detail["criticality"].as_u64().unwrap() as u8);
    let impact = (crit + 3).div_ceil(2);
    assert_eq!(after["likelihood"], 5, "{after}");
    assert_eq!(after["impact"].as_u64(), Some(impact));
    assert_eq!(after["score"].as_u64(), Some(5 * impact));
    assert!(
        after["rationale"].to_string().contains("EPSS 0.6000"),
        "{after}"
    );

    // NVD records matched by CPE: nmap scans carry CPE 2.2 URIs (cpe:/o:linux:linux_kernel:2.6.13).
    let nvd = run_job(
        node,
        "/threat-intel/nvd",
        "application/json",
        read("nvd/nvd-cve-api-2.0-merged.json"),
    )
    .await;
    assert_eq!(nvd["state"], "succeeded", "{nvd}");
    // Both scans saw 192.168.1.1; the later scan is the host's current state (os_scan6: Linux
    // 2.6.13, fullscan: a kernel of unknown version), so fullscan goes first.
    for scan in ["libnmap-fullscan.xml", "libnmap-os_scan6.xml"] {
        let job = run_job(
            node,
            "/assets/import?format=nmap",
            "application/xml",
            read(&format!("scans/nmap/{scan}")),
        )
        .await;
        assert_eq!(job["state"], "succeeded", "{scan}: {job}");
    }
    let mut by_cpe = Vec::new();
    let found = wait_for(Duration::from_secs(30), async || {
        by_cpe = all_findings(node, "")
            .await
            .into_iter()
            .filter(|f| f["cpe"].is_string())
            .collect();
        by_cpe.iter().any(|f| f["vulnerability"] == "CVE-2017-7542")
    })
    .await;
    assert!(
        found,
        "Linux 2.6.13 flagged for CVE-2017-7542 (versionEndIncluding 4.12.3): {by_cpe:?}"
    );
    let kernel = by_cpe
        .iter()
        .find(|f| f["vulnerability"] == "CVE-2017-7542")
        .unwrap();
    assert_eq!(kernel["cpe"], "cpe:/o:linux:linux_kernel:2.6.13");
    assert_eq!(
        kernel["confidence"], "low",
        "a CPE version range compares generically"
    );
    assert!(
        !by_cpe.iter().any(|f| f["vulnerability"] == "CVE-2024-6387"),
        "OpenSSH 5.9p1 is outside regreSSHion's ranges: {by_cpe:?}"
    );

    // Bad input: a clear 4xx each time, and what is stored stays as it was (once every asset
    // has been scored, so that nothing is still in flight).
    let (_, listed) = get_json(&node.api("/assets?per_page=1000")).await;
    for a in listed["items"].as_array().unwrap() {
        wait_scored(node, a["id"].as_i64().unwrap()).await;
    }
    let before = totals(node).await;
    let sbom = read("sbom/keycloak-10.0.2.cdx.json");
    let truncated = sbom[..sbom.len() / 2].to_vec();
    // (path, content type, body, expected status, words the problem's detail contains)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "/assets/import?format=cyclonedx",
            Some("application/json"),
            truncated.clone(),
            400,
            "line",
        ),
        (
            "/assets/import?format=spdx",
            Some("application/json"),
            sbom.clone(),
            422,
            "SPDX",
        ),
        (
            "/assets/import?format=nmap",
            Some("application/xml"),
            b"<nmaprun><host><address addr=".to_vec(),
            400,
            "XML",
        ),
        (
            "/assets/import?format=csv",
            Some("text/csv"),
            b"name,kind\n\"unterminated".to_vec(),
            400,
            "CSV",
        ),
        (
            "/assets/import?format=excel",
            Some("application/json"),
            sbom.clone(),
            400,
            "unknown inventory format",
        ),
        (
            "/assets/import?format=cyclonedx",
            Some("text/plain"),
            sbom.clone(),
            415,
            "Content-Type",
        ),
        (
            "/assets/import?format=cyclonedx",
            None,
            sbom.clone(),
            415,
            "Content-Type",
        ),
        (
            "/threat-intel/kev",
            Some("application/json"),
            read("kev/known_exploited_vulnerabilities.json")[..5000].to_vec(),
            400,
            "line",
        ),
        (
            "/threat-intel/kev",
            Some("application/json"),
            read("osv/ghsa/GHSA-36p3-wjmg-h94x.json"),
            422,
            "KEV",
        ),
        (
            "/threat-intel/osv",
            Some("application/json"),
            read("kev/known_exploited_vulnerabilities.json"),
            422,
            "OSV",
        ),
        (
            "/threat-intel/osv",
            Some("application/zip"),
            b"PK\x03\x04 not really a zip".to_vec(),
            400,
            "zip",
        ),
        (
            "/threat-intel/nvd",
            Some("application/json"),
            b"{\"vulnerabilities\": [".to_vec(),
            400,
            "line",
        ),
        (
            "/threat-intel/cvss",
            Some("application/json"),
            b"{}".to_vec(),
            404,
            "unknown feed kind",
        ),
        (
            "/threat-intel/osv",
            Some("application/json"),
            read("osv/ghsa/GHSA-36p3-wjmg-h94x.json")[..300].to_vec(),
            400,
            "line",
        ),
        (
            "/threat-intel/epss",
            Some("text/csv"),
            b"cve,epss,percentile\nCVE-2021-1,0.1,0.1\nCVE-2021-2,7,0.1\n".to_vec(),
            422,
            "line 3",
        ),
        (
            "/threat-intel/epss",
            Some("application/json"),
            b"cve,epss\n".to_vec(),
            415,
            "text/csv",
        ),
    ];
    for (path, ct, body, want, needle) in cases {
        let (status, content_type, problem) = post(&node.api(path), ct, body).await;
        assert_eq!(status, want, "{path} ({ct:?}): {problem}");
        assert!(
            content_type.starts_with("application/problem+json"),
            "{path}: {content_type}"
        );
        let detail = problem["detail"].as_str().unwrap_or("");
        assert!(detail.contains(needle), "{path}: {needle:?} in {detail:?}");
    }
    // Paging past the end (even at u64::MAX) is an empty page; bad query values are 400.
    for path in [
        "/risks?page=18446744073709551615",
        "/assets?page=18446744073709551615&per_page=1000",
    ] {
        let (status, body) = get_json(&node.api(path)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["items"], serde_json::json!([]), "{path}");
    }
    for path in [
        "/risks?level=severe",
        "/risks?min_score=99",
        "/risks?per_page=0",
        "/assets?page=x",
        "/jobs/not-a-uuid",
        "/assets/abc",
    ] {
        let (status, body) = get_json(&node.api(path)).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    assert_eq!(totals(node).await, before, "bad input changed nothing");

    // Re-importing the same SBOM changes nothing.
    let job = run_job(
        node,
        "/assets/import?format=cyclonedx",
        "application/json",
        read("sbom/dropwizard-1.3.15.cdx.json"),
    )
    .await;
    assert_eq!(
        (
            job["result"]["discovered"].as_u64(),
            job["result"]["changed"].as_u64(),
            job["result"]["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(1)),
        "{job}"
    );

    // A panic inside AssetManagement's import handler: the job reports it, the actor restarts,
    // nothing was half-written, the next import works.
    let (status, _, accepted) = {
        let r = common::client()
            .post(node.api("/assets/import?format=cyclonedx"))
            .header("Content-Type", "application/json")
            .header("X-Rampart-Fault", "panic")
            .body(read("sbom/juice-shop-11.1.2.cdx.json"))
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, (), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 202, "{accepted}");
    let failed = common::wait_job(
        node,
        accepted["job_id"].as_str().unwrap(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["errors"][0].as_str().unwrap().contains("panic"),
        "{failed}"
    );
    assert_eq!(
        totals(node).await.0,
        before.0,
        "nothing of the failed import stored"
    );
    let restarted = wait_for(Duration::from_secs(10), async || {
        let (_, t) = get_json(&node.api("/runtime/tree")).await;
        let am = &t["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "assets")
            .unwrap()["children"][0];
        am["restarts"].as_u64().unwrap_or(0) >= 1 && am["state"] == "running"
    })
    .await;
    assert!(restarted, "asset-management restarted after the panic");
    let job = run_job(
        node,
        "/assets/import?format=cyclonedx",
        "application/json",
        read("sbom/juice-shop-11.1.2.cdx.json"),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "the next import works: {job}");
    assert_eq!(job["result"]["discovered"], 1);

    // Later feeds re-scored assets (risk.changed): still one incident per cause.
    let (_, after) = get_json(&node.api("/incidents?per_page=1000")).await;
    assert_eq!(
        after["total"].as_u64(),
        Some(incidents_before),
        "no duplicate incidents: {:?}",
        after["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["cause_key"].clone(), i["title"].clone()))
            .collect::<Vec<_>>()
    );

    // Retiring an asset: asset.retired, RiskAnalysis drops its findings.
    let r = common::client()
        .delete(node.api(&format!("/assets/{dropwizard}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cleared = wait_for(Duration::from_secs(30), async || {
        get_json(&node.api(&format!("/assets/{dropwizard}/risk")))
            .await
            .0
            == 404
    })
    .await;
    assert!(cleared, "a retired asset has no current risk");
    assert!(
        all_findings(node, &format!("&asset={dropwizard}"))
            .await
            .is_empty()
    );
    let r = common::client()
        .delete(node.api(&format!("/assets/{dropwizard}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "already retired");

    // Health and metrics reflect the service actors.
    let (status, ready) = get_json(&format!("{}/readyz", node.base)).await;
    assert_eq!(status, 200, "{ready}");
    let names: Vec<&str> = ready["tree"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"assets") && names.contains(&"risk"),
        "{names:?}"
    );
    let metrics = common::get(format!("{}/metrics", node.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in ["actor=\"asset-management\"", "actor=\"risk-analysis\""] {
        assert!(metrics.contains(needle), "{needle} in /metrics");
    }
}

async fn count(db: &rampart_platform::Db, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    db.conn()
        .query_one_raw(sea_orm::Statement::from_string(
            db.backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// The audit log (issue 5): every event of the run is in it, once, hash-chained; the assets'
/// current view rebuilt from it alone equals AssetManagement's; editing one stored entry is
/// found by `GET /audit/verify`.
async fn audit_suite(node: &NodeProc, db: &rampart_platform::Db) {
    let mut last = Value::Null;
    let complete = wait_for(Duration::from_secs(60), async || {
        let events = count(db, "SELECT count(*) FROM outbox").await;
        let (s, v) = get_json(&node.api("/audit/verify")).await;
        last = v;
        // Every API call is an entry too (this very poll included): at least every event.
        s == 200 && last["entries"].as_i64() >= Some(events)
    })
    .await;
    assert!(complete, "every outbox event logged, chain intact: {last}");
    assert_eq!(last["ok"], true);
    // Event sourcing: fold the log into the set of active assets (key -> name).
    let mut active = std::collections::BTreeMap::new();
    let mut after = 0;
    loop {
        let (_, page) = get_json(&node.api(&format!("/audit?after={after}&limit=1000"))).await;
        let entries = page.as_array().unwrap();
        if entries.is_empty() {
            break;
        }
        for e in entries {
            after = e["seq"].as_i64().unwrap();
            let body = &e["event"]["body"];
            match e["event_type"].as_str().unwrap() {
                "asset.discovered" | "asset.changed" => {
                    active.insert(
                        body["asset"]["key"].as_str().unwrap().to_owned(),
                        body["asset"]["name"].as_str().unwrap().to_owned(),
                    );
                }
                "asset.retired" => {
                    active.remove(body["key"].as_str().unwrap());
                }
                _ => {}
            }
        }
    }
    let (_, assets) = get_json(&node.api("/assets?per_page=1000")).await;
    let stored: std::collections::BTreeMap<String, String> = assets["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap().to_owned(),
                a["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        active, stored,
        "the assets rebuilt from the audit log alone"
    );
    // Tampering: edit one stored entry (the first asset event).
    use sea_orm::ConnectionTrait;
    let first = count(
        db,
        "SELECT min(seq) FROM audit_log WHERE event_type = 'asset.discovered'",
    )
    .await;
    db.conn()
        .execute_unprepared(&format!(
            "UPDATE audit_log SET entry = replace(entry, 'asset', 'assex') WHERE seq = {first}"
        ))
        .await
        .unwrap();
    let (s, v) = get_json(&node.api("/audit/verify")).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], first, "{v}");
}

#[tokio::test]
async fn asset_and_risk_end_to_end_on_sqlite() {
    let node = start_node(&[("RAMPART_DEMO__FAULT_INJECTION", "true")]).await;
    suite(&node).await;
    let db = rampart_platform::Db::connect::<rampart::schema::Migrator>(
        &format!("sqlite://{}/rampart.sqlite", node.data_dir.display()),
        &rampart_platform::DbOptions::default(),
    )
    .await
    .unwrap();
    audit_suite(&node, &db).await;
}

#[tokio::test]
async fn asset_and_risk_end_to_end_on_postgres() {
    let url = std::env::var("RAMPART_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("rampart_e2e_{}", std::process::id());
    let node = start_node(&[
        ("RAMPART_DEMO__FAULT_INJECTION", "true"),
        ("RAMPART_DATABASE__URL", &url),
        ("RAMPART_DATABASE__SCHEMA", &schema),
    ])
    .await;
    suite(&node).await;
    let db = rampart_platform::Db::connect::<rampart::schema::Migrator>(
        &url,
        &rampart_platform::DbOptions {
            max_connections: 1,
            connect_timeout_ms: 5000,
            schema: Some(schema.clone()),
        },
    )
    .await
    .expect("PostgreSQL at RAMPART_TEST_DATABASE_URL");
    audit_suite(&node, &db).await;
    drop(node);
    use sea_orm::ConnectionTrait;
    db.conn()
        .execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

#[tokio::test]
async fn oversized_bodies_get_413_and_change_nothing() {
    let node = start_node(&[("RAMPART_API__MAX_IMPORT_BYTES", "65536")]).await;
    let sbom = read("sbom/keycloak-10.0.2.cdx.json");
    assert!(sbom.len() > 65536);
    // Declared length over the limit: refused before reading.
    let (status, ct, problem) = post(
        &node.api("/assets/import?format=cyclonedx"),
        Some("application/json"),
        sbom.clone(),
    )
    .await;
    assert_eq!(status, 413, "{problem}");
    assert!(ct.starts_with("application/problem+json"));
    assert!(
        problem["detail"].as_str().unwrap().contains("65536"),
        "{problem}"
    );
    // Chunked (no Content-Length): refused once the limit is passed while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        sbom.chunks(8192).map(|c| Ok(c.to_vec())).collect();
    let r = common::client()
        .post(node.api("/threat-intel/osv"))
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let (_, assets) = get_json(&node.api("/assets")).await;
    assert_eq!(assets["total"], 0);
    let (_, risks) = get_json(&node.api("/risks")).await;
    assert_eq!(risks["total"], 0);
}
