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
        /// The asset's own version, when its source has one (VEX product matching).
        pub version: Option<String>,
        /// `occurred_at` of the last asset event applied: an older event arriving later (a
        /// redelivery overtaken by a newer one) is stale and skipped.
        pub last_event_at: Option<DateTimeUtc>,
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
        /// Stable identity of the finding across re-scorings: hex SHA-256 (first 32 digits)
        /// of asset key, vulnerability id, component name, version and purl
        /// ([`crate::triage::finding_key`]).
        pub finding_key: String,
        /// Decided `not_affected` or `false_positive`: out of scores, incident rules and report
        /// totals ([`crate::vex::AnalysisState::suppresses`]).
        pub suppressed: bool,
        /// Effective analysis state (CycloneDX), `None` when never decided.
        pub analysis_state: Option<String>,
        /// Its justification.
        pub analysis_justification: Option<String>,
        /// Its responses (JSON array of strings).
        pub analysis_responses: Option<Json>,
        /// Its detail text.
        pub analysis_detail: Option<String>,
        /// Who decided: a principal's `sub`, or `vex:<document id>`.
        pub analysis_by: Option<String>,
        /// When the deciding statement was made (UTC).
        pub analysis_at: Option<DateTimeUtc>,
        /// The deciding statement (`risk_statements.id`).
        pub analysis_statement: Option<i64>,
        /// SSVC decision (`Track`, `Track*`, `Attend`, `Act`).
        pub ssvc: Option<String>,
        /// SSVC decision points and rationale (JSON).
        pub ssvc_detail: Option<Json>,
        /// Active risk treatment option (`mitigate`, `accept`, `transfer`, `avoid`).
        pub treatment: Option<String>,
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

/// `risk_vex_documents`: every VEX document imported, with who sent it.
pub mod risk_vex_document {
    use sea_orm::entity::prelude::*;

    /// One document.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_vex_documents")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The document's own id (OpenVEX `@id`, CSAF tracking id, CycloneDX serial).
        pub doc_id: String,
        /// `cyclonedx`, `openvex`, `csaf`.
        pub format: String,
        /// Author or publisher.
        pub author: Option<String>,
        /// Hex SHA-256 of the bytes (the same document twice is one import).
        pub sha256: String,
        /// Statements it holds.
        pub statements: i64,
        /// Who imported it (principal `sub`).
        pub imported_by: String,
        /// When (UTC).
        pub imported_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_statements`: VEX statements and triage decisions, the source of every finding's
/// analysis ([`crate::triage`]).
pub mod risk_statement {
    use sea_orm::entity::prelude::*;

    /// One statement.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_statements")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Its VEX document (`risk_vex_documents.id`); `None` for a triage decision.
        pub document: Option<i64>,
        /// `vex` or `triage`.
        pub origin: String,
        /// For a decision about one finding: its asset (the statement covers that asset only).
        pub asset_key: Option<String>,
        /// The statement (`vex::Statement` as JSON).
        pub statement: Json,
        /// When the statement was made (UTC): the later one wins.
        pub made_at: DateTimeUtc,
        /// Who: principal `sub` or `vex:<document id>`.
        pub made_by: String,
        /// Stored at (UTC).
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_finding_history`: every change of a finding's analysis or treatment (its timeline).
pub mod risk_finding_history {
    use sea_orm::entity::prelude::*;

    /// One change.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_finding_history")]
    pub struct Model {
        /// Surrogate id (the timeline's order).
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The finding's stable key.
        pub finding_key: String,
        /// Its asset.
        pub asset_key: String,
        /// Its vulnerability.
        pub vuln_id: String,
        /// `analysis`, `treatment`, `acceptance_expired`.
        pub event: String,
        /// What changed (JSON: the new analysis or treatment).
        pub change: Json,
        /// Who: principal `sub`, `vex:<document id>` or `system`.
        pub actor: String,
        /// When (UTC).
        pub at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_treatments`: the risk treatment of a finding (ISO/IEC 27005 options).
pub mod risk_treatment {
    use sea_orm::entity::prelude::*;

    /// One treatment (the latest per finding).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_treatments")]
    pub struct Model {
        /// The finding's stable key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub finding_key: String,
        /// Its asset.
        pub asset_key: String,
        /// Its vulnerability.
        pub vuln_id: String,
        /// `mitigate`, `accept`, `transfer`, `avoid`.
        pub option: String,
        /// Controls that mitigate it (JSON array of control ids).
        pub controls: Json,
        /// Why.
        pub rationale: String,
        /// To whom the risk is transferred (insurer, supplier), for `transfer`.
        pub transferred_to: Option<String>,
        /// When an acceptance ends (UTC); required for `accept`.
        pub expires_at: Option<DateTimeUtc>,
        /// `active` or `expired`.
        pub status: String,
        /// Who decided (principal `sub`).
        pub decided_by: String,
        /// When (UTC).
        pub decided_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `risk_ssvc`: CISA Vulnrichment's SSVC decision points by CVE.
pub mod risk_ssvc {
    use sea_orm::entity::prelude::*;

    /// One CVE's record.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "risk_ssvc")]
    pub struct Model {
        /// CVE id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub cve_id: String,
        /// The record (`feeds::vulnrichment::VulnrichmentRecord` as JSON).
        pub record: Json,
        /// Stored at (UTC).
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
