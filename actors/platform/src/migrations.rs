//! The platform's schema migrations (sea-orm-migration) and the helpers every service's
//! migrations use.
//!
//! Each crate owns the migrations of its tables and lists them in [`migrations`]; the node
//! composes every crate's list into one migrator ordered by migration name (names begin with
//! their release timestamp, `mYYYYMMDD_NNNNNN_`, so name order is release order). A migration,
//! once released, is never edited or renamed: changes go in a new one, and an existing SQLite
//! file or PostgreSQL schema opens and upgrades under any later release.

use sea_orm_migration::prelude::*;
pub use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// The platform's own migrations (`processed_events`, `outbox`, `jobs`, `dead_letters`), in
/// release order.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(M20261123000001Events),
        Box::new(M20261124000003Jobs),
        Box::new(M20261124000006DeadLetters),
    ]
}

/// Migrator of the platform's tables alone (tests of the platform; a node uses the composed one).
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        migrations()
    }
}

/// Declares a service's migrations: `pub fn migrations()` (the listed ones, in release order)
/// and `pub struct Migrator` (the platform's and these, for the service on its own: its tests
/// and tools; a node composes every crate's in `rampart::schema`).
///
/// ```ignore
/// rampart_platform::service_migrations![M20261123000002Assets, M20261124000005DropComponentPurlIndex];
/// ```
#[macro_export]
macro_rules! service_migrations {
    ($($m:expr),+ $(,)?) => {
        /// This service's migrations, in release order.
        pub fn migrations() -> Vec<Box<dyn $crate::migrations::MigrationTrait>> {
            vec![$(Box::new($m)),+]
        }

        /// Migrator of the platform's tables and this service's (the service on its own: tests,
        /// tools; a node composes every crate's migrations).
        #[derive(Debug)]
        pub struct Migrator;

        impl $crate::migrations::MigratorTrait for Migrator {
            fn migrations() -> Vec<Box<dyn $crate::migrations::MigrationTrait>> {
                $crate::migrations::compose(vec![$crate::migrations::migrations(), migrations()])
            }
        }
    };
}

/// Composes migration lists into one, in name (= release) order. Names must be unique across
/// the lists ([`duplicate_names`] finds any; the node's schema test asserts there are none).
pub fn compose(lists: Vec<Vec<Box<dyn MigrationTrait>>>) -> Vec<Box<dyn MigrationTrait>> {
    let mut all: Vec<Box<dyn MigrationTrait>> = lists.into_iter().flatten().collect();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    all
}

/// Names that occur more than once in `list` (sorted by name, as [`compose`] returns it).
pub fn duplicate_names(list: &[Box<dyn MigrationTrait>]) -> Vec<String> {
    list.windows(2)
        .filter(|p| p[0].name() == p[1].name())
        .map(|p| p[0].name().to_owned())
        .collect()
}

/// A `TIMESTAMP WITH TIME ZONE NOT NULL` column.
pub fn ts(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

/// A `BIGINT` auto-increment primary key column.
pub fn auto_id(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

/// Creates index `name` on `table` (`cols`, `unique` or not) if it does not exist.
///
/// # Errors
/// Database errors.
pub async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &str,
    cols: &[&str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table)).if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    manager.create_index(i.to_owned()).await
}

#[derive(DeriveIden)]
enum ProcessedEvents {
    Table,
    Service,
    EventId,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Service,
    EventType,
    Envelope,
    CreatedAt,
    PublishedAt,
}

/// `processed_events` and `outbox`.
#[derive(Debug)]
struct M20261123000001Events;

// Names are explicit: the derive would name both migrations of this file after the file.
impl MigrationName for M20261123000001Events {
    fn name(&self) -> &str {
        "m20261123_000001_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261123000001Events {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProcessedEvents::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ProcessedEvents::Service)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ProcessedEvents::EventId).uuid().not_null())
                    .col(
                        ColumnDef::new(ProcessedEvents::ProcessedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ProcessedEvents::Service)
                            .col(ProcessedEvents::EventId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Outbox::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Outbox::Service).string_len(64).not_null())
                    .col(ColumnDef::new(Outbox::EventType).string_len(255).not_null())
                    .col(ColumnDef::new(Outbox::Envelope).json_binary().not_null())
                    .col(
                        ColumnDef::new(Outbox::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Outbox::PublishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_pending")
                    .table(Outbox::Table)
                    .col(Outbox::PublishedAt)
                    .col(Outbox::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    Input,
    State,
    Node,
    CreatedAt,
    StartedAt,
    FinishedAt,
    Result,
    Error,
}

/// `jobs`: the platform's table of asynchronous jobs (imports, feed ingestion).
#[derive(Debug)]
struct M20261124000003Jobs;

impl MigrationName for M20261124000003Jobs {
    fn name(&self) -> &str {
        "m20261124_000003_jobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000003Jobs {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Jobs::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Jobs::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(Jobs::Input).string_len(64).not_null())
                    .col(ColumnDef::new(Jobs::State).string_len(16).not_null())
                    .col(ColumnDef::new(Jobs::Node).string_len(128).not_null())
                    .col(
                        ColumnDef::new(Jobs::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Jobs::StartedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Jobs::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Jobs::Result).json_binary().null())
                    .col(ColumnDef::new(Jobs::Error).text().null())
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum DeadLetters {
    Table,
    Service,
    EventId,
    EventType,
    Envelope,
    Error,
    Deliveries,
    DeadAt,
    ReplayedAt,
}

/// `dead_letters`: events a consumer gave up on, with the error, for listing and replay.
#[derive(Debug)]
struct M20261124000006DeadLetters;

impl MigrationName for M20261124000006DeadLetters {
    fn name(&self) -> &str {
        "m20261124_000006_dead_letters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000006DeadLetters {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeadLetters::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(DeadLetters::Service)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(DeadLetters::EventId).uuid().not_null())
                    .col(
                        ColumnDef::new(DeadLetters::EventType)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DeadLetters::Envelope)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DeadLetters::Error).text().not_null())
                    .col(ColumnDef::new(DeadLetters::Deliveries).integer().not_null())
                    .col(ts(DeadLetters::DeadAt))
                    .col(
                        ColumnDef::new(DeadLetters::ReplayedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(DeadLetters::Service)
                            .col(DeadLetters::EventId),
                    )
                    .to_owned(),
            )
            .await
    }
}
