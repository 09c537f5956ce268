//! The node's database schema: every crate's migrations composed into one migrator, ordered by
//! migration name (= release order, names begin with their timestamp), so a SQLite file or
//! PostgreSQL schema created by an earlier release opens and upgrades under this one.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of the platform and the five services, in release order (names are unique
/// across crates: `tests/schema.rs` asserts it).
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    rampart_platform::migrations::compose(vec![
        rampart_platform::migrations::migrations(),
        rampart_asset::migrations::migrations(),
        rampart_risk::migrations::migrations(),
        rampart_control::migrations::migrations(),
        rampart_incident::migrations::migrations(),
        rampart_audit::migrations::migrations(),
        crate::auth::migrations::migrations(),
        crate::intel::migrations::migrations(),
        crate::discovery::migrations::migrations(),
        crate::console::trends::migrations(),
        crate::nodes::migrations(),
    ])
}

/// The node's migrator ([`migrations`]).
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        migrations()
    }
}
