//! VEX product matching: whether a statement's [`Product`] covers a component of an asset.
//!
//! # Identifiers
//!
//! [`identifier_matches`] compares one statement identifier (the *pattern*) with a concrete
//! component or asset (the [`Target`]):
//!
//! * **purl** (package-url spec, <https://github.com/package-url/purl-spec>,
//!   `docs/specification/standard/specification.md` and the per-type definitions
//!   `types/*-definition.json`, read at commit `16f3d0e`): both sides are parsed
//!   (percent-decoding every component) and compared component by component:
//!   - `type` always case-insensitively (specification.md: "The type is case insensitive.
//!     The canonical form is lowercase.");
//!   - `namespace` and `name` case-insensitively for the types whose definition says
//!     `"case_sensitive": false` (see [`CASE_INSENSITIVE_NAMESPACE`],
//!     [`CASE_INSENSITIVE_NAME`]), and for `golang`, whose definition says namespace and name
//!     "shall be lowercased" (a conforming producer's lowercased purl must match a
//!     case-preserving one); `pypi` names also compare after PEP 503 normalization ("PyPI
//!     treats - and _ as the same character and is not case sensitive");
//!   - `version`: a pattern without a version matches every version; with one it must equal
//!     the candidate's (case-insensitively for the types in [`CASE_INSENSITIVE_VERSION`]);
//!   - `qualifiers`: every qualifier of the pattern must be present in the candidate with an
//!     equal value; qualifiers only the candidate has are ignored;
//!   - `subpath`: when the pattern has one, the candidate's must be equal.
//!
//!   A purl that does not parse matches only a byte-identical string.
//!   (The `packageurl` crate used for parsing also lower-cases a few components on its own:
//!   npm names and golang namespaces; npm refuses new names that differ from existing ones
//!   only in case, so this does not merge distinct packages.)
//! * **CPE** (2.3 formatted string or 2.2 URI, parsed by [`crate::cpe::Cpe`]): `part`,
//!   `vendor` and `product` must be equal (a pattern `*` is ANY), and `version` too unless the
//!   pattern's version is `*` (ANY), `-` (NA) or absent; the other attributes are not compared.
//! * **Name**: the name case-insensitively (surrounding blanks ignored), and the version when
//!   the pattern has one (exact).
//!
//! # Products and subcomponents
//!
//! [`covers`] implements the OpenVEX product model (OpenVEX spec v0.2.0, "Products and
//! Subcomponents" / "Subcomponent"): a statement about a product without subcomponents is
//! about the product itself, so it covers the product and, when the product is the asset,
//! every component inside it; a statement about product P with subcomponent C covers C inside
//! P, not C everywhere.

use packageurl::PackageUrl;

use super::{Identifier, Product, Statement};
use crate::cpe::Cpe;
use crate::purl::normalize_pypi_name;

/// Purl types whose namespace is case-insensitive (`namespace_definition.case_sensitive:
/// false` in purl-spec `types/*-definition.json`), plus `golang` ("shall be lowercased").
pub const CASE_INSENSITIVE_NAMESPACE: &[&str] = &[
    "alpm",
    "apk",
    "bitbucket",
    "brew",
    "composer",
    "deb",
    "github",
    "golang",
    "hex",
    "luarocks",
    "qpkg",
    "rpm",
    "vscode-extension",
    "yocto",
];

/// Purl types whose name is case-insensitive (`name_definition.case_sensitive: false`), plus
/// `golang` ("shall be lowercased").
pub const CASE_INSENSITIVE_NAME: &[&str] = &[
    "alpm",
    "apk",
    "bitbucket",
    "bitnami",
    "brew",
    "chrome-extension",
    "composer",
    "deb",
    "github",
    "golang",
    "hex",
    "luarocks",
    "oci",
    "otp",
    "pub",
    "pypi",
    "vscode-extension",
];

/// Purl types whose version is case-insensitive (`version_definition.case_sensitive: false`).
pub const CASE_INSENSITIVE_VERSION: &[&str] = &["huggingface", "oci", "pypi", "vscode-extension"];

/// A concrete asset or component a statement may be about: what Rampart knows of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Target<'a> {
    /// Its package URL, when known (`pkg:golang/golang.org/x/net@v0.7.0`).
    pub purl: Option<&'a str>,
    /// Its CPE (2.3 formatted string or 2.2 URI), when known.
    pub cpe: Option<&'a str>,
    /// Its name.
    pub name: &'a str,
    /// Its version, when known.
    pub version: Option<&'a str>,
}

/// Classifies an identifier string as VEX documents write them (an OpenVEX `@id`, a
/// CycloneDX BOM-Link fragment): `pkg:...` is a [`Identifier::Purl`], `cpe:...` (any case) a
/// [`Identifier::Cpe`], anything else a [`Identifier::Name`] without version. Surrounding
/// blanks are removed.
pub fn identifier_from_str(s: &str) -> Identifier {
    let s = s.trim();
    if s.starts_with("pkg:") {
        Identifier::Purl(s.to_owned())
    } else if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("cpe:")) {
        Identifier::Cpe(s.to_owned())
    } else {
        Identifier::Name {
            name: s.to_owned(),
            version: None,
        }
    }
}

/// Whether the statement identifier `id` (a pattern) names the target `t` (see the module
/// docs for the rules per identifier kind). A purl pattern never matches a target without a
/// purl, a CPE pattern never one without a CPE.
pub fn identifier_matches(id: &Identifier, t: &Target) -> bool {
    match id {
        Identifier::Purl(pattern) => t.purl.is_some_and(|c| purl_matches(pattern, c)),
        Identifier::Cpe(pattern) => t.cpe.is_some_and(|c| cpe_matches(pattern, c)),
        Identifier::Name { name, version } => {
            name.trim().to_lowercase() == t.name.trim().to_lowercase()
                && version
                    .as_deref()
                    .is_none_or(|v| t.version.is_some_and(|tv| tv.trim() == v.trim()))
        }
    }
}

/// Whether `p` covers `component` inside `asset` (OpenVEX "Products and Subcomponents"):
///
/// * without subcomponents: some id of `p` names the component, or names the asset (the
///   statement is about the whole asset, so about every component in it);
/// * with subcomponents: some id of `p` names the **asset** and the ids of some subcomponent
///   name the **component**: a statement about product P with subcomponent C covers C inside
///   P, not C everywhere.
pub fn covers(p: &Product, asset: &Target, component: &Target) -> bool {
    let names = |ids: &[Identifier], t: &Target| ids.iter().any(|id| identifier_matches(id, t));
    if p.subcomponents.is_empty() {
        names(&p.ids, component) || names(&p.ids, asset)
    } else {
        names(&p.ids, asset) && p.subcomponents.iter().any(|sub| names(sub, component))
    }
}

/// Whether the statement is about one of `ids`: the case-insensitive intersection of the
/// statement's vulnerability id and aliases with `ids` is not empty.
pub fn vulnerability_matches(s: &Statement, ids: &[&str]) -> bool {
    std::iter::once(&s.vulnerability)
        .chain(&s.aliases)
        .any(|v| {
            ids.iter()
                .any(|id| id.trim().eq_ignore_ascii_case(v.trim()))
        })
}

/// A purl's components, normalized for comparison.
#[derive(Debug, PartialEq, Eq)]
struct NormPurl {
    ty: String,
    namespace: Option<String>,
    name: String,
    version: Option<String>,
    qualifiers: Vec<(String, String)>,
    subpath: Option<String>,
}

fn normalize(p: &PackageUrl<'_>) -> NormPurl {
    let ty = p.ty().to_ascii_lowercase();
    let fold = |s: &str, insensitive: bool| {
        if insensitive {
            s.to_lowercase()
        } else {
            s.to_owned()
        }
    };
    let namespace = p
        .namespace()
        .filter(|n| !n.is_empty())
        .map(|n| fold(n, CASE_INSENSITIVE_NAMESPACE.contains(&ty.as_str())));
    let name = if ty == "pypi" {
        normalize_pypi_name(p.name())
    } else {
        fold(p.name(), CASE_INSENSITIVE_NAME.contains(&ty.as_str()))
    };
    let version = p
        .version()
        .filter(|v| !v.is_empty())
        .map(|v| fold(v, CASE_INSENSITIVE_VERSION.contains(&ty.as_str())));
    let mut qualifiers: Vec<(String, String)> = p
        .qualifiers()
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    qualifiers.sort();
    let subpath = p
        .subpath()
        .map(|s| s.trim_matches('/').to_owned())
        .filter(|s| !s.is_empty());
    NormPurl {
        ty,
        namespace,
        name,
        version,
        qualifiers,
        subpath,
    }
}

fn parse_purl(s: &str) -> Option<NormPurl> {
    let p: PackageUrl<'static> = s.trim().parse().ok()?;
    Some(normalize(&p))
}

/// Purl pattern `pattern` against candidate `candidate` (module docs).
fn purl_matches(pattern: &str, candidate: &str) -> bool {
    let (Some(p), Some(c)) = (parse_purl(pattern), parse_purl(candidate)) else {
        return pattern.trim() == candidate.trim();
    };
    p.ty == c.ty
        && p.namespace == c.namespace
        && p.name == c.name
        && p.version
            .as_ref()
            .is_none_or(|v| c.version.as_ref() == Some(v))
        && p.qualifiers
            .iter()
            .all(|(k, v)| c.qualifiers.iter().any(|(ck, cv)| ck == k && cv == v))
        && p.subpath
            .as_ref()
            .is_none_or(|s| c.subpath.as_ref() == Some(s))
}

/// CPE pattern against candidate (module docs).
fn cpe_matches(pattern: &str, candidate: &str) -> bool {
    let (Ok(p), Ok(c)) = (Cpe::parse(pattern.trim()), Cpe::parse(candidate.trim())) else {
        return pattern.trim().eq_ignore_ascii_case(candidate.trim());
    };
    let any = |v: &str| v == "*" || v.is_empty();
    (0..3).all(|i| any(&p.attrs[i]) || p.attrs[i] == c.attrs[i])
        && (any(p.version()) || p.version() == "-" || p.version() == c.version())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vex::AnalysisState;
    use chrono::DateTime;

    fn purl_target(purl: &str) -> Target<'_> {
        Target {
            purl: Some(purl),
            cpe: None,
            name: "",
            version: None,
        }
    }

    fn m(pattern: &str, candidate: &str) -> bool {
        identifier_matches(&Identifier::Purl(pattern.into()), &purl_target(candidate))
    }

    #[test]
    fn purl_without_version_matches_every_version() {
        assert!(m(
            "pkg:golang/golang.org/x/net",
            "pkg:golang/golang.org/x/net@v0.0.0-20210726213435-c6fcb2dbf985"
        ));
        assert!(m(
            "pkg:golang/golang.org/x/net",
            "pkg:golang/golang.org/x/net"
        ));
        assert!(!m(
            "pkg:golang/golang.org/x/net",
            "pkg:golang/golang.org/x/sys@v0.1.0"
        ));
        assert!(!m(
            "pkg:golang/golang.org/x/net",
            "pkg:npm/golang.org/x/net@1.0.0"
        ));
    }

    #[test]
    fn purl_with_version_must_equal() {
        let p = "pkg:golang/golang.org/x/net@v0.0.0-20210726213435-c6fcb2dbf985";
        assert!(m(p, p));
        assert!(!m(p, "pkg:golang/golang.org/x/net@v0.17.0"));
        // A versioned pattern never matches an unversioned candidate.
        assert!(!m(p, "pkg:golang/golang.org/x/net"));
        // Percent-decoding: `%3A` and `:` are the same version.
        assert!(m(
            "pkg:oci/nginx@sha256%3A13d22ec63300e16014d4a42aed735207a8b33c223cff19627dd3042e5a10a3a0",
            "pkg:oci/nginx@sha256:13d22ec63300e16014d4a42aed735207a8b33c223cff19627dd3042e5a10a3a0?tag=latest"
        ));
    }

    #[test]
    fn purl_qualifiers_of_the_pattern_must_be_present() {
        let pat = "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64";
        assert!(m(
            pat,
            "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64&distro=wolfi-2023"
        ));
        assert!(!m(pat, "pkg:apk/wolfi/git@2.39.0-r1?arch=armv7"));
        assert!(!m(pat, "pkg:apk/wolfi/git@2.39.0-r1"));
        // Qualifiers only in the candidate are ignored.
        assert!(m(
            "pkg:apk/wolfi/git@2.39.0-r1",
            "pkg:apk/wolfi/git@2.39.0-r1?arch=armv7"
        ));
        // Qualifier order does not matter.
        assert!(m(
            "pkg:maven/org.apache/x@1?type=jar&classifier=sources",
            "pkg:maven/org.apache/x@1?classifier=sources&type=jar"
        ));
    }

    #[test]
    fn purl_subpath() {
        assert!(m("pkg:github/a/b@1#lib", "pkg:github/a/b@1#lib/"));
        assert!(!m("pkg:github/a/b@1#lib", "pkg:github/a/b@1#src"));
        assert!(!m("pkg:github/a/b@1#lib", "pkg:github/a/b@1"));
        assert!(m("pkg:github/a/b@1", "pkg:github/a/b@1#src"));
    }

    #[test]
    fn purl_case_rules_per_type() {
        // github: namespace and name case-insensitive.
        assert!(m(
            "pkg:github/Package-URL/Purl-Spec",
            "pkg:github/package-url/purl-spec@1"
        ));
        // golang: "shall be lowercased".
        assert!(m(
            "pkg:golang/github.com/Sirupsen/Logrus",
            "pkg:golang/github.com/sirupsen/logrus@v1.8.1"
        ));
        // maven: case-sensitive.
        assert!(!m(
            "pkg:maven/Org.Apache/Log4j-Core",
            "pkg:maven/org.apache/log4j-core@2.0"
        ));
        // Type is always case-insensitive.
        assert!(m(
            "pkg:MAVEN/org.apache/log4j-core",
            "pkg:maven/org.apache/log4j-core@2.0"
        ));
        // pypi: PEP 503 names.
        assert!(m(
            "pkg:pypi/Django_Rest.Framework",
            "pkg:pypi/django-rest-framework@3.0"
        ));
        // oci: version case-insensitive.
        assert!(m("pkg:oci/nginx@sha256:ABCD", "pkg:oci/nginx@sha256:abcd"));
        // An unparseable purl matches only itself.
        assert!(m("pkg:maven/@1.3.4", "pkg:maven/@1.3.4"));
        assert!(!m("pkg:maven/@1.3.4", "pkg:maven/x/y@1.3.4"));
    }

    #[test]
    fn cpe_rules() {
        let t = Target {
            purl: None,
            cpe: Some("cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"),
            name: "log4j",
            version: Some("2.14.1"),
        };
        let c = |s: &str| identifier_matches(&Identifier::Cpe(s.into()), &t);
        assert!(c("cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*"));
        assert!(c("cpe:2.3:a:apache:log4j:-:*:*:*:*:*:*:*"));
        assert!(c("cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"));
        assert!(c("cpe:/a:apache:log4j"));
        assert!(c("cpe:/a:apache:log4j:2.14.1"));
        assert!(!c("cpe:2.3:a:apache:log4j:2.15.0:*:*:*:*:*:*:*"));
        assert!(!c("cpe:2.3:a:apache:tomcat:*:*:*:*:*:*:*:*"));
        assert!(!c("cpe:2.3:o:apache:log4j:*:*:*:*:*:*:*:*"));
        // No CPE on the target: no match.
        assert!(!identifier_matches(
            &Identifier::Cpe("cpe:/a:apache:log4j".into()),
            &Target { cpe: None, ..t }
        ));
    }

    #[test]
    fn name_rules() {
        let t = Target {
            purl: None,
            cpe: None,
            name: "Secvisogram",
            version: Some("1.14.0"),
        };
        let n = |name: &str, version: Option<&str>| {
            identifier_matches(
                &Identifier::Name {
                    name: name.into(),
                    version: version.map(Into::into),
                },
                &t,
            )
        };
        assert!(n("secvisogram", None));
        assert!(n("SECVISOGRAM", Some("1.14.0")));
        assert!(!n("secvisogram", Some("1.13.0")));
        assert!(!n("other", None));
        assert!(!identifier_matches(
            &Identifier::Name {
                name: "secvisogram".into(),
                version: Some("1.14.0".into())
            },
            &Target { version: None, ..t }
        ));
    }

    #[test]
    fn identifier_classification() {
        assert_eq!(
            identifier_from_str(" pkg:npm/a@1 "),
            Identifier::Purl("pkg:npm/a@1".into())
        );
        assert_eq!(
            identifier_from_str("CPE:/a:x:y"),
            Identifier::Cpe("CPE:/a:x:y".into())
        );
        assert_eq!(
            identifier_from_str("product-ABC"),
            Identifier::Name {
                name: "product-ABC".into(),
                version: None
            }
        );
    }

    fn target<'a>(purl: &'a str, name: &'a str) -> Target<'a> {
        Target {
            purl: Some(purl),
            cpe: None,
            name,
            version: None,
        }
    }

    #[test]
    fn subcomponent_semantics() {
        let sachet = Identifier::Purl("pkg:golang/github.com/messagebird/sachet".into());
        let xnet = Identifier::Purl(
            "pkg:golang/golang.org/x/net@v0.0.0-20210726213435-c6fcb2dbf985".into(),
        );
        let p = Product {
            ids: vec![sachet.clone()],
            subcomponents: vec![vec![xnet]],
        };
        let asset = target("pkg:golang/github.com/messagebird/sachet@v0.3.0", "sachet");
        let other = target("pkg:golang/example.com/other@v1.0.0", "other");
        let comp = target(
            "pkg:golang/golang.org/x/net@v0.0.0-20210726213435-c6fcb2dbf985",
            "golang.org/x/net",
        );
        let other_comp = target("pkg:golang/golang.org/x/sys@v0.1.0", "golang.org/x/sys");
        assert!(covers(&p, &asset, &comp));
        assert!(!covers(&p, &other, &comp));
        assert!(!covers(&p, &asset, &other_comp));
        // The product itself is not "a subcomponent of itself".
        assert!(!covers(&p, &asset, &asset));

        // Without subcomponents: the component itself, or anything inside the asset.
        let whole = Product {
            ids: vec![sachet],
            subcomponents: vec![],
        };
        assert!(covers(&whole, &asset, &other_comp));
        assert!(covers(&whole, &other, &asset));
        assert!(!covers(&whole, &other, &comp));
    }

    #[test]
    fn vulnerability_ids() {
        let s = Statement {
            vulnerability: "CVE-2023-39325".into(),
            aliases: vec!["GO-2023-2102".into(), "GHSA-4374-p667-p6c8".into()],
            products: vec![],
            state: AnalysisState::NotAffected,
            justification: None,
            responses: vec![],
            detail: None,
            timestamp: DateTime::UNIX_EPOCH,
        };
        assert!(vulnerability_matches(&s, &["cve-2023-39325"]));
        assert!(vulnerability_matches(&s, &["x", "ghsa-4374-P667-p6c8"]));
        assert!(!vulnerability_matches(&s, &["CVE-2023-44487"]));
        assert!(!vulnerability_matches(&s, &[]));
    }
}
