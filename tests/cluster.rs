//! Issue 4 on the real binary, real RabbitMQ and real PostgreSQL: several node processes with
//! different roles share one database schema and one broker namespace (unique per test, deleted
//! at the end). Faults are done for real: `kill -9` of a node, `rabbitmqctl close_all_connections`,
//! a poisoned event.

mod common;

use std::time::{Duration, Instant};

use common::{NodeProc, data, get_json, post, run_job, start_node_args, wait_for};
use rampart::schema::Migrator;
use rampart_platform::{Db, DbOptions};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

fn amqp_url() -> String {
    std::env::var("RAMPART_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

fn pg_url() -> String {
    std::env::var("RAMPART_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// One deployment at a time: `rabbitmqctl close_all_connections` is broker-wide (it would cut
/// the connections of every other test's nodes too), and three debug-build nodes per test already
/// fill this 2-core machine. Each test holds this lock for as long as its [`Cluster`] lives.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One test's deployment: a PostgreSQL schema and a broker namespace of its own.
struct Cluster {
    name: String,
    db: Db,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Cluster {
    async fn new(test: &str) -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        let name = format!("rampart_{test}_{}", uuid::Uuid::new_v4().simple());
        let db = Db::connect::<Migrator>(
            &pg_url(),
            &DbOptions {
                max_connections: 2,
                connect_timeout_ms: 5000,
                schema: Some(name.clone()),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL required at {}: {e}", pg_url()));
        Self {
            name,
            db,
            _turn: turn,
        }
    }

    fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("RAMPART_DATABASE__URL", pg_url()),
            ("RAMPART_DATABASE__SCHEMA", self.name.clone()),
            ("RAMPART_AMQP_URL", amqp_url()),
            ("RAMPART_BUS__NAMESPACE", self.name.clone()),
            ("RAMPART_DEMO__FAULT_INJECTION", "true".to_owned()),
            // Unreachable after 3 s without a heartbeat.
            ("RAMPART_NODE__HEARTBEAT_S", "1".to_owned()),
        ]
    }

    async fn node(&self, id: &str, services: &str, extra: &[(&str, &str)]) -> NodeProc {
        let mut envs: Vec<(&str, String)> = self.envs();
        envs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let refs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        start_node_args(id, &["--services", services], &refs).await
    }

    async fn count(&self, sql: &str) -> i64 {
        let row = self
            .db
            .conn()
            .query_one_raw(Statement::from_string(self.db.backend(), sql.to_owned()))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    /// Risk effects: asset events RiskAnalysis took effect on, and the `risk.scored` events it
    /// wrote (one per applied asset event).
    async fn effects(&self) -> (i64, i64) {
        (
            self.count("SELECT count(*) FROM processed_events WHERE service = 'risk'")
                .await,
            self.count("SELECT count(*) FROM outbox WHERE event_type = 'risk.scored'")
                .await,
        )
    }

    async fn drop_all(self) {
        self.db
            .conn()
            .execute_unprepared(&format!("DROP SCHEMA \"{}\" CASCADE", self.name))
            .await
            .unwrap();
        rampart_platform::bus::amqp::delete_namespace(&amqp_url(), &self.name)
            .await
            .unwrap();
    }
}

/// `GET /nodes` of `n`, as node id → (roles, state).
async fn nodes_seen(n: &NodeProc) -> std::collections::BTreeMap<String, (Vec<String>, String)> {
    let (status, v) = get_json(&n.api("/nodes")).await;
    assert_eq!(status, 200, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_str().unwrap().to_owned(),
                (
                    x["services"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_owned())
                        .collect(),
                    x["state"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

/// A CSV inventory of `n` hosts, one component each: `n` asset events.
fn hosts_csv(n: usize, tag: &str) -> Vec<u8> {
    let mut s = String::from("key,name,kind,ip,component,version,purl\n");
    for i in 0..n {
        s.push_str(&format!(
            "{tag}-{i},{tag}-{i},host,10.{}.{}.{},openssl,1.0.{i},pkg:generic/openssl@1.0.{i}\n",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        ));
    }
    s.into_bytes()
}

fn tree_names(tree: &Value) -> Vec<String> {
    tree["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn wait_effects(c: &Cluster, want: i64, limit: Duration) -> (i64, i64) {
    let end = Instant::now() + limit;
    loop {
        let e = c.effects().await;
        if e.0 >= want || Instant::now() > end {
            // Let in-flight duplicates, if any, land before counting for good.
            tokio::time::sleep(Duration::from_millis(500)).await;
            return c.effects().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_import_on_node_a_is_scored_on_the_risk_nodes() {
    let c = Cluster::new("roles").await;
    let a = c.node("node-a", "asset", &[]).await;
    let b = c.node("node-b", "risk", &[]).await;
    let cc = c.node("node-c", "risk", &[]).await;
    let (_, ta) = get_json(&format!("{}/readyz", a.base)).await;
    assert_eq!(ta["bus"], "connected");
    assert!(tree_names(&ta["tree"]).contains(&"assets".to_owned()));
    assert!(
        !tree_names(&ta["tree"]).contains(&"risk".to_owned()),
        "node A runs no risk service"
    );
    let (_, tb) = get_json(&format!("{}/readyz", b.base)).await;
    assert!(!tree_names(&tb["tree"]).contains(&"assets".to_owned()));

    // Every node sees the deployment's nodes and their roles (heartbeats in the shared
    // database), and the broker's queues with their consumers.
    let up = |roles: &[&str]| {
        (
            roles.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>(),
            "up".to_owned(),
        )
    };
    let want = std::collections::BTreeMap::from([
        ("node-a".to_owned(), up(&["asset"])),
        ("node-b".to_owned(), up(&["risk"])),
        ("node-c".to_owned(), up(&["risk"])),
    ]);
    assert_eq!(nodes_seen(&a).await, want);
    assert_eq!(nodes_seen(&b).await, want);
    let (status, queues) = get_json(&a.api("/queues")).await;
    assert_eq!(status, 200, "{queues}");
    let queue = |name: String| {
        queues
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {queues}"))
    };
    let risk = queue(format!("{}.risk", c.name));
    assert_eq!(risk["kind"], "events");
    assert!(
        risk["consumers"].as_u64().unwrap() >= 2,
        "node B and node C consume the risk queue: {risk}"
    );
    assert_eq!(queue(format!("{}.risk.dlq", c.name))["kind"], "dead-letter");
    assert_eq!(queue(format!("{}.rpc.risk", c.name))["kind"], "requests");

    // Node A refuses what only a risk node does, and a risk node refuses imports.
    let (status, _, p) = post(
        &a.api("/threat-intel/osv"),
        Some("application/json"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 503, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("does not run the risk service")
    );

    // The feed goes to node C; node B learns of it from the database before scoring.
    let job = run_job(
        &cc,
        "/threat-intel/osv",
        "application/json",
        std::fs::read(data("osv/ghsa/GHSA-36p3-wjmg-h94x.json")).unwrap(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let job = run_job(
        &a,
        "/assets/import?format=cyclonedx",
        "application/json",
        std::fs::read(data("sbom/keycloak-10.0.2.cdx.json")).unwrap(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let mut found = Value::Null;
    let ok = wait_for(Duration::from_secs(60), async || {
        let (_, r) = get_json(&a.api("/risks?kev_only=false&per_page=5")).await;
        found = r;
        found["total"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(
        ok,
        "risks computed by a risk node, visible on node A: {found}"
    );
    assert_eq!(found["items"][0]["vulnerability"], "GHSA-36p3-wjmg-h94x");
    assert_eq!(c.effects().await, (1, 1));
    // One of the risk nodes did it: its risk-analysis actor handled the batch.
    let mut handled = 0.0;
    for n in [&b, &cc] {
        let m = common::get(format!("{}/metrics", n.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        handled += m
            .lines()
            .filter(|l| {
                l.starts_with("rampart_actor_handler_duration_seconds_count")
                    && l.contains("risk-analysis")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    assert!(
        handled >= 2.0,
        "feed + asset batch handled on the risk nodes: {handled}"
    );

    // A clean stop (SIGTERM) is `stopped` in the registry, not `unreachable`.
    let mut cc = cc;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &cc.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    cc.child.wait().unwrap();
    let mut seen = Default::default();
    let stopped = wait_for(Duration::from_secs(30), async || {
        seen = nodes_seen(&a).await;
        seen.get("node-c").is_some_and(|(_, s)| s == "stopped")
    })
    .await;
    assert!(stopped, "{seen:?}");
    assert_eq!(seen["node-b"].1, "up");
    drop((a, b, cc));
    c.drop_all().await;
}

#[tokio::test]
async fn killing_a_risk_node_mid_stream_loses_nothing_and_duplicates_nothing() {
    const N: i64 = 10_000;
    let c = Cluster::new("kill").await;
    // AssetManagement applies the 10,000-host import in one handler call (one transaction,
    // about 40,000 statements: 24 s alone on PostgreSQL in a debug build here), during which
    // its mailbox cannot answer the liveness probe; at the default 10 s x 3 it is killed
    // mid-import on a loaded machine. This test is about killing a *risk* node, so the asset
    // node's probe period is raised (the import holding the mailbox is a known limit).
    let a = c
        .node(
            "node-a",
            "asset",
            &[("RAMPART_PROBES__LIVENESS__PERIOD_MS", "60000")],
        )
        .await;
    let mut b = c.node("node-b", "risk", &[]).await;
    let cc = c.node("node-c", "risk", &[]).await;
    let (status, _, accepted) = post(
        &a.api("/assets/import?format=csv"),
        Some("text/csv"),
        hosts_csv(N as usize, "k"),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    // Once the stream is flowing, kill -9 node B.
    // A bound on how long the 10,000-host import and the first scoring may take on a loaded
    // 2-core machine (debug build, three nodes per test, tests of this file in parallel).
    let flowing = wait_for(Duration::from_secs(300), async || {
        c.effects().await.0 >= 1000
    })
    .await;
    assert!(flowing, "risk effects started: {:?}", c.effects().await);
    b.child.kill().unwrap(); // SIGKILL
    b.child.wait().unwrap();
    let at_kill = c.effects().await;
    assert!(at_kill.0 < N, "killed mid-stream: {at_kill:?}");
    // The killed node stops beating: unreachable after three missed heartbeats (1 s here).
    let mut seen = Default::default();
    let gone = wait_for(Duration::from_secs(60), async || {
        seen = nodes_seen(&a).await;
        seen.get("node-b").is_some_and(|(_, s)| s == "unreachable")
    })
    .await;
    assert!(gone, "{seen:?}");
    assert_eq!(seen["node-c"].1, "up", "{seen:?}");
    let (applied, scored) = wait_effects(&c, N, Duration::from_secs(300)).await;
    assert_eq!(applied, N, "every event took effect");
    assert_eq!(scored, N, "exactly once: one risk.scored per asset event");
    assert_eq!(c.count("SELECT count(*) FROM risk_assets").await, N);
    drop((a, cc));
    c.drop_all().await;
}

#[tokio::test]
async fn closing_every_broker_connection_mid_stream_loses_nothing() {
    const N: i64 = 3000;
    let c = Cluster::new("close").await;
    // Reconnection waits at least 1.5 s, so the window where /readyz is 503 can be seen.
    let slow = [("RAMPART_BUS__RECONNECT_INITIAL_MS", "1500")];
    let a = c.node("node-a", "asset", &slow).await;
    let b = c.node("node-b", "risk", &slow).await;
    let (status, _, accepted) = post(
        &a.api("/assets/import?format=csv"),
        Some("text/csv"),
        hosts_csv(N as usize, "c"),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    assert!(
        wait_for(Duration::from_secs(120), async || c.effects().await.0
            >= 300)
        .await
    );
    let out = std::process::Command::new("rabbitmqctl")
        .args(["close_all_connections", "rampart test: connection loss"])
        .output()
        .expect("rabbitmqctl (RabbitMQ's CLI) must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut saw_503 = false;
    let down = wait_for(Duration::from_secs(10), async || {
        let (s, body) = get_json(&format!("{}/readyz", b.base)).await;
        if s == 503 {
            saw_503 = true;
            assert_eq!(body["bus"], "disconnected");
        }
        saw_503
    })
    .await;
    assert!(
        down,
        "/readyz turns 503 while the broker connection is down"
    );
    let up = wait_for(Duration::from_secs(30), async || {
        get_json(&format!("{}/readyz", b.base)).await.0 == 200
            && get_json(&format!("{}/readyz", a.base)).await.0 == 200
    })
    .await;
    assert!(up, "/readyz 200 again after reconnection");
    let (applied, scored) = wait_effects(&c, N, Duration::from_secs(180)).await;
    assert_eq!((applied, scored), (N, N), "nothing lost, nothing twice");
    drop((a, b));
    c.drop_all().await;
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_then_replayed_once_fixed() {
    let c = Cluster::new("poison").await;
    let node = c
        .node(
            "node-p",
            "asset,risk",
            &[("RAMPART_BUS__MAX_DELIVERIES", "3")],
        )
        .await;
    let r = common::client()
        .post(node.api("/demo/faults/poison"))
        .json(&serde_json::json!({ "asset_key": "csv:p-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let job = run_job(
        &node,
        "/assets/import?format=csv",
        "text/csv",
        hosts_csv(3, "p"),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let mut letters = Value::Null;
    let dead = wait_for(Duration::from_secs(60), async || {
        letters = get_json(&node.api("/dead-letters")).await.1;
        letters.as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    assert!(dead, "the poisoned event is dead-lettered: {letters}");
    let l = &letters[0];
    assert_eq!(l["service"], "risk");
    assert_eq!(l["event_type"], "asset.discovered");
    assert_eq!(l["deliveries"], 3, "after the configured deliveries: {l}");
    assert!(l["error"].as_str().unwrap().contains("poisoned"), "{l}");
    assert_eq!(c.effects().await.0, 2, "the two other hosts were scored");
    // In RabbitMQ's dead-letter queue too.
    let dlq = format!("{}.risk.dlq", c.name);
    let mut listing = String::new();
    let in_dlq = wait_for(Duration::from_secs(30), async || {
        let q = std::process::Command::new("rabbitmqctl")
            .args(["list_queues", "name", "messages"])
            .output()
            .expect("rabbitmqctl (RabbitMQ's CLI) must be installed");
        listing = String::from_utf8_lossy(&q.stdout).to_string();
        listing
            .lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>() == [dlq.as_str(), "1"])
    })
    .await;
    assert!(in_dlq, "{dlq} holds it: {listing}");
    // Fix the cause, replay: it takes effect, once.
    let r = common::client()
        .post(node.api("/demo/faults/poison"))
        .json(&serde_json::json!({ "asset_key": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let id = l["event_id"].as_str().unwrap();
    let (status, _, replayed) = post(
        &node.api(&format!("/dead-letters/risk/{id}/replay")),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, 202, "{replayed}");
    assert!(replayed["replayed_at"].is_string());
    let (applied, scored) = wait_effects(&c, 3, Duration::from_secs(30)).await;
    assert_eq!((applied, scored), (3, 3));
    let (status, _, _) = post(
        &node.api(&format!(
            "/dead-letters/risk/{}/replay",
            uuid::Uuid::new_v4()
        )),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, 404);
    drop(node);
    c.drop_all().await;
}

fn transitions(metrics: &str, to: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("rampart_circuit_breaker_transitions_total")
                && l.contains("breaker=\"risk-query\"")
                && l.contains(&format!("to=\"{to}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn with_every_risk_node_down_the_asset_node_serves_the_cached_score_marked_stale() {
    let c = Cluster::new("rpc").await;
    let breaker = [
        (
            "RAMPART_API__RISK_QUERY__CIRCUIT_BREAKER__MINIMUM_NUMBER_OF_CALLS",
            "2",
        ),
        (
            "RAMPART_API__RISK_QUERY__CIRCUIT_BREAKER__SLIDING_WINDOW_SIZE",
            "4",
        ),
        (
            "RAMPART_API__RISK_QUERY__CIRCUIT_BREAKER__WAIT_DURATION_IN_OPEN_STATE_MS",
            "1000",
        ),
        (
            "RAMPART_API__RISK_QUERY__TIME_LIMITER__TIMEOUT_DURATION_MS",
            "1000",
        ),
    ];
    let a = c.node("node-a", "asset,incident", &breaker).await;
    let b = c.node("node-b", "risk", &[]).await;
    let ghsa = std::fs::read(data("osv/ghsa/GHSA-36p3-wjmg-h94x.json")).unwrap();
    assert_eq!(
        run_job(&b, "/threat-intel/osv", "application/json", ghsa).await["state"],
        "succeeded"
    );
    let sbom = std::fs::read(data("sbom/keycloak-10.0.2.cdx.json")).unwrap();
    assert_eq!(
        run_job(
            &a,
            "/assets/import?format=cyclonedx",
            "application/json",
            sbom
        )
        .await["state"],
        "succeeded"
    );
    // Answered over RabbitMQ by node B (node A runs no RiskAnalysis).
    let mut fresh = Value::Null;
    let scored = wait_for(Duration::from_secs(60), async || {
        let (s, v) = get_json(&a.api("/assets/1/risk")).await;
        fresh = v;
        s == 200 && fresh["value"]["finding_count"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(scored, "{fresh}");
    assert_eq!(fresh["freshness"], "fresh");
    let max = fresh["value"]["max_score"].clone();

    // Every risk node down: the last answer, marked stale.
    drop(b);
    for _ in 0..4 {
        let (s, v) = get_json(&a.api("/assets/1/risk")).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["freshness"], "stale", "{v}");
        assert_eq!(v["value"]["max_score"], max);
        assert!(v["age_ms"].as_u64().is_some(), "{v}");
    }
    let m = common::get(format!("{}/metrics", a.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(transitions(&m, "open") >= 1.0, "the breaker opened:\n{m}");
    // The incident opened on A for the very-high finding shows the same cached score, stale.
    let mut incidents = Value::Null;
    wait_for(Duration::from_secs(30), async || {
        incidents = get_json(&a.api("/incidents")).await.1;
        incidents["total"].as_u64().unwrap_or(0) > 0
    })
    .await;
    let id = incidents["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an incident was opened on node A: {incidents}"));
    let (s, inc) = get_json(&a.api(&format!("/incidents/{id}"))).await;
    assert_eq!(s, 200, "{inc}");
    assert_eq!(inc["risk"]["freshness"], "stale", "{inc}");
    assert_eq!(inc["risk"]["value"]["max_score"], max);

    // A risk node returns: fresh answers again, the breaker closes.
    let b2 = c.node("node-b2", "risk", &[]).await;
    let back = wait_for(Duration::from_secs(30), async || {
        let (s, v) = get_json(&a.api("/assets/1/risk")).await;
        s == 200 && v["freshness"] == "fresh"
    })
    .await;
    assert!(back, "fresh scores after a risk node returned");
    // Half-open lets `permitted_number_of_calls_in_half_open_state` (3) calls through; their
    // success closes the breaker.
    let mut m = String::new();
    let closed = wait_for(Duration::from_secs(15), async || {
        let (s, v) = get_json(&a.api("/assets/1/risk")).await;
        assert_eq!(s, 200, "{v}");
        m = common::get(format!("{}/metrics", a.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        transitions(&m, "closed") >= 1.0
    })
    .await;
    assert!(closed, "the breaker closed again:\n{m}");
    drop((a, b2));
    c.drop_all().await;
}
