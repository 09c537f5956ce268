//! Incident pages: the list (filters by state, level and asset; counts per state; paged on the
//! server), one incident with its facts and timeline (escalations marked), and — for a principal
//! holding `incidents:respond` — the forms that move it through its lifecycle, assign it and
//! comment on it. Every read and every action goes through the API's own handlers
//! ([`crate::api::incidents`]), so validation, the lifecycle's rules and the audit trail are the
//! API's.
//!
//! | method | path | permission |
//! |---|---|---|
//! | GET | `/console/incidents?state=&level=&asset=&page=&per_page=` | `incidents:read` |
//! | GET | `/console/incidents/{id}` | `incidents:read` |
//! | POST | `/console/incidents/{id}/transition` (`to`, `note`) | `incidents:respond` |
//! | POST | `/console/incidents/{id}/assign` (`assignee`) | `incidents:respond` |
//! | POST | `/console/incidents/{id}/comment` (`text`) | `incidents:respond` |
//!
//! Also the small helpers the console's other pages of this set share: [`href`] (a link keeping
//! filters), [`pager`] (previous/next), [`seg`] (a path segment) and [`str_of`].

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use rampart_incident::store::{LEVELS, STATES, transition_allowed};
use serde_json::Value;

use super::report::{fmt_time, human};
use super::{action, api_json, can, page, problem_page, who};
use crate::api::ServiceState;
use crate::api::incidents::{self as api, AssignBody, CommentBody, IncidentsQuery, TransitionBody};
use crate::auth::{Permission as P, Routes};

/// Incidents per page when the query does not say.
const PER_PAGE: u64 = 25;

/// The states an incident in `current` may move to next, in lifecycle order (the lifecycle's
/// own rule, [`transition_allowed`]); none for `closed` or an unknown state.
pub fn next_states(current: &str) -> Vec<&'static str> {
    STATES
        .iter()
        .copied()
        .filter(|to| transition_allowed(current, to))
        .collect()
}

/// `path` with the non-empty `params` as its query (encoded); `path` alone when none is left.
pub fn href(path: &str, params: &[(&str, String)]) -> String {
    let kept: Vec<(&str, &str)> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    if kept.is_empty() {
        return path.to_owned();
    }
    match serde_urlencoded::to_string(&kept) {
        Ok(q) => format!("{path}?{q}"),
        Err(_) => path.to_owned(),
    }
}

/// Pages of `total` items, `per_page` each (at least 1).
pub fn page_count(total: u64, per_page: u64) -> u64 {
    total.div_ceil(per_page.max(1)).max(1)
}

/// The previous and next pages of page `page` (from 1) of `total` items, `per_page` each:
/// `(previous, next)`, `None` where there is none.
pub fn neighbours(page: u64, per_page: u64, total: u64) -> (Option<u64>, Option<u64>) {
    let last = page_count(total, per_page);
    (
        (page > 1).then(|| (page - 1).min(last)),
        (page < last).then_some(page + 1),
    )
}

/// A `nav.pager` (id `id`) for page `page` of `total` items at `path`: previous and next links
/// keeping `params` (the filters) and `per_page`.
pub fn pager(
    id: &str,
    path: &str,
    params: &[(&str, String)],
    page: u64,
    per_page: u64,
    total: u64,
) -> Markup {
    let (prev, next) = neighbours(page, per_page, total);
    let link = |p: u64| {
        let mut all = params.to_vec();
        all.push(("page", p.to_string()));
        all.push(("per_page", per_page.to_string()));
        href(path, &all)
    };
    html! {
        nav.pager id=(id) aria-label="Pages" {
            @if let Some(p) = prev {
                a id={ (id) "-prev" } rel="prev" href=(link(p)) { "← Previous" }
            }
            span.pager-info {
                "Page " (page) " of " (page_count(total, per_page)) " · " (total) " in all"
            }
            @if let Some(p) = next {
                a id={ (id) "-next" } rel="next" href=(link(p)) { "Next →" }
            }
        }
    }
}

/// `s` as one URL path segment: unreserved characters kept, everything else percent-encoded.
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The string at `v[key]` (`""` when absent or not a string).
pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A non-empty, trimmed form or query value.
fn filled(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The signed-in principal's `sub`: the actor the API records.
fn actor_of(req: &HttpRequest) -> Option<String> {
    who(req).0.map(|p| p.sub)
}

/// The error page of a path that holds no incident id.
fn not_an_id(req: &HttpRequest, raw: &str) -> HttpResponse {
    problem_page(
        req,
        StatusCode::NOT_FOUND,
        &format!("{raw:?} is not an incident id"),
    )
}

fn level_badge(level: &str) -> Markup {
    html! { span class={ "badge lvl-" (level) } { (human(level)) } }
}

fn state_badge(state: &str) -> Markup {
    html! { span class={ "badge state-" (state) } { (human(state)) } }
}

/// `GET /console/incidents`.
async fn list(state: web::Data<ServiceState>, req: HttpRequest) -> HttpResponse {
    let raw = match web::Query::<HashMap<String, String>>::from_query(req.query_string()) {
        Ok(q) => q.into_inner(),
        Err(e) => return problem_page(&req, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    // The API's own query, its empty filters ("any" in the form) left out.
    let mut q = match web::Query::<IncidentsQuery>::from_query(req.query_string()) {
        Ok(q) => q.into_inner(),
        Err(e) => return problem_page(&req, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    q.state = filled(raw.get("state"));
    q.level = filled(raw.get("level"));
    q.asset = filled(raw.get("asset"));
    let per_page = q.per_page.unwrap_or(PER_PAGE);
    q.per_page = Some(per_page);
    let (filter_state, filter_level, filter_asset) =
        (q.state.clone(), q.level.clone(), q.asset.clone());
    let listed = match api_json(api::list(state.clone(), req.clone(), web::Query(q)).await).await {
        Ok(v) => v,
        Err((s, d)) => return problem_page(&req, s, &d),
    };
    // Counts per state under the same level and asset filters (one count query each).
    let mut counts = Vec::with_capacity(STATES.len());
    for s in STATES {
        let cq = IncidentsQuery {
            state: Some((*s).to_owned()),
            asset: filter_asset.clone(),
            level: filter_level.clone(),
            page: Some(1),
            per_page: Some(1),
        };
        let n = api_json(api::list(state.clone(), req.clone(), web::Query(cq)).await)
            .await
            .ok()
            .and_then(|v| v["total"].as_u64())
            .unwrap_or(0);
        counts.push((*s, n));
    }
    let items = listed["items"].as_array().cloned().unwrap_or_default();
    let page_no = listed["page"].as_u64().unwrap_or(1);
    let total = listed["total"].as_u64().unwrap_or(0);
    let fs = filter_state.clone().unwrap_or_default();
    let fl = filter_level.clone().unwrap_or_default();
    let fa = filter_asset.clone().unwrap_or_default();
    let keep = [
        ("state", fs.clone()),
        ("level", fl.clone()),
        ("asset", fa.clone()),
    ];
    let body = html! {
        section.grid.kpis #incident-counts aria-label="Incidents by state" {
            @for (s, n) in &counts {
                a.card.kpi.active[fs == *s] id={ "count-" (s) }
                    href=(href("/console/incidents", &[("state", (*s).to_owned()), ("level", fl.clone()), ("asset", fa.clone())])) {
                    span.kpi-value { (n) }
                    span.kpi-label { (state_badge(s)) }
                }
            }
        }
        form.filters #incident-filters method="get" action="/console/incidents" {
            div {
                label for="filter-state" { "State" }
                select #filter-state name="state" {
                    option value="" selected[fs.is_empty()] { "Any" }
                    @for s in STATES {
                        option value=(s) selected[fs == *s] { (human(s)) }
                    }
                }
            }
            div {
                label for="filter-level" { "Level" }
                select #filter-level name="level" {
                    option value="" selected[fl.is_empty()] { "Any" }
                    @for l in LEVELS {
                        option value=(l) selected[fl == *l] { (human(l)) }
                    }
                }
            }
            div {
                label for="filter-asset" { "Asset" }
                input #filter-asset type="text" name="asset" value=(fa) placeholder="asset key";
            }
            button.btn #filter-apply type="submit" { "Filter" }
            @if !fs.is_empty() || !fl.is_empty() || !fa.is_empty() {
                " " a #filter-clear href="/console/incidents" { "Clear" }
            }
        }
        @if items.is_empty() {
            p.muted #incident-none { "No incident matches." }
        } @else {
            table.data #incident-table {
                thead { tr {
                    th.num { "#" } th { "Title" } th { "Level" } th.num { "Score" } th { "State" }
                    th { "Asset" } th { "Assignee" } th { "Opened" } th { "Updated" }
                } }
                tbody {
                    @for i in &items {
                        @let id = i["id"].as_i64().unwrap_or_default();
                        tr id={ "incident-" (id) } {
                            td.num { a href={ "/console/incidents/" (id) } { (id) } }
                            td { a href={ "/console/incidents/" (id) } { (str_of(i, "title")) } }
                            td { (level_badge(str_of(i, "level"))) }
                            td.num { (i["score"].as_i64().unwrap_or_default()) }
                            td { (state_badge(str_of(i, "state"))) }
                            td.mono { (str_of(i, "asset_key")) }
                            td { @match i["assignee"].as_str() { Some(a) => (a), None => span.muted { "—" } } }
                            td { (fmt_time(str_of(i, "opened_at"))) }
                            td { (fmt_time(str_of(i, "updated_at"))) }
                        }
                    }
                }
            }
        }
        (pager("incident-pager", "/console/incidents", &keep, page_no, per_page, total))
    };
    page(&req, "Incidents", body)
}

/// The asset's current risk as the API answered it (`{value, freshness}` or `{error}`).
fn risk_summary(risk: &Value) -> Markup {
    if let Some(e) = risk.get("error").and_then(Value::as_str) {
        return html! { span.muted { "Unavailable: " (e) } };
    }
    let stale = str_of(risk, "freshness") == "stale";
    let v = &risk["value"];
    html! {
        @if v.is_null() {
            span.muted { "Not known to RiskAnalysis" }
        } @else {
            (level_badge(str_of(v, "level")))
            " max score " (v["max_score"].as_u64().unwrap_or_default())
            " · " (v["finding_count"].as_u64().unwrap_or_default()) " findings"
            " (" (v["kev_count"].as_u64().unwrap_or_default()) " KEV-listed)"
        }
        @if stale {
            " " span.badge.muted title={ "stored " (fmt_time(str_of(risk, "stored_at"))) } { "stale" }
        }
    }
}

/// `GET /console/incidents/{id}`.
async fn detail(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let raw = path.into_inner();
    let Ok(id) = raw.parse::<i64>() else {
        return not_an_id(&req, &raw);
    };
    let v =
        match api_json(api::get(state, req.clone(), web::Path::from(id.to_string())).await).await {
            Ok(v) => v,
            Err((s, d)) => return problem_page(&req, s, &d),
        };
    let inc = &v["incident"];
    let current = str_of(inc, "state");
    let timeline = v["timeline"].as_array().cloned().unwrap_or_default();
    let respond = can(&req, P::IncidentsRespond);
    let next = next_states(current);
    let base = format!("/console/incidents/{id}");
    let body = html! {
        p { a href="/console/incidents" { "← All incidents" } }
        dl.facts #incident-facts {
            dt { "Title" } dd #incident-title { (str_of(inc, "title")) }
            dt { "State" } dd #incident-state { (state_badge(current)) }
            dt { "Level" } dd #incident-level { (level_badge(str_of(inc, "level"))) " score " (inc["score"].as_i64().unwrap_or_default()) }
            dt { "Asset" } dd.mono #incident-asset { (str_of(inc, "asset_key")) }
            dt { "Asset risk now" } dd #incident-risk { (risk_summary(&v["risk"])) }
            dt { "Assignee" } dd #incident-assignee {
                @match inc["assignee"].as_str() { Some(a) => (a), None => span.muted { "Unassigned" } }
            }
            dt { "Cause" } dd.mono #incident-cause { (str_of(inc, "cause_key")) }
            dt { "Opened" } dd #incident-opened { (fmt_time(str_of(inc, "opened_at"))) }
            dt { "Updated" } dd #incident-updated { (fmt_time(str_of(inc, "updated_at"))) }
            @if let Some(c) = inc["closed_at"].as_str() {
                dt { "Closed" } dd #incident-closed { (fmt_time(c)) }
            }
        }
        @if respond {
            section.grid #incident-actions {
                div.card {
                    h2 { "Move" }
                    @if next.is_empty() {
                        p.muted #transition-none { "A closed incident stays closed." }
                    } @else {
                        form.stacked #transition-form method="post" action=(action(&req, &format!("{base}/transition"))) {
                            label for="transition-to" { "To" }
                            select #transition-to name="to" required {
                                @for s in &next { option value=(s) { (human(s)) } }
                            }
                            label for="transition-note" { "Note (optional)" }
                            textarea #transition-note name="note" rows="2" maxlength="65536" {}
                            button.btn #transition-submit type="submit" { "Move" }
                        }
                    }
                }
                div.card {
                    h2 { "Assign" }
                    form.stacked #assign-form method="post" action=(action(&req, &format!("{base}/assign"))) {
                        label for="assign-to" { "Assignee" }
                        input #assign-to type="text" name="assignee" required maxlength="256"
                            value=(inc["assignee"].as_str().unwrap_or(""));
                        button.btn #assign-submit type="submit" { "Assign" }
                    }
                }
                div.card {
                    h2 { "Comment" }
                    form.stacked #comment-form method="post" action=(action(&req, &format!("{base}/comment"))) {
                        label for="comment-text" { "Comment" }
                        textarea #comment-text name="text" rows="3" required maxlength="65536" {}
                        button.btn #comment-submit type="submit" { "Add comment" }
                    }
                }
            }
        }
        h2 { "Timeline" }
        table.data #incident-timeline {
            thead { tr { th { "Time" } th { "What" } th { "Who" } th { "State" } th { "Text" } } }
            tbody {
                @for (n, t) in timeline.iter().enumerate() {
                    @let kind = str_of(t, "kind");
                    @let escalated = kind == "escalated";
                    @let class = if escalated { format!("entry-{kind} escalated") } else { format!("entry-{kind}") };
                    tr id={ "timeline-" (n + 1) } class=(class) {
                        td { (fmt_time(str_of(t, "at"))) }
                        td {
                            @if escalated {
                                span.badge."lvl-very_high" { "⚠ Escalated" }
                            } @else {
                                (human(kind))
                            }
                        }
                        td { (str_of(t, "actor")) }
                        td {
                            @match (t["from_state"].as_str(), t["to_state"].as_str()) {
                                (Some(f), Some(to)) => { (state_badge(f)) " → " (state_badge(to)) }
                                (None, Some(to)) => { "→ " (state_badge(to)) }
                                (Some(f), None) => { (state_badge(f)) " →" }
                                (None, None) => {}
                            }
                        }
                        td { @if let Some(x) = t["text"].as_str() { (x) } }
                    }
                }
            }
        }
    };
    let title = format!("Incident {id}");
    page(&req, &title, body)
}

/// Sends an action's answer back to the incident page ([`super::done`]).
async fn back(
    req: &HttpRequest,
    id: i64,
    answer: Result<HttpResponse, crate::problem::Problem>,
    ok: &str,
) -> HttpResponse {
    super::done(req, &format!("/console/incidents/{id}"), answer, ok).await
}

/// `POST /console/incidents/{id}/transition`.
async fn transition(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let raw = path.into_inner();
    let Ok(id) = raw.parse::<i64>() else {
        return not_an_id(&req, &raw);
    };
    let f = form.into_inner();
    let to = filled(f.get("to")).unwrap_or_default();
    let done = format!("Moved to {}.", human(&to));
    let body = TransitionBody {
        to,
        actor: actor_of(&req),
        note: filled(f.get("note")),
    };
    let answer = api::transition(
        state,
        req.clone(),
        web::Path::from(id.to_string()),
        web::Json(body),
    )
    .await;
    back(&req, id, answer, &done).await
}

/// `POST /console/incidents/{id}/assign`.
async fn assign(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let raw = path.into_inner();
    let Ok(id) = raw.parse::<i64>() else {
        return not_an_id(&req, &raw);
    };
    let assignee = filled(form.get("assignee")).unwrap_or_default();
    let done = format!("Assigned to {assignee}.");
    let body = AssignBody {
        assignee,
        actor: actor_of(&req),
    };
    let answer = api::assign(
        state,
        req.clone(),
        web::Path::from(id.to_string()),
        web::Json(body),
    )
    .await;
    back(&req, id, answer, &done).await
}

/// `POST /console/incidents/{id}/comment`.
async fn comment(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let raw = path.into_inner();
    let Ok(id) = raw.parse::<i64>() else {
        return not_an_id(&req, &raw);
    };
    let body = CommentBody {
        text: form.get("text").cloned().unwrap_or_default(),
        actor: actor_of(&req),
    };
    let answer = api::comment(
        state,
        req.clone(),
        web::Path::from(id.to_string()),
        web::Json(body),
    )
    .await;
    back(&req, id, answer, "Comment added.").await
}

/// Registers the incident pages and actions (each action with the permission of the API route
/// it calls).
pub fn routes(r: &mut Routes<'_>) {
    r.get("/console/incidents", P::IncidentsRead, list)
        .get("/console/incidents/{id}", P::IncidentsRead, detail)
        .post(
            "/console/incidents/{id}/transition",
            P::IncidentsRespond,
            transition,
        )
        .post(
            "/console/incidents/{id}/assign",
            P::IncidentsRespond,
            assign,
        )
        .post(
            "/console/incidents/{id}/comment",
            P::IncidentsRespond,
            comment,
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_states_follow_the_lifecycle() {
        assert_eq!(next_states("detected"), vec!["triaged"]);
        assert_eq!(next_states("triaged"), vec!["contained", "closed"]);
        assert_eq!(next_states("contained"), vec!["eradicated"]);
        assert_eq!(next_states("eradicated"), vec!["recovered"]);
        assert_eq!(next_states("recovered"), vec!["closed"]);
        assert!(next_states("closed").is_empty());
        assert!(next_states("nonsense").is_empty());
    }

    #[test]
    fn every_offered_state_is_one_the_store_accepts() {
        for from in STATES {
            for to in next_states(from) {
                assert!(transition_allowed(from, to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn href_keeps_filled_params_encoded() {
        assert_eq!(href("/console/incidents", &[]), "/console/incidents");
        assert_eq!(
            href(
                "/console/incidents",
                &[("state", String::new()), ("asset", "a b&c".to_owned())]
            ),
            "/console/incidents?asset=a+b%26c"
        );
    }

    #[test]
    fn paging_neighbours() {
        assert_eq!(page_count(0, 25), 1);
        assert_eq!(page_count(25, 25), 1);
        assert_eq!(page_count(26, 25), 2);
        assert_eq!(neighbours(1, 25, 0), (None, None));
        assert_eq!(neighbours(1, 25, 26), (None, Some(2)));
        assert_eq!(neighbours(2, 25, 26), (Some(1), None));
        assert_eq!(neighbours(2, 10, 50), (Some(1), Some(3)));
        // Past the end: back to the last page, nothing further.
        assert_eq!(neighbours(9, 10, 20), (Some(2), None));
    }

    #[test]
    fn pager_links_keep_filters() {
        let m = pager(
            "p",
            "/console/incidents",
            &[("state", "triaged".to_owned())],
            2,
            10,
            35,
        )
        .into_string();
        assert!(
            m.contains("href=\"/console/incidents?state=triaged&amp;page=1&amp;per_page=10\""),
            "{m}"
        );
        assert!(
            m.contains("href=\"/console/incidents?state=triaged&amp;page=3&amp;per_page=10\""),
            "{m}"
        );
        assert!(m.contains("Page 2 of 4"), "{m}");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(seg("ac-2.1"), "ac-2.1");
        assert_eq!(seg("A.5 1/x"), "A.5%201%2Fx");
    }
}
