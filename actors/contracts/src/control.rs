//! ControlMapping's side of the boundary: the bodies of `control.status_changed` and
//! `controls.mapped`, and a framework's coverage (read by AuditReporting's reports).
//!
//! | event | body |
//! |---|---|
//! | `control.status_changed` | [`StatusView`] |
//! | `controls.mapped` | [`ControlsMapped`] |

use serde::{Deserialize, Serialize};

/// A control's status.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusView {
    /// Framework.
    pub framework: String,
    /// Control id.
    pub control_id: String,
    /// `not_assessed`, `planned`, `implemented`, `partial` or `not_applicable`.
    pub status: String,
    /// Evidence links or references.
    pub evidence: Vec<String>,
    /// Who set it.
    pub updated_by: String,
    /// When (RFC 3339 UTC).
    pub updated_at: String,
}

/// Coverage of a set of assessable controls.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Coverage {
    /// Group id (the framework id for the whole).
    pub id: String,
    /// Group title.
    pub title: String,
    /// Assessable controls (withdrawn ones excluded).
    pub assessable: usize,
    /// Count per status (controls without a status count as `not_assessed`).
    pub by_status: std::collections::BTreeMap<String, usize>,
    /// `(implemented + 0.5 × partial) / (assessable − not_applicable)`, 0..=1 (0 when nothing
    /// is applicable).
    pub coverage: f64,
    /// Sub-groups (functions / families, then categories).
    #[schema(no_recursion)]
    pub groups: Vec<Coverage>,
}

/// Body of `controls.mapped`: the SP 800-53 controls mitigating an asset's current findings.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ControlsMapped {
    /// Asset key.
    pub asset_key: String,
    /// Control id -> number of findings it mitigates.
    pub controls: std::collections::BTreeMap<String, usize>,
}
