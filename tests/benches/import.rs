//! Import throughput and time from import to risks available, for 1k, 10k and 100k components
//! on SQLite: parse a CycloneDX SBOM, store it (AssetManagement: one transaction, events in the
//! outbox), then score it (RiskAnalysis: the outbox's asset events applied in batches of 64, as
//! its consumer does, against the real KEV catalog, the OSV Go dump and the GHSA records, loaded
//! before the clock starts). The synthetic SBOMs reuse the real component names,
//! groups and versions of keycloak's SBOM (../shared/data), spread over assets of 1,000 components.
//! Reports components/s, the cost per component relative to the smallest size (1.0 = linear), and
//! the process's peak resident memory (VmHWM) after each size.
//!
//! Run: `cargo bench -p rampart --bench import` (add `-- --quick` for 1k and 10k only).

use std::time::Instant;

use rampart::schema::Migrator;
use rampart_asset::store as assets;
use rampart_asset::{CriticalityRules, Format, parse};
use rampart_platform::{Db, DbOptions, outbox};
use rampart_risk::actor::CONSUMER_BATCH;
use rampart_risk::feeds::{kev, osv};
use rampart_risk::store::{FeedInput, RiskState, apply_asset_events, ingest};
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
    let read = |rel: &str| {
        let path = format!("{}/../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    };
    let bytes = read("sbom/keycloak-10.0.2.cdx.json");
    let mut feeds = vec![
        FeedInput::Kev(
            kev::parse_kev(&read("kev/known_exploited_vulnerabilities.json"))
                .unwrap_or_else(|e| panic!("{e}")),
        ),
        FeedInput::Vulnerabilities(
            osv::parse_osv_zip(&read("osv/Go/all.zip"), &osv::ZipLimits::default())
                .unwrap_or_else(|e| panic!("{e}")),
        ),
    ];
    let mut ghsa: Vec<_> = std::fs::read_dir(format!(
        "{}/../shared/data/osv/ghsa",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{e}"))
    .filter_map(|e| e.ok().map(|e| e.path()))
    .collect();
    ghsa.sort();
    let mut records = Vec::new();
    for p in ghsa {
        let b = std::fs::read(&p).unwrap_or_else(|e| panic!("{e}"));
        records.extend(osv::parse_osv(&b).unwrap_or_else(|e| panic!("{e}")));
    }
    feeds.push(FeedInput::Vulnerabilities(osv::osv_feed(records)));
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
    println!(
        "import = parse CycloneDX + store (SQLite, one transaction per BOM, outbox events); \
         score = asset events -> findings (batches of {CONSUMER_BATCH}); total = import to risks available"
    );
    println!(
        "{:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9} {:>12} {:>11} {:>12}",
        "components",
        "parse s",
        "store s",
        "score s",
        "total s",
        "comp/s",
        "findings",
        "import rel",
        "total rel",
        "peak RSS MiB"
    );
    let mut base_import = None;
    let mut base_cost = None;
    for &n in sizes {
        let boms = synthetic(&real, n, 1_000);
        let dir = std::env::temp_dir().join(format!("rampart-bench-{n}-{}", std::process::id()));
        let (parse_s, store_s, score_s, found) = rt.block_on(async {
            let db = Db::connect::<Migrator>(
                &format!("sqlite://{}/b.sqlite", dir.display()),
                &DbOptions::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let mut state = RiskState::default();
            for f in &feeds {
                ingest(&db, "bench", &mut state, f.clone())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
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
            let t = Instant::now();
            let events: Vec<_> = outbox::pending(db.conn(), u64::MAX)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .filter(|e| e.event_type.starts_with("asset."))
                .collect();
            for batch in events.chunks(CONSUMER_BATCH) {
                apply_asset_events(&db, "bench", &state, batch)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let score_s = t.elapsed().as_secs_f64();
            let (_, found) = rampart_risk::store::list_findings(
                &db,
                &rampart_risk::store::FindingFilter {
                    page: 1,
                    per_page: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let _ = db.close().await;
            (parse_s, store_s, score_s, found)
        });
        let _ = std::fs::remove_dir_all(&dir);
        let import = parse_s + store_s;
        let total = import + score_s;
        let per_import = import / n as f64;
        let per_total = total / n as f64;
        let import_rel = per_import / *base_import.get_or_insert(per_import);
        let total_rel = per_total / *base_cost.get_or_insert(per_total);
        println!(
            "{n:>9} {parse_s:>9.3} {store_s:>9.3} {score_s:>9.3} {total:>9.3} {:>10.0} {found:>9} {import_rel:>12.2} {total_rel:>11.2} {:>12.1}",
            n as f64 / import,
            peak_rss_mib()
        );
    }
}
