//! Audit pages: the hash-chained audit log (filters by principal, operation and period; cursor
//! paging with `after`), the chain's verification, and the downloads an auditor takes away —
//! each framework's report (JSON, CSV, or HTML opened in the browser) and a link to the risk
//! register as SARIF (`/console/risks.sarif`, served by [`super::pages`]). Everything is the
//! API's answer ([`crate::api::audit`]).
//!
//! | method | path | permission |
//! |---|---|---|
//! | GET | `/console/audit?principal=&operation=&since=&until=&after=&limit=` | `audit:read` |
//! | GET | `/console/audit/verify` | `audit:read` |
//! | GET | `/console/reports/{framework}?format=json\|csv\|html&from=&to=` | `reports:read` |
//!
//! `since` and `until` take an RFC 3339 instant or what a `datetime-local` field sends
//! (`2026-12-03T18:55[:02]`, read as UTC) or a date (`2026-12-03`, midnight UTC).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use maud::{Markup, html};
use serde_json::Value;

use super::incidents::{href, str_of};
use super::report::fmt_time;
use super::{api_json, can, page, problem_page, secure_headers};
use crate::api::ServiceState;
use crate::api::audit::{self as api, AuditQuery, ReportQuery};
use crate::auth::{Permission as P, Routes};

/// Entries per page when the query does not say.
const LIMIT: u64 = 50;

/// A period bound as the API takes it (RFC 3339), from an RFC 3339 instant, a `datetime-local`
/// value (UTC) or a date (midnight UTC); `None` for an empty value; anything else as given
/// (the API then says what is wrong with it).
pub fn instant_param(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if DateTime::parse_from_rfc3339(s).is_ok() {
        return Some(s.to_owned());
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    Some(naive.map_or_else(
        || s.to_owned(),
        |n| n.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    ))
}

/// The value a `datetime-local` field shows for an instant (`2026-12-03T18:55:02`, UTC); the
/// text as given when it is no instant.
fn local_value(instant: &str) -> String {
    DateTime::parse_from_rfc3339(instant).map_or_else(
        |_| instant.to_owned(),
        |t| {
            t.with_timezone(&Utc)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
        },
    )
}

/// `s` cut to `n` characters.
fn short(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// The audit page's filters, as the console's query gives them (empty ones `None`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Filters {
    principal: Option<String>,
    operation: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: u64,
}

impl Filters {
    /// The filters kept by the paging links (`limit` included).
    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("principal", self.principal.clone().unwrap_or_default()),
            ("operation", self.operation.clone().unwrap_or_default()),
            ("since", self.since.clone().unwrap_or_default()),
            ("until", self.until.clone().unwrap_or_default()),
            ("limit", self.limit.to_string()),
        ]
    }
}

/// The next page's link: entries after `last_seq`, the filters kept; `None` when this page was
/// not full (nothing further matched).
pub fn next_page_href(
    params: &[(&str, String)],
    shown: usize,
    limit: u64,
    last_seq: Option<i64>,
) -> Option<String> {
    let last = last_seq?;
    if (shown as u64) < limit {
        return None;
    }
    let mut all = params.to_vec();
    all.push(("after", last.to_string()));
    Some(href("/console/audit", &all))
}

/// One entry's summary columns: (principal, operation, status) of an `api.called` entry.
fn call_columns(event: &Value) -> (String, String, String) {
    let body = &event["body"];
    (
        str_of(&body["principal"], "sub").to_owned(),
        str_of(body, "operation").to_owned(),
        body["status"]
            .as_u64()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    )
}

/// `GET /console/audit`.
async fn log(state: web::Data<ServiceState>, req: HttpRequest) -> HttpResponse {
    let raw = match web::Query::<std::collections::HashMap<String, String>>::from_query(
        req.query_string(),
    ) {
        Ok(q) => q.into_inner(),
        Err(e) => return problem_page(&req, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let text = |k: &str| {
        raw.get(k)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let number = |k: &str| text(k).map(|s| s.parse::<u64>());
    let (after, limit) = match (number("after"), number("limit")) {
        (Some(Err(_)), _) | (_, Some(Err(_))) => {
            return problem_page(
                &req,
                StatusCode::BAD_REQUEST,
                "after and limit are whole numbers",
            );
        }
        (a, l) => (
            a.and_then(Result::ok).unwrap_or(0),
            l.and_then(Result::ok).unwrap_or(LIMIT).clamp(1, 1000),
        ),
    };
    let filters = Filters {
        principal: text("principal"),
        operation: text("operation"),
        since: text("since").and_then(|s| instant_param(&s)),
        until: text("until").and_then(|s| instant_param(&s)),
        limit,
    };
    let q = AuditQuery {
        after: Some(i64::try_from(after).unwrap_or(i64::MAX)),
        limit: Some(limit),
        principal: filters.principal.clone(),
        operation: filters.operation.clone(),
        since: filters.since.clone(),
        until: filters.until.clone(),
    };
    let (entries, problem) =
        match api_json(api::audit_log(state.clone(), req.clone(), web::Query(q)).await).await {
            Ok(v) => (v.as_array().cloned().unwrap_or_default(), None),
            Err((_, d)) => (Vec::new(), Some(d)),
        };
    let frameworks = if can(&req, P::ReportsRead) {
        api_json(crate::api::controls::frameworks(state, req.clone()).await)
            .await
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let params = filters.params();
    let next = next_page_href(
        &params,
        entries.len(),
        limit,
        entries.last().and_then(|e| e["seq"].as_i64()),
    );
    let body = html! {
        section.card #audit-verify {
            h2 { "Chain" }
            p.muted { "Every entry carries the hash of the one before it: recomputing the chain shows whether an entry was edited, removed or the log truncated." }
            form.inline method="get" action="/console/audit/verify" {
                button.btn #audit-verify-button type="submit" { "Verify chain" }
            }
        }
        (filter_form(&filters))
        @if let Some(p) = &problem {
            p."flash flash-error" #audit-error { (p) }
        }
        @if entries.is_empty() && problem.is_none() {
            p.muted #audit-none { "No entry matches." }
        } @else if !entries.is_empty() {
            table.data #audit-table {
                thead { tr {
                    th.num { "Seq" } th { "Time" } th { "Event" } th { "Principal" } th { "Operation" }
                    th.num { "Status" } th { "Node" } th { "Hash" } th { "Entry" }
                } }
                tbody {
                    @for e in &entries {
                        @let ev = &e["event"];
                        @let (who, op, status) = call_columns(ev);
                        @let seq = e["seq"].as_i64().unwrap_or_default();
                        tr id={ "audit-" (seq) } {
                            td.num { (seq) }
                            td.nowrap { (fmt_time(str_of(ev, "occurred_at"))) }
                            td.mono { (str_of(e, "event_type")) }
                            td { (who) }
                            td.mono { (op) }
                            td.num { (status) }
                            td { (str_of(e, "source_node")) }
                            td.mono title=(str_of(e, "hash")) { (short(str_of(e, "hash"), 12)) "…" }
                            td {
                                details {
                                    summary { "Show" }
                                    pre.mono { (serde_json::to_string_pretty(ev).unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
        }
        nav.pager #audit-pager aria-label="Pages" {
            @if after > 0 {
                a #audit-first href=(href("/console/audit", &params)) { "⇤ First page" }
            }
            span.pager-info {
                (entries.len()) " entries"
                @if after > 0 { " after seq " (after) }
            }
            @if let Some(n) = &next {
                a #audit-next rel="next" href=(n) { "Next page →" }
            }
        }
        @if can(&req, P::ReportsRead) || can(&req, P::RisksRead) {
            (downloads(&req, &frameworks))
        }
    };
    page(&req, "Audit", body)
}

fn filter_form(f: &Filters) -> Markup {
    html! {
        form.filters #audit-filters method="get" action="/console/audit" {
            div {
                label for="audit-principal" { "Principal" }
                input #audit-principal type="text" name="principal" placeholder="sub, exactly"
                    value=(f.principal.clone().unwrap_or_default());
            }
            div {
                label for="audit-operation" { "Operation" }
                input #audit-operation type="text" name="operation" placeholder="GET /api/v1/assets/{id}"
                    value=(f.operation.clone().unwrap_or_default());
            }
            div {
                label for="audit-since" { "Since (UTC)" }
                input #audit-since type="datetime-local" step="1" name="since"
                    value=(f.since.as_deref().map(local_value).unwrap_or_default());
            }
            div {
                label for="audit-until" { "Until (UTC)" }
                input #audit-until type="datetime-local" step="1" name="until"
                    value=(f.until.as_deref().map(local_value).unwrap_or_default());
            }
            div {
                label for="audit-limit" { "Per page" }
                input #audit-limit type="number" name="limit" min="1" max="1000" value=(f.limit);
            }
            button.btn #audit-apply type="submit" { "Filter" }
            " " a #audit-clear href="/console/audit" { "Clear" }
        }
    }
}

fn downloads(req: &HttpRequest, frameworks: &[Value]) -> Markup {
    html! {
        section.card #downloads {
            h2 { "Reports and exports" }
            @if can(req, P::ReportsRead) {
                @if frameworks.is_empty() {
                    p.muted #report-none { "No framework is loaded: there is no report to take." }
                } @else {
                    table.data #report-table {
                        thead { tr { th { "Framework" } th { "Report of the last 30 days" } } }
                        tbody {
                            @for f in frameworks {
                                @let id = str_of(f, "id");
                                @let base = format!("/console/reports/{}", super::incidents::seg(id));
                                tr id={ "report-" (id) } {
                                    td { (str_of(f, "name")) " " span.muted.mono { (id) } }
                                    td {
                                        a id={ "report-" (id) "-html" } href={ (base) "?format=html" } { "HTML" }
                                        " · "
                                        a id={ "report-" (id) "-json" } href={ (base) "?format=json" } download { "JSON" }
                                        " · "
                                        a id={ "report-" (id) "-csv" } href={ (base) "?format=csv" } download { "CSV" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can(req, P::RisksRead) {
                p {
                    a #risks-sarif href="/console/risks.sarif" download { "Risk register as SARIF 2.1.0" }
                    span.muted { " (VEX is per asset, on each asset's page)" }
                }
            }
        }
    }
}

/// `GET /console/audit/verify`: the API's verification (200 intact, 409 broken, both with the
/// `Verification` body).
async fn verify(state: web::Data<ServiceState>, req: HttpRequest) -> HttpResponse {
    let resp = match api::audit_verify(state, req.clone()).await {
        Ok(r) => r,
        Err(p) => {
            return problem_page(
                &req,
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                &p.detail,
            );
        }
    };
    let status = resp.status();
    let v: Value = match actix_web::body::to_bytes(resp.into_body()).await {
        Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    if v.is_null() {
        return problem_page(&req, status, "the verification gave no answer");
    }
    let ok = v["ok"].as_bool().unwrap_or(false);
    let entries = v["entries"].as_u64().unwrap_or_default();
    let head = v["head_seq"].as_i64().unwrap_or_default();
    let body = html! {
        @if ok {
            p."flash flash-ok" #audit-verify-result data-ok="true" {
                "The chain is intact: " (entries) " entries checked, up to seq " (head) "."
            }
        } @else {
            p."flash flash-error" #audit-verify-result data-ok="false" {
                "The chain is broken"
                @if let Some(s) = v["first_bad_seq"].as_i64() {
                    " at seq " a #audit-first-bad href={ "/console/audit?after=" ((s - 1).max(0)) "&limit=1" } { (s) }
                }
                ": " (str_of(&v, "problem")) "."
            }
            p.muted { (entries) " entries checked; head seq " (head) "." }
        }
        p { a href="/console/audit" { "← Audit log" } }
    };
    page(&req, "Audit chain verification", body)
}

/// A file name fit for `Content-Disposition`: letters, digits, `.`, `-`, `_` kept, anything
/// else `_`.
fn file_name_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `resp` offered as a download named `name`, with the console's security headers.
fn attachment(mut resp: HttpResponse, name: Option<&str>) -> HttpResponse {
    if let Some(n) = name
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{n}\""))
    {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    secure_headers(resp.headers_mut());
    resp
}

/// `GET /console/reports/{framework}?format=`: the API's report answer as is (content type,
/// body), as a download named `rampart-<framework>-report.<ext>` for JSON and CSV (HTML opens in
/// the browser).
async fn report(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let fw = path.into_inner();
    let q = match web::Query::<ReportQuery>::from_query(req.query_string()) {
        Ok(q) => q.into_inner(),
        Err(e) => return problem_page(&req, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let ext = q.format.clone().unwrap_or_else(|| "json".to_owned());
    match api::report(
        state,
        req.clone(),
        web::Path::from(fw.clone()),
        web::Query(q),
    )
    .await
    {
        Ok(resp) if resp.status().is_success() => {
            let name = format!("rampart-{}-report.{ext}", file_name_part(&fw));
            attachment(resp, (ext != "html").then_some(name.as_str()))
        }
        Ok(resp) => {
            let status = resp.status();
            let detail = api_json(Ok(resp))
                .await
                .err()
                .map_or_else(|| status.to_string(), |(_, d)| d);
            problem_page(&req, status, &detail)
        }
        Err(p) => problem_page(
            &req,
            StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &p.detail,
        ),
    }
}

/// Registers the audit pages and the downloads (each with the permission of the API route it
/// calls).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/console/audit", P::AuditRead, log)
        .get("/console/audit/verify", P::AuditRead, verify)
        .get("/console/reports/{framework}", P::ReportsRead, report);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_from_the_form() {
        assert_eq!(instant_param("  "), None);
        assert_eq!(
            instant_param("2026-12-02T10:00:00+01:00").as_deref(),
            Some("2026-12-02T10:00:00+01:00")
        );
        assert_eq!(
            instant_param("2026-12-03T18:55").as_deref(),
            Some("2026-12-03T18:55:00Z")
        );
        assert_eq!(
            instant_param("2026-12-03T18:55:02").as_deref(),
            Some("2026-12-03T18:55:02Z")
        );
        assert_eq!(
            instant_param("2026-12-03").as_deref(),
            Some("2026-12-03T00:00:00Z")
        );
        assert_eq!(instant_param("yesterday").as_deref(), Some("yesterday"));
        assert_eq!(
            local_value("2026-12-03T19:55:02+01:00"),
            "2026-12-03T18:55:02"
        );
    }

    #[test]
    fn next_page_only_after_a_full_page() {
        let p = vec![
            ("principal", "admin".to_owned()),
            ("operation", String::new()),
            ("limit", "2".to_owned()),
        ];
        assert_eq!(
            next_page_href(&p, 2, 2, Some(41)).as_deref(),
            Some("/console/audit?principal=admin&limit=2&after=41")
        );
        assert_eq!(next_page_href(&p, 1, 2, Some(41)), None);
        assert_eq!(next_page_href(&p, 0, 2, None), None);
    }

    #[test]
    fn download_names_are_header_safe() {
        assert_eq!(file_name_part("nist-csf-2.0"), "nist-csf-2.0");
        assert_eq!(file_name_part("a\"b\r\n/c"), "a_b___c");
        assert_eq!(short("abcdef", 3), "abc");
        assert_eq!(short("ab", 3), "ab");
    }
}
