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
            Box::new(M20261124000003Jobs),
            Box::new(M20261124000004Risk),
            Box::new(M20261124000005DropComponentPurlIndex),
            Box::new(M20261124000006DeadLetters),
            Box::new(M20261124000007Epss),
            Box::new(M20261124000008Audit),
            Box::new(M20261124000009Incidents),
            Box::new(M20261124000010Controls),
            Box::new(M20261124000011ControlStatus),
            Box::new(M20261124000012ControlRiskMap),
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

fn ts(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn auto_id(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

async fn index(
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

#[derive(DeriveIden)]
enum IncidentIncidents {
    Table,
    Id,
    CauseKey,
    Title,
    AssetKey,
    Level,
    Score,
    State,
    Assignee,
    OpenedAt,
    UpdatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum IncidentTimeline {
    Table,
    Id,
    IncidentId,
    At,
    Kind,
    Actor,
    FromState,
    ToState,
    Text,
}

/// IncidentResponse's incidents and their timelines.
#[derive(Debug)]
struct M20261124000009Incidents;

impl MigrationName for M20261124000009Incidents {
    fn name(&self) -> &str {
        "m20261124_000009_incidents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000009Incidents {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IncidentIncidents::Table)
                    .if_not_exists()
                    .col(auto_id(IncidentIncidents::Id))
                    .col(
                        ColumnDef::new(IncidentIncidents::CauseKey)
                            .string_len(768)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(IncidentIncidents::Title).text().not_null())
                    .col(
                        ColumnDef::new(IncidentIncidents::AssetKey)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentIncidents::Level)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentIncidents::Score)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentIncidents::State)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentIncidents::Assignee)
                            .string_len(256)
                            .null(),
                    )
                    .col(ts(IncidentIncidents::OpenedAt))
                    .col(ts(IncidentIncidents::UpdatedAt))
                    .col(
                        ColumnDef::new(IncidentIncidents::ClosedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IncidentTimeline::Table)
                    .if_not_exists()
                    .col(auto_id(IncidentTimeline::Id))
                    .col(
                        ColumnDef::new(IncidentTimeline::IncidentId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ts(IncidentTimeline::At))
                    .col(
                        ColumnDef::new(IncidentTimeline::Kind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentTimeline::Actor)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentTimeline::FromState)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(IncidentTimeline::ToState)
                            .string_len(16)
                            .null(),
                    )
                    .col(ColumnDef::new(IncidentTimeline::Text).text().null())
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "incident_timeline_incident",
            "incident_timeline",
            &["incident_id"],
            false,
        )
        .await?;
        index(
            manager,
            "incident_incidents_state",
            "incident_incidents",
            &["state"],
            false,
        )
        .await
    }
}

/// ControlMapping's frameworks, controls and crosswalks (plain SQL: both backends take it).
#[derive(Debug)]
struct M20261124000010Controls;

impl MigrationName for M20261124000010Controls {
    fn name(&self) -> &str {
        "m20261124_000010_controls"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000010Controls {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "CREATE TABLE IF NOT EXISTS control_frameworks (id VARCHAR(128) NOT NULL PRIMARY KEY, \
             name TEXT NOT NULL, version VARCHAR(128), source_format VARCHAR(32) NOT NULL, \
             controls BIGINT NOT NULL, updated_at VARCHAR(40) NOT NULL)",
            "CREATE TABLE IF NOT EXISTS control_controls (framework VARCHAR(128) NOT NULL, \
             id VARCHAR(128) NOT NULL, label VARCHAR(128) NOT NULL, title TEXT NOT NULL, \
             parent VARCHAR(128), kind VARCHAR(16) NOT NULL, assessable BOOLEAN NOT NULL, \
             withdrawn BOOLEAN NOT NULL, statement TEXT, PRIMARY KEY (framework, id))",
            "CREATE TABLE IF NOT EXISTS control_crosswalk (source_framework VARCHAR(128) NOT NULL, \
             source_id VARCHAR(128) NOT NULL, target_framework VARCHAR(128) NOT NULL, \
             target_id VARCHAR(128) NOT NULL, relationship VARCHAR(24) NOT NULL, rationale TEXT, \
             PRIMARY KEY (source_framework, source_id, target_framework, target_id))",
            "CREATE INDEX IF NOT EXISTS control_crosswalk_target ON control_crosswalk \
             (target_framework, target_id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

/// ControlMapping's control status per framework, with evidence.
#[derive(Debug)]
struct M20261124000011ControlStatus;

impl MigrationName for M20261124000011ControlStatus {
    fn name(&self) -> &str {
        "m20261124_000011_control_status"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000011ControlStatus {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE IF NOT EXISTS control_status (framework VARCHAR(128) NOT NULL, \
                 control_id VARCHAR(128) NOT NULL, status VARCHAR(24) NOT NULL, evidence TEXT NOT NULL, \
                 updated_by VARCHAR(256) NOT NULL, updated_at VARCHAR(40) NOT NULL, \
                 PRIMARY KEY (framework, control_id))",
            )
            .await?;
        Ok(())
    }
}

/// ControlMapping's view of which controls mitigate each asset's current findings.
#[derive(Debug)]
struct M20261124000012ControlRiskMap;

impl MigrationName for M20261124000012ControlRiskMap {
    fn name(&self) -> &str {
        "m20261124_000012_control_risk_map"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000012ControlRiskMap {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE IF NOT EXISTS control_risk_map (asset_key VARCHAR(512) NOT NULL, \
                 control_id VARCHAR(128) NOT NULL, findings BIGINT NOT NULL, \
                 PRIMARY KEY (asset_key, control_id))",
            )
            .await?;
        Ok(())
    }
}
