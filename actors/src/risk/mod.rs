//! Risk analysis domain logic (pure library: no database, no HTTP).
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

pub mod cpe;
pub mod error;
pub mod feeds;
pub mod matching;
pub mod model;
pub mod purl;
pub mod scoring;
pub mod version;

pub use error::{FeedError, MatchError};
pub use model::{
    Affected, CpeMatch, CvssVector, Event, FeedFingerprint, KevEntry, Range, RangeKind,
    Vulnerability,
};
