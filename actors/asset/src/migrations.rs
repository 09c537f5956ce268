//! AssetManagement's schema migrations (sea-orm-migration): its own tables. The node runs
//! them with every other crate's, in name order ([`rampart_platform::migrations::compose`]). A
//! migration, once released, is never edited or renamed: changes go in a new one.

use sea_orm_migration::prelude::*;

rampart_platform::service_migrations![
    M20261123000002Assets,
    M20261124000005DropComponentPurlIndex,
    M20261203000003AssetVersions,
];

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

/// Drops `asset_components_purl`: no query looks components up by purl, and the index made every
/// import slower as the table grew (random keys: each transaction dirtied more leaf pages).
#[derive(Debug)]
struct M20261124000005DropComponentPurlIndex;

impl MigrationName for M20261124000005DropComponentPurlIndex {
    fn name(&self) -> &str {
        "m20261124_000005_drop_component_purl_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000005DropComponentPurlIndex {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("asset_components_purl")
                    .table(AssetComponents::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum AssetVersions {
    Table,
    Id,
    AssetId,
    Number,
    Version,
    Fingerprint,
    Components,
    ImportedAt,
}

/// `asset_versions`: each import that changed an asset keeps its content (SBOM history).
#[derive(Debug)]
struct M20261203000003AssetVersions;

impl MigrationName for M20261203000003AssetVersions {
    fn name(&self) -> &str {
        "m20261203_000003_asset_versions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261203000003AssetVersions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AssetVersions::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AssetVersions::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AssetVersions::AssetId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AssetVersions::Number).integer().not_null())
                    .col(
                        ColumnDef::new(AssetVersions::Version)
                            .string_len(256)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AssetVersions::Fingerprint)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AssetVersions::Components)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AssetVersions::ImportedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("asset_versions_asset_number")
                    .table(AssetVersions::Table)
                    .col(AssetVersions::AssetId)
                    .col(AssetVersions::Number)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}
