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
//! statement = { size = { field = "uri", max_bytes = 2048 } }
//! ```
//!
//! Statements: `ip_set` (IPv4/IPv6 CIDRs, a bare address is a /32 or /128), `geo_match`
//! (ISO 3166-1 alpha-2 codes, looked up by the caller's country database), `size` (URI, header
//! count, one header's bytes, body bytes), `method`, `path_prefix`, and `and` / `or` / `not`,
//! and at a rule's top level `rate_based` (AWS WAF's rate-based rule statement):
//!
//! ```toml
//! [[rules]]
//! name = "flood-guard"
//! action = "block"
//! statement = { rate_based = { limit = 600, window_s = 60, aggregate = "ip", scope_down = { path_prefix = ["/api/"] } } }
//! ```
//!
//! A rate-based statement counts the requests that reach it (and match its optional
//! `scope_down`) under a key chosen by `aggregate` (`ip`: the client address; `forwarded_ip`:
//! the first `X-Forwarded-For` address as sent, requests without one are not counted;
//! `client_id`: the client the request claims, its bearer token's `client_id` / `sub` or its
//! Basic user name, unverified as AWS WAF's custom keys are, the client address when it claims
//! none; `constant`: one key for all) and matches while the key is over `limit` requests per
//! `window_s` (60 to 600 s, AWS WAF's evaluation windows). The state behind it is kept by the
//! caller ([`Context::over_rate`]). [`RuleSet::parse`] validates everything at load: a bad file
//! is refused with the line of the problem, so the rules in force stay.

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

/// How a rate-based statement groups requests (AWS WAF `AggregateKeyType`; module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// The client address (the socket's, or the trusted proxies' `X-Forwarded-For` entry).
    #[default]
    Ip,
    /// The first `X-Forwarded-For` address, as sent.
    ForwardedIp,
    /// The client id the request claims.
    ClientId,
    /// All requests under one key.
    Constant,
}

/// Smallest `limit` of a rate-based statement (AWS WAF's minimum).
pub const MIN_RATE_LIMIT: u64 = 10;
/// Evaluation windows of a rate-based statement, seconds (AWS WAF's: 60 to 600 s).
pub const RATE_WINDOWS_S: std::ops::RangeInclusive<u64> = 60..=600;

/// The key a rate-based statement counted a request under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// `ip` and `forwarded_ip` aggregation.
    Ip(IpAddr),
    /// `client_id` aggregation.
    Client(String),
    /// `constant` aggregation.
    Constant,
}

impl std::fmt::Display for RateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "ip:{ip}"),
            Self::Client(c) => write!(f, "client:{c}"),
            Self::Constant => f.write_str("constant"),
        }
    }
}

/// What [`RuleSet::evaluate`] needs from outside the rules: the country database and the
/// rate-based statements' counters.
pub trait Context {
    /// The ISO 3166-1 alpha-2 country of `ip`; `None` when unknown (matched by no `geo_match`).
    fn country(&self, ip: IpAddr) -> Option<String>;
    /// Counts one request under `key` for the rate-based statement of rule `rule` (`limit`
    /// requests per `window_s` seconds); `Some(wait)` when the key is over the limit, with the
    /// time until one more request would be within it.
    fn over_rate(
        &self,
        rule: &str,
        limit: u64,
        window_s: u64,
        key: &RateKey,
    ) -> Option<std::time::Duration>;
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
    /// More than `limit` requests per `window_s` seconds under one key (module docs). Only at
    /// a rule's top level.
    RateBased {
        /// Requests allowed per window under one key (at least [`MIN_RATE_LIMIT`]).
        limit: u64,
        /// The window, seconds ([`RATE_WINDOWS_S`]).
        window_s: u64,
        /// The grouping key.
        #[serde(default)]
        aggregate: Aggregate,
        /// Only requests matching this are counted.
        #[serde(default)]
        scope_down: Option<Box<Statement>>,
    },
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

/// A rate-based match: the key over its limit and how long until it is within it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateHit {
    /// The key counted.
    pub key: RateKey,
    /// Until one more request under the key would be within the limit.
    pub retry_after: std::time::Duration,
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
    /// The first `X-Forwarded-For` address as sent (for `forwarded_ip` aggregation).
    pub forwarded: Option<IpAddr>,
    /// The client id the request claims (for `client_id` aggregation).
    pub claimed_client: Option<&'a str>,
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
    /// Set when the deciding rule is rate-based.
    pub rate: Option<RateHit>,
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
        Statement::RateBased {
            limit,
            window_s,
            scope_down,
            ..
        } => {
            if depth != 1 {
                return Err("rate_based is only allowed as a rule's statement".to_owned());
            }
            if *limit < MIN_RATE_LIMIT || *limit > 2_000_000_000 {
                return Err(format!(
                    "rate_based: limit {limit} is outside {MIN_RATE_LIMIT}..=2000000000"
                ));
            }
            if !RATE_WINDOWS_S.contains(window_s) {
                return Err(format!(
                    "rate_based: window_s {window_s} is outside 60..=600 seconds"
                ));
            }
            scope_down
                .as_deref()
                .map_or(Ok(()), |s| check(s, depth + 1))
        }
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

    /// Evaluates the rules on `req` (module docs); `ctx` looks addresses up in the user's
    /// country database and keeps the rate-based statements' counters.
    pub fn evaluate(&self, req: &RequestView<'_>, ctx: &dyn Context) -> Verdict {
        let mut counted = Vec::new();
        let mut labels = Vec::new();
        for r in &self.rules {
            let rate = if let Statement::RateBased {
                limit,
                window_s,
                aggregate,
                scope_down,
            } = &r.statement
            {
                if scope_down.as_deref().is_some_and(|s| !matches(s, req, ctx)) {
                    continue;
                }
                let key = match aggregate {
                    Aggregate::Ip => RateKey::Ip(req.client),
                    Aggregate::ForwardedIp => match req.forwarded {
                        Some(ip) => RateKey::Ip(ip),
                        None => continue,
                    },
                    Aggregate::ClientId => req
                        .claimed_client
                        .map_or(RateKey::Ip(req.client), |c| RateKey::Client(c.to_owned())),
                    Aggregate::Constant => RateKey::Constant,
                };
                match ctx.over_rate(&r.name, *limit, *window_s, &key) {
                    Some(retry_after) => Some(RateHit { key, retry_after }),
                    None => continue,
                }
            } else {
                if !matches(&r.statement, req, ctx) {
                    continue;
                }
                None
            };
            labels.extend(r.labels.iter().cloned());
            match r.action {
                Action::Count => counted.push(r.name.clone()),
                action => {
                    return Verdict {
                        action,
                        rule: Some(r.name.clone()),
                        counted,
                        labels,
                        rate,
                    };
                }
            }
        }
        Verdict {
            action: self.default_action,
            rule: None,
            counted,
            labels,
            rate: None,
        }
    }

    /// Whether a rate-based rule aggregates by client id (the caller then extracts the
    /// claimed client id of each request).
    pub fn aggregates_by_client(&self) -> bool {
        self.rules.iter().any(|r| {
            matches!(
                r.statement,
                Statement::RateBased {
                    aggregate: Aggregate::ClientId,
                    ..
                }
            )
        })
    }

    /// The rate-based rules: `(name, limit, window_s)`, for the caller's counters.
    pub fn rate_rules(&self) -> impl Iterator<Item = (&str, u64, u64)> {
        self.rules.iter().filter_map(|r| match &r.statement {
            Statement::RateBased {
                limit, window_s, ..
            } => Some((r.name.as_str(), *limit, *window_s)),
            _ => None,
        })
    }
}

fn matches(s: &Statement, req: &RequestView<'_>, ctx: &dyn Context) -> bool {
    match s {
        Statement::IpSet(nets) => nets.iter().any(|n| n.contains(&req.client)),
        Statement::GeoMatch(codes) => ctx.country(req.client).is_some_and(|c| codes.contains(&c)),
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
        Statement::And(v) => v.iter().all(|s| matches(s, req, ctx)),
        Statement::Or(v) => v.iter().any(|s| matches(s, req, ctx)),
        Statement::Not(s) => !matches(s, req, ctx),
        // Only at the top level (checked at load), handled by `evaluate`.
        Statement::RateBased { .. } => false,
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
            forwarded: None,
            claimed_client: None,
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

    /// Country of 192.0.2.7 is KP; a rate-based key is over its limit after `limit` requests
    /// (a plain counter: the real counters are the shield's).
    #[derive(Default)]
    struct Ctx(std::sync::Mutex<std::collections::HashMap<String, u64>>);

    impl Context for Ctx {
        fn country(&self, ip: IpAddr) -> Option<String> {
            (ip.to_string() == "192.0.2.7").then(|| "KP".to_owned())
        }
        fn over_rate(
            &self,
            rule: &str,
            limit: u64,
            _window_s: u64,
            key: &RateKey,
        ) -> Option<std::time::Duration> {
            let mut m = self.0.lock().unwrap();
            let n = m.entry(format!("{rule}/{key}")).or_default();
            *n += 1;
            (*n > limit).then_some(std::time::Duration::from_secs(6))
        }
    }

    #[test]
    fn rate_based_rules_count_per_key_within_their_scope() {
        let set = RuleSet::parse(
            r#"
default_action = "allow"
[[rules]]
name = "api-flood"
action = "block"
statement = { rate_based = { limit = 10, window_s = 60, scope_down = { path_prefix = ["/api/"] } } }
[[rules]]
name = "per-client"
action = "block"
statement = { rate_based = { limit = 10, window_s = 60, aggregate = "client_id" } }
"#,
        )
        .unwrap();
        assert_eq!(
            set.rate_rules().collect::<Vec<_>>(),
            [("api-flood", 10, 60), ("per-client", 10, 60)]
        );
        let ctx = Ctx::default();
        for _ in 0..10 {
            let v = set.evaluate(&req("10.0.0.1", "GET", "/api/v1/risks"), &ctx);
            assert_eq!(v.action, Action::Allow);
        }
        let v = set.evaluate(&req("10.0.0.1", "GET", "/api/v1/risks"), &ctx);
        assert_eq!(v.rule.as_deref(), Some("api-flood"));
        assert_eq!(
            v.rate,
            Some(RateHit {
                key: RateKey::Ip("10.0.0.1".parse().unwrap()),
                retry_after: std::time::Duration::from_secs(6)
            })
        );
        // Another source has its own count; outside the scope nothing is counted by the first.
        let v = set.evaluate(&req("10.0.0.2", "GET", "/api/v1/risks"), &ctx);
        assert_eq!(v.action, Action::Allow);
        let mut r = req("10.0.0.1", "GET", "/livez");
        r.claimed_client = Some("ci");
        for _ in 0..10 {
            assert_eq!(set.evaluate(&r, &ctx).action, Action::Allow);
        }
        let v = set.evaluate(&r, &ctx);
        assert_eq!(v.rule.as_deref(), Some("per-client"));
        assert_eq!(
            v.rate.map(|h| h.key),
            Some(RateKey::Client("ci".to_owned()))
        );
    }

    #[test]
    fn rate_based_is_validated() {
        for (body, needle) in [
            ("{ rate_based = { limit = 5, window_s = 60 } }", "limit 5"),
            (
                "{ rate_based = { limit = 100, window_s = 30 } }",
                "window_s 30",
            ),
            (
                "{ not = { rate_based = { limit = 100, window_s = 60 } } }",
                "only allowed",
            ),
            (
                "{ rate_based = { limit = 100, window_s = 60, aggregate = \"cookie\" } }",
                "cookie",
            ),
        ] {
            let text = format!(
                "default_action = \"allow\"\n[[rules]]\nname = \"r\"\naction = \"block\"\nstatement = {body}\n"
            );
            let e = RuleSet::parse(&text).unwrap_err();
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
    }

    #[test]
    fn first_deciding_rule_wins_and_count_rules_only_label() {
        let set = RuleSet::parse(RULES).unwrap();
        let v = set.evaluate(&req("192.0.2.7", "POST", "/api/v1/alarms"), &Ctx::default());
        assert_eq!(v.action, Action::Block);
        assert_eq!(v.rule.as_deref(), Some("geo-block-writes"));
        assert_eq!(v.counted, ["count-api"]);
        assert_eq!(v.labels, ["api", "geo"]);
        // Reads from the same country pass; the office range is allowed before any block.
        let v = set.evaluate(&req("192.0.2.7", "GET", "/api/v1/risks"), &Ctx::default());
        assert_eq!((v.action, v.rule), (Action::Allow, None));
        let long =
            "/api/v1/assets/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let v = set.evaluate(&req("2001:db8:1::5", "GET", long), &Ctx::default());
        assert_eq!(v.rule.as_deref(), Some("office"));
        let v = set.evaluate(&req("10.0.0.1", "GET", long), &Ctx::default());
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
