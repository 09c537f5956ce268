//! RiskAnalysis's storage, on real SBOMs and feeds, on SQLite and on the real PostgreSQL:
//! asset events are applied once (redeliveries have no effect), a new feed re-scores exactly the
//! assets holding a package it names, an unchanged feed is a no-op, a KEV catalog raises the
//! likelihood of the findings it lists, a retired asset keeps no findings, a bad event is
//! rejected without spoiling its batch.

use rampart_platform::testing as common;

use common::data;

use std::collections::BTreeSet;

use rampart::schema::Migrator;
use rampart_asset::store as assets;
use rampart_asset::{CriticalityRules, Format, parse};
use rampart_platform::bus::Envelope;
use rampart_platform::consumer::EventOutcome;
use rampart_platform::{Db, DbOptions, outbox};
use rampart_risk::feeds::{kev, osv};
use rampart_risk::purl::package_from_purl;
use rampart_risk::store::{
    self as risk, FeedInput, FindingFilter, RiskState, apply_asset_events, ingest,
};

async fn risk_events(db: &Db) -> Vec<Envelope> {
    outbox::pending(db.conn(), 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type.starts_with("risk."))
        .collect()
}

async fn findings(db: &Db, asset: Option<&str>) -> Vec<risk::FindingView> {
    let (items, total) = risk::list_findings(
        db,
        &FindingFilter {
            asset_key: asset.map(str::to_owned),
            page: 1,
            per_page: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(items.len() as u64, total);
    items
}

async fn contract(db: &Db) {
    let rules = CriticalityRules::default();
    let mut keys = Vec::new();
    let mut invs = Vec::new();
    for sbom in ["keycloak-10.0.2.cdx.json", "dropwizard-1.3.15.cdx.json"] {
        let inv = parse(Format::CycloneDx, &data(&format!("sbom/{sbom}")), &rules).unwrap();
        assets::apply_inventory(db, "n1", &inv, None).await.unwrap();
        keys.push(inv.assets[0].key.clone());
        invs.push(inv);
    }
    let asset_events: Vec<Envelope> = outbox::pending(db.conn(), 100_000).await.unwrap();
    assert_eq!(asset_events.len(), 2);

    // Asset events, applied once; the redelivered batch has no effect.
    let mut state = RiskState::load(db.conn()).await.unwrap();
    let out = apply_asset_events(db, "n1", &state, &asset_events)
        .await
        .unwrap();
    assert_eq!(out, vec![EventOutcome::Applied, EventOutcome::Applied]);
    assert_eq!(risk_events(db).await.len(), 2, "one risk.scored per asset");
    let out = apply_asset_events(db, "n1", &state, &asset_events)
        .await
        .unwrap();
    assert_eq!(out, vec![EventOutcome::Duplicate, EventOutcome::Duplicate]);
    assert_eq!(risk_events(db).await.len(), 2, "no second effect");
    assert!(
        findings(db, None).await.is_empty(),
        "no vulnerability known yet"
    );

    // A new feed (the Spring4Shell advisory) re-scores exactly the assets holding a package it names.
    let record = data("osv/ghsa/GHSA-36p3-wjmg-h94x.json");
    let parsed = osv::parse_osv(&record).unwrap();
    let named: BTreeSet<String> = parsed[0]
        .affected
        .iter()
        .map(|a| a.package.to_lowercase())
        .collect();
    let expected: BTreeSet<String> = invs
        .iter()
        .flat_map(|i| &i.assets)
        .filter(|a| {
            a.components.iter().any(|c| {
                c.purl
                    .as_deref()
                    .and_then(|p| package_from_purl(p).ok())
                    .is_some_and(|p| named.contains(&p.name.to_lowercase()))
            })
        })
        .map(|a| a.key.clone())
        .collect();
    assert_eq!(
        expected.len(),
        1,
        "only keycloak carries Spring: {expected:?}"
    );
    let feed = FeedInput::Vulnerabilities(osv::osv_feed(parsed));
    let out = ingest(db, "n1", &mut state, feed.clone()).await.unwrap();
    assert!(!out.unchanged);
    assert_eq!(out.changed_records, 1);
    assert_eq!(out.assets_rescored, expected.len());
    let kc = findings(db, Some(&keys[0])).await;
    assert!(!kc.is_empty());
    assert_eq!(out.findings, kc.len());
    assert!(
        kc.iter()
            .all(|f| f.vulnerability == "GHSA-36p3-wjmg-h94x" && !f.kev)
    );
    assert!(findings(db, Some(&keys[1])).await.is_empty());
    let changed: Vec<Envelope> = risk_events(db)
        .await
        .into_iter()
        .filter(|e| e.event_type == "risk.changed")
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].body["asset_key"], keys[0].as_str());
    assert_eq!(changed[0].body["previous_finding_count"], 0);

    // The same feed again: a no-op.
    let again = ingest(db, "n1", &mut state, feed).await.unwrap();
    assert!(again.unchanged);
    assert_eq!(again.assets_rescored, 0);

    // The KEV catalog lists CVE-2022-22965: keycloak's findings become known exploited, likelihood 5.
    let catalog = kev::parse_kev(&data("kev/known_exploited_vulnerabilities.json")).unwrap();
    assert!(catalog.contains("CVE-2022-22965"));
    let out = ingest(db, "n1", &mut state, FeedInput::Kev(catalog))
        .await
        .unwrap();
    assert_eq!(out.assets_rescored, 1);
    let kc = findings(db, Some(&keys[0])).await;
    assert!(kc.iter().all(|f| f.kev && f.likelihood == 5), "{kc:?}");
    // A fresh state loaded from the database agrees with the one kept in step.
    let reloaded = RiskState::load(db.conn()).await.unwrap();
    assert_eq!(reloaded.vulnerability_count(), state.vulnerability_count());
    assert_eq!(reloaded.kev_count(), state.kev_count());

    // A batch with a bad event and a retirement: the bad one is rejected, the other applied.
    let bad = Envelope::new("asset.changed", "n1", &serde_json::json!({"asset": 42})).unwrap();
    let retired =
        Envelope::new("asset.retired", "n1", &serde_json::json!({"key": keys[0]})).unwrap();
    let other = Envelope::new("asset.renamed", "n1", &serde_json::json!({})).unwrap();
    let out = apply_asset_events(db, "n1", &state, &[bad, retired, other])
        .await
        .unwrap();
    assert!(matches!(out[0], EventOutcome::Rejected(_)));
    assert_eq!(out[1], EventOutcome::Applied);
    assert_eq!(out[2], EventOutcome::Ignored);
    assert!(
        findings(db, Some(&keys[0])).await.is_empty(),
        "retired: no findings"
    );
    assert!(risk::asset_risk(db, &keys[0]).await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite() {
    let dir = std::env::temp_dir().join(format!("rampart-risk-{}", uuid::Uuid::new_v4()));
    let db = Db::connect::<Migrator>(
        &format!("sqlite://{}/r.sqlite", dir.display()),
        &DbOptions::default(),
    )
    .await
    .unwrap();
    contract(&db).await;
    db.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn postgres() {
    let schema = common::new_schema();
    let db = common::postgres::<Migrator>(&schema).await;
    contract(&db).await;
    db.close().await.unwrap();
    common::drop_schema(&schema).await;
}
