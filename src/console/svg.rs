//! Server-rendered SVG charts for the console and the HTML reports: pure functions returning
//! [`Markup`], no script, no inline style (the console's Content Security Policy forbids both).
//!
//! Every chart is an `<svg class="chart …" role="img" aria-labelledby="…">` whose first child is
//! a `<title>` naming it, with a `viewBox` in user units (the `width`/`height` attributes are the
//! natural size; `console.css` scales `.chart` to the container's width). The numbers are also
//! printed as text in the chart, so a screen reader, a text search or a printed page has them.
//! Colours come from CSS classes (`bar`, `lvl-*`, `heat-0` … `heat-4`, …) defined in
//! `assets/console.css`, not from fill attributes. Every label is escaped by maud.

use std::fmt::Write as _;

use maud::{Markup, html};

/// One bar of [`bars`]: label, value (in the chart's unit), optional CSS class(es) of the bar
/// (e.g. `lvl-very_high`; default colour from the class `bar`).
pub type Bar = (String, f64, Option<String>);

/// One cell of a [`heat_map`] row: label (shown cut to 9 characters, in full in the tooltip),
/// fraction 0..=1 (class [`heat_class`], printed as a percentage), link href (`""`: no link).
pub type HeatCell = (String, f64, String);

/// One row of a [`heat_map`]: row label and its cells, in display order.
pub type HeatRow = (String, Vec<HeatCell>);

/// One segment of [`stacked`]: label, value (a count; its share is computed), CSS class(es)
/// giving its colour (e.g. `lvl-high`).
pub type Segment = (String, f64, String);

/// The SVG namespace, on every root `<svg>` (harmless in HTML, needed when the SVG is saved).
const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// A number for people: `n/a` when not finite; integers without decimals and with thousands
/// separators (`1,234`); anything else with one decimal (`87.5`, `-0.3`), `-0.0` shown as `0`.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    let r = (v * 10.0).round() / 10.0;
    let r = if r == 0.0 { 0.0 } else { r };
    if r.fract() == 0.0 && r.abs() < 1e15 {
        let digits = format!("{}", r.abs() as u64);
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if r < 0.0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{r:.1}")
    }
}

/// The class of a heat-map cell for `fraction` (0..=1): `heat-0` … `heat-4`, the fraction in
/// five equal buckets (`[0, 0.2)` → `heat-0`, …, `[0.8, 1]` → `heat-4`); values below 0 or not
/// finite count as 0, above 1 as 1.
pub fn heat_class(fraction: f64) -> &'static str {
    const CLASSES: [&str; 5] = ["heat-0", "heat-1", "heat-2", "heat-3", "heat-4"];
    CLASSES[heat_bucket(fraction)]
}

fn heat_bucket(fraction: f64) -> usize {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((f * 5.0).floor() as usize).min(4)
}

/// A fraction 0..=1 as a whole percentage (`0.875` → `88%`), `n/a` when not finite.
fn pct(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{}%", fmt_num((fraction * 100.0).round()))
    } else {
        "n/a".to_owned()
    }
}

/// A user-unit coordinate with one decimal.
fn c(v: f64) -> String {
    format!("{v:.1}")
}

/// `s` cut to `max` characters, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A caller's class list made safe for a `class` attribute: each whitespace-separated token
/// keeps only ASCII letters, digits, `-` and `_`.
fn classes(s: &str) -> String {
    s.split_whitespace()
        .map(|t| {
            t.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<String>()
        })
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A document-unique-enough id for a chart's `<title>`: its kind and an FNV-1a hash of its
/// title and data (two charts get the same id only when they are identical).
fn chart_id(kind: &str, title: &str, data: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind
        .bytes()
        .chain([0])
        .chain(title.bytes())
        .chain([0])
        .chain(data.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("chart-{kind}-{h:016x}")
}

/// The "no data" chart: the title and a muted line of text.
fn no_data(kind: &str, title: &str) -> Markup {
    let id = chart_id(kind, title, "");
    html! {
        svg xmlns=(SVG_NS) class={ "chart chart-" (kind) " chart-empty" } role="img"
            aria-labelledby=(id) viewBox="0 0 640 32" width="640" height="32" {
            title id=(id) { (title) }
            text class="chart-note" x="4" y="20" { "No data" }
        }
    }
}

/// Horizontal bar chart, one row per item `(label, value, class)`: the label on the left, the
/// bar (class `bar` plus the item's class, e.g. `lvl-very_high`, when given), the value printed
/// after the bar with `unit` appended (`"%"`, `""` …). Bars are scaled to 100 when `unit` is
/// `"%"` (values above 100 fill the width), else to the largest value; negative and non-finite
/// values draw no bar (non-finite ones print `n/a`). Empty `items`: a "No data" chart.
///
/// Size: 640 user units wide, 22 per row (+8).
pub fn bars(title: &str, items: &[Bar], unit: &str) -> Markup {
    const W: f64 = 640.0;
    const LABEL_W: f64 = 200.0;
    const VALUE_W: f64 = 80.0;
    const ROW_H: f64 = 22.0;
    const BAR_H: f64 = 14.0;
    const PAD: f64 = 4.0;
    if items.is_empty() {
        return no_data("bars", title);
    }
    let max = if unit == "%" {
        100.0
    } else {
        items
            .iter()
            .map(|i| i.1)
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max)
    };
    let area = W - LABEL_W - VALUE_W;
    let h = PAD * 2.0 + ROW_H * items.len() as f64;
    let mut data = String::new();
    for (l, v, _) in items {
        let _ = write!(data, "{l}\u{1f}{v}\u{1e}");
    }
    let id = chart_id("bars", title, &data);
    html! {
        svg xmlns=(SVG_NS) class="chart chart-bars" role="img" aria-labelledby=(id)
            viewBox={ "0 0 " (c(W)) " " (c(h)) } width=(c(W)) height=(c(h)) {
            title id=(id) { (title) }
            @for (i, (label, v, class)) in items.iter().enumerate() {
                @let top = PAD + ROW_H * i as f64;
                @let len = if max > 0.0 && v.is_finite() && *v > 0.0 {
                    (v / max).min(1.0) * area
                } else {
                    0.0
                };
                // A value above zero always shows at least a sliver.
                @let len = if len > 0.0 { len.max(1.0) } else { 0.0 };
                @let value = if v.is_finite() { format!("{}{unit}", fmt_num(*v)) } else { "n/a".to_owned() };
                @let cls = match class { Some(k) => format!("bar {}", classes(k)), None => "bar".to_owned() };
                g class="bar-row" {
                    title { (label) ": " (value) }
                    text class="bar-label" x=(c(LABEL_W - 8.0)) y=(c(top + ROW_H / 2.0 + 4.0))
                        text-anchor="end" { (cut(label, 32)) }
                    rect class="bar-track" x=(c(LABEL_W)) y=(c(top + (ROW_H - BAR_H) / 2.0))
                        width=(c(area)) height=(c(BAR_H)) {}
                    rect class=(cls) x=(c(LABEL_W)) y=(c(top + (ROW_H - BAR_H) / 2.0))
                        width=(c(len)) height=(c(BAR_H)) {}
                    text class="bar-value" x=(c(LABEL_W + len + 6.0)) y=(c(top + ROW_H / 2.0 + 4.0)) {
                        (value)
                    }
                }
            }
        }
    }
}

/// A small trend line of `points` `(x = Unix seconds, y = value)`, sorted by x here, with the
/// last value printed on the right. Points whose value is NaN or infinite are ignored; with no
/// point left a dashed flat line and `n/a`, with one a flat line ending in a dot. The `<desc>`
/// states the number of points, the minimum, the maximum and the last value.
///
/// Size: 200 × 40 user units (the line in the left 140).
pub fn sparkline(title: &str, points: &[(i64, f64)]) -> Markup {
    const W: f64 = 200.0;
    const H: f64 = 40.0;
    const LINE_W: f64 = 140.0;
    const PAD: f64 = 4.0;
    let mut pts: Vec<(i64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    pts.sort_by_key(|p| p.0);
    let (lo, hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let last = pts.last().map(|p| p.1);
    let mut data = String::new();
    for (x, y) in &pts {
        let _ = write!(data, "{x}:{y};");
    }
    let id = chart_id("spark", title, &data);
    let mid = H / 2.0;
    let (x0, x1) = (
        pts.first().map_or(0, |p| p.0),
        pts.last().map_or(0, |p| p.0),
    );
    let span_x = (i128::from(x1) - i128::from(x0)) as f64;
    let sx = |x: i64| {
        if span_x > 0.0 {
            PAD + (i128::from(x) - i128::from(x0)) as f64 / span_x * (LINE_W - 2.0 * PAD)
        } else {
            LINE_W - PAD
        }
    };
    let sy = |y: f64| {
        if hi > lo {
            H - PAD - (y - lo) / (hi - lo) * (H - 2.0 * PAD)
        } else {
            mid
        }
    };
    let line: String = if pts.len() >= 2 {
        pts.iter()
            .map(|p| format!("{},{}", c(sx(p.0)), c(sy(p.1))))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        format!("{},{} {},{}", c(PAD), c(mid), c(LINE_W - PAD), c(mid))
    };
    let desc = match last {
        Some(l) => format!(
            "{} points; min {}, max {}, last {}",
            pts.len(),
            fmt_num(lo),
            fmt_num(hi),
            fmt_num(l)
        ),
        None => "No data".to_owned(),
    };
    html! {
        svg xmlns=(SVG_NS) class="chart chart-spark" role="img" aria-labelledby=(id)
            viewBox={ "0 0 " (c(W)) " " (c(H)) } width=(c(W)) height=(c(H)) {
            title id=(id) { (title) }
            desc { (desc) }
            polyline class=(if pts.is_empty() { "spark-line spark-empty" } else { "spark-line" })
                points=(line) {}
            @if let Some(l) = pts.last() {
                circle class="spark-dot" cx=(c(sx(l.0))) cy=(c(sy(l.1))) r="2.5" {}
            }
            text class="spark-value" x=(c(W - PAD)) y=(c(mid + 5.0)) text-anchor="end" {
                (last.map_or_else(|| "n/a".to_owned(), fmt_num))
            }
        }
    }
}

/// A heat map: one row per `(row label, cells)`, each cell `(cell label, fraction 0..=1, href)`
/// an `<a href>` (none when `href` is empty) around a rect of class [`heat_class`] with the cell
/// label (cut to 9 characters) and the percentage printed, the full label and percentage in
/// its `<title>` tooltip. Rows with more than 10 cells wrap onto further lines. No rows or no
/// cells at all: a "No data" chart. Used for framework coverage per function (row) and
/// category (cell).
///
/// Size: 200 user units of row labels + 79 per column, 39 per line (+8).
pub fn heat_map(title: &str, rows: &[HeatRow]) -> Markup {
    const LABEL_W: f64 = 200.0;
    const CELL_W: f64 = 76.0;
    const CELL_H: f64 = 36.0;
    const GAP: f64 = 3.0;
    const PAD: f64 = 4.0;
    const MAX_COLS: usize = 10;
    if rows.iter().all(|r| r.1.is_empty()) {
        return no_data("heat", title);
    }
    let cols = rows
        .iter()
        .map(|r| r.1.len())
        .max()
        .unwrap_or(0)
        .clamp(1, MAX_COLS);
    let lines = |n: usize| n.div_ceil(MAX_COLS).max(1);
    let w = LABEL_W + cols as f64 * (CELL_W + GAP) + PAD;
    let total_lines: usize = rows.iter().map(|r| lines(r.1.len())).sum();
    let h = PAD * 2.0 + total_lines as f64 * (CELL_H + GAP);
    let mut data = String::new();
    let mut tops = Vec::with_capacity(rows.len());
    let mut y = PAD;
    for (label, cells) in rows {
        tops.push(y);
        y += lines(cells.len()) as f64 * (CELL_H + GAP);
        let _ = write!(data, "{label}\u{1d}");
        for (l, f, href) in cells {
            let _ = write!(data, "{l}\u{1f}{f}\u{1f}{href}\u{1e}");
        }
    }
    let id = chart_id("heat", title, &data);
    html! {
        svg xmlns=(SVG_NS) class="chart chart-heat" role="img" aria-labelledby=(id)
            viewBox={ "0 0 " (c(w)) " " (c(h)) } width=(c(w)) height=(c(h)) {
            title id=(id) { (title) }
            @for ((label, cells), top) in rows.iter().zip(tops) {
                g class="heat-row" {
                    text class="heat-row-label" x=(c(LABEL_W - 8.0)) y=(c(top + CELL_H / 2.0 + 4.0))
                        text-anchor="end" {
                        title { (label) }
                        (cut(label, 30))
                    }
                    @if cells.is_empty() {
                        text class="chart-note" x=(c(LABEL_W)) y=(c(top + CELL_H / 2.0 + 4.0)) { "—" }
                    }
                    @for (i, (cell, f, href)) in cells.iter().enumerate() {
                        @let x = LABEL_W + (i % MAX_COLS) as f64 * (CELL_W + GAP);
                        @let cy = top + (i / MAX_COLS) as f64 * (CELL_H + GAP);
                        @let dark = if heat_bucket(*f) >= 4 { " on-dark" } else { "" };
                        @let body = html! {
                            title { (cell) ": " (pct(*f)) }
                            rect class=(heat_class(*f)) x=(c(x)) y=(c(cy)) width=(c(CELL_W))
                                height=(c(CELL_H)) rx="2" {}
                            text class={ "heat-label" (dark) } x=(c(x + CELL_W / 2.0)) y=(c(cy + 14.0))
                                text-anchor="middle" { (cut(cell, 9)) }
                            text class={ "heat-pct" (dark) } x=(c(x + CELL_W / 2.0)) y=(c(cy + 29.0))
                                text-anchor="middle" { (pct(*f)) }
                        };
                        @if href.is_empty() {
                            g class="heat-cell" { (body) }
                        } @else {
                            a class="heat-cell" href=(href) { (body) }
                        }
                    }
                }
            }
        }
    }
}

/// One horizontal 100 % stacked bar of `segments` `(label, value, class)` (e.g. findings by
/// level, class `lvl-very_high` …), each segment's value printed inside it when it is wide
/// enough, and a legend below with every segment's label, value and share (zero ones too).
/// Negative and non-finite values count as 0. Empty `segments`: a "No data" chart; all zero:
/// an empty outlined bar reading "None".
///
/// Size: 640 user units wide, 40 + 20 per legend line of 3 entries (+4).
pub fn stacked(title: &str, segments: &[Segment]) -> Markup {
    const W: f64 = 640.0;
    const BAR_H: f64 = 24.0;
    const PAD: f64 = 4.0;
    const LEGEND_Y: f64 = 40.0;
    const LEGEND_LINE: f64 = 20.0;
    const PER_LINE: usize = 3;
    if segments.is_empty() {
        return no_data("stacked", title);
    }
    let val = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
    let total: f64 = segments.iter().map(|s| val(s.1)).sum();
    let share = |v: f64| if total > 0.0 { val(v) / total } else { 0.0 };
    let bar_w = W - 2.0 * PAD;
    let mut x = PAD;
    let mut placed = Vec::with_capacity(segments.len());
    for s in segments {
        let w = share(s.1) * bar_w;
        placed.push((x, w));
        x += w;
    }
    let lines = segments.len().div_ceil(PER_LINE);
    let h = LEGEND_Y + lines as f64 * LEGEND_LINE + PAD;
    let col_w = bar_w / PER_LINE as f64;
    let mut data = String::new();
    for (l, v, k) in segments {
        let _ = write!(data, "{l}\u{1f}{v}\u{1f}{k}\u{1e}");
    }
    let id = chart_id("stacked", title, &data);
    html! {
        svg xmlns=(SVG_NS) class="chart chart-stacked" role="img" aria-labelledby=(id)
            viewBox={ "0 0 " (c(W)) " " (c(h)) } width=(c(W)) height=(c(h)) {
            title id=(id) { (title) }
            @if total > 0.0 {
                @for ((label, v, class), (x, w)) in segments.iter().zip(&placed) {
                    @if *w > 0.0 {
                        g class="seg" {
                            title { (label) ": " (fmt_num(val(*v))) " (" (pct(share(*v))) ")" }
                            rect class={ "seg-rect " (classes(class)) } x=(c(*x)) y=(c(PAD))
                                width=(c(*w)) height=(c(BAR_H)) {}
                            @if *w >= 36.0 {
                                text class="seg-text" x=(c(x + w / 2.0)) y=(c(PAD + BAR_H / 2.0 + 4.0))
                                    text-anchor="middle" { (fmt_num(val(*v))) }
                            }
                        }
                    }
                }
            } @else {
                rect class="seg-empty" x=(c(PAD)) y=(c(PAD)) width=(c(bar_w)) height=(c(BAR_H)) {}
                text class="chart-note" x=(c(W / 2.0)) y=(c(PAD + BAR_H / 2.0 + 4.0))
                    text-anchor="middle" { "None" }
            }
            @for (i, (label, v, class)) in segments.iter().enumerate() {
                @let lx = PAD + (i % PER_LINE) as f64 * col_w;
                @let ly = LEGEND_Y + (i / PER_LINE) as f64 * LEGEND_LINE;
                g class="legend-item" {
                    rect class={ "swatch " (classes(class)) } x=(c(lx)) y=(c(ly - 10.0))
                        width="12" height="12" {}
                    text class="legend-text" x=(c(lx + 18.0)) y=(c(ly)) {
                        (cut(label, 18)) ": " (fmt_num(val(*v))) " (" (pct(share(*v))) ")"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(m: Markup) -> String {
        m.into_string()
    }

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(-0.0), "0");
        assert_eq!(fmt_num(-0.04), "0");
        assert_eq!(fmt_num(12.0), "12");
        assert_eq!(fmt_num(87.54), "87.5");
        assert_eq!(fmt_num(1234.0), "1,234");
        assert_eq!(fmt_num(100_000.0), "100,000");
        assert_eq!(fmt_num(-1_234_567.0), "-1,234,567");
        assert_eq!(fmt_num(999.96), "1,000");
        assert_eq!(fmt_num(f64::NAN), "n/a");
        assert_eq!(fmt_num(f64::INFINITY), "n/a");
        assert_eq!(pct(0.875), "88%");
        assert_eq!(pct(1.0), "100%");
    }

    #[test]
    fn labels_are_escaped_everywhere() {
        let evil = "<script>alert(1)</script>".to_owned();
        let outs = [
            s(bars(&evil, &[(evil.clone(), 1.0, Some(evil.clone()))], "")),
            s(sparkline(&evil, &[(0, 1.0)])),
            s(heat_map(
                &evil,
                &[(evil.clone(), vec![(evil.clone(), 0.5, evil.clone())])],
            )),
            s(stacked(&evil, &[(evil.clone(), 1.0, evil.clone())])),
        ];
        for out in outs {
            assert!(!out.contains("<script"), "{out}");
            assert!(out.contains("&lt;script&gt;"), "{out}");
            assert!(out.contains("role=\"img\"") && out.contains("aria-labelledby=\"chart-"));
            assert!(!out.contains("style"), "no inline style: {out}");
        }
        // Classes are reduced to safe characters, not only escaped.
        let out = s(bars(
            "t",
            &[("a".into(), 1.0, Some("x\" onload=\"y".into()))],
            "",
        ));
        assert!(out.contains("class=\"bar x onloady\""), "{out}");
    }

    #[test]
    fn empty_inputs_render_no_data() {
        for out in [
            s(bars("Coverage", &[], "%")),
            s(heat_map("Heat", &[])),
            s(heat_map("Heat", &[("GV".into(), vec![])])),
            s(stacked("Levels", &[])),
        ] {
            assert!(out.starts_with("<svg"), "{out}");
            assert!(out.contains("No data"), "{out}");
            assert!(out.contains("<title id=\"chart-"), "{out}");
        }
        let out = s(sparkline("Trend", &[]));
        assert!(
            out.contains("spark-empty") && out.contains(">n/a</text>"),
            "{out}"
        );
        assert!(!out.contains("<circle"), "{out}");
    }

    #[test]
    fn zero_maxima_do_not_divide_by_zero() {
        let items = vec![("a".to_owned(), 0.0, None), ("b".to_owned(), 0.0, None)];
        let out = s(bars("Zeros", &items, ""));
        assert!(!out.contains("NaN") && !out.contains("inf"), "{out}");
        assert_eq!(out.matches("class=\"bar\" ").count(), 2, "{out}");
        assert!(out.contains("width=\"0.0\""), "{out}");
        assert!(out.contains(">a: 0</title>"), "{out}");
        let out = s(stacked(
            "Zeros",
            &[
                ("Low".into(), 0.0, "lvl-low".into()),
                ("High".into(), f64::NAN, "lvl-high".into()),
            ],
        ));
        assert!(!out.contains("NaN"), "{out}");
        assert!(
            out.contains("seg-empty") && out.contains(">None</text>"),
            "{out}"
        );
        assert!(
            out.contains("Low: 0 (0%)") && out.contains("High: 0 (0%)"),
            "{out}"
        );
        let out = s(sparkline("Flat", &[(10, 3.0), (20, 3.0), (30, f64::NAN)]));
        assert!(!out.contains("NaN"), "{out}");
        assert!(out.contains(">3</text>") && out.contains("2 points; min 3, max 3, last 3"));
    }

    #[test]
    fn bars_scale_to_the_maximum_or_to_100_percent() {
        let items = vec![
            ("half".to_owned(), 50.0, Some("lvl-high".to_owned())),
            ("full".to_owned(), 100.0, None),
        ];
        // Bar area 640 - 200 - 80 = 360.
        let out = s(bars("Counts", &items, ""));
        assert!(
            out.contains("class=\"bar lvl-high\" x=\"200.0\" y=\"8.0\" width=\"180.0\""),
            "{out}"
        );
        assert!(
            out.contains(
                "width=\"360.0\" height=\"14.0\"></rect><text class=\"bar-value\" x=\"566.0\""
            ),
            "{out}"
        );
        assert!(
            out.contains(">50</text>") && out.contains(">100</text>"),
            "{out}"
        );
        let items = vec![
            ("cov".to_owned(), 25.0, None),
            ("over".to_owned(), 150.0, None),
        ];
        let out = s(bars("Coverage", &items, "%"));
        assert!(
            out.contains("class=\"bar\" x=\"200.0\" y=\"8.0\" width=\"90.0\""),
            "{out}"
        );
        assert!(
            out.contains(">25%</text>") && out.contains(">150%</text>"),
            "{out}"
        );
        assert!(out.contains("viewBox=\"0 0 640.0 52.0\""), "{out}");
    }

    #[test]
    fn heat_cells_are_links_classed_by_bucket() {
        assert_eq!(heat_class(0.0), "heat-0");
        assert_eq!(heat_class(0.19), "heat-0");
        assert_eq!(heat_class(0.2), "heat-1");
        assert_eq!(heat_class(0.5), "heat-2");
        assert_eq!(heat_class(0.79), "heat-3");
        assert_eq!(heat_class(1.0), "heat-4");
        assert_eq!(heat_class(7.0), "heat-4");
        assert_eq!(heat_class(-1.0), "heat-0");
        assert_eq!(heat_class(f64::NAN), "heat-0");
        let rows = vec![(
            "Govern (GV)".to_owned(),
            vec![
                (
                    "GV.OC".to_owned(),
                    0.0,
                    "/console/frameworks/x?cat=GV.OC".to_owned(),
                ),
                ("GV.RM".to_owned(), 0.5, "/a&b".to_owned()),
                ("GV.SC".to_owned(), 1.0, String::new()),
            ],
        )];
        let out = s(heat_map("Coverage", &rows));
        assert!(out.contains("<a class=\"heat-cell\" href=\"/console/frameworks/x?cat=GV.OC\"><title>GV.OC: 0%</title><rect class=\"heat-0\""), "{out}");
        assert!(
            out.contains("href=\"/a&amp;b\"><title>GV.RM: 50%</title><rect class=\"heat-2\""),
            "{out}"
        );
        assert!(
            out.contains("<g class=\"heat-cell\"><title>GV.SC: 100%</title><rect class=\"heat-4\""),
            "{out}"
        );
        assert!(
            out.contains("class=\"heat-pct on-dark\"") && out.contains(">100%</text>"),
            "{out}"
        );
        // Twelve cells wrap onto two lines: 8 + 2 × 39 high.
        let many = vec![(
            "AC".to_owned(),
            (0..12)
                .map(|i| (format!("AC-{i}"), 0.1, String::new()))
                .collect(),
        )];
        let out = s(heat_map("Wide", &many));
        assert!(out.contains("height=\"86.0\""), "{out}");
        assert_eq!(out.matches("<rect").count(), 12);
    }

    #[test]
    fn stacked_shares_add_up() {
        let segs = vec![
            ("Very high".to_owned(), 3.0, "lvl-very_high".to_owned()),
            ("High".to_owned(), 1.0, "lvl-high".to_owned()),
            ("Low".to_owned(), 0.0, "lvl-low".to_owned()),
        ];
        let out = s(stacked("Findings by level", &segs));
        // 632 units of bar: 474 + 158.
        assert!(
            out.contains("class=\"seg-rect lvl-very_high\" x=\"4.0\" y=\"4.0\" width=\"474.0\""),
            "{out}"
        );
        assert!(
            out.contains("class=\"seg-rect lvl-high\" x=\"478.0\" y=\"4.0\" width=\"158.0\""),
            "{out}"
        );
        assert!(!out.contains("seg-rect lvl-low"), "{out}");
        assert!(
            out.contains("Very high: 3 (75%)") && out.contains("Low: 0 (0%)"),
            "{out}"
        );
    }

    #[test]
    fn sparkline_scales_and_prints_the_last_value() {
        let out = s(sparkline(
            "Risks",
            &[(200, 4.0), (100, 2.0), (300, f64::INFINITY)],
        ));
        assert!(out.contains("points=\"4.0,36.0 136.0,4.0\""), "{out}");
        assert!(
            out.contains("<circle class=\"spark-dot\" cx=\"136.0\" cy=\"4.0\""),
            "{out}"
        );
        assert!(out.contains(">4</text>"), "{out}");
        let one = s(sparkline("One", &[(i64::MAX, 12.5)]));
        assert!(
            one.contains("<circle") && one.contains(">12.5</text>"),
            "{one}"
        );
        let extreme = s(sparkline("Wide", &[(i64::MIN, 1.0), (i64::MAX, 2.0)]));
        assert!(
            extreme.contains("points=\"4.0,36.0 136.0,4.0\""),
            "{extreme}"
        );
    }
}
