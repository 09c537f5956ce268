//! The traffic shield against the real binary on loopback (127.0.0.0/8 gives each simulated
//! client its own source address): WAF-style rules on IPv4/IPv6 CIDRs and countries (the real
//! country database), `X-Forwarded-For` only through trusted proxies, a rules file reloaded and a
//! bad one refused, rate-based rules and throttling (429, `Retry-After`, `RateLimit` headers),
//! slowloris, oversized headers, connection limits, in-flight shedding, and a real flood that
//! opens exactly one incident.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{NodeProc, admin_token, start_node};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rampart-shield-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(path: &Path, text: &str) {
    // Through a temporary file and a rename: the reloader never reads half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// An HTTP client whose connections come from `ip`.
fn from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn status(c: &reqwest::Client, node: &NodeProc, path: &str, xff: Option<&str>) -> u16 {
    let mut rb = c.get(format!("{}{path}", node.base));
    if let Some(t) = admin_token(&node.base) {
        rb = rb.bearer_auth(t);
    }
    if let Some(x) = xff {
        rb = rb.header("X-Forwarded-For", x);
    }
    rb.send().await.unwrap().status().as_u16()
}

async fn metrics(node: &NodeProc) -> String {
    common::get(format!("{}/metrics", node.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The sum of the samples of metric `name` whose labels include every one of `labels`
/// (`key="value"` fragments).
fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| {
            l.split(['{', ' ']).next() == Some(name) && labels.iter().all(|f| l.contains(f))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

const RULES: &str = r#"
default_action = "allow"

[[rules]]
name = "office"
action = "allow"
statement = { ip_set = ["127.0.0.3/32"] }

[[rules]]
name = "bad-ranges"
action = "block"
labels = ["blocklist"]
statement = { ip_set = ["127.0.0.2/32", "2001:db8::/32"] }

[[rules]]
name = "embargo"
action = "block"
statement = { geo_match = ["IR", "KP"] }
"#;

#[tokio::test]
async fn ip_sets_countries_and_forwarded_for_through_trusted_proxies_only() {
    let d = dir("cidr");
    let rules = d.join("rules.toml");
    write(&rules, RULES);
    let mmdb = common::data("geoip/geo-whois-asn-country-ipv4.mmdb");
    assert!(mmdb.exists(), "the shared country database is missing");
    let node = start_node(&[
        ("RAMPART_SHIELD__RULES_FILE", rules.to_str().unwrap()),
        (
            "RAMPART_SHIELD__GEO_DATABASES",
            &format!("[\"{}\"]", mmdb.display()),
        ),
        ("RAMPART_SHIELD__TRUSTED_PROXIES", "[\"127.0.0.4/32\"]"),
        ("RAMPART_SHIELD__RULES_RELOAD_MS", "200"),
    ])
    .await;
    let p = "/api/v1/risks";
    // IPv4 CIDR: blocked from 127.0.0.2, allowed from 127.0.0.3 and 127.0.0.5.
    assert_eq!(status(&from("127.0.0.2"), &node, p, None).await, 403);
    let r = from("127.0.0.2")
        .get(format!("{}{p}", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "a block is an RFC 9457 problem"
    );
    assert!(r.text().await.unwrap().contains("bad-ranges"));
    assert_eq!(status(&from("127.0.0.3"), &node, p, None).await, 200);
    assert_eq!(status(&from("127.0.0.5"), &node, p, None).await, 200);
    // IPv6 CIDR, through the trusted proxy 127.0.0.4.
    let proxy = from("127.0.0.4");
    assert_eq!(status(&proxy, &node, p, Some("2001:db8::5")).await, 403);
    assert_eq!(status(&proxy, &node, p, Some("2001:db9::5")).await, 200);
    // From an untrusted peer the header is ignored: the socket address (allowed) counts.
    assert_eq!(
        status(&from("127.0.0.5"), &node, p, Some("2001:db8::5")).await,
        200
    );
    assert_eq!(
        status(&from("127.0.0.5"), &node, p, Some("2.145.1.1")).await,
        200
    );
    // Countries from the real database: 2.145.1.1 is placed in IR, 1.0.0.1 in AU.
    assert_eq!(status(&proxy, &node, p, Some("2.145.1.1")).await, 403);
    assert_eq!(status(&proxy, &node, p, Some("1.0.0.1")).await, 200);
    // What a client wrote left of the proxy's entry is not believed.
    assert_eq!(
        status(&proxy, &node, p, Some("2.145.1.1, 1.0.0.1")).await,
        200
    );
    // The API call record has the resolved client address.
    let m = metrics(&node).await;
    let decisions = |rule: &str, action: &str| {
        metric(
            &m,
            "rampart_shield_requests_total",
            &[&format!("rule=\"{rule}\""), &format!("action=\"{action}\"")],
        )
    };
    assert_eq!(decisions("embargo", "block"), 1.0, "{m}");
    assert_eq!(decisions("bad-ranges", "block"), 3.0, "{m}");
    assert!(decisions("office", "allow") >= 1.0, "{m}");

    // A bad file is refused and the rules in force stay.
    write(
        &rules,
        "default_action = \"allow\"\n[[rules]]\nname = \"x\"\naction = \"block\"\nstatement = { ip_set = [\"127.0.0.0/33\"] }\n",
    );
    let refused = common::wait_for(Duration::from_secs(10), async || {
        metric(
            &metrics(&node).await,
            "rampart_shield_rules_reloads_total",
            &["outcome=\"refused\""],
        ) >= 1.0
    })
    .await;
    assert!(refused, "the bad file was not seen");
    assert_eq!(status(&from("127.0.0.2"), &node, p, None).await, 403);
    // A good file replaces them without a restart.
    write(&rules, "default_action = \"allow\"\n");
    let reloaded = common::wait_for(Duration::from_secs(10), async || {
        status(&from("127.0.0.2"), &node, p, None).await == 200
    })
    .await;
    assert!(reloaded, "the new rules were not put in force");
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn a_rate_rule_refuses_with_429_and_recovers() {
    let d = dir("rate");
    let rules = d.join("rules.toml");
    write(
        &rules,
        "default_action = \"allow\"\n[[rules]]\nname = \"api-rate\"\naction = \"block\"\nstatement = { rate_based = { limit = 10, window_s = 60, scope_down = { path_prefix = [\"/api/\"] } } }\n",
    );
    let node = start_node(&[("RAMPART_SHIELD__RULES_FILE", rules.to_str().unwrap())]).await;
    let c = from("127.0.0.7");
    let p = "/api/v1/risks";
    for i in 0..10 {
        assert_eq!(status(&c, &node, p, None).await, 200, "request {i}");
    }
    let r = c
        .get(format!("{}{p}", node.base))
        .bearer_auth(admin_token(&node.base).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&wait), "Retry-After {wait}");
    // Out of the rule's scope and from another source: served.
    assert_eq!(status(&c, &node, "/livez", None).await, 200);
    assert_eq!(status(&from("127.0.0.8"), &node, p, None).await, 200);
    // After Retry-After, one more request is within the limit again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(status(&c, &node, p, None).await, 200);
    assert_eq!(status(&c, &node, p, None).await, 429);
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn throttling_per_client_and_route_sends_ratelimit_headers() {
    let node = start_node(&[
        ("RAMPART_SHIELD__THROTTLE__RATE_PER_S", "0.2"),
        ("RAMPART_SHIELD__THROTTLE__BURST", "5"),
        (
            "RAMPART_SHIELD__THROTTLE__ROUTES",
            "[{method=\"GET\", path=\"/api/v1/assets\", rate_per_s=0.5, burst=2}]",
        ),
    ])
    .await;
    let c = reqwest::Client::new();
    // Tokens first: the token endpoint is throttled too, per address (4 of its 5).
    let mut tokens = std::collections::HashMap::new();
    for role in ["viewer", "analyst", "auditor"] {
        tokens.insert(role, common::token_for(&node.base, role).await);
    }
    let get = async |path: &str, role: &str| {
        c.get(format!("{}{path}", node.base))
            .bearer_auth(&tokens[role])
            .send()
            .await
            .unwrap()
    };
    // The route's bucket (2) is shared by all clients.
    let r = get("/api/v1/assets", "viewer").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["ratelimit-policy"],
        "\"client\";q=5;w=25, \"route\";q=2;w=4"
    );
    assert!(
        r.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"client\";r=4;"),
        "{:?}",
        r.headers()["ratelimit"]
    );
    assert_eq!(get("/api/v1/assets", "analyst").await.status(), 200);
    let r = get("/api/v1/assets", "auditor").await;
    assert_eq!(r.status(), 429, "the route's burst is spent");
    assert!(r.headers().contains_key("retry-after"));
    assert!(
        r.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .contains("\"route\";r=0;"),
        "{:?}",
        r.headers()["ratelimit"]
    );
    // The client's own bucket: the viewer spent 1, has 4 more on another route, then 429.
    for i in 0..4 {
        assert_eq!(get("/api/v1/risks", "viewer").await.status(), 200, "{i}");
    }
    let r = get("/api/v1/risks", "viewer").await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&wait), "one token per 5 s: {wait}");
    // A throttled client's refusals are summarised in the audit chain: every 429 counted,
    // far fewer records than refusals.
    const MORE: u64 = 40;
    for _ in 0..MORE {
        assert_eq!(get("/api/v1/risks", "viewer").await.status(), 429);
    }
    let admin = admin_token(&node.base).expect("admin token");
    // The admin's own bucket is small here too: wait for the summary window, then honour
    // `Retry-After`.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (records, repeats) = loop {
        let r = c
            .get(node.api("/audit?limit=1000&principal=test-viewer"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            let wait: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        let entries: serde_json::Value = r.json().await.unwrap();
        let throttled: Vec<serde_json::Value> = entries
            .as_array()
            .unwrap_or_else(|| panic!("{entries}"))
            .iter()
            .map(|e| e["event"]["body"].clone())
            .filter(|b| b["status"] == 429 && b["operation"] == "GET /api/v1/risks")
            .collect();
        let repeats: u64 = throttled
            .iter()
            .map(|b| b["repeats"].as_u64().unwrap_or(1))
            .sum();
        if repeats > MORE || Instant::now() > deadline {
            break (throttled, repeats);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(repeats, MORE + 1, "every 429 is counted once: {records:?}");
    assert!(
        records.len() <= 6,
        "{} refusals in {} records: {records:?}",
        MORE + 1,
        records.len()
    );
    let summary = records
        .iter()
        .find(|b| b["repeats"].as_u64().is_some_and(|n| n > 1))
        .expect("a summary record");
    assert!(summary["last_time"].as_str().unwrap() >= summary["time"].as_str().unwrap());
    // Probes are never throttled.
    for _ in 0..20 {
        assert_eq!(
            c.get(format!("{}/livez", node.base))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
}

fn connect(node: &NodeProc, from: &str) -> TcpStream {
    let addr: SocketAddr = node.base.trim_start_matches("http://").parse().unwrap();
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&SocketAddr::new(from.parse().unwrap(), 0).into())
        .unwrap();
    sock.connect(&addr.into()).unwrap();
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one whole HTTP/1.1 response (head and `Content-Length` body); its head, lower case.
fn read_response(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed mid-response");
        out.extend_from_slice(&buf[..n]);
        if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if out.len() >= end + 4 + len {
                return head;
            }
        }
    }
}

/// Reads until EOF or an error; the bytes read.
fn read_to_close(s: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (out, true),
            Err(_) => return (out, false),
        }
    }
}

#[tokio::test]
async fn slowloris_oversized_headers_and_connection_limits() {
    let node = start_node(&[
        ("RAMPART_SHIELD__CLIENT_REQUEST_TIMEOUT_MS", "1000"),
        ("RAMPART_SHIELD__MAX_CONNECTIONS_PER_IP", "3"),
        ("RAMPART_SHIELD__MAX_REQUESTS_PER_CONNECTION", "3"),
    ])
    .await;
    // Slowloris: a request head sent one header every 300 ms is cut after the 1 s timeout.
    let mut s = connect(&node, "127.0.0.11");
    let started = Instant::now();
    s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut closed_at = None;
    for i in 0..30 {
        std::thread::sleep(Duration::from_millis(300));
        if s.write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
            .is_err()
        {
            closed_at = Some(started.elapsed());
            break;
        }
        let _ = s.set_nonblocking(true);
        let mut b = [0u8; 512];
        match s.read(&mut b) {
            Ok(0) => {
                closed_at = Some(started.elapsed());
                break;
            }
            Ok(n) => {
                assert!(
                    String::from_utf8_lossy(&b[..n]).starts_with("HTTP/1.1 408"),
                    "{}",
                    String::from_utf8_lossy(&b[..n])
                );
                closed_at = Some(started.elapsed());
                break;
            }
            Err(_) => {}
        }
        let _ = s.set_nonblocking(false);
    }
    let t = closed_at.expect("the slow connection was never closed");
    assert!(t < Duration::from_secs(4), "closed after {t:?}");

    // Oversized headers: 431 for too many and for too many bytes.
    let c = reqwest::Client::new();
    let mut rb = c.get(format!("{}/livez", node.base));
    for i in 0..70 {
        rb = rb.header(format!("x-h-{i}"), "v");
    }
    assert_eq!(rb.send().await.unwrap().status(), 431);
    let r = c
        .get(format!("{}/livez", node.base))
        .header("x-big", "a".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // Connections per IP: the fourth from 127.0.0.12 is shut at accept, others are served.
    let mut open: Vec<TcpStream> = (0..3).map(|_| connect(&node, "127.0.0.12")).collect();
    for s in &mut open {
        s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut b = [0u8; 256];
        let n = s.read(&mut b).unwrap();
        assert!(b[..n].starts_with(b"HTTP/1.1 200"));
    }
    let mut fourth = connect(&node, "127.0.0.12");
    let _ = fourth.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
    let (bytes, closed) = read_to_close(&mut fourth);
    assert!(
        closed && !bytes.starts_with(b"HTTP/1.1 200"),
        "the 4th connection was served: {}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(
        status(&from("127.0.0.13"), &node, "/livez", None).await,
        200
    );
    // A closed connection frees its place.
    drop(open.pop());
    let ok = common::wait_for(Duration::from_secs(5), async || {
        let mut s = connect(&node, "127.0.0.12");
        s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .is_ok()
            && {
                let mut b = [0u8; 256];
                matches!(s.read(&mut b), Ok(n) if b[..n].starts_with(b"HTTP/1.1 200"))
            }
    })
    .await;
    assert!(ok, "a freed place was not given back");

    // Requests per connection: the third answer closes the connection.
    let mut s = connect(&node, "127.0.0.14");
    for i in 1..=3 {
        s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let head = read_response(&mut s);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert_eq!(
            head.contains("connection: close"),
            i == 3,
            "request {i}: {head}"
        );
    }
    let (_, closed) = read_to_close(&mut s);
    assert!(closed);
}

#[tokio::test]
async fn past_the_in_flight_bound_requests_are_shed_fast_and_probes_answer() {
    let node = start_node(&[
        ("RAMPART_SHIELD__MAX_IN_FLIGHT", "2"),
        ("RAMPART_DEMO__FAULT_INJECTION", "true"),
        (
            "RAMPART_DEMO__RESILIENCE__TIME_LIMITER__TIMEOUT_DURATION_MS",
            "10000",
        ),
        ("RAMPART_PROBES__LIVENESS__PERIOD_MS", "60000"),
    ])
    .await;
    let c = common::client();
    let r = c
        .post(node.api("/demo/faults/stall?ms=3000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // Two requests wait on the stalled actor: the bound is reached.
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let c = c.clone();
            let url = node.api("/demo/echo");
            tokio::spawn(async move {
                c.post(url)
                    .json(&serde_json::json!({"text": "slow"}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let r = c.get(node.api("/risks")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    assert!(took < Duration::from_secs(1), "shedding took {took:?}");
    assert_eq!(
        status(&reqwest::Client::new(), &node, "/livez", None).await,
        200
    );
    for s in slow {
        assert_eq!(s.await.unwrap().unwrap(), 200);
    }
    assert_eq!(
        c.get(node.api("/risks")).send().await.unwrap().status(),
        200
    );
    assert!(metric(&metrics(&node).await, "rampart_shield_shed_total", &[]) >= 1.0);
}

#[tokio::test]
async fn a_real_flood_opens_exactly_one_incident_while_others_are_served() {
    let d = dir("flood");
    let rules = d.join("rules.toml");
    write(
        &rules,
        "default_action = \"allow\"\n[[rules]]\nname = \"flood-guard\"\naction = \"block\"\nstatement = { rate_based = { limit = 100, window_s = 60, scope_down = { path_prefix = [\"/api/\"] } } }\n",
    );
    let node = start_node(&[
        ("RAMPART_SHIELD__RULES_FILE", rules.to_str().unwrap()),
        ("RAMPART_SHIELD__ALARMS__RATE_REFUSALS", "500"),
        ("RAMPART_SHIELD__ALARMS__AUTH_FAILURES", "10"),
        ("RAMPART_SHIELD__ALARMS__WINDOW_S", "600"),
    ])
    .await;
    let token = admin_token(&node.base).unwrap();
    // The flood: 2000 requests (20 x the limit) from 127.0.0.20, 16 at a time.
    let flooder = from("127.0.0.20");
    let url = format!("{}/api/v1/risks", node.base);
    let flood = {
        let (flooder, url, token) = (flooder.clone(), url.clone(), token.clone());
        tokio::spawn(async move {
            let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
            for _ in 0..2000 / 16 {
                let batch: Vec<_> = (0..16)
                    .map(|_| flooder.get(&url).bearer_auth(&token).send())
                    .collect();
                for r in futures::future::join_all(batch).await {
                    *statuses.entry(r.unwrap().status().as_u16()).or_default() += 1;
                }
            }
            statuses
        })
    };
    // Meanwhile a well-behaved client (its own source) and the liveness probe.
    let good = from("127.0.0.21");
    let mut served = 0;
    let mut livez = 0;
    while !flood.is_finished() {
        assert_eq!(status(&good, &node, "/api/v1/risks", None).await, 200);
        served += 1;
        assert_eq!(status(&good, &node, "/livez", None).await, 200);
        livez += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(served < 400, "the flood does not end");
    }
    let statuses = flood.await.unwrap();
    // The limit, and what the bucket refilled (100 per 60 s) while the flood lasted.
    let passed = statuses.get(&200).copied().unwrap_or(0);
    assert!((100..=110).contains(&passed), "{statuses:?}");
    let refused = statuses.get(&429).copied().unwrap_or(0);
    assert_eq!(passed + refused, 2000, "{statuses:?}");
    assert!(served >= 1 && livez >= 1);
    // Bad tokens from another source: an alarm of the other kind.
    let prober = from("127.0.0.22");
    for _ in 0..15 {
        let r = prober
            .get(&url)
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }

    let incidents = async || {
        let (s, body) = common::get_json(&node.api("/incidents?per_page=100")).await;
        assert_eq!(s, 200, "{body}");
        body["items"].as_array().unwrap().clone()
    };
    let both = common::wait_for(Duration::from_secs(20), async || {
        incidents().await.len() >= 2
    })
    .await;
    let items = incidents().await;
    assert!(both, "expected two incidents: {items:?}");
    // Let late duplicates (there must be none) arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let items = incidents().await;
    let flood_incidents: Vec<_> = items
        .iter()
        .filter(|i| i["title"].as_str().unwrap().contains("flood-guard"))
        .collect();
    assert_eq!(flood_incidents.len(), 1, "{items:?}");
    assert!(
        flood_incidents[0]["title"]
            .as_str()
            .unwrap()
            .contains("ip:127.0.0.20")
    );
    assert_eq!(flood_incidents[0]["level"], "high");
    let auth: Vec<_> = items
        .iter()
        .filter(|i| {
            i["title"]
                .as_str()
                .unwrap()
                .contains("authentication failures from 127.0.0.22")
        })
        .collect();
    assert_eq!(auth.len(), 1, "{items:?}");
    assert_eq!(items.len(), 2, "{items:?}");
    let m = metrics(&node).await;
    assert_eq!(metric(&m, "rampart_shield_ddos_detected", &[]), 1.0, "{m}");
    let alarms = |kind: &str| {
        metric(
            &m,
            "rampart_shield_alarms_raised_total",
            &[&format!("kind=\"{kind}\"")],
        )
    };
    assert_eq!((alarms("rate_rule"), alarms("auth_failures")), (1.0, 1.0));
    assert_eq!(
        metric(
            &m,
            "rampart_shield_requests_total",
            &["rule=\"flood-guard\"", "action=\"block\""]
        ),
        f64::from(refused)
    );
    let _ = std::fs::remove_dir_all(&d);
}
