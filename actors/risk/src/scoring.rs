//! Risk scoring after NIST SP 800-30 Rev. 1, "Guide for Conducting Risk Assessments"
//! (Appendix G: likelihood, Appendix H: impact, Appendix I Table I-2: risk as a combination
//! of likelihood and impact), using the five semi-quantitative levels of those tables:
//! very low = 1, low = 2, moderate = 3, high = 4, very high = 5 ([`Level`]).
//!
//! # Formula (a reviewer can recompute every score from this section)
//!
//! **Vector used.** Among the vulnerability's CVSS vectors that the `cvss` crate parses, the
//! one of the highest version (4.0 > 3.1 > 3.0), the first listed on a tie.
//!
//! **Likelihood L** (Appendix G, likelihood of a threat event initiated by an adversary):
//! 1. Exploitability points `E` from the vector's base metrics (0..=7):
//!    - AV (attack vector): N = 3, A = 2, L = 1, P = 0;
//!    - AC (attack complexity): L = 1, H = 0; for CVSS 4.0, 1 only if AC:L **and** AT:N;
//!    - PR (privileges required): N = 2, L = 1, H = 0;
//!    - UI (user interaction): N = 1, anything else (v3 R, v4 P/A) = 0.
//! 2. `L` from `E`: 0–1 -> 1 (very low), 2–3 -> 2 (low), 4–5 -> 3 (moderate), 6 -> 4 (high),
//!    7 -> 5 (very high). Without a usable vector, `L` = 3 (moderate).
//! 3. EPSS probability `p` (optional, FIRST's Exploit Prediction Scoring System, 0..=1) raises
//!    `L` to at least: 5 if `p` >= 0.5, 4 if `p` >= 0.1, 3 if `p` >= 0.01 (no change below,
//!    or for a value outside 0..=1, which is ignored).
//! 4. In the CISA KEV catalog (known exploited in the wild): `L` = 5.
//!
//! **Impact I** (Appendix H, harm to the organization's assets):
//! 1. Technical impact points `S` = C + I + A with H = 2, L = 1, N = 0 (CVSS 4.0: VC, VI, VA,
//!    the vulnerable system), 0..=6. Technical impact `T`: 0 -> 1, 1–2 -> 2, 3–4 -> 3, 5 -> 4,
//!    6 -> 5; without a usable vector, `T` = 3.
//! 2. `I` = ceil((asset criticality + `T`) / 2), i.e. `(c + T + 1) / 2` in integer
//!    arithmetic: the mean of the asset's value to the mission (criticality 1..=5, given by
//!    the caller) and the technical impact, rounded up.
//!
//! **Risk.** `score` = `L` × `I` (1..=25) and the level from the score: 1–4 very low, 5–9
//! low, 10–14 moderate, 15–19 high, 20–25 very high ([`Level::from_score`]). This numeric
//! banding of the product is used in place of reading Table I-2 cell by cell: it is monotonic
//! in both factors and agrees with Table I-2 at the corners and on the high/very high
//! diagonal (4 × 4 = 16 high, 5 × 5 = 25 very high), but not in every cell, because Table I-2
//! is not a function of L × I: e.g. moderate × moderate = 9 is *low* here and moderate in
//! Table I-2, very high × moderate = 15 is *high* here and moderate in Table I-2.

use std::collections::BTreeMap;
use std::fmt;

use super::feeds::kev::KevCatalog;
use super::model::{CvssVector, Vulnerability};

/// A level of SP 800-30's semi-quantitative scales (Tables G-2, H-3, I-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 1.
    VeryLow = 1,
    /// 2.
    Low = 2,
    /// 3.
    Moderate = 3,
    /// 4.
    High = 4,
    /// 5.
    VeryHigh = 5,
}

impl Level {
    /// The numeric value, 1..=5.
    pub fn value(self) -> u8 {
        self as u8
    }

    /// From a value 1..=5; `None` otherwise.
    pub fn from_value(v: u8) -> Option<Level> {
        match v {
            1 => Some(Level::VeryLow),
            2 => Some(Level::Low),
            3 => Some(Level::Moderate),
            4 => Some(Level::High),
            5 => Some(Level::VeryHigh),
            _ => None,
        }
    }

    /// Risk level of a score `L × I`: 1–4 very low, 5–9 low, 10–14 moderate, 15–19 high,
    /// 20–25 very high; `None` outside 1..=25.
    pub fn from_score(score: u8) -> Option<Level> {
        match score {
            1..=4 => Some(Level::VeryLow),
            5..=9 => Some(Level::Low),
            10..=14 => Some(Level::Moderate),
            15..=19 => Some(Level::High),
            20..=25 => Some(Level::VeryHigh),
            _ => None,
        }
    }

    fn clamp(v: u8) -> Level {
        Level::from_value(v.clamp(1, 5)).unwrap_or(Level::Moderate)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Level::VeryLow => "very low",
            Level::Low => "low",
            Level::Moderate => "moderate",
            Level::High => "high",
            Level::VeryHigh => "very high",
        };
        write!(f, "{name} ({})", self.value())
    }
}

/// What a score is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskInput<'a> {
    /// The vulnerability's CVSS vectors (see "Vector used" in the module docs).
    pub cvss: &'a [CvssVector],
    /// Whether a CVE of the vulnerability is in the CISA KEV catalog.
    pub in_kev: bool,
    /// EPSS probability of exploitation in the next 30 days, 0..=1, if known.
    pub epss: Option<f64>,
    /// Criticality of the affected asset to the organization's mission.
    pub asset_criticality: Level,
}

/// A risk score with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskScore {
    /// Likelihood `L`.
    pub likelihood: Level,
    /// Impact `I`.
    pub impact: Level,
    /// `L × I`, 1..=25.
    pub score: u8,
    /// Level of `score` ([`Level::from_score`]).
    pub level: Level,
    /// One sentence per factor: vector used, exploitability points, EPSS, KEV, technical
    /// impact, criticality, result.
    pub rationale: Vec<String>,
}

/// Base metrics of a CVSS vector string (`"AV" -> "N"`, …) after the `cvss` crate has
/// validated it; `None` if it does not parse.
pub fn cvss_metrics(vector: &str) -> Option<BTreeMap<String, String>> {
    vector.parse::<cvss::Cvss>().ok()?;
    Some(
        vector
            .split('/')
            .skip(1)
            .filter_map(|m| m.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// The vector used for scoring (module docs, "Vector used") with its parsed metrics.
pub fn select_vector(vectors: &[CvssVector]) -> Option<(&CvssVector, BTreeMap<String, String>)> {
    let rank = |v: &str| match v {
        "4.0" => 3,
        "3.1" => 2,
        "3.0" => 1,
        _ => 0,
    };
    let mut best: Option<(&CvssVector, BTreeMap<String, String>)> = None;
    for v in vectors {
        if rank(&v.version) == 0 {
            continue;
        }
        let Some(m) = cvss_metrics(&v.vector) else {
            continue;
        };
        if best
            .as_ref()
            .is_none_or(|(b, _)| rank(&v.version) > rank(&b.version))
        {
            best = Some((v, m));
        }
    }
    best
}

fn metric<'m>(m: &'m BTreeMap<String, String>, key: &str) -> &'m str {
    m.get(key).map_or("", String::as_str)
}

/// Exploitability points `E` (0..=7) of parsed metrics (module docs, likelihood step 1).
pub fn exploitability_points(version: &str, m: &BTreeMap<String, String>) -> u8 {
    let av = match metric(m, "AV") {
        "N" => 3,
        "A" => 2,
        "L" => 1,
        _ => 0,
    };
    let ac = u8::from(metric(m, "AC") == "L" && (version != "4.0" || metric(m, "AT") == "N"));
    let pr = match metric(m, "PR") {
        "N" => 2,
        "L" => 1,
        _ => 0,
    };
    let ui = u8::from(metric(m, "UI") == "N");
    av + ac + pr + ui
}

/// Technical impact points `S` (0..=6) of parsed metrics (module docs, impact step 1).
pub fn impact_points(version: &str, m: &BTreeMap<String, String>) -> u8 {
    let keys: [&str; 3] = if version == "4.0" {
        ["VC", "VI", "VA"]
    } else {
        ["C", "I", "A"]
    };
    keys.iter()
        .map(|k| match metric(m, k) {
            "H" => 2,
            "L" => 1,
            _ => 0,
        })
        .sum()
}

/// Computes a [`RiskScore`] with the formula of the module docs.
pub fn score_risk(input: &RiskInput<'_>) -> RiskScore {
    let mut rationale = Vec::new();
    let selected = select_vector(input.cvss);
    let (mut likelihood, technical) = match &selected {
        Some((v, m)) => {
            let e = exploitability_points(&v.version, m);
            let l = match e {
                0..=1 => 1,
                2..=3 => 2,
                4..=5 => 3,
                6 => 4,
                _ => 5,
            };
            let s = impact_points(&v.version, m);
            let t = match s {
                0 => 1,
                1..=2 => 2,
                3..=4 => 3,
                5 => 4,
                _ => 5,
            };
            rationale.push(format!("CVSS vector used: {}", v.vector));
            rationale.push(format!(
                "exploitability points {e}/7 (AV, AC{}, PR, UI) -> likelihood {}",
                if v.version == "4.0" { "+AT" } else { "" },
                Level::clamp(l)
            ));
            rationale.push(format!(
                "technical impact points {s}/6 ({}) -> technical impact {}",
                if v.version == "4.0" {
                    "VC+VI+VA"
                } else {
                    "C+I+A"
                },
                Level::clamp(t)
            ));
            (l, t)
        }
        None => {
            rationale.push(
                "no usable CVSS v3/v4 vector: likelihood and technical impact default to moderate (3)"
                    .to_owned(),
            );
            (3, 3)
        }
    };
    if let Some(p) = input.epss {
        if (0.0..=1.0).contains(&p) {
            let floor = if p >= 0.5 {
                5
            } else if p >= 0.1 {
                4
            } else if p >= 0.01 {
                3
            } else {
                0
            };
            if floor > likelihood {
                rationale.push(format!(
                    "EPSS {p:.4} raises likelihood to at least {}",
                    Level::clamp(floor)
                ));
                likelihood = floor;
            } else {
                rationale.push(format!("EPSS {p:.4} does not raise likelihood"));
            }
        } else {
            rationale.push(format!("EPSS value {p} outside 0..=1 ignored"));
        }
    }
    if input.in_kev {
        likelihood = 5;
        rationale.push(
            "listed in CISA KEV (exploited in the wild): likelihood very high (5)".to_owned(),
        );
    }
    let likelihood = Level::clamp(likelihood);
    let c = input.asset_criticality.value();
    let impact = Level::clamp((c + technical).div_ceil(2));
    rationale.push(format!(
        "impact = ceil((asset criticality {c} + technical impact {technical}) / 2) = {impact}"
    ));
    let score = likelihood.value() * impact.value();
    let level = Level::from_score(score).unwrap_or(Level::Moderate);
    rationale.push(format!(
        "risk score = likelihood {} x impact {} = {score} -> {level}",
        likelihood.value(),
        impact.value()
    ));
    RiskScore {
        likelihood,
        impact,
        score,
        level,
        rationale,
    }
}

/// Scores a vulnerability on an asset: KEV membership is looked up for the record's CVE ids
/// (its id and CVE aliases) in `kev`, if given.
pub fn score_vulnerability(
    vulnerability: &Vulnerability,
    kev: Option<&KevCatalog>,
    epss: Option<f64>,
    asset_criticality: Level,
) -> RiskScore {
    let in_kev = kev.is_some_and(|k| vulnerability.cve_ids().any(|id| k.contains(id)));
    score_risk(&RiskInput {
        cvss: &vulnerability.cvss,
        in_kev,
        epss,
        asset_criticality,
    })
}
