//! The load suite (issue 11): scenario-based, one command (`scripts/load [SECONDS]`, or
//! `cargo bench --locked --bench load -- [SECONDS]`), every figure a ratio to a baseline measured
//! in the same invocation, because the machine it runs on is shared and noisy.
//!
//! Nodes are the release `rampart` binary on SQLite, fed the real CISA KEV catalog, the GitHub
//! advisories in `osv/ghsa` and the real Keycloak 10.0.2 SBOM from `../shared/data` (`RAMPART_DATA` overrides). Every request goes to
//! loopback; simulated clients bind their sockets to their own addresses in 127.0.0.0/8 so the
//! shield sees distinct sources. Every loop is bounded in time and in count.
//!
//! | scenario | measured | baseline (same run) | goal |
//! |---|---|---|---|
//! | `reads` | `GET /api/v1/risks?per_page=20`, `GET /api/v1/assets/{id}/risk`: req/s | `GET /livez` req/s | ≥ 0.25 each |
//! | `edge` | `GET /api/v1/risks?per_page=20` with token check, rules and throttling: req/s | the same node kind with `auth.enabled = false`, `shield.enabled = false` | ≥ 0.9 |
//! | `flood` | a well-behaved client's success rate and p99 while one source floods at 20 × a rate rule's limit; the flood's refusals; `/livez` | the same client's p99 without the flood | 100 %, ≤ 2 ×, all refused past the limit, all 200 |
//! | `mixed` | reads, imports, token requests, incident transitions: req/s and p50/p99 per kind | `GET /livez` under the same driver | (reported) |
//! | `rate-state` | resident memory of a rate limiter after 1,000,000 distinct sources | governor's unbounded keyed store, same keys | under the bound (`shield.max_rate_keys`) |
//!
//! Rounds of the throughput scenarios alternate (A B A B …) so drift of the machine hits the
//! measured case and its baseline alike; figures are the medians of the rounds.

#[path = "../common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{NodeProc, admin_token, start_node, test_secret, token_for};
use serde_json::json;

/// Connections of the throughput scenarios (each a task looping request after request).
const CONCURRENCY: usize = 32;
/// Upper bound on requests of one measured run, whatever its duration.
const MAX_REQUESTS: u64 = 2_000_000;

/// What one run of a driver saw.
#[derive(Debug, Default)]
struct Run {
    /// Status -> count (0: transport error).
    statuses: BTreeMap<u16, u64>,
    /// Latencies of every request, µs.
    latencies_us: Vec<u32>,
    elapsed: Duration,
}

impl Run {
    fn merge(&mut self, other: Run) {
        for (s, n) in other.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
        self.latencies_us.extend(other.latencies_us);
    }
    fn total(&self) -> u64 {
        self.statuses.values().sum()
    }
    fn ok(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }
    fn per_s(&self) -> f64 {
        self.total() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// The `p` quantile (0..=1) of the latencies, ms (nearest rank).
    fn pct_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let mut v = self.latencies_us.clone();
        v.sort_unstable();
        let n = v.len();
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        f64::from(v[rank - 1]) / 1000.0
    }
}

/// A client whose connections come from `ip` (a distinct source to the shield).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("a loopback address"))
        .pool_max_idle_per_host(CONCURRENCY * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

type Op = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

async fn send(rb: reqwest::RequestBuilder) -> (u16, u32) {
    let t = Instant::now();
    let status = match rb.send().await {
        Ok(r) => {
            let s = r.status().as_u16();
            // Read the whole body: the latency is the client's, body included.
            let _ = r.bytes().await;
            s
        }
        Err(_) => 0,
    };
    (
        status,
        u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX),
    )
}

/// When request `n` is sent: as soon as a worker is free (closed loop) until a deadline, or at
/// `n / rate` after the start (open loop) for a fixed count.
#[derive(Clone, Copy)]
enum Pace {
    Closed { deadline: Instant },
    Open { rate_per_s: f64, count: u64 },
}

/// `conc` workers share one request counter and send `op` as `pace` says, at most
/// [`MAX_REQUESTS`] in all.
async fn drive(client: &reqwest::Client, conc: usize, pace: Pace, op: Op) -> Run {
    let start = Instant::now();
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, op, issued) = (client.clone(), op.clone(), issued.clone());
        tasks.push(tokio::spawn(async move {
            let mut run = Run::default();
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= MAX_REQUESTS {
                    break;
                }
                match pace {
                    Pace::Closed { deadline } if Instant::now() >= deadline => break,
                    Pace::Closed { .. } => {}
                    Pace::Open { count, .. } if n >= count => break,
                    Pace::Open { rate_per_s, .. } => {
                        let at = start + Duration::from_secs_f64(n as f64 / rate_per_s);
                        tokio::time::sleep_until(at.into()).await;
                    }
                }
                let (s, us) = send(op(&client, n)).await;
                *run.statuses.entry(s).or_default() += 1;
                run.latencies_us.push(us);
            }
            run
        }));
    }
    let mut run = Run::default();
    for t in tasks {
        run.merge(t.await.expect("driver task"));
    }
    run.elapsed = start.elapsed();
    run
}

/// Closed loop: `conc` tasks send `op` back to back for `secs` (or [`MAX_REQUESTS`]).
async fn closed_loop(client: &reqwest::Client, conc: usize, secs: f64, op: Op) -> Run {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    drive(client, conc, Pace::Closed { deadline }, op).await
}

/// Open loop: `op` sent at `rate_per_s` for `secs` by up to `conc` requests in flight (a late
/// request is sent at once; the achieved rate is reported).
async fn paced(client: &reqwest::Client, rate_per_s: f64, conc: usize, secs: f64, op: Op) -> Run {
    let count = (rate_per_s * secs) as u64;
    drive(client, conc, Pace::Open { rate_per_s, count }, op).await
}

fn get(url: String, token: Option<String>) -> Op {
    Arc::new(move |c: &reqwest::Client, _| {
        let rb = c.get(&url);
        match &token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// Feeds `node` the KEV catalog and the Keycloak SBOM; returns the id of the Keycloak asset.
async fn feed(node: &NodeProc) -> i64 {
    let kev = std::fs::read(common::data("kev/known_exploited_vulnerabilities.json"))
        .expect("../shared/data/kev/known_exploited_vulnerabilities.json (RAMPART_DATA)");
    let sbom = std::fs::read(common::data("sbom/keycloak-10.0.2.cdx.json"))
        .expect("../shared/data/sbom/keycloak-10.0.2.cdx.json");
    let job = common::run_job(node, "/threat-intel/kev", "application/json", kev).await;
    assert_eq!(job["state"], "succeeded", "KEV: {job}");
    // The GitHub advisories (OSV records) that name Keycloak's components.
    let ghsa_dir = common::data("osv/ghsa");
    let mut records: Vec<_> = std::fs::read_dir(&ghsa_dir)
        .expect("../shared/data/osv/ghsa")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    records.sort();
    for path in records {
        let body = std::fs::read(&path).expect("an OSV record");
        let job = common::run_job(node, "/threat-intel/osv", "application/json", body).await;
        assert_eq!(job["state"], "succeeded", "{}: {job}", path.display());
    }
    let job = common::run_job(
        node,
        "/assets/import?format=cyclonedx",
        "application/vnd.cyclonedx+json",
        sbom,
    )
    .await;
    assert_eq!(job["state"], "succeeded", "SBOM: {job}");
    let ok = common::wait_for(Duration::from_secs(60), async || {
        let (_, body) = common::get_json(&node.api("/risks?per_page=1")).await;
        body["total"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(ok, "the Keycloak SBOM was never scored");
    let (_, assets) = common::get_json(&node.api("/assets?per_page=1")).await;
    assets["items"][0]["id"]
        .as_i64()
        .expect("an asset after the import")
}

fn rules_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rampart-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The rules of the "edge on" node: an IP set, a country rule on the real database, a
/// rate-based rule far above the load, all evaluated on every request.
const EDGE_RULES: &str = r#"
default_action = "allow"

[[rules]]
name = "bad-ranges"
action = "block"
statement = { ip_set = ["203.0.113.0/24", "2001:db8::/32"] }

[[rules]]
name = "embargo"
action = "block"
statement = { geo_match = ["KP", "IR"] }

[[rules]]
name = "big-bodies"
action = "block"
statement = { size = { field = "body", max_bytes = 20000000 } }

[[rules]]
name = "flood-guard"
action = "block"
statement = { rate_based = { limit = 10000000, window_s = 60, scope_down = { path_prefix = ["/api/"] } } }
"#;

struct Nodes {
    edge: NodeProc,
    /// The edge without API call records (`auth.record_calls = false`).
    unrecorded: NodeProc,
    off: NodeProc,
    asset_id: i64,
    _dir: std::path::PathBuf,
}

async fn start_edge_nodes() -> Nodes {
    let dir = rules_dir("edge");
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, EDGE_RULES).expect("rules file");
    let mmdb = common::data("geoip/geo-whois-asn-country-ipv4.mmdb");
    assert!(mmdb.exists(), "{} is missing", mmdb.display());
    let geo = format!("[\"{}\"]", mmdb.display());
    let edge_env = vec![
        (
            "RAMPART_SHIELD__RULES_FILE",
            rules.to_str().expect("utf-8 path"),
        ),
        ("RAMPART_SHIELD__GEO_DATABASES", geo.as_str()),
        // The throttle is evaluated on every request, far above the load so it measures the
        // check, not refusals.
        ("RAMPART_SHIELD__THROTTLE__RATE_PER_S", "10000000"),
        ("RAMPART_SHIELD__THROTTLE__BURST", "10000000"),
        ("RAMPART_SHIELD__MAX_IN_FLIGHT", "100000"),
    ];
    let edge = start_node(&edge_env).await;
    let mut unrecorded_env = edge_env.clone();
    unrecorded_env.push(("RAMPART_AUTH__RECORD_CALLS", "false"));
    let unrecorded = start_node(&unrecorded_env).await;
    let off = start_node(&[
        ("RAMPART_AUTH__ENABLED", "false"),
        ("RAMPART_SHIELD__ENABLED", "false"),
    ])
    .await;
    let asset_id = feed(&edge).await;
    let ids = (feed(&unrecorded).await, feed(&off).await);
    assert_eq!(
        ids,
        (asset_id, asset_id),
        "the nodes hold the same inventory"
    );
    Nodes {
        edge,
        unrecorded,
        off,
        asset_id,
        _dir: dir,
    }
}

/// `reads` and `edge`: rounds alternating between the cases.
async fn throughput(nodes: &Nodes, secs: f64, rounds: usize) {
    let token = admin_token(&nodes.edge.base).expect("admin token");
    let token_u = admin_token(&nodes.unrecorded.base).expect("admin token");
    let c = client_from("127.0.0.10");
    let e = &nodes.edge;
    let risks = "/risks?per_page=20";
    let cases: Vec<(&str, Op)> = vec![
        ("GET /livez", get(format!("{}/livez", e.base), None)),
        (
            "GET /api/v1/risks?per_page=20",
            get(e.api(risks), Some(token.clone())),
        ),
        (
            "GET /api/v1/assets/{id}/risk",
            get(
                e.api(&format!("/assets/{}/risk", nodes.asset_id)),
                Some(token.clone()),
            ),
        ),
        (
            "GET /api/v1/risks?per_page=20, edge off",
            get(nodes.off.api(risks), None),
        ),
        (
            "GET /api/v1/risks?per_page=20, edge on without call records",
            get(nodes.unrecorded.api(risks), Some(token_u)),
        ),
    ];
    // Warm-up (connections, caches, the allocator).
    for (_, op) in &cases {
        closed_loop(&c, CONCURRENCY, 1.0, op.clone()).await;
    }
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut p99: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut bad: Vec<u64> = vec![0; cases.len()];
    for _ in 0..rounds {
        for (i, (_, op)) in cases.iter().enumerate() {
            let run = closed_loop(&c, CONCURRENCY, secs, op.clone()).await;
            rates[i].push(run.per_s());
            p99[i].push(run.pct_ms(0.99));
            bad[i] += run.total() - run.ok();
        }
    }
    let rate: Vec<f64> = rates.into_iter().map(median).collect();
    let p99: Vec<f64> = p99.into_iter().map(median).collect();
    println!(
        "\n## reads and edge ({rounds} rounds x {secs} s, {CONCURRENCY} connections, medians)\n"
    );
    println!("| request | req/s | p99 ms | non-2xx | ratio |");
    println!("|---|---|---|---|---|");
    for (i, (name, _)) in cases.iter().enumerate() {
        let (base, of) = if i >= 3 {
            (rate[3], "edge off")
        } else {
            (rate[0], "/livez")
        };
        println!(
            "| {name} | {:.0} | {:.2} | {} | {:.3} of {of} |",
            rate[i],
            p99[i],
            bad[i],
            rate[i] / base
        );
    }
    let risks = rate[1] / rate[0];
    let asset = rate[2] / rate[0];
    let edge = rate[4] / rate[3];
    let full = rate[1] / rate[3];
    println!();
    println!(
        "- risks list / livez = {risks:.3} (goal >= 0.25: {})",
        verdict(risks >= 0.25)
    );
    println!(
        "- asset risk / livez = {asset:.3} (goal >= 0.25: {})",
        verdict(asset >= 0.25)
    );
    println!(
        "- risks list, edge on (token check, rules, throttling) / edge off = {edge:.3} (goal >= 0.9: {})",
        verdict(edge >= 0.9)
    );
    println!(
        "- risks list, edge on with API call records in the audit chain / edge off = {full:.3} (reported)"
    );
}

/// `flood`: a well-behaved client with and without a flood at 20 x a rate rule's limit.
async fn flood(secs: f64) {
    const FLOOD_ROUNDS: usize = 3;
    const LIMIT: u64 = 6000;
    const WINDOW_S: u64 = 60;
    let dir = rules_dir("flood");
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        format!(
            "default_action = \"allow\"\n[[rules]]\nname = \"flood-guard\"\naction = \"block\"\n\
             statement = {{ rate_based = {{ limit = {LIMIT}, window_s = {WINDOW_S}, \
             scope_down = {{ path_prefix = [\"/api/\"] }} }} }}\n"
        ),
    )
    .expect("rules file");
    let node = start_node(&[("RAMPART_SHIELD__RULES_FILE", rules.to_str().expect("utf-8"))]).await;
    feed(&node).await;
    // Two clients, two identities: the per-client throttle keeps them apart as well.
    let good_token = token_for(&node.base, "analyst").await;
    let flood_token = token_for(&node.base, "viewer").await;
    let good = client_from("127.0.0.11");
    let prober = client_from("127.0.0.13");
    let risks = node.api("/risks?per_page=20");
    let good_op = get(risks.clone(), Some(good_token));
    let flood_rate = 20.0 * LIMIT as f64 / WINDOW_S as f64;
    let good_rate = 50.0;

    // /livez every 100 ms, from its own source, throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let livez = {
        let (stop, url) = (stop.clone(), format!("{}/livez", node.base));
        tokio::spawn(async move {
            let (mut ok, mut total) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) && total < 100_000 {
                let (s, _) = send(prober.get(&url)).await;
                total += 1;
                ok += u64::from(s == 200);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (ok, total)
        })
    };
    paced(&good, good_rate, 2, 1.0, good_op.clone()).await;
    // Rounds of (the client alone, the client during a flood), so that drift of the machine
    // hits both alike; each round's flood comes from a fresh address (a full bucket).
    let (mut alone, mut with, mut flood_run) = (Run::default(), Run::default(), Run::default());
    let mut round_ratios = Vec::new();
    for round in 0..FLOOD_ROUNDS {
        let a = paced(&good, good_rate, 4, secs, good_op.clone()).await;
        let flooder = client_from(&format!("127.0.0.{}", 20 + round));
        let flood_task = {
            let op = get(risks.clone(), Some(flood_token.clone()));
            tokio::spawn(async move { paced(&flooder, flood_rate, 64, secs, op).await })
        };
        let w = paced(&good, good_rate, 4, secs, good_op.clone()).await;
        round_ratios.push(w.pct_ms(0.99) / a.pct_ms(0.99));
        alone.merge(a);
        with.merge(w);
        let mut f = flood_task.await.expect("flood task");
        f.elapsed = Duration::from_secs_f64(secs);
        flood_run.merge(f);
    }
    flood_run.elapsed = Duration::from_secs_f64(secs * FLOOD_ROUNDS as f64);
    stop.store(true, Ordering::Relaxed);
    let (livez_ok, livez_total) = livez.await.expect("livez task");

    let p99_alone = alone.pct_ms(0.99);
    let p99_with = with.pct_ms(0.99);
    let success = with.ok() as f64 / with.total().max(1) as f64;
    let refused: u64 = flood_run
        .statuses
        .iter()
        .filter(|(s, _)| matches!(**s, 403 | 429))
        .map(|(_, n)| n)
        .sum();
    let passed = flood_run.ok();
    println!(
        "\n## flood (rate rule {LIMIT} per {WINDOW_S} s per address; {FLOOD_ROUNDS} rounds of {secs} s alone + {secs} s with a flood of {flood_rate:.0} req/s from 127.0.0.20+; client {good_rate} req/s from 127.0.0.11; all samples of a kind pooled)\n"
    );
    println!("| | requests | statuses | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    println!(
        "| client alone | {} | {:?} | {:.2} | {p99_alone:.2} |",
        alone.total(),
        alone.statuses,
        alone.pct_ms(0.5)
    );
    println!(
        "| client during the flood | {} | {:?} | {:.2} | {p99_with:.2} |",
        with.total(),
        with.statuses,
        with.pct_ms(0.5)
    );
    println!(
        "| flood ({:.0} req/s achieved) | {} | {:?} | | |",
        flood_run.per_s(),
        flood_run.total(),
        flood_run.statuses
    );
    println!();
    println!(
        "- client success during the flood {:.1} % (goal 100 %: {})",
        success * 100.0,
        verdict(with.ok() == with.total())
    );
    let ratio = p99_with / p99_alone;
    println!(
        "- client p99 with / without the flood = {ratio:.2} (goal <= 2: {}); per round {:.2?}, median {:.2}",
        verdict(ratio <= 2.0),
        round_ratios,
        median(round_ratios.clone())
    );
    println!(
        "- flood: {passed} passed (per round: the limit {LIMIT}, the refill, the client throttle), {refused} refused with 403/429, {} other ({})",
        flood_run.total() - passed - refused,
        verdict(
            passed + refused == flood_run.total()
                && passed <= (LIMIT + LIMIT / 2) * FLOOD_ROUNDS as u64
        )
    );
    println!(
        "- /livez: {livez_ok} of {livez_total} answered 200 ({})",
        verdict(livez_ok == livez_total)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One simulated user of the `mixed` scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    RiskList,
    AssetRisk,
    AssetList,
    IncidentGet,
    Token,
    Import,
    Transition,
}

/// The mix: kind and weight (of 100).
const MIX: &[(Kind, u32)] = &[
    (Kind::RiskList, 30),
    (Kind::AssetRisk, 20),
    (Kind::AssetList, 10),
    (Kind::IncidentGet, 10),
    (Kind::Token, 10),
    (Kind::Import, 5),
    (Kind::Transition, 15),
];

const LIFECYCLE: &[&str] = &["triaged", "contained", "eradicated", "recovered", "closed"];

fn pick(n: u64) -> Kind {
    // A fixed, evenly spread sequence: reproducible from run to run.
    let slot = u32::try_from((n.wrapping_mul(37)) % 100).unwrap_or(0);
    let mut acc = 0;
    for (k, w) in MIX {
        acc += w;
        if slot < acc {
            return *k;
        }
    }
    Kind::RiskList
}

/// `mixed`: reads, imports, token requests, incident transitions.
async fn mixed(nodes: &Nodes, secs: f64) {
    const CONC: usize = 16;
    const INCIDENTS_PER_USER: usize = 40;
    let e = &nodes.edge;
    let token = admin_token(&e.base).expect("admin token");
    let c = client_from("127.0.0.14");
    // Incidents to move through their lifecycle: one alarm each.
    let n_incidents = CONC * INCIDENTS_PER_USER;
    for i in 0..n_incidents {
        let r = c
            .post(e.api("/alarms"))
            .bearer_auth(&token)
            .json(&json!({"source": "load", "id": format!("load-{i}"),
                          "title": format!("load alarm {i}"), "level": "moderate"}))
            .send()
            .await
            .expect("POST /alarms");
        assert_eq!(r.status(), 202, "POST /alarms");
    }
    let ids: Vec<i64> = {
        let mut ids = Vec::new();
        let ok = common::wait_for(Duration::from_secs(60), async || {
            let (_, body) = common::get_json(&e.api("/incidents?per_page=1000")).await;
            ids = body["items"]
                .as_array()
                .map(|a| a.iter().filter_map(|i| i["id"].as_i64()).collect())
                .unwrap_or_default();
            ids.len() >= n_incidents
        })
        .await;
        assert!(ok, "{} of {n_incidents} incidents opened", ids.len());
        ids
    };
    let ids = Arc::new(ids);
    let secret = test_secret("admin");

    let baseline = {
        let run = closed_loop(&c, CONC, secs, get(format!("{}/livez", e.base), None)).await;
        (run.per_s(), run.pct_ms(0.5), run.pct_ms(0.99))
    };

    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for user in 0..CONC {
        let (c, e_base, token, ids, issued, secret) = (
            c.clone(),
            e.base.clone(),
            token.clone(),
            ids.clone(),
            issued.clone(),
            secret.clone(),
        );
        let asset_id = nodes.asset_id;
        tasks.push(tokio::spawn(async move {
            let api = |p: &str| format!("{e_base}/api/v1{p}");
            let mine: Vec<i64> = ids.iter().skip(user).step_by(CONC).copied().collect();
            let mut step = 0usize;
            let mut runs: BTreeMap<Kind, Run> = BTreeMap::new();
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= MAX_REQUESTS || Instant::now() >= deadline {
                    break;
                }
                let mut kind = pick(n);
                if kind == Kind::Transition && step >= mine.len() * LIFECYCLE.len() {
                    kind = Kind::IncidentGet;
                }
                let rb = match kind {
                    Kind::RiskList => c.get(api("/risks?per_page=20")).bearer_auth(&token),
                    Kind::AssetRisk => c
                        .get(api(&format!("/assets/{asset_id}/risk")))
                        .bearer_auth(&token),
                    Kind::AssetList => c.get(api("/assets?per_page=20")).bearer_auth(&token),
                    Kind::IncidentGet => c
                        .get(api(&format!("/incidents/{}", mine[n as usize % mine.len()])))
                        .bearer_auth(&token),
                    Kind::Token => c
                        .post(format!("{e_base}/oauth2/token"))
                        .basic_auth("test-admin", Some(&secret))
                        .form(&[("grant_type", "client_credentials")]),
                    Kind::Import => c
                        .post(api("/assets/import?format=csv"))
                        .bearer_auth(&token)
                        .header("content-type", "text/csv")
                        .body(format!(
                            "key,name,hostname,owner,criticality\nload-{user}-{n},load host,load-{user}-{n}.example.test,load,3\n"
                        )),
                    Kind::Transition => {
                        // Each incident of this user, one lifecycle step at a time, in order.
                        let (i, s) = (step % mine.len(), step / mine.len());
                        step += 1;
                        c.post(api(&format!("/incidents/{}/transition", mine[i])))
                            .bearer_auth(&token)
                            .json(&json!({"to": LIFECYCLE[s], "note": "load suite"}))
                    }
                };
                let (s, us) = send(rb).await;
                let run = runs.entry(kind).or_default();
                *run.statuses.entry(s).or_default() += 1;
                run.latencies_us.push(us);
            }
            runs
        }));
    }
    let mut runs: BTreeMap<Kind, Run> = BTreeMap::new();
    for t in tasks {
        for (k, r) in t.await.expect("user task") {
            runs.entry(k).or_default().merge(r);
        }
    }
    let elapsed = start.elapsed();
    let total: u64 = runs.values().map(Run::total).sum();
    let all_ok: u64 = runs.values().map(Run::ok).sum();
    let mut all = Run::default();
    for r in runs.values() {
        all.latencies_us.extend(&r.latencies_us);
    }
    let rate = total as f64 / elapsed.as_secs_f64();
    println!(
        "\n## mixed ({CONC} users, {secs} s; baseline GET /livez, same driver: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms)\n",
        baseline.0, baseline.1, baseline.2
    );
    println!("| kind | requests | req/s | statuses | p50 ms | p99 ms | p99 / livez p99 |");
    println!("|---|---|---|---|---|---|---|");
    for (k, r) in &runs {
        let p99 = r.pct_ms(0.99);
        println!(
            "| {k:?} | {} | {:.0} | {:?} | {:.2} | {p99:.2} | {:.1} |",
            r.total(),
            r.total() as f64 / elapsed.as_secs_f64(),
            r.statuses,
            r.pct_ms(0.5),
            p99 / baseline.2
        );
    }
    println!(
        "| all | {total} | {rate:.0} ({:.3} of livez) | {all_ok} 2xx | {:.2} | {:.2} | {:.1} |",
        rate / baseline.0,
        all.pct_ms(0.5),
        all.pct_ms(0.99),
        all.pct_ms(0.99) / baseline.2
    );
}

/// Resident set of this process, bytes (`/proc/self/statm`).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// `rate-state`: a rate limiter's memory after 1,000,000 distinct sources.
fn rate_state() {
    const SOURCES: u32 = 1_000_000;
    let max_keys = rampart::shield::ShieldConfig::default().max_rate_keys;
    let ip = |i: u32| IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i)));
    let window = Duration::from_secs(60);

    let before = rss();
    let bounded =
        rampart::shield::limiter::KeyedLimiter::<IpAddr>::per_window(100, window, max_keys)
            .expect("limiter");
    let mut after_half = 0;
    for i in 0..SOURCES {
        bounded.check(&ip(i));
        if i == SOURCES / 2 {
            bounded.run_pending_tasks();
            after_half = rss();
        }
    }
    bounded.run_pending_tasks();
    let bounded_bytes = rss().saturating_sub(before);
    let half_bytes = after_half.saturating_sub(before);
    let keys = bounded.keys();
    drop(bounded);

    let before = rss();
    let quota = governor::Quota::with_period(window / 100)
        .expect("quota")
        .allow_burst(std::num::NonZeroU32::new(100).expect("burst"));
    let unbounded = governor::RateLimiter::hashmap(quota);
    for i in 0..SOURCES {
        let _ = unbounded.check_key(&ip(i));
    }
    let unbounded_bytes = rss().saturating_sub(before);
    let unbounded_keys = unbounded.len();
    drop(unbounded);

    println!("\n## rate-state ({SOURCES} distinct IPv6 sources, one check each)\n");
    println!("| store | keys held | resident growth |");
    println!("|---|---|---|");
    println!(
        "| Rampart (moka, max_rate_keys = {max_keys}) | {keys} | {:.1} MiB (at 500,000 sources: {:.1} MiB) |",
        bounded_bytes as f64 / 1048576.0,
        half_bytes as f64 / 1048576.0
    );
    println!(
        "| governor's unbounded keyed store (baseline) | {unbounded_keys} | {:.1} MiB |",
        unbounded_bytes as f64 / 1048576.0
    );
    println!();
    let ratio = bounded_bytes as f64 / unbounded_bytes.max(1) as f64;
    println!(
        "- bounded / unbounded = {ratio:.3}; keys held {keys} <= {max_keys} ({})",
        verdict(keys <= max_keys)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; anything numeric is the seconds per round.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: f64 = args
        .iter()
        .find_map(|a| a.parse::<f64>().ok())
        .unwrap_or(5.0)
        .clamp(1.0, 120.0);
    let only: Option<&String> = args.iter().find(|a| {
        matches!(
            a.as_str(),
            "reads" | "edge" | "flood" | "mixed" | "rate-state"
        )
    });
    let run = |s: &str| only.is_none_or(|o| o == s || (s == "reads" && o == "edge"));
    println!("# Rampart load suite ({secs} s per measured run)");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        if run("reads") || run("mixed") {
            let nodes = start_edge_nodes().await;
            if run("reads") {
                throughput(&nodes, secs, 3).await;
            }
            if run("mixed") {
                mixed(&nodes, secs * 2.0).await;
            }
        }
        if run("flood") {
            flood(secs * 2.0).await;
        }
    });
    if run("rate-state") {
        rate_state();
    }
}
