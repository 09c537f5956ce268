//! Rampart's own weakness → control rules: which SP 800-53 rev5 controls mitigate a risk
//! finding, by its weakness (CWE), its KEV listing, its score and the asset's kind. The rules
//! are configuration (`[[controls.rules]]` in `config/default.toml`); a finding gets the union of
//! the controls of every rule it matches. Crosswalks then carry those controls to every loaded
//! framework (CSF 2.0 subcategories, ISO 27001 Annex A, …).
//!
//! Due dates of the resulting recommendations follow CISA BOD 19-02 (critical 15 days, high 30
//! days) extended to Rampart's five levels: very high 15, high 30, moderate 90, low 180, very low
//! 365 days; a KEV-listed finding is due in at most 14 days (BOD 22-01's timeline for new entries).

use serde::{Deserialize, Serialize};

/// One rule: when every condition that is set holds, the finding maps to `controls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaknessRule {
    /// Name shown as the reason of a mapping.
    pub name: String,
    /// Matches findings carrying any of these CWE ids (`CWE-79`).
    #[serde(default)]
    pub cwe: Vec<String>,
    /// Matches only KEV-listed findings (when `true`).
    #[serde(default)]
    pub kev: bool,
    /// Matches findings scoring at least this (1..=25).
    #[serde(default)]
    pub min_score: Option<u8>,
    /// Matches findings on assets of this kind (`host`, `application`, `service`,
    /// `cloud_resource`).
    #[serde(default)]
    pub asset_kind: Option<String>,
    /// SP 800-53 rev5 controls, as written anywhere (`si-2`, `SI-2(2)`).
    pub controls: Vec<String>,
}

impl WeaknessRule {
    /// Whether the finding matches (module docs).
    pub fn matches(&self, cwes: &[String], kev: bool, score: u8, asset_kind: &str) -> bool {
        (self.cwe.is_empty()
            || cwes
                .iter()
                .any(|c| self.cwe.iter().any(|r| r.eq_ignore_ascii_case(c))))
            && (!self.kev || kev)
            && self.min_score.is_none_or(|m| score >= m)
            && self
                .asset_kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case(asset_kind))
    }
}

/// The rules Rampart ships (`config/default.toml` states them too).
pub fn default_rules() -> Vec<WeaknessRule> {
    let r = |name: &str,
             cwe: &[&str],
             kev: bool,
             min_score: Option<u8>,
             kind: Option<&str>,
             controls: &[&str]| {
        WeaknessRule {
            name: name.to_owned(),
            cwe: cwe.iter().map(|s| (*s).to_owned()).collect(),
            kev,
            min_score,
            asset_kind: kind.map(str::to_owned),
            controls: controls.iter().map(|s| (*s).to_owned()).collect(),
        }
    };
    vec![
        r(
            "vulnerable component",
            &[],
            false,
            None,
            None,
            &["si-2", "ra-5", "cm-8"],
        ),
        r(
            "known exploited (KEV)",
            &[],
            true,
            None,
            None,
            &["si-2.2", "si-4", "ir-4"],
        ),
        r(
            "very high risk",
            &[],
            false,
            Some(20),
            None,
            &["ra-7", "ca-7"],
        ),
        r(
            "injection",
            &[
                "CWE-74", "CWE-77", "CWE-78", "CWE-79", "CWE-89", "CWE-94", "CWE-917",
            ],
            false,
            None,
            None,
            &["si-10", "sa-11"],
        ),
        r(
            "authentication weakness",
            &["CWE-287", "CWE-306", "CWE-798", "CWE-522"],
            false,
            None,
            None,
            &["ia-2", "ia-5", "ac-3"],
        ),
        r(
            "unsafe deserialization / path traversal",
            &["CWE-502", "CWE-22"],
            false,
            None,
            None,
            &["si-10", "cm-7"],
        ),
        r(
            "exposed host configuration",
            &[],
            false,
            None,
            Some("host"),
            &["cm-6", "cm-7"],
        ),
    ]
}

/// Days to remediate a finding of `level` (`very_high` … `very_low`), KEV-listed or not
/// (module docs).
pub fn due_days(level: &str, kev: bool) -> i64 {
    let by_level = match level {
        "very_high" => 15,
        "high" => 30,
        "moderate" => 90,
        "low" => 180,
        _ => 365,
    };
    if kev { by_level.min(14) } else { by_level }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_combine_and_due_dates_follow_the_level() {
        let rules = default_rules();
        let cwes = vec!["CWE-94".to_owned()];
        let matched: Vec<&str> = rules
            .iter()
            .filter(|r| r.matches(&cwes, true, 20, "application"))
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(
            matched,
            [
                "vulnerable component",
                "known exploited (KEV)",
                "very high risk",
                "injection"
            ]
        );
        assert!(!rules[6].matches(&[], false, 5, "application"));
        assert!(rules[6].matches(&[], false, 5, "HOST"));
        assert_eq!(due_days("very_high", false), 15);
        assert_eq!(due_days("high", true), 14);
        assert_eq!(due_days("low", false), 180);
    }
}
