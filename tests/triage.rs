//! Triage, risk treatment and VEX end to end, on the real binary and real documents
//! (../shared/data/vex, osv, sbom): statements applied to the right findings and no others
//! (the VEX product semantics), findings born decided, supersession by timestamp, role checks,
//! acceptance expiry from the actor's own timer, bad documents refused with nothing changed,
//! and the audit trail of every decision.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{NodeProc, data, run_job, start_node, token_for, wait_for};
use serde_json::{Value, json};

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `method url` with `token` and an optional JSON body; (status, JSON body).
async fn call(
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// POSTs a VEX document (optionally about asset `asset`); (status, body).
async fn post_vex(node: &NodeProc, token: &str, doc: &[u8], asset: Option<i64>) -> (u16, Value) {
    let url = match asset {
        Some(a) => node.api(&format!("/vex?asset={a}")),
        None => node.api("/vex"),
    };
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(doc.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Imports a CycloneDX SBOM whose subject is named `name`; returns the asset's id.
async fn import_sbom(node: &NodeProc, sbom: Vec<u8>, name: &str) -> i64 {
    let job = run_job(
        node,
        "/assets/import?format=cyclonedx",
        "application/json",
        sbom,
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let (_, body) = common::get_json(&node.api(&format!("/assets?name={name}"))).await;
    body["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("asset {name} listed: {body}"))
}

/// The findings of asset `id` once RiskAnalysis has scored it (asset events reach it
/// through the bus), suppressed ones included.
async fn scored(node: &NodeProc, token: &str, id: i64) -> Vec<Value> {
    let mut out = Vec::new();
    assert!(
        wait_for(Duration::from_secs(30), async || {
            out = findings(node, token, id).await;
            !out.is_empty()
        })
        .await,
        "asset {id} was not scored"
    );
    out
}

/// Every finding of asset `id` (suppressed ones included).
async fn findings(node: &NodeProc, token: &str, id: i64) -> Vec<Value> {
    let (s, page) = call(
        reqwest::Method::GET,
        &node.api(&format!(
            "/risks?asset={id}&per_page=1000&include_suppressed=true"
        )),
        token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// The lower-cased names (id and aliases) of the statements of an OpenVEX document about
/// subcomponent `sub` (a purl prefix).
fn openvex_names(doc: &Value, sub: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in doc["statements"].as_array().unwrap() {
        let about = s["products"].as_array().unwrap().iter().any(|p| {
            p["subcomponents"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["@id"].as_str().unwrap().starts_with(sub))
            })
        });
        if about {
            out.insert(s["vulnerability"]["name"].as_str().unwrap().to_lowercase());
            for a in s["vulnerability"]["aliases"].as_array().unwrap() {
                out.insert(a.as_str().unwrap().to_lowercase());
            }
        }
    }
    out
}

fn names_of(f: &Value) -> BTreeSet<String> {
    let mut n: BTreeSet<String> = f["cves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_lowercase())
        .collect();
    n.insert(f["vulnerability"].as_str().unwrap().to_lowercase());
    n
}

/// A CycloneDX SBOM of the product the Rancher OpenVEX document is about
/// (`pkg:golang/github.com/messagebird/sachet`) with the `golang.org/x/net` version it names.
fn sachet_sbom() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.4",
        "version": 1,
        "metadata": {"component": {
            "type": "application",
            "name": "github.com/messagebird/sachet",
            "version": "v0.3.1",
            "purl": "pkg:golang/github.com/messagebird/sachet@v0.3.1"
        }},
        "components": [{
            "type": "library",
            "name": "golang.org/x/net",
            "version": "v0.0.0-20210726213435-c6fcb2dbf985",
            "purl": "pkg:golang/golang.org/x/net@v0.0.0-20210726213435-c6fcb2dbf985"
        }]
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn openvex_applies_inside_its_product_only_births_decided_findings_and_yields_to_later_statements()
 {
    let node = start_node(&[]).await;
    let analyst = token_for(&node.base, "analyst").await;
    let viewer = token_for(&node.base, "viewer").await;
    let auditor = token_for(&node.base, "auditor").await;
    let go = run_job(
        &node,
        "/threat-intel/osv",
        "application/zip",
        read("osv/Go/all.zip"),
    )
    .await;
    assert_eq!(go["state"], "succeeded", "{go}");
    // Another Go product shipping golang.org/x/net (an older version, same CVEs).
    let bridge = import_sbom(
        &node,
        read("sbom/proton-bridge-1.8.0.cdx.json"),
        "github.com/ProtonMail/proton-bridge",
    )
    .await;
    let bridge_before = scored(&node, &analyst, bridge).await;
    let xnet = |f: &&Value| f["component"] == "golang.org/x/net";
    assert!(bridge_before.iter().filter(xnet).count() > 0);

    // The VEX arrives before its product is in the inventory: every statement matches nothing.
    let doc_bytes = read("vex/openvex-rancher-sachet-golang-x-net.openvex.json");
    let doc: Value = serde_json::from_slice(&doc_bytes).unwrap();
    let (s, out) = post_vex(&node, &analyst, &doc_bytes, None).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["format"], "openvex");
    assert_eq!(out["statements"], 27);
    assert_eq!(out["findings_decided"], 0, "{out}");
    assert_eq!(out["unmatched_count"], 27, "{out}");
    assert!(
        out["unmatched"][0]["products"][0]
            .as_str()
            .unwrap()
            .contains("pkg:golang/github.com/messagebird/sachet"),
        "{out}"
    );
    // The same subcomponent in another product is not covered.
    let bridge_after = findings(&node, &analyst, bridge).await;
    assert!(
        bridge_after.iter().all(|f| f.get("analysis").is_none()),
        "a statement about sachet's x/net decided proton-bridge's"
    );
    assert_eq!(bridge_after.len(), bridge_before.len());
    // Sending the same bytes again is one import.
    let (s, again) = post_vex(&node, &analyst, &doc_bytes, None).await;
    assert_eq!((s, &again["duplicate"]), (200, &json!(true)), "{again}");

    // The product arrives: its x/net findings named by the document are born not_affected.
    let sachet = import_sbom(&node, sachet_sbom(), "github.com/messagebird/sachet").await;
    let named = openvex_names(&doc, "pkg:golang/golang.org/x/net");
    let born = scored(&node, &analyst, sachet).await;
    let (decided, open): (Vec<&Value>, Vec<&Value>) = born
        .iter()
        .filter(xnet)
        .partition(|f| !names_of(f).is_disjoint(&named));
    assert!(!decided.is_empty(), "no sachet finding is named: {born:?}");
    for f in &decided {
        let a = &f["analysis"];
        assert_eq!(a["state"], "not_affected", "{f}");
        assert_eq!(a["justification"], "code_not_present", "{f}");
        assert_eq!(
            a["by"],
            format!("vex:{}", doc["@id"].as_str().unwrap()),
            "{f}"
        );
        assert_eq!(f["suppressed"], true, "{f}");
    }
    for f in &open {
        assert!(f.get("analysis").is_none(), "{f}");
    }
    // Suppressed findings leave the register's default view and the asset's risk.
    let (_, default_view) = call(
        reqwest::Method::GET,
        &node.api(&format!("/risks?asset={sachet}&per_page=1000")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(default_view["total"], json!(open.len()), "{default_view}");
    let (_, only) = call(
        reqwest::Method::GET,
        &node.api(&format!(
            "/risks?asset={sachet}&analysis=not_affected&per_page=1000"
        )),
        &viewer,
        None,
    )
    .await;
    assert_eq!(only["total"], json!(decided.len()));
    let (_, risk) = call(
        reqwest::Method::GET,
        &node.api(&format!("/assets/{sachet}/risk")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(risk["value"]["finding_count"], json!(open.len()), "{risk}");

    // Roles: a viewer cannot decide; an analyst cannot accept.
    let key = decided[0]["finding_key"].as_str().unwrap().to_owned();
    let decision =
        json!({"state": "exploitable", "detail": "reachable through our webhook handler"});
    let (s, _) = call(
        reqwest::Method::POST,
        &node.api(&format!("/findings/{key}/analysis")),
        &viewer,
        Some(decision.clone()),
    )
    .await;
    assert_eq!(s, 403);
    let expiry = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let (s, _) = call(
        reqwest::Method::POST,
        &node.api(&format!("/findings/{key}/acceptance")),
        &analyst,
        Some(json!({"rationale": "r", "expires_at": expiry})),
    )
    .await;
    assert_eq!(s, 403);
    // Bad decisions are refused with what is wrong.
    for (bad, status) in [
        (json!({"state": "maybe"}), 422),
        (json!({"state": "not_affected"}), 422),
        (
            json!({"state": "exploitable", "justification": "code_not_reachable"}),
            422,
        ),
        (json!({"state": "exploitable", "colour": "red"}), 422),
    ] {
        let (s, p) = call(
            reqwest::Method::POST,
            &node.api(&format!("/findings/{key}/analysis")),
            &analyst,
            Some(bad.clone()),
        )
        .await;
        assert_eq!(s, status, "{bad} -> {p}");
    }

    // A later statement (the analyst's, made now) supersedes the VEX statement of June.
    let (s, f) = call(
        reqwest::Method::POST,
        &node.api(&format!("/findings/{key}/analysis")),
        &analyst,
        Some(decision),
    )
    .await;
    assert_eq!(s, 200, "{f}");
    assert_eq!(f["analysis"]["state"], "exploitable");
    assert_eq!(f["analysis"]["by"], "test-analyst");
    assert_eq!(f["suppressed"], false);
    // A document whose statements are older changes nothing; a newer one wins.
    let edited = |id: &str, ts: &str, status: &str| {
        let mut d = doc.clone();
        d["@id"] = json!(id);
        for s in d["statements"].as_array_mut().unwrap() {
            s["timestamp"] = json!(ts);
            s["status"] = json!(status);
            s.as_object_mut().unwrap().remove("justification");
            s.as_object_mut().unwrap().remove("impact_statement");
        }
        serde_json::to_vec(&d).unwrap()
    };
    let (s, out) = post_vex(
        &node,
        &analyst,
        &edited("urn:test:older", "2020-01-01T00:00:00Z", "fixed"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{out}");
    let (_, detail) = call(
        reqwest::Method::GET,
        &node.api(&format!("/findings/{key}")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(
        detail["finding"]["analysis"]["state"], "exploitable",
        "{detail}"
    );
    let (s, out) = post_vex(
        &node,
        &analyst,
        &edited("urn:test:newer", "2030-01-01T00:00:00Z", "fixed"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["findings_decided"], json!(decided.len()), "{out}");
    let (_, detail) = call(
        reqwest::Method::GET,
        &node.api(&format!("/findings/{key}")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(
        detail["finding"]["analysis"]["state"], "resolved",
        "{detail}"
    );
    // The timeline holds every change with who made it.
    let actors: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        vec![
            format!("vex:{}", doc["@id"].as_str().unwrap()).as_str(),
            "test-analyst",
            "vex:urn:test:newer"
        ],
        "{detail}"
    );
    // ... and the audit chain has the decisions.
    assert!(
        wait_for(Duration::from_secs(20), async || {
            let (_, entries) = call(
                reqwest::Method::GET,
                &node.api("/audit?limit=1000"),
                &auditor,
                None,
            )
            .await;
            let types: Vec<&str> = entries
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["event_type"].as_str()).collect())
                .unwrap_or_default();
            types.contains(&"risk.vex.imported") && types.contains(&"risk.analysis.changed")
        })
        .await,
        "decisions missing from the audit chain"
    );
    let (s, v) = call(
        reqwest::Method::GET,
        &node.api("/audit/verify"),
        &auditor,
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acceptance_expires_from_the_actors_timer_and_reopens_the_finding() {
    acceptance_expiry(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acceptance_expires_and_documents_decide_their_products_on_postgres() {
    let (envs, schema) = postgres("treat");
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    acceptance_expiry(&envs).await;
    csaf_and_cyclonedx(&envs).await;
    drop_schema(&schema).await;
}

/// Settings for a node on a fresh PostgreSQL schema (`RAMPART_TEST_DATABASE_URL`, default
/// the local `test` database), and the schema's name.
fn postgres(tag: &str) -> (Vec<(&'static str, String)>, String) {
    let url = std::env::var("RAMPART_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("rampart_triage_{tag}_{}", std::process::id());
    (
        vec![
            ("RAMPART_DATABASE__URL", url),
            ("RAMPART_DATABASE__SCHEMA", schema.clone()),
        ],
        schema,
    )
}

async fn drop_schema(schema: &str) {
    use sea_orm::ConnectionTrait;
    let url = std::env::var("RAMPART_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let db = sea_orm::Database::connect(&url)
        .await
        .expect("PostgreSQL at RAMPART_TEST_DATABASE_URL");
    db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

async fn acceptance_expiry(extra: &[(&str, &str)]) {
    let mut envs = vec![("RAMPART_RISK__ACCEPTANCE_CHECK_MS", "200")];
    envs.extend_from_slice(extra);
    let node = start_node(&envs).await;
    let analyst = token_for(&node.base, "analyst").await;
    let owner = token_for(&node.base, "risk_owner").await;
    let viewer = token_for(&node.base, "viewer").await;
    let go = run_job(
        &node,
        "/threat-intel/osv",
        "application/zip",
        read("osv/Go/all.zip"),
    )
    .await;
    assert_eq!(go["state"], "succeeded", "{go}");
    let bridge = import_sbom(
        &node,
        read("sbom/proton-bridge-1.8.0.cdx.json"),
        "github.com/ProtonMail/proton-bridge",
    )
    .await;
    let all = scored(&node, &viewer, bridge).await;
    assert!(all.len() >= 2, "{all:?}");
    let key = all[0]["finding_key"].as_str().unwrap().to_owned();
    let other = all[1]["finding_key"].as_str().unwrap().to_owned();

    // Bad treatments are refused.
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    for (who, path, body, status) in [
        (
            &owner,
            "acceptance",
            json!({"rationale": "", "expires_at": past}),
            422,
        ),
        (
            &owner,
            "acceptance",
            json!({"rationale": "ok", "expires_at": past}),
            422,
        ),
        (&analyst, "treatment", json!({"option": "mitigate"}), 422),
        (&analyst, "treatment", json!({"option": "transfer"}), 422),
        (
            &analyst,
            "treatment",
            json!({"option": "accept", "rationale": "x"}),
            403,
        ),
        (&viewer, "treatment", json!({"option": "avoid"}), 403),
    ] {
        let (s, p) = call(
            reqwest::Method::POST,
            &node.api(&format!("/findings/{key}/{path}")),
            who,
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, status, "{path} {body} -> {p}");
    }
    // Mitigation linked to controls.
    let (s, t) = call(
        reqwest::Method::POST,
        &node.api(&format!("/findings/{other}/treatment")),
        &analyst,
        Some(json!({"option": "mitigate", "controls": ["SI-2", "PR.PS-02"], "rationale": "patch in next release"})),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["controls"], json!(["SI-2", "PR.PS-02"]));

    // The risk owner accepts for 2 s.
    let expires = chrono::Utc::now() + chrono::Duration::seconds(2);
    let (s, t) = call(
        reqwest::Method::POST,
        &node.api(&format!("/findings/{key}/acceptance")),
        &owner,
        Some(json!({"rationale": "compensating WAF rule", "expires_at": expires.to_rfc3339()})),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        (t["option"].as_str(), t["status"].as_str()),
        (Some("accept"), Some("active"))
    );
    assert_eq!(t["decided_by"], "test-risk_owner");
    let (_, accepted) = call(
        reqwest::Method::GET,
        &node.api(&format!("/risks?asset={bridge}&treatment=accept")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(accepted["total"], 1, "{accepted}");
    // The framework report lists it.
    let (s, _, out) = common::post(
        &node.api("/frameworks/import?format=ciso"),
        Some("application/yaml"),
        read("frameworks/nist-csf-2.0.yaml"),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    let (s, report) = call(
        reqwest::Method::GET,
        &node.api("/reports/nist-csf-2.0"),
        &viewer,
        None,
    )
    .await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["accepted_risks"][0]["finding_key"], key, "{report}");
    assert_eq!(
        report["accepted_risks"][0]["accepted_by"],
        "test-risk_owner"
    );

    // Expiry: the actor's timer reopens it and says so in the timeline.
    assert!(
        wait_for(Duration::from_secs(15), async || {
            let (_, d) = call(
                reqwest::Method::GET,
                &node.api(&format!("/findings/{key}")),
                &viewer,
                None,
            )
            .await;
            d["treatment"]["status"] == "expired"
        })
        .await,
        "the acceptance did not expire"
    );
    let (_, d) = call(
        reqwest::Method::GET,
        &node.api(&format!("/findings/{key}")),
        &viewer,
        None,
    )
    .await;
    assert!(d["finding"].get("treatment").is_none(), "{d}");
    let last = d["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "acceptance_expired", "{d}");
    assert_eq!(last["actor"], "system");
    assert!(
        last["change"]["message"]
            .as_str()
            .unwrap()
            .contains("open again"),
        "{last}"
    );
    let (_, accepted) = call(
        reqwest::Method::GET,
        &node.api(&format!("/risks?asset={bridge}&treatment=accept")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(accepted["total"], 0, "{accepted}");
}

/// A CycloneDX SBOM of product `name` `version` shipping log4j-core 2.14.1 (the component
/// of GHSA-jfh8-c2jp-5v3q, CVE-2021-44228).
fn log4j_product(name: &str, version: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.4",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": name, "version": version,
            "bom-ref": format!("product-{name}")}},
        "components": [{
            "type": "library",
            "group": "org.apache.logging.log4j",
            "name": "log4j-core",
            "version": "2.14.1",
            "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        }]
    }))
    .unwrap()
}

async fn log4j_finding(node: &NodeProc, token: &str, id: i64) -> Value {
    let all = scored(node, token, id).await;
    all.into_iter()
        .find(|f| f["vulnerability"] == "GHSA-jfh8-c2jp-5v3q")
        .expect("the Log4Shell finding")
}

#[tokio::test(flavor = "multi_thread")]
async fn csaf_and_cyclonedx_documents_decide_their_products_and_bad_documents_change_nothing() {
    csaf_and_cyclonedx(&[]).await;
}

async fn csaf_and_cyclonedx(envs: &[(&str, &str)]) {
    let node = start_node(envs).await;
    let analyst = token_for(&node.base, "analyst").await;
    let ghsa = run_job(
        &node,
        "/threat-intel/osv",
        "application/json",
        read("osv/ghsa/GHSA-jfh8-c2jp-5v3q.json"),
    )
    .await;
    assert_eq!(ghsa["state"], "succeeded", "{ghsa}");
    let abc = import_sbom(&node, log4j_product("ABC", "4.2"), "ABC").await;
    let widget = import_sbom(&node, log4j_product("Widget", "4.2"), "Widget").await;
    let other = import_sbom(&node, log4j_product("Other", "4.2"), "Other").await;
    for id in [abc, widget, other] {
        assert!(
            log4j_finding(&node, &analyst, id)
                .await
                .get("analysis")
                .is_none()
        );
    }

    // Bad documents: refused with what is wrong, nothing stored.
    let csaf = read("vex/csaf-vex-2022-evd-uc-01-na-001.json");
    let mut advisory: Value = serde_json::from_slice(&csaf).unwrap();
    advisory["document"]["category"] = json!("csaf_security_advisory");
    let mut unknown: Value =
        serde_json::from_slice(&read("vex/openvex-vexctl-sample-2vulns.openvex.json")).unwrap();
    unknown["statements"][0]["status"] = json!("probably_fine");
    for (doc, status, says) in [
        (csaf[..csaf.len() / 2].to_vec(), 400, "JSON"),
        (serde_json::to_vec(&advisory).unwrap(), 422, "csaf_vex"),
        (
            serde_json::to_vec(&unknown).unwrap(),
            422,
            "statements[0].status",
        ),
        (b"{\"hello\": 1}".to_vec(), 422, "not a VEX document"),
    ] {
        let (s, p) = post_vex(&node, &analyst, &doc, None).await;
        assert_eq!(s, status, "{p}");
        assert!(p["detail"].as_str().unwrap().contains(says), "{p}");
    }
    assert!(
        log4j_finding(&node, &analyst, abc)
            .await
            .get("analysis")
            .is_none()
    );

    // CSAF: product "ABC" version 4.2 (vendor/product_name/product_version branches) is
    // known_not_affected: ABC's finding only.
    let (s, out) = post_vex(&node, &analyst, &csaf, None).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(
        (out["format"].as_str(), out["findings_decided"].as_u64()),
        (Some("csaf"), Some(1)),
        "{out}"
    );
    let f = log4j_finding(&node, &analyst, abc).await;
    assert_eq!(f["analysis"]["state"], "not_affected", "{f}");
    assert_eq!(f["analysis"]["by"], "vex:2022-EVD-UC-01-NA-001");
    assert!(
        f["analysis"]["detail"]
            .as_str()
            .unwrap()
            .contains("Class with vulnerable code was removed"),
        "{f}"
    );
    for id in [widget, other] {
        assert!(
            log4j_finding(&node, &analyst, id)
                .await
                .get("analysis")
                .is_none()
        );
    }

    // CycloneDX (CISA case 8): statements about versions of product-ABC and product-JKL by
    // BOM-Link. Sent for asset Widget (4.2) the document is ambiguous until the reference
    // that is Widget is named.
    let case8 = read("vex/cdx-vex-cisa-case-8.json");
    let (s, p) = post_vex(&node, &analyst, &case8, Some(widget)).await;
    assert_eq!(s, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("product-ABC"), "{p}");
    let r = reqwest::Client::new()
        .post(node.api(&format!("/vex?asset={widget}&ref=product-ABC")))
        .bearer_auth(&analyst)
        .header("Content-Type", "application/json")
        .body(case8.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["format"], "cyclonedx");
    assert_eq!(out["findings_decided"], 1, "{out}");
    // product-ABC at 2.4 and 2.6 is exploitable, at 2.5 and 4.2 not affected: Widget is 4.2.
    let f = log4j_finding(&node, &analyst, widget).await;
    assert_eq!(f["analysis"]["state"], "not_affected", "{f}");
    assert_eq!(f["analysis"]["justification"], "code_not_present", "{f}");
    // ABC keeps its CSAF analysis; Other stays undecided.
    let f = log4j_finding(&node, &analyst, abc).await;
    assert_eq!(f["analysis"]["state"], "not_affected", "{f}");
    assert!(
        log4j_finding(&node, &analyst, other)
            .await
            .get("analysis")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn vex_exports_round_trip_into_a_fresh_node_and_sarif_validates_against_the_schema() {
    let a = start_node(&[]).await;
    let b = start_node(&[]).await;
    let mut decided = Vec::new();
    for node in [&a, &b] {
        let analyst = token_for(&node.base, "analyst").await;
        let go = run_job(
            node,
            "/threat-intel/osv",
            "application/zip",
            read("osv/Go/all.zip"),
        )
        .await;
        assert_eq!(go["state"], "succeeded", "{go}");
        let id = import_sbom(
            node,
            read("sbom/proton-bridge-1.8.0.cdx.json"),
            "github.com/ProtonMail/proton-bridge",
        )
        .await;
        decided.push((analyst, id));
    }
    let (analyst_a, id_a) = &decided[0];
    let (analyst_b, id_b) = &decided[1];
    let on_a = scored(&a, analyst_a, *id_a).await;
    assert!(on_a.len() >= 4, "{}", on_a.len());
    // Four decisions on A, one of each kind.
    let decisions = [
        json!({"state": "not_affected", "justification": "code_not_reachable", "detail": "not called"}),
        json!({"state": "false_positive", "detail": "wrong module"}),
        json!({"state": "exploitable", "responses": ["update"], "detail": "upgrade planned"}),
        json!({"state": "resolved"}),
    ];
    for (f, d) in on_a.iter().zip(&decisions) {
        let key = f["finding_key"].as_str().unwrap();
        let (s, out) = call(
            reqwest::Method::POST,
            &a.api(&format!("/findings/{key}/analysis")),
            analyst_a,
            Some(d.clone()),
        )
        .await;
        assert_eq!(s, 200, "{out}");
    }
    let states = |fs: &[Value]| -> std::collections::BTreeMap<String, (String, Value)> {
        fs.iter()
            .filter(|f| f.get("analysis").is_some())
            .map(|f| {
                (
                    f["finding_key"].as_str().unwrap().to_owned(),
                    (
                        f["analysis"]["state"].as_str().unwrap().to_owned(),
                        f["analysis"]["justification"].clone(),
                    ),
                )
            })
            .collect()
    };
    let want = states(&findings(&a, analyst_a, *id_a).await);
    assert_eq!(want.len(), 4);
    for format in ["cyclonedx", "openvex"] {
        let (s, doc) = call(
            reqwest::Method::GET,
            &a.api(&format!("/assets/{id_a}/vex?format={format}")),
            analyst_a,
            None,
        )
        .await;
        assert_eq!(s, 200, "{doc}");
        // A fresh node B per format: clear B's decisions by importing into a node where
        // nothing was decided, then compare.
        let before = states(&findings(&b, analyst_b, *id_b).await);
        let (s, out) = post_vex(&b, analyst_b, &serde_json::to_vec(&doc).unwrap(), None).await;
        assert_eq!(s, 200, "{format}: {out}");
        assert_eq!(out["findings_decided"], 4, "{format}: {out}");
        let got = states(&findings(&b, analyst_b, *id_b).await);
        assert_eq!(got, want, "{format} round trip (B before: {before:?})");
    }

    // SARIF of the asset and of the register, against the official SARIF 2.1.0 schema.
    let schema: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/actors/risk/tests/fixtures/sarif-schema-2.1.0.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    for path in [format!("/assets/{id_a}/sarif"), "/risks/sarif".to_owned()] {
        let r = reqwest::Client::new()
            .get(a.api(&path))
            .bearer_auth(analyst_a)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/sarif+json");
        let log: Value = r.json().await.unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{path}: {errors:?}");
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), on_a.len(), "{path}");
        // Stable fingerprints, one per finding; suppressions for the two suppressed ones.
        let prints: BTreeSet<&str> = results
            .iter()
            .map(|r| r["partialFingerprints"]["rampart/v1"].as_str().unwrap())
            .collect();
        assert_eq!(prints.len(), results.len());
        let suppressed = results
            .iter()
            .filter(|r| r.get("suppressions").is_some())
            .count();
        assert_eq!(suppressed, 2, "{path}");
        for rule in log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
        {
            let sev: f64 = rule["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.1..=10.0).contains(&sev), "{rule}");
        }
    }
}

/// CISA's SSVC tree (Coordinator 2.0.3, "SSVC Guide", Nov 2022), written out for the
/// decision points of the Vulnrichment CVEs found here: (exploitation, automatable,
/// technical impact, mission & well-being) -> decision.
fn ssvc_by_hand(e: &str, a: &str, ti: &str, mwb: &str) -> &'static str {
    match (e, a, ti, mwb) {
        ("none", "yes", "partial" | "total", "low" | "medium") => "Track",
        ("none", "yes", "partial" | "total", "high") => "Attend",
        ("active", "yes", "total", "low") => "Attend",
        ("active", "yes", "total", "medium" | "high") => "Act",
        other => panic!("not written out by hand: {other:?}"),
    }
}

/// The default mapping of asset criticality to mission & well-being (README "SSVC").
fn mwb_of(criticality: u64) -> &'static str {
    match criticality {
        1 => "low",
        2 | 3 => "medium",
        _ => "high",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ssvc_decisions_from_vulnrichment_sit_beside_the_score_and_drive_the_incident_rule() {
    // Only SSVC opens incidents here: no score reaches 26, no criticality reaches 6.
    let node = start_node(&[
        ("RAMPART_INCIDENTS__MIN_SCORE", "26"),
        ("RAMPART_INCIDENTS__KEV_MIN_CRITICALITY", "6"),
        ("RAMPART_INCIDENTS__SSVC_AT_LEAST", "Act"),
    ])
    .await;
    let analyst = token_for(&node.base, "analyst").await;
    for f in [
        "GHSA-35jh-r3h4-6jhm.json",
        "GHSA-xvch-5gv4-984h.json",
        "GHSA-36p3-wjmg-h94x.json",
    ] {
        let j = run_job(
            &node,
            "/threat-intel/osv",
            "application/json",
            read(&format!("osv/ghsa/{f}")),
        )
        .await;
        assert_eq!(j["state"], "succeeded", "{j}");
    }
    let juice = import_sbom(&node, read("sbom/juice-shop-11.1.2.cdx.json"), "juice-shop").await;
    let keycloak = import_sbom(&node, read("sbom/keycloak-10.0.2.cdx.json"), "keycloak").await;
    let before = scored(&node, &analyst, juice).await;
    // Without Vulnrichment: conservative defaults, said so.
    assert!(before.iter().all(|f| f["ssvc"].is_string()), "{before:?}");

    let mut records = Vec::new();
    for f in std::fs::read_dir(data("vulnrichment")).unwrap() {
        let v: Value = serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap();
        records.push(v);
    }
    // Truncated or foreign records are refused before any job starts.
    let whole = serde_json::to_vec(&records).unwrap();
    for (bad, status) in [
        (whole[..whole.len() / 3].to_vec(), 400),
        (br#"{"dataType": "CVE_RECORD"}"#.to_vec(), 422),
    ] {
        let (s, _, p) = common::post(
            &node.api("/threat-intel/vulnrichment"),
            Some("application/json"),
            bad,
        )
        .await;
        assert_eq!(s, status, "{p}");
    }
    let job = run_job(
        &node,
        "/threat-intel/vulnrichment",
        "application/json",
        serde_json::to_vec(&records).unwrap(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["records"], 11, "{job}");
    // The decision points of each record, read from the record itself.
    let points = |cve: &str| -> (String, String, String) {
        let r = records
            .iter()
            .find(|r| r["cveMetadata"]["cveId"] == cve)
            .unwrap();
        let adp = r["containers"]["adp"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["providerMetadata"]["shortName"] == "CISA-ADP")
            .unwrap();
        let ssvc = adp["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["other"]["type"] == "ssvc")
            .unwrap();
        let opt = |k: &str| {
            ssvc["other"]["content"]["options"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|o| o[k].as_str())
                .unwrap()
                .to_lowercase()
        };
        (
            opt("Exploitation"),
            opt("Automatable"),
            opt("Technical Impact"),
        )
    };
    let mut checked = 0;
    for (id, name) in [(juice, "juice-shop"), (keycloak, "keycloak")] {
        let (_, asset) = common::get_json(&node.api(&format!("/assets/{id}"))).await;
        let mwb = mwb_of(asset["criticality"].as_u64().unwrap());
        for f in scored(&node, &analyst, id).await {
            let Some(cve) = f["cves"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c.as_str())
                .find(|c| records.iter().any(|r| r["cveMetadata"]["cveId"] == *c))
            else {
                continue;
            };
            let (e, a, ti) = points(cve);
            let want = ssvc_by_hand(&e, &a, &ti, mwb);
            assert_eq!(f["ssvc"], want, "{name} {cve} ({e}, {a}, {ti}, {mwb}): {f}");
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked} findings with Vulnrichment records");
    // Filterable.
    let (_, acts) = call(
        reqwest::Method::GET,
        &node.api("/risks?ssvc=Act&per_page=1000"),
        &analyst,
        None,
    )
    .await;
    let act_findings = acts["items"].as_array().unwrap();
    assert!(!act_findings.is_empty(), "{acts}");
    assert!(act_findings.iter().all(|f| f["ssvc"] == "Act"));
    // The incident rule opened incidents for the Act findings' assets, and only those.
    let act_assets: BTreeSet<&str> = act_findings
        .iter()
        .map(|f| f["asset_key"].as_str().unwrap())
        .collect();
    let mut incidents = Value::Null;
    assert!(
        wait_for(Duration::from_secs(20), async || {
            incidents = common::get_json(&node.api("/incidents?per_page=1000"))
                .await
                .1;
            incidents["items"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await,
        "no incident opened for an Act finding"
    );
    for i in incidents["items"].as_array().unwrap() {
        assert!(
            act_assets.contains(i["asset_key"].as_str().unwrap()),
            "incident for a finding that is not Act: {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sbom_diff_gives_components_changed_and_findings_introduced_and_fixed() {
    let node = start_node(&[]).await;
    let viewer = token_for(&node.base, "viewer").await;
    for f in ["GHSA-599f-7c49-w659.json", "GHSA-jfh8-c2jp-5v3q.json"] {
        let j = run_job(
            &node,
            "/threat-intel/osv",
            "application/json",
            read(&format!("osv/ghsa/{f}")),
        )
        .await;
        assert_eq!(j["state"], "succeeded", "{j}");
    }
    // Version 1: the real dropwizard 1.3.15 SBOM (commons-text 1.2: before the Text4Shell range).
    let v1: Value = serde_json::from_slice(&read("sbom/dropwizard-1.3.15.cdx.json")).unwrap();
    let id = import_sbom(&node, serde_json::to_vec(&v1).unwrap(), "dropwizard-parent").await;
    // Version 2, edited here: commons-text 1.9 (affected), guava removed, log4j-core 2.14.1 added.
    let mut v2 = v1.clone();
    let comps = v2["components"].as_array_mut().unwrap();
    comps.retain(|c| c["name"] != "guava");
    for c in comps.iter_mut() {
        if c["name"] == "commons-text" {
            c["version"] = json!("1.9");
            c["purl"] = json!("pkg:maven/org.apache.commons/commons-text@1.9?type=jar");
        }
    }
    comps.push(
        json!({"type": "library", "group": "org.apache.logging.log4j", "name": "log4j-core",
        "version": "2.14.1", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}),
    );
    import_sbom(&node, serde_json::to_vec(&v2).unwrap(), "dropwizard-parent").await;
    // Version 3: commons-text 1.10.0 (fixed).
    let mut v3 = v2.clone();
    for c in v3["components"].as_array_mut().unwrap() {
        if c["name"] == "commons-text" {
            c["version"] = json!("1.10.0");
            c["purl"] = json!("pkg:maven/org.apache.commons/commons-text@1.10.0?type=jar");
        }
    }
    import_sbom(&node, serde_json::to_vec(&v3).unwrap(), "dropwizard-parent").await;
    // Re-importing the same content is no new version.
    import_sbom(&node, serde_json::to_vec(&v3).unwrap(), "dropwizard-parent").await;

    let (s, versions) = call(
        reqwest::Method::GET,
        &node.api(&format!("/assets/{id}/versions")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(s, 200, "{versions}");
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3], "{versions}");
    assert_eq!(
        versions[0]["components"],
        json!(v1["components"].as_array().unwrap().len())
    );

    let (s, d) = call(
        reqwest::Method::GET,
        &node.api(&format!("/assets/{id}/diff?from=1&to=2")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(s, 200, "{d}");
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&d["components"]["added"]), vec!["log4j-core"], "{d}");
    assert_eq!(names(&d["components"]["removed"]), vec!["guava"], "{d}");
    let changed = d["components"]["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{d}");
    assert_eq!(
        (
            changed[0]["name"].as_str(),
            changed[0]["from_version"].as_str(),
            changed[0]["to_version"].as_str()
        ),
        (Some("commons-text"), Some("1.2"), Some("1.9"))
    );
    let vulns = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["vulnerability"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        vulns(&d["findings"]["introduced"]),
        BTreeSet::from([
            "GHSA-599f-7c49-w659".to_owned(),
            "GHSA-jfh8-c2jp-5v3q".to_owned()
        ]),
        "{d}"
    );
    assert!(vulns(&d["findings"]["fixed"]).is_empty(), "{d}");
    // Default: the latest against the one before it.
    let (s, d) = call(
        reqwest::Method::GET,
        &node.api(&format!("/assets/{id}/diff")),
        &viewer,
        None,
    )
    .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (d["from"]["number"].as_i64(), d["to"]["number"].as_i64()),
        (Some(2), Some(3))
    );
    assert_eq!(
        vulns(&d["findings"]["fixed"]),
        BTreeSet::from(["GHSA-599f-7c49-w659".to_owned()]),
        "{d}"
    );
    assert!(vulns(&d["findings"]["introduced"]).is_empty(), "{d}");
    // Bad ranges.
    for (q, status) in [
        ("?from=3&to=2", 400),
        ("?from=1&to=9", 404),
        ("?from=x", 400),
    ] {
        let (s, p) = call(
            reqwest::Method::GET,
            &node.api(&format!("/assets/{id}/diff{q}")),
            &viewer,
            None,
        )
        .await;
        assert_eq!(s, status, "{q}: {p}");
    }
}
