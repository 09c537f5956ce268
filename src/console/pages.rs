//! The console's overview, risk register, finding, asset and operations pages, and their form
//! actions. Every read and every action goes through the API's own handler
//! ([`super::api_json`]); this module only renders.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde_json::Value;

use super::{
    action, api_json, can, done, page, page_with, problem_page, see_other, svg, with_param,
};
use crate::api::ServiceState;
use crate::auth::{Permission as P, Routes};
use crate::http::AppState;

/// Levels from the most severe (NIST SP 800-30 Table I-2's qualitative scale).
pub const LEVELS: [&str; 5] = ["very_high", "high", "moderate", "low", "very_low"];

/// SSVC deployer decisions, most urgent first (CISA SSVC).
pub const SSVC: [&str; 4] = ["Act", "Attend", "Track*", "Track"];

/// A snake_case value for people (`very_high` → "Very high").
pub fn human(s: &str) -> String {
    let t = s.replace('_', " ");
    let mut c = t.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An RFC 3339 time to the second with its zone ("2026-12-03 18:55:02 UTC"); other text as is.
pub fn when(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t).map_or_else(
        |_| t.to_owned(),
        |d| {
            d.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        },
    )
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn ssvc_class(d: &str) -> String {
    format!(
        "badge ssvc-{}",
        d.to_ascii_lowercase().replace('*', "_star")
    )
}

fn level_badge(l: &str) -> Markup {
    html! { span class=(format!("badge lvl-{l}")) { (human(l)) } }
}

/// The request's query without empty values and without the console's own keys (`flash`,
/// `error`), as the API expects it.
fn api_query(req: &HttpRequest) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && k != "flash" && k != "error")
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// The current query with `page` set to `n`.
fn page_link(req: &HttpRequest, path: &str, n: u64) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&api_query(req)).unwrap_or_default();
    pairs.retain(|(k, _)| k != "page");
    pairs.push(("page".into(), n.to_string()));
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// Previous / next links of a `{page, per_page, total}` answer.
fn pager(req: &HttpRequest, path: &str, v: &Value) -> Markup {
    let page = v["page"].as_u64().unwrap_or(1);
    let per = v["per_page"].as_u64().unwrap_or(50).max(1);
    let total = v["total"].as_u64().unwrap_or(0);
    let pages = total.div_ceil(per).max(1);
    html! {
        nav.pager {
            @if page > 1 { a #prev-page href=(page_link(req, path, page - 1)) { "‹ Previous" } }
            span { "Page " (page) " of " (pages) " · " (total) " in all" }
            @if page < pages { a #next-page href=(page_link(req, path, page + 1)) { "Next ›" } }
        }
    }
}

fn q<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
) -> Result<web::Query<T>, Box<HttpResponse>> {
    web::Query::<T>::from_query(&api_query(req))
        .map_err(|e| Box::new(problem_page(req, StatusCode::BAD_REQUEST, &e.to_string())))
}

fn failed(req: &HttpRequest, (status, detail): (StatusCode, String)) -> HttpResponse {
    problem_page(req, status, &detail)
}

// ---------------------------------------------------------------------------------------------
// Overview

async fn overview(
    state: web::Data<ServiceState>,
    console: web::Data<super::ConsoleState>,
    req: HttpRequest,
) -> HttpResponse {
    let counted = match console.figures.get(&state.db).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "counting the overview's figures");
            return problem_page(
                &req,
                StatusCode::SERVICE_UNAVAILABLE,
                "the figures cannot be counted right now; try again",
            );
        }
    };
    let (counted_at, figures) = (&counted.0, &counted.1);
    let history = super::trends::history(&state.db, 60)
        .await
        .unwrap_or_default();
    let trend = |f: &dyn Fn(&super::trends::Figures) -> f64| -> Vec<(i64, f64)> {
        let mut v: Vec<(i64, f64)> = history.iter().map(|(t, h)| (t.timestamp(), f(h))).collect();
        v.push((counted_at.timestamp(), f(figures)));
        v
    };
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let n = |x: u64| x as f64;
    let by_level: Vec<(String, f64, String)> = LEVELS
        .iter()
        .map(|l| {
            (
                human(l),
                n(*figures.findings_by_level.get(*l).unwrap_or(&0)),
                format!("lvl-{l}"),
            )
        })
        .collect();
    let by_ssvc: Vec<(String, f64, Option<String>)> = SSVC
        .iter()
        .map(|d| {
            (
                (*d).to_owned(),
                n(*figures.findings_by_ssvc.get(*d).unwrap_or(&0)),
                Some(ssvc_class(d).replace("badge ", "")),
            )
        })
        .chain(std::iter::once((
            "Not decided".to_owned(),
            n(*figures.findings_by_ssvc.get("none").unwrap_or(&0)),
            None,
        )))
        .collect();
    let body = html! {
        p.muted #counted-at { "Counted at " (counted_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()) " (counts are reused for up to " (super::trends::FIGURES_TTL.as_secs()) " s)." }
        div.grid #overview {
            section.card #card-findings {
                h2 { "Findings by level" }
                p.big { a href="/console/risks" { (figures.findings) } " open findings" }
                (svg::stacked("Open findings by level", &by_level))
                table.data {
                    tbody { @for l in LEVELS {
                        tr {
                            td { a href=(format!("/console/risks?level={l}")) { (level_badge(l)) } }
                            td.num { (figures.findings_by_level.get(l).unwrap_or(&0)) }
                        }
                    } }
                }
                (svg::sparkline("Open findings over time", &trend(&|f| n(f.findings))))
            }
            section.card #card-ssvc {
                h2 { "Findings by SSVC decision" }
                (svg::bars("Open findings by SSVC decision", &by_ssvc, ""))
                p { @for d in SSVC {
                    a class=(ssvc_class(d)) href=(format!("/console/risks?ssvc={}", super::url_encode(d))) { (d) } " "
                } }
            }
            section.card #card-kev {
                h2 { "Known exploited (KEV)" }
                p.big { a #kev-count href="/console/risks?kev_only=true" { (figures.kev) } }
                (svg::sparkline("KEV-listed findings over time", &trend(&|f| n(f.kev))))
            }
            @if can(&req, P::IncidentsRead) {
                section.card #card-incidents {
                    h2 { "Open incidents by state" }
                    @let items: Vec<(String, f64, Option<String>)> = figures.incidents_by_state.iter()
                        .map(|(k, v)| (human(k), n(*v), Some(format!("state-{k}")))).collect();
                    (svg::bars("Open incidents by state", &items, ""))
                    table.data { tbody { @for (k, v) in &figures.incidents_by_state {
                        tr { td { a href=(format!("/console/incidents?state={k}")) { (human(k)) } } td.num { (v) } }
                    } } }
                    (svg::sparkline("Open incidents over time", &trend(&|f| n(f.incidents_by_state.values().sum()))))
                }
            }
            @if can(&req, P::ControlsRead) {
                section.card #card-coverage {
                    h2 { "Framework coverage" }
                    @let items: Vec<(String, f64, Option<String>)> = figures.coverage.iter()
                        .map(|(k, v)| (k.clone(), v * 100.0, None)).collect();
                    (svg::bars("Coverage per framework", &items, "%"))
                    @for fw in figures.coverage.keys() {
                        @let fw2 = fw.clone();
                        p { a href=(format!("/console/frameworks/{fw}")) { (fw) } }
                        (svg::sparkline(&format!("{fw} coverage over time"), &trend(&move |f: &super::trends::Figures| f.coverage.get(&fw2).copied().unwrap_or(0.0) * 100.0)))
                    }
                }
            }
        }
    };
    page(&req, "Overview", body)
}

// ---------------------------------------------------------------------------------------------
// Risk register and findings

fn select(name: &str, current: Option<&str>, options: &[(&str, String)]) -> Markup {
    html! {
        select name=(name) id=(format!("f-{name}")) {
            @for (value, label) in options {
                option value=(value) selected[current == Some(*value)] { (label) }
            }
        }
    }
}

async fn register(state: web::Data<ServiceState>, req: HttpRequest) -> HttpResponse {
    let query = match q::<crate::api::risks::RisksQuery>(&req) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let cur = |k: &str| -> Option<String> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .ok()?
            .into_iter()
            .find(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v)
    };
    let v = match api_json(crate::api::risks::risks(state, req.clone(), query).await).await {
        Ok(v) => v,
        Err(e) => return failed(&req, e),
    };
    let any = || ("", "Any".to_owned());
    let levels: Vec<(&str, String)> = std::iter::once(any())
        .chain(LEVELS.iter().map(|l| (*l, human(l))))
        .collect();
    let ssvc: Vec<(&str, String)> = std::iter::once(any())
        .chain(SSVC.iter().map(|d| (*d, (*d).to_owned())))
        .collect();
    let analysis: Vec<(&str, String)> = std::iter::once(any())
        .chain(
            [
                "none",
                "in_triage",
                "exploitable",
                "false_positive",
                "not_affected",
                "resolved",
            ]
            .iter()
            .map(|a| (*a, human(a))),
        )
        .collect();
    let treatments: Vec<(&str, String)> = std::iter::once(any())
        .chain(
            ["mitigate", "accept", "transfer", "avoid"]
                .iter()
                .map(|a| (*a, human(a))),
        )
        .collect();
    let sorts: Vec<(&str, String)> = [
        ("score", "Score, highest first"),
        ("score_asc", "Score, lowest first"),
        ("newest", "Newest"),
        ("asset", "Asset"),
        ("vulnerability", "Vulnerability"),
        ("component", "Component"),
    ]
    .iter()
    .map(|(a, b)| (*a, (*b).to_owned()))
    .collect();
    let items = v["items"].as_array().cloned().unwrap_or_default();
    let body = html! {
        form.filters #register-filters method="get" action="/console/risks" {
            label { "Level " (select("level", cur("level").as_deref(), &levels)) }
            label { "SSVC " (select("ssvc", cur("ssvc").as_deref(), &ssvc)) }
            label { "Analysis " (select("analysis", cur("analysis").as_deref(), &analysis)) }
            label { "Treatment " (select("treatment", cur("treatment").as_deref(), &treatments)) }
            label { "Asset " input type="text" name="asset" value=(cur("asset").unwrap_or_default()); }
            label { input type="checkbox" name="kev_only" value="true" checked[cur("kev_only").as_deref() == Some("true")]; " KEV only" }
            label { input type="checkbox" name="include_suppressed" value="true" checked[cur("include_suppressed").as_deref() == Some("true")]; " Suppressed too" }
            label { "Sort " (select("sort", cur("sort").as_deref(), &sorts)) }
            button.btn type="submit" { "Filter" }
        }
        table.data #register-table {
            thead { tr { th.num { "Score" } th { "Level" } th { "Vulnerability" } th { "Component" } th { "Asset" } th { "KEV" } th { "SSVC" } th { "Analysis" } th { "Treatment" } } }
            tbody {
                @for f in &items {
                    tr.finding data-key=(s(&f["finding_key"])) {
                        td.num { (s(&f["score"])) }
                        td { (level_badge(f["level"].as_str().unwrap_or(""))) }
                        td { a href=(format!("/console/findings/{}", s(&f["finding_key"]))) { (s(&f["vulnerability"])) }
                             @if let Some(c) = f["cves"].as_array() { @if !c.is_empty() && c.first() != Some(&f["vulnerability"]) { br; span.muted { (c.iter().map(s).collect::<Vec<_>>().join(", ")) } } } }
                        td.mono { (s(&f["component"])) @if let Some(v) = f["component_version"].as_str() { " " (v) } }
                        td { (s(&f["asset_key"])) }
                        td { @if f["kev"] == true { span.badge.kev { "KEV" } } }
                        td { @if let Some(d) = f["ssvc"].as_str() { span class=(ssvc_class(d)) { (d) } } }
                        td.analysis { @if let Some(a) = f["analysis"]["state"].as_str() { (human(a)) } @else { span.muted { "—" } } }
                        td { @if let Some(t) = f["treatment"].as_str() { (human(t)) } }
                    }
                }
            }
        }
        @if items.is_empty() { p.muted { "No finding matches." } }
        (pager(&req, "/console/risks", &v))
        p { a href="/console/risks.sarif" { "Download the register as SARIF" } }
    };
    page(&req, "Risk register", body)
}

async fn finding(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    key: web::Path<String>,
) -> HttpResponse {
    let key = key.into_inner();
    let v = match api_json(
        crate::api::triage::finding(state, req.clone(), web::Path::from(key.clone())).await,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return failed(&req, e),
    };
    let f = &v["finding"];
    let base = format!("/console/findings/{key}");
    let states: Vec<(&str, String)> = [
        "in_triage",
        "exploitable",
        "false_positive",
        "not_affected",
        "resolved",
    ]
    .iter()
    .map(|a| (*a, human(a)))
    .collect();
    let justifications: Vec<(&str, String)> = std::iter::once(("", "None".to_owned()))
        .chain(
            [
                "code_not_present",
                "code_not_reachable",
                "requires_configuration",
                "requires_dependency",
                "requires_environment",
                "protected_by_compiler",
                "protected_at_runtime",
                "protected_at_perimeter",
                "protected_by_mitigating_control",
            ]
            .iter()
            .map(|a| (*a, human(a))),
        )
        .collect();
    let options: Vec<(&str, String)> = ["mitigate", "transfer", "avoid", "accept"]
        .iter()
        .map(|a| (*a, human(a)))
        .collect();
    let body = html! {
        dl.facts #finding-facts {
            dt { "Vulnerability" } dd.mono { (s(&f["vulnerability"])) }
            dt { "CVEs" } dd { (f["cves"].as_array().map(|c| c.iter().map(s).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
            dt { "Asset" } dd.mono { (s(&f["asset_key"])) }
            dt { "Component" } dd.mono { (s(&f["component"])) " " (s(&f["component_version"])) }
            dt { "Level" } dd #finding-level { (level_badge(f["level"].as_str().unwrap_or(""))) " score " (s(&f["score"])) " (likelihood " (s(&f["likelihood"])) " × impact " (s(&f["impact"])) ")" }
            dt { "KEV" } dd { @if f["kev"] == true { "Yes: known exploited" } @else { "No" } }
            dt { "SSVC" } dd { @if let Some(d) = f["ssvc"].as_str() { span class=(ssvc_class(d)) { (d) } } @else { "—" } }
            dt { "Analysis" } dd #finding-analysis {
                @if let Some(a) = f["analysis"]["state"].as_str() {
                    (human(a))
                    @if let Some(j) = f["analysis"]["justification"].as_str() { " · " (human(j)) }
                    @if let Some(d) = f["analysis"]["detail"].as_str() { " · " (d) }
                    span.muted { " by " (s(&f["analysis"]["by"])) " at " (when(&s(&f["analysis"]["at"]))) }
                } @else { "Not decided" }
            }
            dt { "Treatment" } dd #finding-treatment {
                @if v["treatment"].is_object() {
                    (human(&s(&v["treatment"]["option"]))) " · " (s(&v["treatment"]["rationale"]))
                    @if let Some(x) = v["treatment"]["expires_at"].as_str() { " · until " (when(x)) }
                } @else { "None" }
            }
            dt { "Summary" } dd { (s(&f["summary"])) }
        }
        h2 { "Rationale" }
        ul #finding-rationale { @for r in f["rationale"].as_array().cloned().unwrap_or_default() { li { (s(&r)) } } }
        @if can(&req, P::RisksTriage) {
            div.grid {
                section.card {
                    h2 { "Decide (analysis)" }
                    form #analysis-form method="post" action=(action(&req, &format!("{base}/analysis"))) {
                        label { "State " (select("state", f["analysis"]["state"].as_str(), &states)) }
                        label { "Justification " (select("justification", None, &justifications)) }
                        label { "Detail " input type="text" name="detail" maxlength="2000"; }
                        button.btn #analysis-submit type="submit" { "Record decision" }
                    }
                }
                section.card {
                    h2 { "Risk treatment" }
                    form #treatment-form method="post" action=(action(&req, &format!("{base}/treatment"))) {
                        label { "Option " (select("option", None, &options)) }
                        label { "Rationale " input type="text" name="rationale" maxlength="2000"; }
                        label { "Controls (comma-separated) " input type="text" name="controls"; }
                        label { "Transferred to " input type="text" name="transferred_to"; }
                        label { "Until (RFC 3339) " input type="text" name="expires_at" placeholder="2027-06-30T00:00:00Z"; }
                        button.btn type="submit" { "Record treatment" }
                    }
                }
                @if can(&req, P::RisksAccept) {
                    section.card {
                        h2 { "Accept the risk" }
                        form #acceptance-form method="post" action=(action(&req, &format!("{base}/acceptance"))) {
                            label { "Rationale " input type="text" name="rationale" required maxlength="2000"; }
                            label { "Until (RFC 3339) " input type="text" name="expires_at" required placeholder="2027-06-30T00:00:00Z"; }
                            button.btn.btn-danger type="submit" { "Accept" }
                        }
                    }
                }
            }
        }
        h2 { "History" }
        table.data #finding-history {
            thead { tr { th { "When" } th { "Event" } th { "By" } th { "Change" } } }
            tbody { @for e in v["timeline"].as_array().cloned().unwrap_or_default() {
                tr { td { (when(&s(&e["at"]))) } td { (human(&s(&e["event"]))) } td { (s(&e["actor"])) } td.mono { (compact(&e["change"])) } }
            } }
        }
    };
    page(&req, &format!("Finding {}", s(&f["vulnerability"])), body)
}

/// A JSON value as one short line.
fn compact(v: &Value) -> String {
    let t = match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{}: {}", human(k), s(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => s(other),
    };
    t.chars().take(300).collect()
}

type Form = web::Form<BTreeMap<String, String>>;

/// A form's fields as the API's JSON: empty fields left out, `lists` split on commas.
fn form_json(form: &BTreeMap<String, String>, lists: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in form {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        if lists.contains(&k.as_str()) {
            let items: Vec<Value> = v
                .split([',', '\n'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| Value::String(x.to_owned()))
                .collect();
            m.insert(k.clone(), Value::Array(items));
        } else {
            m.insert(k.clone(), Value::String(v.to_owned()));
        }
    }
    Value::Object(m)
}

/// After an action: back to `back` with a flash, or with the API's error.
fn parse_or_back<T: serde::de::DeserializeOwned>(
    back: &str,
    v: Value,
) -> Result<T, Box<HttpResponse>> {
    serde_json::from_value(v).map_err(|e| {
        Box::new(see_other(&with_param(
            back,
            "error",
            &format!("The form is incomplete: {e}"),
        )))
    })
}

async fn analysis_action(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    key: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let key = key.into_inner();
    let back = format!("/console/findings/{key}");
    let input = match parse_or_back(&back, form_json(&form, &["responses"])) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let answer =
        crate::api::triage::analysis(state, req.clone(), web::Path::from(key), web::Json(input))
            .await;
    done(&req, &back, answer, "Decision recorded.").await
}

async fn treatment_action(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    key: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let key = key.into_inner();
    let back = format!("/console/findings/{key}");
    let input = match parse_or_back(&back, form_json(&form, &["controls"])) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let answer =
        crate::api::triage::treatment(state, req.clone(), web::Path::from(key), web::Json(input))
            .await;
    done(&req, &back, answer, "Treatment recorded.").await
}

async fn acceptance_action(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    key: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let key = key.into_inner();
    let back = format!("/console/findings/{key}");
    let input = match parse_or_back(&back, form_json(&form, &[])) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let answer =
        crate::api::triage::acceptance(state, req.clone(), web::Path::from(key), web::Json(input))
            .await;
    done(&req, &back, answer, "Risk accepted.").await
}

async fn register_sarif(state: web::Data<ServiceState>, req: HttpRequest) -> HttpResponse {
    match crate::api::triage::register_sarif(state, req.clone()).await {
        Ok(mut r) => {
            attach(&mut r, "rampart-register.sarif");
            r
        }
        Err(p) => failed(
            &req,
            (
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY),
                p.detail,
            ),
        ),
    }
}

/// Marks a download.
pub fn attach(r: &mut HttpResponse, filename: &str) {
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&format!(
        "attachment; filename=\"{filename}\""
    )) {
        r.headers_mut()
            .insert(actix_web::http::header::CONTENT_DISPOSITION, v);
    }
}

// ---------------------------------------------------------------------------------------------
// Assets

async fn assets(state: web::Data<ServiceState>, req: HttpRequest) -> HttpResponse {
    let query = match q::<crate::api::assets::AssetsQuery>(&req) {
        Ok(q) => q,
        Err(r) => return *r,
    };
    let v = match api_json(crate::api::assets::list_assets(state, req.clone(), query).await).await {
        Ok(v) => v,
        Err(e) => return failed(&req, e),
    };
    let items = v["items"].as_array().cloned().unwrap_or_default();
    let body = html! {
        form.filters method="get" action="/console/assets" {
            label { "Name " input type="text" name="name"; }
            label { "Owner " input type="text" name="owner"; }
            label { "Kind " (select("kind", None, &[("", "Any".to_owned()), ("host", "Host".into()), ("application", "Application".into()), ("service", "Service".into()), ("cloud_resource", "Cloud resource".into())])) }
            label { input type="checkbox" name="include_retired" value="true"; " Retired too" }
            button.btn type="submit" { "Filter" }
        }
        table.data #asset-table {
            thead { tr { th { "Name" } th { "Kind" } th { "Owner" } th.num { "Criticality" } th { "Source" } th { "Last seen" } } }
            tbody { @for a in &items {
                tr class=[(a["retired"] == true).then_some("retired")] {
                    td { a href=(format!("/console/assets/{}", s(&a["id"]))) { (s(&a["name"])) } @if a["retired"] == true { " " span.badge { "retired" } } }
                    td { (human(&s(&a["kind"]))) } td { (s(&a["owner"])) } td.num { (s(&a["criticality"])) }
                    td { (s(&a["source"])) } td { (when(&s(&a["last_seen"]))) }
                }
            } }
        }
        (pager(&req, "/console/assets", &v))
    };
    page(&req, "Assets", body)
}

async fn asset(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let id = id.into_inner();
    let detail = match api_json(
        crate::api::assets::get_asset(state.clone(), req.clone(), web::Path::from(id.clone()))
            .await,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return failed(&req, e),
    };
    let a = &detail["asset"];
    let risk = if can(&req, P::RisksRead) {
        api_json(
            crate::api::risks::asset_risk(state.clone(), req.clone(), web::Path::from(id.clone()))
                .await,
        )
        .await
        .ok()
    } else {
        None
    };
    let controls = if can(&req, P::ControlsRead) {
        api_json(
            crate::api::controls::asset_controls(
                state.clone(),
                req.clone(),
                web::Path::from(id.clone()),
            )
            .await,
        )
        .await
        .ok()
    } else {
        None
    };
    let versions = api_json(
        crate::api::assets::asset_versions(state.clone(), req.clone(), web::Path::from(id.clone()))
            .await,
    )
    .await
    .unwrap_or(Value::Null);
    let diff = if versions.as_array().is_some_and(|v| v.len() > 1) {
        api_json(
            crate::api::assets::asset_diff(
                state.clone(),
                req.clone(),
                web::Path::from(id.clone()),
                web::Query(crate::api::assets::DiffQuery {
                    from: None,
                    to: None,
                }),
            )
            .await,
        )
        .await
        .ok()
    } else {
        None
    };
    let risk_value = risk.as_ref().map(|r| r.get("value").unwrap_or(r).clone());
    let body = html! {
        dl.facts #asset-facts {
            dt { "Key" } dd.mono { (s(&a["key"])) }
            dt { "Kind" } dd { (human(&s(&a["kind"]))) }
            dt { "Owner" } dd { (s(&a["owner"])) }
            dt { "Criticality" } dd { (s(&a["criticality"])) " of 5" }
            dt { "Tags" } dd { @for t in a["tags"].as_array().cloned().unwrap_or_default() { span.badge { (s(&t)) } " " } }
            dt { "Source" } dd { (s(&a["source"])) }
            dt { "First / last seen" } dd { (when(&s(&a["first_seen"]))) " / " (when(&s(&a["last_seen"]))) }
            dt { "State" } dd { @if a["retired"] == true { "Retired" } @else { "Active" } }
        }
        @if let Some(r) = &risk_value {
            h2 { "Findings" }
            p { (s(&r["finding_count"])) " findings, " (s(&r["kev_count"])) " KEV-listed, highest score " (s(&r["max_score"])) ". "
                a href=(format!("/console/risks?asset={}", super::url_encode(&s(&a["key"])))) { "All in the register" } }
            table.data #asset-findings {
                thead { tr { th.num { "Score" } th { "Level" } th { "Vulnerability" } th { "Component" } } }
                tbody { @for f in r["top"].as_array().or(r["findings"].as_array()).cloned().unwrap_or_default() {
                    tr { td.num { (s(&f["score"])) } td { (level_badge(f["level"].as_str().unwrap_or(""))) }
                         td { a href=(format!("/console/findings/{}", s(&f["finding_key"]))) { (s(&f["vulnerability"])) } }
                         td.mono { (s(&f["component"])) " " (s(&f["component_version"])) } }
                } }
            }
            p { a href=(format!("/console/assets/{id}/vex")) { "Download VEX (CycloneDX)" } " · "
                a href=(format!("/console/assets/{id}/sarif")) { "Download SARIF" } }
        }
        @if let Some(c) = &controls {
            h2 { "Recommended controls" }
            table.data #asset-controls {
                thead { tr { th { "Framework" } th { "Control" } th { "Why" } } }
                tbody { @for c in c.as_array().or(c["items"].as_array()).or(c["controls"].as_array()).cloned().unwrap_or_default().iter().take(50) {
                    tr { td { (s(&c["framework"])) } td { a href=(format!("/console/frameworks/{}/controls/{}", s(&c["framework"]), s(&c["control"]).replace(' ', "%20"))) { (s(&c["control"])) " " (s(&c["title"])) } }
                         td { (s(&c["reason"])) (s(&c["why"])) } }
                } }
            }
        }
        h2 { "Components" }
        table.data #asset-components {
            thead { tr { th { "Name" } th { "Version" } th { "purl / CPE" } } }
            tbody { @for c in detail["components"].as_array().cloned().unwrap_or_default().iter().take(500) {
                tr { td.mono { (s(&c["name"])) } td.mono { (s(&c["version"])) } td.mono { (s(&c["purl"])) " " (s(&c["cpe"])) } }
            } }
        }
        @if let Some(vs) = versions.as_array() {
            h2 { "SBOM history" }
            table.data #asset-versions {
                thead { tr { th.num { "Version" } th { "Imported" } th.num { "Components" } } }
                tbody { @for x in vs { tr { td.num { (s(&x["number"])) } td { (when(&s(&x["imported_at"]))) } td.num { (s(&x["components"])) } } } }
            }
        }
        @if let Some(d) = &diff {
            h2 { "Changes since the previous version" }
            ul #asset-diff {
                @for (k, label) in [("added", "Added"), ("removed", "Removed"), ("changed", "Changed")] {
                    @if let Some(list) = d[k].as_array() { @if !list.is_empty() {
                        li { (label) ": " (list.iter().take(50).map(|c| format!("{} {}", s(&c["name"]), s(&c["version"]).trim())).collect::<Vec<_>>().join(", ")) }
                    } }
                }
            }
        }
    };
    page(&req, &s(&a["name"]), body)
}

async fn asset_vex(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let id = id.into_inner();
    match crate::api::triage::export_vex(
        state,
        req.clone(),
        web::Path::from(id.clone()),
        web::Query(crate::api::triage::ExportQuery { format: None }),
    )
    .await
    {
        Ok(mut r) => {
            attach(&mut r, &format!("rampart-asset-{id}.vex.json"));
            r
        }
        Err(p) => failed(
            &req,
            (
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY),
                p.detail,
            ),
        ),
    }
}

async fn asset_sarif(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let id = id.into_inner();
    match crate::api::triage::asset_sarif(state, req.clone(), web::Path::from(id.clone())).await {
        Ok(mut r) => {
            attach(&mut r, &format!("rampart-asset-{id}.sarif"));
            r
        }
        Err(p) => failed(
            &req,
            (
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY),
                p.detail,
            ),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

fn tree_rows(n: &Value, depth: usize, out: &mut Vec<(usize, Value)>) {
    out.push((depth, n.clone()));
    for c in n["children"].as_array().cloned().unwrap_or_default() {
        tree_rows(&c, depth + 1, out);
    }
}

/// Every circuit breaker from the metrics registry: name → (state, transitions).
fn breakers(app: &AppState) -> BTreeMap<String, (String, u64)> {
    let mut out: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for fam in app.registry.gather() {
        let name = fam.name();
        for m in fam.get_metric() {
            let label = |k: &str| {
                m.get_label()
                    .iter()
                    .find(|l| l.name() == k)
                    .map(|l| l.value().to_owned())
            };
            let Some(b) = label("breaker") else {
                continue;
            };
            if name == "rampart_circuit_breaker_state" {
                #[allow(clippy::cast_possible_truncation)] // a gauge of 0, 1 or 2
                let st = match m.get_gauge().get_value() as i64 {
                    0 => "closed",
                    1 => "open",
                    2 => "half_open",
                    _ => "other",
                };
                out.entry(b).or_insert((String::new(), 0)).0 = st.to_owned();
            } else if name == "rampart_circuit_breaker_transitions_total" {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let n = m.get_counter().get_value() as u64;
                out.entry(b).or_insert((String::new(), 0)).1 += n;
            }
        }
    }
    out
}

async fn operations(
    state: web::Data<ServiceState>,
    app: web::Data<AppState>,
    req: HttpRequest,
) -> HttpResponse {
    let tree = serde_json::to_value(app.root.snapshot()).unwrap_or(Value::Null);
    let mut rows = Vec::new();
    tree_rows(&tree, 0, &mut rows);
    let breakers = breakers(&app);
    let dead =
        api_json(crate::api::operations::list_dead_letters(state.clone(), req.clone()).await)
            .await
            .unwrap_or(Value::Null);
    let runtime_dead = app.dead_letters.list();
    let discovery = api_json(crate::api::discovery::sources(state.clone(), req.clone()).await)
        .await
        .unwrap_or(Value::Null);
    let intel = api_json(crate::api::intel::sources(state.clone(), req.clone()).await)
        .await
        .unwrap_or(Value::Null);
    let nodes = api_json(crate::api::operations::nodes(state.clone(), req.clone()).await)
        .await
        .unwrap_or(Value::Null);
    let queues = api_json(crate::api::operations::queues(app.clone(), req.clone()).await)
        .await
        .unwrap_or(Value::Null);
    let bus = match &app.bus {
        rampart_platform::bus::Bus::InProcess(_) => "in-process",
        b if b.is_connected() => "RabbitMQ, connected",
        _ => "RabbitMQ, disconnected",
    };
    let body = html! {
        dl.facts #node-facts {
            dt { "Node" } dd.mono #node-id { (app.node_id) }
            dt { "Bus" } dd { (bus) }
            dt { "Refreshed" } dd { (chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string()) " (every 5 s)" }
        }
        h2 { "Nodes" }
        @if let Some(list) = nodes.as_array().filter(|l| !l.is_empty()) {
            table.data #nodes {
                thead { tr { th { "Node" } th { "Roles" } th { "State" } th { "Bus" } th { "Version" } th { "Started" } th { "Last heartbeat" } } }
                tbody { @for n in list {
                    tr data-node=(s(&n["id"])) {
                        td.mono { (s(&n["id"])) @if s(&n["id"]) == app.node_id { " " span.muted { "(this node)" } } }
                        td { @for r in n["services"].as_array().map(Vec::as_slice).unwrap_or_default() { span.badge { (s(r)) } " " } }
                        td { span class=(format!("badge node-{}", s(&n["state"]))) { (human(&s(&n["state"]))) } }
                        td { (s(&n["bus"])) }
                        td.mono { (s(&n["version"])) }
                        td { (when(&s(&n["started_at"]))) }
                        td { (when(&s(&n["last_seen"]))) }
                    }
                } }
            }
        } @else { p.muted { "No heartbeat recorded yet." } }
        h2 { "Queues" }
        @if let Some(list) = queues.as_array() {
            @if list.is_empty() { p.muted { "No queue yet." } }
            @else {
                table.data #queues {
                    thead { tr { th { "Queue" } th { "Service" } th { "Kind" } th.num { "Ready" } th.num { "Consumers" } } }
                    tbody { @for q in list {
                        tr data-queue=(s(&q["name"])) {
                            td.mono { (s(&q["name"])) }
                            td { (s(&q["service"])) }
                            td { (human(&s(&q["kind"]))) }
                            td.num { (s(&q["messages"])) @if q["capacity"].is_u64() { "/" (s(&q["capacity"])) } }
                            td.num { @if q["consumers"].is_null() { "–" } @else { (s(&q["consumers"])) } }
                        }
                    } }
                }
            }
        } @else { p.muted #queues-unavailable { "The broker cannot be asked right now." } }
        h2 { "Supervision tree" }
        table.data #supervision-tree {
            thead { tr { th { "Actor" } th { "State" } th.num { "Restarts" } th { "Last failure" } th { "Probes (live/ready/start)" } th.num { "Mailbox" } } }
            tbody { @for (depth, n) in &rows {
                tr data-actor=(s(&n["name"])) {
                    td { span.muted { (" · ".repeat(*depth)) } (s(&n["name"])) }
                    td { span class=(format!("badge state-{}", s(&n["state"]).to_ascii_lowercase())) { (human(&s(&n["state"]).to_ascii_lowercase())) } }
                    td.num.restarts { (s(&n["restarts"])) }
                    td.last-failure { @if n["last_failure"].is_object() { (when(&s(&n["last_failure"]["at"]))) ": " (s(&n["last_failure"]["reason"]).chars().take(160).collect::<String>()) } }
                    td { @for p in ["liveness", "readiness", "startup"] {
                        @let st = &n["probes"][p];
                        @if st.is_null() { "– " } @else { (probe(st)) " " }
                    } }
                    td.num { @if n["mailbox"].is_object() { (s(&n["mailbox"]["depth"])) "/" (s(&n["mailbox"]["capacity"])) } }
                }
            } }
        }
        h2 { "Circuit breakers" }
        table.data #breakers {
            thead { tr { th { "Breaker" } th { "State" } th.num { "Transitions" } } }
            tbody { @for (name, (st, n)) in &breakers {
                tr data-breaker=(name) { td.mono { (name) } td { span class=(format!("badge state-{st}")) { (human(st)) } } td.num { (n) } }
            } }
        }
        @if let Some(list) = discovery.as_array().filter(|l| !l.is_empty()) {
            h2 { "Discovery sources" }
            table.data { thead { tr { th { "Source" } th { "Kind" } th { "Last success" } th { "Last error" } th { "Next run" } th { "Breaker" } } }
                tbody { @for x in list { tr { td { (s(&x["name"])) } td { (s(&x["kind"])) } td { (when(&s(&x["last_success"]))) } td { (s(&x["last_error"])) } td { (when(&s(&x["next_run"]))) } td { span class=(format!("badge state-{}", s(&x["breaker"]))) { (human(&s(&x["breaker"]))) } } } } } }
        }
        @if let Some(list) = intel.as_array().filter(|l| !l.is_empty()) {
            h2 { "Threat-intelligence sources" }
            table.data { thead { tr { th { "Source" } th { "Kind" } th { "Last success" } th { "Last error" } th { "Next run" } th { "Breaker" } } }
                tbody { @for x in list { tr { td { (s(&x["name"])) } td { (s(&x["kind"])) } td { (when(&s(&x["last_success"]))) } td { (s(&x["last_error"])) } td { (when(&s(&x["next_run"]))) } td { span class=(format!("badge state-{}", s(&x["breaker"]))) { (human(&s(&x["breaker"]))) } } } } } }
        }
        h2 { "Dead letters (bus)" }
        @let dl = dead["items"].as_array().or(dead.as_array()).cloned().unwrap_or_default();
        @if dl.is_empty() { p.muted #no-dead-letters { "None." } }
        @else {
            table.data #dead-letters {
                thead { tr { th { "Event" } th { "Service" } th { "Type" } th { "Error" } th.num { "Deliveries" } th { "Dead since" } th {} } }
                tbody { @for d in &dl {
                    tr { td.mono { (s(&d["event_id"])) } td { (s(&d["service"])) } td.mono { (s(&d["event_type"])) } td { (s(&d["error"]).chars().take(160).collect::<String>()) } td.num { (s(&d["deliveries"])) } td { (when(&s(&d["dead_at"]))) @if let Some(r) = d["replayed_at"].as_str() { br; span.muted { "replayed " (when(r)) } } }
                         td { @if can(&req, P::OperationsReplay) {
                             form.inline method="post" action=(action(&req, &format!("/console/operations/dead-letters/{}/{}/replay", s(&d["service"]), s(&d["event_id"])))) { button.btn type="submit" { "Replay" } }
                         } } }
                } }
            }
        }
        h2 { "Dead letters (in-process mailboxes)" }
        p { (runtime_dead.len()) " held." }
    };
    page_with(&req, "Operations", body, Some(5))
}

fn probe(st: &Value) -> Markup {
    let ok = st["ok"]
        .as_bool()
        .or(st["healthy"].as_bool())
        .or(st["passing"].as_bool());
    let fails = s(&st["consecutive_failures"]);
    html! {
        @match ok {
            Some(true) => span.badge.state-closed title=(compact(st)) { "ok" },
            Some(false) => span.badge.state-open title=(compact(st)) { "fail " (fails) },
            None => span.badge title=(compact(st)) { (compact(st).chars().take(24).collect::<String>()) },
        }
    }
}

async fn replay_action(
    state: web::Data<ServiceState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let answer = crate::api::operations::replay_dead_letter(state, req.clone(), path).await;
    done(&req, "/console/operations", answer, "Replayed.").await
}

/// Registers the routes of this module.
pub fn routes(r: &mut Routes<'_>) {
    r.get("/console/", P::RisksRead, overview)
        .get("/console/risks", P::RisksRead, register)
        .get("/console/risks.sarif", P::RisksRead, register_sarif)
        .get("/console/findings/{key}", P::RisksRead, finding)
        .post(
            "/console/findings/{key}/analysis",
            P::RisksTriage,
            analysis_action,
        )
        .post(
            "/console/findings/{key}/treatment",
            P::RisksTriage,
            treatment_action,
        )
        .post(
            "/console/findings/{key}/acceptance",
            P::RisksAccept,
            acceptance_action,
        )
        .get("/console/assets", P::AssetsRead, assets)
        .get("/console/assets/{id}", P::AssetsRead, asset)
        .get("/console/assets/{id}/vex", P::RisksRead, asset_vex)
        .get("/console/assets/{id}/sarif", P::RisksRead, asset_sarif)
        .get("/console/operations", P::OperationsRead, operations)
        .post(
            "/console/operations/dead-letters/{service}/{event_id}/replay",
            P::OperationsReplay,
            replay_action,
        );
}
