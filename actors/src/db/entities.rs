//! sea-orm entities of the tables created by [`super::migrations`].

/// `asset_assets`: AssetManagement's assets, one row per stable key.
pub mod asset {
    use sea_orm::entity::prelude::*;

    /// One asset.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "asset_assets")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Stable deduplication key (unique).
        #[sea_orm(unique)]
        pub key: String,
        /// host, application, service, cloud_resource.
        pub kind: String,
        /// Display name.
        pub name: String,
        /// Version, if any.
        pub version: Option<String>,
        /// Owner, if known.
        pub owner: Option<String>,
        /// Tags (JSON array of strings).
        pub tags: Json,
        /// 1..=5.
        pub criticality: i16,
        /// Import format it came from.
        pub source: String,
        /// Digest of the normalised content; a re-import with the same digest changes nothing.
        pub fingerprint: String,
        /// Retired (no longer in inventory).
        pub retired: bool,
        /// First import (UTC).
        pub first_seen: DateTimeUtc,
        /// Last import that listed it (UTC).
        pub last_seen: DateTimeUtc,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// Its components.
        #[sea_orm(has_many = "super::component::Entity")]
        Component,
    }

    impl Related<super::component::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Component.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `asset_components`: the software (or services) an asset carries.
pub mod component {
    use sea_orm::entity::prelude::*;

    /// One component of one asset.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "asset_components")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The asset (`asset_assets.id`), deleted with it.
        pub asset_id: i64,
        /// Name.
        pub name: String,
        /// Version, if known.
        pub version: Option<String>,
        /// Package URL, if known (indexed).
        pub purl: Option<String>,
        /// CPE 2.3, if known.
        pub cpe: Option<String>,
        /// Ecosystem (maven, npm, golang, deb, ...), if known.
        pub ecosystem: Option<String>,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The asset.
        #[sea_orm(
            belongs_to = "super::asset::Entity",
            from = "Column::AssetId",
            to = "super::asset::Column::Id",
            on_delete = "Cascade"
        )]
        Asset,
    }

    impl Related<super::asset::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Asset.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `processed_events`: which events each service has already handled (idempotency).
pub mod processed_event {
    use sea_orm::entity::prelude::*;

    /// One handled event.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "processed_events")]
    pub struct Model {
        /// The service that handled it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub service: String,
        /// The event's id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: Uuid,
        /// When (UTC).
        pub processed_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `outbox`: events written with the state change they report, published by a relay.
pub mod outbox {
    use sea_orm::entity::prelude::*;

    /// One event waiting to be (or already) published.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        /// The event id (UUID v7: insertion order is time order).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The service that wrote it.
        pub service: String,
        /// Its type (routing key).
        pub event_type: String,
        /// The whole envelope as JSON.
        pub envelope: Json,
        /// When it was written (UTC).
        pub created_at: DateTimeUtc,
        /// When the relay published it; `None` while pending.
        pub published_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `jobs`: asynchronous jobs (asset imports, feed ingestion), owned by the platform layer.
pub mod job {
    use sea_orm::entity::prelude::*;

    /// One job.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "jobs")]
    pub struct Model {
        /// Job id (UUID v7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// `asset-import` or `threat-intel`.
        pub kind: String,
        /// Input format (`cyclonedx`, …) or feed kind (`kev`, `osv`, `nvd`).
        pub input: String,
        /// `queued`, `running`, `succeeded`, `failed`.
        pub state: String,
        /// Node that accepted the job.
        pub node: String,
        /// Accepted at (UTC).
        pub created_at: DateTimeUtc,
        /// Work started at (UTC).
        pub started_at: Option<DateTimeUtc>,
        /// Succeeded or failed at (UTC).
        pub finished_at: Option<DateTimeUtc>,
        /// Counts of what the job did (JSON object), when it succeeded.
        pub result: Option<Json>,
        /// Why it failed.
        pub error: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_assets`: RiskAnalysis's view of the assets, built from asset events.
pub mod risk_asset {
    use sea_orm::entity::prelude::*;

    /// One asset as RiskAnalysis knows it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_assets")]
    pub struct Model {
        /// The asset's stable key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// Display name.
        pub name: String,
        /// Asset kind.
        pub kind: String,
        /// Criticality 1..=5.
        pub criticality: i16,
        /// Retired assets keep no findings.
        pub retired: bool,
        /// Last event applied (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_components`: the components of RiskAnalysis's assets, keyed for matching.
pub mod risk_component {
    use sea_orm::entity::prelude::*;

    /// One component.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_components")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Owning asset's key.
        pub asset_key: String,
        /// Component name.
        pub name: String,
        /// Version.
        pub version: Option<String>,
        /// Package URL.
        pub purl: Option<String>,
        /// CPE 2.3.
        pub cpe: Option<String>,
        /// `Ecosystem|package` (OSV identity, lower-cased) when the purl parses.
        pub pkg_key: Option<String>,
        /// `vendor:product` when the CPE parses.
        pub cpe_key: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_vulnerabilities`: normalised OSV / NVD records.
pub mod risk_vulnerability {
    use sea_orm::entity::prelude::*;

    /// One record.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_vulnerabilities")]
    pub struct Model {
        /// Record id (OSV id or CVE id).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// `osv` or `nvd`.
        pub kind: String,
        /// The record's `modified` (UTC).
        pub modified: DateTimeUtc,
        /// The normalised record (`risk::Vulnerability` as JSON).
        pub record: Json,
        /// Stored at (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_kev`: CISA KEV entries.
pub mod risk_kev {
    use sea_orm::entity::prelude::*;

    /// One KEV entry.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_kev")]
    pub struct Model {
        /// CVE id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub cve_id: String,
        /// The entry (`risk::KevEntry` as JSON).
        pub entry: Json,
        /// Stored at (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_feeds`: fingerprints of the feeds ingested (an unchanged feed is a no-op).
pub mod risk_feed {
    use sea_orm::entity::prelude::*;

    /// One ingested feed version.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_feeds")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `kev`, `osv`, `nvd`.
        pub kind: String,
        /// KEV catalogVersion or newest `modified`.
        pub version: String,
        /// Record count.
        pub count: i64,
        /// When (UTC).
        pub ingested_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_findings`: the risk register, one row per (asset, vulnerability, component).
pub mod risk_finding {
    use sea_orm::entity::prelude::*;

    /// One scored finding.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_findings")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Asset key.
        pub asset_key: String,
        /// Vulnerability record id.
        pub vuln_id: String,
        /// Component name.
        pub component: String,
        /// Component version.
        pub component_version: Option<String>,
        /// Component purl.
        pub purl: Option<String>,
        /// Component CPE.
        pub cpe: Option<String>,
        /// CVE ids of the vulnerability (JSON array).
        pub cves: Json,
        /// CWE ids (JSON array).
        pub cwes: Json,
        /// Listed in CISA KEV.
        pub kev: bool,
        /// Likelihood 1..=5.
        pub likelihood: i16,
        /// Impact 1..=5.
        pub impact: i16,
        /// Likelihood × impact, 1..=25.
        pub score: i16,
        /// `very low` .. `very high`.
        pub level: String,
        /// `high` or `low` (version comparison confidence).
        pub confidence: String,
        /// The vulnerability's summary.
        pub summary: String,
        /// How the score was computed (JSON array of sentences).
        pub rationale: Json,
        /// Scored at (UTC).
        pub scored_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `dead_letters`: events a consumer gave up on.
pub mod dead_letter {
    use sea_orm::entity::prelude::*;

    /// One dead letter.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "dead_letters")]
    pub struct Model {
        /// The consuming service.
        #[sea_orm(primary_key, auto_increment = false)]
        pub service: String,
        /// The event id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: Uuid,
        /// The event type.
        pub event_type: String,
        /// The whole envelope (JSON).
        pub envelope: Json,
        /// The last error.
        pub error: String,
        /// Deliveries made.
        pub deliveries: i32,
        /// When it was given up on (UTC).
        pub dead_at: DateTimeUtc,
        /// When it was last replayed (UTC), if ever.
        pub replayed_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_epss`: FIRST EPSS scores.
pub mod risk_epss {
    use sea_orm::entity::prelude::*;

    /// One CVE's score.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_epss")]
    pub struct Model {
        /// CVE id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub cve_id: String,
        /// Probability of exploitation in 30 days, 0..=1.
        pub epss: f64,
        /// Percentile, 0..=1.
        pub percentile: f64,
        /// Stored at (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `audit_log`: the append-only, hash-chained audit log (AuditReporting).
pub mod audit_entry {
    use sea_orm::entity::prelude::*;

    /// One entry.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        /// Position in the chain, from 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        /// The event's id (unique: an event is logged once).
        #[sea_orm(unique)]
        pub event_id: Uuid,
        /// The event's type.
        pub event_type: String,
        /// The node that published it.
        pub source_node: String,
        /// The envelope as canonical JSON text (the exact bytes hashed).
        pub entry: String,
        /// Hash of the previous entry (64 zeros for the first).
        pub prev_hash: String,
        /// Hex SHA-256 of `prev_hash`, `seq` and `entry` (see `db::audit`).
        pub hash: String,
        /// When it was appended (UTC).
        pub recorded_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `audit_head`: the last entry's position and hash (one row), so truncation is detected.
pub mod audit_head {
    use sea_orm::entity::prelude::*;

    /// The head.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_head")]
    pub struct Model {
        /// Always 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        /// Last entry's seq.
        pub seq: i64,
        /// Last entry's hash.
        pub hash: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `incident_incidents`: IncidentResponse's incidents.
pub mod incident {
    use sea_orm::entity::prelude::*;

    /// One incident.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_incidents")]
    pub struct Model {
        /// Id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// What caused it (`risk:<asset>:<vulnerability>`), unique: one incident per cause.
        #[sea_orm(unique)]
        pub cause_key: String,
        /// Title.
        pub title: String,
        /// The affected asset's key.
        pub asset_key: String,
        /// Risk level when opened.
        pub level: String,
        /// Risk score when opened.
        pub score: i16,
        /// Lifecycle state (NIST SP 800-61).
        pub state: String,
        /// Assignee.
        pub assignee: Option<String>,
        /// Opened (UTC).
        pub opened_at: DateTimeUtc,
        /// Last change (UTC).
        pub updated_at: DateTimeUtc,
        /// Closed (UTC).
        pub closed_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `incident_timeline`: what happened to each incident, in order.
pub mod incident_event {
    use sea_orm::entity::prelude::*;

    /// One timeline entry.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_timeline")]
    pub struct Model {
        /// Id (ordering).
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The incident.
        pub incident_id: i64,
        /// When (UTC).
        pub at: DateTimeUtc,
        /// `opened`, `transition`, `assigned`, `comment`.
        pub kind: String,
        /// Who (user or `system`).
        pub actor: String,
        /// State before (transitions).
        pub from_state: Option<String>,
        /// State after (transitions).
        pub to_state: Option<String>,
        /// Free text (comment, note, assignee).
        pub text: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
