//! Audit log: append rate (entries/s) and the time `verify` takes over the whole chain, on
//! SQLite, for 1,000,000 entries (`--quick`: 100,000). Entries are appended as AuditReporting's
//! consumer does (batches of 256 events, one transaction each, with the processed-event record
//! that makes appending idempotent).
//!
//! Run: `cargo bench -p rampart-audit --bench audit`.

use std::time::Instant;

use rampart_audit::actor::CONSUMER_BATCH;
use rampart_audit::chain as audit;
use rampart_audit::migrations::Migrator;
use rampart_platform::bus::Envelope;
use rampart_platform::{Db, DbOptions};

fn main() {
    let quick =
        std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let n: usize = if quick { 100_000 } else { 1_000_000 };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("rampart-audit-bench-{}", std::process::id()));
        let db = Db::connect::<Migrator>(
            &format!("sqlite://{}/a.sqlite", dir.display()),
            &DbOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let batch_of = |i: usize| -> Vec<Envelope> {
            (i..(i + CONSUMER_BATCH).min(n))
                .map(|k| {
                    Envelope::new(
                        "asset.discovered",
                        "bench",
                        &serde_json::json!({"asset": {"key": format!("host-{k}"), "name": format!("host-{k}"), "components": [{"name": "openssl", "version": "1.1.1"}]}}),
                    )
                    .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect()
        };
        let t = Instant::now();
        let mut i = 0;
        while i < n {
            let events = batch_of(i);
            audit::append(&db, &events)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            i += events.len();
        }
        let append_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let v = audit::verify(&db, 10_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let verify_s = t.elapsed().as_secs_f64();
        assert!(v.ok && v.entries == n as u64, "{v:?}");
        println!("audit log on SQLite, {n} entries, batches of {CONSUMER_BATCH}");
        println!(
            "append: {append_s:.1} s = {:.0} entries/s; verify: {verify_s:.1} s = {:.0} entries/s",
            n as f64 / append_s,
            n as f64 / verify_s
        );
        let _ = db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
