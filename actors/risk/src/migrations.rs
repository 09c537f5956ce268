//! RiskAnalysis's schema migrations (sea-orm-migration): its own tables. The node runs
//! them with every other crate's, in name order ([`rampart_platform::migrations::compose`]). A
//! migration, once released, is never edited or renamed: changes go in a new one.

use sea_orm_migration::prelude::*;

use rampart_platform::migrations::{auto_id, index, ts};

rampart_platform::service_migrations![
    M20261124000004Risk,
    M20261124000007Epss,
    M20261203000001RiskGeneration,
    M20261203000002Triage,
    M20261204000002FindingCounts,
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

#[derive(DeriveIden)]
enum RiskVexDocuments {
    Table,
    Id,
    DocId,
    Format,
    Author,
    Sha256,
    Statements,
    ImportedBy,
    ImportedAt,
}

#[derive(DeriveIden)]
enum RiskStatements {
    Table,
    Id,
    Document,
    Origin,
    AssetKey,
    Statement,
    MadeAt,
    MadeBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RiskFindingHistory {
    Table,
    Id,
    FindingKey,
    AssetKey,
    VulnId,
    Event,
    Change,
    Actor,
    At,
}

#[derive(DeriveIden)]
enum RiskTreatments {
    Table,
    FindingKey,
    AssetKey,
    VulnId,
    Option,
    Controls,
    Rationale,
    TransferredTo,
    ExpiresAt,
    Status,
    DecidedBy,
    DecidedAt,
}

#[derive(DeriveIden)]
enum RiskSsvc {
    Table,
    CveId,
    Record,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TriageColumns {
    FindingKey,
    Suppressed,
    AnalysisState,
    AnalysisJustification,
    AnalysisResponses,
    AnalysisDetail,
    AnalysisBy,
    AnalysisAt,
    AnalysisStatement,
    Ssvc,
    SsvcDetail,
    Treatment,
    Version,
    LastEventAt,
}

/// Triage, risk treatment and VEX (issue 12): the analysis, SSVC and treatment columns of
/// `risk_findings`, the asset's own version and last applied event time on `risk_assets`, and the tables
/// `risk_vex_documents`, `risk_statements`, `risk_finding_history`, `risk_treatments`,
/// `risk_ssvc`. One column per `ALTER TABLE` (SQLite takes one change at a time).
#[derive(Debug)]
struct M20261203000002Triage;

impl MigrationName for M20261203000002Triage {
    fn name(&self) -> &str {
        "m20261203_000002_triage"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261203000002Triage {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let finding_cols = [
            ColumnDef::new(TriageColumns::FindingKey)
                .string_len(64)
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(TriageColumns::Suppressed)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(TriageColumns::AnalysisState)
                .string_len(16)
                .null()
                .to_owned(),
            ColumnDef::new(TriageColumns::AnalysisJustification)
                .string_len(48)
                .null()
                .to_owned(),
            ColumnDef::new(TriageColumns::AnalysisResponses)
                .json_binary()
                .null()
                .to_owned(),
            ColumnDef::new(TriageColumns::AnalysisDetail)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(TriageColumns::AnalysisBy)
                .string_len(1100)
                .null()
                .to_owned(),
            ColumnDef::new(TriageColumns::AnalysisAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(TriageColumns::AnalysisStatement)
                .big_integer()
                .null()
                .to_owned(),
            ColumnDef::new(TriageColumns::Ssvc)
                .string_len(8)
                .null()
                .to_owned(),
            ColumnDef::new(TriageColumns::SsvcDetail)
                .json_binary()
                .null()
                .to_owned(),
            ColumnDef::new(TriageColumns::Treatment)
                .string_len(16)
                .null()
                .to_owned(),
        ];
        for mut col in finding_cols {
            manager
                .alter_table(
                    Table::alter()
                        .table(RiskFindings::Table)
                        .add_column_if_not_exists(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(RiskAssets::Table)
                    .add_column_if_not_exists(
                        ColumnDef::new(TriageColumns::Version)
                            .string_len(256)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RiskAssets::Table)
                    .add_column_if_not_exists(
                        ColumnDef::new(TriageColumns::LastEventAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskVexDocuments::Table)
                    .if_not_exists()
                    .col(auto_id(RiskVexDocuments::Id))
                    .col(
                        ColumnDef::new(RiskVexDocuments::DocId)
                            .string_len(1024)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskVexDocuments::Format)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskVexDocuments::Author)
                            .string_len(1024)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RiskVexDocuments::Sha256)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskVexDocuments::Statements)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskVexDocuments::ImportedBy)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(ts(RiskVexDocuments::ImportedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskStatements::Table)
                    .if_not_exists()
                    .col(auto_id(RiskStatements::Id))
                    .col(
                        ColumnDef::new(RiskStatements::Document)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RiskStatements::Origin)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskStatements::AssetKey)
                            .string_len(512)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RiskStatements::Statement)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ts(RiskStatements::MadeAt))
                    .col(
                        ColumnDef::new(RiskStatements::MadeBy)
                            .string_len(1100)
                            .not_null(),
                    )
                    .col(ts(RiskStatements::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskFindingHistory::Table)
                    .if_not_exists()
                    .col(auto_id(RiskFindingHistory::Id))
                    .col(
                        ColumnDef::new(RiskFindingHistory::FindingKey)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindingHistory::AssetKey)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindingHistory::VulnId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindingHistory::Event)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindingHistory::Change)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskFindingHistory::Actor)
                            .string_len(1100)
                            .not_null(),
                    )
                    .col(ts(RiskFindingHistory::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskTreatments::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(RiskTreatments::FindingKey)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RiskTreatments::AssetKey)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskTreatments::VulnId)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskTreatments::Option)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskTreatments::Controls)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RiskTreatments::Rationale).text().not_null())
                    .col(
                        ColumnDef::new(RiskTreatments::TransferredTo)
                            .string_len(512)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RiskTreatments::ExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RiskTreatments::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RiskTreatments::DecidedBy)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(ts(RiskTreatments::DecidedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RiskSsvc::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(RiskSsvc::CveId)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RiskSsvc::Record).json_binary().not_null())
                    .col(ts(RiskSsvc::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "risk_vex_documents_sha",
            "risk_vex_documents",
            &["sha256"],
            true,
        )
        .await?;
        index(
            manager,
            "risk_findings_key",
            "risk_findings",
            &["finding_key"],
            false,
        )
        .await?;
        index(
            manager,
            "risk_finding_history_key",
            "risk_finding_history",
            &["finding_key"],
            false,
        )
        .await?;
        index(
            manager,
            "risk_treatments_expiry",
            "risk_treatments",
            &["status", "expires_at"],
            false,
        )
        .await?;
        Ok(())
    }
}

/// `risk_findings_counts` on `(suppressed, level, ssvc, kev)`: the console's overview counts open
/// findings by level, by SSVC decision and KEV-listed from this covering index instead of reading
/// every row (measured on SQLite with 100,000 findings: the three counts 2.5x faster).
#[derive(Debug)]
struct M20261204000002FindingCounts;

impl MigrationName for M20261204000002FindingCounts {
    fn name(&self) -> &str {
        "m20261204_000002_risk_finding_counts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261204000002FindingCounts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(
            manager,
            "risk_findings_counts",
            "risk_findings",
            &["suppressed", "level", "ssvc", "kev"],
            false,
        )
        .await
    }
}
