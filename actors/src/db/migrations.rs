//! Schema migrations (sea-orm-migration), applied in order at start by [`super::Db::connect`].
//! A migration, once released, is never edited: changes go in a new one.

use sea_orm_migration::prelude::*;

/// All migrations, in order.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M20261123000001Events),
            Box::new(M20261123000002Assets),
        ]
    }
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
enum AssetAssets {
    Table,
    Id,
    Key,
    Kind,
    Name,
    Version,
    Owner,
    Tags,
    Criticality,
    Source,
    Fingerprint,
    Retired,
    FirstSeen,
    LastSeen,
}

#[derive(DeriveIden)]
enum AssetComponents {
    Table,
    Id,
    AssetId,
    Name,
    Version,
    Purl,
    Cpe,
    Ecosystem,
}

/// AssetManagement's `asset_assets` and `asset_components`.
#[derive(Debug)]
struct M20261123000002Assets;

impl MigrationName for M20261123000002Assets {
    fn name(&self) -> &str {
        "m20261123_000002_assets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261123000002Assets {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AssetAssets::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AssetAssets::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AssetAssets::Key)
                            .string_len(512)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(AssetAssets::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(AssetAssets::Name).string_len(512).not_null())
                    .col(ColumnDef::new(AssetAssets::Version).string_len(256).null())
                    .col(ColumnDef::new(AssetAssets::Owner).string_len(256).null())
                    .col(ColumnDef::new(AssetAssets::Tags).json_binary().not_null())
                    .col(
                        ColumnDef::new(AssetAssets::Criticality)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AssetAssets::Source)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AssetAssets::Fingerprint)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AssetAssets::Retired)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(AssetAssets::FirstSeen)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AssetAssets::LastSeen)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AssetComponents::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AssetComponents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AssetComponents::AssetId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AssetComponents::Name)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AssetComponents::Version)
                            .string_len(256)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AssetComponents::Purl)
                            .string_len(1024)
                            .null(),
                    )
                    .col(ColumnDef::new(AssetComponents::Cpe).string_len(512).null())
                    .col(
                        ColumnDef::new(AssetComponents::Ecosystem)
                            .string_len(64)
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("asset_components_asset")
                            .from(AssetComponents::Table, AssetComponents::AssetId)
                            .to(AssetAssets::Table, AssetAssets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("asset_components_asset_id", AssetComponents::AssetId),
            ("asset_components_purl", AssetComponents::Purl),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AssetComponents::Table)
                        .col(col)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
