//! CISO Assistant libraries (YAML).
//!
//! Shape (intuitem `ciso-assistant-community`, `backend/library/libraries/`): `{urn, ref_id,
//! name, version, objects: {framework: {urn, ref_id, name, requirement_nodes: [{urn, ref_id,
//! name, description, depth, parent_urn, assessable}]}, requirement_mapping_set: {...} or
//! requirement_mapping_sets: [{urn, source_framework_urn, target_framework_urn,
//! requirement_mappings: [{source_requirement_urn, target_requirement_urn, relationship}]}]}}`.
//! Relationships are `equal`, `subset`, `superset`, `intersect`, `not_related`.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::ids::{self, Scheme};
use super::model::{
    Catalog, Control, ControlKind, Crosswalk, CrosswalkEntry, Framework, Library, SourceFormat,
};
use super::oscal::relationship;
use super::{ControlError, MAX_CONTROLS, MAX_CROSSWALK_ENTRIES, MAX_DEPTH, check_size};

#[derive(Deserialize)]
struct Top {
    urn: Option<String>,
    name: Option<String>,
    version: Option<String>,
    objects: Option<Objects>,
    // other document kinds, to name them in WrongKind
    catalog: Option<IgnoredAny>,
    #[serde(rename = "mapping-collection")]
    mapping_collection: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Objects {
    framework: Option<RawFramework>,
    requirement_mapping_set: Option<RawSet>,
    requirement_mapping_sets: Option<Vec<RawSet>>,
}

#[derive(Deserialize)]
struct RawFramework {
    urn: Option<String>,
    ref_id: Option<String>,
    name: Option<String>,
    requirement_nodes: Option<Vec<RawNode>>,
}

#[derive(Deserialize)]
struct RawNode {
    urn: Option<String>,
    ref_id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    depth: Option<u32>,
    parent_urn: Option<String>,
    assessable: Option<bool>,
}

#[derive(Deserialize)]
struct RawSet {
    urn: Option<String>,
    source_framework_urn: Option<String>,
    target_framework_urn: Option<String>,
    requirement_mappings: Option<Vec<RawRow>>,
}

#[derive(Deserialize)]
struct RawRow {
    source_requirement_urn: Option<String>,
    target_requirement_urn: Option<String>,
    relationship: Option<String>,
    rationale: Option<String>,
}

fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // room for MAX_CROSSWALK_ENTRIES rows of a few keys each
    budget.max_events = 20_000_000;
    budget.max_nodes = 10_000_000;
    budget.max_depth = MAX_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.with_snippet = false;
    options
}

/// Parse a CISO Assistant library (YAML) into its frameworks (with their controls) and
/// crosswalks (requirement mapping sets; a library often holds both directions).
///
/// Framework ids are the last segment of the framework URN
/// (`urn:intuitem:risk:framework:nist-csf-2.0` -> `nist-csf-2.0`). Control ids are normalised
/// from `ref_id` with [`super::normalise_control_id`], so SP 800-53 nodes get the same ids as
/// the OSCAL catalog (`AC-2(1)` -> `ac-2.1`, whose parent is `ac-2`). Mapping URNs
/// (`urn:intuitem:risk:req_node:<framework>:<node>`) resolve through the library's own nodes
/// when present, else from the URN itself; the URNs are kept on each entry.
pub fn parse_ciso_library(bytes: &[u8]) -> Result<Library, ControlError> {
    check_size(bytes)?;
    let top: Top = serde_saphyr::from_slice_with_options(bytes, yaml_options())?;
    let Some(objects) = top.objects else {
        let found = if top.catalog.is_some() {
            "OSCAL catalog"
        } else if top.mapping_collection.is_some() {
            "OSCAL mapping-collection"
        } else {
            "a document without `objects`"
        };
        return Err(ControlError::WrongKind {
            expected: "CISO Assistant library",
            found: found.to_owned(),
        });
    };
    let mut library = Library {
        urn: top.urn,
        name: top.name,
        ..Library::default()
    };
    // URN -> canonical id of every node of the library's framework(s).
    let mut urn_ids: HashMap<String, String> = HashMap::new();
    if let Some(fw) = objects.framework {
        let catalog = framework(fw, top.version, &mut urn_ids)?;
        library.frameworks.push(catalog);
    }
    let mut sets: Vec<(String, RawSet)> = Vec::new();
    if let Some(set) = objects.requirement_mapping_set {
        sets.push(("objects.requirement_mapping_set".into(), set));
    }
    for (i, set) in objects
        .requirement_mapping_sets
        .into_iter()
        .flatten()
        .enumerate()
    {
        sets.push((format!("objects.requirement_mapping_sets[{i}]"), set));
    }
    let mut total = 0usize;
    for (path, set) in sets {
        library
            .crosswalks
            .push(mapping_set(set, &path, &urn_ids, &mut total)?);
    }
    Ok(library)
}

fn framework(
    fw: RawFramework,
    version: Option<String>,
    urn_ids: &mut HashMap<String, String>,
) -> Result<Catalog, ControlError> {
    let base = "objects.framework";
    let id = match (
        fw.urn.as_deref().and_then(ids::split_urn),
        fw.ref_id.as_deref(),
    ) {
        (Some((id, _)), _) if !id.is_empty() => id.to_owned(),
        (_, Some(r)) if !r.trim().is_empty() => ids::slug(r),
        _ => {
            return Err(ControlError::MissingField {
                path: format!("{base}.urn"),
            });
        }
    };
    let Some(nodes) = fw.requirement_nodes else {
        return Err(ControlError::MissingField {
            path: format!("{base}.requirement_nodes"),
        });
    };
    if nodes.len() > MAX_CONTROLS {
        return Err(ControlError::TooLarge {
            what: "controls",
            limit: MAX_CONTROLS,
        });
    }
    let scheme = Scheme::from_hint(&id).unwrap_or(Scheme::Other);
    let framework = Framework {
        name: fw.name.or(fw.ref_id).unwrap_or_else(|| id.clone()),
        id,
        version,
        source_format: SourceFormat::CisoAssistant,
        urn: fw.urn,
    };
    // First pass: canonical ids, so parents resolve whatever the node order.
    let mut node_ids = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let path = format!("{base}.requirement_nodes[{i}]");
        let Some(urn) = n.urn.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Err(ControlError::MissingField {
                path: format!("{path}.urn"),
            });
        };
        // Text-only nodes may lack a ref_id: fall back on the URN's last segment.
        let raw = match n.ref_id.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(r) => r,
            None => ids::split_urn(urn).map_or(urn, |(_, node)| node),
        };
        let id = ids::normalise_with(scheme, raw);
        if urn_ids.insert(urn.to_owned(), id.clone()).is_some() {
            return Err(ControlError::Invalid {
                path: format!("{path}.urn"),
                message: format!("duplicate URN `{urn}`"),
            });
        }
        node_ids.push(id);
    }
    let mut controls = Vec::with_capacity(nodes.len());
    for (n, id) in nodes.into_iter().zip(node_ids) {
        if n.depth.is_some_and(|d| d as usize > MAX_DEPTH) {
            return Err(ControlError::Invalid {
                path: format!("{base}.requirement_nodes[{}].depth", controls.len()),
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            });
        }
        let assessable = n.assessable.unwrap_or(false);
        let (kind, structural_parent) = match scheme {
            Scheme::Sp80053 => {
                let kind = if !id.contains('-') {
                    ControlKind::Group
                } else if ids::sp80053_is_enhancement(&id) {
                    ControlKind::Enhancement
                } else {
                    ControlKind::Control
                };
                // The library hangs enhancements under the family; the catalog under the control.
                (kind, ids::sp80053_parent(&id))
            }
            Scheme::Csf if id.contains('-') => (ControlKind::Subcategory, None),
            _ if assessable => (ControlKind::Requirement, None),
            _ => (ControlKind::Group, None),
        };
        let parent = structural_parent.or_else(|| {
            n.parent_urn.as_deref().map(|p| match urn_ids.get(p) {
                Some(pid) => pid.clone(),
                None => ids::normalise_with(scheme, ids::split_urn(p).map_or(p, |(_, node)| node)),
            })
        });
        let label = n
            .ref_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_or_else(|| ids::display_label(scheme, &id), str::to_owned);
        let statement = n
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        let withdrawn = statement
            .as_deref()
            .is_some_and(|s| s.starts_with("[Withdrawn"));
        controls.push(Control {
            framework: framework.id.clone(),
            title: n
                .name
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| label.clone()),
            id,
            label,
            parent,
            kind,
            assessable: assessable && !withdrawn,
            withdrawn,
            statement,
            urn: n.urn,
        });
    }
    Ok(Catalog {
        framework,
        controls,
    })
}

fn framework_of(urn: Option<&str>, path: &str) -> Result<String, ControlError> {
    match urn.and_then(ids::split_urn) {
        Some((id, _)) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(ControlError::MissingField {
            path: path.to_owned(),
        }),
    }
}

fn resolve(urn: &str, framework: &str, urn_ids: &HashMap<String, String>) -> String {
    if let Some(id) = urn_ids.get(urn) {
        return id.clone();
    }
    match ids::split_urn(urn) {
        Some((fw, node)) if !node.is_empty() => ids::normalise_control_id(fw, node),
        _ => ids::normalise_control_id(framework, urn.rsplit(':').next().unwrap_or(urn)),
    }
}

fn mapping_set(
    set: RawSet,
    path: &str,
    urn_ids: &HashMap<String, String>,
    total: &mut usize,
) -> Result<Crosswalk, ControlError> {
    let source_framework = framework_of(
        set.source_framework_urn.as_deref(),
        &format!("{path}.source_framework_urn"),
    )?;
    let target_framework = framework_of(
        set.target_framework_urn.as_deref(),
        &format!("{path}.target_framework_urn"),
    )?;
    let Some(rows) = set.requirement_mappings else {
        return Err(ControlError::MissingField {
            path: format!("{path}.requirement_mappings"),
        });
    };
    let mut entries = Vec::with_capacity(rows.len().min(MAX_CROSSWALK_ENTRIES));
    for (i, row) in rows.into_iter().enumerate() {
        let rpath = format!("{path}.requirement_mappings[{i}]");
        *total += 1;
        if *total > MAX_CROSSWALK_ENTRIES {
            return Err(ControlError::TooLarge {
                what: "crosswalk entries",
                limit: MAX_CROSSWALK_ENTRIES,
            });
        }
        let Some(src) = row.source_requirement_urn else {
            return Err(ControlError::MissingField {
                path: format!("{rpath}.source_requirement_urn"),
            });
        };
        let Some(tgt) = row.target_requirement_urn else {
            return Err(ControlError::MissingField {
                path: format!("{rpath}.target_requirement_urn"),
            });
        };
        let rel = relationship(
            row.relationship.as_deref(),
            &format!("{rpath}.relationship"),
        )?;
        entries.push(CrosswalkEntry {
            source: resolve(&src, &source_framework, urn_ids),
            target: resolve(&tgt, &target_framework, urn_ids),
            relationship: rel,
            rationale: row.rationale,
            source_urn: Some(src),
            target_urn: Some(tgt),
        });
    }
    Ok(Crosswalk {
        source_framework,
        target_framework,
        source_format: SourceFormat::CisoAssistant,
        urn: set.urn,
        entries,
    })
}
