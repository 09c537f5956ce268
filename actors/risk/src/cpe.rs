//! CPE 2.3 formatted strings (NISTIR 7695, "Common Platform Enumeration: Naming
//! Specification Version 2.3", §6.2) and NVD CPE match criteria (NISTIR 7696, name matching,
//! simplified as below).
//!
//! A formatted string is `cpe:2.3:part:vendor:product:version:update:edition:language:
//! sw_edition:target_sw:target_hw:other`; `\` escapes a character (e.g. `\:`); `*` is ANY,
//! `-` is NA (not applicable).
//!
//! The older URI binding (`cpe:/a:openbsd:openssh:5.9p1`, CPE 2.2, still written by nmap) is
//! accepted too and unbound as NISTIR 7695 §6.1.3 says: missing or empty components are ANY, `%xx`
//! is percent-decoded, a packed edition (`~`-separated) is unpacked into edition, sw_edition,
//! target_sw, target_hw and other.

use std::cmp::Ordering;

use super::error::MatchError;
use super::model::CpeMatch;
use super::version::compare_generic;

/// A parsed CPE 2.3 formatted string: its 11 attributes, unescaped and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cpe {
    /// Attributes in order: part, vendor, product, version, update, edition, language,
    /// sw_edition, target_sw, target_hw, other.
    pub attrs: [String; 11],
}

impl Cpe {
    /// Parses `cpe:2.3:...` (13 colon-separated fields, `\`-escapes honoured).
    ///
    /// # Errors
    /// [`MatchError::InvalidCpe`] for another prefix or a wrong number of fields.
    pub fn parse(s: &str) -> Result<Cpe, MatchError> {
        if let Some(uri) = s.strip_prefix("cpe:/").or_else(|| s.strip_prefix("CPE:/")) {
            return Self::parse_uri(s, uri);
        }
        let invalid = |reason| MatchError::InvalidCpe {
            cpe: s.to_owned(),
            reason,
        };
        let mut fields = Vec::with_capacity(13);
        let mut cur = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                ':' => fields.push(std::mem::take(&mut cur)),
                c => cur.extend(c.to_lowercase()),
            }
        }
        fields.push(cur);
        if fields.len() != 13 {
            return Err(invalid("expected 13 colon-separated fields"));
        }
        if fields[0] != "cpe" || fields[1] != "2.3" {
            return Err(invalid("must start with `cpe:2.3:`"));
        }
        let mut attrs: [String; 11] = Default::default();
        for (slot, value) in attrs.iter_mut().zip(fields.into_iter().skip(2)) {
            *slot = value;
        }
        Ok(Cpe { attrs })
    }

    /// Unbinds a CPE 2.2 URI (`uri` is what follows `cpe:/`).
    fn parse_uri(original: &str, uri: &str) -> Result<Cpe, MatchError> {
        let invalid = |reason| MatchError::InvalidCpe {
            cpe: original.to_owned(),
            reason,
        };
        let comps: Vec<&str> = uri.split(':').collect();
        if comps.len() > 7 {
            return Err(invalid("a CPE URI has at most 7 components after `cpe:/`"));
        }
        let decode = |c: &str| -> Result<String, MatchError> {
            if c.is_empty() {
                return Ok("*".to_owned());
            }
            let bytes = c.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' {
                    let hex = c
                        .get(i + 1..i + 3)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| invalid("bad percent-encoding"))?;
                    out.push(hex);
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            Ok(String::from_utf8_lossy(&out).to_lowercase())
        };
        let mut attrs: [String; 11] = std::array::from_fn(|_| "*".to_owned());
        let part = comps.first().copied().unwrap_or("");
        if !matches!(part, "a" | "o" | "h" | "") {
            return Err(invalid("part must be a, o or h"));
        }
        for (i, c) in comps.iter().enumerate().take(6) {
            if i == 5 && c.starts_with('~') {
                // Packed edition: ~edition~sw_edition~target_sw~target_hw~other.
                let packed: Vec<&str> = c.split('~').skip(1).collect();
                for (slot, v) in [5usize, 7, 8, 9, 10].into_iter().zip(packed) {
                    attrs[slot] = decode(v)?;
                }
            } else {
                attrs[i] = decode(c)?;
            }
        }
        if let Some(lang) = comps.get(6) {
            attrs[6] = decode(lang)?;
        }
        Ok(Cpe { attrs })
    }

    /// `vendor` attribute.
    pub fn vendor(&self) -> &str {
        &self.attrs[1]
    }

    /// `product` attribute.
    pub fn product(&self) -> &str {
        &self.attrs[2]
    }

    /// `version` attribute.
    pub fn version(&self) -> &str {
        &self.attrs[3]
    }
}

/// Whether one criterion attribute value matches a component attribute value: `*` in the
/// criterion matches anything; otherwise the values must be equal (case-insensitive), where
/// a component `*` (unknown) also matches.
fn attr_matches(criterion: &str, component: &str) -> bool {
    criterion == "*" || component == "*" || criterion == component
}

/// Whether a component CPE (a concrete product, usually with a concrete version) falls
/// under an NVD match criterion:
///
/// 1. every attribute other than `version` matches (`*` in the criterion is ANY; otherwise
///    equal values, or `*` in the component);
/// 2. if the criterion's version is concrete, it must equal the component's;
/// 3. if the criterion's version is `*` or `-` and it has `versionStart*`/`versionEnd*`
///    bounds, the component version must be concrete and within the bounds, compared with
///    [`compare_generic`] (CPE versions belong to no package ecosystem);
/// 4. with no bounds and version `*`, any component version matches.
///
/// The `vulnerable` flag is not looked at here (see [`crate::matching`]).
pub fn cpe_matches(criterion: &CpeMatch, component: &Cpe) -> Result<bool, MatchError> {
    let crit = Cpe::parse(&criterion.criteria)?;
    Ok(cpe_matches_parsed(criterion, &crit, component))
}

pub(crate) fn cpe_matches_parsed(criterion: &CpeMatch, crit: &Cpe, component: &Cpe) -> bool {
    for i in (0..11).filter(|&i| i != 3) {
        if !attr_matches(&crit.attrs[i], &component.attrs[i]) {
            return false;
        }
    }
    let cv = component.version();
    let has_bounds = criterion.version_start_including.is_some()
        || criterion.version_start_excluding.is_some()
        || criterion.version_end_including.is_some()
        || criterion.version_end_excluding.is_some();
    match crit.version() {
        "*" | "-" if has_bounds => {
            if cv == "*" || cv == "-" || cv.is_empty() {
                return false;
            }
            let ok = |bound: &Option<String>, pred: fn(Ordering) -> bool| {
                bound
                    .as_deref()
                    .is_none_or(|b| pred(compare_generic(cv, b)))
            };
            ok(&criterion.version_start_including, |o| o != Ordering::Less)
                && ok(&criterion.version_start_excluding, |o| {
                    o == Ordering::Greater
                })
                && ok(&criterion.version_end_including, |o| o != Ordering::Greater)
                && ok(&criterion.version_end_excluding, |o| o == Ordering::Less)
        }
        "*" => true,
        v => v == cv,
    }
}
