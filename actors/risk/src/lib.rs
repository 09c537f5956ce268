//! # rampart-risk: the RiskAnalysis service
//!
//! | | |
//! |---|---|
//! | **owns** (its own tables) | `risk_assets`, `risk_components` (its view of the assets, built from asset events), `risk_vulnerabilities`, `risk_kev`, `risk_epss`, `risk_feeds`, `risk_findings` ([`entities`], [`migrations`]) |
//! | **consumes** | `asset.*` events; threat-intel ingests (CISA KEV, OSV, NVD, EPSS: [`actor::IngestFeed`]) |
//! | **publishes** | `risk.scored`, `risk.changed` ([`rampart_contracts::risk::AssetRiskEvent`]), through the outbox |
//! | **answers** | the current risk of an asset ([`rampart_contracts::risk::CurrentRisk`] in-process, [`rampart_contracts::risk::RiskRequest`] over RabbitMQ); the register ([`store::list_findings`]); both through the read model on the node's own read paths ([`read_model`]) |
//!
//! The actor ([`actor::RiskAnalysis`]) keeps the vulnerability records and KEV entries in
//! memory, applies asset events in batches and re-scores incrementally ([`store`]). Reads of the
//! register and of an asset's current risk are served from a cache keyed by the write counter
//! that every writing transaction bumps ([`read_model`]), so they need neither the actor nor a
//! query per request while nothing changed.
//!
//! ## Domain logic (pure library: no database, no HTTP)
//!
//! 1. **Feeds** ([`feeds`]): CISA KEV ([`feeds::kev::parse_kev`]), OSV records, arrays and
//!    `all.zip` archives ([`feeds::osv`]), NVD CVE API 2.0 ([`feeds::nvd::parse_nvd`]), all
//!    normalized into [`Vulnerability`] / [`KevEntry`], with [`FeedFingerprint`]s and per-record
//!    `modified` for incremental processing. Errors: [`FeedError`].
//! 2. **Versions** ([`version`]): ordering per ecosystem (semver/Go/npm/crates.io/Packagist,
//!    Maven, PyPI, Debian, RubyGems, generic fallback).
//! 3. **Matching** ([`matching`]): purl ([`purl`]) or CPE ([`cpe`]) -> affecting
//!    vulnerabilities, through an index ([`matching::VulnIndex`]).
//! 4. **Scoring** ([`scoring`]): NIST SP 800-30 Rev. 1 likelihood × impact.
//! 5. **VEX** ([`vex`]): CycloneDX, OpenVEX and CSAF VEX documents parsed into one statement
//!    model, VEX product matching ([`vex::product`]) and CycloneDX / OpenVEX export.

pub mod actor;
pub mod cpe;
pub mod decisions;
pub mod entities;
pub mod error;
pub mod feeds;
pub mod matching;
pub mod migrations;
pub mod model;
pub mod purl;
pub mod read_model;
pub mod sarif;
pub mod scoring;
pub mod ssvc;
pub mod store;
pub mod triage;
pub mod version;
pub mod vex;

pub use error::{FeedError, MatchError};
pub use model::{
    Affected, CpeMatch, CvssVector, Event, FeedFingerprint, KevEntry, Range, RangeKind,
    Vulnerability,
};
