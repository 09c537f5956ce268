//! # rampart-control: the ControlMapping service
//!
//! | | |
//! |---|---|
//! | **owns** (its own tables) | `control_frameworks`, `control_controls`, `control_crosswalk`, `control_status`, `control_risk_map` ([`migrations`]) |
//! | **consumes** | `risk.*` events; catalog and crosswalk imports ([`actor::Load`]); status changes ([`actor::SetStatus`]) |
//! | **publishes** | `controls.mapped` ([`rampart_contracts::control::ControlsMapped`]), `control.status_changed` ([`rampart_contracts::control::StatusView`]) |
//! | **answers** | controls for a risk ([`rules`], [`store::mapped_controls`]); framework coverage ([`store::coverage`]) |
//!
//! ## Catalogs and crosswalks
//!
//! The pure domain library of the ControlMapping service (no database, no HTTP): load control
//! catalogs and crosswalks between them from real public formats into one model
//! ([`model`]):
//!
//! - OSCAL catalogs (JSON), e.g. NIST SP 800-53 rev5 from `usnistgov/oscal-content`, NIST CSF 2.0
//!   ([`parse_oscal_catalog`]);
//! - OSCAL mapping collections (JSON), e.g. CSF 2.0 -> SP 800-53 rev5
//!   ([`parse_oscal_mapping`], [`parse_oscal_mapping_collection`]);
//! - CISO Assistant libraries (YAML): frameworks and requirement mapping sets
//!   ([`parse_ciso_library`]).
//!
//! Control ids are normalised to one canonical form per framework
//! ([`normalise_control_id`]) so that loads from different formats agree: SP 800-53 `ac-2.1`,
//! CSF `PR.AA-01`, ISO 27001 `A.5.1`. Relationship spellings are normalised to the NIST OLIR
//! types ([`Relationship`]).
//!
//! Inputs are untrusted: parsers never panic, report positions for syntax errors and bound the
//! sizes they accept ([`MAX_CONTROLS`], [`MAX_CROSSWALK_ENTRIES`], [`MAX_DEPTH`],
//! [`MAX_INPUT_BYTES`]).

pub mod actor;
mod ciso;
mod ids;
pub mod migrations;
pub mod model;
mod oscal;
pub mod rules;
pub mod store;

pub use ciso::parse_ciso_library;
pub use ids::normalise_control_id;
pub use model::{
    Catalog, Control, ControlKind, Crosswalk, CrosswalkEntry, Framework, Library, Relationship,
    SourceFormat,
};
pub use oscal::{parse_oscal_catalog, parse_oscal_mapping, parse_oscal_mapping_collection};

/// Most controls (nodes) accepted from one document.
pub const MAX_CONTROLS: usize = 100_000;
/// Most crosswalk entries accepted from one document (after expanding many-to-many rows).
pub const MAX_CROSSWALK_ENTRIES: usize = 1_000_000;
/// Deepest nesting of groups and controls accepted.
pub const MAX_DEPTH: usize = 64;
/// Largest document accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// Why a document could not be loaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    /// The JSON is malformed or does not have the expected types.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The YAML is malformed or does not have the expected types.
    #[error("malformed YAML{}: {message}", position(*line, *column))]
    Yaml {
        /// 1-based line, when the parser knows it.
        line: Option<u64>,
        /// 1-based column, when the parser knows it.
        column: Option<u64>,
        /// The parser's message.
        message: String,
    },
    /// The document is of another kind (e.g. a mapping collection given as a catalog).
    #[error("wrong kind of document: expected {expected}, found {found}")]
    WrongKind {
        /// What the parser expected.
        expected: &'static str,
        /// What it found.
        found: String,
    },
    /// A required field is missing.
    #[error("missing required field `{path}`")]
    MissingField {
        /// Path of the field, e.g. `catalog.groups[0].controls[3].id`.
        path: String,
    },
    /// A field has an invalid value.
    #[error("invalid value at `{path}`: {message}")]
    Invalid {
        /// Path of the field.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A relationship is none of the known types.
    #[error("unknown relationship `{value}` at `{path}`")]
    UnknownRelationship {
        /// The value as written.
        value: String,
        /// Path of the field.
        path: String,
    },
    /// The document exceeds a size bound.
    #[error("document too large: more than {limit} {what}")]
    TooLarge {
        /// What was counted.
        what: &'static str,
        /// The bound.
        limit: usize,
    },
}

fn position(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

impl From<serde_json::Error> for ControlError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

impl From<serde_saphyr::Error> for ControlError {
    fn from(e: serde_saphyr::Error) -> Self {
        let loc = e.location();
        Self::Yaml {
            line: loc.map(|l| l.line()),
            column: loc.map(|l| l.column()),
            message: e.to_string(),
        }
    }
}

pub(crate) fn check_size(bytes: &[u8]) -> Result<(), ControlError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ControlError::TooLarge {
            what: "bytes",
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}
