//! # rampart-asset: the AssetManagement service
//!
//! | | |
//! |---|---|
//! | **owns** (its own tables) | `asset_assets`, `asset_components` ([`entities`], [`migrations`]) |
//! | **consumes** | import commands: CycloneDX / SPDX SBOMs, nmap XML scans, CSV inventories, Google Workspace and AWS Config exports ([`actor::StoreInventory`], sent by the API's import jobs) |
//! | **publishes** | `asset.discovered`, `asset.changed` ([`rampart_contracts::asset::AssetEvent`]), `asset.retired` ([`rampart_contracts::asset::AssetRetired`]), through the outbox |
//! | **answers** | get / list assets ([`store::list_assets`], [`store::get_asset`]) |
//!
//! The actor ([`actor::AssetManagement`]) stores parsed inventories one at a time, one
//! transaction each ([`store::apply_inventory`]); the parsers below are a pure library.
//!
//! ## Inventory import
//!
//! [`parse`] turns the bytes of a CycloneDX or SPDX SBOM, an nmap XML scan, a CSV inventory, a
//! Google Workspace Directory export or AWS Config configuration items into an [`Inventory`]
//! of normalised [`Asset`]s, each with its [`Component`]s. It is a pure library: it reads the
//! bytes it is given and nothing else (no files, network or clock), so importing the same
//! bytes twice yields equal inventories with the same asset keys.
//!
//! | format | asset(s) | components | details |
//! |---|---|---|---|
//! | [`Format::CycloneDx`] (JSON, spec 1.2..=1.7) | `metadata.component`; each `services[]` entry | `components[]`, nested ones included | [`cyclonedx`] |
//! | [`Format::Spdx`] (JSON, SPDX 2.2 and 2.3) | the described package | the other packages | [`spdx`] |
//! | [`Format::Nmap`] (XML, nmap DTD) | each host whose status is `up` | each open port's service | [`nmap`] |
//! | [`Format::Csv`] | one per key | one per row naming a component | [`csv_inventory`] |
//! | [`Format::GoogleWorkspace`] (Admin SDK Directory JSON) | each mobile or ChromeOS device | its operating system | [`google_workspace`] |
//! | [`Format::AwsConfig`] (AWS Config configuration items: item, array, snapshot/history file, SNS notification, API answer) | each recorded resource; an EC2 instance and its SSM managed-instance inventory are one host | RDS engine, Lambda runtime, SSM inventory applications and OS | [`aws_config`] |
//!
//! Criticality (1 = lowest .. 5 = highest) comes from the input when it has one (CycloneDX
//! property `rampart:criticality`, CSV column `criticality`, AWS tag `criticality`), else from
//! [`CriticalityRules`].
//!
//! # Bounds
//! Inputs larger than [`MAX_INPUT_BYTES`], more than [`MAX_ASSETS`] assets, more than
//! [`MAX_COMPONENTS`] components in one inventory, or CycloneDX component/service nesting
//! deeper than [`MAX_DEPTH`] are rejected with [`ImportError::InputTooLarge`] or
//! [`ImportError::TooLarge`]. serde_json's own recursion limit (128 JSON levels) also applies
//! and, since each CycloneDX nesting level is two JSON levels, it is the one that stops a
//! nested SBOM first (at about 63 levels), as a JSON error; [`MAX_DEPTH`] guards the walk
//! regardless of the parser.
//! No input panics: there is no `unwrap`/`expect` outside tests.

pub mod actor;
pub mod aws_config;
pub mod csv_inventory;
pub mod cyclonedx;
pub mod diff;
pub mod entities;
pub mod error;
pub mod google_workspace;
pub mod migrations;
pub mod model;
pub mod nmap;
pub mod rules;
pub mod spdx;
pub mod store;

pub use actor::AssetManagement;
pub use error::ImportError;
pub use model::Inventory;
pub use rampart_contracts::asset::{
    Address, AddressKind, Asset, AssetKind, Component, Format, UnknownFormat,
};
pub use rules::{CriticalityRule, CriticalityRules};

/// Largest accepted input, in bytes (256 MiB).
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;
/// Most components in one inventory (summed over its assets, after de-duplication).
pub const MAX_COMPONENTS: usize = 1_000_000;
/// Most assets in one inventory.
pub const MAX_ASSETS: usize = 1_000_000;
/// Deepest nesting of CycloneDX `components` or `services`, in levels (top level = 1).
pub const MAX_DEPTH: usize = 64;

/// Imports an inventory from `bytes` in `format`, giving assets without an explicit
/// criticality the one `rules` assign.
///
/// # Errors
/// [`ImportError`]: empty or oversized input, non-UTF-8 text, malformed JSON (line, column),
/// XML (byte offset) or CSV (line), a document of another format, an unsupported spec version,
/// invalid values, exceeded bounds, or invalid `rules`.
pub fn parse(
    format: Format,
    bytes: &[u8],
    rules: &CriticalityRules,
) -> Result<Inventory, ImportError> {
    rules.validate()?;
    let text = text_of(format, bytes)?;
    match format {
        Format::CycloneDx => cyclonedx::parse(text, rules),
        Format::Spdx => spdx::parse(text, rules),
        Format::Nmap => nmap::parse(text, rules),
        Format::Csv => csv_inventory::parse(text, rules),
        Format::GoogleWorkspace => google_workspace::parse(text, rules),
        Format::AwsConfig => aws_config::parse(text, rules),
    }
}

/// Checks size, UTF-8 and emptiness; strips a UTF-8 byte-order mark.
fn text_of(format: Format, bytes: &[u8]) -> Result<&str, ImportError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ImportError::InputTooLarge {
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ImportError::NotUtf8 {
        position: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ImportError::Empty(format));
    }
    Ok(text)
}

/// Trims and drops empty strings.
pub(crate) fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
