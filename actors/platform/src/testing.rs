//! Helpers shared by every crate's storage tests (feature `test-support`, for dev-dependencies
//! only): the real PostgreSQL server (RAMPART_TEST_DATABASE_URL, default
//! postgres://postgres@127.0.0.1:5432/test; one fresh schema per test, failing loudly when the
//! server is not usable) and the real data beside the project (`../shared/data`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sea_orm_migration::MigratorTrait;

use crate::{Db, DbOptions};

/// The test server's URL.
pub fn pg_url() -> String {
    std::env::var("RAMPART_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema name.
pub fn new_schema() -> String {
    format!("rampart_test_{}", uuid::Uuid::new_v4().simple())
}

/// The database in `schema` (created and migrated by `M`).
///
/// # Panics
/// When the server is not usable, saying how to start it.
pub async fn postgres<M: MigratorTrait>(schema: &str) -> Db {
    let url = pg_url();
    Db::connect::<M>(
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
///
/// # Panics
/// When the server is not usable.
pub async fn drop_schema(schema: &str) {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(pg_url()).await.unwrap();
    db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

/// A file of ../shared/data (beside the workspace).
///
/// # Panics
/// When the file cannot be read.
pub fn data(rel: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/").to_owned() + rel;
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e} (../shared/data missing?)"))
}
