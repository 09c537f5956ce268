//! Storage on both engines: migrations, idempotent event handling, transactional outbox. Runs on a
//! SQLite file and on the real PostgreSQL server (RAMPART_TEST_DATABASE_URL, default
//! postgres://postgres@127.0.0.1:5432/test, one fresh schema per run); it fails, loudly, when the
//! server is not reachable.

use rampart_platform::testing as common;

use chrono::Utc;
use common::{drop_schema, postgres};
use rampart_asset::entities::asset;
use rampart_asset::migrations::Migrator;
use rampart_platform::bus::{Bus, Envelope, InProcessBus, InProcessBusConfig};
use rampart_platform::{Db, DbError, DbOptions, outbox, processed};
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait, TransactionTrait};
use serde_json::json;

fn new_asset(key: &str) -> asset::ActiveModel {
    asset::ActiveModel {
        key: Set(key.to_owned()),
        kind: Set("host".to_owned()),
        name: Set(key.to_owned()),
        version: Set(None),
        owner: Set(None),
        tags: Set(json!(["dmz"])),
        criticality: Set(4),
        source: Set("csv".to_owned()),
        fingerprint: Set("f".to_owned()),
        retired: Set(false),
        first_seen: Set(Utc::now()),
        last_seen: Set(Utc::now()),
        ..Default::default()
    }
}

/// The behaviour both engines must show.
async fn storage_contract(db: &Db) {
    let conn = db.conn();

    // Idempotency: recorded with the effect; a rolled-back attempt leaves no record.
    let event = Envelope::new("asset.discovered", "n", &json!({})).unwrap();
    let tx = conn.begin().await.unwrap();
    assert!(
        processed::first_time(&tx, "risk", event.event_id)
            .await
            .unwrap()
    );
    tx.rollback().await.unwrap();
    let tx = conn.begin().await.unwrap();
    assert!(
        processed::first_time(&tx, "risk", event.event_id)
            .await
            .unwrap(),
        "the rolled-back attempt did not count"
    );
    tx.commit().await.unwrap();
    let tx = conn.begin().await.unwrap();
    assert!(
        !processed::first_time(&tx, "risk", event.event_id)
            .await
            .unwrap()
    );
    // Another service handles the same event independently.
    assert!(
        processed::first_time(&tx, "audit", event.event_id)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    // Outbox: the event and the state change commit or roll back together.
    let tx = conn.begin().await.unwrap();
    asset::Entity::insert(new_asset("rolled-back"))
        .exec(&tx)
        .await
        .unwrap();
    let lost = Envelope::new("asset.discovered", "n", &json!({"key": "rolled-back"})).unwrap();
    outbox::append(&tx, "asset", &lost).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(asset::Entity::find().count(conn).await.unwrap(), 0);
    assert!(outbox::pending(conn, 100).await.unwrap().is_empty());

    let tx = conn.begin().await.unwrap();
    asset::Entity::insert(new_asset("web-1"))
        .exec(&tx)
        .await
        .unwrap();
    let first = Envelope::new("asset.discovered", "n", &json!({"key": "web-1"})).unwrap();
    let second = Envelope::new("asset.changed", "n", &json!({"key": "web-1"})).unwrap();
    outbox::append(&tx, "asset", &first).await.unwrap();
    outbox::append(&tx, "asset", &second).await.unwrap();
    tx.commit().await.unwrap();
    let pending = outbox::pending(conn, 100).await.unwrap();
    assert_eq!(
        pending,
        vec![first.clone(), second.clone()],
        "in order, intact"
    );

    // The relay publishes them in order and marks them.
    let bus = InProcessBus::new(InProcessBusConfig::default());
    let sub = bus.subscribe("risk", &["asset.*"]).unwrap();
    assert_eq!(
        outbox::relay_once(conn, &Bus::InProcess(bus.clone()), 100)
            .await
            .unwrap(),
        2
    );
    for expected in [&first, &second] {
        let d = sub.next().await.unwrap();
        assert_eq!(d.envelope(), expected);
        d.ack();
    }
    assert!(outbox::pending(conn, 100).await.unwrap().is_empty());
    assert_eq!(
        outbox::relay_once(conn, &Bus::InProcess(bus.clone()), 100)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn sqlite_file_is_created_migrated_and_keeps_the_contract() {
    let dir = std::env::temp_dir().join(format!("rampart-db-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/nested/rampart.sqlite", dir.display());
    let db = Db::connect::<Migrator>(&url, &DbOptions::default())
        .await
        .unwrap();
    assert!(dir.join("nested/rampart.sqlite").exists());
    storage_contract(&db).await;
    db.close().await.unwrap();
    // Reopening runs no migration twice and keeps the data.
    let db = Db::connect::<Migrator>(&url, &DbOptions::default())
        .await
        .unwrap();
    assert_eq!(asset::Entity::find().count(db.conn()).await.unwrap(), 1);
    db.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn postgres_keeps_the_same_contract() {
    let schema = format!("rampart_test_{}", uuid::Uuid::new_v4().simple());
    let db = postgres::<Migrator>(&schema).await;
    storage_contract(&db).await;
    db.close().await.unwrap();
    let db = postgres::<Migrator>(&schema).await;
    assert_eq!(asset::Entity::find().count(db.conn()).await.unwrap(), 1);
    db.close().await.unwrap();
    drop_schema(&schema).await;
}

#[tokio::test]
async fn events_committed_before_a_crash_are_published_after_restart() {
    let dir = std::env::temp_dir().join(format!("rampart-db-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/rampart.sqlite", dir.display());
    let e = Envelope::new("asset.retired", "n", &json!({"key": "old"})).unwrap();
    {
        let db = Db::connect::<Migrator>(&url, &DbOptions::default())
            .await
            .unwrap();
        let tx = db.conn().begin().await.unwrap();
        outbox::append(&tx, "asset", &e).await.unwrap();
        tx.commit().await.unwrap();
        // The node dies here, before its relay ran.
        db.close().await.unwrap();
    }
    let db = Db::connect::<Migrator>(&url, &DbOptions::default())
        .await
        .unwrap();
    let bus = InProcessBus::new(InProcessBusConfig::default());
    let sub = bus.subscribe("audit", &["#"]).unwrap();
    assert_eq!(
        outbox::relay_once(db.conn(), &Bus::InProcess(bus.clone()), 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(sub.next().await.unwrap().envelope(), &e);
    db.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn unsupported_urls_are_refused_clearly() {
    for url in ["mysql://root@localhost/x", "redis://x", "nonsense"] {
        let err = Db::connect::<Migrator>(url, &DbOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, DbError::UnsupportedUrl(_)), "{url}: {err}");
        assert!(err.to_string().contains("sqlite://"), "{err}");
    }
}
