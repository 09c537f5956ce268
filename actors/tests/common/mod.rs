//! Helpers shared by the storage tests: the real PostgreSQL server (RAMPART_TEST_DATABASE_URL,
//! default postgres://postgres@127.0.0.1:5432/test; one fresh schema per test, failing loudly when
//! the server is not usable) and the real data beside the project.
#![allow(dead_code)]

use rampart_actors::db::{Db, DbOptions};

/// The test server's URL.
pub fn pg_url() -> String {
    std::env::var("RAMPART_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema name.
pub fn new_schema() -> String {
    format!("rampart_test_{}", uuid::Uuid::new_v4().simple())
}

/// The database in `schema` (created and migrated).
pub async fn postgres(schema: &str) -> Db {
    let url = pg_url();
    Db::connect(
        &url,
        &DbOptions {
            schema: Some(schema.to_owned()),
            ..DbOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for this test and is not usable at {url}: {e}. Start it \
             (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set \
             RAMPART_TEST_DATABASE_URL."
        )
    })
}

/// Drops `schema` and everything in it.
pub async fn drop_schema(schema: &str) {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(pg_url()).await.unwrap();
    db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

/// A file of ../shared/data.
pub fn data(rel: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/").to_owned() + rel;
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e} (../shared/data missing?)"))
}
