//! Version ordering per package ecosystem.
//!
//! [`compare`] orders two version strings of an [`Ecosystem`]. Every comparator is total (it
//! never fails): a string that does not follow the ecosystem's syntax is compared with the
//! generic natural ordering ([`compare_generic`]), and matching marks results of unknown
//! ecosystems as lower confidence.
//!
//! | ecosystem | rule | source |
//! |---|---|---|
//! | Go, npm, crates.io | Semantic Versioning 2.0 precedence ([`compare_semver`]) | <https://semver.org/#spec-item-11>; Go: <https://go.dev/ref/mod#versions> |
//! | Packagist | semver after dropping a leading `v` and padding `1.2` to `1.2.0` | <https://getcomposer.org/doc/articles/versions.md> |
//! | Maven | `ComparableVersion` ([`compare_maven`]) | Maven's `org.apache.maven.artifact.versioning.ComparableVersion` javadoc |
//! | PyPI | PEP 440 subset ([`compare_pypi`]) | <https://peps.python.org/pep-0440/> |
//! | Debian | dpkg ([`compare_debian`]) | Debian Policy §5.6.12 `Version` |
//! | RubyGems | `Gem::Version` ([`compare_rubygems`]) | <https://guides.rubygems.org/patterns/#semantic-versioning> |
//! | other | natural ordering ([`compare_generic`]) | — |

use std::cmp::Ordering;
use std::fmt;

/// A package ecosystem, named as in OSV's `affected[].package.ecosystem`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// Go modules (`Go`); purl type `golang`.
    Go,
    /// npm (`npm`); purl type `npm`.
    Npm,
    /// Maven (`Maven`); purl type `maven`.
    Maven,
    /// Python Package Index (`PyPI`); purl type `pypi`.
    PyPI,
    /// PHP Composer / Packagist (`Packagist`); purl type `composer`.
    Packagist,
    /// Rust crates (`crates.io`); purl type `cargo`.
    CratesIo,
    /// Debian packages (`Debian`, also `Debian:10` etc.); purl type `deb`.
    Debian,
    /// Ruby gems (`RubyGems`); purl type `gem`.
    RubyGems,
    /// Any other ecosystem, by name (compared with the generic ordering).
    Other(String),
}

impl Ecosystem {
    /// From an OSV ecosystem string. Case-insensitive; a `:suffix` (release, e.g.
    /// `Debian:10`, `Alpine:v3.16`) is dropped.
    pub fn from_osv(name: &str) -> Ecosystem {
        let base = name.split(':').next().unwrap_or(name);
        match base.to_ascii_lowercase().as_str() {
            "go" => Ecosystem::Go,
            "npm" => Ecosystem::Npm,
            "maven" => Ecosystem::Maven,
            "pypi" => Ecosystem::PyPI,
            "packagist" => Ecosystem::Packagist,
            "crates.io" => Ecosystem::CratesIo,
            "debian" => Ecosystem::Debian,
            "rubygems" => Ecosystem::RubyGems,
            _ => Ecosystem::Other(base.to_owned()),
        }
    }

    /// The OSV ecosystem name (`Go`, `npm`, `Maven`, `PyPI`, `Packagist`, `crates.io`,
    /// `Debian`, `RubyGems`, or the name given to [`Ecosystem::Other`]).
    pub fn osv_name(&self) -> &str {
        match self {
            Ecosystem::Go => "Go",
            Ecosystem::Npm => "npm",
            Ecosystem::Maven => "Maven",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Debian => "Debian",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Other(name) => name,
        }
    }

    /// Whether this ecosystem has a dedicated ordering (all but [`Ecosystem::Other`]).
    pub fn is_known(&self) -> bool {
        !matches!(self, Ecosystem::Other(_))
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// Orders two versions of `ecosystem` (see the module table).
pub fn compare(ecosystem: &Ecosystem, a: &str, b: &str) -> Ordering {
    match ecosystem {
        Ecosystem::Go | Ecosystem::Npm | Ecosystem::CratesIo | Ecosystem::Packagist => {
            compare_semver(a, b)
        }
        Ecosystem::Maven => compare_maven(a, b),
        Ecosystem::PyPI => compare_pypi(a, b),
        Ecosystem::Debian => compare_debian(a, b),
        Ecosystem::RubyGems => compare_rubygems(a, b),
        Ecosystem::Other(_) => compare_generic(a, b),
    }
}

// ---------------------------------------------------------------------------------------------
// Semver

/// Parses a version as semver, tolerating a leading `v`/`V` and a core of one or two numbers
/// (`1.2` -> `1.2.0`, `v2` -> `2.0.0`). Build metadata is kept but ignored by precedence.
pub fn parse_semver(v: &str) -> Option<semver::Version> {
    let v = v.trim();
    let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
    if let Ok(parsed) = semver::Version::parse(v) {
        return Some(parsed);
    }
    let split = v.find(['-', '+']).unwrap_or(v.len());
    let (core, rest) = v.split_at(split);
    let parts = core.split('.').count();
    let padded = match parts {
        1 => format!("{core}.0.0{rest}"),
        2 => format!("{core}.0{rest}"),
        _ => return None,
    };
    semver::Version::parse(&padded).ok()
}

/// Semantic Versioning 2.0 precedence (§11: major.minor.patch numerically, a pre-release
/// sorts before its release, pre-release identifiers compared dot by dot, numeric < alphanumeric;
/// build metadata ignored). Leading `v` tolerated, so Go versions compare as Go does: a Go
/// pseudo-version `v0.0.0-20200622213623-75b288015ac9` is a pre-release of `v0.0.0` whose
/// identifier starts with a UTC timestamp, so pseudo-versions order by commit time.
/// Strings that are not semver fall back to [`compare_generic`].
pub fn compare_semver(a: &str, b: &str) -> Ordering {
    match (parse_semver(a), parse_semver(b)) {
        (Some(x), Some(y)) => x.cmp_precedence(&y),
        _ => compare_generic(a, b),
    }
}

// ---------------------------------------------------------------------------------------------
// Generic

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Num(&'a str),
    Alpha(String),
}

fn tokens(v: &str) -> Vec<Token<'_>> {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Token::Num(&v[start..i]));
        } else if bytes[i].is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Token::Alpha(v[start..i].to_ascii_lowercase()));
        } else {
            i += 1;
        }
    }
    out
}

/// Compares two strings of decimal digits numerically, of any length.
fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Generic natural ordering for unknown ecosystems and CPE versions: both strings are split
/// into runs of digits and runs of ASCII letters (anything else separates); runs are compared
/// in turn: digits numerically, letters case-insensitively, a digit run sorts after a letter
/// run; when one version runs out first, the longer one is greater (`2.4` < `2.4.1`,
/// `8.6` < `8.6p1`). It does not know pre-release markers.
pub fn compare_generic(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for (x, y) in ta.iter().zip(&tb) {
        let ord = match (x, y) {
            (Token::Num(x), Token::Num(y)) => cmp_digits(x, y),
            (Token::Alpha(x), Token::Alpha(y)) => x.cmp(y),
            (Token::Num(_), Token::Alpha(_)) => Ordering::Greater,
            (Token::Alpha(_), Token::Num(_)) => Ordering::Less,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    ta.len().cmp(&tb.len())
}

// ---------------------------------------------------------------------------------------------
// Maven

#[derive(Debug, Clone, PartialEq, Eq)]
enum MavenItem {
    Int(String),
    Str(String),
    List(Vec<MavenItem>),
}

/// Qualifier order of ComparableVersion; the empty string is the release.
const MAVEN_QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const MAVEN_RELEASE_INDEX: &str = "5";

fn maven_qualifier_key(q: &str) -> String {
    match MAVEN_QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", MAVEN_QUALIFIERS.len()),
    }
}

fn maven_string_item(value: &str, followed_by_digit: bool) -> MavenItem {
    let value = match (followed_by_digit, value) {
        (true, "a") => "alpha",
        (true, "b") => "beta",
        (true, "m") => "milestone",
        (_, "ga" | "final" | "release") => "",
        (_, "cr") => "rc",
        (_, v) => v,
    };
    MavenItem::Str(value.to_owned())
}

fn maven_parse_item(is_digit: bool, s: &str) -> MavenItem {
    if is_digit {
        let t = s.trim_start_matches('0');
        MavenItem::Int(t.to_owned())
    } else {
        maven_string_item(s, false)
    }
}

impl MavenItem {
    fn is_null(&self) -> bool {
        match self {
            MavenItem::Int(v) => v.is_empty(),
            MavenItem::Str(v) => maven_qualifier_key(v) == MAVEN_RELEASE_INDEX,
            MavenItem::List(l) => l.is_empty(),
        }
    }

    /// `compareTo`, with `None` standing for Java's `null` (a missing item).
    fn cmp_opt(&self, other: Option<&MavenItem>) -> Ordering {
        use MavenItem::{Int, List, Str};
        match (self, other) {
            (Int(v), None) => {
                if v.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Int(a), Some(Int(b))) => cmp_digits(a, b),
            (Int(_), Some(_)) => Ordering::Greater,
            (Str(v), None) => maven_qualifier_key(v).as_str().cmp(MAVEN_RELEASE_INDEX),
            (Str(_), Some(Int(_) | List(_))) => Ordering::Less,
            (Str(a), Some(Str(b))) => maven_qualifier_key(a).cmp(&maven_qualifier_key(b)),
            (List(l), None) => l.first().map_or(Ordering::Equal, |f| f.cmp_opt(None)),
            (List(_), Some(Int(_))) => Ordering::Less,
            (List(_), Some(Str(_))) => Ordering::Greater,
            (List(a), Some(List(b))) => {
                let n = a.len().max(b.len());
                for i in 0..n {
                    let ord = match (a.get(i), b.get(i)) {
                        (None, None) => Ordering::Equal,
                        (None, Some(r)) => r.cmp_opt(None).reverse(),
                        (Some(l), r) => l.cmp_opt(r),
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                Ordering::Equal
            }
        }
    }
}

fn maven_normalize(list: &mut Vec<MavenItem>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], MavenItem::List(_)) {
            break;
        }
    }
}

/// Parses a Maven version into ComparableVersion's item tree (Maven 3.x algorithm).
fn maven_parse(version: &str) -> MavenItem {
    let v = version.trim().to_lowercase();
    // Stack of open lists; each is appended to its parent when closed.
    let mut stack: Vec<Vec<MavenItem>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0;
    let chars: Vec<(usize, char)> = v.char_indices().collect();
    fn push(stack: &mut [Vec<MavenItem>], item: MavenItem) {
        if let Some(top) = stack.last_mut() {
            top.push(item);
        }
    }
    for &(i, c) in &chars {
        if c == '.' || c == '-' {
            if i == start {
                push(&mut stack, MavenItem::Int(String::new()));
            } else {
                push(&mut stack, maven_parse_item(is_digit, &v[start..i]));
            }
            start = i + c.len_utf8();
            if c == '-' {
                stack.push(Vec::new());
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                push(&mut stack, maven_string_item(&v[start..i], true));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                push(&mut stack, maven_parse_item(true, &v[start..i]));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if v.len() > start {
        push(&mut stack, maven_parse_item(is_digit, &v[start..]));
    }
    // Close lists innermost first, normalizing each (as ComparableVersion does).
    while stack.len() > 1 {
        let mut inner = stack.pop().unwrap_or_default();
        maven_normalize(&mut inner);
        push(&mut stack, MavenItem::List(inner));
    }
    let mut root = stack.pop().unwrap_or_default();
    maven_normalize(&mut root);
    MavenItem::List(root)
}

/// Maven version ordering, after `org.apache.maven.artifact.versioning.ComparableVersion`
/// (Maven 3.x; javadoc: "Generic implementation of version comparison"):
///
/// - the version is lower-cased and split into items at `.` and `-` and at every transition
///   between digits and letters; `-` and a transition open a sub-list; trailing "null" items
///   (`0`, the release qualifier, empty lists) are dropped;
/// - numeric items compare numerically; "a1"/"b1"/"m1" (letter followed by digit) mean
///   alpha/beta/milestone;
/// - qualifiers order `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final =
///   release < sp`; unknown qualifiers sort after `sp`, lexically among themselves;
/// - a number is greater than a qualifier or a sub-list; a sub-list is greater than a
///   qualifier.
///
/// So `1.0-alpha < 1.0-beta < 1.0-rc < 1.0 < 1.0-sp`, and `4.3.19.RELEASE == 4.3.19`.
pub fn compare_maven(a: &str, b: &str) -> Ordering {
    maven_parse(a).cmp_opt(Some(&maven_parse(b)))
}

// ---------------------------------------------------------------------------------------------
// Debian

fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternately compare non-digit prefixes (letters < non-letters, `~`
/// before everything, even the end of the string) and digit runs (numerically).
fn dpkg_verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let ac = dpkg_order(a.get(i).copied());
            let bc = dpkg_order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// Splits `[epoch:]upstream[-revision]`: the epoch is the digits before the first `:` (0 when
/// absent), the revision follows the last `-` (empty when absent, which compares like `0`).
fn dpkg_split(v: &str) -> (&str, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => (e, r),
        _ => ("0", v),
    };
    let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, upstream, revision)
}

/// Debian version ordering as dpkg implements it (Debian Policy §5.6.12 "Version"):
/// compare epochs numerically, then the upstream versions, then the Debian revisions, each
/// with the algorithm "non-digit part lexically, with letters sorting before non-letters and
/// `~` before anything, even the end of the part; then digit part numerically; repeat".
/// So `1.0~rc1 < 1.0`, `1:0.9 > 2.0`, `1.1.1d-0+deb10u2 < 1.1.1n-0+deb10u3`.
pub fn compare_debian(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = dpkg_split(a);
    let (eb, ub, rb) = dpkg_split(b);
    cmp_digits(ea, eb)
        .then_with(|| dpkg_verrevcmp(ua, ub))
        .then_with(|| dpkg_verrevcmp(ra, rb))
}

// ---------------------------------------------------------------------------------------------
// PyPI

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pep440Key {
    epoch: u64,
    release: Vec<u64>,
    pre: (i8, u64),
    post: i64,
    dev: u64,
}

fn take_number(s: &str) -> (Option<u64>, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        (None, s)
    } else {
        (s[..end].parse().ok(), &s[end..])
    }
}

fn strip_sep(s: &str) -> &str {
    s.strip_prefix(['.', '-', '_']).unwrap_or(s)
}

fn pep440_key(v: &str) -> Option<Pep440Key> {
    let v = v.trim().to_ascii_lowercase();
    let v = v.strip_prefix('v').unwrap_or(&v);
    let v = v.split('+').next().unwrap_or(v); // local version label ignored
    let (epoch, mut rest) = match v.split_once('!') {
        Some((e, r)) => (e.parse().ok()?, r),
        None => (0, v),
    };
    let mut release = Vec::new();
    loop {
        let (n, r) = take_number(rest);
        release.push(n?);
        rest = r;
        match rest.strip_prefix('.') {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
            _ => break,
        }
    }
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let mut pre = None;
    let s = strip_sep(rest);
    for (word, phase) in [
        ("alpha", 0),
        ("beta", 1),
        ("preview", 2),
        ("pre", 2),
        ("rc", 2),
        ("a", 0),
        ("b", 1),
        ("c", 2),
    ] {
        if let Some(r) = s.strip_prefix(word) {
            let (n, r) = take_number(strip_sep(r));
            pre = Some((phase, n.unwrap_or(0)));
            rest = r;
            break;
        }
    }
    let mut post = None;
    let s = strip_sep(rest);
    for word in ["post", "rev", "r"] {
        if let Some(r) = s.strip_prefix(word) {
            let (n, r) = take_number(strip_sep(r));
            post = Some(n.unwrap_or(0));
            rest = r;
            break;
        }
    }
    if post.is_none()
        && let Some(r) = rest.strip_prefix('-')
        && let (Some(n), r) = take_number(r)
    {
        post = Some(n);
        rest = r;
    }
    let mut dev = None;
    if let Some(r) = strip_sep(rest).strip_prefix("dev") {
        let (n, r) = take_number(strip_sep(r));
        dev = Some(n.unwrap_or(0));
        rest = r;
    }
    if !rest.is_empty() {
        return None;
    }
    let pre_key = match (pre, post, dev) {
        (None, None, Some(_)) => (-1, 0), // 1.0.dev0 sorts before 1.0a1
        (None, _, _) => (3, 0),
        (Some(p), _, _) => p,
    };
    Some(Pep440Key {
        epoch,
        release,
        pre: pre_key,
        post: post.map_or(-1, |p| i64::try_from(p).unwrap_or(i64::MAX)),
        dev: dev.unwrap_or(u64::MAX),
    })
}

/// PyPI ordering, a PEP 440 subset: optional epoch `N!`, release segments compared
/// numerically with trailing zeros ignored (`1.0 == 1.0.0`), then pre-releases
/// (`a`/`alpha` < `b`/`beta` < `rc`/`c`/`pre`/`preview`, each with a number), then the
/// final release, then post-releases (`.postN`, `-N`, `rev`, `r`); a `.devN` sorts before the
/// version it is attached to (`1.0.dev1 < 1.0a1 < 1.0 < 1.0.post1`). Local labels (`+…`)
/// are ignored; a leading `v` is tolerated. Unparsable versions fall back to
/// [`compare_generic`].
pub fn compare_pypi(a: &str, b: &str) -> Ordering {
    match (pep440_key(a), pep440_key(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => compare_generic(a, b),
    }
}

// ---------------------------------------------------------------------------------------------
// RubyGems

fn gem_segments(v: &str) -> Vec<Token<'_>> {
    let mut segs = tokens(v);
    // Gem::Version#canonical_segments: drop trailing zeros of the release part (before the
    // first letter segment) and of the pre-release part.
    let split = segs
        .iter()
        .position(|t| matches!(t, Token::Alpha(_)))
        .unwrap_or(segs.len());
    let mut pre = segs.split_off(split);
    let is_zero =
        |t: &Token<'_>| matches!(t, Token::Num(n) if n.trim_start_matches('0').is_empty());
    while segs.len() > 1 && segs.last().is_some_and(is_zero) {
        segs.pop();
    }
    while pre.last().is_some_and(is_zero) {
        pre.pop();
    }
    segs.extend(pre);
    segs
}

/// RubyGems ordering (`Gem::Version#<=>`): segments are runs of digits or letters; trailing
/// zero segments are ignored; segments compare pairwise, numbers numerically, strings
/// lexically, and a string segment sorts *before* a number (a version with letters is a
/// pre-release: `1.0.a < 1.0 < 1.0.1`); a missing segment counts as 0.
pub fn compare_rubygems(a: &str, b: &str) -> Ordering {
    let (sa, sb) = (gem_segments(a), gem_segments(b));
    let zero = Token::Num("0");
    for i in 0..sa.len().max(sb.len()) {
        let x = sa.get(i).unwrap_or(&zero);
        let y = sb.get(i).unwrap_or(&zero);
        let ord = match (x, y) {
            (Token::Num(x), Token::Num(y)) => cmp_digits(x, y),
            (Token::Alpha(x), Token::Alpha(y)) => x.cmp(y),
            (Token::Alpha(_), Token::Num(_)) => Ordering::Less,
            (Token::Num(_), Token::Alpha(_)) => Ordering::Greater,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}
