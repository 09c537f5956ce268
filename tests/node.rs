//! End to end against the real `rampart` binary: health endpoints, metrics, problem+json errors,
//! and faults done for real inside the running node (a panic in a handler, a handler stalled past
//! its liveness probe).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{free_port, get_json, start_node as start, wait_for};
use serde_json::Value;

fn echo_of(tree: &Value) -> &Value {
    tree["children"]
        .as_array()
        .and_then(|c| c.iter().find(|n| n["name"] == "demo"))
        .and_then(|d| d["children"].as_array())
        .and_then(|c| c.iter().find(|n| n["name"] == "echo"))
        .expect("demo/echo in the tree")
}

#[tokio::test]
async fn health_endpoints_report_the_tree_and_metrics_are_exported() {
    let node = start(&[]).await;
    for path in ["/livez", "/readyz", "/startupz"] {
        let (status, body) = get_json(&format!("{}{path}", node.base)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["status"], "ok");
        assert_eq!(body["node"], "test-node");
        assert_eq!(body["tree"]["name"], "node");
        assert_eq!(echo_of(&body["tree"])["state"], "running");
        let platform = body["tree"]["children"]
            .as_array()
            .and_then(|c| c.iter().find(|n| n["name"] == "platform"))
            .expect("platform tree");
        assert_eq!(platform["children"][0]["name"], "outbox-relay");
        assert_eq!(
            platform["children"][0]["ready"], true,
            "database ping passed"
        );
    }
    let client = common::client();
    let r = client
        .post(format!("{}/api/v1/demo/echo", node.base))
        .json(&serde_json::json!({"text": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["text"], "hello");

    let metrics = common::get(format!("{}/metrics", node.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "rampart_actor_handler_duration_seconds_count{actor=\"echo\",node=\"test-node\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("rampart_actor_mailbox_depth{actor=\"echo\",node=\"test-node\"} 0"));
    // Fault injection is off by default.
    let r = client
        .post(format!("{}/api/v1/demo/faults/panic", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn bad_requests_get_problem_details_and_the_node_keeps_serving() {
    let node = start(&[("RAMPART_HTTP__MAX_BODY_BYTES", "256")]).await;
    let client = common::client();
    let url = format!("{}/api/v1/demo/echo", node.base);
    let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (
            client
                .post(&url)
                .header("content-type", "application/json")
                .body("{\"text\": "),
            400,
        ),
        (client.post(&url).json(&serde_json::json!({"txt": 1})), 422),
        (
            client
                .post(&url)
                .header("content-type", "text/plain")
                .body("hello"),
            415,
        ),
        (
            client
                .post(&url)
                .json(&serde_json::json!({"text": "x".repeat(1000)})),
            413,
        ),
        (
            client.get(format!("{}/api/v1/nothing-here", node.base)),
            404,
        ),
    ];
    for (req, expected) in cases {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), expected);
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["status"], expected);
        assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
    }
    let r = client
        .post(&url)
        .json(&serde_json::json!({"text": "still here"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn panic_and_stall_inside_the_running_node_are_survived() {
    let node = start(&[
        ("RAMPART_DEMO__FAULT_INJECTION", "true"),
        ("RAMPART_PROBES__LIVENESS__PERIOD_MS", "200"),
        ("RAMPART_PROBES__LIVENESS__TIMEOUT_MS", "100"),
        ("RAMPART_PROBES__LIVENESS__FAILURE_THRESHOLD", "2"),
        (
            "RAMPART_DEMO__RESILIENCE__TIME_LIMITER__TIMEOUT_DURATION_MS",
            "100",
        ),
        ("RAMPART_DEMO__RESILIENCE__RETRY__MAX_ATTEMPTS", "1"),
    ])
    .await;
    let client = common::client();
    let echo = |text: &'static str| {
        let client = client.clone();
        let url = format!("{}/api/v1/demo/echo", node.base);
        async move {
            let r = client
                .post(url)
                .json(&serde_json::json!({"text": text}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(echo("before").await["generation"], 1);

    // A real panic inside the handler: the caller gets the error, the node lives on.
    let r = client
        .post(format!("{}/api/v1/demo/faults/panic", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["caller_saw"]
            .as_str()
            .unwrap()
            .contains("injected panic")
    );
    assert_eq!(echo("after panic").await["generation"], 2);

    let cached = |text: &'static str| {
        let client = client.clone();
        let url = format!("{}/api/v1/demo/echo-cached?text={text}", node.base);
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, fresh) = cached("k").await;
    assert_eq!(status, 200);
    assert_eq!(fresh["freshness"], "fresh");
    assert_eq!(fresh["value"]["text"], "k");

    // A handler stalled past its liveness probe (2 x 200 ms + 100 ms) is killed and restarted.
    let r = client
        .post(format!("{}/api/v1/demo/faults/stall?ms=60000", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // Meanwhile a caller behind the policy gets the cached answer, marked stale, after 100 ms.
    let (status, stale) = cached("k").await;
    assert_eq!(status, 200, "{stale}");
    assert_eq!(stale["freshness"], "stale", "{stale}");
    assert!(stale["age_ms"].as_u64().is_some(), "{stale}");
    let (status, none) = cached("never-seen").await;
    assert!(status == 503 || status == 504, "{status} {none}");
    let base = node.base.clone();
    let restarted = wait_for(Duration::from_secs(10), async || {
        let (_, tree) = get_json(&format!("{base}/api/v1/runtime/tree")).await;
        echo_of(&tree)["generation"] == 3
    })
    .await;
    assert!(restarted, "stalled actor was not restarted");
    assert_eq!(echo("after stall").await["generation"], 3);
    let (_, fresh) = cached("k").await;
    assert_eq!(fresh["freshness"], "fresh", "{fresh}");

    let (status, live) = get_json(&format!("{}/livez", node.base)).await;
    assert_eq!(status, 200);
    let e = echo_of(&live["tree"]);
    assert_eq!(e["restarts"], 2);
    assert!(
        e["last_failure"]["reason"]
            .as_str()
            .unwrap()
            .contains("liveness probe failed")
    );
    let metrics = common::get(format!("{}/metrics", node.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("rampart_actor_restarts_total{actor=\"echo\",node=\"test-node\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("rampart_actor_panics_total{actor=\"echo\",node=\"test-node\"} 1"));
    assert!(
        metrics.contains("rampart_fallback_served_total{freshness=\"stale\""),
        "{metrics}"
    );
}

#[test]
fn invalid_configuration_is_refused_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["config"])
        .env("RAMPART_HTTP__LISTEN", "not-an-address")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid configuration") && err.to_lowercase().contains("listen"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["--config", "/nonexistent/rampart.toml", "config"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));

    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["config", "--node-id", "n7"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("id = \"n7\""), "{text}");
}

#[tokio::test]
async fn the_database_is_created_on_first_run_and_bad_urls_stop_the_node_clearly() {
    let dir = std::env::temp_dir().join(format!("rampart-first-run-{}", free_port()));
    let url = format!("sqlite://{}/sub/rampart.sqlite", dir.display());
    let node = start(&[("RAMPART_DATABASE__URL", url.as_str())]).await;
    assert!(
        dir.join("sub/rampart.sqlite").exists(),
        "SQLite file created at start"
    );
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);

    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://nobody:hunter2@127.0.0.1:1/none",
        ])
        .env("RAMPART_LOG", "error")
        .env("RAMPART_DATABASE__CONNECT_TIMEOUT_MS", "1000")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("opening the database postgres://nobody:***@127.0.0.1:1/none"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "password leaked: {err}");
}

#[tokio::test]
async fn openapi_document_describes_the_routes_the_node_serves() {
    let node = start(&[]).await;
    let (status, doc) = get_json(&format!("{}/api/v1/openapi.json", node.base)).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/livez",
        "/readyz",
        "/startupz",
        "/metrics",
        "/api/v1/demo/echo",
        "/api/v1/openapi.json",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the document");
    }
    assert!(paths["/api/v1/demo/echo"]["post"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // Every documented GET without parameters answers (no 404 for a documented route).
    let client = common::client();
    for (path, item) in paths {
        if item
            .get("get")
            .is_some_and(|g| g.get("parameters").is_none())
        {
            let r = client
                .get(format!("{}{path}", node.base))
                .send()
                .await
                .unwrap();
            assert_ne!(
                r.status().as_u16(),
                404,
                "{path} is documented but not served"
            );
        }
    }
}
