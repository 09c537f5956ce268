//! VEX (Vulnerability Exploitability eXchange): the analysis of a finding and the statements
//! that decide it, in one model for the three formats in circulation.
//!
//! The model is CycloneDX's (`vulnerabilities[].analysis`, CycloneDX 1.4-1.6 "Impact Analysis"):
//! an [`AnalysisState`], at most one [`Justification`], any [`Response`]s and a detail text.
//! OpenVEX 0.2.0 (and the 0.0.1 documents still circulating) and CSAF 2.0 with the VEX profile
//! map onto it ([`openvex`], [`csaf`], [`cyclonedx`]); [`parse`] tells the formats apart.
//! A [`Statement`] is about one vulnerability (an id and its aliases) in one or more
//! [`Product`]s; a product may name subcomponents, and then the statement covers those
//! subcomponents inside that product only ([`product`], OpenVEX spec §"Products and
//! Subcomponents").

pub mod csaf;
pub mod cyclonedx;
pub mod export;
pub mod openvex;
pub mod product;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Largest VEX document accepted, bytes (16 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Most statements in one document.
pub const MAX_STATEMENTS: usize = 100_000;

/// CycloneDX `impactAnalysisState` (CycloneDX 1.6 JSON schema, `vulnerabilities[].analysis.state`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisState {
    /// The finding is being investigated.
    InTriage,
    /// The vulnerability can be exploited in this product.
    Exploitable,
    /// The finding is wrong (the component or the vulnerability was misidentified).
    FalsePositive,
    /// The component is present but the vulnerability cannot affect the product.
    NotAffected,
    /// The vulnerability was remediated.
    Resolved,
}

impl AnalysisState {
    /// Every state, in CycloneDX's order.
    pub const ALL: [AnalysisState; 5] = [
        Self::InTriage,
        Self::Exploitable,
        Self::FalsePositive,
        Self::NotAffected,
        Self::Resolved,
    ];

    /// The snake_case name (`not_affected`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InTriage => "in_triage",
            Self::Exploitable => "exploitable",
            Self::FalsePositive => "false_positive",
            Self::NotAffected => "not_affected",
            Self::Resolved => "resolved",
        }
    }

    /// Parses a snake_case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether a finding in this state leaves the scores, the incident rules and the report
    /// totals (`not_affected`, `false_positive`; issue 12: "leave the scores ... stay visible
    /// with a filter").
    pub fn suppresses(self) -> bool {
        matches!(self, Self::NotAffected | Self::FalsePositive)
    }
}

/// CycloneDX `impactAnalysisJustification`: why a product is `not_affected`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    /// The vulnerable code is not present.
    CodeNotPresent,
    /// The vulnerable code is present but not reachable.
    CodeNotReachable,
    /// Exploitation requires a configurable option that is off.
    RequiresConfiguration,
    /// Exploitation requires a dependency that is absent.
    RequiresDependency,
    /// Exploitation requires an environment that is absent.
    RequiresEnvironment,
    /// Compiler protections prevent exploitation.
    ProtectedByCompiler,
    /// Runtime protections prevent exploitation.
    ProtectedAtRuntime,
    /// Perimeter protections prevent exploitation.
    ProtectedAtPerimeter,
    /// A mitigating control prevents exploitation.
    ProtectedByMitigatingControl,
}

impl Justification {
    /// Every justification, in CycloneDX's order.
    pub const ALL: [Justification; 9] = [
        Self::CodeNotPresent,
        Self::CodeNotReachable,
        Self::RequiresConfiguration,
        Self::RequiresDependency,
        Self::RequiresEnvironment,
        Self::ProtectedByCompiler,
        Self::ProtectedAtRuntime,
        Self::ProtectedAtPerimeter,
        Self::ProtectedByMitigatingControl,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeNotPresent => "code_not_present",
            Self::CodeNotReachable => "code_not_reachable",
            Self::RequiresConfiguration => "requires_configuration",
            Self::RequiresDependency => "requires_dependency",
            Self::RequiresEnvironment => "requires_environment",
            Self::ProtectedByCompiler => "protected_by_compiler",
            Self::ProtectedAtRuntime => "protected_at_runtime",
            Self::ProtectedAtPerimeter => "protected_at_perimeter",
            Self::ProtectedByMitigatingControl => "protected_by_mitigating_control",
        }
    }

    /// Parses a snake_case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// CycloneDX `vulnerabilities[].analysis.response`: what the vendor does about it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Cannot be fixed.
    CanNotFix,
    /// Will not be fixed.
    WillNotFix,
    /// Update to a fixed version.
    Update,
    /// Roll back to an unaffected version.
    Rollback,
    /// A workaround exists.
    WorkaroundAvailable,
}

impl Response {
    /// Every response, in CycloneDX's order.
    pub const ALL: [Response; 5] = [
        Self::CanNotFix,
        Self::WillNotFix,
        Self::Update,
        Self::Rollback,
        Self::WorkaroundAvailable,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CanNotFix => "can_not_fix",
            Self::WillNotFix => "will_not_fix",
            Self::Update => "update",
            Self::Rollback => "rollback",
            Self::WorkaroundAvailable => "workaround_available",
        }
    }

    /// Parses a snake_case name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// How a product or component is identified in a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Identifier {
    /// A package URL (`pkg:golang/golang.org/x/net@v0.7.0`), as written.
    Purl(String),
    /// A CPE 2.3 or 2.2 name, as written.
    Cpe(String),
    /// A name and an optional version (CycloneDX components without purl/CPE; CSAF
    /// `full_product_names` without a helper).
    Name {
        /// Product or component name.
        name: String,
        /// Its version.
        version: Option<String>,
    },
}

/// What a statement is about: a product and, optionally, subcomponents inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    /// The product (any of these identifiers names it: CSAF products may carry a purl and a CPE).
    pub ids: Vec<Identifier>,
    /// Subcomponents inside the product the statement is about (empty: the product itself).
    pub subcomponents: Vec<Vec<Identifier>>,
}

/// One VEX statement in the common model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Statement {
    /// The vulnerability's id as the document writes it (CVE, GHSA, GO-, OSV ids).
    pub vulnerability: String,
    /// Other ids of the same vulnerability (OpenVEX `aliases`, CSAF `cve` + `ids`, CycloneDX
    /// `references`).
    pub aliases: Vec<String>,
    /// The products it is about; empty in OpenVEX 0.0.1 documents without products (then the
    /// statement matches no product: reported, never applied everywhere).
    pub products: Vec<Product>,
    /// The analysis state.
    pub state: AnalysisState,
    /// Why not affected.
    pub justification: Option<Justification>,
    /// What is done about it.
    pub responses: Vec<Response>,
    /// Free text: CycloneDX `detail`, OpenVEX `impact_statement` / `action_statement` /
    /// `status_notes`, CSAF threat and remediation details; at most 4,096 characters.
    pub detail: Option<String>,
    /// When the statement was made (statement timestamp, else the document's); a later
    /// statement supersedes an earlier one.
    pub timestamp: DateTime<Utc>,
}

impl Statement {
    /// The vulnerability's id and aliases, lower-cased, sorted, without repeats: the names a
    /// statement is matched and indexed by.
    pub fn names(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::iter::once(&self.vulnerability)
            .chain(&self.aliases)
            .map(|v| v.to_ascii_lowercase())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// The VEX formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VexFormat {
    /// CycloneDX 1.4-1.6 `vulnerabilities[]` with `analysis`.
    Cyclonedx,
    /// OpenVEX 0.2.0 or 0.0.1.
    Openvex,
    /// CSAF 2.0, category `csaf_vex`.
    Csaf,
}

/// A parsed VEX document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VexDocument {
    /// Its format.
    pub format: VexFormat,
    /// Its id: OpenVEX `@id`, CSAF `document.tracking.id`, CycloneDX `serialNumber` (else
    /// a SHA-256 of the bytes, hex).
    pub id: String,
    /// Author or publisher, when stated.
    pub author: Option<String>,
    /// Document timestamp (CSAF `current_release_date`).
    pub timestamp: Option<DateTime<Utc>>,
    /// Its statements, in document order.
    pub statements: Vec<Statement>,
}

/// Why a VEX document was refused. Every variant names what is wrong, for a 4xx problem.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VexError {
    /// Not JSON, or truncated.
    #[error("not a JSON document: {0}")]
    Json(String),
    /// JSON, but none of the three formats.
    #[error("not a VEX document: {0}")]
    UnknownFormat(String),
    /// A CSAF document whose `document.category` is not `csaf_vex`.
    #[error("a CSAF document of category {0:?}, not the VEX profile (csaf_vex)")]
    NotVexProfile(String),
    /// A field is missing or of the wrong type; `path` is a JSON pointer-like path.
    #[error("{path}: {reason}")]
    Invalid {
        /// Where (`statements[3].status`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Larger than [`MAX_DOCUMENT_BYTES`] or more than [`MAX_STATEMENTS`] statements.
    #[error("too large: {0}")]
    TooLarge(String),
}

/// Parses a VEX document of any of the three formats (told apart by their markers:
/// OpenVEX `@context`, CSAF `document.csaf_version`, CycloneDX `bomFormat`).
///
/// # Errors
/// [`VexError`]: malformed or truncated JSON, unknown format, a CSAF document that is not the
/// VEX profile, unknown states or justifications, documents past the size bounds.
pub fn parse(bytes: &[u8]) -> Result<VexDocument, VexError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(VexError::TooLarge(format!(
            "{} bytes, at most {MAX_DOCUMENT_BYTES}",
            bytes.len()
        )));
    }
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| VexError::Json(e.to_string()))?;
    let doc = if v.get("@context").is_some() {
        openvex::parse(&v)?
    } else if v.pointer("/document/csaf_version").is_some() {
        csaf::parse(&v)?
    } else if v.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX") {
        cyclonedx::parse(&v, bytes)?
    } else {
        return Err(VexError::UnknownFormat(
            "expected OpenVEX (@context), CSAF (document.csaf_version) or CycloneDX (bomFormat)"
                .into(),
        ));
    };
    if doc.statements.len() > MAX_STATEMENTS {
        return Err(VexError::TooLarge(format!(
            "{} statements, at most {MAX_STATEMENTS}",
            doc.statements.len()
        )));
    }
    Ok(doc)
}
