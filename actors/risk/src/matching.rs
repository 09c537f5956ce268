//! Matching components (purl or CPE) to the vulnerabilities that affect them.
//!
//! # OSV semantics
//! Per the OSV schema, section "Evaluation" (<https://ossf.github.io/osv-schema/#evaluation>),
//! a version `v` of package `p` is affected by an `affected[]` entry for `p` when:
//!
//! - `v` is listed in `versions` (exact string match, or equal under the ecosystem ordering,
//!   so Maven `4.3.19.RELEASE` equals `4.3.19`), or
//! - `v` falls in a range: the range's events are sorted by version (`introduced: "0"` first),
//!   in SEMVER order for `SEMVER` ranges and in the ecosystem's order ([`crate::version`])
//!   for `ECOSYSTEM` ranges; walking them, `introduced` (inclusive; `"0"` = from the first
//!   version) opens an interval when `v >= introduced`, `fixed` (exclusive) closes it when
//!   `v >= fixed`, `last_affected` (inclusive) closes it when `v > last_affected`. If the range
//!   has `limit` events, `v` must also be below at least one limit.
//!
//! `GIT` ranges are ignored: evaluating them needs the repository's commit graph, and OSV
//! records that carry GIT ranges normally carry `versions` or ECOSYSTEM ranges as well.
//!
//! # NVD semantics
//! A component CPE matches a CVE when it falls under one of the CVE's `vulnerable: true` CPE
//! criteria ([`crate::cpe::cpe_matches`]).
//!
//! # Complexity
//! [`VulnIndex::new`] indexes the records by `(ecosystem, package name)` (lower-cased; PyPI
//! names PEP 503-normalized) and by CPE `(vendor, product)`, so each component lookup only
//! evaluates the entries of its own package: matching N components against M records costs
//! O(M) to build plus O(N · k) with k the entries per package, not O(N · M).

use std::cmp::Ordering;
use std::collections::HashMap;

use super::cpe::{Cpe, cpe_matches_parsed};
use super::error::MatchError;
use super::model::{Affected, Event, Range, RangeKind, Vulnerability};
use super::purl::{PackageRef, package_from_purl, package_key};
use super::version::{Ecosystem, compare, compare_semver};

/// How sure a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    /// Versions were compared with the generic natural ordering (unknown ecosystem, or an NVD
    /// CPE version range): the result may be wrong for unusual version schemes.
    Low,
    /// Exact version listed, or versions compared with the ecosystem's own ordering.
    High,
}

/// Why a component matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchReason {
    /// The version is listed in OSV `versions`.
    ListedVersion(String),
    /// The version falls in this OSV range.
    Range {
        /// Range type (SEMVER or ECOSYSTEM).
        kind: RangeKind,
        /// The range's events, as in the record.
        events: Vec<Event>,
    },
    /// The CPE falls under this NVD criterion.
    Cpe(super::model::CpeMatch),
}

/// One vulnerability affecting a component.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding<'a> {
    /// The matching record.
    pub vulnerability: &'a Vulnerability,
    /// The first rule of the record that matched.
    pub reason: MatchReason,
    /// Confidence of the version comparison.
    pub confidence: Confidence,
}

/// Orders two versions for a range of `kind` in `ecosystem`: SEMVER ranges always use
/// semver precedence, ECOSYSTEM (and GIT, never evaluated) the ecosystem's ordering.
fn cmp_in(kind: RangeKind, ecosystem: &Ecosystem, a: &str, b: &str) -> Ordering {
    match kind {
        RangeKind::Semver => compare_semver(a, b),
        RangeKind::Ecosystem | RangeKind::Git => compare(ecosystem, a, b),
    }
}

/// Whether `version` falls in an OSV range (module docs, "OSV semantics"). `None` for `GIT`
/// ranges, which are not evaluated.
pub fn range_contains(range: &Range, ecosystem: &Ecosystem, version: &str) -> Option<bool> {
    if range.kind == RangeKind::Git {
        return None;
    }
    let is_zero = |e: &Event| matches!(e, Event::Introduced(v) if v == "0");
    let kind = range.kind;
    // The sorted walk of the module docs ends in the state set by the last event (in version
    // order, ties in record order) whose condition holds. That event is found by a linear scan
    // instead of sorting, so an inconsistent ordering between differently formatted versions
    // can never make `sort_by` panic.
    let mut decisive: Option<&Event> = None;
    let mut limits = Vec::new();
    for e in &range.events {
        let holds = match e {
            Event::Introduced(v) => v == "0" || cmp_in(kind, ecosystem, version, v).is_ge(),
            Event::Fixed(v) => cmp_in(kind, ecosystem, version, v).is_ge(),
            Event::LastAffected(v) => cmp_in(kind, ecosystem, version, v).is_gt(),
            Event::Limit(v) => {
                limits.push(v);
                false
            }
        };
        if !holds {
            continue;
        }
        let later = match decisive {
            None => true,
            Some(d) if is_zero(d) => true,
            Some(_) if is_zero(e) => false,
            Some(d) => cmp_in(kind, ecosystem, e.version(), d.version()).is_ge(),
        };
        if later {
            decisive = Some(e);
        }
    }
    let mut affected = matches!(decisive, Some(Event::Introduced(_)));
    if affected
        && !limits.is_empty()
        && !limits
            .iter()
            .any(|l| *l == "*" || cmp_in(kind, ecosystem, version, l) == Ordering::Less)
    {
        affected = false;
    }
    Some(affected)
}

/// Whether `version` is affected according to one OSV `affected[]` entry; returns the rule
/// that matched (listed version first, then the first matching range).
pub fn affected_contains(affected: &Affected, version: &str) -> Option<MatchReason> {
    let eco = Ecosystem::from_osv(&affected.ecosystem);
    if let Some(v) = affected
        .versions
        .iter()
        .find(|v| *v == version || (eco.is_known() && compare(&eco, v, version).is_eq()))
    {
        return Some(MatchReason::ListedVersion(v.clone()));
    }
    affected
        .ranges
        .iter()
        .find(|r| range_contains(r, &eco, version) == Some(true))
        .map(|r| MatchReason::Range {
            kind: r.kind,
            events: r.events.clone(),
        })
}

/// CPE index: (vendor, product) -> (record index, parsed criterion, criterion index).
type ProductIndex = HashMap<(String, String), Vec<(usize, Cpe, usize)>>;

/// An index of vulnerability records for fast component lookups (see module docs).
#[derive(Debug, Clone)]
pub struct VulnIndex<'a> {
    records: &'a [Vulnerability],
    /// (ecosystem, package key) -> (record index, affected index).
    by_package: HashMap<(Ecosystem, String), Vec<(usize, usize)>>,
    /// (vendor, product) -> (record index, parsed criterion, criterion index).
    by_product: ProductIndex,
}

impl<'a> VulnIndex<'a> {
    /// Indexes `records` (OSV and/or NVD). CPE criteria that do not parse, and those with
    /// `vulnerable: false`, are left out.
    pub fn new(records: &'a [Vulnerability]) -> Self {
        let mut by_package: HashMap<(Ecosystem, String), Vec<(usize, usize)>> = HashMap::new();
        let mut by_product: ProductIndex = HashMap::new();
        for (ri, r) in records.iter().enumerate() {
            for (ai, a) in r.affected.iter().enumerate() {
                let key = package_key(&Ecosystem::from_osv(&a.ecosystem), &a.package);
                by_package.entry(key).or_default().push((ri, ai));
            }
            for (ci, c) in r.cpe_matches.iter().enumerate() {
                if !c.vulnerable {
                    continue;
                }
                if let Ok(cpe) = Cpe::parse(&c.criteria) {
                    let key = (cpe.vendor().to_owned(), cpe.product().to_owned());
                    by_product.entry(key).or_default().push((ri, cpe, ci));
                }
            }
        }
        VulnIndex {
            records,
            by_package,
            by_product,
        }
    }

    /// Number of indexed records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no records are indexed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The vulnerabilities affecting a package version: at most one finding per record, in
    /// record order.
    pub fn match_package(&self, pkg: &PackageRef) -> Vec<Finding<'a>> {
        let key = package_key(&pkg.ecosystem, &pkg.name);
        let confidence = if pkg.ecosystem.is_known() {
            Confidence::High
        } else {
            Confidence::Low
        };
        let mut out: Vec<Finding<'a>> = Vec::new();
        let mut last: Option<usize> = None;
        for &(ri, ai) in self.by_package.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
            if last == Some(ri) {
                continue;
            }
            let (Some(record), Some(affected)) = (
                self.records.get(ri),
                self.records.get(ri).and_then(|r| r.affected.get(ai)),
            ) else {
                continue;
            };
            if let Some(reason) = affected_contains(affected, &pkg.version) {
                last = Some(ri);
                out.push(Finding {
                    vulnerability: record,
                    reason,
                    confidence,
                });
            }
        }
        out
    }

    /// [`VulnIndex::match_package`] for a purl such as
    /// `pkg:maven/org.springframework/spring-beans@4.3.19.RELEASE`.
    ///
    /// # Errors
    /// [`MatchError::InvalidPurl`], [`MatchError::MissingVersion`].
    pub fn match_purl(&self, purl: &str) -> Result<Vec<Finding<'a>>, MatchError> {
        Ok(self.match_package(&package_from_purl(purl)?))
    }

    /// The NVD records with a `vulnerable: true` criterion matching a component CPE such as
    /// `cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*`. One finding per record. Confidence
    /// is High when the criterion names the exact version, Low when a version range was
    /// compared with the generic ordering.
    ///
    /// # Errors
    /// [`MatchError::InvalidCpe`].
    pub fn match_cpe(&self, cpe: &str) -> Result<Vec<Finding<'a>>, MatchError> {
        let component = Cpe::parse(cpe)?;
        let key = (
            component.vendor().to_owned(),
            component.product().to_owned(),
        );
        let mut out: Vec<Finding<'a>> = Vec::new();
        let mut last: Option<usize> = None;
        for (ri, crit, ci) in self.by_product.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
            if last == Some(*ri) {
                continue;
            }
            let Some(record) = self.records.get(*ri) else {
                continue;
            };
            let Some(criterion) = record.cpe_matches.get(*ci) else {
                continue;
            };
            if cpe_matches_parsed(criterion, crit, &component) {
                last = Some(*ri);
                let confidence = if matches!(crit.version(), "*" | "-") {
                    Confidence::Low
                } else {
                    Confidence::High
                };
                out.push(Finding {
                    vulnerability: record,
                    reason: MatchReason::Cpe(criterion.clone()),
                    confidence,
                });
            }
        }
        Ok(out)
    }
}
