//! SARIF 2.1.0 output of findings, in the subset GitHub code scanning reads.
//!
//! Sources: the OASIS standard *Static Analysis Results Interchange Format (SARIF) Version
//! 2.1.0* and its JSON schema (`sarif-schema-2.1.0.json`, errata01, from
//! github:oasis-tcs/sarif-spec `sarif-2.1/schema/`, which a test validates the output
//! against), and GitHub's "SARIF support for code scanning" (github/docs
//! `content/code-security/reference/code-scanning/sarif-files/sarif-support-for-code-scanning.md`
//! and its limits table `data/reusables/code-scanning/sarif-limits.md`).
//!
//! # Shape
//!
//! One run whose `tool.driver` is `Rampart` (`version` = the caller's `tool_version`), with:
//!
//! * **one rule per vulnerability** (`reportingDescriptor`), sorted by id: `id` = the
//!   vulnerability id (OSV, GHSA or CVE id, stable across runs as GitHub requires of `ruleId`),
//!   `shortDescription` = its summary (GitHub shows at most 1024 characters, longer text is cut
//!   with `…`), `fullDescription` = summary plus CVE aliases and CWEs, `help` (text and
//!   Markdown), `helpUri` = `https://nvd.nist.gov/vuln/detail/<id>` for a `CVE-` id, else
//!   `https://osv.dev/vulnerability/<id>`, `defaultConfiguration.level` and
//!   `properties.security-severity` from the **highest** level among the vulnerability's findings,
//!   `properties.tags` = `security`, `vulnerability` and the CWE ids, sorted and de-duplicated,
//!   at most 20 in all (GitHub rejects a rule with more than 20 tags);
//! * **one result per finding**, sorted by asset key, vulnerability id, component identity:
//!   `ruleId` and `ruleIndex`, `level`, `message.text` (its first sentence, which GitHub shows
//!   when space is short, names vulnerability, component and asset), one `location`,
//!   `partialFingerprints`, `properties` (`likelihood`, `impact`, `score`, `level`, `kev`,
//!   `ssvc` (null when unknown), `confidence`, `component`, `componentVersion`, `purl`, `cves`,
//!   `analysisState` when set), and `suppressions` for findings analysed `not_affected` or
//!   `false_positive`.
//!
//! # Level and security severity
//!
//! | finding level (SP 800-30) | SARIF `level` | `security-severity` | GitHub shows |
//! |---|---|---|---|
//! | `very_high` | `error` | `9.5` | critical (over 9.0) |
//! | `high` | `error` | `8.0` | high (7.0-8.9) |
//! | `moderate` | `warning` | `5.5` | medium (4.0-6.9) |
//! | `low` | `note` | `3.0` | low (0.1-3.9) |
//! | `very_low` | `note` | `1.0` | low (0.1-3.9) |
//!
//! Each number lies inside the GitHub band of the same name, away from its edges (9.5, 8.0 and
//! 5.5 are also Trivy's values for critical, high and medium), so a consumer that re-bands the
//! number cannot move a finding into a neighbouring class; `low` and `very_low` share GitHub's
//! only low band and keep their order (3.0 > 1.0). Levels are read case-insensitively with
//! blanks or dashes for `_`; an unknown level falls back to the level of `score`
//! ([`crate::scoring::Level::from_score`]), then to `moderate`.
//!
//! # Location
//!
//! Findings are about components of assets, not lines of files, but GitHub needs a
//! `physicalLocation` with an `artifactLocation.uri` (relative to the repository root) and a
//! region. The uri is `rampart/<asset key>/<component>`, where the component is its purl,
//! else `name@version`, and each of the two parts is percent-encoded as **one path segment**
//! (every byte except RFC 3986's unreserved `A-Z a-z 0-9 - . _ ~` becomes `%XX`, so the `/`, `:`,
//! `@`, `?` and `#` of purls and keys cannot split the segment, start a scheme, a query or a
//! fragment; a part made only of dots is encoded whole so it is never a `.`/`..` segment; an
//! empty part becomes `_`). It is therefore a valid relative reference, the same for the same
//! finding in every run (GitHub needs consistent paths to track alerts), and readable. The
//! region is line 1, columns 1-1, as scanners of packages (e.g. Trivy) write it.
//!
//! # Fingerprints
//!
//! `partialFingerprints["rampart/v1"]` = hex SHA-256 of
//! `"{asset_key}|{vulnerability}|{component}"` (component as in the uri, before encoding):
//! stable across runs and distinct per finding. GitHub's documentation says code scanning only
//! uses `primaryLocationLineHash`, and its upload action would compute that one from the lines
//! of the (here non-existent) file, so it is also set, to the first 16 hex digits of the same
//! hash followed by `:1`, the form CodeQL writes.
//!
//! # Limits
//!
//! GitHub rejects a run with more than 25,000 results or rules; callers exporting larger
//! registers should filter (e.g. by level) first. [`sarif`] itself takes any number.

use std::collections::BTreeMap;

use rampart_contracts::risk::FindingView;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::scoring::Level;

/// `$schema` of the output: the OASIS errata01 schema's id.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// `tool.driver.name`.
pub const TOOL_NAME: &str = "Rampart";
/// Key of Rampart's own fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "rampart/v1";
/// Most `tags` GitHub accepts on one rule.
pub const MAX_TAGS: usize = 20;
/// Most characters GitHub shows of a rule's short and full descriptions.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;

/// One finding to export, with its triage state.
#[derive(Debug, Clone, Copy)]
pub struct SarifFinding<'a> {
    /// The finding.
    pub finding: &'a FindingView,
    /// Its analysis state (CycloneDX terms: `in_triage`, `exploitable`, `false_positive`,
    /// `not_affected`, `resolved`...), if analysed. `not_affected` and `false_positive`
    /// (case-insensitive) make the result suppressed.
    pub analysis_state: Option<&'a str>,
    /// The analysis detail, the suppression's `justification`.
    pub analysis_detail: Option<&'a str>,
    /// Its SSVC decision (`Track`, `Track*`, `Attend`, `Act`), if decided.
    pub ssvc: Option<&'a str>,
}

/// The finding's level, normalised (see the module docs), as a [`Level`].
fn level_of(f: &FindingView) -> Level {
    let norm: String = f
        .level
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    match norm.as_str() {
        "very_high" => Level::VeryHigh,
        "high" => Level::High,
        "moderate" | "medium" => Level::Moderate,
        "low" => Level::Low,
        "very_low" => Level::VeryLow,
        _ => Level::from_score(f.score).unwrap_or(Level::Moderate),
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::VeryHigh => "very_high",
        Level::High => "high",
        Level::Moderate => "moderate",
        Level::Low => "low",
        Level::VeryLow => "very_low",
    }
}

/// SARIF `level` of a finding level name (`very_high`/`high` -> `error`, `moderate` ->
/// `warning`, `low`/`very_low` -> `note`; see the module docs for unknown names).
pub fn sarif_level(finding: &FindingView) -> &'static str {
    sarif_level_of(level_of(finding))
}

fn sarif_level_of(l: Level) -> &'static str {
    match l {
        Level::VeryHigh | Level::High => "error",
        Level::Moderate => "warning",
        Level::Low | Level::VeryLow => "note",
    }
}

/// GitHub `security-severity` (a decimal string in 0.1..=10.0) of a finding: 9.5, 8.0, 5.5,
/// 3.0, 1.0 from `very_high` down to `very_low` (see the module docs for why).
pub fn security_severity(finding: &FindingView) -> &'static str {
    security_severity_of(level_of(finding))
}

fn security_severity_of(l: Level) -> &'static str {
    match l {
        Level::VeryHigh => "9.5",
        Level::High => "8.0",
        Level::Moderate => "5.5",
        Level::Low => "3.0",
        Level::VeryLow => "1.0",
    }
}

/// The component part of a finding's identity: its purl when it has a non-blank one, else
/// `name@version` (`name@` without a version).
pub fn component_identity(finding: &FindingView) -> String {
    match finding
        .purl
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => p.to_owned(),
        None => format!(
            "{}@{}",
            finding.component,
            finding.component_version.as_deref().unwrap_or("")
        ),
    }
}

/// `partialFingerprints["rampart/v1"]`: lower-case hex SHA-256 (64 digits) of
/// `"{asset_key}|{vulnerability}|{component identity}"` ([`component_identity`]).
pub fn fingerprint(finding: &FindingView) -> String {
    let input = format!(
        "{}|{}|{}",
        finding.asset_key,
        finding.vulnerability,
        component_identity(finding)
    );
    hex(&Sha256::digest(input.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Percent-encodes `s` as one URI path segment (see "Location" in the module docs).
fn segment(s: &str) -> String {
    if s.is_empty() {
        return "_".to_owned();
    }
    let all_dots = s.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'~')
            || (b == b'.' && !all_dots);
        if keep {
            out.push(char::from(b));
        } else {
            const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// `artifactLocation.uri` of a finding: `rampart/<asset key>/<component identity>`, each part
/// one percent-encoded path segment (see "Location" in the module docs).
pub fn artifact_uri(finding: &FindingView) -> String {
    format!(
        "rampart/{}/{}",
        segment(&finding.asset_key),
        segment(&component_identity(finding))
    )
}

/// `helpUri` of a vulnerability id: NVD for `CVE-` ids, else OSV.dev (which has OSV, GHSA and
/// CVE records).
pub fn help_uri(vulnerability: &str) -> String {
    let id = segment(vulnerability);
    if vulnerability.starts_with("CVE-") {
        format!("https://nvd.nist.gov/vuln/detail/{id}")
    } else {
        format!("https://osv.dev/vulnerability/{id}")
    }
}

/// Whether an analysis state suppresses the result.
fn suppressing(state: &str) -> bool {
    let s = state.trim();
    [
        "not_affected",
        "false_positive",
        "not affected",
        "false positive",
    ]
    .iter()
    .any(|x| s.eq_ignore_ascii_case(x))
}

/// Cuts `s` to at most `max` characters, ending with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Removes blanks; a non-empty text, else `fallback`.
fn or_else(s: &str, fallback: impl FnOnce() -> String) -> String {
    let t = s.trim();
    if t.is_empty() {
        fallback()
    } else {
        t.to_owned()
    }
}

/// Everything a rule needs from the findings of one vulnerability.
struct RuleData<'a> {
    first: &'a FindingView,
    level: Level,
    cves: Vec<&'a str>,
    cwes: Vec<&'a str>,
}

fn rule(id: &str, r: &RuleData<'_>) -> Value {
    let summary = or_else(&r.first.summary, || format!("Vulnerability {id}"));
    let uri = help_uri(id);
    let mut full = summary.clone();
    if !full.ends_with(['.', '!', '?']) {
        full.push('.');
    }
    let aliases: Vec<&str> = r.cves.iter().copied().filter(|c| *c != id).collect();
    if !aliases.is_empty() {
        full.push_str(&format!(" Aliases: {}.", aliases.join(", ")));
    }
    if !r.cwes.is_empty() {
        full.push_str(&format!(" Weaknesses: {}.", r.cwes.join(", ")));
    }
    let mut tags: Vec<String> = vec!["security".to_owned(), "vulnerability".to_owned()];
    tags.extend(r.cwes.iter().take(MAX_TAGS - 2).map(|c| (*c).to_owned()));
    let help_text = format!(
        "{id}: {summary}\n{}\nMore: {uri}",
        full_tail(&aliases, &r.cwes)
    );
    let help_markdown = format!(
        "**[{id}]({uri})**: {}\n\n{}",
        markdown_escape(&summary),
        markdown_tail(&aliases, &r.cwes)
    );
    json!({
        "id": id,
        "shortDescription": {"text": cut(&summary, MAX_DESCRIPTION_CHARS)},
        "fullDescription": {"text": cut(&full, MAX_DESCRIPTION_CHARS)},
        "helpUri": uri,
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": sarif_level_of(r.level)},
        "properties": {
            "security-severity": security_severity_of(r.level),
            "tags": tags,
        },
    })
}

fn full_tail(aliases: &[&str], cwes: &[&str]) -> String {
    format!(
        "Aliases: {}\nWeaknesses: {}",
        if aliases.is_empty() {
            "none".to_owned()
        } else {
            aliases.join(", ")
        },
        if cwes.is_empty() {
            "none".to_owned()
        } else {
            cwes.join(", ")
        }
    )
}

fn markdown_tail(aliases: &[&str], cwes: &[&str]) -> String {
    let cve_links: Vec<String> = aliases
        .iter()
        .map(|c| format!("[{c}]({})", help_uri(c)))
        .collect();
    format!(
        "| Aliases | Weaknesses |\n| --- | --- |\n| {} | {} |",
        if cve_links.is_empty() {
            "none".to_owned()
        } else {
            cve_links.join(", ")
        },
        if cwes.is_empty() {
            "none".to_owned()
        } else {
            markdown_escape(&cwes.join(", "))
        }
    )
}

/// Escapes the characters that Markdown would read as markup or table cell separators.
fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(if c == '\n' { ' ' } else { c });
    }
    out
}

fn result(s: &SarifFinding<'_>, rule_index: usize) -> Value {
    let f = s.finding;
    let level = level_of(f);
    let component = component_identity(f);
    let fp = fingerprint(f);
    let version = f.component_version.as_deref().unwrap_or("(no version)");
    let mut message = format!(
        "{} in {} {} (asset {}). Risk {} (score {} = likelihood {} x impact {})",
        f.vulnerability,
        f.component,
        version,
        f.asset_key,
        level_name(level).replace('_', " "),
        f.score,
        f.likelihood,
        f.impact
    );
    if f.kev {
        message.push_str("; listed in CISA KEV (known exploited)");
    }
    if let Some(d) = s.ssvc {
        message.push_str(&format!("; SSVC {d}"));
    }
    if let Some(a) = s.analysis_state {
        message.push_str(&format!("; analysis {a}"));
    }
    message.push('.');
    let summary = f.summary.trim();
    if !summary.is_empty() {
        message.push(' ');
        message.push_str(summary);
    }
    let mut properties = json!({
        "likelihood": f.likelihood,
        "impact": f.impact,
        "score": f.score,
        "level": level_name(level),
        "kev": f.kev,
        "ssvc": s.ssvc,
        "confidence": f.confidence,
        "component": f.component,
        "componentVersion": f.component_version,
        "purl": f.purl,
        "cves": f.cves,
    });
    if let (Some(state), Some(map)) = (s.analysis_state, properties.as_object_mut()) {
        map.insert("analysisState".to_owned(), json!(state));
    }
    let mut out = json!({
        "ruleId": f.vulnerability,
        "ruleIndex": rule_index,
        "level": sarif_level_of(level),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(f)},
                "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
            },
            "message": {"text": format!("asset {}, component {}", f.asset_key, component)},
        }],
        "partialFingerprints": {
            FINGERPRINT_KEY: fp,
            "primaryLocationLineHash": format!("{}:1", &fp[..16]),
        },
        "properties": properties,
    });
    if let (Some(state), Some(map)) = (
        s.analysis_state.filter(|s| suppressing(s)),
        out.as_object_mut(),
    ) {
        let justification = s
            .analysis_detail
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map_or_else(
                || format!("analysis state: {}", state.trim()),
                str::to_owned,
            );
        map.insert(
            "suppressions".to_owned(),
            json!([{"kind": "external", "status": "accepted", "justification": justification}]),
        );
    }
    out
}

/// A SARIF 2.1.0 log (one run) of `findings`, for GitHub code scanning; `tool_version` is
/// `tool.driver.version` (Rampart's version). Deterministic: the same findings, in any order,
/// give the same JSON (rules sorted by id, results by asset key, vulnerability id, component
/// identity and fingerprint). See the module docs for every field. Never fails; an empty
/// slice gives a run with no rules and no results.
pub fn sarif(findings: &[SarifFinding<'_>], tool_version: &str) -> Value {
    let mut order: Vec<(String, &SarifFinding<'_>)> = findings
        .iter()
        .map(|s| (fingerprint(s.finding), s))
        .collect();
    order.sort_by(|(fa, a), (fb, b)| {
        let (a, b) = (a.finding, b.finding);
        (&a.asset_key, &a.vulnerability, component_identity(a), fa).cmp(&(
            &b.asset_key,
            &b.vulnerability,
            component_identity(b),
            fb,
        ))
    });

    let mut rules: BTreeMap<&str, RuleData<'_>> = BTreeMap::new();
    for (_, s) in &order {
        let f = s.finding;
        let r = rules
            .entry(f.vulnerability.as_str())
            .or_insert_with(|| RuleData {
                first: f,
                level: level_of(f),
                cves: Vec::new(),
                cwes: Vec::new(),
            });
        r.level = r.level.max(level_of(f));
        r.cves.extend(f.cves.iter().map(String::as_str));
        r.cwes.extend(f.cwes.iter().map(String::as_str));
    }
    for r in rules.values_mut() {
        r.cves.sort_unstable();
        r.cves.dedup();
        r.cwes.sort_unstable();
        r.cwes.dedup();
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let rule_values: Vec<Value> = rules.iter().map(|(id, r)| rule(id, r)).collect();
    let results: Vec<Value> = order
        .iter()
        .map(|(_, s)| {
            let i = index
                .get(s.finding.vulnerability.as_str())
                .copied()
                .unwrap_or(0);
            result(s, i)
        })
        .collect();

    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": TOOL_NAME,
                    "version": tool_version,
                    "rules": rule_values,
                },
            },
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finding built through serde, so fields added to the contract later with defaults do
    /// not break the test.
    fn finding(
        asset: &str,
        vuln: &str,
        component: &str,
        version: Option<&str>,
        purl: Option<&str>,
        level: &str,
        score: u8,
    ) -> FindingView {
        serde_json::from_value(json!({
            "asset_key": asset,
            "vulnerability": vuln,
            "cves": if vuln.starts_with("GHSA") { vec!["CVE-2021-44228"] } else { vec![] },
            "cwes": ["CWE-917", "CWE-502", "CWE-20", "CWE-502"],
            "component": component,
            "component_version": version,
            "purl": purl,
            "cpe": null,
            "kev": vuln.starts_with("GHSA"), // the log4j finding
            // A likelihood and an impact whose product is the score.
            "likelihood": match score { 25 => 5, 16 | 12 => 4, 6 => 3, _ => 2 },
            "impact": match score { 25 => 5, 16 => 4, 12 => 3, 6 => 2, _ => 1 },
            "score": score,
            "level": level,
            "confidence": "high",
            "summary": format!("Summary of {vuln}"),
            "rationale": ["because"],
        }))
        .unwrap()
    }

    #[test]
    fn levels_and_severities() {
        let expect = [
            ("very_high", 25, "error", "9.5"),
            ("high", 16, "error", "8.0"),
            ("moderate", 12, "warning", "5.5"),
            ("low", 6, "note", "3.0"),
            ("very_low", 2, "note", "1.0"),
            ("Very High", 25, "error", "9.5"),
            ("very-low", 2, "note", "1.0"),
            ("bogus", 20, "error", "9.5"),
            ("bogus", 0, "warning", "5.5"),
        ];
        for (level, score, sarif, sev) in expect {
            let f = finding("a", "CVE-1", "c", None, None, level, score);
            assert_eq!(
                (sarif_level(&f), security_severity(&f)),
                (sarif, sev),
                "{level} {score}"
            );
            let n: f64 = sev.parse().unwrap();
            assert!((0.1..=10.0).contains(&n));
        }
    }

    #[test]
    fn uris_are_single_segments_and_fingerprints_stable() {
        let f = finding(
            "purl:pkg:maven/io.dropwizard/dropwizard-core@1.3.15",
            "GHSA-jfh8-c2jp-5v3q",
            "log4j-core",
            Some("2.14.1"),
            Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar"),
            "very_high",
            25,
        );
        assert_eq!(
            artifact_uri(&f),
            "rampart/purl%3Apkg%3Amaven%2Fio.dropwizard%2Fdropwizard-core%401.3.15/\
             pkg%3Amaven%2Forg.apache.logging.log4j%2Flog4j-core%402.14.1%3Ftype%3Djar"
        );
        let g = finding("..", "CVE-2", "x y", None, None, "low", 5);
        assert_eq!(artifact_uri(&g), "rampart/%2E%2E/x%20y%40");
        assert_eq!(component_identity(&g), "x y@");
        // Hand-checkable: sha256("a|CVE-1|c@1.0").
        let h = finding("a", "CVE-1", "c", Some("1.0"), None, "low", 5);
        let expected = hex(&Sha256::digest(b"a|CVE-1|c@1.0"));
        assert_eq!(fingerprint(&h), expected);
        assert_eq!(fingerprint(&h).len(), 64);
        assert_eq!(
            help_uri("CVE-2021-44228"),
            "https://nvd.nist.gov/vuln/detail/CVE-2021-44228"
        );
        assert_eq!(
            help_uri("GHSA-jfh8-c2jp-5v3q"),
            "https://osv.dev/vulnerability/GHSA-jfh8-c2jp-5v3q"
        );
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    fn validator() -> jsonschema::Validator {
        // The official schema, errata01, draft-04 (tests/fixtures/README.md).
        let schema: Value =
            serde_json::from_str(include_str!("../tests/fixtures/sarif-schema-2.1.0.json"))
                .unwrap();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
        jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    }

    fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
        v.iter_errors(doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    fn sample() -> Vec<FindingView> {
        vec![
            finding(
                "purl:pkg:maven/io.dropwizard/dropwizard-example@1.3.15",
                "GHSA-jfh8-c2jp-5v3q",
                "log4j-core",
                Some("2.14.1"),
                Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
                "very_high",
                25,
            ),
            finding(
                "purl:pkg:maven/io.dropwizard/dropwizard-example@1.3.15",
                "CVE-2022-42889",
                "commons-text",
                Some("1.9"),
                Some("pkg:maven/org.apache.commons/commons-text@1.9"),
                "high",
                16,
            ),
            // Same vulnerability on another asset, lower level: the rule takes the highest.
            finding(
                "ip:10.0.0.7",
                "CVE-2022-42889",
                "commons-text",
                Some("1.9"),
                None,
                "moderate",
                12,
            ),
            finding(
                "ip:10.0.0.7",
                "CVE-2024-6387",
                "OpenSSH",
                Some("8.9p1"),
                None,
                "low",
                6,
            ),
            finding(
                "cdx:app@1",
                "CVE-2021-44906",
                "minimist",
                None,
                Some("pkg:npm/minimist"),
                "very_low",
                2,
            ),
        ]
    }

    fn wrap(findings: &[FindingView]) -> Vec<SarifFinding<'_>> {
        findings
            .iter()
            .enumerate()
            .map(|(i, f)| SarifFinding {
                finding: f,
                analysis_state: match i {
                    3 => Some("not_affected"),
                    4 => Some("false_positive"),
                    1 => Some("exploitable"),
                    _ => None,
                },
                analysis_detail: (i == 3)
                    .then_some("OpenSSH is built without the vulnerable code path"),
                ssvc: match i {
                    0 => Some("Act"),
                    1 => Some("Track*"),
                    _ => None,
                },
            })
            .collect()
    }

    #[test]
    fn output_validates_against_the_sarif_schema() {
        let v = validator();
        let findings = sample();
        let out = sarif(&wrap(&findings), "0.1.0");
        let errs = errors(&v, &out);
        assert!(errs.is_empty(), "{errs:#?}\n{out:#}");
        // The empty log is valid too.
        let empty = sarif(&[], "0.1.0");
        assert!(errors(&v, &empty).is_empty());
        assert_eq!(empty["runs"][0]["results"], json!([]));
        // The validator is not vacuous: a wrong level, a missing message and a negative line
        // are each rejected.
        let mut bad = out.clone();
        bad["runs"][0]["results"][0]["level"] = json!("fatal");
        assert!(!errors(&v, &bad).is_empty());
        let mut bad = out.clone();
        bad["runs"][0]["results"][0]
            .as_object_mut()
            .unwrap()
            .remove("message");
        assert!(!errors(&v, &bad).is_empty());
        let mut bad = out.clone();
        bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
            json!(0);
        assert!(!errors(&v, &bad).is_empty());
        let mut bad = out;
        bad["runs"][0]["results"][0]["suppressions"] = json!([{"kind": "elsewhere"}]);
        assert!(!errors(&v, &bad).is_empty());
    }

    #[test]
    fn sarif_content_for_github() {
        let findings = sample();
        let out = sarif(&wrap(&findings), "0.1.0");
        assert_eq!(out["version"], "2.1.0");
        assert_eq!(out["$schema"], SARIF_SCHEMA);
        let run = &out["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "Rampart");
        assert_eq!(run["tool"]["driver"]["version"], "0.1.0");

        // One rule per vulnerability, sorted, with GitHub's required and recommended fields.
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "CVE-2021-44906",
                "CVE-2022-42889",
                "CVE-2024-6387",
                "GHSA-jfh8-c2jp-5v3q"
            ]
        );
        let commons = &rules[1];
        assert_eq!(commons["properties"]["security-severity"], "8.0");
        assert_eq!(commons["defaultConfiguration"]["level"], "error");
        assert_eq!(
            commons["shortDescription"]["text"],
            "Summary of CVE-2022-42889"
        );
        assert_eq!(
            commons["helpUri"],
            "https://nvd.nist.gov/vuln/detail/CVE-2022-42889"
        );
        assert_eq!(
            commons["properties"]["tags"],
            json!(["security", "vulnerability", "CWE-20", "CWE-502", "CWE-917"])
        );
        for r in rules {
            assert!(!r["fullDescription"]["text"].as_str().unwrap().is_empty());
            assert!(!r["help"]["text"].as_str().unwrap().is_empty());
            let sev: f64 = r["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(sev > 0.0 && sev <= 10.0);
        }
        let ghsa = &rules[3];
        assert_eq!(
            ghsa["helpUri"],
            "https://osv.dev/vulnerability/GHSA-jfh8-c2jp-5v3q"
        );
        assert_eq!(ghsa["properties"]["security-severity"], "9.5");
        assert!(
            ghsa["fullDescription"]["text"]
                .as_str()
                .unwrap()
                .contains("CVE-2021-44228")
        );

        // Results sorted by asset key, then vulnerability; rule indexes point at their rule.
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 5);
        let keys: Vec<(&str, &str)> = results
            .iter()
            .map(|r| {
                (
                    r["properties"]["component"].as_str().unwrap(),
                    r["ruleId"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("minimist", "CVE-2021-44906"),
                ("commons-text", "CVE-2022-42889"),
                ("OpenSSH", "CVE-2024-6387"),
                ("commons-text", "CVE-2022-42889"),
                ("log4j-core", "GHSA-jfh8-c2jp-5v3q"),
            ]
        );
        for r in results {
            let i = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
            assert_eq!(rules[i]["id"], r["ruleId"]);
            assert!(!r["message"]["text"].as_str().unwrap().is_empty());
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(
                uri.starts_with("rampart/") && uri.split('/').count() == 3,
                "{uri}"
            );
            let line_hash = r["partialFingerprints"]["primaryLocationLineHash"]
                .as_str()
                .unwrap();
            let fp = r["partialFingerprints"]["rampart/v1"].as_str().unwrap();
            assert_eq!(line_hash, format!("{}:1", &fp[..16]));
        }
        let log4j = &results[4];
        assert_eq!(log4j["level"], "error");
        assert_eq!(log4j["properties"]["kev"], true);
        assert_eq!(log4j["properties"]["ssvc"], "Act");
        assert_eq!(log4j["properties"]["score"], 25);
        assert_eq!(log4j["properties"]["likelihood"], 5);
        assert_eq!(log4j["properties"]["impact"], 5);
        assert!(log4j.get("suppressions").is_none());
        let text = log4j["message"]["text"].as_str().unwrap();
        assert!(text.starts_with(
            "GHSA-jfh8-c2jp-5v3q in log4j-core 2.14.1 (asset purl:pkg:maven/io.dropwizard/dropwizard-example@1.3.15)."
        ), "{text}");
        assert!(
            text.contains("CISA KEV") && text.contains("SSVC Act"),
            "{text}"
        );
        assert!(
            text.contains("Risk very high (score 25 = likelihood 5 x impact 5)"),
            "{text}"
        );
        assert_eq!(results[1]["level"], "warning");
        assert_eq!(results[1]["properties"]["ssvc"], Value::Null);
        assert_eq!(results[2]["level"], "note");
        assert_eq!(results[0]["level"], "note");
        assert_eq!(results[3]["properties"]["analysisState"], "exploitable");
        assert!(results[3].get("suppressions").is_none());

        // not_affected and false_positive are suppressed, with the detail as justification.
        let openssh = &results[2];
        assert_eq!(
            openssh["suppressions"],
            json!([{
                "kind": "external",
                "status": "accepted",
                "justification": "OpenSSH is built without the vulnerable code path"
            }])
        );
        assert_eq!(
            results[0]["suppressions"][0]["justification"],
            "analysis state: false_positive"
        );
    }

    #[test]
    fn sarif_fingerprints_are_stable_and_distinct() {
        let findings = sample();
        let wrapped = wrap(&findings);
        let a = sarif(&wrapped, "0.1.0");
        // Any input order, and a later run, give the same document and fingerprints.
        let mut reversed = wrapped.clone();
        reversed.reverse();
        let b = sarif(&reversed, "0.1.0");
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let fps: Vec<&str> = a["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"]["rampart/v1"].as_str().unwrap())
            .collect();
        let distinct: std::collections::BTreeSet<&str> = fps.iter().copied().collect();
        assert_eq!(distinct.len(), fps.len(), "{fps:?}");
        assert!(
            fps.iter()
                .all(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit()))
        );
        // Scores, levels, summaries and triage do not change a finding's identity ...
        let mut rescored = findings.clone();
        rescored[0].score = 4;
        rescored[0].level = "very_low".to_owned();
        rescored[0].summary = "changed".to_owned();
        assert_eq!(fingerprint(&rescored[0]), fingerprint(&findings[0]));
        // ... its asset, vulnerability and component (purl, else name and version) do.
        let mut moved = findings[2].clone();
        moved.component_version = Some("1.10.0".to_owned());
        assert_ne!(fingerprint(&moved), fingerprint(&findings[2]));
        let mut other_asset = findings[0].clone();
        other_asset.asset_key = "ip:10.0.0.8".to_owned();
        assert_ne!(fingerprint(&other_asset), fingerprint(&findings[0]));
        // The same vulnerability and component on two assets are two findings (results 1 and 3).
        assert_ne!(fingerprint(&findings[1]), fingerprint(&findings[2]));
    }

    #[test]
    fn sarif_rule_tags_are_capped_and_descriptions_cut() {
        let mut f = finding("a", "OSV-1", "c", Some("1"), None, "high", 16);
        f.cwes = (1..=40).map(|i| format!("CWE-{i}")).collect();
        f.summary = "x".repeat(5000);
        let out = sarif(
            &[SarifFinding {
                finding: &f,
                analysis_state: None,
                analysis_detail: None,
                ssvc: None,
            }],
            "1",
        );
        let rule = &out["runs"][0]["tool"]["driver"]["rules"][0];
        assert_eq!(
            rule["properties"]["tags"].as_array().unwrap().len(),
            MAX_TAGS
        );
        assert_eq!(
            rule["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            MAX_DESCRIPTION_CHARS
        );
        assert_eq!(
            rule["fullDescription"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            MAX_DESCRIPTION_CHARS
        );
        assert!(errors(&validator(), &out).is_empty());
    }
}
