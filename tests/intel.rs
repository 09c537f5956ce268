//! Scheduled threat-intelligence pulls against a local HTTP server that serves the real feeds
//! from ../shared/data with faults on demand (503, a stall past the time limit, 429 with
//! `Retry-After`, a truncated body, a changed `ETag`), all on loopback: conditional requests,
//! retries with growing delays, the breaker opening and closing, the data held still served,
//! NVD's incremental paging.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use common::{NodeProc, data, run_job, start_node, token_for, wait_for};
use serde_json::{Value, json};

/// What the server does with the next request of a path.
#[derive(Debug, Clone)]
enum Fault {
    Status(u16),
    Stall(Duration),
    TooMany(u64),
}

/// One request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    query: String,
    at: Instant,
    if_none_match: Option<String>,
    api_key: Option<String>,
}

#[derive(Default)]
struct Feeds {
    files: std::collections::HashMap<String, (Vec<u8>, String)>,
    faults: std::collections::HashMap<String, VecDeque<Fault>>,
    always: std::collections::HashMap<String, u16>,
    seen: Vec<Seen>,
    nvd_page: usize,
}

type Shared = Arc<Mutex<Feeds>>;

async fn serve(req: HttpRequest, feeds: web::Data<Shared>) -> HttpResponse {
    let path = req.path().to_owned();
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (fault, always, file, page) = {
        let mut f = feeds.lock().unwrap();
        f.seen.push(Seen {
            path: path.clone(),
            query: req.query_string().to_owned(),
            at: Instant::now(),
            if_none_match: header("if-none-match"),
            api_key: header("apikey"),
        });
        let fault = f.faults.get_mut(&path).and_then(VecDeque::pop_front);
        (
            fault,
            f.always.get(&path).copied(),
            f.files.get(&path).cloned(),
            f.nvd_page,
        )
    };
    match fault {
        Some(Fault::Status(s)) => {
            return HttpResponse::build(actix_web::http::StatusCode::from_u16(s).unwrap()).finish();
        }
        Some(Fault::Stall(d)) => tokio::time::sleep(d).await,
        Some(Fault::TooMany(s)) => {
            return HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", s.to_string()))
                .finish();
        }
        None => {}
    }
    if let Some(s) = always {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(s).unwrap()).finish();
    }
    let Some((body, etag)) = file else {
        return HttpResponse::NotFound().finish();
    };
    if path == "/nvd" {
        // NVD CVE API 2.0 paging over the real response: `page` records per answer.
        let q: std::collections::HashMap<String, String> =
            web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
                .map(web::Query::into_inner)
                .unwrap_or_default();
        let start: usize = q
            .get("startIndex")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut doc: Value = serde_json::from_slice(&body).unwrap();
        let all = doc["vulnerabilities"].as_array().unwrap().clone();
        let slice: Vec<Value> = all.iter().skip(start).take(page).cloned().collect();
        doc["resultsPerPage"] = json!(slice.len());
        doc["startIndex"] = json!(start);
        doc["totalResults"] = json!(all.len());
        doc["vulnerabilities"] = json!(slice);
        return HttpResponse::Ok().json(doc);
    }
    if header("if-none-match").as_deref() == Some(etag.as_str()) {
        return HttpResponse::NotModified().finish();
    }
    HttpResponse::Ok()
        .insert_header(("ETag", etag))
        .content_type("application/json")
        .body(body)
}

/// Starts the feed server on a loopback port; returns its base URL and its state.
fn feed_server() -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Feeds {
        nvd_page: 30,
        ..Feeds::default()
    }));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = web::Data::new(shared.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(serve))
    })
    .workers(2)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), shared)
}

fn put(feeds: &Shared, path: &str, body: Vec<u8>, etag: &str) {
    feeds
        .lock()
        .unwrap()
        .files
        .insert(path.to_owned(), (body, format!("\"{etag}\"")));
}

fn seen(feeds: &Shared, path: &str) -> Vec<Seen> {
    feeds
        .lock()
        .unwrap()
        .seen
        .iter()
        .filter(|s| s.path == path)
        .cloned()
        .collect()
}

async fn sources(node: &NodeProc, token: &str) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(node.api("/threat-intel/sources"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().await.unwrap()
}

async fn source(node: &NodeProc, token: &str, name: &str) -> Value {
    sources(node, token)
        .await
        .into_iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

async fn pull_now(node: &NodeProc, token: &str, name: &str) -> u16 {
    reqwest::Client::new()
        .post(node.api(&format!("/threat-intel/sources/{name}/pull")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn kev() -> Vec<u8> {
    std::fs::read(data("kev/known_exploited_vulnerabilities.json")).unwrap()
}

async fn kev_findings(node: &NodeProc, token: &str) -> u64 {
    let r = reqwest::Client::new()
        .get(node.api("/risks?kev_only=true&per_page=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["total"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_pulls_ingest_send_validators_and_an_unchanged_feed_is_a_304() {
    let (base, feeds) = feed_server();
    put(&feeds, "/kev.json", kev(), "v1");
    let key_file = std::env::temp_dir().join(format!("rampart-intel-key-{}", std::process::id()));
    std::fs::write(&key_file, "apiKey: test-secret-key\n").unwrap();
    let sources_env = format!(
        "[{{name=\"cisa-kev\", kind=\"kev\", url=\"{base}/kev.json\", interval_s=1}}, \
          {{name=\"nvd\", kind=\"nvd\", url=\"{base}/nvd\", interval_s=3600, auth_header_file=\"{}\"}}]",
        key_file.display()
    );
    put(
        &feeds,
        "/nvd",
        std::fs::read(data("nvd/nvd-cve-api-2.0-merged.json")).unwrap(),
        "n1",
    );
    let node = start_node(&[
        ("RAMPART_INTEL__SOURCES", sources_env.as_str()),
        ("RAMPART_INTEL__CHECK_MS", "200"),
        ("RAMPART_INTEL__NVD_GAP_MS", "100"),
    ])
    .await;
    let viewer = token_for(&node.base, "viewer").await;
    // The first scheduled pull ingests the catalog.
    assert!(
        wait_for(Duration::from_secs(30), async || {
            source(&node, &viewer, "cisa-kev").await["pulls"]["ingested"] == 1
        })
        .await,
        "{:?}",
        sources(&node, &viewer).await
    );
    let s = source(&node, &viewer, "cisa-kev").await;
    assert!(s["last_outcome"]["records"].as_u64().unwrap() > 1000, "{s}");
    assert_eq!(s["breaker"], "closed");
    assert!(s["last_error"].is_null(), "{s}");
    // Later pulls send the ETag back and get 304: no work.
    assert!(
        wait_for(Duration::from_secs(15), async || {
            source(&node, &viewer, "cisa-kev").await["pulls"]["not_modified"]
                .as_u64()
                .unwrap_or(0)
                >= 2
        })
        .await
    );
    let kev_seen = seen(&feeds, "/kev.json");
    assert_eq!(kev_seen[0].if_none_match, None);
    assert!(
        kev_seen[1..]
            .iter()
            .all(|s| s.if_none_match.as_deref() == Some("\"v1\"")),
        "{kev_seen:?}"
    );
    // A changed feed (new ETag, one entry fewer) is ingested again.
    let mut edited: Value = serde_json::from_slice(&kev()).unwrap();
    edited["vulnerabilities"].as_array_mut().unwrap().pop();
    edited["catalogVersion"] = json!("edited-in-test");
    edited["count"] = json!(edited["vulnerabilities"].as_array().unwrap().len());
    put(
        &feeds,
        "/kev.json",
        serde_json::to_vec(&edited).unwrap(),
        "v2",
    );
    assert!(
        wait_for(Duration::from_secs(15), async || {
            source(&node, &viewer, "cisa-kev").await["pulls"]["ingested"] == 2
        })
        .await,
        "{}",
        source(&node, &viewer, "cisa-kev").await
    );
    let s = source(&node, &viewer, "cisa-kev").await;
    assert!(
        s["last_outcome"]["changed_records"].as_u64().unwrap() >= 1,
        "{s}"
    );

    // NVD: incremental and paged (30 a page here), with the API key header from the file.
    assert!(
        wait_for(Duration::from_secs(30), async || {
            source(&node, &viewer, "nvd").await["pulls"]["ingested"] == 1
        })
        .await,
        "{}",
        source(&node, &viewer, "nvd").await
    );
    let nvd = seen(&feeds, "/nvd");
    let starts: Vec<String> = nvd
        .iter()
        .map(|s| {
            s.query
                .split('&')
                .find_map(|p| p.strip_prefix("startIndex="))
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(starts, vec!["0", "30", "60"], "{nvd:?}");
    assert!(
        nvd.iter()
            .all(|s| s.api_key.as_deref() == Some("test-secret-key"))
    );
    assert!(nvd[0].query.contains("lastModStartDate=") && nvd[0].query.contains("lastModEndDate="));
    let s = source(&node, &viewer, "nvd").await;
    assert_eq!(s["last_outcome"]["pages"], 3, "{s}");
    assert_eq!(s["authenticated"], true);
    // The key is shown nowhere.
    assert!(
        !serde_json::to_string(&sources(&node, &viewer).await)
            .unwrap()
            .contains("test-secret-key")
    );
    // The next pull starts where the last one ended.
    let end = s["last_outcome"]["last_mod_end"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = common::admin_token(&node.base).unwrap();
    assert_eq!(pull_now(&node, &admin, "nvd").await, 202);
    assert!(
        wait_for(Duration::from_secs(30), async || {
            source(&node, &viewer, "nvd").await["pulls"]["ingested"] == 2
        })
        .await
    );
    let again = seen(&feeds, "/nvd");
    assert!(
        again[3].query.contains(&format!("lastModStartDate={end}")),
        "{:?} should start at {end}",
        again[3]
    );
    assert_eq!(pull_now(&node, &admin, "no-such-source").await, 404);
    assert_eq!(pull_now(&node, &viewer, "nvd").await, 403);
    let _ = std::fs::remove_file(&key_file);
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_are_retried_a_failing_source_opens_its_breaker_and_the_data_held_keeps_serving() {
    let (base, feeds) = feed_server();
    put(&feeds, "/kev.json", kev(), "v1");
    let sources_env =
        format!("[{{name=\"cisa-kev\", kind=\"kev\", url=\"{base}/kev.json\", interval_s=3600}}]");
    let node = start_node(&[
        ("RAMPART_INTEL__SOURCES", sources_env.as_str()),
        ("RAMPART_INTEL__CHECK_MS", "200"),
        ("RAMPART_INTEL__POLICY__RETRY__MAX_ATTEMPTS", "4"),
        ("RAMPART_INTEL__POLICY__RETRY__INITIAL_INTERVAL_MS", "200"),
        ("RAMPART_INTEL__POLICY__RETRY__MULTIPLIER", "2.0"),
        ("RAMPART_INTEL__POLICY__RETRY__JITTER", "false"),
        (
            "RAMPART_INTEL__POLICY__TIME_LIMITER__TIMEOUT_DURATION_MS",
            "1500",
        ),
        // Ten calls in the window before the failure rate (50 %) is judged.
        (
            "RAMPART_INTEL__POLICY__CIRCUIT_BREAKER__SLIDING_WINDOW_SIZE",
            "10",
        ),
        (
            "RAMPART_INTEL__POLICY__CIRCUIT_BREAKER__MINIMUM_NUMBER_OF_CALLS",
            "10",
        ),
        (
            "RAMPART_INTEL__POLICY__CIRCUIT_BREAKER__PERMITTED_NUMBER_OF_CALLS_IN_HALF_OPEN_STATE",
            "1",
        ),
        (
            "RAMPART_INTEL__POLICY__CIRCUIT_BREAKER__WAIT_DURATION_IN_OPEN_STATE_MS",
            "3000",
        ),
    ])
    .await;
    let viewer = token_for(&node.base, "viewer").await;
    let admin = common::admin_token(&node.base).unwrap();
    // Data to keep serving: a KEV-listed finding (Spring4Shell in Keycloak's SBOM).
    let j = run_job(
        &node,
        "/threat-intel/osv",
        "application/json",
        std::fs::read(data("osv/ghsa/GHSA-36p3-wjmg-h94x.json")).unwrap(),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    let j = run_job(
        &node,
        "/assets/import?format=cyclonedx",
        "application/json",
        std::fs::read(data("sbom/keycloak-10.0.2.cdx.json")).unwrap(),
    )
    .await;
    assert_eq!(j["state"], "succeeded", "{j}");
    assert!(
        wait_for(Duration::from_secs(30), async || {
            source(&node, &viewer, "cisa-kev").await["pulls"]["ingested"] == 1
                && kev_findings(&node, &viewer).await >= 1
        })
        .await,
        "{}",
        source(&node, &viewer, "cisa-kev").await
    );
    let held = kev_findings(&node, &viewer).await;

    // Transient faults, then success: 503, 503, a stall past the time limit, then the feed
    // (a new ETag, so it is read again).
    put(&feeds, "/kev.json", kev(), "v2");
    feeds.lock().unwrap().faults.insert(
        "/kev.json".into(),
        VecDeque::from([
            Fault::Status(503),
            Fault::Status(503),
            Fault::Stall(Duration::from_secs(3)),
        ]),
    );
    let before = seen(&feeds, "/kev.json").len();
    assert_eq!(pull_now(&node, &admin, "cisa-kev").await, 202);
    assert!(
        wait_for(Duration::from_secs(30), async || {
            source(&node, &viewer, "cisa-kev").await["pulls"]["ingested"] == 2
        })
        .await,
        "{}",
        source(&node, &viewer, "cisa-kev").await
    );
    let tries: Vec<Instant> = seen(&feeds, "/kev.json")[before..]
        .iter()
        .map(|s| s.at)
        .collect();
    assert_eq!(tries.len(), 4, "three faults, then the answer");
    let gaps: Vec<Duration> = tries.windows(2).map(|w| w[1] - w[0]).collect();
    // Delays of 200, 400 and 800 ms (the third after the 1.5 s time limit).
    assert!(gaps[0] >= Duration::from_millis(200), "{gaps:?}");
    assert!(
        gaps[1] >= Duration::from_millis(400) && gaps[1] > gaps[0],
        "{gaps:?}"
    );
    assert!(gaps[2] >= Duration::from_millis(1500 + 800), "{gaps:?}");

    // 429 with Retry-After: 1 s is waited out before the next attempt.
    put(&feeds, "/kev.json", kev(), "v3");
    feeds
        .lock()
        .unwrap()
        .faults
        .insert("/kev.json".into(), VecDeque::from([Fault::TooMany(1)]));
    let before = seen(&feeds, "/kev.json").len();
    assert_eq!(pull_now(&node, &admin, "cisa-kev").await, 202);
    assert!(
        wait_for(Duration::from_secs(30), async || {
            source(&node, &viewer, "cisa-kev").await["pulls"]["ingested"] == 3
        })
        .await
    );
    let tries: Vec<Instant> = seen(&feeds, "/kev.json")[before..]
        .iter()
        .map(|s| s.at)
        .collect();
    assert_eq!(tries.len(), 2);
    assert!(
        tries[1] - tries[0] >= Duration::from_secs(1),
        "{:?}",
        tries[1] - tries[0]
    );

    // A truncated body: the pull fails, nothing stored changes, the old validators stay.
    let k = kev();
    put(
        &feeds,
        "/kev.json",
        k[..k.len() / 2].to_vec(),
        "v4-truncated",
    );
    assert_eq!(pull_now(&node, &admin, "cisa-kev").await, 202);
    assert!(
        wait_for(Duration::from_secs(30), async || {
            source(&node, &viewer, "cisa-kev").await["pulls"]["failed"] == 1
        })
        .await
    );
    let s = source(&node, &viewer, "cisa-kev").await;
    assert!(
        s["last_error"]
            .as_str()
            .unwrap()
            .contains("not a valid kev feed"),
        "{s}"
    );
    assert_eq!(kev_findings(&node, &viewer).await, held);

    // A source that keeps failing: the breaker opens and pulls stop reaching it.
    feeds.lock().unwrap().always.insert("/kev.json".into(), 503);
    assert_eq!(pull_now(&node, &admin, "cisa-kev").await, 202);
    assert!(
        wait_for(Duration::from_secs(30), async || {
            source(&node, &viewer, "cisa-kev").await["breaker"] == "open"
        })
        .await,
        "{}",
        source(&node, &viewer, "cisa-kev").await
    );
    let hits = seen(&feeds, "/kev.json").len();
    let rejected = |s: &Value| s["pulls"]["rejected"].as_u64().unwrap_or(0);
    let r0 = rejected(&source(&node, &viewer, "cisa-kev").await);
    assert!(
        wait_for(Duration::from_secs(10), async || {
            pull_now(&node, &admin, "cisa-kev").await == 202
        })
        .await
    );
    assert!(
        wait_for(Duration::from_secs(10), async || {
            rejected(&source(&node, &viewer, "cisa-kev").await) > r0
        })
        .await,
        "{}",
        source(&node, &viewer, "cisa-kev").await
    );
    assert_eq!(
        seen(&feeds, "/kev.json").len(),
        hits,
        "an open breaker let a pull through"
    );
    // The data already held keeps serving.
    assert_eq!(kev_findings(&node, &viewer).await, held);

    // Recovery: the source answers again; after the open wait the breaker lets a trial
    // through, it succeeds, the breaker closes.
    feeds.lock().unwrap().always.clear();
    put(&feeds, "/kev.json", kev(), "v5");
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert!(
        wait_for(Duration::from_secs(30), async || {
            let _ = pull_now(&node, &admin, "cisa-kev").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            source(&node, &viewer, "cisa-kev").await["breaker"] == "closed"
        })
        .await,
        "{}",
        source(&node, &viewer, "cisa-kev").await
    );
    let s = source(&node, &viewer, "cisa-kev").await;
    assert!(s["last_error"].is_null(), "{s}");
}
