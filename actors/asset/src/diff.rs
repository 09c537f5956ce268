//! SBOM diff: what changed between two versions of an asset's component list (e.g. two imports
//! of the same application's CycloneDX SBOM).
//!
//! # Identity of a component across versions ([`identity`])
//!
//! * **With a purl that parses** (<https://github.com/package-url/purl-spec>, through the
//!   `packageurl` crate, which applies the spec's per-type case rules, e.g. lower-case PyPI
//!   names): `purl:{type}/{namespace}/{name}`, followed by `?{key}={value}&...` with the
//!   qualifiers sorted by key, and `#{subpath}` when present. The **version is left out**, and
//!   so are the qualifiers that vary with the version or the build rather than name another
//!   package: `epoch` (RPM: part of the version), `distro` (the distribution release a package
//!   was built for, which changes on an OS upgrade), `checksum`/`checksums`, `download_url`,
//!   `vcs_url` (usually pinned to a commit or tag) and `file_name` (which usually contains the
//!   version, `commons-text-1.9.jar`). The qualifiers that select a different artifact of the
//!   same package are kept: Maven `type` and `classifier`, `arch` (multi-arch packages side by
//!   side), `os`, `repository_url`, and any other qualifier (unknown ones are kept, so two
//!   artifacts are never merged by mistake).
//! * **With a purl that does not parse**: `purl-raw:` and the purl without its `#subpath`,
//!   `?qualifiers` and the `@version` of its last path segment.
//! * **Without a purl**: `name:{group}/{name}` (`name:{name}` without a group), trimmed and
//!   lower-cased.
//!
//! A component that gains or loses its purl between the versions therefore appears as removed
//! and added, not as changed.
//!
//! # Pairing ([`diff`])
//!
//! Components are grouped by identity on each side. Within a group (normally one component a
//! side; more when several versions of a package are present side by side):
//! 1. components equal in version and purl are paired first: unchanged, not reported;
//! 2. then components equal in version (their purls differ, e.g. another qualifier): changed;
//! 3. then the rest, each side sorted by version (numeric runs compared as numbers, so
//!    `1.9 < 1.10`; no version first) then purl, are paired in that order: changed;
//! 4. what is left over is removed (old side) or added (new side).
//!
//! Only the version and the purl make a change; a component whose other fields alone differ
//! (name spelling, CPE, group) is not reported. The result is sorted (added and removed by
//! identity, version, purl; changed by key, versions, purls) and does not depend on the order
//! of either input.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rampart_contracts::asset::Component;
use serde::{Deserialize, Serialize};

/// Qualifiers left out of a purl identity (see the module docs).
pub const VERSION_QUALIFIERS: &[&str] = &[
    "epoch",
    "distro",
    "checksum",
    "checksums",
    "download_url",
    "vcs_url",
    "file_name",
];

/// The difference between two versions of a component list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComponentDiff {
    /// Components only in the new version (no counterpart of the same identity), sorted.
    #[schema(value_type = Vec<Object>)]
    pub added: Vec<Component>,
    /// Components only in the old version, sorted.
    #[schema(value_type = Vec<Object>)]
    pub removed: Vec<Component>,
    /// Components in both whose version or purl changed, sorted by key.
    pub changed: Vec<ComponentChange>,
}

impl ComponentDiff {
    /// Whether nothing was added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One component present in both versions with another version or purl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComponentChange {
    /// The component's identity ([`identity`]), e.g.
    /// `purl:maven/org.apache.commons/commons-text?type=jar`.
    pub key: String,
    /// Its name in the new version.
    pub name: String,
    /// Version in the old version of the list.
    pub from_version: Option<String>,
    /// Version in the new version of the list.
    pub to_version: Option<String>,
    /// Purl in the old version of the list.
    pub from_purl: Option<String>,
    /// Purl in the new version of the list.
    pub to_purl: Option<String>,
}

/// The identity of a component across versions of a list (see the module docs): a string that
/// is equal for two versions of the same package.
pub fn identity(c: &Component) -> String {
    let purl = c.purl.as_deref().map(str::trim).filter(|p| !p.is_empty());
    match purl {
        Some(p) => match p.parse::<packageurl::PackageUrl<'_>>() {
            Ok(parsed) => purl_identity(&parsed),
            Err(_) => format!("purl-raw:{}", strip_version(p)),
        },
        None => {
            let name = c.name.trim().to_lowercase();
            match c.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
                Some(g) => format!("name:{}/{name}", g.to_lowercase()),
                None => format!("name:{name}"),
            }
        }
    }
}

fn purl_identity(p: &packageurl::PackageUrl<'_>) -> String {
    let mut out = format!("purl:{}/", p.ty());
    if let Some(ns) = p.namespace() {
        out.push_str(ns);
        out.push('/');
    }
    out.push_str(p.name());
    let mut qualifiers: Vec<(&str, &str)> = p
        .qualifiers()
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| !VERSION_QUALIFIERS.contains(&k.to_ascii_lowercase().as_str()))
        .collect();
    qualifiers.sort_unstable();
    for (i, (k, v)) in qualifiers.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    if let Some(sub) = p.subpath() {
        out.push('#');
        out.push_str(sub);
    }
    out
}

/// A purl string without subpath, qualifiers and the `@version` of its last segment.
fn strip_version(p: &str) -> &str {
    let p = p.split('#').next().unwrap_or(p);
    let p = p.split('?').next().unwrap_or(p);
    let last_slash = p.rfind('/').map_or(0, |i| i + 1);
    match p[last_slash..].find('@') {
        Some(at) => &p[..last_slash + at],
        None => p,
    }
}

/// Compares versions with runs of ASCII digits as numbers (`1.9 < 1.10`), other characters
/// as they are; `None` first. A total order, used only to pair components deterministically.
fn cmp_version(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => natural(a, b).then_with(|| a.cmp(b)),
    }
}

fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let la = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let lb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..la]), trim_zeros(&b[..lb]));
                let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if o != Ordering::Equal {
                    return o;
                }
                a = &a[la..];
                b = &b[lb..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|c| **c == b'0').count();
    &d[n..]
}

fn cmp_component(a: &Component, b: &Component) -> Ordering {
    cmp_version(a.version.as_deref(), b.version.as_deref())
        .then_with(|| a.purl.cmp(&b.purl))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.group.cmp(&b.group))
        .then_with(|| a.cpe.cmp(&b.cpe))
        .then_with(|| a.ecosystem.cmp(&b.ecosystem))
}

fn change(key: &str, old: &Component, new: &Component) -> ComponentChange {
    ComponentChange {
        key: key.to_owned(),
        name: new.name.clone(),
        from_version: old.version.clone(),
        to_version: new.version.clone(),
        from_purl: old.purl.clone(),
        to_purl: new.purl.clone(),
    }
}

/// Removes from `olds` and `news` the pairs that `matches` accepts, first old with first
/// matching new, and returns them.
fn take_pairs<'a>(
    olds: &mut Vec<&'a Component>,
    news: &mut Vec<&'a Component>,
    matches: impl Fn(&Component, &Component) -> bool,
) -> Vec<(&'a Component, &'a Component)> {
    let mut pairs = Vec::new();
    let mut rest = Vec::with_capacity(olds.len());
    for o in olds.drain(..) {
        match news.iter().position(|n| matches(o, n)) {
            Some(i) => pairs.push((o, news.remove(i))),
            None => rest.push(o),
        }
    }
    *olds = rest;
    pairs
}

/// The diff from `old` to `new` (see the module docs for identity and pairing). Never fails;
/// the time is O(n log n) in the total number of components (plus the square of the size of a
/// group of one identity, normally 1).
pub fn diff(old: &[Component], new: &[Component]) -> ComponentDiff {
    type Sides<'a> = (Vec<&'a Component>, Vec<&'a Component>);
    let mut groups: BTreeMap<String, Sides<'_>> = BTreeMap::new();
    for c in old {
        groups.entry(identity(c)).or_default().0.push(c);
    }
    for c in new {
        groups.entry(identity(c)).or_default().1.push(c);
    }

    let mut out = ComponentDiff::default();
    let mut added: Vec<(String, &Component)> = Vec::new();
    let mut removed: Vec<(String, &Component)> = Vec::new();
    for (key, (mut olds, mut news)) in groups {
        olds.sort_by(|a, b| cmp_component(a, b));
        news.sort_by(|a, b| cmp_component(a, b));
        // 1. Unchanged: same version and purl.
        take_pairs(&mut olds, &mut news, |a, b| {
            a.version == b.version && a.purl == b.purl
        });
        // 2. Same version, another purl.
        for (o, n) in take_pairs(&mut olds, &mut news, |a, b| a.version == b.version) {
            out.changed.push(change(&key, o, n));
        }
        // 3. The rest, in sorted order.
        let paired = olds.len().min(news.len());
        for (o, n) in olds.iter().zip(news.iter()) {
            out.changed.push(change(&key, o, n));
        }
        // 4. Left over.
        removed.extend(olds.iter().skip(paired).map(|c| (key.clone(), *c)));
        added.extend(news.iter().skip(paired).map(|c| (key.clone(), *c)));
    }
    let by_key = |a: &(String, &Component), b: &(String, &Component)| {
        a.0.cmp(&b.0).then_with(|| cmp_component(a.1, b.1))
    };
    added.sort_by(by_key);
    removed.sort_by(by_key);
    out.added = added.into_iter().map(|(_, c)| c.clone()).collect();
    out.removed = removed.into_iter().map(|(_, c)| c.clone()).collect();
    out.changed.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then_with(|| cmp_version(a.from_version.as_deref(), b.from_version.as_deref()))
            .then_with(|| cmp_version(a.to_version.as_deref(), b.to_version.as_deref()))
            .then_with(|| a.from_purl.cmp(&b.from_purl))
            .then_with(|| a.to_purl.cmp(&b.to_purl))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CriticalityRules, Format, parse};

    fn pkg(name: &str, version: Option<&str>, purl: Option<&str>) -> Component {
        Component {
            version: version.map(str::to_owned),
            purl: purl.map(str::to_owned),
            ..Component::named(name)
        }
    }

    /// The dropwizard 1.3.15 SBOM (shared/data/sbom), through the CycloneDX importer.
    fn dropwizard() -> Vec<Component> {
        let bytes = rampart_platform::testing::data("sbom/dropwizard-1.3.15.cdx.json");
        let inv = parse(Format::CycloneDx, &bytes, &CriticalityRules::default()).unwrap();
        assert_eq!(inv.assets.len(), 1);
        inv.assets.into_iter().next().unwrap().components
    }

    #[test]
    fn identities() {
        let c = pkg(
            "commons-text",
            Some("1.9"),
            Some(
                "pkg:maven/org.apache.commons/commons-text@1.9?type=jar&file_name=commons-text-1.9.jar",
            ),
        );
        assert_eq!(
            identity(&c),
            "purl:maven/org.apache.commons/commons-text?type=jar"
        );
        // Spec case rules (PyPI names are case-insensitive, `_` is `-`), sorted qualifiers.
        assert_eq!(
            identity(&pkg("x", None, Some("pkg:pypi/Django_Rest@3.0?b=2&a=1"))),
            "purl:pypi/django-rest?a=1&b=2"
        );
        assert_eq!(
            identity(&pkg(
                "zlib",
                None,
                Some("pkg:deb/debian/zlib1g@1.2.11?arch=amd64&distro=debian-10#sub")
            )),
            "purl:deb/debian/zlib1g?arch=amd64#sub"
        );
        assert_eq!(
            identity(&pkg("x", None, Some("not a purl@1.0?q=1"))),
            "purl-raw:not a purl"
        );
        let mut g = pkg(" OpenSSH ", Some("8.9"), None);
        assert_eq!(identity(&g), "name:openssh");
        g.group = Some("OpenBSD".to_owned());
        assert_eq!(identity(&g), "name:openbsd/openssh");
        assert_eq!(natural("1.9", "1.10"), Ordering::Less);
        assert_eq!(natural("1.09", "1.9"), Ordering::Equal);
        assert_eq!(cmp_version(None, Some("0")), Ordering::Less);
    }

    #[test]
    fn diff_of_the_real_dropwizard_sbom_and_an_edited_copy() {
        let old = dropwizard();
        assert!(old.len() > 100);
        assert!(diff(&old, &old).is_empty());

        // Edited copy: remove guava, bump jackson-annotations, add a new component (left-pad
        // 1.3.0, not in the SBOM) and a second version of one that is (commons-text 1.10.0 beside
        // the SBOM's 1.2: 1.2 pairs with itself, unchanged, so 1.10.0 is added).
        let mut new = old.clone();
        let guava = new.iter().position(|c| c.name == "guava").unwrap();
        let removed = new.remove(guava);
        let jackson = new
            .iter_mut()
            .find(|c| c.name == "jackson-annotations")
            .unwrap();
        let from = jackson.clone();
        jackson.version = Some("2.9.10.1".to_owned());
        jackson.purl = Some(
            "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.9.10.1?type=jar".to_owned(),
        );
        let added = pkg(
            "commons-text",
            Some("1.10.0"),
            Some("pkg:maven/org.apache.commons/commons-text@1.10.0?type=jar"),
        );
        let fresh = pkg("left-pad", Some("1.3.0"), Some("pkg:npm/left-pad@1.3.0"));
        assert!(old.iter().all(|c| c.name != "left-pad"));
        assert!(old.iter().any(|c| c.name == "commons-text"));
        new.insert(3, added.clone());
        new.push(fresh.clone());
        new.reverse(); // order does not matter

        let d = diff(&old, &new);
        // Sorted by identity: maven/... before npm/...
        assert_eq!(d.added, vec![added, fresh]);
        assert_eq!(d.removed, vec![removed.clone()]);
        assert_eq!(
            d.changed,
            vec![ComponentChange {
                key: "purl:maven/com.fasterxml.jackson.core/jackson-annotations?type=jar"
                    .to_owned(),
                name: "jackson-annotations".to_owned(),
                from_version: from.version.clone(),
                to_version: Some("2.9.10.1".to_owned()),
                from_purl: from.purl.clone(),
                to_purl: Some(
                    "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.9.10.1?type=jar"
                        .to_owned()
                ),
            }]
        );
        assert_eq!(from.version.as_deref(), Some("2.9.10"));
        assert_eq!(removed.version.as_deref(), Some("24.1.1-jre"));

        // And back: added and removed swap, the change reverses.
        let back = diff(&new, &old);
        assert_eq!(back.added, d.removed);
        assert_eq!(back.removed, d.added);
        assert_eq!(back.changed[0].from_version, d.changed[0].to_version);
        assert_eq!(back.changed[0].to_purl, d.changed[0].from_purl);

        // Serialises (API body).
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["changed"][0]["to_version"], "2.9.10.1");
        assert_eq!(v["removed"][0]["name"], "guava");
    }

    #[test]
    fn versions_side_by_side_are_paired_deterministically() {
        let p = |v: &str| pkg("lib", Some(v), Some(&format!("pkg:npm/lib@{v}")));
        // Old has 1.0, 1.9 and 2.0; new has 1.10, 2.0 and 3.0 (2.0 is unchanged). The rest is
        // paired in version order: 1.0 -> 1.10, 1.9 -> 3.0.
        let old = vec![p("2.0"), p("1.9"), p("1.0")];
        let new = vec![p("3.0"), p("2.0"), p("1.10")];
        let d = diff(&old, &new);
        let pairs: Vec<(Option<&str>, Option<&str>)> = d
            .changed
            .iter()
            .map(|c| (c.from_version.as_deref(), c.to_version.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [(Some("1.0"), Some("1.10")), (Some("1.9"), Some("3.0"))]
        );
        assert!(d.added.is_empty() && d.removed.is_empty());
        let mut shuffled = new.clone();
        shuffled.rotate_left(1);
        assert_eq!(diff(&old, &shuffled), d);

        // Two old versions, one new: one pairs (the lower), one is removed.
        let d = diff(&[p("1.0"), p("0.9")], &[p("1.1")]);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].from_version.as_deref(), Some("0.9"));
        assert_eq!(d.removed, vec![p("1.0")]);

        // Same version, another purl (a qualifier changed): a change of purl only.
        let a = pkg("lib", Some("1.0"), Some("pkg:npm/lib@1.0"));
        let b = pkg(
            "lib",
            Some("1.0"),
            Some("pkg:npm/lib@1.0?checksum=sha256:ab"),
        );
        let d = diff(&[a], &[b]);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].from_version, d.changed[0].to_version);
        assert_ne!(d.changed[0].from_purl, d.changed[0].to_purl);

        // Without purls: group/name, case-insensitive.
        let d = diff(
            &[pkg("OpenSSH", Some("8.9p1"), None)],
            &[pkg("openssh", Some("9.6p1"), None)],
        );
        assert_eq!(d.changed[0].key, "name:openssh");
        assert_eq!(d.changed[0].name, "openssh");
        // A purl appearing is a removal and an addition.
        let d = diff(
            &[pkg("lib", Some("1"), None)],
            &[pkg("lib", Some("1"), Some("pkg:npm/lib@1"))],
        );
        assert_eq!((d.added.len(), d.removed.len(), d.changed.len()), (1, 1, 0));
        assert!(diff(&[], &[]).is_empty());
    }
}
