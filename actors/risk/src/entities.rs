//! sea-orm entities of this crate's tables (created by [`crate::migrations`]).

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

/// `risk_generation`: one row (`id = 1`) counting RiskAnalysis's committed writes to the register
/// and its view of the assets; read models compare it with the generation they cached at
/// ([`crate::read_model`]).
pub mod risk_generation {
    use sea_orm::entity::prelude::*;

    /// The counter.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_generation")]
    pub struct Model {
        /// Always 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i16,
        /// Writes committed so far (bumped inside each writing transaction, just before commit).
        pub counter: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
