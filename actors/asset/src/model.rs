//! Normalised inventory types shared by every import format.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

pub use rampart_contracts::asset::{Address, AddressKind, Asset, AssetKind, Component};

use super::error::ImportError;
use super::{Format, MAX_ASSETS, MAX_COMPONENTS};

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
        fill_from_purl(&mut c);
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

/// Fills `ecosystem` and (when missing) `group` from `purl`, and `name`/`version` when empty.
/// An unparsable purl is kept as written and leaves the other fields alone.
pub(crate) fn fill_from_purl(c: &mut Component) {
    let Some(purl) = c.purl.as_deref() else {
        return;
    };
    let Ok(parsed) = purl.parse::<packageurl::PackageUrl<'_>>() else {
        return;
    };
    c.ecosystem = Some(parsed.ty().to_ascii_lowercase());
    if c.group.is_none() {
        c.group = parsed.namespace().map(str::to_owned);
    }
    if c.name.is_empty() {
        c.name = parsed.name().to_owned();
    }
    if c.version.is_none() {
        c.version = parsed.version().map(str::to_owned);
    }
}
