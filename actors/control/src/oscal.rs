//! OSCAL catalogs and mapping collections (JSON).
//!
//! Catalog (OSCAL 1.1): `{"catalog": {uuid, metadata{title, version}, groups[{id, class, title,
//! props, parts, groups[], controls[]}], controls[]}}`; a control has `id`, `class`, `title`,
//! `props` (`name: label`), `params`, `parts` (`statement` prose with nested item parts) and nested
//! `controls` (enhancements).
//!
//! Mapping collection (OSCAL 1.2 mapping model): `{"mapping-collection": {uuid, metadata,
//! provenance, mappings[{source-resource{href}, target-resource{href}, maps[{relationship,
//! sources[{type, id-ref}], targets[{type, id-ref}], matching-rationale, remarks}]}]}}`.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::ids::{self, Scheme};
use super::model::{
    Control, ControlKind, Crosswalk, CrosswalkEntry, Framework, Relationship, SourceFormat,
};
use super::{ControlError, MAX_CONTROLS, MAX_CROSSWALK_ENTRIES, MAX_DEPTH, check_size};

/// Top level of any OSCAL document; the model kinds other than the wanted one are skipped.
#[derive(Deserialize)]
struct Top<C, M> {
    catalog: Option<C>,
    #[serde(rename = "mapping-collection")]
    mapping_collection: Option<M>,
    profile: Option<IgnoredAny>,
    #[serde(rename = "component-definition")]
    component_definition: Option<IgnoredAny>,
    #[serde(rename = "system-security-plan")]
    system_security_plan: Option<IgnoredAny>,
    #[serde(rename = "assessment-plan")]
    assessment_plan: Option<IgnoredAny>,
    #[serde(rename = "assessment-results")]
    assessment_results: Option<IgnoredAny>,
    #[serde(rename = "plan-of-action-and-milestones")]
    poam: Option<IgnoredAny>,
}

impl<C, M> Top<C, M> {
    fn found(&self) -> String {
        let kinds = [
            (self.catalog.is_some(), "OSCAL catalog"),
            (
                self.mapping_collection.is_some(),
                "OSCAL mapping-collection",
            ),
            (self.profile.is_some(), "OSCAL profile"),
            (
                self.component_definition.is_some(),
                "OSCAL component-definition",
            ),
            (
                self.system_security_plan.is_some(),
                "OSCAL system-security-plan",
            ),
            (self.assessment_plan.is_some(), "OSCAL assessment-plan"),
            (
                self.assessment_results.is_some(),
                "OSCAL assessment-results",
            ),
            (self.poam.is_some(), "OSCAL plan-of-action-and-milestones"),
        ];
        kinds
            .iter()
            .find(|(present, _)| *present)
            .map_or("no OSCAL root element", |(_, name)| name)
            .to_owned()
    }
}

#[derive(Deserialize, Default)]
struct RawMetadata {
    title: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct RawCatalog {
    uuid: Option<String>,
    metadata: Option<RawMetadata>,
    #[serde(default)]
    groups: Vec<RawGroup>,
    #[serde(default)]
    controls: Vec<RawControl>,
}

#[derive(Deserialize)]
struct RawProp {
    name: Option<String>,
    value: Option<String>,
    class: Option<String>,
}

#[derive(Deserialize)]
struct RawParam {
    id: Option<String>,
    label: Option<String>,
}

#[derive(Deserialize)]
struct RawPart {
    name: Option<String>,
    #[serde(default)]
    props: Vec<RawProp>,
    prose: Option<String>,
    #[serde(default)]
    parts: Vec<RawPart>,
}

#[derive(Deserialize)]
struct RawGroup {
    id: Option<String>,
    title: Option<String>,
    #[serde(default)]
    props: Vec<RawProp>,
    #[serde(default)]
    groups: Vec<RawGroup>,
    #[serde(default)]
    controls: Vec<RawControl>,
}

#[derive(Deserialize)]
struct RawControl {
    id: Option<String>,
    class: Option<String>,
    title: Option<String>,
    #[serde(default)]
    props: Vec<RawProp>,
    #[serde(default)]
    params: Vec<RawParam>,
    #[serde(default)]
    parts: Vec<RawPart>,
    #[serde(default)]
    controls: Vec<RawControl>,
}

fn parse_json<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ControlError> {
    check_size(bytes)?;
    // serde_json bounds recursion (128 levels), so hostile nesting cannot overflow the stack.
    Ok(serde_json::from_slice(bytes)?)
}

/// Parse an OSCAL catalog (JSON) into its framework and controls (parents before children).
///
/// `framework_id` overrides the id derived from the catalog title (`nist-sp-800-53-rev5` for any
/// SP 800-53 rev5 catalog or resolved baseline, `nist-csf-2.0` for CSF 2.0, else a slug of the
/// title). Groups become [`ControlKind::Group`] nodes; a group id repeated in the document (the
/// CSF 2.0 catalog repeats its function groups) yields one node. Controls with a `status` prop
/// `withdrawn`, or whose statement starts with "[Withdrawn", are marked withdrawn and not
/// assessable.
pub fn parse_oscal_catalog(
    bytes: &[u8],
    framework_id: Option<&str>,
) -> Result<(Framework, Vec<Control>), ControlError> {
    let top: Top<RawCatalog, IgnoredAny> = parse_json(bytes)?;
    let found = top.found();
    let Some(catalog) = top.catalog else {
        return Err(ControlError::WrongKind {
            expected: "OSCAL catalog",
            found,
        });
    };
    let metadata = catalog.metadata.unwrap_or_default();
    let Some(title) = metadata.title.filter(|t| !t.trim().is_empty()) else {
        return Err(ControlError::MissingField {
            path: "catalog.metadata.title".into(),
        });
    };
    let id = match framework_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_owned(),
        None => ids::framework_id_from_text(&title),
    };
    let scheme = Scheme::from_hint(&id).unwrap_or(Scheme::Other);
    let framework = Framework {
        id,
        name: title,
        version: metadata.version,
        source_format: SourceFormat::OscalCatalog,
        urn: catalog.uuid,
    };
    let framework_id = framework.id.clone();
    let mut walker = Walker {
        framework: &framework_id,
        scheme,
        out: Vec::new(),
        seen: HashSet::new(),
    };
    for (i, g) in catalog.groups.iter().enumerate() {
        walker.group(g, None, &format!("catalog.groups[{i}]"), 1)?;
    }
    for (i, c) in catalog.controls.iter().enumerate() {
        walker.control(c, None, false, &format!("catalog.controls[{i}]"), 1)?;
    }
    Ok((framework, walker.out))
}

struct Walker<'a> {
    framework: &'a str,
    scheme: Scheme,
    out: Vec<Control>,
    seen: HashSet<String>,
}

impl Walker<'_> {
    fn push(&mut self, control: Control, path: &str) -> Result<(), ControlError> {
        if self.out.len() >= MAX_CONTROLS {
            return Err(ControlError::TooLarge {
                what: "controls",
                limit: MAX_CONTROLS,
            });
        }
        if !self.seen.insert(control.id.clone()) {
            return Err(ControlError::Invalid {
                path: format!("{path}.id"),
                message: format!("duplicate control id `{}`", control.id),
            });
        }
        self.out.push(control);
        Ok(())
    }

    fn depth(path: &str, depth: usize) -> Result<(), ControlError> {
        if depth > MAX_DEPTH {
            return Err(ControlError::Invalid {
                path: path.to_owned(),
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    fn group(
        &mut self,
        g: &RawGroup,
        parent: Option<&str>,
        path: &str,
        depth: usize,
    ) -> Result<(), ControlError> {
        Self::depth(path, depth)?;
        let title = g.title.as_deref().map(str::trim).unwrap_or_default();
        // OSCAL makes a group's id optional; fall back on its title.
        let raw_id = match (g.id.as_deref(), title) {
            (Some(id), _) if !id.trim().is_empty() => id.to_owned(),
            (_, t) if !t.is_empty() => ids::slug(t),
            _ => {
                return Err(ControlError::MissingField {
                    path: format!("{path}.title"),
                });
            }
        };
        let id = ids::normalise_with(self.scheme, &raw_id);
        // A group id seen before (the CSF 2.0 catalog repeats its functions as empty groups)
        // yields one node; its children still hang under it.
        if !self.seen.contains(&id) {
            let label = label_prop(&g.props)
                .unwrap_or_else(|| ids::display_label(self.scheme, &id).to_ascii_uppercase());
            let (title, statement) = split_csf_title(title, &label);
            let control = Control {
                framework: self.framework.to_owned(),
                label,
                title,
                parent: parent.map(str::to_owned),
                kind: ControlKind::Group,
                assessable: false,
                withdrawn: is_withdrawn(&g.props, statement.as_deref()),
                statement,
                urn: None,
                id: id.clone(),
            };
            self.push(control, path)?;
        }
        for (i, sub) in g.groups.iter().enumerate() {
            self.group(sub, Some(&id), &format!("{path}.groups[{i}]"), depth + 1)?;
        }
        for (i, c) in g.controls.iter().enumerate() {
            self.control(
                c,
                Some(&id),
                false,
                &format!("{path}.controls[{i}]"),
                depth + 1,
            )?;
        }
        Ok(())
    }

    fn control(
        &mut self,
        c: &RawControl,
        parent: Option<&str>,
        nested: bool,
        path: &str,
        depth: usize,
    ) -> Result<(), ControlError> {
        Self::depth(path, depth)?;
        let Some(raw_id) = c.id.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Err(ControlError::MissingField {
                path: format!("{path}.id"),
            });
        };
        let Some(title) = c.title.as_deref() else {
            return Err(ControlError::MissingField {
                path: format!("{path}.title"),
            });
        };
        let id = ids::normalise_with(self.scheme, raw_id);
        let class = c.class.as_deref().unwrap_or_default().to_ascii_lowercase();
        let kind = if self.scheme == Scheme::Csf {
            ControlKind::Subcategory
        } else if nested || class.contains("enhancement") {
            ControlKind::Enhancement
        } else {
            ControlKind::Control
        };
        let label = label_prop(&c.props).unwrap_or_else(|| ids::display_label(self.scheme, &id));
        let params: HashMap<&str, &str> = c
            .params
            .iter()
            .filter_map(|p| Some((p.id.as_deref()?, p.label.as_deref()?)))
            .collect();
        let statement = c
            .parts
            .iter()
            .find(|p| p.name.as_deref() == Some("statement"))
            .map(|p| render_statement(p, &params))
            .filter(|s| !s.is_empty());
        let withdrawn = is_withdrawn(&c.props, statement.as_deref());
        let control = Control {
            framework: self.framework.to_owned(),
            id: id.clone(),
            label,
            title: title.trim().to_owned(),
            parent: parent.map(str::to_owned),
            kind,
            assessable: !withdrawn,
            withdrawn,
            statement,
            urn: None,
        };
        self.push(control, path)?;
        for (i, sub) in c.controls.iter().enumerate() {
            self.control(
                sub,
                Some(&id),
                true,
                &format!("{path}.controls[{i}]"),
                depth + 1,
            )?;
        }
        Ok(())
    }
}

/// The `label` prop, preferring the one without a class (`AC-2(1)` over zero-padded `AC-02(01)`).
fn label_prop(props: &[RawProp]) -> Option<String> {
    let labels = || {
        props
            .iter()
            .filter(|p| p.name.as_deref() == Some("label"))
            .filter_map(|p| Some((p.class.as_deref(), p.value.as_deref()?.trim())))
            .filter(|(_, v)| !v.is_empty())
    };
    labels()
        .find(|(class, _)| class.is_none())
        .or_else(|| labels().next())
        .map(|(_, v)| v.to_owned())
}

fn is_withdrawn(props: &[RawProp], statement: Option<&str>) -> bool {
    props.iter().any(|p| {
        p.name.as_deref() == Some("status")
            && p.value
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("withdrawn"))
    }) || statement.is_some_and(|s| s.trim_start().starts_with("[Withdrawn"))
}

/// CSF groups are titled `Organizational Context (GV.OC): The circumstances ...`: split into the
/// name and the statement when the label sits in the title that way.
fn split_csf_title(title: &str, label: &str) -> (String, Option<String>) {
    let marker = format!(" ({label}): ");
    match title.split_once(&marker) {
        Some((name, rest)) => (name.trim().to_owned(), Some(rest.trim().to_owned())),
        None => (title.to_owned(), None),
    }
}

/// Statement prose with its item labels, one line per part; `{{ insert: param, id }}` becomes
/// `[Assignment: organization-defined <label>]` when the parameter has a label.
fn render_statement(part: &RawPart, params: &HashMap<&str, &str>) -> String {
    fn walk(part: &RawPart, params: &HashMap<&str, &str>, lines: &mut Vec<String>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(prose) = part.prose.as_deref() {
            let label = label_prop(&part.props);
            let text = insert_params(prose.trim(), params);
            lines.push(match label {
                Some(l) => format!("{l} {text}"),
                None => text,
            });
        }
        for sub in &part.parts {
            walk(sub, params, lines, depth + 1);
        }
    }
    let mut lines = Vec::new();
    walk(part, params, &mut lines, 0);
    lines.join("\n")
}

fn insert_params(prose: &str, params: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(prose.len());
    let mut rest = prose;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = rest[start + 2..start + len].trim();
        let param = inner
            .strip_prefix("insert:")
            .and_then(|s| s.split_once(','))
            .filter(|(kind, _)| kind.trim() == "param")
            .and_then(|(_, id)| params.get(id.trim()));
        match param {
            Some(label) => {
                out.push_str("[Assignment: organization-defined ");
                out.push_str(label);
                out.push(']');
            }
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

#[derive(Deserialize)]
struct RawMappingCollection {
    uuid: Option<String>,
    metadata: Option<RawMetadata>,
    provenance: Option<RawProvenance>,
    mappings: Option<Vec<RawMapping>>,
}

#[derive(Deserialize)]
struct RawProvenance {
    #[serde(rename = "matching-rationale")]
    matching_rationale: Option<String>,
}

#[derive(Deserialize)]
struct RawResource {
    href: Option<String>,
    title: Option<String>,
}

#[derive(Deserialize)]
struct RawMapping {
    #[serde(rename = "source-resource")]
    source_resource: Option<RawResource>,
    #[serde(rename = "target-resource")]
    target_resource: Option<RawResource>,
    maps: Option<Vec<RawMap>>,
}

#[derive(Deserialize)]
struct RawMap {
    relationship: Option<String>,
    #[serde(default)]
    sources: Vec<RawItem>,
    #[serde(default)]
    targets: Vec<RawItem>,
    #[serde(rename = "matching-rationale")]
    matching_rationale: Option<String>,
    remarks: Option<String>,
}

#[derive(Deserialize)]
struct RawItem {
    #[serde(rename = "id-ref")]
    id_ref: Option<String>,
}

fn resource_framework(
    res: Option<&RawResource>,
    fallback: Option<&str>,
    path: &str,
) -> Result<String, ControlError> {
    let text = res
        .and_then(|r| r.href.as_deref().or(r.title.as_deref()))
        .filter(|s| !s.trim().is_empty())
        .or(fallback.filter(|s| !s.trim().is_empty()));
    match text {
        Some(t) => Ok(ids::framework_id_from_text(t)),
        None => Err(ControlError::MissingField {
            path: format!("{path}.href"),
        }),
    }
}

/// Parse an OSCAL mapping collection (JSON) into one crosswalk per (source, target) framework
/// pair, in document order. Rows with several sources or targets expand into one entry per pair.
///
/// Framework ids come from each mapping's `source-resource` / `target-resource` `href` (or
/// `title`), else from the metadata title `"<source> to <target>"`. Control ids are normalised
/// with [`super::normalise_control_id`]; statement part ids (`ac-2_smt.a`) map to their control.
pub fn parse_oscal_mapping_collection(bytes: &[u8]) -> Result<Vec<Crosswalk>, ControlError> {
    let top: Top<IgnoredAny, RawMappingCollection> = parse_json(bytes)?;
    let found = top.found();
    let Some(mc) = top.mapping_collection else {
        return Err(ControlError::WrongKind {
            expected: "OSCAL mapping-collection",
            found,
        });
    };
    let Some(mappings) = mc.mappings else {
        return Err(ControlError::MissingField {
            path: "mapping-collection.mappings".into(),
        });
    };
    let title = mc.metadata.and_then(|m| m.title).unwrap_or_default();
    let (title_src, title_tgt) = match title.split_once(" to ") {
        Some((s, t)) => (Some(s), Some(t)),
        None => (None, None),
    };
    let default_rationale = mc.provenance.and_then(|p| p.matching_rationale);
    let mut out: Vec<Crosswalk> = Vec::new();
    let mut total = 0usize;
    for (mi, m) in mappings.iter().enumerate() {
        let mpath = format!("mapping-collection.mappings[{mi}]");
        let src = resource_framework(
            m.source_resource.as_ref(),
            title_src,
            &format!("{mpath}.source-resource"),
        )?;
        let tgt = resource_framework(
            m.target_resource.as_ref(),
            title_tgt,
            &format!("{mpath}.target-resource"),
        )?;
        let Some(maps) = m.maps.as_ref() else {
            return Err(ControlError::MissingField {
                path: format!("{mpath}.maps"),
            });
        };
        let idx = match out
            .iter()
            .position(|c| c.source_framework == src && c.target_framework == tgt)
        {
            Some(i) => i,
            None => {
                out.push(Crosswalk {
                    source_framework: src.clone(),
                    target_framework: tgt.clone(),
                    source_format: SourceFormat::OscalMapping,
                    urn: mc.uuid.clone(),
                    entries: Vec::new(),
                });
                out.len() - 1
            }
        };
        let mut entries = Vec::new();
        for (ri, row) in maps.iter().enumerate() {
            let rpath = format!("{mpath}.maps[{ri}]");
            let rel = relationship(
                row.relationship.as_deref(),
                &format!("{rpath}.relationship"),
            )?;
            let rationale = row
                .remarks
                .clone()
                .or_else(|| row.matching_rationale.clone())
                .or_else(|| default_rationale.clone());
            let sources = item_ids(&row.sources, &src, &format!("{rpath}.sources"))?;
            let targets = item_ids(&row.targets, &tgt, &format!("{rpath}.targets"))?;
            for s in &sources {
                for t in &targets {
                    total += 1;
                    if total > MAX_CROSSWALK_ENTRIES {
                        return Err(ControlError::TooLarge {
                            what: "crosswalk entries",
                            limit: MAX_CROSSWALK_ENTRIES,
                        });
                    }
                    entries.push(CrosswalkEntry {
                        source: s.clone(),
                        target: t.clone(),
                        relationship: rel,
                        rationale: rationale.clone(),
                        source_urn: None,
                        target_urn: None,
                    });
                }
            }
        }
        if let Some(c) = out.get_mut(idx) {
            c.entries.extend(entries);
        }
    }
    Ok(out)
}

/// Parse an OSCAL mapping collection that maps one source framework to one target framework
/// (see [`parse_oscal_mapping_collection`]). A collection spanning several framework pairs is
/// [`ControlError::Invalid`]; one with no mappings yields an error naming `mappings`.
pub fn parse_oscal_mapping(bytes: &[u8]) -> Result<Crosswalk, ControlError> {
    let mut all = parse_oscal_mapping_collection(bytes)?;
    match all.len() {
        0 => Err(ControlError::MissingField {
            path: "mapping-collection.mappings[0]".into(),
        }),
        1 => all.pop().ok_or_else(|| ControlError::MissingField {
            path: "mapping-collection.mappings[0]".into(),
        }),
        n => Err(ControlError::Invalid {
            path: "mapping-collection.mappings".into(),
            message: format!(
                "{n} framework pairs; use parse_oscal_mapping_collection for more than one"
            ),
        }),
    }
}

pub(crate) fn relationship(raw: Option<&str>, path: &str) -> Result<Relationship, ControlError> {
    let Some(raw) = raw else {
        return Err(ControlError::MissingField {
            path: path.to_owned(),
        });
    };
    Relationship::parse(raw).ok_or_else(|| ControlError::UnknownRelationship {
        value: raw.to_owned(),
        path: path.to_owned(),
    })
}

fn item_ids(items: &[RawItem], framework: &str, path: &str) -> Result<Vec<String>, ControlError> {
    if items.is_empty() {
        return Err(ControlError::MissingField {
            path: format!("{path}[0]"),
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let Some(id) = item.id_ref.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Err(ControlError::MissingField {
                path: format!("{path}[{i}].id-ref"),
            });
        };
        let id = ids::normalise_control_id(framework, id);
        if seen.insert(id.clone()) {
            out.push(id);
        }
    }
    Ok(out)
}
