//! RiskAnalysis's side of the boundary: the body of `risk.scored` / `risk.changed`, the findings
//! it carries, and the request/reply "current risk of asset X" (the seed's synchronous call from
//! IncidentResponse), in-process ([`CurrentRisk`]) and over RabbitMQ ([`RiskRequest`] /
//! [`RiskReply`], direct reply-to).
//!
//! | event | body |
//! |---|---|
//! | `risk.scored` | [`AssetRiskEvent`] (an asset scored for the first time, or re-scored without change of its top) |
//! | `risk.changed` | [`AssetRiskEvent`] with `previous_*` set |

use rampart_supervisors::Message;
use serde::{Deserialize, Serialize};

/// Most findings listed in one `risk.scored` / `risk.changed` event (the rest are counted).
pub const MAX_FINDINGS_PER_EVENT: usize = 1000;

/// One finding as events and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FindingView {
    /// Asset key.
    pub asset_key: String,
    /// Vulnerability record id (OSV id, GHSA id or CVE id).
    pub vulnerability: String,
    /// CVE ids of the vulnerability.
    pub cves: Vec<String>,
    /// CWE ids of the vulnerability.
    pub cwes: Vec<String>,
    /// Component name.
    pub component: String,
    /// Component version.
    pub component_version: Option<String>,
    /// Component purl.
    pub purl: Option<String>,
    /// Component CPE.
    pub cpe: Option<String>,
    /// Listed in CISA KEV (known exploited).
    pub kev: bool,
    /// Likelihood 1..=5 (SP 800-30 Table G-5 scale).
    pub likelihood: u8,
    /// Impact 1..=5 (SP 800-30 Table H-3 scale).
    pub impact: u8,
    /// Likelihood × impact, 1..=25.
    pub score: u8,
    /// `very_low`, `low`, `moderate`, `high`, `very_high`.
    pub level: String,
    /// `high` (ecosystem ordering or exact version) or `low` (generic ordering).
    pub confidence: String,
    /// The vulnerability's one-line summary.
    pub summary: String,
    /// How the score was computed, one sentence per factor.
    pub rationale: Vec<String>,
    /// Stable identity of the finding across re-scorings (32 hex digits), the key of its
    /// analysis, treatment and timeline routes.
    #[serde(default)]
    pub finding_key: String,
    /// Its analysis (CycloneDX VEX terms), `None` while never decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<FindingAnalysis>,
    /// Decided `not_affected` or `false_positive`: left out of scores, incident rules and
    /// report totals, shown with the `analysis` filter.
    #[serde(default)]
    pub suppressed: bool,
    /// CISA SSVC decision: `Track`, `Track*`, `Attend` or `Act`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssvc: Option<String>,
    /// Active risk treatment (ISO/IEC 27005): `mitigate`, `accept`, `transfer`, `avoid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment: Option<String>,
}

/// The analysis of a finding (CycloneDX `vulnerabilities[].analysis`) and who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FindingAnalysis {
    /// `in_triage`, `exploitable`, `false_positive`, `not_affected`, `resolved`.
    pub state: String,
    /// CycloneDX justification (`code_not_reachable` ...), for `not_affected`.
    pub justification: Option<String>,
    /// CycloneDX responses (`will_not_fix`, `update` ...).
    pub responses: Vec<String>,
    /// Detail text.
    pub detail: Option<String>,
    /// Who: a principal's `sub`, or `vex:<document id>`.
    pub by: String,
    /// When the deciding statement was made, RFC 3339 UTC.
    pub at: String,
    /// The deciding statement's id.
    pub statement: i64,
}

/// Body of `risk.scored` and `risk.changed`: an asset's findings after scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssetRiskEvent {
    /// Asset key.
    pub asset_key: String,
    /// Asset criticality 1..=5.
    pub criticality: u8,
    /// Number of findings.
    pub finding_count: usize,
    /// Highest score, 0 without findings.
    pub max_score: u8,
    /// Findings listed in CISA KEV.
    pub kev_count: usize,
    /// Highest score before this scoring (`risk.changed` only), 0 without findings.
    #[serde(default)]
    pub previous_max_score: u8,
    /// Number of findings before (`risk.changed` only).
    #[serde(default)]
    pub previous_finding_count: usize,
    /// Findings, highest score first, at most [`MAX_FINDINGS_PER_EVENT`].
    pub findings: Vec<FindingView>,
}

/// An asset's current risk: its findings' aggregate and the top findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssetRisk {
    /// Asset key.
    pub asset_key: String,
    /// Asset name.
    pub name: String,
    /// Criticality 1..=5.
    pub criticality: u8,
    /// Number of findings.
    pub finding_count: u64,
    /// Findings listed in CISA KEV.
    pub kev_count: u64,
    /// Highest score (0 without findings).
    pub max_score: u8,
    /// Level of the highest finding (`none` without findings).
    pub level: String,
    /// Up to 10 findings, highest score first.
    pub top: Vec<FindingView>,
    /// When RiskAnalysis last updated the asset (RFC 3339 UTC).
    pub updated_at: String,
}

/// The current risk of an asset (by key): `None` when RiskAnalysis does not know it.
#[derive(Debug, Clone)]
pub struct CurrentRisk {
    /// Asset key.
    pub asset_key: String,
}

impl Message for CurrentRisk {
    type Reply = Result<Option<AssetRisk>, String>;

    fn redeliverable(&self) -> Option<Self> {
        Some(self.clone())
    }
}

/// A request of "current risk of asset X" over RabbitMQ: `{"asset_key": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RiskRequest {
    /// Asset key.
    pub asset_key: String,
}

/// Its answer: `{"ok": AssetRisk | null}` or `{"error": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskReply {
    /// The asset's risk (`null`: not known).
    Ok(Option<AssetRisk>),
    /// Why it could not be answered.
    Error(String),
}

/// The register's figures for a report (RiskAnalysis's read side).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RiskFigures {
    /// Current findings.
    pub total: u64,
    /// KEV-listed current findings.
    pub kev: u64,
    /// Current findings by level (`very_high` … `very_low`, every level present).
    pub by_level: std::collections::BTreeMap<String, u64>,
    /// The 10 highest findings.
    pub top: Vec<FindingView>,
    /// Risks accepted and not expired (ISO/IEC 27005 retention), soonest expiry first, at
    /// most 1,000.
    #[serde(default)]
    pub accepted: Vec<AcceptedRisk>,
}

/// A risk accepted (retained) with its rationale and expiry, as reports list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AcceptedRisk {
    /// The finding's key.
    pub finding_key: String,
    /// Its asset.
    pub asset_key: String,
    /// Its vulnerability.
    pub vulnerability: String,
    /// Why it is accepted.
    pub rationale: String,
    /// Who accepted it.
    pub accepted_by: String,
    /// When the acceptance ends, RFC 3339 UTC.
    pub expires_at: String,
}
