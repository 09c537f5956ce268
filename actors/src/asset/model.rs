//! Normalised inventory types shared by every import format.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::error::ImportError;
use super::{Format, MAX_ASSETS, MAX_COMPONENTS};

/// What an [`Asset`] is. Serialised in snake_case (`"host"`, `"application"`, `"service"`,
/// `"cloud_resource"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// A machine, container image, operating system or device: something with addresses.
    Host,
    /// A piece of software (application, framework, library) built from components.
    Application,
    /// A network service reached through endpoints (CycloneDX `services`, SaaSBOM).
    Service,
    /// A cloud resource (bucket, managed database, account); only the CSV format yields it.
    CloudResource,
}

impl std::str::FromStr for AssetKind {
    type Err = String;

    /// Accepts (case-insensitive) `host`, `application`/`app`, `service`,
    /// `cloud_resource`/`cloud-resource`/`cloud`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "host" => Ok(Self::Host),
            "application" | "app" => Ok(Self::Application),
            "service" => Ok(Self::Service),
            "cloud_resource" | "cloud-resource" | "cloud" => Ok(Self::CloudResource),
            other => Err(format!(
                "unknown asset kind {other:?} (expected host, application, service or cloud_resource)"
            )),
        }
    }
}

/// The kind of an [`Address`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// An IPv4 address in dotted-quad notation.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// A link-layer (MAC) address, as written in the source (nmap writes upper-case hex).
    Mac,
    /// A DNS host name.
    Hostname,
    /// A URL endpoint of a service (CycloneDX `services[].endpoints`).
    Url,
}

/// One way to reach an asset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Address {
    /// What `value` is.
    pub kind: AddressKind,
    /// The address as written in the source.
    pub value: String,
}

/// A software component of an asset (a package, library, or a network service's product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Package or product name (for nmap: the service's product, else its service name).
    pub name: String,
    /// Version as written in the source (not normalised: `4.3.19.RELEASE`, `v0.0.0-2020...`).
    pub version: Option<String>,
    /// Package URL (<https://github.com/package-url/purl-spec>) exactly as in the source.
    pub purl: Option<String>,
    /// CPE name, 2.3 (`cpe:2.3:...`) or 2.2 URI (`cpe:/a:...`) form, as in the source.
    pub cpe: Option<String>,
    /// Package ecosystem: the purl type (`maven`, `npm`, `golang`, `composer`, `deb`, `gem`,
    /// `pypi`, `cargo`, ...), lower-case; `None` without a purl.
    pub ecosystem: Option<String>,
    /// Group or namespace: CycloneDX `group`, else the purl namespace (Maven groupId, npm scope,
    /// Go module path prefix, Debian vendor...).
    pub group: Option<String>,
}

impl Component {
    /// A component with only a name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: None,
            purl: None,
            cpe: None,
            ecosystem: None,
            group: None,
        }
    }

    /// Fills `ecosystem` and (when missing) `group` from `purl`, and `name`/`version` when empty.
    /// An unparsable purl is kept as written and leaves the other fields alone.
    pub(crate) fn fill_from_purl(&mut self) {
        let Some(purl) = self.purl.as_deref() else {
            return;
        };
        let Ok(parsed) = purl.parse::<packageurl::PackageUrl<'_>>() else {
            return;
        };
        self.ecosystem = Some(parsed.ty().to_ascii_lowercase());
        if self.group.is_none() {
            self.group = parsed.namespace().map(str::to_owned);
        }
        if self.name.is_empty() {
            self.name = parsed.name().to_owned();
        }
        if self.version.is_none() {
            self.version = parsed.version().map(str::to_owned);
        }
    }

    /// The within-asset dedupe key: the purl when present, else name and version.
    pub fn dedupe_key(&self) -> String {
        match &self.purl {
            Some(p) => format!("purl:{p}"),
            None => format!("nv:{}@{}", self.name, self.version.as_deref().unwrap_or("")),
        }
    }
}

/// A normalised asset: a host, an application, a service or a cloud resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Stable dedupe key: the same input always yields the same key (see the module docs of
    /// each format for how it is derived). Prefixed by its origin (`purl:`, `cdx:`, `spdx:`,
    /// `ip:`, `mac:`, `csv:` ...).
    pub key: String,
    /// What the asset is.
    pub kind: AssetKind,
    /// Display name.
    pub name: String,
    /// Version of the asset itself, when the source has one.
    pub version: Option<String>,
    /// Owner (team or person), when the source has one (CycloneDX `supplier`/`manufacturer`
    /// name, CSV `owner`).
    pub owner: Option<String>,
    /// Free-form tags, sorted and de-duplicated.
    pub tags: Vec<String>,
    /// Business criticality, 1 (lowest) to 5 (highest): from the input when present, else from
    /// [`CriticalityRules`](super::CriticalityRules).
    pub criticality: u8,
    /// Software components, de-duplicated on purl, else on name and version, in input order.
    pub components: Vec<Component>,
    /// Addresses: IPs, MACs and host names for hosts; URL endpoints for services. Sorted and
    /// de-duplicated.
    pub addresses: Vec<Address>,
    /// The format the asset was imported from.
    pub source: Format,
}

/// The result of an import: assets in input order plus non-fatal warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Imported assets, keys unique within the inventory.
    pub assets: Vec<Asset>,
    /// Things that were skipped or guessed (unknown columns, missing metadata, a VEX document
    /// with no inventory...). Human-readable English.
    pub warnings: Vec<String>,
}

impl Inventory {
    /// The asset with this key, if any.
    pub fn asset(&self, key: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.key == key)
    }

    /// Total number of components over all assets.
    pub fn component_count(&self) -> usize {
        self.assets.iter().map(|a| a.components.len()).sum()
    }
}

/// An asset being assembled; criticality is resolved when the inventory is finished.
#[derive(Debug)]
pub(crate) struct Draft {
    pub key: String,
    pub kind: AssetKind,
    pub name: String,
    pub version: Option<String>,
    pub owner: Option<String>,
    pub tags: BTreeSet<String>,
    pub criticality: Option<u8>,
    pub components: Vec<Component>,
    seen: HashMap<String, usize>,
    pub addresses: BTreeSet<Address>,
}

impl Draft {
    pub fn new(key: String, kind: AssetKind, name: String) -> Self {
        Self {
            key,
            kind,
            name,
            version: None,
            owner: None,
            tags: BTreeSet::new(),
            criticality: None,
            components: Vec::new(),
            seen: HashMap::new(),
            addresses: BTreeSet::new(),
        }
    }

    /// Adds a component unless one with the same dedupe key exists (then fills its missing
    /// cpe/group). Returns `true` when added.
    pub fn add_component(&mut self, mut c: Component) -> bool {
        c.fill_from_purl();
        let key = c.dedupe_key();
        if let Some(&i) = self.seen.get(&key) {
            if let Some(existing) = self.components.get_mut(i) {
                if existing.cpe.is_none() {
                    existing.cpe = c.cpe;
                }
                if existing.group.is_none() {
                    existing.group = c.group;
                }
            }
            return false;
        }
        self.seen.insert(key, self.components.len());
        self.components.push(c);
        true
    }

    pub fn add_address(&mut self, kind: AddressKind, value: &str) {
        let value = value.trim();
        if !value.is_empty() {
            self.addresses.insert(Address {
                kind,
                value: value.to_owned(),
            });
        }
    }
}

/// Collects drafts, merges those with equal keys, enforces the size bounds and resolves
/// criticality.
#[derive(Debug)]
pub(crate) struct Builder {
    source: Format,
    drafts: Vec<Draft>,
    index: HashMap<String, usize>,
    components: usize,
    pub warnings: Vec<String>,
}

impl Builder {
    pub fn new(source: Format) -> Self {
        Self {
            source,
            drafts: Vec::new(),
            index: HashMap::new(),
            components: 0,
            warnings: Vec::new(),
        }
    }

    /// The draft with this key, created by `make` when absent.
    pub fn entry(
        &mut self,
        key: &str,
        make: impl FnOnce() -> Draft,
    ) -> Result<&mut Draft, ImportError> {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                if self.drafts.len() >= MAX_ASSETS {
                    return Err(ImportError::TooLarge {
                        what: "assets",
                        limit: MAX_ASSETS,
                    });
                }
                self.index.insert(key.to_owned(), self.drafts.len());
                self.drafts.push(make());
                self.drafts.len() - 1
            }
        };
        self.drafts
            .get_mut(i)
            .ok_or(ImportError::Internal("draft index"))
    }

    /// Adds a component to the draft with `key` (which must exist), counting against
    /// [`MAX_COMPONENTS`].
    pub fn add_component(&mut self, key: &str, c: Component) -> Result<(), ImportError> {
        let Some(&i) = self.index.get(key) else {
            return Err(ImportError::Internal("component for unknown asset"));
        };
        let Some(d) = self.drafts.get_mut(i) else {
            return Err(ImportError::Internal("draft index"));
        };
        if d.add_component(c) {
            self.components += 1;
            if self.components > MAX_COMPONENTS {
                return Err(ImportError::TooLarge {
                    what: "components",
                    limit: MAX_COMPONENTS,
                });
            }
        }
        Ok(())
    }

    pub fn finish(self, rules: &super::CriticalityRules) -> Inventory {
        let source = self.source;
        let assets = self
            .drafts
            .into_iter()
            .map(|d| {
                let tags: Vec<String> = d.tags.into_iter().collect();
                let criticality = d
                    .criticality
                    .unwrap_or_else(|| rules.evaluate(d.kind, &d.name, &tags));
                Asset {
                    key: d.key,
                    kind: d.kind,
                    name: d.name,
                    version: d.version,
                    owner: d.owner,
                    tags,
                    criticality,
                    components: d.components,
                    addresses: d.addresses.into_iter().collect(),
                    source,
                }
            })
            .collect();
        Inventory {
            assets,
            warnings: self.warnings,
        }
    }
}

/// Parses a criticality written in an input: an integer 1..=5 (surrounding blanks allowed).
pub(crate) fn parse_criticality(s: &str) -> Result<u8, String> {
    match s.trim().parse::<u8>() {
        Ok(n @ 1..=5) => Ok(n),
        _ => Err(format!(
            "criticality must be an integer from 1 to 5, got {s:?}"
        )),
    }
}
