//! Time to first byte of the console's Overview and risk register with 100,000 findings
//! (`--quick`: 10,000), against `GET /livez` of the same node in the same run (the machine is
//! shared: ratios, not milliseconds, are the result).
//!
//! A SQLite database gets the CSF 2.0 framework (CISO Assistant library from ../shared/data)
//! and N synthetic findings over 1,000 assets and five levels; the `rampart` binary of this
//! build serves it; a local console user signs in; then each of
//! `/livez`, `/console/` and `/console/risks` (first page, default order) and
//! `/console/risks?page=500` is requested 60 times in turn, sequentially, measuring the time
//! until the response head arrives. Then the Overview 8 more times, each after its figures'
//! cache expired ([`rampart::console::trends::FIGURES_TTL`]): the cost of counting afresh.
//!
//! Run: `cargo bench -p rampart --bench console` (add `-- --quick` for 10,000 findings).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use rampart::schema::Migrator;
use rampart_control::parse_ciso_library;
use rampart_control::store as controls;
use rampart_platform::{Db, DbOptions};
use rampart_risk::entities::risk_finding;
use sea_orm::{ActiveValue::Set, EntityTrait};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n: usize = if quick { 10_000 } else { 100_000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async move {
        let dir =
            std::env::temp_dir().join(format!("rampart-console-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}/r.sqlite", dir.display());
        let db = Db::connect::<Migrator>(&url, &DbOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let path = format!(
            "{}/../shared/data/frameworks/nist-csf-2.0.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let lib =
            parse_ciso_library(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
                .unwrap_or_else(|e| panic!("{e}"));
        controls::load(&db, &lib.frameworks, &lib.crosswalks)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let levels = ["very_low", "low", "moderate", "high", "very_high"];
        let ssvc = ["Track", "Track*", "Attend", "Act"];
        let now = Utc::now();
        let mut rows = Vec::with_capacity(400);
        for i in 0..n {
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            let score = (i % 25 + 1) as i16;
            rows.push(risk_finding::ActiveModel {
                asset_key: Set(format!("host-{}", i % 1000)),
                vuln_id: Set(format!("CVE-2024-{i:05}")),
                component: Set("openssl".to_owned()),
                component_version: Set(Some(format!("1.0.{i}"))),
                purl: Set(None),
                cpe: Set(None),
                cves: Set(serde_json::json!([format!("CVE-2024-{i:05}")])),
                cwes: Set(serde_json::json!(["CWE-79"])),
                kev: Set(i % 50 == 0),
                likelihood: Set(3),
                impact: Set(3),
                score: Set(score),
                level: Set(levels[(score as usize - 1) / 5].to_owned()),
                confidence: Set("high".to_owned()),
                summary: Set("synthetic".to_owned()),
                rationale: Set(serde_json::json!(["synthetic"])),
                scored_at: Set(now),
                finding_key: Set(format!("{i:032x}")),
                ssvc: Set(Some(ssvc[i % 4].to_owned())),
                ..Default::default()
            });
            if rows.len() == 400 || i + 1 == n {
                risk_finding::Entity::insert_many(std::mem::take(&mut rows))
                    .exec_without_returning(db.conn())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let _ = db.close().await;
        let hash = rampart::console::session::hash_password("bench passphrase")
            .unwrap_or_else(|e| panic!("{e}"));
        let users = dir.join("users.toml");
        std::fs::write(
            &users,
            format!(
                "[[users]]\nusername = \"bench\"\npassword_hash = \"{hash}\"\nroles = [\"admin\"]\n"
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut node = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RAMPART_LOG", "warn")
            .env("RAMPART_DATABASE__URL", &url)
            .env("RAMPART_NODE__DATA_DIR", &dir)
            .env("RAMPART_CONSOLE__USERS_FILE", &users)
            // The edge's per-client throttle would measure itself, not the pages.
            .env("RAMPART_SHIELD__ENABLED", "false")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut ready = false;
        for _ in 0..600 {
            if http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "the node did not become ready");
        let login = http
            .post(format!("{base}/console/login"))
            .form(&[
                ("username", "bench"),
                ("password", "bench passphrase"),
                ("next", "/console/"),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let cookie = login
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("rampart_session="))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no session cookie: {login:?}"));
        let paths = [
            "/livez",
            "/console/",
            "/console/risks",
            "/console/risks?page=500",
        ];
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
        // Warm-up, then interleaved rounds so drift hits every path alike.
        for round in 0..70 {
            for (i, p) in paths.iter().enumerate() {
                let t = Instant::now();
                let r = http
                    .get(format!("{base}{p}"))
                    .header("Cookie", &cookie)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let ttfb = t.elapsed().as_secs_f64() * 1000.0;
                let status = r.status().as_u16();
                let body = r.text().await.unwrap_or_default();
                assert_eq!(
                    status,
                    200,
                    "{p}: {}",
                    body.chars().take(2000).collect::<String>()
                );
                if round >= 10 {
                    samples[i].push(ttfb);
                }
            }
        }
        // The overview counted afresh: each sample after the figures' cache expired.
        let mut cold = Vec::new();
        for _ in 0..8 {
            tokio::time::sleep(rampart::console::trends::FIGURES_TTL + Duration::from_millis(300))
                .await;
            let t = Instant::now();
            let r = http
                .get(format!("{base}/console/"))
                .header("Cookie", &cookie)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            cold.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.status().as_u16(), 200);
            let _ = r.bytes().await;
        }
        let _ = node.kill();
        let _ = node.wait();
        let base_p50 = pct(&mut samples[0].clone(), 0.5);
        let base_p95 = pct(&mut samples[0].clone(), 0.95);
        println!(
            "console TTFB with {n} findings (60 sequential requests each, after 10 warm-up rounds)"
        );
        for (i, p) in paths.iter().enumerate() {
            let p50 = pct(&mut samples[i].clone(), 0.5);
            let p95 = pct(&mut samples[i].clone(), 0.95);
            println!(
                "{p:<26} p50 {p50:7.2} ms ({:5.1}x /livez)   p95 {p95:7.2} ms ({:5.1}x /livez)",
                p50 / base_p50,
                p95 / base_p95
            );
        }
        let c50 = pct(&mut cold.clone(), 0.5);
        let cmax = pct(&mut cold, 1.0);
        println!(
            "{:<26} p50 {c50:7.2} ms ({:5.1}x /livez)   max {cmax:7.2} ms ({:5.1}x /livez p95)",
            "/console/ counted afresh",
            c50 / base_p50,
            cmax / base_p95
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}
