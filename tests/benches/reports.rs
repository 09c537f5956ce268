//! Report generation time with 100,000 risks in the register (`--quick`: 10,000), on SQLite:
//! the CSF 2.0 framework (CISO Assistant library from ../shared/data) loaded, N synthetic
//! findings spread over 1,000 assets and five levels, then `build_report` (the node's composition of the services' inputs) and its CSV and HTML
//! renderings. Baseline from the same run: one `SELECT level, count(*) ... GROUP BY level` over
//! the findings table, the least any report by level has to read.
//!
//! Run: `cargo bench -p rampart --bench reports`.

use std::time::Instant;

use chrono::Utc;
use rampart::api::audit::build_report;
use rampart::schema::Migrator;
use rampart_audit::reports;
use rampart_control::parse_ciso_library;
use rampart_control::store as controls;
use rampart_platform::{Db, DbOptions};
use rampart_risk::entities::risk_finding;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, Statement};

fn main() {
    let quick =
        std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let n: usize = if quick { 10_000 } else { 100_000 };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("rampart-report-bench-{}", std::process::id()));
        let db = Db::connect::<Migrator>(
            &format!("sqlite://{}/r.sqlite", dir.display()),
            &DbOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let path = format!(
            "{}/../shared/data/frameworks/nist-csf-2.0.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let lib = parse_ciso_library(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        controls::load(&db, &lib.frameworks, &lib.crosswalks)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let levels = ["very_low", "low", "moderate", "high", "very_high"];
        let now = Utc::now();
        let mut rows = Vec::with_capacity(400);
        for i in 0..n {
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
                rationale: Set(serde_json::json!([])),
                scored_at: Set(now),
                ..Default::default()
            });
            if rows.len() == 400 || i + 1 == n {
                risk_finding::Entity::insert_many(std::mem::take(&mut rows))
                    .exec_without_returning(db.conn())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let t = Instant::now();
        let _ = db
            .conn()
            .query_all_raw(Statement::from_string(
                db.backend(),
                "SELECT level, count(*) FROM risk_findings GROUP BY level",
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let scan_ms = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let r = build_report(&db, "nist-csf-2.0", now - chrono::Duration::days(30), now + chrono::Duration::days(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("framework loaded"));
        let build_ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(r.risks_total, n as u64);
        let t = Instant::now();
        let csv = reports::to_csv(&r);
        let csv_ms = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let html = rampart::console::report::render(&r);
        let html_ms = t.elapsed().as_secs_f64() * 1000.0;
        println!("report of nist-csf-2.0 with {n} risks on SQLite");
        println!(
            "baseline GROUP BY level scan: {scan_ms:.1} ms; build: {build_ms:.1} ms ({:.1}x the scan); CSV {csv_ms:.2} ms ({} bytes); HTML {html_ms:.2} ms ({} bytes)",
            build_ms / scan_ms,
            csv.len(),
            html.len()
        );
        let _ = db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
