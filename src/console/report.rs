//! The HTML rendering of a framework report (`GET /api/v1/reports/{framework}?format=html`):
//! one complete, print-friendly document for an auditor, styled only by the console's
//! stylesheet (`/console/assets/console.css`, no inline style, no script, as the console's
//! Content Security Policy requires) with server-rendered SVG charts ([`super::svg`]).
//!
//! Levels are listed by severity ([`LEVELS`]), snake_case values humanised ([`human`]), times
//! shown to the second in UTC ([`fmt_time`]); every value is escaped by maud.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use rampart_audit::reports::Report;
use rampart_contracts::control::Coverage;

use super::svg;

/// The risk levels by severity, highest first (SP 800-30 qualitative scale, as the register
/// stores them); also the CSS classes `lvl-<level>`.
pub const LEVELS: [&str; 5] = ["very_high", "high", "moderate", "low", "very_low"];

/// Control statuses in reading order (ControlMapping's values); also the CSS classes
/// `status-<status>`.
const STATUSES: [&str; 5] = [
    "implemented",
    "partial",
    "planned",
    "not_assessed",
    "not_applicable",
];

/// Names of the frameworks Rampart ships catalogs for, by framework id.
const FRAMEWORK_NAMES: [(&str, &str); 5] = [
    ("nist-csf-2.0", "NIST Cybersecurity Framework 2.0"),
    ("nist-csf-1.1", "NIST Cybersecurity Framework 1.1"),
    ("nist-sp-800-53-rev5", "NIST SP 800-53 Rev. 5"),
    ("iso27001-2022", "ISO/IEC 27001:2022"),
    ("iso27002-2022", "ISO/IEC 27002:2022"),
];

/// A snake_case value for people: underscores become spaces and the first letter is upper
/// case, the rest is kept (`very_high` → `Very high`, `in_progress` → `In progress`,
/// `KEV` → `KEV`).
pub fn human(s: &str) -> String {
    let spaced = s.trim().replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An RFC 3339 date-time shown to the second in UTC, zone stated
/// (`2026-12-03T18:55:02.123456789+00:00` → `2026-12-03 18:55:02 UTC`; other offsets are
/// converted); anything unparsable is returned as given.
pub fn fmt_time(s: &str) -> String {
    DateTime::parse_from_rfc3339(s.trim()).map_or_else(
        |_| s.to_owned(),
        |t| {
            t.with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        },
    )
}

/// The CSS class of a CISA SSVC decision: `Act` → `ssvc-act`, `Attend` → `ssvc-attend`,
/// `Track*` → `ssvc-track_star`, `Track` → `ssvc-track` (anything else lower-cased, reduced to
/// letters, digits and `_`).
pub fn ssvc_class(decision: &str) -> String {
    format!(
        "ssvc-{}",
        token(&decision.trim().to_lowercase().replace('*', "_star"))
    )
}

/// `s` reduced to a class-name token: ASCII letters, digits, `-` and `_`.
fn token(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// A fragment id for a coverage group (`cov-` and the id as a token, `.` kept as `-`).
fn anchor(group: &str) -> String {
    format!("cov-{}", token(&group.replace(['.', ' '], "-")))
}

/// The framework's name: a known catalog's name, else the root coverage title when it says
/// more than the id, else the id.
fn framework_name(r: &Report) -> String {
    FRAMEWORK_NAMES
        .iter()
        .find(|(id, _)| *id == r.framework)
        .map(|(_, n)| (*n).to_owned())
        .or_else(|| {
            let t = r.coverage.title.trim();
            (!t.is_empty() && t != r.framework).then(|| t.to_owned())
        })
        .unwrap_or_else(|| r.framework.clone())
}

/// Levels by severity, then any unknown level alphabetically.
fn by_severity(m: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = LEVELS
        .iter()
        .filter_map(|l| m.get(*l).map(|n| ((*l).to_owned(), *n)))
        .collect();
    out.extend(
        m.iter()
            .filter(|(l, _)| !LEVELS.contains(&l.as_str()))
            .map(|(l, n)| (l.clone(), *n)),
    );
    out
}

/// Group label: `GV – GOVERN`, or the id alone when the title adds nothing.
fn group_label(g: &Coverage) -> String {
    let t = g.title.trim();
    if t.is_empty() || t == g.id {
        g.id.clone()
    } else {
        format!("{} – {t}", g.id)
    }
}

/// A fraction 0..=1 as a percentage with one decimal (`0.8754` → `87.5%`).
fn percent(f: f64) -> String {
    format!("{}%", svg::fmt_num(f * 100.0))
}

/// Hours with one decimal and thousands separators, days added from two days up; `n/a`
/// without a value.
fn hours(h: Option<f64>) -> String {
    match h {
        Some(h) if h.is_finite() => {
            let s = format!("{h:.1}");
            let (int, frac) = s.split_once('.').unwrap_or((&s, "0"));
            let int = int
                .parse::<f64>()
                .map_or_else(|_| int.to_owned(), svg::fmt_num);
            let int = if h < 0.0 && !int.starts_with('-') {
                format!("-{int}")
            } else {
                int
            };
            if h >= 48.0 {
                format!("{int}.{frac} h ({} d)", svg::fmt_num((h / 24.0).round()))
            } else {
                format!("{int}.{frac} h")
            }
        }
        _ => "n/a".to_owned(),
    }
}

fn status_cells(g: &Coverage, extra: &[String]) -> Markup {
    html! {
        td.num { (g.assessable) }
        @for s in STATUSES.iter().map(|s| (*s).to_owned()).chain(extra.iter().cloned()) {
            td.num { (g.by_status.get(&s).copied().unwrap_or(0)) }
        }
        td.num { strong { (percent(g.coverage)) } }
    }
}

fn coverage_section(r: &Report) -> Markup {
    let cov = &r.coverage;
    // Statuses outside ControlMapping's five, should any appear, get columns too.
    let mut extra: Vec<String> = Vec::new();
    for g in std::iter::once(cov)
        .chain(&cov.groups)
        .chain(cov.groups.iter().flat_map(|g| &g.groups))
    {
        for s in g.by_status.keys() {
            if !STATUSES.contains(&s.as_str()) && !extra.contains(s) {
                extra.push(s.clone());
            }
        }
    }
    extra.sort();
    let bars: Vec<svg::Bar> = cov
        .groups
        .iter()
        .map(|g| (group_label(g), g.coverage * 100.0, None))
        .collect();
    let heat: Vec<svg::HeatRow> = cov
        .groups
        .iter()
        .map(|g| {
            (
                group_label(g),
                g.groups
                    .iter()
                    .map(|c| (c.id.clone(), c.coverage, format!("#{}", anchor(&c.id))))
                    .collect(),
            )
        })
        .collect();
    let has_sub = cov.groups.iter().any(|g| !g.groups.is_empty());
    html! {
        section.card.report-section #coverage {
            h2 { "Coverage" }
            p {
                strong { (percent(cov.coverage)) } " of " (cov.assessable)
                " assessable controls: implemented ones count fully, partial ones half, over the \
                  controls that apply (not applicable ones excluded)."
            }
            figure.chart-box {
                (svg::bars("Coverage by group", &bars, "%"))
            }
            @if has_sub {
                figure.chart-box.chart-wide {
                    (svg::heat_map("Coverage by group and category", &heat))
                }
            }
            table.data {
                caption { "Coverage by group and category" }
                thead {
                    tr {
                        th scope="col" { "Group" }
                        th scope="col" { "Title" }
                        th.num scope="col" { "Assessable" }
                        @for s in STATUSES.iter().map(|s| (*s).to_owned()).chain(extra.iter().cloned()) {
                            th.num scope="col" { (human(&s)) }
                        }
                        th.num scope="col" { "Coverage" }
                    }
                }
                tbody {
                    tr.total {
                        th.mono scope="row" { (r.framework) }
                        td { "All controls" }
                        (status_cells(cov, &extra))
                    }
                    @for g in &cov.groups {
                        tr.group id=(anchor(&g.id)) {
                            th.mono scope="row" { (g.id) }
                            td { (g.title) }
                            (status_cells(g, &extra))
                        }
                        @for c in &g.groups {
                            tr.sub id=(anchor(&c.id)) {
                                th.mono scope="row" { (c.id) }
                                td { (c.title) }
                                (status_cells(c, &extra))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn risks_section(r: &Report) -> Markup {
    let levels = by_severity(&r.risks_by_level);
    let total_by_level: u64 = levels.iter().map(|l| l.1).sum();
    let segments: Vec<svg::Segment> = levels
        .iter()
        .map(|(l, n)| (human(l), *n as f64, format!("lvl-{}", token(l))))
        .collect();
    let items: Vec<svg::Bar> = levels
        .iter()
        .map(|(l, n)| (human(l), *n as f64, Some(format!("lvl-{}", token(l)))))
        .collect();
    html! {
        section.card.report-section #risks {
            h2 { "Open risks" }
            p {
                strong { (r.risks_total) } " current findings, "
                strong { (r.risks_kev) } " of them listed in CISA KEV (known exploited)."
            }
            div.chart-pair {
                figure.chart-box {
                    (svg::stacked("Findings by level", &segments))
                    (svg::bars("Findings per level", &items, ""))
                }
                table.data {
                    caption { "Findings by level" }
                    thead {
                        tr {
                            th scope="col" { "Level" }
                            th.num scope="col" { "Findings" }
                            th.num scope="col" { "Share" }
                        }
                    }
                    tbody {
                        @for (l, n) in &levels {
                            tr {
                                th scope="row" {
                                    span class={ "badge lvl-" (token(l)) } { (human(l)) }
                                }
                                td.num { (n) }
                                td.num {
                                    @if total_by_level > 0 {
                                        (percent(*n as f64 / total_by_level as f64))
                                    } @else {
                                        "–"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn top_risks_section(r: &Report) -> Markup {
    html! {
        section.card.report-section #top-risks {
            h2 { "Top risks" }
            @if r.top_risks.is_empty() {
                p.muted { "No open findings." }
            } @else {
                table.data {
                    caption { "The " (r.top_risks.len()) " highest-scored current findings" }
                    thead {
                        tr {
                            th.num scope="col" { "#" }
                            th scope="col" { "Asset" }
                            th scope="col" { "Vulnerability" }
                            th scope="col" { "Component" }
                            th.num scope="col" { "Score" }
                            th scope="col" { "Level" }
                            th scope="col" { "KEV" }
                            th scope="col" { "SSVC" }
                            th scope="col" { "Treatment" }
                        }
                    }
                    tbody {
                        @for (i, f) in r.top_risks.iter().enumerate() {
                            tr {
                                td.num { (i + 1) }
                                td.mono { (f.asset_key) }
                                td {
                                    span.mono { (f.vulnerability) }
                                    @if !f.summary.is_empty() {
                                        div.muted.small { (f.summary) }
                                    }
                                }
                                td.mono {
                                    (f.component)
                                    @if let Some(v) = &f.component_version { " " (v) }
                                }
                                td.num { (f.score) }
                                td { span class={ "badge lvl-" (token(&f.level)) } { (human(&f.level)) } }
                                td { @if f.kev { span.badge.kev { "KEV" } } @else { span.muted { "–" } } }
                                td {
                                    @match &f.ssvc {
                                        Some(d) => { span class={ "badge " (ssvc_class(d)) } { (d) } }
                                        None => { span.muted { "–" } }
                                    }
                                }
                                td {
                                    @match &f.treatment {
                                        Some(t) => { (human(t)) }
                                        None => { span.muted { "–" } }
                                    }
                                }
                            }
                        }
                    }
                }
                p.muted.small { "Score = likelihood × impact (1–25, NIST SP 800-30)." }
            }
        }
    }
}

fn accepted_section(r: &Report) -> Markup {
    html! {
        section.card.report-section #accepted-risks {
            h2 { "Accepted risks" }
            @if r.accepted_risks.is_empty() {
                p.muted { "No accepted risks in force." }
            } @else {
                table.data {
                    caption { "Risks accepted and not expired, soonest expiry first" }
                    thead {
                        tr {
                            th scope="col" { "Asset" }
                            th scope="col" { "Vulnerability" }
                            th scope="col" { "Rationale" }
                            th scope="col" { "Accepted by" }
                            th scope="col" { "Until" }
                        }
                    }
                    tbody {
                        @for a in &r.accepted_risks {
                            tr {
                                td.mono { (a.asset_key) }
                                td.mono { (a.vulnerability) }
                                td { (a.rationale) }
                                td { (a.accepted_by) }
                                td.nowrap { (fmt_time(&a.expires_at)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn incidents_section(r: &Report) -> Markup {
    let i = &r.incidents;
    html! {
        section.card.report-section #incidents {
            h2 { "Incidents" }
            table.data.figures {
                caption { "Incident figures over the period" }
                tbody {
                    tr { th scope="row" { "Open now" } td.num { (i.open_now) } }
                    tr { th scope="row" { "Opened in the period" } td.num { (i.opened_in_period) } }
                    tr { th scope="row" { "Closed in the period" } td.num { (i.closed_in_period) } }
                    tr { th scope="row" { "Mean time to detect" } td.num { (hours(i.mttd_hours)) } }
                    tr { th scope="row" { "Mean time to resolve" } td.num { (hours(i.mttr_hours)) } }
                }
            }
            p.muted.small {
                "Mean time to detect: from a vulnerability's publication to the incident opened \
                 for it, over incidents opened in the period. Mean time to resolve: from opening \
                 to closing, over incidents closed in the period."
            }
        }
    }
}

fn changes_section(r: &Report) -> Markup {
    html! {
        section.card.report-section #status-changes {
            h2 { "Control status changes" }
            @if r.status_changes.is_empty() {
                p.muted { "No control status changes in the period." }
            } @else {
                table.data {
                    caption { (r.status_changes.len()) " changes, from the audit log" }
                    thead {
                        tr {
                            th scope="col" { "When" }
                            th scope="col" { "Control" }
                            th scope="col" { "Status" }
                            th scope="col" { "By" }
                        }
                    }
                    tbody {
                        @for c in &r.status_changes {
                            tr {
                                td.nowrap { (fmt_time(&c.at)) }
                                td.mono { (c.control) }
                                td { span class={ "badge status-" (token(&c.status)) } { (human(&c.status)) } }
                                td { (c.by) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The report as a complete HTML document (UTF-8): header (framework name, id, period and
/// generation time in UTC), key figures, coverage (bar chart and heat map by group and
/// category, and the same numbers in a table), open risks by level in severity order (stacked
/// bar, bar chart, table), top risks, accepted risks, incident figures (mean times in hours
/// with one decimal, `n/a` without data), control status changes. Styled only by
/// `/console/assets/console.css` (its print section makes "print to PDF" clean); no inline
/// style, no script; every value escaped.
pub fn render(r: &Report) -> String {
    let name = framework_name(r);
    let open_findings: u64 = r.risks_total;
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Compliance report: " (name) " – Rampart" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body.report {
                main {
                    header.report-head {
                        p.eyebrow { "Rampart compliance report" }
                        h1 { "Compliance report: " (name) }
                        dl.facts {
                            dt { "Framework" }
                            dd.mono { (r.framework) }
                            dt { "Period" }
                            dd {
                                (fmt_time(&r.from)) " to " (fmt_time(&r.to))
                                span.muted { " (end excluded)" }
                            }
                            dt { "Generated" }
                            dd { (fmt_time(&r.generated_at)) }
                        }
                    }
                    section.grid.kpis #summary aria-label="Key figures" {
                        div.card.kpi {
                            span.kpi-value { (percent(r.coverage.coverage)) }
                            span.kpi-label { "Coverage of " (r.coverage.assessable) " controls" }
                        }
                        div.card.kpi {
                            span.kpi-value { (open_findings) }
                            span.kpi-label { "Open findings" }
                        }
                        div.card.kpi {
                            span.kpi-value { (r.risks_kev) }
                            span.kpi-label { "KEV-listed findings" }
                        }
                        div.card.kpi {
                            span.kpi-value { (r.incidents.open_now) }
                            span.kpi-label { "Open incidents" }
                        }
                        div.card.kpi {
                            span.kpi-value { (r.accepted_risks.len()) }
                            span.kpi-label { "Accepted risks" }
                        }
                    }
                    (coverage_section(r))
                    (risks_section(r))
                    (top_risks_section(r))
                    (accepted_section(r))
                    (incidents_section(r))
                    (changes_section(r))
                }
                footer.report-foot.muted {
                    "Rampart · " (name) " (" span.mono { (r.framework) } ") · generated "
                    (fmt_time(&r.generated_at))
                }
            }
        }
    };
    doc.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_audit::reports::StatusChange;
    use rampart_contracts::incident::IncidentFigures;
    use rampart_contracts::risk::{AcceptedRisk, FindingView};

    fn cov(id: &str, title: &str, coverage: f64, groups: Vec<Coverage>) -> Coverage {
        Coverage {
            id: id.to_owned(),
            title: title.to_owned(),
            assessable: 4,
            by_status: BTreeMap::from([("implemented".to_owned(), 2), ("partial".to_owned(), 1)]),
            coverage,
            groups,
        }
    }

    fn finding(level: &str, score: u8) -> FindingView {
        FindingView {
            asset_key: "host-1".into(),
            vulnerability: "CVE-2022-22965".into(),
            cves: vec!["CVE-2022-22965".into()],
            cwes: vec![],
            component: "spring-beans".into(),
            component_version: Some("5.3.17".into()),
            purl: None,
            cpe: None,
            kev: true,
            likelihood: 5,
            impact: 4,
            score,
            level: level.into(),
            confidence: "high".into(),
            summary: "Spring4Shell <RCE>".into(),
            rationale: vec![],
            finding_key: "0".repeat(32),
            analysis: None,
            suppressed: false,
            ssvc: Some("Track*".into()),
            treatment: Some("mitigate".into()),
        }
    }

    fn report(framework: &str) -> Report {
        Report {
            framework: framework.to_owned(),
            generated_at: "2026-12-03T18:55:02.123456789+00:00".into(),
            from: "2026-11-03T18:55:02.987654321+00:00".into(),
            to: "2026-12-03T20:55:03+02:00".into(),
            coverage: cov(
                framework,
                framework,
                0.625,
                vec![cov(
                    "GV",
                    "GOVERN",
                    0.5,
                    vec![cov("GV.OC", "Organizational Context", 1.0, vec![])],
                )],
            ),
            risks_total: 15,
            risks_kev: 2,
            risks_by_level: BTreeMap::from([
                ("high".to_owned(), 4),
                ("low".to_owned(), 2),
                ("moderate".to_owned(), 3),
                ("very_high".to_owned(), 5),
                ("very_low".to_owned(), 1),
            ]),
            top_risks: vec![finding("very_high", 20)],
            accepted_risks: vec![AcceptedRisk {
                finding_key: "1".repeat(32),
                asset_key: "host-2".into(),
                vulnerability: "CVE-2021-44228".into(),
                rationale: "Compensating WAF rule & no JNDI".into(),
                accepted_by: "ciso@example.org".into(),
                expires_at: "2027-01-31T23:59:59.5Z".into(),
            }],
            incidents: IncidentFigures {
                open_now: 3,
                opened_in_period: 4,
                closed_in_period: 1,
                mttd_hours: Some(36_000.04),
                mttr_hours: None,
            },
            status_changes: vec![StatusChange {
                at: "2026-11-20T08:00:00.000000001+00:00".into(),
                control: "GV.OC-01".into(),
                status: "not_applicable".into(),
                by: "auditor".into(),
            }],
        }
    }

    fn pos(html: &str, needle: &str) -> usize {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {html}"))
    }

    #[test]
    fn humanises_snake_case() {
        assert_eq!(human("very_high"), "Very high");
        assert_eq!(human("in_progress"), "In progress");
        assert_eq!(human("not_applicable"), "Not applicable");
        assert_eq!(human("KEV"), "KEV");
        assert_eq!(human(""), "");
        assert_eq!(ssvc_class("Track*"), "ssvc-track_star");
        assert_eq!(ssvc_class("Act"), "ssvc-act");
    }

    #[test]
    fn times_to_the_second_in_utc() {
        assert_eq!(
            fmt_time("2026-12-03T18:55:02.123456789+00:00"),
            "2026-12-03 18:55:02 UTC"
        );
        assert_eq!(
            fmt_time("2026-12-03T20:55:02+02:00"),
            "2026-12-03 18:55:02 UTC"
        );
        assert_eq!(fmt_time("next tuesday"), "next tuesday");
        assert_eq!(hours(Some(1.24)), "1.2 h");
        assert_eq!(hours(Some(-0.26)), "-0.3 h");
        assert_eq!(hours(Some(36_000.04)), "36,000.0 h (1,500 d)");
        assert_eq!(hours(None), "n/a");
        assert_eq!(hours(Some(f64::NAN)), "n/a");
    }

    #[test]
    fn a_complete_document_styled_by_the_console_stylesheet_only() {
        let h = render(&report("nist-csf-2.0"));
        assert!(h.starts_with("<!DOCTYPE html><html lang=\"en\">"), "{h}");
        assert!(h.contains("<link rel=\"stylesheet\" href=\"/console/assets/console.css\">"));
        assert!(!h.contains("<style") && !h.contains(" style="), "{h}");
        assert!(!h.contains("<script"), "{h}");
        assert!(h.contains("<title>Compliance report: NIST Cybersecurity Framework 2.0"));
        assert!(h.contains("<h1>Compliance report: NIST Cybersecurity Framework 2.0</h1>"));
        assert!(h.contains("<svg"), "{h}");
        assert!(h.contains("class=\"chart chart-bars\""), "{h}");
        assert!(h.contains("class=\"chart chart-stacked\""), "{h}");
        assert!(h.contains("class=\"chart chart-heat\""), "{h}");
        assert!(h.ends_with("</html>"), "{h}");
    }

    #[test]
    fn levels_in_severity_order_with_human_labels() {
        let h = render(&report("nist-csf-2.0"));
        let table = &h[pos(&h, "<caption>Findings by level</caption>")..];
        let order = ["Very high", "High", "Moderate", "Low", "Very low"];
        let at: Vec<usize> = order
            .iter()
            .map(|l| pos(table, &format!(">{l}</span>")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?} in {table}");
        // The charts too: the stacked bar's legend in the same order.
        let legend: Vec<usize> = order.iter().map(|l| pos(&h, &format!(">{l}: "))).collect();
        assert!(legend.windows(2).all(|w| w[0] < w[1]), "{legend:?}");
        assert!(
            !h.contains(">very_high<") && !h.contains(">not_applicable<"),
            "{h}"
        );
        assert!(h.contains("<span class=\"badge lvl-very_high\">Very high</span>"));
        assert!(h.contains("<span class=\"badge status-not_applicable\">Not applicable</span>"));
        assert!(h.contains("<span class=\"badge ssvc-track_star\">Track*</span>"));
    }

    #[test]
    fn times_without_nanoseconds_and_with_the_zone() {
        let h = render(&report("nist-csf-2.0"));
        assert!(
            h.contains("2026-11-03 18:55:02 UTC to 2026-12-03 18:55:03 UTC"),
            "{h}"
        );
        assert!(h.contains("2026-12-03 18:55:02 UTC"), "{h}");
        assert!(h.contains("2027-01-31 23:59:59 UTC"), "{h}");
        assert!(h.contains("2026-11-20 08:00:00 UTC"), "{h}");
        assert!(
            !h.contains(".123456789") && !h.contains(".000000001"),
            "{h}"
        );
    }

    #[test]
    fn sections_carry_their_figures() {
        let h = render(&report("nist-csf-2.0"));
        for want in [
            "<strong>62.5%</strong> of 4",
            "id=\"cov-GV-OC\"",
            "href=\"#cov-GV-OC\"",
            "Spring4Shell &lt;RCE&gt;",
            "Compensating WAF rule &amp; no JNDI",
            "ciso@example.org",
            "36,000.0 h (1,500 d)",
            "<td class=\"num\">n/a</td>",
            "GV.OC-01",
            ">Mitigate<",
        ] {
            assert!(h.contains(want), "{want:?} in {h}");
        }
        // Sections in reading order.
        let at: Vec<usize> = [
            "id=\"coverage\"",
            "id=\"risks\"",
            "id=\"top-risks\"",
            "id=\"accepted-risks\"",
            "id=\"incidents\"",
            "id=\"status-changes\"",
        ]
        .iter()
        .map(|s| pos(&h, s))
        .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    }

    #[test]
    fn empty_report_renders_without_panicking() {
        let mut r = report("custom");
        r.coverage = Coverage::default();
        r.risks_by_level.clear();
        r.risks_total = 0;
        r.top_risks.clear();
        r.accepted_risks.clear();
        r.status_changes.clear();
        r.generated_at = "not a time".into();
        let h = render(&r);
        assert!(h.contains("<h1>Compliance report: custom</h1>"), "{h}");
        assert!(h.contains("not a time"), "{h}");
        assert!(h.contains("No open findings.") && h.contains("No accepted risks in force."));
        assert!(
            h.contains("No control status changes in the period."),
            "{h}"
        );
        assert!(h.contains("No data"), "{h}");
    }

    #[test]
    fn the_framework_id_is_escaped() {
        let h = render(&report("<img src=x onerror=alert(1)>"));
        assert!(!h.contains("<img"), "{h}");
        assert!(
            h.contains("Compliance report: &lt;img src=x onerror=alert(1)&gt;"),
            "{h}"
        );
    }
}
