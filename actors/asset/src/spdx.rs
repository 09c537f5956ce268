//! SPDX JSON import, spec versions 2.2 and 2.3.
//!
//! # Why not the `spdx-rs` crate
//! `spdx-rs` 0.5.5 (doubleopen-project) is the only SPDX 2.x crate of note, but it targets
//! SPDX 2.2, its last release dates from 2023 with no 2.3 work since, and its structs make
//! several fields required that real 2.3 documents omit (2.3 relaxed e.g. `licenseConcluded`
//! and `downloadLocation` handling), so valid files can fail to parse. Inventory import needs
//! eight fields whose JSON names are the same in 2.2 and 2.3, so this module deserialises them
//! with serde into minimal structs that ignore everything else.
//!
//! # Mapping (SPDX 2.3 spec, clauses 6 "Document creation information", 7 "Package
//! information", 11 "Relationships")
//! * The described package becomes the asset ([`AssetKind::Application`]): the first package
//!   listed in `documentDescribes`, else the target of a `SPDXRef-DOCUMENT DESCRIBES x`
//!   relationship (or `x DESCRIBED_BY SPDXRef-DOCUMENT`). Its key is
//!   `spdx:{documentNamespace}#{SPDXID}`; owner = its `supplier` without the
//!   `Organization: `/`Person: ` prefix (`NOASSERTION` ignored).
//! * Every other package becomes a component: purl from the external reference whose
//!   `referenceType` is `purl`, CPE from `cpe23Type` (else `cpe22Type`).
//! * When several packages are described, the first is the asset and the others are
//!   components too (with a warning); when none is, the document itself is the asset
//!   (`spdx:{documentNamespace}`, named after the document), with a warning. Files and
//!   snippets are not components.

use std::collections::HashSet;

use serde::Deserialize;

use super::error::ImportError;
use super::model::{AssetKind, Builder, Component, Draft, Inventory};
use super::{CriticalityRules, Format, non_empty};

/// `spdxVersion` values this importer reads.
pub const SUPPORTED_VERSIONS: &[&str] = &["SPDX-2.2", "SPDX-2.3"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    spdx_version: Option<String>,
    name: Option<String>,
    document_namespace: Option<String>,
    #[serde(default)]
    document_describes: Vec<String>,
    #[serde(default)]
    packages: Vec<Package>,
    #[serde(default)]
    relationships: Vec<Relationship>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: Option<String>,
    name: Option<String>,
    version_info: Option<String>,
    supplier: Option<String>,
    #[serde(default)]
    external_refs: Vec<ExternalRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_type: Option<String>,
    reference_locator: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: Option<String>,
    relationship_type: Option<String>,
    related_spdx_element: Option<String>,
}

impl Package {
    fn reference(&self, ty: &str) -> Option<String> {
        self.external_refs
            .iter()
            .find(|r| r.reference_type.as_deref() == Some(ty))
            .and_then(|r| non_empty(r.reference_locator.as_deref()))
    }

    fn component(&self) -> Component {
        let mut c = Component::named(non_empty(self.name.as_deref()).unwrap_or_default());
        c.version = non_empty(self.version_info.as_deref());
        c.purl = self.reference("purl");
        c.cpe = self
            .reference("cpe23Type")
            .or_else(|| self.reference("cpe22Type"));
        c
    }
}

/// `Organization: Acme` -> `Acme`; `NOASSERTION` -> `None`.
fn supplier_name(s: Option<&str>) -> Option<String> {
    let s = non_empty(s)?;
    if s == "NOASSERTION" {
        return None;
    }
    let name = s
        .strip_prefix("Organization:")
        .or_else(|| s.strip_prefix("Person:"))
        .unwrap_or(&s);
    non_empty(Some(name))
}

pub(crate) fn parse(text: &str, rules: &CriticalityRules) -> Result<Inventory, ImportError> {
    let doc: Doc = serde_json::from_str(text).map_err(|e| ImportError::json(Format::Spdx, &e))?;
    let Some(version) = doc.spdx_version.clone() else {
        return Err(ImportError::WrongFormat {
            expected: Format::Spdx,
            reason: "spdxVersion missing".to_owned(),
        });
    };
    if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
        return Err(ImportError::UnsupportedVersion {
            format: Format::Spdx,
            version,
            supported: "SPDX-2.2 and SPDX-2.3",
        });
    }
    let mut b = Builder::new(Format::Spdx);
    let namespace = match non_empty(doc.document_namespace.as_deref()) {
        Some(ns) => ns,
        None => {
            b.warnings
                .push("documentNamespace missing: keys use the document name instead".to_owned());
            non_empty(doc.name.as_deref()).unwrap_or_default()
        }
    };

    let package_ids: HashSet<&str> = doc
        .packages
        .iter()
        .filter_map(|p| p.spdx_id.as_deref())
        .collect();
    let mut described: Vec<&str> = Vec::new();
    let from_rels = doc.relationships.iter().filter_map(|r| {
        match (
            r.spdx_element_id.as_deref(),
            r.relationship_type.as_deref(),
            r.related_spdx_element.as_deref(),
        ) {
            (Some("SPDXRef-DOCUMENT"), Some("DESCRIBES"), Some(x))
            | (Some(x), Some("DESCRIBED_BY"), Some("SPDXRef-DOCUMENT")) => Some(x),
            _ => None,
        }
    });
    for id in doc
        .document_describes
        .iter()
        .map(String::as_str)
        .chain(from_rels)
    {
        if package_ids.contains(id) && !described.contains(&id) {
            described.push(id);
        }
    }

    let main = described.first().and_then(|id| {
        doc.packages
            .iter()
            .find(|p| p.spdx_id.as_deref() == Some(id))
    });
    let key = match main {
        Some(p) => {
            let id = p.spdx_id.as_deref().unwrap_or_default();
            let key = format!("spdx:{namespace}#{id}");
            let mut d = Draft::new(
                key.clone(),
                AssetKind::Application,
                non_empty(p.name.as_deref()).unwrap_or_else(|| id.to_owned()),
            );
            d.version = non_empty(p.version_info.as_deref());
            d.owner = supplier_name(p.supplier.as_deref());
            b.entry(&key, || d)?;
            if described.len() > 1 {
                b.warnings.push(format!(
                    "{} packages are described; {id} is the asset and the others are components",
                    described.len()
                ));
            }
            key
        }
        None => {
            let key = format!("spdx:{namespace}");
            b.warnings.push(
                "no described package (documentDescribes or DESCRIBES): the document is the asset"
                    .to_owned(),
            );
            let name = non_empty(doc.name.as_deref()).unwrap_or_else(|| key.clone());
            b.entry(&key, || {
                Draft::new(key.clone(), AssetKind::Application, name)
            })?;
            key
        }
    };
    let main_id = main.and_then(|p| p.spdx_id.as_deref());
    for p in &doc.packages {
        if main_id.is_some() && p.spdx_id.as_deref() == main_id {
            continue;
        }
        let c = p.component();
        if c.name.is_empty() && c.purl.is_none() {
            b.warnings.push(format!(
                "skipped package {} without name or purl",
                p.spdx_id.as_deref().unwrap_or("?")
            ));
            continue;
        }
        b.add_component(&key, c)?;
    }
    Ok(b.finish(rules))
}
