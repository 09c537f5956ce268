//! Package URL (purl, <https://github.com/package-url/purl-spec>) to OSV package identity.
//!
//! | purl type | OSV ecosystem | OSV package name |
//! |---|---|---|
//! | `maven` | `Maven` | `namespace:name` (`org.springframework:spring-beans`) |
//! | `golang` | `Go` | `namespace/name`, the module path (`golang.org/x/crypto`) |
//! | `npm` | `npm` | `@scope/name` or `name` |
//! | `composer` | `Packagist` | `vendor/name` |
//! | `pypi` | `PyPI` | name normalized per PEP 503 (lower case, runs of `-_.` -> `-`) |
//! | `cargo` | `crates.io` | name |
//! | `deb` | `Debian` | name (the purl `namespace`, e.g. `debian`, is the vendor) |
//! | `gem` | `RubyGems` | name |
//! | other | the purl type | `namespace/name` or `name` |

use packageurl::PackageUrl;

use super::error::MatchError;
use super::version::Ecosystem;

/// A component identified by ecosystem, OSV package name and version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageRef {
    /// Ecosystem derived from the purl type.
    pub ecosystem: Ecosystem,
    /// OSV package name (see the module table).
    pub name: String,
    /// Version as written in the purl (`@…`), percent-decoded.
    pub version: String,
}

/// PEP 503 name normalization: lower-case, and every run of `-`, `_`, `.` becomes one `-`.
pub fn normalize_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    out
}

/// The key under which a package is indexed: the ecosystem and the package name, lower-cased
/// (PyPI names PEP 503-normalized). Both OSV records and purls go through it.
pub fn package_key(ecosystem: &Ecosystem, name: &str) -> (Ecosystem, String) {
    let name = match ecosystem {
        Ecosystem::PyPI => normalize_pypi_name(name),
        _ => name.to_lowercase(),
    };
    (ecosystem.clone(), name)
}

/// Parses a purl into its OSV identity (see the module table).
///
/// # Errors
/// [`MatchError::InvalidPurl`] if the purl does not parse; [`MatchError::MissingVersion`] if
/// it has no version.
pub fn package_from_purl(purl: &str) -> Result<PackageRef, MatchError> {
    let parsed: PackageUrl<'static> =
        purl.parse()
            .map_err(|e: packageurl::Error| MatchError::InvalidPurl {
                purl: purl.to_owned(),
                reason: e.to_string(),
            })?;
    let version = parsed
        .version()
        .ok_or_else(|| MatchError::MissingVersion(purl.to_owned()))?
        .to_owned();
    let ns = parsed.namespace().filter(|n| !n.is_empty());
    let name = parsed.name();
    let joined = |sep: &str| match ns {
        Some(ns) => format!("{ns}{sep}{name}"),
        None => name.to_owned(),
    };
    let (ecosystem, name) = match parsed.ty() {
        "maven" => (Ecosystem::Maven, joined(":")),
        "golang" => (Ecosystem::Go, joined("/")),
        "npm" => (Ecosystem::Npm, joined("/")),
        "composer" => (Ecosystem::Packagist, joined("/")),
        "pypi" => (Ecosystem::PyPI, normalize_pypi_name(name)),
        "cargo" => (Ecosystem::CratesIo, name.to_owned()),
        "deb" => (Ecosystem::Debian, name.to_owned()),
        "gem" => (Ecosystem::RubyGems, name.to_owned()),
        other => (Ecosystem::Other(other.to_owned()), joined("/")),
    };
    Ok(PackageRef {
        ecosystem,
        name,
        version,
    })
}
