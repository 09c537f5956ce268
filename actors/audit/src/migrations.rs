//! AuditReporting's schema migrations (sea-orm-migration): its own tables. The node runs
//! them with every other crate's, in name order ([`rampart_platform::migrations::compose`]). A
//! migration, once released, is never edited or renamed: changes go in a new one.

use sea_orm_migration::prelude::*;

use rampart_platform::migrations::ts;

rampart_platform::service_migrations![M20261124000008Audit,];

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
