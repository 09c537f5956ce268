//! Domain model of control catalogs and crosswalks, independent of the format they were loaded
//! from.
//!
//! Sources of the shapes:
//! - OSCAL 1.1 catalog model (`catalog.groups[].controls[].controls[]`, NIST):
//!   <https://pages.nist.gov/OSCAL/reference/latest/catalog/>;
//! - OSCAL mapping model (`mapping-collection.mappings[].maps[]`, NIST, OSCAL 1.2):
//!   <https://pages.nist.gov/OSCAL/reference/latest/mapping/>;
//! - NIST OLIR relationship types (NIST IR 8278A): equal, subset of, superset of,
//!   intersects with, not related;
//! - CISO Assistant library format (intuitem): `objects.framework.requirement_nodes[]` and
//!   `objects.requirement_mapping_set(s)[].requirement_mappings[]`.

use serde::{Deserialize, Serialize};

/// The source format a framework or crosswalk was loaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// An OSCAL catalog (JSON), e.g. NIST SP 800-53 rev5 from `usnistgov/oscal-content`.
    OscalCatalog,
    /// An OSCAL mapping collection (JSON).
    OscalMapping,
    /// A CISO Assistant library (YAML).
    CisoAssistant,
}

/// A control framework (catalog), e.g. NIST SP 800-53 rev5, NIST CSF 2.0, ISO/IEC 27001:2022.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Framework {
    /// Short stable id, e.g. `nist-sp-800-53-rev5`, `nist-csf-2.0`, `iso27001-2022`.
    pub id: String,
    /// Display name, e.g. "NIST Special Publication 800-53 Revision 5.1.1 HIGH IMPACT BASELINE".
    pub name: String,
    /// Version as published (OSCAL `metadata.version`, CISO Assistant library `version`).
    pub version: Option<String>,
    /// The format the framework was loaded from.
    pub source_format: SourceFormat,
    /// The document's URN or UUID where it has one (CISO Assistant framework URN, OSCAL uuid).
    pub urn: Option<String>,
}

/// What a node of a framework is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlKind {
    /// A grouping node: SP 800-53 family, CSF function or category, ISO clause or Annex A theme.
    Group,
    /// A base control (SP 800-53 `ac-2`).
    Control,
    /// A control enhancement (SP 800-53 `ac-2.1`).
    Enhancement,
    /// A CSF subcategory (`PR.AA-01`).
    Subcategory,
    /// Any other requirement (ISO 27001 clause requirement or Annex A control, other libraries).
    Requirement,
}

/// One node of a framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    /// Id of the framework the control belongs to.
    pub framework: String,
    /// Canonical id (see [`crate::normalise_control_id`]): `ac-2.1`, `PR.AA-01`,
    /// `A.5.1`, family `ac`, CSF category `PR.AA`.
    pub id: String,
    /// Display label: `AC-2(1)`, `PR.AA-01`, `A.5.1`.
    pub label: String,
    /// Title (`Account Management`). For CSF subcategories, which have no title of their own,
    /// the label.
    pub title: String,
    /// Canonical id of the parent node (enhancement -> base control -> family).
    pub parent: Option<String>,
    /// What the node is.
    pub kind: ControlKind,
    /// Whether the node is assessed on its own (CISO Assistant `assessable`; in OSCAL, every
    /// control that is not withdrawn).
    pub assessable: bool,
    /// Whether the node is withdrawn (OSCAL `status` prop `withdrawn`, or a statement that
    /// starts with "[Withdrawn").
    pub withdrawn: bool,
    /// The requirement text (OSCAL `statement` part prose, CISO Assistant `description`).
    pub statement: Option<String>,
    /// The node's URN (CISO Assistant `urn`), kept alongside the canonical id.
    pub urn: Option<String>,
}

/// How a source control relates to a target control (NIST OLIR relationship types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    /// Source and target are the same (`equal`, OSCAL `equivalent-to` / `equal-to`).
    Equal,
    /// Source is a subset of target (`subset-of`, CISO Assistant `subset`).
    SubsetOf,
    /// Source is a superset of target (`superset-of`, CISO Assistant `superset`).
    SupersetOf,
    /// Source and target overlap (`intersects-with`, CISO Assistant `intersect`).
    IntersectsWith,
    /// Related without a set-theoretic qualification (`related`).
    Related,
    /// Explicitly not related (OLIR `not related`, OSCAL `no-relationship`, CISO Assistant
    /// `not_related`).
    NotRelated,
}

impl Relationship {
    /// Parse a relationship spelled in any of the known forms: `subset-of`, `subset of`,
    /// `SUBSET_OF`, `subset`, `intersects-with`, `intersect`, `equivalent-to`, `no-relationship`
    /// ... Returns `None` for an unknown value.
    pub fn parse(raw: &str) -> Option<Self> {
        let norm: String = raw
            .trim()
            .chars()
            .map(|c| match c {
                '_' | ' ' => '-',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        Some(match norm.as_str() {
            "equal" | "equals" | "equal-to" | "equivalent" | "equivalent-to" => Self::Equal,
            "subset" | "subset-of" => Self::SubsetOf,
            "superset" | "superset-of" => Self::SupersetOf,
            "intersect" | "intersects" | "intersects-with" | "intersect-with" | "intersection" => {
                Self::IntersectsWith
            }
            "related" | "related-to" => Self::Related,
            "not-related" | "not-related-to" | "no-relationship" | "unrelated" => Self::NotRelated,
            _ => return None,
        })
    }
}

/// One row of a crosswalk: `source` relates to `target` as `relationship`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrosswalkEntry {
    /// Canonical id of the source control.
    pub source: String,
    /// Canonical id of the target control.
    pub target: String,
    /// The relationship.
    pub relationship: Relationship,
    /// Why (OSCAL `matching-rationale` / `remarks`), when given.
    pub rationale: Option<String>,
    /// The source requirement URN as written (CISO Assistant), when given.
    pub source_urn: Option<String>,
    /// The target requirement URN as written (CISO Assistant), when given.
    pub target_urn: Option<String>,
}

/// A crosswalk (mapping) from one framework to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crosswalk {
    /// Id of the source framework.
    pub source_framework: String,
    /// Id of the target framework.
    pub target_framework: String,
    /// The format the crosswalk was loaded from.
    pub source_format: SourceFormat,
    /// The document's URN or UUID where it has one.
    pub urn: Option<String>,
    /// The rows, in document order.
    pub entries: Vec<CrosswalkEntry>,
}

/// A framework with its controls, in document order (parents before children).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// The framework.
    pub framework: Framework,
    /// Its controls.
    pub controls: Vec<Control>,
}

/// The content of a CISO Assistant library: zero or more frameworks and crosswalks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    /// The library URN (`urn:intuitem:risk:library:nist-csf-2.0`).
    pub urn: Option<String>,
    /// The library name.
    pub name: Option<String>,
    /// Frameworks with their controls.
    pub frameworks: Vec<Catalog>,
    /// Crosswalks (a library may hold both directions of a mapping).
    pub crosswalks: Vec<Crosswalk>,
}
