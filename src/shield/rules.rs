//! Request-filtering rules in the manner of AWS WAF (AWS WAF Developer Guide, "Rules" and
//! "Rule statements"): an ordered list of rules, each a statement and an action (`allow`,
//! `block`, `count`), with labels, and a default action.
//!
//! Evaluation (the guide's "How AWS WAF processes a web ACL"): rules are tried in order; the
//! first matching rule whose action is `allow` or `block` decides; a matching `count` rule only
//! adds its labels and is counted, and evaluation goes on; when nothing decides, the default
//! action does.
//!
//! The file is TOML:
//!
//! ```toml
//! default_action = "allow"
//!
//! [[rules]]
//! name = "block-bad-range"
//! action = "block"
//! labels = ["bad-range"]
//! statement = { ip_set = ["203.0.113.0/24", "2001:db8::/32"] }
//!
//! [[rules]]
//! name = "no-big-uris"
//! action = "block"
//! statement = { not = { size = { field = "uri", max_bytes = 2048 } } }
//! ```
//!
//! Statements: `ip_set` (IPv4/IPv6 CIDRs, a bare address is a /32 or /128), `geo_match`
//! (ISO 3166-1 alpha-2 codes, looked up by the caller's country database), `size` (URI, header
//! count, one header's bytes, body bytes), `method`, `path_prefix`, and `and` / `or` / `not`.
//! Rate-based statements need per-key state and are evaluated elsewhere (issue 11, part of the
//! shield). [`RuleSet::parse`] validates everything at load: a bad file is refused with the
//! line of the problem, so the rules in force stay.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

/// Most rules in a file.
pub const MAX_RULES: usize = 1000;
/// Deepest nesting of `and` / `or` / `not`.
pub const MAX_DEPTH: usize = 8;

/// What a rule does when its statement matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let the request through; evaluation stops.
    Allow,
    /// Refuse the request (403); evaluation stops.
    Block,
    /// Count it and add the labels; evaluation goes on.
    Count,
}

/// What a `size` statement measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeField {
    /// The request target (path and query), bytes.
    Uri,
    /// How many headers.
    HeaderCount,
    /// The largest header (name + value), bytes.
    HeaderBytes,
    /// The body as declared by `Content-Length`, bytes.
    Body,
}

/// A statement (module docs). Exactly one key per table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Statement {
    /// The client address is in one of these networks.
    IpSet(Vec<IpNet>),
    /// The client address's country (ISO 3166-1 alpha-2) is one of these.
    GeoMatch(Vec<String>),
    /// `field` is larger than `max_bytes` (a count for `header_count`).
    Size {
        /// What is measured.
        field: SizeField,
        /// The largest allowed value; the statement matches above it.
        max_bytes: u64,
    },
    /// The method is one of these (upper case).
    Method(Vec<String>),
    /// The path starts with one of these.
    PathPrefix(Vec<String>),
    /// Every inner statement matches.
    And(Vec<Statement>),
    /// Any inner statement matches.
    Or(Vec<Statement>),
    /// The inner statement does not match.
    Not(Box<Statement>),
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name, used in metrics and logs.
    pub name: String,
    /// The action on a match.
    pub action: Action,
    /// Labels added on a match.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The statement.
    pub statement: Statement,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default_action: Action,
    #[serde(default)]
    rules: Vec<Rule>,
}

/// A validated rule list.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Applied when no rule decides (`allow` or `block`; `count` is refused at load).
    pub default_action: Action,
    /// In evaluation order.
    pub rules: Vec<Rule>,
}

/// A rule file that cannot be used; the message names the line when TOML gives one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules file, {}: {message}", line.map_or_else(|| "whole file".to_owned(), |l| format!("line {l}")))]
pub struct RuleError {
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// What the rules see of a request.
#[derive(Debug, Clone)]
pub struct RequestView<'a> {
    /// The client address (the socket's, or the trusted proxies' `X-Forwarded-For` entry).
    pub client: IpAddr,
    /// Upper-case method.
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// The request target's length, bytes.
    pub uri_bytes: u64,
    /// Number of headers.
    pub header_count: u64,
    /// The largest header's name + value, bytes.
    pub max_header_bytes: u64,
    /// `Content-Length`, when given.
    pub body_bytes: Option<u64>,
}

/// The outcome of [`RuleSet::evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `Allow` or `Block`.
    pub action: Action,
    /// The deciding rule's name; `None` when the default action decided.
    pub rule: Option<String>,
    /// Names of the `count` rules that matched on the way.
    pub counted: Vec<String>,
    /// Labels of every matching rule.
    pub labels: Vec<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn check(s: &Statement, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("statements nest deeper than {MAX_DEPTH} levels"));
    }
    match s {
        Statement::IpSet(nets) if nets.is_empty() => Err("ip_set is empty".to_owned()),
        Statement::GeoMatch(codes) => {
            if codes.is_empty() {
                return Err("geo_match is empty".to_owned());
            }
            match codes
                .iter()
                .find(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
            {
                Some(c) => Err(format!(
                    "geo_match: {c:?} is not an ISO 3166-1 alpha-2 code (two upper-case letters)"
                )),
                None => Ok(()),
            }
        }
        Statement::Method(ms) => match ms
            .iter()
            .find(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()))
        {
            Some(m) => Err(format!("method: {m:?} is not an upper-case HTTP method")),
            None if ms.is_empty() => Err("method is empty".to_owned()),
            None => Ok(()),
        },
        Statement::PathPrefix(ps) => match ps.iter().find(|p| !p.starts_with('/')) {
            Some(p) => Err(format!("path_prefix: {p:?} does not start with /")),
            None if ps.is_empty() => Err("path_prefix is empty".to_owned()),
            None => Ok(()),
        },
        Statement::And(v) | Statement::Or(v) => {
            if v.len() < 2 {
                return Err("and / or need at least two statements".to_owned());
            }
            v.iter().try_for_each(|s| check(s, depth + 1))
        }
        Statement::Not(s) => check(s, depth + 1),
        Statement::IpSet(_) | Statement::Size { .. } => Ok(()),
    }
}

impl RuleSet {
    /// Parses and validates a rules file (module docs).
    ///
    /// # Errors
    /// [`RuleError`] with the line: TOML syntax, an unknown key or statement, a bad CIDR,
    /// country code, method or path prefix, an empty list, a duplicate rule name, more than
    /// [`MAX_RULES`] rules or nesting deeper than [`MAX_DEPTH`], `count` as the default action.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let file: File = toml::from_str(text).map_err(|e| {
            let near: String = e
                .span()
                .and_then(|s| text.get(s))
                .map(|t| t.chars().take(80).collect())
                .unwrap_or_default();
            RuleError {
                line: e.span().map(|s| line_of(text, s.start)),
                message: if near.trim().is_empty() {
                    e.message().to_owned()
                } else {
                    format!("{} (at `{near}`)", e.message())
                },
            }
        })?;
        // Lines of the rules, for errors found after parsing.
        let rule_lines: Vec<usize> = text
            .match_indices("[[rules]]")
            .map(|(i, _)| line_of(text, i))
            .collect();
        let at = |i: usize, message: String| RuleError {
            line: rule_lines.get(i).copied(),
            message,
        };
        if file.default_action == Action::Count {
            return Err(RuleError {
                line: None,
                message: "default_action must be allow or block".to_owned(),
            });
        }
        if file.rules.len() > MAX_RULES {
            return Err(RuleError {
                line: None,
                message: format!("more than {MAX_RULES} rules"),
            });
        }
        let mut names = std::collections::HashSet::new();
        for (i, r) in file.rules.iter().enumerate() {
            if r.name.is_empty() || r.name.len() > 128 {
                return Err(at(i, "a rule name has 1 to 128 characters".to_owned()));
            }
            if !names.insert(r.name.as_str()) {
                return Err(at(i, format!("rule name {:?} is used twice", r.name)));
            }
            check(&r.statement, 1).map_err(|m| at(i, format!("rule {:?}: {m}", r.name)))?;
        }
        Ok(Self {
            default_action: file.default_action,
            rules: file.rules,
        })
    }

    /// Evaluates the rules on `req` (module docs); `country` looks an address up in the
    /// user's country database (`None`: unknown, matched by no `geo_match`).
    pub fn evaluate(
        &self,
        req: &RequestView<'_>,
        country: &dyn Fn(IpAddr) -> Option<String>,
    ) -> Verdict {
        let mut counted = Vec::new();
        let mut labels = Vec::new();
        for r in &self.rules {
            if !matches(&r.statement, req, country) {
                continue;
            }
            labels.extend(r.labels.iter().cloned());
            match r.action {
                Action::Count => counted.push(r.name.clone()),
                action => {
                    return Verdict {
                        action,
                        rule: Some(r.name.clone()),
                        counted,
                        labels,
                    };
                }
            }
        }
        Verdict {
            action: self.default_action,
            rule: None,
            counted,
            labels,
        }
    }
}

fn matches(
    s: &Statement,
    req: &RequestView<'_>,
    country: &dyn Fn(IpAddr) -> Option<String>,
) -> bool {
    match s {
        Statement::IpSet(nets) => nets.iter().any(|n| n.contains(&req.client)),
        Statement::GeoMatch(codes) => country(req.client).is_some_and(|c| codes.contains(&c)),
        Statement::Size { field, max_bytes } => {
            let v = match field {
                SizeField::Uri => req.uri_bytes,
                SizeField::HeaderCount => req.header_count,
                SizeField::HeaderBytes => req.max_header_bytes,
                SizeField::Body => req.body_bytes.unwrap_or(0),
            };
            v > *max_bytes
        }
        Statement::Method(ms) => ms.iter().any(|m| m == req.method),
        Statement::PathPrefix(ps) => ps.iter().any(|p| req.path.starts_with(p.as_str())),
        Statement::And(v) => v.iter().all(|s| matches(s, req, country)),
        Statement::Or(v) => v.iter().any(|s| matches(s, req, country)),
        Statement::Not(s) => !matches(s, req, country),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(client: &str, method: &'static str, path: &'static str) -> RequestView<'static> {
        RequestView {
            client: client.parse().unwrap(),
            method,
            path,
            uri_bytes: path.len() as u64,
            header_count: 3,
            max_header_bytes: 40,
            body_bytes: None,
        }
    }

    const RULES: &str = r#"
default_action = "allow"

[[rules]]
name = "count-api"
action = "count"
labels = ["api"]
statement = { path_prefix = ["/api/"] }

[[rules]]
name = "office"
action = "allow"
statement = { ip_set = ["198.51.100.0/24", "2001:db8:1::/48"] }

[[rules]]
name = "geo-block-writes"
action = "block"
labels = ["geo"]
statement = { and = [{ geo_match = ["KP", "IR"] }, { not = { method = ["GET", "HEAD"] } }] }

[[rules]]
name = "long-uri"
action = "block"
statement = { size = { field = "uri", max_bytes = 64 } }
"#;

    fn country(ip: IpAddr) -> Option<String> {
        (ip.to_string() == "192.0.2.7").then(|| "KP".to_owned())
    }

    #[test]
    fn first_deciding_rule_wins_and_count_rules_only_label() {
        let set = RuleSet::parse(RULES).unwrap();
        let v = set.evaluate(&req("192.0.2.7", "POST", "/api/v1/alarms"), &country);
        assert_eq!(v.action, Action::Block);
        assert_eq!(v.rule.as_deref(), Some("geo-block-writes"));
        assert_eq!(v.counted, ["count-api"]);
        assert_eq!(v.labels, ["api", "geo"]);
        // Reads from the same country pass; the office range is allowed before any block.
        let v = set.evaluate(&req("192.0.2.7", "GET", "/api/v1/risks"), &country);
        assert_eq!((v.action, v.rule), (Action::Allow, None));
        let long =
            "/api/v1/assets/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let v = set.evaluate(&req("2001:db8:1::5", "GET", long), &country);
        assert_eq!(v.rule.as_deref(), Some("office"));
        let v = set.evaluate(&req("10.0.0.1", "GET", long), &country);
        assert_eq!(v.rule.as_deref(), Some("long-uri"));
        assert_eq!(v.action, Action::Block);
    }

    #[test]
    fn bad_files_are_refused_with_their_line() {
        let cases = [
            (
                "default_action = \"allow\"\n[[rules]]\nname = \"x\"\naction = \"block\"\nstatement = { ip_set = [\"10.0.0.0/33\"] }\n",
                Some(5),
                "10.0.0.0/33",
            ),
            (
                "default_action = \"allow\"\n[[rules]]\nname = \"x\"\naction = \"deny\"\nstatement = { method = [\"GET\"] }\n",
                Some(4),
                "deny",
            ),
            (
                "default_action = \"allow\"\n[[rules]]\nname = \"x\"\naction = \"block\"\nstatement = { geo_match = [\"kp\"] }\n",
                Some(2),
                "alpha-2",
            ),
            (
                "default_action = \"allow\"\n\n[[rules]]\nname = \"x\"\naction = \"block\"\nstatement = { method = [\"GET\"] }\n[[rules]]\nname = \"x\"\naction = \"count\"\nstatement = { method = [\"PUT\"] }\n",
                Some(7),
                "twice",
            ),
            ("default_action = \"count\"\n", None, "allow or block"),
            (
                "default_action = \"allow\"\n[[rules]]\nname = \"x\"\naction = \"block\"\nstatement = { regex = [\".*\"] }\n",
                Some(5),
                "regex",
            ),
            (
                "default_action = \"allow\"\n[[rules]]\nname = \"x\"\naction = \"block\"\nstatement = { and = [{ method = [\"GET\"] }] }\n",
                Some(2),
                "two statements",
            ),
            ("default_action = \"allow\"\n[[rules\n", Some(2), ""),
        ];
        for (text, line, needle) in cases {
            let e = RuleSet::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let mut st = "{ method = [\"GET\"] }".to_owned();
        for _ in 0..MAX_DEPTH {
            st = format!("{{ not = {st} }}");
        }
        let text = format!(
            "default_action = \"allow\"\n[[rules]]\nname = \"deep\"\naction = \"block\"\nstatement = {st}\n"
        );
        let e = RuleSet::parse(&text).unwrap_err();
        assert!(e.message.contains("deeper"), "{e}");
    }
}

/// The rules in force, read from a file and replaced when the file changes and parses
/// (module docs: a bad file is refused and the rules in force stay). Cheap to clone.
#[derive(Clone)]
pub struct RuleFile {
    path: std::path::PathBuf,
    current: std::sync::Arc<arc_swap::ArcSwap<RuleSet>>,
    stamp: std::sync::Arc<std::sync::Mutex<Option<(std::time::SystemTime, u64)>>>,
}

/// Why a rules file could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum RuleFileError {
    /// The file could not be read.
    #[error("rules file {path}: {reason}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The file does not parse or validate.
    #[error("{path}: {error}")]
    Invalid {
        /// The file.
        path: std::path::PathBuf,
        /// Where and what.
        error: RuleError,
    },
}

impl RuleFile {
    /// Loads `path`.
    ///
    /// # Errors
    /// [`RuleFileError`]: unreadable or invalid (a node refuses to start with it).
    pub fn open(path: &std::path::Path) -> Result<Self, RuleFileError> {
        let (set, stamp) = Self::read(path)?;
        Ok(Self {
            path: path.to_owned(),
            current: std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(set)),
            stamp: std::sync::Arc::new(std::sync::Mutex::new(stamp)),
        })
    }

    fn read(
        path: &std::path::Path,
    ) -> Result<(RuleSet, Option<(std::time::SystemTime, u64)>), RuleFileError> {
        let read_err = |e: std::io::Error| RuleFileError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        let set = RuleSet::parse(&text).map_err(|error| RuleFileError::Invalid {
            path: path.to_owned(),
            error,
        })?;
        Ok((set, meta.modified().ok().map(|m| (m, meta.len()))))
    }

    /// The rules in force.
    pub fn current(&self) -> std::sync::Arc<RuleSet> {
        self.current.load_full()
    }

    /// Reloads the file if its modification time or size changed: `Ok(true)` when new rules
    /// are in force, `Ok(false)` when unchanged.
    ///
    /// # Errors
    /// [`RuleFileError`] for an unreadable or invalid file; the rules in force stay (and the
    /// same bad file is not reported again until it changes).
    pub fn reload_if_changed(&self) -> Result<bool, RuleFileError> {
        let meta = std::fs::metadata(&self.path).map_err(|e| RuleFileError::Read {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let now = meta.modified().ok().map(|m| (m, meta.len()));
        let mut stamp = match self.stamp.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if now.is_some() && *stamp == now {
            return Ok(false);
        }
        *stamp = now;
        let (set, _) = Self::read(&self.path)?;
        self.current.store(std::sync::Arc::new(set));
        Ok(true)
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn a_changed_file_replaces_the_rules_and_a_bad_one_leaves_them() {
        let dir = std::env::temp_dir().join(format!("rampart-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rules.toml");
        std::fs::write(&path, "default_action = \"allow\"\n").unwrap();
        let file = RuleFile::open(&path).unwrap();
        assert_eq!(file.current().default_action, Action::Allow);
        assert!(!file.reload_if_changed().unwrap(), "unchanged");

        std::fs::write(&path, "default_action = \"block\"\n# a longer file\n").unwrap();
        assert!(file.reload_if_changed().unwrap());
        assert_eq!(file.current().default_action, Action::Block);

        std::fs::write(
            &path,
            "default_action = \"allow\"\n[[rules]]\nname = \"x\"\n",
        )
        .unwrap();
        let e = file.reload_if_changed().unwrap_err().to_string();
        assert!(e.contains("rules.toml") && e.contains("line"), "{e}");
        assert_eq!(
            file.current().default_action,
            Action::Block,
            "the rules in force stay"
        );
        assert!(
            !file.reload_if_changed().unwrap(),
            "the bad file is reported once"
        );

        std::fs::write(&path, "not toml at all = = =\n").unwrap();
        assert!(RuleFile::open(&path).is_err(), "refused at start");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
