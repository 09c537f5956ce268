//! AssetManagement's storage on real SBOMs, on SQLite and on the real PostgreSQL: first import
//! discovers, a second identical import changes nothing, a changed component is one
//! `asset.changed`, retiring works once; every change has its event in the outbox, written in the
//! same transaction.

use rampart_platform::testing as common;

use common::data;

use rampart_asset::entities::{asset, component};
use rampart_asset::migrations::Migrator;
use rampart_asset::store as assets;
use rampart_asset::{CriticalityRules, Format, Inventory, parse};
use rampart_platform::{Db, DbOptions, outbox};
use sea_orm::{EntityTrait, PaginatorTrait};

fn inventories() -> Vec<Inventory> {
    let rules = CriticalityRules::default();
    vec![
        parse(
            Format::CycloneDx,
            &data("sbom/keycloak-10.0.2.cdx.json"),
            &rules,
        )
        .unwrap(),
        parse(
            Format::CycloneDx,
            &data("sbom/dropwizard-1.3.15.cdx.json"),
            &rules,
        )
        .unwrap(),
    ]
}

async fn contract(db: &Db) {
    let conn = db.conn();
    let invs = inventories();
    let assets_total: usize = invs.iter().map(|i| i.assets.len()).sum();
    let components_total: usize = invs.iter().map(|i| i.component_count()).sum();
    assert!(
        components_total > 1000,
        "keycloak + dropwizard: {components_total}"
    );

    let mut discovered = 0;
    for inv in &invs {
        let out = assets::apply_inventory(db, "n1", inv, None).await.unwrap();
        assert!(out.changed.is_empty());
        discovered += out.discovered.len();
    }
    assert_eq!(discovered, assets_total);
    assert_eq!(
        asset::Entity::find().count(conn).await.unwrap() as usize,
        assets_total
    );
    assert_eq!(
        component::Entity::find().count(conn).await.unwrap() as usize,
        components_total
    );
    let events = outbox::pending(conn, 10_000).await.unwrap();
    assert_eq!(events.len(), assets_total);
    assert!(events.iter().all(|e| e.event_type == "asset.discovered"));
    let keycloak = &invs[0].assets[0];
    let ev = events
        .iter()
        .find(|e| e.body["asset"]["key"] == keycloak.key.as_str())
        .unwrap();
    assert_eq!(
        ev.body["asset"]["components"].as_array().unwrap().len(),
        keycloak.components.len(),
        "the event carries the components: consumers never read asset tables"
    );

    // The same inventories again: nothing changes, no event.
    for inv in &invs {
        let out = assets::apply_inventory(db, "n1", inv, None).await.unwrap();
        assert!(out.discovered.is_empty() && out.changed.is_empty());
        assert_eq!(out.unchanged, inv.assets.len());
        assert_eq!(out.components_written, 0);
    }
    assert_eq!(
        outbox::pending(conn, 10_000).await.unwrap().len(),
        assets_total
    );
    assert_eq!(
        component::Entity::find().count(conn).await.unwrap() as usize,
        components_total
    );

    // One component upgraded: one asset.changed, components replaced, counts unchanged.
    let mut upgraded = invs[0].clone();
    let c = upgraded.assets[0]
        .components
        .iter_mut()
        .find(|c| c.version.is_some())
        .unwrap();
    c.version = Some("999.0.0".to_owned());
    let out = assets::apply_inventory(db, "n1", &upgraded, None)
        .await
        .unwrap();
    assert_eq!(out.changed, vec![keycloak.key.clone()]);
    assert_eq!(out.components_written, keycloak.components.len());
    assert_eq!(
        component::Entity::find().count(conn).await.unwrap() as usize,
        components_total
    );
    let events = outbox::pending(conn, 10_000).await.unwrap();
    assert_eq!(events.len(), assets_total + 1);
    let changed = events.last().unwrap();
    assert_eq!(changed.event_type, "asset.changed");
    assert!(changed.body.to_string().contains("999.0.0"));

    assert!(assets::retire(db, "n1", &keycloak.key).await.unwrap());
    assert!(
        !assets::retire(db, "n1", &keycloak.key).await.unwrap(),
        "already retired"
    );
    assert!(!assets::retire(db, "n1", "no-such-asset").await.unwrap());
    let last = outbox::pending(conn, 10_000).await.unwrap().pop().unwrap();
    assert_eq!(last.event_type, "asset.retired");
}

#[tokio::test]
async fn sqlite() {
    let dir = std::env::temp_dir().join(format!("rampart-assets-{}", uuid::Uuid::new_v4()));
    let db = Db::connect::<Migrator>(
        &format!("sqlite://{}/a.sqlite", dir.display()),
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
