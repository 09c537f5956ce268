//! What the API edge reports: one [`ApiCall`] per API request (`api.called`), with
//! CloudTrail's record fields (AWS CloudTrail User Guide, "CloudTrail record contents":
//! `eventTime`, `eventName`, `userIdentity`, `sourceIPAddress`, `userAgent`, `requestID`,
//! `requestParameters`, `errorCode`), AuditReporting chains them like every other event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Routing key of [`ApiCall`].
pub const API_CALLED: &str = "api.called";

/// Who called (from the validated token); `None` on a call refused before that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallerIdentity {
    /// Token `sub`.
    pub sub: String,
    /// Token `client_id` (or `azp`/`appid`).
    pub client_id: Option<String>,
    /// Token `iss`.
    pub issuer: String,
    /// Rampart roles of the token.
    pub roles: Vec<String>,
}

/// One API call (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiCall {
    /// The request's id (`X-Request-Id`, echoed in the response).
    pub request_id: String,
    /// When the request arrived, RFC 3339 UTC.
    pub time: String,
    /// The operation: method and route pattern, `GET /api/v1/assets/{id}` (the path itself
    /// when no route matched).
    pub operation: String,
    /// The caller, when a token was validated.
    pub principal: Option<CallerIdentity>,
    /// The client's address (the socket's peer).
    pub source_ip: Option<String>,
    /// `User-Agent`, at most 256 characters.
    pub user_agent: Option<String>,
    /// Path parameters and query parameters (never bodies; values of keys that look like
    /// secrets are replaced by `[redacted]`); at most 32, values at most 256 characters.
    pub parameters: BTreeMap<String, String>,
    /// HTTP status of the answer.
    pub status: u16,
    /// For a refused call: `invalid_token`, `insufficient_scope` (RFC 6750 §3.1); otherwise
    /// `None`.
    pub error_code: Option<String>,
    /// Time to answer, ms.
    pub duration_ms: f64,
    /// The node that answered.
    pub node: String,
    /// How many calls this record stands for: 1, or for a summary of throttled calls (429)
    /// with the same principal, source and operation within one window, their count
    /// (`time` is the first one's, `last_time` the last one's). Absent in a record means 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub repeats: u64,
    /// For a summary (`repeats` > 1): when the last summarised call arrived, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_time: Option<String>,
}

fn one() -> u64 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_one(n: &u64) -> bool {
    *n == 1
}
