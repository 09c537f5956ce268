//! Import throughput: parse a CycloneDX SBOM and store it (one transaction, events in the outbox)
//! on SQLite, for 1k, 10k and 100k components. The synthetic SBOMs reuse the real component names,
//! groups and versions of keycloak's SBOM (../shared/data), spread over assets of 1,000 components.
//! Reports components/s, the cost per component relative to the smallest size (1.0 = linear), and
//! the process's peak resident memory (VmHWM) after each size.
//!
//! Run: `cargo bench -p rampart-actors --bench import` (add `-- --quick` for 1k and 10k only).

use std::time::Instant;

use rampart_actors::asset::{CriticalityRules, Format, parse};
use rampart_actors::db::{Db, DbOptions, assets};
use serde_json::{Value, json};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A CycloneDX 1.4 BOM per 1,000 components, built from real (group, name, version) triples.
fn synthetic(
    real: &[(String, String, String)],
    components: usize,
    per_asset: usize,
) -> Vec<Vec<u8>> {
    let mut boms = Vec::new();
    let mut made = 0;
    let mut asset = 0;
    while made < components {
        let n = per_asset.min(components - made);
        let comps: Vec<Value> = (0..n)
            .map(|i| {
                let (g, name, v) = &real[(made + i) % real.len()];
                // A distinct version per copy keeps every purl unique across the BOM.
                let version = format!("{v}-r{}", (made + i) / real.len());
                json!({
                    "type": "library", "group": g, "name": name, "version": version,
                    "purl": format!("pkg:maven/{g}/{name}@{version}")
                })
            })
            .collect();
        let bom = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
            "metadata": {"component": {"type": "application", "name": format!("app-{asset}"), "version": "1.0",
                                        "purl": format!("pkg:generic/bench/app-{asset}@1.0")}},
            "components": comps
        });
        boms.push(serde_json::to_vec(&bom).unwrap_or_default());
        made += n;
        asset += 1;
    }
    boms
}

fn main() {
    let quick =
        std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/sbom/keycloak-10.0.2.cdx.json"
    );
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let rules = CriticalityRules::default();
    let inv = parse(Format::CycloneDx, &bytes, &rules).unwrap_or_else(|e| panic!("{e}"));
    let real: Vec<(String, String, String)> = inv
        .assets
        .iter()
        .flat_map(|a| a.components.iter())
        .filter_map(|c| Some((c.group.clone()?, c.name.clone(), c.version.clone()?)))
        .collect();
    let sizes: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    println!("import = parse CycloneDX + store (SQLite, one transaction per BOM, outbox events)");
    println!(
        "{:>9} {:>10} {:>10} {:>12} {:>14} {:>12}",
        "components", "parse s", "store s", "comp/s", "cost/comp rel", "peak RSS MiB"
    );
    let mut base_cost = None;
    for &n in sizes {
        let boms = synthetic(&real, n, 1_000);
        let dir = std::env::temp_dir().join(format!("rampart-bench-{n}-{}", std::process::id()));
        let (parse_s, store_s) = rt.block_on(async {
            let db = Db::connect(
                &format!("sqlite://{}/b.sqlite", dir.display()),
                &DbOptions::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let mut parse_s = 0.0;
            let mut store_s = 0.0;
            for bom in &boms {
                let t = Instant::now();
                let inv = parse(Format::CycloneDx, bom, &rules).unwrap_or_else(|e| panic!("{e}"));
                parse_s += t.elapsed().as_secs_f64();
                let t = Instant::now();
                assets::apply_inventory(&db, "bench", &inv, None)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                store_s += t.elapsed().as_secs_f64();
            }
            let _ = db.close().await;
            (parse_s, store_s)
        });
        let _ = std::fs::remove_dir_all(&dir);
        let total = parse_s + store_s;
        let per = total / n as f64;
        let rel = per / *base_cost.get_or_insert(per);
        println!(
            "{n:>9} {parse_s:>10.3} {store_s:>10.3} {:>12.0} {rel:>14.2} {:>12.1}",
            n as f64 / total,
            peak_rss_mib()
        );
    }
}
