//! AuditReporting's schema migrations (sea-orm-migration): its own tables. The node runs
//! them with every other crate's, in name order ([`rampart_platform::migrations::compose`]). A
//! migration, once released, is never edited or renamed: changes go in a new one.

use sea_orm_migration::prelude::*;

use rampart_platform::migrations::ts;

rampart_platform::service_migrations![M20261124000008Audit, M20261202000003AuditCallColumns,];

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    EventId,
    EventType,
    SourceNode,
    Entry,
    PrevHash,
    Hash,
    RecordedAt,
    Principal,
    Operation,
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    Id,
    Seq,
    Hash,
}

/// AuditReporting's append-only, hash-chained log and its head.
#[derive(Debug)]
struct M20261124000008Audit;

impl MigrationName for M20261124000008Audit {
    fn name(&self) -> &str {
        "m20261124_000008_audit"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000008Audit {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AuditLog::Seq)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::EventId)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::EventType)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::SourceNode)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLog::Entry).text().not_null())
                    .col(ColumnDef::new(AuditLog::PrevHash).string_len(64).not_null())
                    .col(ColumnDef::new(AuditLog::Hash).string_len(64).not_null())
                    .col(ts(AuditLog::RecordedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditHead::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AuditHead::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditHead::Seq).big_integer().not_null())
                    .col(ColumnDef::new(AuditHead::Hash).string_len(64).not_null())
                    .to_owned(),
            )
            .await
    }
}

/// `audit_log.principal` and `audit_log.operation`: who made an API call (`sub`) and which
/// (`GET /api/v1/assets/{id}`), copied from `api.called` entries when they are appended so
/// `GET /api/v1/audit` filters on an index; `NULL` for other events. Outside the hash: they
/// repeat what the hashed entry says.
#[derive(Debug)]
struct M20261202000003AuditCallColumns;

impl MigrationName for M20261202000003AuditCallColumns {
    fn name(&self) -> &str {
        "m20261202_000003_audit_call_columns"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261202000003AuditCallColumns {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER TABLE: SQLite accepts no more.
        manager
            .alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .add_column(ColumnDef::new(AuditLog::Principal).string_len(512).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .add_column(ColumnDef::new(AuditLog::Operation).string_len(512).null())
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("audit_log_principal", AuditLog::Principal),
            ("audit_log_operation", AuditLog::Operation),
            ("audit_log_recorded_at", AuditLog::RecordedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLog::Table)
                        .col(col)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
