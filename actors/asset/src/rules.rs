//! Criticality rules: how an asset without an explicit criticality gets one.

use serde::{Deserialize, Serialize};

use super::error::ImportError;
use super::model::AssetKind;

/// One rule: when every condition that is set matches, the asset gets `criticality`.
/// A rule with no condition matches everything.
///
/// JSON shape: `{"kind": "host", "tag": "production", "name": "db-*", "criticality": 4}`
/// (every condition optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriticalityRule {
    /// Matches assets of this kind.
    #[serde(default)]
    pub kind: Option<AssetKind>,
    /// Matches assets carrying this tag (compared case-insensitively).
    #[serde(default)]
    pub tag: Option<String>,
    /// Glob on the asset name, case-insensitive: `*` matches any run of characters, `?` one
    /// character, everything else itself.
    #[serde(default)]
    pub name: Option<String>,
    /// The criticality given, 1..=5.
    pub criticality: u8,
}

impl CriticalityRule {
    fn matches(&self, kind: AssetKind, name: &str, tags: &[String]) -> bool {
        self.kind.is_none_or(|k| k == kind)
            && self
                .tag
                .as_deref()
                .is_none_or(|t| tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
            && self.name.as_deref().is_none_or(|g| glob_match(g, name))
    }
}

/// An ordered list of rules; the first match wins, else `default`. Also says which key/value
/// tags of a cloud inventory name an owner or carry a classification (used by the
/// `aws_config` importer, whose resources carry `key=value` tags rather than bare labels).
///
/// Deserialises from `{"rules": [...], "default": 3, "owner_tags": [...], "value_tags": [...]}`
/// (every key optional), e.g. the node's `[assets]` configuration section:
///
/// ```toml
/// [assets]
/// default = 3
/// owner_tags = ["owner", "team", "contact"]
/// value_tags = ["environment", "env", "stage", "tier", "workload-type", "classification", "data-classification"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriticalityRules {
    /// Rules, tried in order.
    #[serde(default)]
    pub rules: Vec<CriticalityRule>,
    /// Criticality when no rule matches, 1..=5.
    #[serde(default = "default_criticality")]
    pub default: u8,
    /// Tag keys (compared case-insensitively) whose value names the asset's owner, in order of
    /// preference: the first key of this list that a resource has gives
    /// [`Asset::owner`](rampart_contracts::asset::Asset::owner). Default `["owner", "team",
    /// "contact"]`.
    #[serde(default = "default_owner_tags")]
    pub owner_tags: Vec<String>,
    /// Tag keys (compared case-insensitively) whose lower-cased value also becomes a bare asset
    /// tag, so the rules above can match it: `workload-type=production` adds `production`,
    /// which the default rules rate 4. Default `["environment", "env", "stage", "tier",
    /// "workload-type", "classification", "data-classification"]`.
    #[serde(default = "default_value_tags")]
    pub value_tags: Vec<String>,
}

fn default_criticality() -> u8 {
    3
}

fn default_owner_tags() -> Vec<String> {
    ["owner", "team", "contact"].map(str::to_owned).to_vec()
}

fn default_value_tags() -> Vec<String> {
    [
        "environment",
        "env",
        "stage",
        "tier",
        "workload-type",
        "classification",
        "data-classification",
    ]
    .map(str::to_owned)
    .to_vec()
}

impl Default for CriticalityRules {
    /// Rampart's default rules, by tag (first match wins):
    ///
    /// | tag | criticality |
    /// |---|---|
    /// | `crown-jewel`, `pci`, `phi` (regulated or business-critical data) | 5 |
    /// | `production`, `prod`, `internet-facing` | 4 |
    /// | `staging` | 3 |
    /// | `dev`, `development`, `test`, `sandbox` | 2 |
    ///
    /// Everything else gets 3 (medium), the midpoint, so that an unclassified asset is neither
    /// ignored nor over-prioritised. `owner_tags` and `value_tags` take their documented
    /// defaults.
    fn default() -> Self {
        let tag = |t: &str, c: u8| CriticalityRule {
            kind: None,
            tag: Some(t.to_owned()),
            name: None,
            criticality: c,
        };
        Self {
            rules: vec![
                tag("crown-jewel", 5),
                tag("pci", 5),
                tag("phi", 5),
                tag("production", 4),
                tag("prod", 4),
                tag("internet-facing", 4),
                tag("staging", 3),
                tag("dev", 2),
                tag("development", 2),
                tag("test", 2),
                tag("sandbox", 2),
            ],
            default: 3,
            owner_tags: default_owner_tags(),
            value_tags: default_value_tags(),
        }
    }
}

impl CriticalityRules {
    /// Checks every criticality is within 1..=5.
    ///
    /// # Errors
    /// [`ImportError::InvalidRules`] naming the first bad rule (0-based index) or the default.
    pub fn validate(&self) -> Result<(), ImportError> {
        if !(1..=5).contains(&self.default) {
            return Err(ImportError::InvalidRules(format!(
                "default criticality {} is outside 1..=5",
                self.default
            )));
        }
        for (i, r) in self.rules.iter().enumerate() {
            if !(1..=5).contains(&r.criticality) {
                return Err(ImportError::InvalidRules(format!(
                    "rule {i} has criticality {} outside 1..=5",
                    r.criticality
                )));
            }
        }
        Ok(())
    }

    /// The criticality for an asset: the first matching rule's, else `default`.
    /// Values are clamped to 1..=5 (call [`validate`](Self::validate) to reject bad rules).
    pub fn evaluate(&self, kind: AssetKind, name: &str, tags: &[String]) -> u8 {
        self.rules
            .iter()
            .find(|r| r.matches(kind, name, tags))
            .map_or(self.default, |r| r.criticality)
            .clamp(1, 5)
    }
}

/// Case-insensitive glob with `*` and `?`, iterative (no recursion, O(n·m) worst case).
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("db-*", "DB-prod-1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*x*y", "axbxy"));
        assert!(!glob_match("web", "web1"));
    }
}
