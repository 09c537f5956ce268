//! CycloneDX JSON import, spec versions 1.2 to 1.7.
//!
//! # Why not the `cyclonedx-bom` crate
//! `cyclonedx-bom` 0.8.1 (the current release, read in its source) models `SpecVersion` as
//! `V1_3 | V1_4 | V1_5` only: it rejects 1.2 documents (most of our real SBOMs: keycloak,
//! dropwizard, juice-shop, proton-bridge) and 1.6/1.7 ones (Trivy's current output). It also
//! validates strictly, so one odd field fails a whole import. Inventory import needs a handful
//! of fields that have kept the same JSON names and meaning from 1.2 to 1.7, so this module
//! deserialises them with serde into minimal structs that ignore every other field.
//!
//! # Mapping (CycloneDX spec, "Component Object" and "Service Object")
//! * `metadata.component` becomes the asset. Its `type` gives the kind:
//!   `application`, `framework`, `library`, `file`, `machine-learning-model`, `data`,
//!   `cryptographic-asset` (and unknown types) -> [`AssetKind::Application`];
//!   `container`, `operating-system`, `device`, `firmware`, `platform`, `device-driver` ->
//!   [`AssetKind::Host`] (things that run or carry software and have an address).
//! * `components[]`, with their nested `components[]` flattened (depth at most
//!   [`MAX_DEPTH`]), and the sub-components of `metadata.component` become the asset's
//!   components, de-duplicated on purl else name+version.
//! * Each `services[]` entry, nested `services[]` included, becomes a separate
//!   [`AssetKind::Service`] asset: key `service:{group}/{name}@{version}`, endpoints as
//!   [`AddressKind::Url`] addresses, owner = `provider.name`.
//! * Asset key: `purl:{purl}` when `metadata.component` has a purl, else
//!   `cdx:{group}/{name}@{version}` (group and version left out when absent), else
//!   `cdx-ref:{serialNumber}/{bom-ref}`. Without `metadata.component` the asset is
//!   `cdx-bom:{serialNumber}` (with a warning).
//! * Owner: `supplier.name`, else `manufacturer.name`, else `author`.
//! * Properties `rampart:criticality` (1..=5) and `rampart:tag` (repeatable) on the
//!   metadata component or a service set the criticality and tags. An invalid criticality
//!   property is a warning and the rules decide.
//! * A VEX/VDR document (`vulnerabilities` but neither `components` nor `services`) yields an
//!   **empty inventory with a warning**, not an error: it is valid CycloneDX, just not an
//!   inventory, and a batch import of a folder of SBOMs should not fail on it.

use serde::Deserialize;

use super::error::ImportError;
use super::model::{
    AddressKind, AssetKind, Builder, Component, Draft, Inventory, parse_criticality,
};
use super::{CriticalityRules, Format, MAX_DEPTH, non_empty};

/// Spec versions this importer reads.
pub const SUPPORTED_VERSIONS: &[&str] = &["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    bom_format: Option<serde_json::Value>,
    spec_version: Option<serde_json::Value>,
    serial_number: Option<String>,
    metadata: Option<Metadata>,
    components: Option<Vec<CdxComponent>>,
    services: Option<Vec<CdxService>>,
    vulnerabilities: Option<Vec<serde::de::IgnoredAny>>,
}

#[derive(Deserialize)]
struct Metadata {
    component: Option<CdxComponent>,
}

#[derive(Deserialize)]
struct Named {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Property {
    name: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct CdxComponent {
    #[serde(rename = "type")]
    ty: Option<String>,
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    name: Option<String>,
    version: Option<String>,
    group: Option<String>,
    purl: Option<String>,
    cpe: Option<String>,
    supplier: Option<Named>,
    manufacturer: Option<Named>,
    author: Option<String>,
    #[serde(default)]
    properties: Vec<Property>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize)]
struct CdxService {
    name: Option<String>,
    version: Option<String>,
    group: Option<String>,
    provider: Option<Named>,
    #[serde(default)]
    endpoints: Vec<String>,
    #[serde(default)]
    properties: Vec<Property>,
    #[serde(default)]
    services: Vec<CdxService>,
}

/// Maps a CycloneDX component `type` to an asset kind (see the module docs).
pub fn kind_of(component_type: &str) -> AssetKind {
    match component_type {
        "container" | "operating-system" | "device" | "firmware" | "platform" | "device-driver" => {
            AssetKind::Host
        }
        _ => AssetKind::Application,
    }
}

pub(crate) fn parse(text: &str, rules: &CriticalityRules) -> Result<Inventory, ImportError> {
    let bom: Bom =
        serde_json::from_str(text).map_err(|e| ImportError::json(Format::CycloneDx, &e))?;
    let wrong = |reason: &str| ImportError::WrongFormat {
        expected: Format::CycloneDx,
        reason: reason.to_owned(),
    };
    match bom.bom_format.as_ref() {
        None => return Err(wrong("bomFormat missing")),
        Some(serde_json::Value::String(s)) if s == "CycloneDX" => {}
        Some(other) => return Err(wrong(&format!("bomFormat is {other}, not \"CycloneDX\""))),
    }
    let version = match bom.spec_version.as_ref() {
        None => return Err(wrong("specVersion missing")),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
        return Err(ImportError::UnsupportedVersion {
            format: Format::CycloneDx,
            version,
            supported: "1.2 to 1.7",
        });
    }

    let mut b = Builder::new(Format::CycloneDx);
    let components = bom.components.unwrap_or_default();
    let services = bom.services.unwrap_or_default();
    if components.is_empty() && services.is_empty() && bom.vulnerabilities.is_some() {
        b.warnings.push(
            "VEX/VDR document: it has vulnerabilities but no components or services, so there \
             is no inventory to import (import it as vulnerability data instead)"
                .to_owned(),
        );
        return Ok(b.finish(rules));
    }
    let serial = bom.serial_number.unwrap_or_default();
    let meta = bom.metadata.and_then(|m| m.component);

    if let Some(meta) = meta.as_ref() {
        let key = asset_key(meta, &serial);
        let draft = asset_draft(meta, key.clone(), &mut b.warnings);
        b.entry(&key, || draft)?;
        let mut skipped = 0;
        add_components(&mut b, &key, &components, &mut skipped)?;
        add_components(&mut b, &key, &meta.components, &mut skipped)?;
        if components.is_empty() && meta.components.is_empty() && services.is_empty() {
            b.warnings
                .push(format!("{key}: the BOM lists no components"));
        }
    } else if !components.is_empty() {
        let key = format!("cdx-bom:{serial}");
        let name = if serial.is_empty() {
            "unnamed CycloneDX BOM".to_owned()
        } else {
            serial.clone()
        };
        b.warnings.push(format!(
            "metadata.component missing: components are attached to the asset {key:?}"
        ));
        b.entry(&key, || {
            Draft::new(key.clone(), AssetKind::Application, name)
        })?;
        add_components(&mut b, &key, &components, &mut 0)?;
    }

    let mut stack: Vec<(&CdxService, usize)> = services.iter().map(|s| (s, 1)).collect();
    stack.reverse();
    while let Some((s, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(ImportError::TooLarge {
                what: "nesting levels",
                limit: MAX_DEPTH,
            });
        }
        add_service(&mut b, s)?;
        stack.extend(s.services.iter().rev().map(|c| (c, depth + 1)));
    }
    Ok(b.finish(rules))
}

fn asset_key(c: &CdxComponent, serial: &str) -> String {
    if let Some(p) = non_empty(c.purl.as_deref()) {
        return format!("purl:{p}");
    }
    if let Some(name) = non_empty(c.name.as_deref()) {
        return format!(
            "cdx:{}",
            gnv(c.group.as_deref(), &name, c.version.as_deref())
        );
    }
    format!("cdx-ref:{serial}/{}", c.bom_ref.as_deref().unwrap_or(""))
}

/// `group/name@version`, group and version left out when absent.
fn gnv(group: Option<&str>, name: &str, version: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(g) = non_empty(group) {
        s.push_str(&g);
        s.push('/');
    }
    s.push_str(name);
    if let Some(v) = non_empty(version) {
        s.push('@');
        s.push_str(&v);
    }
    s
}

/// Applies `rampart:criticality` and `rampart:tag` properties.
fn apply_properties(d: &mut Draft, props: &[Property], warnings: &mut Vec<String>) {
    for p in props {
        let value = p.value.as_deref().unwrap_or("");
        match p.name.as_deref() {
            Some("rampart:criticality") => match parse_criticality(value) {
                Ok(c) => d.criticality = Some(c),
                Err(e) => warnings.push(format!(
                    "{}: ignored property rampart:criticality: {e}",
                    d.key
                )),
            },
            Some("rampart:tag") => {
                if let Some(t) = non_empty(Some(value)) {
                    d.tags.insert(t);
                }
            }
            _ => {}
        }
    }
}

fn asset_draft(c: &CdxComponent, key: String, warnings: &mut Vec<String>) -> Draft {
    let kind = kind_of(c.ty.as_deref().unwrap_or("application"));
    let name = non_empty(c.name.as_deref()).unwrap_or_else(|| key.clone());
    let mut d = Draft::new(key, kind, name);
    d.version = non_empty(c.version.as_deref());
    d.owner = c
        .supplier
        .as_ref()
        .and_then(|s| non_empty(s.name.as_deref()))
        .or_else(|| {
            c.manufacturer
                .as_ref()
                .and_then(|s| non_empty(s.name.as_deref()))
        })
        .or_else(|| non_empty(c.author.as_deref()));
    apply_properties(&mut d, &c.properties, warnings);
    d
}

fn add_components(
    b: &mut Builder,
    key: &str,
    top: &[CdxComponent],
    skipped: &mut usize,
) -> Result<(), ImportError> {
    let before = *skipped;
    let mut stack: Vec<(&CdxComponent, usize)> = top.iter().rev().map(|c| (c, 1)).collect();
    while let Some((c, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(ImportError::TooLarge {
                what: "nesting levels",
                limit: MAX_DEPTH,
            });
        }
        let name = non_empty(c.name.as_deref());
        let purl = non_empty(c.purl.as_deref());
        if name.is_none() && purl.is_none() {
            *skipped += 1;
        } else {
            let mut comp = Component::named(name.unwrap_or_default());
            comp.version = non_empty(c.version.as_deref());
            comp.purl = purl;
            comp.cpe = non_empty(c.cpe.as_deref());
            comp.group = non_empty(c.group.as_deref());
            b.add_component(key, comp)?;
        }
        stack.extend(c.components.iter().rev().map(|n| (n, depth + 1)));
    }
    if *skipped > before {
        b.warnings.push(format!(
            "{key}: skipped {} component(s) with neither name nor purl",
            *skipped - before
        ));
    }
    Ok(())
}

fn add_service(b: &mut Builder, s: &CdxService) -> Result<(), ImportError> {
    let Some(name) = non_empty(s.name.as_deref()) else {
        b.warnings
            .push("skipped a service without a name".to_owned());
        return Ok(());
    };
    let key = format!(
        "service:{}",
        gnv(s.group.as_deref(), &name, s.version.as_deref())
    );
    let mut warnings = Vec::new();
    let d = b.entry(&key, || Draft::new(key.clone(), AssetKind::Service, name))?;
    d.version = non_empty(s.version.as_deref());
    d.owner = s
        .provider
        .as_ref()
        .and_then(|p| non_empty(p.name.as_deref()));
    for e in &s.endpoints {
        d.add_address(AddressKind::Url, e);
    }
    apply_properties(d, &s.properties, &mut warnings);
    b.warnings.extend(warnings);
    Ok(())
}
