//! CISA's Stakeholder-Specific Vulnerability Categorization (SSVC): the "CISA Coordinator"
//! decision model of CISA's *Stakeholder-Specific Vulnerability Categorization Guide*
//! (November 2022), decision table version **2.0.3**, the version CISA's Vulnrichment records
//! carry (`containers.adp[].metrics[].other.content.version`, see
//! [`crate::feeds::vulnrichment`]).
//!
//! # Sources (CERT/CC's SSVC repository, <https://github.com/CERTCC/SSVC>, commit
//! `e3b00a25615845960cec9caa1388064739f17728`, data under its MIT (SEI)-style `data/LICENSE`)
//!
//! * The decision tree, all 36 leaves: `data/csv/cisa/cisa_coordinator_2_0_3.csv` (same content
//!   as `data/json/decision_tables/cisa/cisa_coordinator_2_0_3.json`, key `cisa:DT_CO:2.0.3`).
//!   [`decide`] transcribes it as an explicit `match`, and a test compares every row of a
//!   byte-exact copy of the CSV (`tests/fixtures/cisa_coordinator_2_0_3.csv`) with it.
//! * Mission and well-being impact from mission prevalence and public well-being impact
//!   ([`mission_wellbeing`]): the guide's table as reproduced in the SSVC calculator,
//!   `docs/ssvc-calc/findex.html` ("Determining Mission & Well-being impact value"), which also
//!   fills the one combination (mission prevalence *minimal*, public well-being *material*,
//!   giving *medium*) that the textual definitions of
//!   `data/json/decision_points/ssvc/mission_and_well_being_impact_1_0_0.json` leave out; the
//!   archived computed example `data/schema_examples/archive/Computed-CVE-2014-0751-Coordinator-with-tree.json`
//!   lists the same combinations.
//! * Defaults for unknown values: `docs/_includes/default_automatable_values.md` ("If nothing
//!   is known about Automatable, the safer answer to assume is yes") and
//!   `docs/_includes/default_exploitation_values.md` (exploitation needs no special default:
//!   when no exploit is found the answer is *none*). SSVC gives no default for technical
//!   impact; Rampart assumes *total*, the value that never lowers the decision (the table is
//!   monotonic in every decision point, which a test checks).
//!
//! # Decision points
//!
//! | point | values | Rampart's source |
//! |---|---|---|
//! | Exploitation | none, public PoC, active | *active* when the CVE is in CISA KEV, else Vulnrichment's value, else *none* |
//! | Automatable | no, yes | Vulnrichment, else *yes* (conservative) |
//! | Technical Impact | partial, total | Vulnrichment, else *total* (conservative) |
//! | Mission & Well-being | low, medium, high | the asset's criticality through a [`CriticalityMapping`] |
//!
//! Outcomes ([`Decision`]), from least to most urgent: *Track*, *Track\**, *Attend*, *Act*.

use std::fmt;

use serde::{Deserialize, Serialize};

/// SSVC *Exploitation* (`ssvc:E:1.1.0`): the present state of exploitation of the
/// vulnerability. Serialised as Vulnrichment writes it: `"none"`, `"poc"`, `"active"`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Exploitation {
    /// No evidence of active exploitation and no public proof of concept.
    None,
    /// Public PoC: a typical public proof of concept exists (Metasploit, ExploitDB), or the
    /// vulnerability has a well-known method of exploitation. Also read from `"public poc"`.
    #[serde(alias = "public poc", alias = "public_poc", alias = "public-poc")]
    Poc,
    /// Shared, observable, reliable evidence of exploitation in the wild by real attackers.
    Active,
}

/// SSVC *Automatable* (`ssvc:A:2.0.0`): can an attacker reliably automate steps 1-4 of the
/// kill chain (reconnaissance, weaponization, delivery, exploitation)? `"no"`, `"yes"`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Automatable {
    /// Steps 1-4 cannot be reliably automated.
    No,
    /// Steps 1-4 can be reliably automated.
    Yes,
}

/// SSVC *Technical Impact* (`ssvc:TI:1.0.0`): the control an adversary gains over the
/// vulnerable component. `"partial"`, `"total"`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TechnicalImpact {
    /// Limited control over, or information exposure from, the component.
    Partial,
    /// Total control of the component's behaviour, or total disclosure of its information.
    Total,
}

/// CISA *Mission Prevalence* (`cisa:MP:1.0.0`): how the vulnerable component relates to
/// mission essential functions (MEFs). `"minimal"`, `"support"`, `"essential"`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MissionPrevalence {
    /// Neither support nor essential: used, but not for MEFs.
    Minimal,
    /// Only supports MEFs.
    Support,
    /// Directly provides capabilities that constitute at least one MEF.
    Essential,
}

/// SSVC *Public Well-Being Impact* (`ssvc:PWI:1.1.0`): the harm exploitation may do to the
/// public (physical, environmental, financial, psychological). `"minimal"`, `"material"`,
/// `"irreversible"`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PublicWellBeing {
    /// Below the threshold of every aspect of *material*.
    Minimal,
    /// Any one of: injuries, operator or system safety margins lost, major externalities,
    /// bankruptcy of multiple persons, widespread psychological harm.
    Material,
    /// Any one of: multiple fatalities likely, total loss of a cyber-physical system, extreme
    /// externalities, destabilized social systems.
    Irreversible,
}

/// SSVC *Mission and Well-Being Impact* (`ssvc:MWI:1.0.0`), the combination of
/// [`MissionPrevalence`] and [`PublicWellBeing`] ([`mission_wellbeing`]). `"low"`,
/// `"medium"`, `"high"`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MissionWellBeing {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// A CISA SSVC decision (`cisa:CISA:1.1.0`), ordered from least to most urgent:
/// `Track < Track* < Attend < Act`. Serialised exactly as `"Track"`, `"Track*"`, `"Attend"`,
/// `"Act"`.
///
/// Meanings, from the guide: *Track*: no action required at this time, remediate within
/// standard update timelines; *Track\**: contains specific characteristics that may require
/// closer monitoring for changes, remediate within standard timelines; *Attend*: requires
/// attention from the organization's internal, supervisory-level individuals, remediate sooner
/// than standard timelines; *Act*: requires attention from supervisory and leadership levels,
/// remediate as soon as possible.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Decision {
    /// `"Track"`.
    Track,
    /// `"Track*"`.
    #[serde(rename = "Track*")]
    TrackStar,
    /// `"Attend"`.
    Attend,
    /// `"Act"`.
    Act,
}

impl Decision {
    /// The serialised name: `"Track"`, `"Track*"`, `"Attend"` or `"Act"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Track => "Track",
            Decision::TrackStar => "Track*",
            Decision::Attend => "Attend",
            Decision::Act => "Act",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! labels {
    ($ty:ty { $($variant:ident => $label:literal $(| $alias:literal)*),+ $(,)? }) => {
        impl $ty {
            /// The label as Vulnrichment and the SSVC tables write it (lower case).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)+
                }
            }

            /// Parses a label, ASCII case-insensitive, surrounding blanks ignored; `None` for
            /// anything else.
            pub fn from_label(s: &str) -> Option<Self> {
                let s = s.trim();
                $(
                    if s.eq_ignore_ascii_case($label) $(|| s.eq_ignore_ascii_case($alias))* {
                        return Some(Self::$variant);
                    }
                )+
                None
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

labels!(Exploitation {
    None => "none",
    Poc => "poc" | "public poc" | "public_poc" | "public-poc",
    Active => "active",
});
labels!(Automatable { No => "no", Yes => "yes" });
labels!(TechnicalImpact { Partial => "partial", Total => "total" });
labels!(MissionPrevalence { Minimal => "minimal", Support => "support", Essential => "essential" });
labels!(PublicWellBeing { Minimal => "minimal", Material => "material", Irreversible => "irreversible" });
labels!(MissionWellBeing { Low => "low", Medium => "medium", High => "high" });

/// Mission and well-being impact from mission prevalence and public well-being impact, the
/// guide's table (SSVC calculator `docs/ssvc-calc/findex.html`, see the module docs):
///
/// | mission prevalence \ public well-being | minimal | material | irreversible |
/// |---|---|---|---|
/// | minimal | low | medium | high |
/// | support | medium | medium | high |
/// | essential | high | high | high |
pub fn mission_wellbeing(mp: MissionPrevalence, pwb: PublicWellBeing) -> MissionWellBeing {
    use MissionPrevalence as M;
    use MissionWellBeing as W;
    use PublicWellBeing as P;
    match (mp, pwb) {
        (M::Minimal, P::Minimal) => W::Low,
        (M::Minimal, P::Material) => W::Medium,
        (M::Minimal, P::Irreversible) => W::High,
        (M::Support, P::Minimal) => W::Medium,
        (M::Support, P::Material) => W::Medium,
        (M::Support, P::Irreversible) => W::High,
        (M::Essential, P::Minimal) => W::High,
        (M::Essential, P::Material) => W::High,
        (M::Essential, P::Irreversible) => W::High,
    }
}

/// The CISA Coordinator decision, version 2.0.3: all 36 leaves of the tree, transcribed row by
/// row (rows 0..=35 in order) from CERTCC/SSVC `data/csv/cisa/cisa_coordinator_2_0_3.csv` at
/// commit `e3b00a25615845960cec9caa1388064739f17728`. Total: every combination has a decision.
pub fn decide(
    e: Exploitation,
    a: Automatable,
    ti: TechnicalImpact,
    mwb: MissionWellBeing,
) -> Decision {
    use Automatable as A;
    use Decision as D;
    use Exploitation as E;
    use MissionWellBeing as W;
    use TechnicalImpact as T;
    match (e, a, ti, mwb) {
        (E::None, A::No, T::Partial, W::Low) => D::Track, // row 0
        (E::None, A::No, T::Partial, W::Medium) => D::Track, // 1
        (E::None, A::No, T::Partial, W::High) => D::Track, // 2
        (E::None, A::No, T::Total, W::Low) => D::Track,   // 3
        (E::None, A::No, T::Total, W::Medium) => D::Track, // 4
        (E::None, A::No, T::Total, W::High) => D::TrackStar, // 5
        (E::None, A::Yes, T::Partial, W::Low) => D::Track, // 6
        (E::None, A::Yes, T::Partial, W::Medium) => D::Track, // 7
        (E::None, A::Yes, T::Partial, W::High) => D::Attend, // 8
        (E::None, A::Yes, T::Total, W::Low) => D::Track,  // 9
        (E::None, A::Yes, T::Total, W::Medium) => D::Track, // 10
        (E::None, A::Yes, T::Total, W::High) => D::Attend, // 11
        (E::Poc, A::No, T::Partial, W::Low) => D::Track,  // 12
        (E::Poc, A::No, T::Partial, W::Medium) => D::Track, // 13
        (E::Poc, A::No, T::Partial, W::High) => D::TrackStar, // 14
        (E::Poc, A::No, T::Total, W::Low) => D::Track,    // 15
        (E::Poc, A::No, T::Total, W::Medium) => D::TrackStar, // 16
        (E::Poc, A::No, T::Total, W::High) => D::Attend,  // 17
        (E::Poc, A::Yes, T::Partial, W::Low) => D::Track, // 18
        (E::Poc, A::Yes, T::Partial, W::Medium) => D::Track, // 19
        (E::Poc, A::Yes, T::Partial, W::High) => D::Attend, // 20
        (E::Poc, A::Yes, T::Total, W::Low) => D::Track,   // 21
        (E::Poc, A::Yes, T::Total, W::Medium) => D::TrackStar, // 22
        (E::Poc, A::Yes, T::Total, W::High) => D::Attend, // 23
        (E::Active, A::No, T::Partial, W::Low) => D::Track, // 24
        (E::Active, A::No, T::Partial, W::Medium) => D::Track, // 25
        (E::Active, A::No, T::Partial, W::High) => D::Attend, // 26
        (E::Active, A::No, T::Total, W::Low) => D::Track, // 27
        (E::Active, A::No, T::Total, W::Medium) => D::Attend, // 28
        (E::Active, A::No, T::Total, W::High) => D::Act,  // 29
        (E::Active, A::Yes, T::Partial, W::Low) => D::Attend, // 30
        (E::Active, A::Yes, T::Partial, W::Medium) => D::Attend, // 31
        (E::Active, A::Yes, T::Partial, W::High) => D::Act, // 32
        (E::Active, A::Yes, T::Total, W::Low) => D::Attend, // 33
        (E::Active, A::Yes, T::Total, W::Medium) => D::Act, // 34
        (E::Active, A::Yes, T::Total, W::High) => D::Act, // 35
    }
}

/// The mission context of one asset criticality: the two CISA decision points that describe
/// the deployer's situation rather than the vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MissionContext {
    /// How the affected component relates to mission essential functions.
    pub mission_prevalence: MissionPrevalence,
    /// The harm to the public its exploitation may cause.
    pub public_well_being: PublicWellBeing,
}

impl MissionContext {
    /// A context from its two values.
    pub const fn new(
        mission_prevalence: MissionPrevalence,
        public_well_being: PublicWellBeing,
    ) -> Self {
        Self {
            mission_prevalence,
            public_well_being,
        }
    }

    /// Its mission and well-being impact ([`mission_wellbeing`]).
    pub fn mission_wellbeing(self) -> MissionWellBeing {
        mission_wellbeing(self.mission_prevalence, self.public_well_being)
    }
}

/// How an asset's criticality (1 = lowest .. 5 = highest, Rampart's business criticality from
/// the inventory or the criticality rules) maps to SSVC mission prevalence and public
/// well-being impact. Configuration: a table keyed `"1"` to `"5"`, each key optional (missing
/// keys keep the default), e.g. in JSON
/// `{"5": {"mission_prevalence": "essential", "public_well_being": "material"}}`.
///
/// # Default, and why
///
/// | criticality | mission prevalence | public well-being | mission & well-being |
/// |---|---|---|---|
/// | 1 | minimal | minimal | low |
/// | 2 | support | minimal | medium |
/// | 3 | support | material | medium |
/// | 4 | essential | material | high |
/// | 5 | essential | irreversible | high |
///
/// Criticality says how much the organization depends on the asset, which is what mission
/// prevalence asks: the lowest level is not used for mission essential functions (*minimal*),
/// the middle levels support them (*support*), the top two provide them (*essential*). Public
/// well-being cannot be known from criticality alone, so it rises with it at the lowest step
/// that keeps the combination consistent: harm beyond the organization is assumed *minimal* for
/// low-criticality assets, *material* from the middle level on, and *irreversible* only for the
/// most critical assets. The three mission and well-being outcomes are thereby spread over the
/// scale (1 -> low, 2-3 -> medium, 4-5 -> high) and never decrease as criticality rises. An
/// operator of safety-relevant systems should raise public well-being in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CriticalityMapping {
    /// Criticality 1.
    #[serde(rename = "1")]
    pub criticality_1: MissionContext,
    /// Criticality 2.
    #[serde(rename = "2")]
    pub criticality_2: MissionContext,
    /// Criticality 3.
    #[serde(rename = "3")]
    pub criticality_3: MissionContext,
    /// Criticality 4.
    #[serde(rename = "4")]
    pub criticality_4: MissionContext,
    /// Criticality 5.
    #[serde(rename = "5")]
    pub criticality_5: MissionContext,
}

impl Default for CriticalityMapping {
    fn default() -> Self {
        use MissionPrevalence as M;
        use PublicWellBeing as P;
        Self {
            criticality_1: MissionContext::new(M::Minimal, P::Minimal),
            criticality_2: MissionContext::new(M::Support, P::Minimal),
            criticality_3: MissionContext::new(M::Support, P::Material),
            criticality_4: MissionContext::new(M::Essential, P::Material),
            criticality_5: MissionContext::new(M::Essential, P::Irreversible),
        }
    }
}

impl CriticalityMapping {
    /// The context of a criticality 1..=5; `None` outside that range.
    pub fn get(&self, criticality: u8) -> Option<MissionContext> {
        match criticality {
            1 => Some(self.criticality_1),
            2 => Some(self.criticality_2),
            3 => Some(self.criticality_3),
            4 => Some(self.criticality_4),
            5 => Some(self.criticality_5),
            _ => None,
        }
    }
}

/// What is known of a vulnerability's SSVC decision points, typically from its CISA
/// Vulnrichment record ([`crate::feeds::vulnrichment::VulnrichmentRecord`]); `None` = unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsvcInputs {
    /// Exploitation as Vulnrichment assessed it.
    pub exploitation: Option<Exploitation>,
    /// Automatable as Vulnrichment assessed it.
    pub automatable: Option<Automatable>,
    /// Technical impact as Vulnrichment assessed it.
    pub technical_impact: Option<TechnicalImpact>,
}

/// The SSVC decision of one finding, with the values it was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SsvcOutcome {
    /// The decision ([`decide`]).
    pub decision: Decision,
    /// Exploitation used.
    pub exploitation: Exploitation,
    /// Automatable used (the conservative default when unknown).
    pub automatable: Automatable,
    /// Technical impact used (the conservative default when unknown).
    pub technical_impact: TechnicalImpact,
    /// Mission and well-being impact used (from the asset's criticality).
    pub mission_wellbeing: MissionWellBeing,
    /// One English sentence per decision point: its value and where it came from.
    pub rationale: Vec<String>,
    /// `true` when exploitation (KEV or Vulnrichment), automatable and technical impact were
    /// all known; `false` when a default stood in for one of them.
    pub complete: bool,
}

/// The SSVC decision of a finding.
///
/// * Exploitation: *active* if `kev` (the CVE is in CISA's Known Exploited Vulnerabilities
///   catalog, which by definition means exploitation in the wild), else the input's value,
///   else *none* (SSVC's default, `default_exploitation_values.md`).
/// * Automatable: the input's value, else *yes* (SSVC's "safer answer",
///   `default_automatable_values.md`).
/// * Technical impact: the input's value, else *total* (the value that never lowers the
///   decision; SSVC names no default).
/// * Mission and well-being: `criticality` through `mapping`; a criticality outside 1..=5 is
///   clamped into it (0 -> 1, above 5 -> 5) and the rationale says so.
///
/// `complete` is `false` when any of the first three was not known (a default was used); each
/// default is named in `rationale`. Never fails.
pub fn decide_finding(
    inputs: &SsvcInputs,
    kev: bool,
    criticality: u8,
    mapping: &CriticalityMapping,
) -> SsvcOutcome {
    let mut rationale = Vec::with_capacity(5);
    let mut complete = true;

    let exploitation = match (kev, inputs.exploitation) {
        (true, Some(v)) if v != Exploitation::Active => {
            rationale.push(format!(
                "Exploitation active: listed in CISA KEV (known exploited), which supersedes \
                 Vulnrichment's {v}."
            ));
            Exploitation::Active
        }
        (true, _) => {
            rationale.push("Exploitation active: listed in CISA KEV (known exploited).".to_owned());
            Exploitation::Active
        }
        (false, Some(v)) => {
            rationale.push(format!("Exploitation {v}: from CISA Vulnrichment."));
            v
        }
        (false, None) => {
            complete = false;
            rationale.push(
                "Exploitation none: not in CISA KEV and no Vulnrichment assessment (SSVC's \
                 default when no exploit is known)."
                    .to_owned(),
            );
            Exploitation::None
        }
    };

    let automatable = match inputs.automatable {
        Some(v) => {
            rationale.push(format!("Automatable {v}: from CISA Vulnrichment."));
            v
        }
        None => {
            complete = false;
            rationale.push(
                "Automatable yes: unknown (no Vulnrichment assessment), SSVC's conservative \
                 default."
                    .to_owned(),
            );
            Automatable::Yes
        }
    };

    let technical_impact = match inputs.technical_impact {
        Some(v) => {
            rationale.push(format!("Technical impact {v}: from CISA Vulnrichment."));
            v
        }
        None => {
            complete = false;
            rationale.push(
                "Technical impact total: unknown (no Vulnrichment assessment), the conservative \
                 default."
                    .to_owned(),
            );
            TechnicalImpact::Total
        }
    };

    let used = criticality.clamp(1, 5);
    let context = mapping.get(used).unwrap_or(mapping.criticality_3);
    let mission_wellbeing = context.mission_wellbeing();
    let clamped = if used == criticality {
        String::new()
    } else {
        format!(" (criticality {criticality} is outside 1..=5, taken as {used})")
    };
    rationale.push(format!(
        "Mission and well-being {mission_wellbeing}: asset criticality {used}{clamped} maps to \
         mission prevalence {} and public well-being impact {}.",
        context.mission_prevalence, context.public_well_being
    ));

    let decision = decide(
        exploitation,
        automatable,
        technical_impact,
        mission_wellbeing,
    );
    rationale.push(format!(
        "SSVC decision {decision} (CISA Coordinator decision table 2.0.3){}.",
        if complete {
            ""
        } else {
            ", using defaults for unknown decision points"
        }
    ));

    SsvcOutcome {
        decision,
        exploitation,
        automatable,
        technical_impact,
        mission_wellbeing,
        rationale,
        complete,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const ES: [Exploitation; 3] = [Exploitation::None, Exploitation::Poc, Exploitation::Active];
    const AS: [Automatable; 2] = [Automatable::No, Automatable::Yes];
    const TS: [TechnicalImpact; 2] = [TechnicalImpact::Partial, TechnicalImpact::Total];
    const WS: [MissionWellBeing; 3] = [
        MissionWellBeing::Low,
        MissionWellBeing::Medium,
        MissionWellBeing::High,
    ];

    /// A byte-exact copy of CERTCC/SSVC `data/csv/cisa/cisa_coordinator_2_0_3.csv` at commit
    /// e3b00a25615845960cec9caa1388064739f17728 (see tests/fixtures/README.md).
    const CSV: &str = include_str!("../tests/fixtures/cisa_coordinator_2_0_3.csv");

    fn decision_of(label: &str) -> Decision {
        match label {
            "track" => Decision::Track,
            "track*" => Decision::TrackStar,
            "attend" => Decision::Attend,
            "act" => Decision::Act,
            other => panic!("unknown decision {other:?}"),
        }
    }

    #[test]
    fn every_row_of_the_cisa_table_matches() {
        let mut lines = CSV.lines();
        assert_eq!(
            lines.next().unwrap(),
            "row,Exploitation v1.1.0,Automatable v2.0.0,Technical Impact v1.0.0,\
             Mission and Well-Being Impact v1.0.0,CISA Levels v1.1.0 (cisa)"
        );
        let mut seen = std::collections::BTreeSet::new();
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 6, "{line}");
            assert_eq!(f[0], i.to_string());
            let e = Exploitation::from_label(f[1]).unwrap();
            let a = Automatable::from_label(f[2]).unwrap();
            let t = TechnicalImpact::from_label(f[3]).unwrap();
            let w = MissionWellBeing::from_label(f[4]).unwrap();
            assert_eq!(decide(e, a, t, w), decision_of(f[5]), "row {line}");
            assert!(seen.insert((e, a, t, w)), "duplicate row {line}");
        }
        assert_eq!(seen.len(), 36, "the table has all 3*2*2*3 leaves");
    }

    #[test]
    fn the_table_is_monotonic_in_every_decision_point() {
        for &e in &ES {
            for &a in &AS {
                for &t in &TS {
                    for &w in &WS {
                        let d = decide(e, a, t, w);
                        for &e2 in ES.iter().filter(|&&x| x > e) {
                            assert!(decide(e2, a, t, w) >= d);
                        }
                        assert!(decide(e, Automatable::Yes, t, w) >= d);
                        assert!(decide(e, a, TechnicalImpact::Total, w) >= d);
                        for &w2 in WS.iter().filter(|&&x| x > w) {
                            assert!(decide(e, a, t, w2) >= d);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn mission_wellbeing_table() {
        use MissionPrevalence as M;
        use MissionWellBeing as W;
        use PublicWellBeing as P;
        let rows = [
            (M::Minimal, [W::Low, W::Medium, W::High]),
            (M::Support, [W::Medium, W::Medium, W::High]),
            (M::Essential, [W::High, W::High, W::High]),
        ];
        for (m, expected) in rows {
            for (p, w) in [P::Minimal, P::Material, P::Irreversible]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(mission_wellbeing(m, p), w, "{m} {p}");
            }
        }
    }

    #[test]
    fn decisions_serialise_with_the_guides_names_and_order() {
        let all = [
            Decision::Track,
            Decision::TrackStar,
            Decision::Attend,
            Decision::Act,
        ];
        let names: Vec<String> = all
            .iter()
            .map(|d| {
                serde_json::to_value(d)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(names, ["Track", "Track*", "Attend", "Act"]);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        for (d, n) in all.iter().zip(&names) {
            assert_eq!(d.as_str(), n);
            let back: Decision = serde_json::from_value(serde_json::json!(n)).unwrap();
            assert_eq!(back, *d);
        }
        let e: Exploitation = serde_json::from_str("\"public poc\"").unwrap();
        assert_eq!(e, Exploitation::Poc);
        assert_eq!(
            Exploitation::from_label(" ACTIVE "),
            Some(Exploitation::Active)
        );
        assert_eq!(
            TechnicalImpact::from_label("Total"),
            Some(TechnicalImpact::Total)
        );
        assert_eq!(Automatable::from_label("maybe"), None);
    }

    #[test]
    fn default_mapping_and_configuration() {
        let m = CriticalityMapping::default();
        let mwb: Vec<MissionWellBeing> = (1..=5)
            .map(|c| m.get(c).unwrap().mission_wellbeing())
            .collect();
        use MissionWellBeing as W;
        assert_eq!(mwb, [W::Low, W::Medium, W::Medium, W::High, W::High]);
        assert_eq!(m.get(0), None);
        assert_eq!(m.get(6), None);
        // A partial configuration keeps the defaults for the other levels.
        let c: CriticalityMapping = serde_json::from_value(serde_json::json!({
            "5": {"mission_prevalence": "essential", "public_well_being": "material"},
            "1": {"mission_prevalence": "support", "public_well_being": "minimal"}
        }))
        .unwrap();
        assert_eq!(c.criticality_5.public_well_being, PublicWellBeing::Material);
        assert_eq!(c.get(1).unwrap().mission_wellbeing(), W::Medium);
        assert_eq!(c.criticality_3, m.criticality_3);
        // Unknown keys and values are configuration errors.
        assert!(
            serde_json::from_value::<CriticalityMapping>(serde_json::json!({"6": {}})).is_err()
        );
        assert!(
            serde_json::from_value::<CriticalityMapping>(serde_json::json!({
                "2": {"mission_prevalence": "huge", "public_well_being": "minimal"}
            }))
            .is_err()
        );
    }

    /// The 11 CVEs of /work/shared/data/vulnrichment, their decision points as listed in
    /// shared/data/SOURCES.md ("SSVC / KEV summary"), and the decisions read by hand from the
    /// CISA table (CSV row numbers in the comments) at mission and well-being medium and high.
    pub(crate) const REAL: [(
        &str,
        Exploitation,
        Automatable,
        TechnicalImpact,
        bool,
        Decision,
        Decision,
    ); 11] = {
        use Automatable::{No, Yes};
        use Decision::{Act, Attend, Track, TrackStar};
        use Exploitation::{Active, None as N, Poc};
        use TechnicalImpact::{Partial, Total};
        [
            // (cve, E, A, TI, in KEV, at medium, at high)
            ("CVE-2021-23337", N, Yes, Total, false, Track, Attend), // rows 10, 11
            ("CVE-2021-41773", Active, Yes, Total, true, Act, Act),  // rows 34, 35
            ("CVE-2021-44228", Active, Yes, Total, true, Act, Act),  // rows 34, 35
            ("CVE-2021-44906", N, Yes, Total, false, Track, Attend), // rows 10, 11
            ("CVE-2022-22965", Active, Yes, Total, true, Act, Act),  // rows 34, 35
            ("CVE-2022-41723", N, Yes, Partial, false, Track, Attend), // rows 7, 8
            ("CVE-2022-42889", N, Yes, Total, false, Track, Attend), // rows 10, 11
            ("CVE-2023-45288", N, Yes, Partial, false, Track, Attend), // rows 7, 8
            ("CVE-2023-4863", Active, No, Total, true, Attend, Act), // rows 28, 29
            ("CVE-2024-3094", N, Yes, Total, false, Track, Attend),  // rows 10, 11
            ("CVE-2024-6387", Poc, No, Total, false, TrackStar, Attend), // rows 16, 17
        ]
    };

    #[test]
    fn the_eleven_real_cves_at_medium_and_high() {
        let mapping = CriticalityMapping::default();
        for (cve, e, a, t, kev, medium, high) in REAL {
            assert_eq!(decide(e, a, t, MissionWellBeing::Medium), medium, "{cve}");
            assert_eq!(decide(e, a, t, MissionWellBeing::High), high, "{cve}");
            let inputs = SsvcInputs {
                exploitation: Some(e),
                automatable: Some(a),
                technical_impact: Some(t),
            };
            // Default mapping: criticality 3 is medium, 4 is high.
            let m = decide_finding(&inputs, kev, 3, &mapping);
            assert_eq!(
                (m.decision, m.mission_wellbeing),
                (medium, MissionWellBeing::Medium),
                "{cve}"
            );
            assert!(m.complete);
            let h = decide_finding(&inputs, kev, 4, &mapping);
            assert_eq!(
                (h.decision, h.mission_wellbeing),
                (high, MissionWellBeing::High),
                "{cve}"
            );
        }
    }

    #[test]
    fn kev_wins_and_unknowns_take_conservative_defaults() {
        let mapping = CriticalityMapping::default();
        // CVE-2024-6387 (poc, no, total) were it in KEV: active, no, total at medium = Attend.
        let o = decide_finding(
            &SsvcInputs {
                exploitation: Some(Exploitation::Poc),
                automatable: Some(Automatable::No),
                technical_impact: Some(TechnicalImpact::Total),
            },
            true,
            3,
            &mapping,
        );
        assert_eq!(o.exploitation, Exploitation::Active);
        assert_eq!(o.decision, Decision::Attend);
        assert!(o.complete);
        assert!(o.rationale[0].contains("KEV") && o.rationale[0].contains("poc"));

        // Nothing known, not in KEV: none, yes, total.
        let o = decide_finding(&SsvcInputs::default(), false, 5, &mapping);
        assert_eq!(
            (o.exploitation, o.automatable, o.technical_impact),
            (Exploitation::None, Automatable::Yes, TechnicalImpact::Total)
        );
        assert_eq!(o.decision, Decision::Attend); // row 11
        assert!(!o.complete);
        assert_eq!(o.rationale.len(), 5);
        assert!(o.rationale[1].contains("conservative"));
        assert!(o.rationale[2].contains("conservative"));

        // In KEV, nothing else known: active, yes, total: Act at medium, Attend at low.
        let o = decide_finding(&SsvcInputs::default(), true, 2, &mapping);
        assert_eq!(o.decision, Decision::Act); // row 34
        assert!(!o.complete);
        assert_eq!(
            decide_finding(&SsvcInputs::default(), true, 1, &mapping).decision,
            Decision::Attend
        );

        // Out-of-range criticality is clamped and said so.
        let o = decide_finding(&SsvcInputs::default(), false, 9, &mapping);
        assert_eq!(o.mission_wellbeing, MissionWellBeing::High);
        assert!(o.rationale[3].contains("outside 1..=5"));
        let o = decide_finding(&SsvcInputs::default(), false, 0, &mapping);
        assert_eq!(o.mission_wellbeing, MissionWellBeing::Low);

        // The outcome serialises for storage and back.
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["decision"], "Track");
        assert_eq!(v["automatable"], "yes");
        let back: SsvcOutcome = serde_json::from_value(v).unwrap();
        assert_eq!(back, o);
    }
}
