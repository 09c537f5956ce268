//! The node's schema across releases: every crate's migrations compose into one list in release
//! order with unique names, and a database written by release 0.1.0 (before the services moved
//! into crates of their own; fixtures in `tests/fixtures`, see the README there) opens under this
//! build, on SQLite and on the real PostgreSQL, with everything it held read back.

use rampart::schema::{Migrator, migrations};
use rampart_asset::store::{AssetFilter, list_assets};
use rampart_platform::testing::{drop_schema, new_schema, pg_url};
use rampart_platform::{Db, DbOptions};
use rampart_risk::store::{FindingFilter, list_findings};
use sea_orm::{ConnectionTrait, Statement};

/// The migrations of release 0.1.0, in the order it applied them. Released names never change.
const RELEASE_0_1_0: [&str; 12] = [
    "m20261123_000001_events",
    "m20261123_000002_assets",
    "m20261124_000003_jobs",
    "m20261124_000004_risk",
    "m20261124_000005_drop_component_purl_index",
    "m20261124_000006_dead_letters",
    "m20261124_000007_epss",
    "m20261124_000008_audit",
    "m20261124_000009_incidents",
    "m20261124_000010_controls",
    "m20261124_000011_control_status",
    "m20261124_000012_control_risk_map",
];

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn composed_migrations_keep_the_released_names_and_order() {
    let all = migrations();
    assert!(
        rampart_platform::migrations::duplicate_names(&all).is_empty(),
        "two crates define a migration of the same name"
    );
    let names: Vec<String> = all.iter().map(|m| m.name().to_owned()).collect();
    assert!(
        names.len() >= RELEASE_0_1_0.len(),
        "a released migration is missing: {names:?}"
    );
    assert_eq!(
        &names[..RELEASE_0_1_0.len()],
        RELEASE_0_1_0,
        "released migrations must keep their names and order"
    );
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "migrations run in name (= release) order");
}

async fn count(db: &Db, sql: &str) -> i64 {
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(db.backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// What the 0.1.0 fixtures hold, read through this build's services.
async fn reads_back_release_0_1_0(db: &Db) {
    let (assets, total) = list_assets(
        db,
        &AssetFilter {
            page: 1,
            per_page: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(total, 2);
    let mut keys: Vec<&str> = assets.iter().map(|a| a.key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["csv:app-1", "csv:web-1"]);
    let app = assets.iter().find(|a| a.key == "csv:app-1").unwrap();
    let detail = rampart_asset::store::get_asset(db, app.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.components.len(), 2, "{detail:?}");

    let (findings, n) = list_findings(
        db,
        &FindingFilter {
            page: 1,
            per_page: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    assert_eq!(findings[0].vulnerability, "RAMPART-FIXTURE-0001");
    assert_eq!(findings[0].component, "demo-lib");
    assert_eq!(findings[0].score, 25);
    assert_eq!(findings[0].cves, ["CVE-2099-0001"]);

    let (incidents, n) = rampart_incident::store::list(db, None, None, 1, 10)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert!(
        incidents.iter().any(|i| i.cause_key == "alarm:fixture:a1"),
        "{incidents:?}"
    );
    assert!(
        incidents
            .iter()
            .any(|i| i.cause_key == "risk:csv:app-1:RAMPART-FIXTURE-0001"),
        "{incidents:?}"
    );

    assert_eq!(
        count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'").await,
        2
    );
    let v = rampart_audit::chain::verify(db, 10_000).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.entries, 11);
    // Nothing of 0.1.0 was re-applied, and every migration of this build is recorded.
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM seaql_migrations").await,
        migrations().len() as i64
    );

    // The upgraded database takes new writes: another import through this build's store.
    let inv = rampart_asset::parse(
        rampart_asset::Format::Csv,
        b"key,name\nnew-1,New after upgrade\n",
        &rampart_asset::CriticalityRules::default(),
    )
    .unwrap();
    let out = rampart_asset::store::apply_inventory(db, "schema-test", &inv, None)
        .await
        .unwrap();
    assert_eq!(out.discovered, ["csv:new-1"]);
}

#[tokio::test]
async fn a_sqlite_file_written_by_release_0_1_0_opens_and_reads_back() {
    let dir = std::env::temp_dir().join(format!("rampart-schema-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rampart.sqlite");
    std::fs::copy(fixture("schema-v0.1.0.sqlite"), &file).unwrap();
    let db = Db::connect::<Migrator>(
        &format!("sqlite://{}", file.display()),
        &DbOptions::default(),
    )
    .await
    .unwrap();
    reads_back_release_0_1_0(&db).await;
    db.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_postgresql_schema_written_by_release_0_1_0_opens_and_reads_back() {
    let schema = new_schema();
    let sql = std::fs::read_to_string(fixture("schema-v0.1.0.pg.sql"))
        .unwrap()
        .replace("rampart_fixture", &schema);
    let admin = sea_orm::Database::connect(pg_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for this test and is not usable at {}: {e}",
                pg_url()
            )
        });
    admin.execute_unprepared(&sql).await.unwrap();
    admin.close().await.unwrap();
    let db = Db::connect::<Migrator>(
        &pg_url(),
        &DbOptions {
            schema: Some(schema.clone()),
            ..DbOptions::default()
        },
    )
    .await
    .unwrap();
    reads_back_release_0_1_0(&db).await;
    db.close().await.unwrap();
    drop_schema(&schema).await;
}

#[test]
fn event_bodies_use_the_envelope_schema_version() {
    assert_eq!(
        rampart_contracts::SCHEMA_VERSION,
        rampart_platform::bus::SCHEMA_VERSION
    );
}
