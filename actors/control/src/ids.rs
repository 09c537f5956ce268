//! Canonical control ids and framework ids.

/// The id scheme of a framework, which decides how its control ids are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// NIST SP 800-53: `ac-2.1` (OSCAL id form, lower case).
    Sp80053,
    /// NIST CSF: `PR.AA-01` (upper case).
    Csf,
    /// ISO/IEC 27001 / 27002: `A.5.1`, clauses `4.1`.
    Iso,
    /// Anything else: the id is only trimmed.
    Other,
}

impl Scheme {
    /// The scheme named by a framework id or hint (`nist-sp-800-53-rev5`, `nist-csf-2.0`,
    /// `iso27001-2022`); `None` when the hint is empty.
    pub(crate) fn from_hint(hint: &str) -> Option<Self> {
        let h = hint.trim().to_ascii_lowercase();
        if h.is_empty() {
            None
        } else if h.contains("800-53") || h.contains("800_53") || h.contains("80053") {
            Some(Self::Sp80053)
        } else if h.contains("csf") || h.contains("cybersecurity-framework") {
            Some(Self::Csf)
        } else if h.contains("27001") || h.contains("27002") {
            Some(Self::Iso)
        } else {
            Some(Self::Other)
        }
    }

    /// Guess the scheme from an id alone.
    fn detect(raw: &str) -> Self {
        let s = strip_part(raw.trim());
        if sp80053(s).is_some() && s.contains('-') {
            Self::Sp80053
        } else if is_csf(s) {
            Self::Csf
        } else if is_iso_annex(s) {
            Self::Iso
        } else {
            Self::Other
        }
    }
}

/// Cut an OSCAL part suffix: `ac-2_smt.a` -> `ac-2`, `gv.oc-01_smt` -> `gv.oc-01`.
fn strip_part(s: &str) -> &str {
    s.split('_').next().unwrap_or(s)
}

/// Parse an SP 800-53 id in any common spelling into `(family, control, enhancement)`.
fn sp80053(raw: &str) -> Option<(String, Option<u32>, Option<u32>)> {
    let s: String = strip_part(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let letters = s.chars().take_while(|c| c.is_ascii_lowercase()).count();
    if letters != 2 {
        return None;
    }
    let (family, rest) = s.split_at(letters);
    if rest.is_empty() {
        return Some((family.to_owned(), None, None));
    }
    let rest = rest.strip_prefix('-')?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (num, rest) = rest.split_at(digits);
    let control: u32 = num.parse().ok()?;
    let enhancement = if rest.is_empty() {
        None
    } else if let Some(e) = rest.strip_prefix('.') {
        Some(number(e)?)
    } else if let Some(e) = rest.strip_prefix('(').and_then(|e| e.strip_suffix(')')) {
        Some(number(e)?)
    } else {
        return None;
    };
    Some((family.to_owned(), Some(control), enhancement))
}

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `GV`, `GV.OC`, `GV.OC-01` in any case.
fn is_csf(s: &str) -> bool {
    let (head, tail) = match s.split_once('-') {
        Some((h, t)) => (h, Some(t)),
        None => (s, None),
    };
    let mut parts = head.split('.');
    let ok_letters = |p: &str| p.len() == 2 && p.chars().all(|c| c.is_ascii_alphabetic());
    let first = parts.next().is_some_and(ok_letters);
    let second = parts.next();
    let more = parts.next().is_some();
    first
        && !more
        && second.is_none_or(ok_letters)
        && (tail.is_none() || second.is_some())
        && tail.is_none_or(|t| number(t).is_some())
}

/// `A.5.1` / `a.5.1`.
fn is_iso_annex(s: &str) -> bool {
    let mut parts = s.split('.');
    parts.next().is_some_and(|p| p.eq_ignore_ascii_case("a"))
        && parts.all(|p| number(p).is_some())
        && s.contains('.')
}

/// Normalise a control id to its canonical form.
///
/// `framework_hint` is a framework id (`nist-sp-800-53-rev5`, `nist-csf-2.0`, `iso27001-2022`) or
/// empty to guess from the id. Canonical forms:
/// - SP 800-53: the lower-case OSCAL id, `cm-7.2`; accepts `CM-7(2)`, `CM-07(02)`, `cm-7.2` and
///   OSCAL part ids (`ac-2_smt.a` -> `ac-2`); families are `ac`.
/// - CSF: upper case, `PR.AA-01` (`pr.aa-01`, `pr.aa-01_smt` -> `PR.AA-01`).
/// - ISO 27001: `A.5.1` (leading zeros dropped, `a.5.1` -> `A.5.1`); clauses as written (`4.1`).
/// - other frameworks: the id trimmed.
pub fn normalise_control_id(framework_hint: &str, raw: &str) -> String {
    let raw = raw.trim();
    let scheme = Scheme::from_hint(framework_hint).unwrap_or_else(|| Scheme::detect(raw));
    normalise_with(scheme, raw)
}

pub(crate) fn normalise_with(scheme: Scheme, raw: &str) -> String {
    let raw = raw.trim();
    match scheme {
        Scheme::Sp80053 => match sp80053(raw) {
            Some((family, None, _)) => family,
            Some((family, Some(c), None)) => format!("{family}-{c}"),
            Some((family, Some(c), Some(e))) => format!("{family}-{c}.{e}"),
            None => strip_part(raw).to_ascii_lowercase(),
        },
        Scheme::Csf => strip_part(raw).to_ascii_uppercase(),
        Scheme::Iso => {
            if is_iso_annex(raw) || raw.split('.').all(|p| number(p).is_some()) {
                raw.split('.')
                    .map(|p| match number(p) {
                        Some(n) => n.to_string(),
                        None => p.to_ascii_uppercase(),
                    })
                    .collect::<Vec<_>>()
                    .join(".")
            } else {
                raw.to_owned()
            }
        }
        Scheme::Other => raw.to_owned(),
    }
}

/// Display label for a canonical id: SP 800-53 `ac-2.1` -> `AC-2(1)`; others unchanged.
pub(crate) fn display_label(scheme: Scheme, canonical: &str) -> String {
    match (scheme, sp80053(canonical)) {
        (Scheme::Sp80053, Some((f, None, _))) => f.to_ascii_uppercase(),
        (Scheme::Sp80053, Some((f, Some(c), None))) => format!("{}-{c}", f.to_ascii_uppercase()),
        (Scheme::Sp80053, Some((f, Some(c), Some(e)))) => {
            format!("{}-{c}({e})", f.to_ascii_uppercase())
        }
        _ => canonical.to_owned(),
    }
}

/// SP 800-53 structural parent of a canonical id: `ac-2.1` -> `ac-2`, `ac-2` -> `ac`.
pub(crate) fn sp80053_parent(canonical: &str) -> Option<String> {
    match sp80053(canonical)? {
        (f, Some(c), Some(_)) => Some(format!("{f}-{c}")),
        (f, Some(_), None) => Some(f),
        _ => None,
    }
}

/// Whether a canonical SP 800-53 id is an enhancement (`ac-2.1`).
pub(crate) fn sp80053_is_enhancement(canonical: &str) -> bool {
    matches!(sp80053(canonical), Some((_, Some(_), Some(_))))
}

/// Derive a framework id from free text (an OSCAL title, an `href`, a file name):
/// `nist-sp-800-53-rev5`, `nist-csf-2.0`, `nist-csf-1.1`, `iso27001-2022`, else a slug.
pub(crate) fn framework_id_from_text(text: &str) -> String {
    let t = text.to_ascii_lowercase().replace(['_', ' '], "-");
    if t.contains("800-53") || t.contains("80053") {
        let rev5 = ["rev5", "rev-5", "revision-5", "rev.-5", "-r5", "rev.5"]
            .iter()
            .any(|p| t.contains(p));
        return if rev5 {
            "nist-sp-800-53-rev5"
        } else {
            "nist-sp-800-53"
        }
        .to_owned();
    }
    if t.contains("csf") || t.contains("cybersecurity-framework") {
        if t.contains("2.0") || t.contains("v2") {
            return "nist-csf-2.0".to_owned();
        }
        if t.contains("1.1") {
            return "nist-csf-1.1".to_owned();
        }
        return "nist-csf".to_owned();
    }
    if t.contains("27001") {
        return if t.contains("2022") {
            "iso27001-2022"
        } else {
            "iso27001"
        }
        .to_owned();
    }
    slug(text)
}

/// Lower-case, alphanumerics and `.`, everything else collapsed into `-`.
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Split a CISO Assistant URN `urn:intuitem:risk:<type>:<framework>:<node>` into
/// `(framework, node)`; for `urn:...:framework:<id>` returns `(id, "")`.
pub(crate) fn split_urn(urn: &str) -> Option<(&str, &str)> {
    let mut it = urn.trim().splitn(6, ':');
    let scheme = it.next()?;
    if !scheme.eq_ignore_ascii_case("urn") {
        return None;
    }
    let _namespace = it.next()?;
    let _domain = it.next()?;
    let _kind = it.next()?;
    let fw = it.next()?;
    Some((fw, it.next().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SP: &str = "nist-sp-800-53-rev5";

    #[test]
    fn sp80053_forms() {
        assert_eq!(normalise_control_id(SP, "cm-7.2"), "cm-7.2");
        assert_eq!(normalise_control_id(SP, "CM-7(2)"), "cm-7.2");
        assert_eq!(normalise_control_id(SP, "CM-07(02)"), "cm-7.2");
        assert_eq!(normalise_control_id(SP, "cm-07.02"), "cm-7.2");
        assert_eq!(normalise_control_id(SP, "ac-2_smt.a"), "ac-2");
        assert_eq!(normalise_control_id(SP, "ac-02_odp.01"), "ac-2");
        assert_eq!(normalise_control_id(SP, " AC-2 (1) "), "ac-2.1");
        assert_eq!(normalise_control_id(SP, "AC"), "ac");
        assert_eq!(normalise_control_id(SP, "AC-02"), "ac-2");
        // no hint: guessed from the id
        assert_eq!(normalise_control_id("", "CM-7(2)"), "cm-7.2");
        assert_eq!(normalise_control_id("", "ac-2_smt.a"), "ac-2");
    }

    #[test]
    fn csf_forms() {
        assert_eq!(normalise_control_id("nist-csf-2.0", "PR.AA-01"), "PR.AA-01");
        assert_eq!(normalise_control_id("nist-csf-2.0", "pr.aa-01"), "PR.AA-01");
        assert_eq!(
            normalise_control_id("nist-csf-2.0", "gv.oc-01_smt"),
            "GV.OC-01"
        );
        assert_eq!(normalise_control_id("nist-csf-2.0", "gv.oc"), "GV.OC");
        assert_eq!(normalise_control_id("", "pr.aa-01"), "PR.AA-01");
        assert_eq!(normalise_control_id("", "GV"), "GV");
    }

    #[test]
    fn iso_forms() {
        assert_eq!(normalise_control_id("iso27001-2022", "A.5.1"), "A.5.1");
        assert_eq!(normalise_control_id("iso27001-2022", "a.5.1"), "A.5.1");
        assert_eq!(normalise_control_id("iso27001-2022", "A.05.01"), "A.5.1");
        assert_eq!(normalise_control_id("iso27001-2022", "4.1"), "4.1");
        assert_eq!(normalise_control_id("iso27001-2022", "annex-a"), "annex-a");
        assert_eq!(normalise_control_id("", "a.5.1"), "A.5.1");
    }

    #[test]
    fn other_frameworks_are_trimmed_only() {
        assert_eq!(normalise_control_id("scf-2025.2.2", " CFG-02 "), "CFG-02");
    }

    #[test]
    fn labels_and_parents() {
        assert_eq!(display_label(Scheme::Sp80053, "ac-2.1"), "AC-2(1)");
        assert_eq!(display_label(Scheme::Sp80053, "ac-2"), "AC-2");
        assert_eq!(sp80053_parent("ac-2.1").as_deref(), Some("ac-2"));
        assert_eq!(sp80053_parent("ac-2").as_deref(), Some("ac"));
        assert_eq!(sp80053_parent("ac"), None);
    }

    #[test]
    fn framework_ids() {
        assert_eq!(
            framework_id_from_text("catalogs/NIST_SP-800-53_rev5/catalog.json"),
            "nist-sp-800-53-rev5"
        );
        assert_eq!(
            framework_id_from_text(
                "NIST Special Publication 800-53 Revision 5.1.1 HIGH IMPACT BASELINE"
            ),
            "nist-sp-800-53-rev5"
        );
        assert_eq!(
            framework_id_from_text("catalogs/NIST_CSF_v2.0/catalog.json"),
            "nist-csf-2.0"
        );
        assert_eq!(framework_id_from_text("My Own Catalog"), "my-own-catalog");
        assert_eq!(
            split_urn("urn:intuitem:risk:req_node:nist-sp-800-53-rev5:ac-2(1)"),
            Some(("nist-sp-800-53-rev5", "ac-2(1)"))
        );
    }
}
