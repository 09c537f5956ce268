//! Bodies of AssetManagement's events (`asset.discovered`, `asset.changed`, `asset.retired`):
//! the normalised asset with its components and addresses, as every inventory format yields it.
//!
//! | event | body |
//! |---|---|
//! | `asset.discovered` | [`AssetEvent`] (first seen) |
//! | `asset.changed` | [`AssetEvent`] (its fingerprint changed) |
//! | `asset.retired` | [`AssetRetired`] |

use std::borrow::Cow;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string that names no inventory [`Format`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown inventory format {0:?} (expected cyclonedx, spdx, nmap, csv, google_workspace or aws_config)"
)]
pub struct UnknownFormat(pub String);

/// Body of `asset.discovered` and `asset.changed`: the whole normalised asset, so consumers
/// (RiskAnalysis) never read AssetManagement's tables. Borrowed when written, owned when read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetEvent<'a> {
    /// The asset as imported.
    pub asset: Cow<'a, Asset>,
    /// Its fingerprint (hex SHA-256 over its normalised content).
    #[serde(default)]
    pub fingerprint: Cow<'a, str>,
}

/// Body of `asset.retired`: `{"key": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssetRetired {
    /// The retired asset's key.
    pub key: String,
}

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
    /// A cloud resource (bucket, managed database, network, identity, account); the CSV and
    /// AWS Config formats yield it.
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
    /// the asset service's criticality rules.
    pub criticality: u8,
    /// Software components, de-duplicated on purl, else on name and version, in input order.
    pub components: Vec<Component>,
    /// Addresses: IPs, MACs and host names for hosts; URL endpoints for services. Sorted and
    /// de-duplicated.
    pub addresses: Vec<Address>,
    /// The format the asset was imported from.
    pub source: Format,
}

/// An inventory input format. Serialised and parsed (case-insensitive) as `cyclonedx`, `spdx`,
/// `nmap`, `csv`, `google_workspace`, `aws_config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// CycloneDX JSON, spec 1.2 to 1.7 (<https://cyclonedx.org/specification/overview/>).
    CycloneDx,
    /// SPDX JSON, spec 2.2 and 2.3 (<https://spdx.github.io/spdx-spec/v2.3/>).
    Spdx,
    /// nmap XML output (`-oX`, <https://nmap.org/book/nmap-dtd.html>).
    Nmap,
    /// CSV inventory with a header row, see the asset crate's `csv_inventory` module.
    Csv,
    /// Google Workspace Admin SDK Directory resources (mobile devices, ChromeOS devices,
    /// users), from the API or an exported JSON file, see the asset crate's
    /// `google_workspace` module.
    #[serde(rename = "google_workspace")]
    GoogleWorkspace,
    /// AWS Config configuration items (the `ConfigurationItem` of the AWS Config API, CI
    /// versions 1.2 and 1.3): one item, an array of items, a configuration snapshot or history
    /// file as delivered to S3, an SNS `ConfigurationItemChangeNotification`, or a
    /// `GetResourceConfigHistory` / `BatchGetResourceConfig` answer, see the asset crate's
    /// `aws_config` module.
    #[serde(rename = "aws_config")]
    AwsConfig,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::CycloneDx => "CycloneDX",
            Self::Spdx => "SPDX",
            Self::Nmap => "nmap XML",
            Self::Csv => "CSV",
            Self::GoogleWorkspace => "Google Workspace Directory JSON",
            Self::AwsConfig => "AWS Config configuration items",
        })
    }
}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// `cyclonedx`, `spdx`, `nmap`, `csv`, `google_workspace` (also `gws`) or `aws_config`
    /// (also `aws-config`, `aws`), case-insensitive, surrounding blanks ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cyclonedx" => Ok(Self::CycloneDx),
            "spdx" => Ok(Self::Spdx),
            "nmap" => Ok(Self::Nmap),
            "csv" => Ok(Self::Csv),
            "google_workspace" | "gws" => Ok(Self::GoogleWorkspace),
            "aws_config" | "aws-config" | "aws" => Ok(Self::AwsConfig),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}
