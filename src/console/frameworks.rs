//! Framework pages: the loaded frameworks with their coverage (a table and a heat map per
//! framework), a framework's controls (paged on the server), and one control with its
//! statement, status, evidence and crosswalk counterparts — and, for a principal holding
//! `controls:edit`, the form that sets its status and evidence. Reads and the status update go
//! through the API's handlers ([`crate::api::controls`]).
//!
//! | method | path | permission |
//! |---|---|---|
//! | GET | `/console/frameworks` | `controls:read` |
//! | GET | `/console/frameworks/{framework}?page=&per_page=` | `controls:read` |
//! | GET | `/console/frameworks/{framework}/controls/{id}` | `controls:read` |
//! | POST | `/console/frameworks/{framework}/controls/{id}/status` (`status`, `evidence` one per line) | `controls:edit` |
//!
//! **The heat map** ([`heat_rows`]) is drawn from what `GET /frameworks/{f}/coverage` returns:
//! the framework's top-level groups (CSF functions, SP 800-53 families, ISO clauses/themes),
//! each with its second-level groups (CSF categories; in SP 800-53 the controls that have
//! enhancements, counting only those). A row is a top-level group; its cells are its
//! second-level groups when those hold every assessable control of the group (CSF 2.0:
//! function → categories), otherwise the row is one cell, the group as a whole (SP 800-53:
//! one cell per family, since a family's base controls sit in no second-level group). Each
//! cell links to the group's page, which shows the group's coverage and its sub-groups.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use rampart_contracts::control::Coverage;
use serde_json::Value;

use super::incidents::{pager, seg, str_of};
use super::report::{fmt_time, human};
use super::{action, api_json, can, page, problem_page, svg, who};
use crate::api::ServiceState;
use crate::api::controls::{self as api, PageQuery, StatusBody};
use crate::auth::{Permission as P, Routes};

/// Controls per page when the query does not say.
const PER_PAGE: u64 = 50;

/// Control statuses in reading order (the values ControlMapping accepts; CSS `status-<s>`).
const STATUSES: [&str; 5] = [
    "implemented",
    "partial",
    "planned",
    "not_assessed",
    "not_applicable",
];

/// The console page of control `id` of framework `fw`.
pub fn control_href(fw: &str, id: &str) -> String {
    format!("/console/frameworks/{}/controls/{}", seg(fw), seg(id))
}

/// The console page of framework `fw` (its controls).
pub fn framework_href(fw: &str) -> String {
    format!("/console/frameworks/{}", seg(fw))
}

/// One heat-map row: its label and its cells `(label, fraction 0..=1, href)`
/// ([`svg::heat_map`]).
pub type HeatRow = (String, Vec<(String, f64, String)>);

/// The heat map's rows of framework `fw`'s coverage (module docs): `(row label, cells)`, each
/// cell `(group id, coverage 0..=1, link to the group's page)`.
pub fn heat_rows(fw: &str, cov: &Coverage) -> Vec<HeatRow> {
    cov.groups
        .iter()
        .map(|g| {
            let in_subgroups: usize = g.groups.iter().map(|s| s.assessable).sum();
            let cells = if !g.groups.is_empty() && in_subgroups == g.assessable {
                g.groups
                    .iter()
                    .map(|s| (s.id.clone(), s.coverage, control_href(fw, &s.id)))
                    .collect()
            } else {
                vec![(g.id.clone(), g.coverage, control_href(fw, &g.id))]
            };
            let label = if g.title.is_empty() || g.title == g.id {
                g.id.clone()
            } else {
                format!("{} · {}", g.id, g.title)
            };
            (label, cells)
        })
        .collect()
}

/// The group `id` anywhere in `cov`'s tree.
fn find_group<'a>(cov: &'a Coverage, id: &str) -> Option<&'a Coverage> {
    cov.groups.iter().find_map(|g| {
        if g.id == id {
            Some(g)
        } else {
            find_group(g, id)
        }
    })
}

/// Evidence entries of the form's textarea: one per line, trimmed, blank lines dropped.
pub fn evidence_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `f` (0..=1) as a whole percentage.
fn pct(f: f64) -> String {
    if f.is_finite() {
        format!("{:.0} %", (f * 100.0).clamp(0.0, 100.0))
    } else {
        "n/a".to_owned()
    }
}

/// A control's assessment as an API answer carries it, when it does: `status` a string or a
/// `StatusView` object (`status`, `evidence`, `updated_by`, `updated_at`); `evidence` an array
/// or a count; `evidence_count` a count.
#[derive(Debug, Default, PartialEq)]
struct Assessed {
    status: Option<String>,
    evidence: Vec<String>,
    evidence_count: Option<u64>,
    updated_by: Option<String>,
    updated_at: Option<String>,
}

fn assessed(v: &Value) -> Assessed {
    let mut a = Assessed::default();
    let strings = |x: &Value| -> Vec<String> {
        x.as_array()
            .map(|e| {
                e.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    match &v["status"] {
        Value::String(s) => a.status = Some(s.clone()),
        o @ Value::Object(_) => {
            a.status = o["status"].as_str().map(str::to_owned);
            a.evidence = strings(&o["evidence"]);
            a.evidence_count = o["evidence"].as_array().map(|e| e.len() as u64);
            a.updated_by = o["updated_by"].as_str().map(str::to_owned);
            a.updated_at = o["updated_at"].as_str().map(str::to_owned);
        }
        _ => {}
    }
    match &v["evidence"] {
        Value::Array(e) => {
            a.evidence = strings(&v["evidence"]);
            a.evidence_count = Some(e.len() as u64);
        }
        Value::Number(n) => a.evidence_count = n.as_u64(),
        _ => {}
    }
    if let Some(n) = v["evidence_count"].as_u64() {
        a.evidence_count = Some(n);
    }
    for k in ["updated_by", "updated_at"] {
        if let Some(s) = v[k].as_str() {
            let slot = if k == "updated_by" {
                &mut a.updated_by
            } else {
                &mut a.updated_at
            };
            slot.get_or_insert_with(|| s.to_owned());
        }
    }
    a
}

/// A control's display label, else its id.
fn label_of(c: &Value) -> &str {
    match str_of(c, "label") {
        "" => str_of(c, "id"),
        l => l,
    }
}

fn status_badge(status: &str) -> Markup {
    html! { span class={ "badge status-" (status) } { (human(status)) } }
}

/// The loaded frameworks (`GET /frameworks`) as JSON objects.
async fn framework_list(
    state: &web::Data<ServiceState>,
    req: &HttpRequest,
) -> Result<Vec<Value>, (StatusCode, String)> {
    api_json(api::frameworks(state.clone(), req.clone()).await)
        .await
        .map(|v| v.as_array().cloned().unwrap_or_default())
}

/// Framework `fw`'s coverage, if it is loaded.
async fn coverage_of(
    state: &web::Data<ServiceState>,
    req: &HttpRequest,
    fw: &str,
) -> Option<Coverage> {
    api_json(api::coverage(state.clone(), req.clone(), web::Path::from(fw.to_owned())).await)
        .await
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
}

/// `GET /console/frameworks`.
async fn overview(state: web::Data<ServiceState>, req: HttpRequest) -> HttpResponse {
    let fws = match framework_list(&state, &req).await {
        Ok(f) => f,
        Err((s, d)) => return problem_page(&req, s, &d),
    };
    let mut rows = Vec::with_capacity(fws.len());
    for f in &fws {
        let id = str_of(f, "id").to_owned();
        let cov = coverage_of(&state, &req, &id).await;
        rows.push((f, id, cov));
    }
    let reports = can(&req, P::ReportsRead);
    let body = html! {
        @if rows.is_empty() {
            p.muted #framework-none {
                "No framework is loaded yet (" code { "POST /api/v1/frameworks/import" } ")."
            }
        } @else {
            table.data #framework-table {
                thead { tr {
                    th { "Framework" } th { "Id" } th { "Version" } th.num { "Nodes" }
                    th.num { "Assessable" } th.num { "Implemented" } th.num { "Partial" } th.num { "Coverage" }
                    @if reports { th { "Report" } }
                } }
                tbody {
                    @for (f, id, cov) in &rows {
                        tr id={ "framework-" (id) } {
                            td { a href=(framework_href(id)) { (str_of(f, "name")) } }
                            td.mono { (id) }
                            td { (str_of(f, "version")) }
                            td.num { (f["controls"].as_i64().unwrap_or_default()) }
                            @if let Some(c) = cov {
                                td.num { (c.assessable) }
                                td.num { (c.by_status.get("implemented").copied().unwrap_or(0)) }
                                td.num { (c.by_status.get("partial").copied().unwrap_or(0)) }
                                td.num { strong { (pct(c.coverage)) } }
                            } @else {
                                td.num.muted { "—" } td.num.muted { "—" } td.num.muted { "—" } td.num.muted { "—" }
                            }
                            @if reports {
                                @let base = format!("/console/reports/{}", seg(id));
                                td.nowrap {
                                    a id={ "framework-" (id) "-report-html" } href={ (base) "?format=html" } { "HTML" }
                                    " · "
                                    a id={ "framework-" (id) "-report-json" } href={ (base) "?format=json" } download { "JSON" }
                                    " · "
                                    a id={ "framework-" (id) "-report-csv" } href={ (base) "?format=csv" } download { "CSV" }
                                }
                            }
                        }
                    }
                }
            }
            @for (f, id, cov) in &rows {
                @if let Some(c) = cov {
                    section.card id={ "coverage-" (id) } {
                        h2 { a href=(framework_href(id)) { (str_of(f, "name")) } " · " (pct(c.coverage)) }
                        div.chart-box {
                            (svg::heat_map(&format!("Coverage of {}", str_of(f, "name")), &heat_rows(id, c)))
                        }
                    }
                }
            }
        }
    };
    page(&req, "Frameworks", body)
}

/// `GET /console/frameworks/{framework}`.
async fn framework(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let fw = path.into_inner();
    let mut q = match web::Query::<PageQuery>::from_query(req.query_string()) {
        Ok(q) => q.into_inner(),
        Err(e) => return problem_page(&req, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let per_page = q.per_page.unwrap_or(PER_PAGE);
    q.per_page = Some(per_page);
    let listed = match api_json(
        api::list_controls(
            state.clone(),
            req.clone(),
            web::Path::from(fw.clone()),
            web::Query(q),
        )
        .await,
    )
    .await
    {
        Ok(v) => v,
        Err((s, d)) => return problem_page(&req, s, &d),
    };
    let name = framework_list(&state, &req)
        .await
        .ok()
        .and_then(|l| {
            l.iter()
                .find(|f| str_of(f, "id") == fw)
                .map(|f| str_of(f, "name").to_owned())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| fw.clone());
    let cov = coverage_of(&state, &req, &fw).await;
    let items = listed["items"].as_array().cloned().unwrap_or_default();
    let page_no = listed["page"].as_u64().unwrap_or(1);
    let total = listed["total"].as_u64().unwrap_or(0);
    let body = html! {
        p { a href="/console/frameworks" { "← All frameworks" } }
        @if let Some(c) = &cov {
            section.card #framework-coverage {
                h2 { "Coverage " (pct(c.coverage)) }
                p.muted { (c.assessable) " assessable controls" }
                div.chart-box {
                    (svg::stacked("Controls by status", &STATUSES.iter().map(|s| {
                        (human(s), c.by_status.get(*s).copied().unwrap_or(0) as f64, format!("status-{s}"))
                    }).collect::<Vec<_>>()))
                }
            }
        }
        table.data #control-table {
            thead { tr {
                th { "Id" } th { "Title" } th { "Kind" } th { "Status" } th.num { "Evidence" }
            } }
            tbody {
                @for c in &items {
                    @let id = str_of(c, "id");
                    @let a = assessed(c);
                    @let assessable = c["assessable"].as_bool().unwrap_or(false);
                    tr id={ "control-" (id) } {
                        td.mono { a href=(control_href(&fw, id)) { (label_of(c)) } }
                        td {
                            a href=(control_href(&fw, id)) { (str_of(c, "title")) }
                            @if c["withdrawn"].as_bool().unwrap_or(false) { " " span.badge.muted { "withdrawn" } }
                        }
                        td { (human(str_of(c, "kind"))) }
                        td {
                            @match (&a.status, assessable) {
                                (Some(s), _) => (status_badge(s)),
                                (None, true) => span.muted { "—" },
                                (None, false) => span.muted { "group" },
                            }
                        }
                        td.num {
                            @match a.evidence_count { Some(n) => (n), None => span.muted { "—" } }
                        }
                    }
                }
            }
        }
        (pager("control-pager", &framework_href(&fw), &[], page_no, per_page, total))
    };
    page(&req, &name, body)
}

/// `GET /console/frameworks/{framework}/controls/{id}`.
async fn control(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (fw, raw) = path.into_inner();
    let v = match api_json(
        api::get_control(
            state.clone(),
            req.clone(),
            web::Path::from((fw.clone(), raw.clone())),
        )
        .await,
    )
    .await
    {
        Ok(v) => v,
        Err((s, d)) => return problem_page(&req, s, &d),
    };
    let c = &v["control"];
    let id = str_of(c, "id").to_owned();
    let assessable = c["assessable"].as_bool().unwrap_or(false);
    let mut a = assessed(&v);
    if a.status.is_none() {
        a = assessed(c);
    }
    let current = a
        .status
        .clone()
        .unwrap_or_else(|| "not_assessed".to_owned());
    let group = if assessable {
        None
    } else {
        coverage_of(&state, &req, &fw)
            .await
            .and_then(|cov| find_group(&cov, &id).cloned())
    };
    let mappings = v["mappings"].as_array().cloned().unwrap_or_default();
    let names: HashMap<String, String> = framework_list(&state, &req)
        .await
        .unwrap_or_default()
        .iter()
        .map(|f| (str_of(f, "id").to_owned(), str_of(f, "name").to_owned()))
        .collect();
    let name_of = |fw: &str| {
        names
            .get(fw)
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| fw.to_owned())
    };
    let edit = assessable && can(&req, P::ControlsEdit);
    let label = label_of(c).to_owned();
    let body = html! {
        p { a href=(framework_href(&fw)) { "← " (name_of(&fw)) } }
        dl.facts #control-facts {
            dt { "Title" } dd #control-title { (str_of(c, "title")) }
            dt { "Framework" } dd { a href=(framework_href(&fw)) { (name_of(&fw)) } }
            dt { "Id" } dd.mono #control-id { (id) }
            dt { "Kind" } dd { (human(str_of(c, "kind"))) @if c["withdrawn"].as_bool().unwrap_or(false) { " " span.badge.muted { "withdrawn" } } }
            @if let Some(p) = c["parent"].as_str() {
                dt { "Part of" } dd { a.mono #control-parent href=(control_href(&fw, p)) { (p) } }
            }
            @if assessable {
                dt { "Status" } dd #control-status {
                    @match &a.status { Some(s) => (status_badge(s)), None => span.muted { "Not recorded" } }
                }
                @if let Some(by) = &a.updated_by {
                    dt { "Set by" } dd #control-updated { (by) @if let Some(at) = &a.updated_at { " · " (fmt_time(at)) } }
                }
            }
        }
        @if let Some(s) = c["statement"].as_str() {
            section #control-statement {
                h2 { "Statement" }
                @for line in s.lines().map(str::trim).filter(|l| !l.is_empty()) { p { (line) } }
            }
        }
        @if let Some(g) = &group {
            section.card #group-coverage {
                h2 { "Coverage of this group " (pct(g.coverage)) }
                p.muted { (g.assessable) " assessable controls: "
                    @for (n, s) in STATUSES.iter().enumerate() {
                        @if n > 0 { ", " }
                        (g.by_status.get(*s).copied().unwrap_or(0)) " " (human(s).to_lowercase())
                    }
                }
                @if !g.groups.is_empty() {
                    table.data #group-table {
                        thead { tr { th { "Group" } th { "Title" } th.num { "Assessable" } th.num { "Coverage" } } }
                        tbody {
                            @for s in &g.groups {
                                tr {
                                    td.mono { a href=(control_href(&fw, &s.id)) { (s.id) } }
                                    td { (s.title) }
                                    td.num { (s.assessable) }
                                    td.num { (pct(s.coverage)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if assessable {
            section #control-evidence {
                h2 { "Evidence" }
                @if a.evidence.is_empty() {
                    p.muted #evidence-none { "None recorded." }
                } @else {
                    ul #evidence-list {
                        @for e in &a.evidence {
                            li {
                                @if e.starts_with("https://") || e.starts_with("http://") {
                                    a href=(e) rel="noopener noreferrer" { (e) }
                                } @else { (e) }
                            }
                        }
                    }
                }
            }
        }
        section #control-crosswalk {
            h2 { "Crosswalk" }
            @if mappings.is_empty() {
                p.muted #crosswalk-none { "No mapping to another framework's controls is loaded." }
            } @else {
                table.data #mapping-table {
                    thead { tr { th { "Framework" } th { "Control" } th { "Title" } th { "Relationship" } } }
                    tbody {
                        @for m in &mappings {
                            @let (mfw, mid) = (str_of(m, "framework"), str_of(m, "control"));
                            tr {
                                td { a href=(framework_href(mfw)) { (name_of(mfw)) } }
                                td.mono { a href=(control_href(mfw, mid)) { (mid) } }
                                td { @match m["title"].as_str() { Some(t) => (t), None => span.muted { "(framework not loaded)" } } }
                                td { (human(str_of(m, "relationship"))) }
                            }
                        }
                    }
                }
            }
        }
        @if edit {
            section.card #control-edit {
                h2 { "Set status" }
                form.stacked #control-status-form method="post"
                    action=(action(&req, &format!("{}/status", control_href(&fw, &id)))) {
                    label for="status-select" { "Status" }
                    select #status-select name="status" required {
                        @for s in STATUSES {
                            option value=(s) selected[current == s] { (human(s)) }
                        }
                    }
                    label for="evidence-input" { "Evidence (one link or reference per line, at most 50)" }
                    textarea #evidence-input name="evidence" rows="5" { (a.evidence.join("\n")) }
                    button.btn #control-status-submit type="submit" { "Save" }
                }
            }
        }
    };
    let title = match str_of(c, "title") {
        "" => label,
        t if t == label || t == id => label,
        t => format!("{label} · {t}"),
    };
    page(&req, &title, body)
}

/// `POST /console/frameworks/{framework}/controls/{id}/status`.
async fn set_status(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (fw, id) = path.into_inner();
    let back = control_href(&fw, &id);
    let f = form.into_inner();
    let status = f
        .get("status")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let done = format!("Status set to {}.", human(&status));
    let body = StatusBody {
        status,
        evidence: evidence_lines(f.get("evidence").map_or("", String::as_str)),
        actor: who(&req).0.map(|p| p.sub),
    };
    let answer = api::set_status(
        state,
        req.clone(),
        web::Path::from((fw, id)),
        web::Json(body),
    )
    .await;
    super::done(&req, &back, answer, &done).await
}

/// Registers the framework pages and the status action (with the permission of the API route
/// it calls).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/console/frameworks", P::ControlsRead, overview)
        .get(
            "/console/frameworks/{framework}",
            P::ControlsRead,
            framework,
        )
        .get(
            "/console/frameworks/{framework}/controls/{id}",
            P::ControlsRead,
            control,
        )
        .post(
            "/console/frameworks/{framework}/controls/{id}/status",
            P::ControlsEdit,
            set_status,
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, assessable: usize, coverage: f64, groups: Vec<Coverage>) -> Coverage {
        Coverage {
            id: id.to_owned(),
            title: format!("{id} title"),
            assessable,
            coverage,
            groups,
            ..Default::default()
        }
    }

    #[test]
    fn rows_split_into_categories_only_when_they_hold_every_control() {
        let cov = group(
            "fw",
            7,
            0.5,
            vec![
                // CSF-like: the function's subcategories all sit in categories.
                group(
                    "GV",
                    3,
                    0.5,
                    vec![
                        group("GV.OC", 2, 1.0, vec![]),
                        group("GV.RM", 1, 0.0, vec![]),
                    ],
                ),
                // SP 800-53-like: only the enhancements sit in second-level groups.
                group("ac", 4, 0.25, vec![group("ac-2", 2, 0.5, vec![])]),
            ],
        );
        let rows = heat_rows("fw", &cov);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, "GV · GV title");
        assert_eq!(
            rows[0].1,
            vec![
                (
                    "GV.OC".to_owned(),
                    1.0,
                    "/console/frameworks/fw/controls/GV.OC".to_owned()
                ),
                (
                    "GV.RM".to_owned(),
                    0.0,
                    "/console/frameworks/fw/controls/GV.RM".to_owned()
                ),
            ]
        );
        assert_eq!(
            rows[1].1,
            vec![(
                "ac".to_owned(),
                0.25,
                "/console/frameworks/fw/controls/ac".to_owned()
            )]
        );
        assert_eq!(find_group(&cov, "ac-2").map(|g| g.assessable), Some(2));
        assert!(find_group(&cov, "zz").is_none());
    }

    #[test]
    fn evidence_is_one_entry_per_line() {
        assert_eq!(
            evidence_lines("https://a/1\r\n\n  ticket 42 \n"),
            vec!["https://a/1".to_owned(), "ticket 42".to_owned()]
        );
        assert!(evidence_lines(" \n").is_empty());
    }

    #[test]
    fn assessment_is_read_from_either_shape() {
        let obj = serde_json::json!({"status": {"status": "partial", "evidence": ["x", "y"], "updated_by": "me", "updated_at": "2026-01-01T00:00:00Z"}});
        let a = assessed(&obj);
        assert_eq!(a.status.as_deref(), Some("partial"));
        assert_eq!(a.evidence_count, Some(2));
        assert_eq!(a.updated_by.as_deref(), Some("me"));
        let flat = serde_json::json!({"status": "implemented", "evidence_count": 3});
        let a = assessed(&flat);
        assert_eq!(a.status.as_deref(), Some("implemented"));
        assert_eq!(a.evidence_count, Some(3));
        assert_eq!(
            assessed(&serde_json::json!({"id": "x"})),
            Assessed::default()
        );
    }
}
