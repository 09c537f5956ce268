//! RiskAnalysis's schema migrations (sea-orm-migration): its own tables. The node runs
//! them with every other crate's, in name order ([`rampart_platform::migrations::compose`]). A
//! migration, once released, is never edited or renamed: changes go in a new one.

use sea_orm_migration::prelude::*;

use rampart_platform::migrations::{auto_id, index, ts};

rampart_platform::service_migrations![
    M20261124000004Risk,
    M20261124000007Epss,
    M20261203000001RiskGeneration,
];

#[derive(DeriveIden)]
enum RiskAssets {
    Table,
    Key,
    Name,
    Kind,
    Criticality,
    Retired,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RiskComponents {
    Table,
    Id,
    AssetKey,
    Name,
    Version,
    Purl,
    Cpe,
    PkgKey,
    CpeKey,
}

#[derive(DeriveIden)]
enum RiskVulnerabilities {
    Table,
    Id,
    Kind,
    Modified,
    Record,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RiskKev {
    Table,
    CveId,
    Entry,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RiskFeeds {
    Table,
    Id,
    Kind,
    Version,
    Count,
    IngestedAt,
}

#[derive(DeriveIden)]
enum RiskFindings {
    Table,
    Id,
    AssetKey,
    VulnId,
    Component,
    ComponentVersion,
    Purl,
    Cpe,
    Cves,
    Cwes,
    Kev,
    Likelihood,
    Impact,
    Score,
    Level,
    Confidence,
    Summary,
    Rationale,
    ScoredAt,
}

/// RiskAnalysis's tables: its view of assets and components (from asset events), the
/// vulnerability records and KEV entries it ingested, feed fingerprints, and its findings.
#[derive(Debug)]
struct M20261124000004Risk;

impl MigrationName for M20261124000004Risk {
    fn name(&self) -> &str {
        "m20261124_000004_risk"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000004Risk {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RiskAssets::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(RiskAssets::Key)
                            .string_len(512)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RiskAssets::Name).string_len(512).not_null())
                    .col(ColumnDef::new(RiskAssets::Kind).string_len(32).not_null())
                    .col(
                        ColumnDef::new(RiskAssets::Criticality)
                            .small_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RiskAssets::Retired).boolean().not_null())
                    .col(ts(RiskAssets::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskComponents::Table)
                    .if_not_exists()
                    .col(auto_id(RiskComponents::Id))
                    .col(
                        ColumnDef::new(RiskComponents::AssetKey)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskComponents::Name)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskComponents::Version)
                            .string_len(256)
                            .null(),
                    )
                    .col(ColumnDef::new(RiskComponents::Purl).string_len(1024).null())
                    .col(ColumnDef::new(RiskComponents::Cpe).string_len(512).null())
                    .col(
                        ColumnDef::new(RiskComponents::PkgKey)
                            .string_len(640)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RiskComponents::CpeKey)
                            .string_len(512)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskVulnerabilities::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(RiskVulnerabilities::Id)
                            .string_len(128)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RiskVulnerabilities::Kind)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(ts(RiskVulnerabilities::Modified))
                    .col(
                        ColumnDef::new(RiskVulnerabilities::Record)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ts(RiskVulnerabilities::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskKev::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(RiskKev::CveId)
                            .string_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RiskKev::Entry).json_binary().not_null())
                    .col(ts(RiskKev::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskFeeds::Table)
                    .if_not_exists()
                    .col(auto_id(RiskFeeds::Id))
                    .col(ColumnDef::new(RiskFeeds::Kind).string_len(8).not_null())
                    .col(ColumnDef::new(RiskFeeds::Version).string_len(64).not_null())
                    .col(ColumnDef::new(RiskFeeds::Count).big_integer().not_null())
                    .col(ts(RiskFeeds::IngestedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskFindings::Table)
                    .if_not_exists()
                    .col(auto_id(RiskFindings::Id))
                    .col(
                        ColumnDef::new(RiskFindings::AssetKey)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindings::VulnId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindings::Component)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindings::ComponentVersion)
                            .string_len(256)
                            .null(),
                    )
                    .col(ColumnDef::new(RiskFindings::Purl).string_len(1024).null())
                    .col(ColumnDef::new(RiskFindings::Cpe).string_len(512).null())
                    .col(ColumnDef::new(RiskFindings::Cves).json_binary().not_null())
                    .col(ColumnDef::new(RiskFindings::Cwes).json_binary().not_null())
                    .col(ColumnDef::new(RiskFindings::Kev).boolean().not_null())
                    .col(
                        ColumnDef::new(RiskFindings::Likelihood)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindings::Impact)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindings::Score)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindings::Level)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindings::Confidence)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(ColumnDef::new(RiskFindings::Summary).text().not_null())
                    .col(
                        ColumnDef::new(RiskFindings::Rationale)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ts(RiskFindings::ScoredAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "risk_components_asset",
            "risk_components",
            &["asset_key"],
            false,
        )
        .await?;
        index(
            manager,
            "risk_components_pkg",
            "risk_components",
            &["pkg_key"],
            false,
        )
        .await?;
        // Few components carry a CPE: index only those (PostgreSQL and SQLite both take WHERE).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS risk_components_cpe ON risk_components (cpe_key) \
                 WHERE cpe_key IS NOT NULL",
            )
            .await?;
        index(
            manager,
            "risk_feeds_version",
            "risk_feeds",
            &["kind", "version", "count"],
            true,
        )
        .await?;
        index(
            manager,
            "risk_findings_asset",
            "risk_findings",
            &["asset_key"],
            false,
        )
        .await?;
        index(
            manager,
            "risk_findings_score",
            "risk_findings",
            &["score"],
            false,
        )
        .await?;
        index(
            manager,
            "risk_findings_vuln",
            "risk_findings",
            &["vuln_id"],
            false,
        )
        .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum RiskEpss {
    Table,
    CveId,
    Epss,
    Percentile,
    UpdatedAt,
}

/// `risk_epss`: FIRST EPSS scores by CVE (RiskAnalysis).
#[derive(Debug)]
struct M20261124000007Epss;

impl MigrationName for M20261124000007Epss {
    fn name(&self) -> &str {
        "m20261124_000007_epss"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000007Epss {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RiskEpss::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(RiskEpss::CveId)
                            .string_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RiskEpss::Epss).double().not_null())
                    .col(ColumnDef::new(RiskEpss::Percentile).double().not_null())
                    .col(ts(RiskEpss::UpdatedAt))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum RiskGeneration {
    Table,
    Id,
    Counter,
}

/// `risk_generation`: the counter of RiskAnalysis's committed writes (one row, `id = 1`), which
/// the read models compare with the generation they cached at ([`crate::read_model`]).
#[derive(Debug)]
struct M20261203000001RiskGeneration;

impl MigrationName for M20261203000001RiskGeneration {
    fn name(&self) -> &str {
        "m20261203_000001_risk_generation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261203000001RiskGeneration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RiskGeneration::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(RiskGeneration::Id)
                            .small_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RiskGeneration::Counter)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let mut row = Query::insert();
        row.into_table(RiskGeneration::Table)
            .columns([RiskGeneration::Id, RiskGeneration::Counter])
            .values([1.into(), 0.into()])
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .on_conflict(
                OnConflict::column(RiskGeneration::Id)
                    .do_nothing()
                    .to_owned(),
            );
        manager.exec_stmt(row).await
    }
}
