//! FIRST's Exploit Prediction Scoring System (EPSS) scores, in the CSV FIRST publishes daily
//! (<https://www.first.org/epss/data_stats>; `https://epss.empiricalsecurity.com/epss_scores-current.csv.gz`,
//! gunzipped):
//!
//! ```text
//! #model_version:v2025.03.14,score_date:2026-11-23T12:55:00Z
//! cve,epss,percentile
//! CVE-2021-44228,0.94358,0.99956
//! ```
//!
//! The comment line is optional; `epss` is the probability (0..=1) of exploitation activity in
//! the next 30 days, `percentile` its rank among all scored CVEs (0..=1). Scoring uses `epss`
//! ([`crate::scoring`], likelihood step 3).

use std::collections::HashMap;

use crate::error::FeedError;
use crate::model::FeedFingerprint;

const FEED: &str = "EPSS CSV";

/// Most rows accepted (FIRST scores about 300 000 CVEs).
pub const MAX_ROWS: usize = 2_000_000;

/// One EPSS score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpssScore {
    /// Probability of exploitation activity in the next 30 days, 0..=1.
    pub epss: f64,
    /// Percentile among all scored CVEs, 0..=1.
    pub percentile: f64,
}

/// A parsed EPSS file.
#[derive(Debug, Clone, PartialEq)]
pub struct EpssFeed {
    /// `model_version` from the comment line, if any.
    pub model_version: String,
    /// `score_date` from the comment line, if any.
    pub score_date: String,
    /// CVE id -> score.
    pub scores: HashMap<String, EpssScore>,
}

impl EpssFeed {
    /// Fingerprint `{kind: "epss", version: "<model_version> <score_date>", count}`.
    pub fn fingerprint(&self) -> FeedFingerprint {
        FeedFingerprint {
            kind: "epss".to_owned(),
            version: format!("{} {}", self.model_version, self.score_date)
                .trim()
                .to_owned(),
            count: self.scores.len(),
        }
    }
}

fn invalid(line: usize, field: &'static str, value: &str) -> FeedError {
    FeedError::InvalidField {
        record: format!("line {line}"),
        field,
        value: value.chars().take(100).collect(),
    }
}

/// Parses FIRST's EPSS CSV (module docs).
///
/// # Errors
/// [`FeedError::WrongKind`] without a `cve,epss` header; [`FeedError::InvalidField`] (with the
/// 1-based line) for a malformed row, a CVE id not starting `CVE-`, or a value outside 0..=1;
/// [`FeedError::LimitExceeded`] past [`MAX_ROWS`].
pub fn parse_epss(bytes: &[u8]) -> Result<EpssFeed, FeedError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FeedError::WrongKind {
        expected: FEED,
        detail: format!("not UTF-8 text (byte {})", e.valid_up_to()),
    })?;
    let mut feed = EpssFeed {
        model_version: String::new(),
        score_date: String::new(),
        scores: HashMap::new(),
    };
    let mut lines = text.lines().enumerate().peekable();
    if let Some((_, first)) = lines.peek()
        && let Some(meta) = first.strip_prefix('#')
    {
        for part in meta.split(',') {
            match part.split_once(':') {
                Some(("model_version", v)) => feed.model_version = v.trim().to_owned(),
                Some(("score_date", v)) => feed.score_date = v.trim().to_owned(),
                _ => {}
            }
        }
        lines.next();
    }
    let header = lines
        .next()
        .map(|(_, h)| h.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let (Some(ci), Some(ei)) = (
        cols.iter().position(|c| *c == "cve"),
        cols.iter().position(|c| *c == "epss"),
    ) else {
        return Err(FeedError::WrongKind {
            expected: FEED,
            detail: format!("the header must name `cve` and `epss` columns, found {header:?}"),
        });
    };
    let pi = cols.iter().position(|c| *c == "percentile");
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if feed.scores.len() >= MAX_ROWS {
            return Err(FeedError::LimitExceeded {
                what: "EPSS rows",
                limit: MAX_ROWS as u64,
            });
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let cve = fields.get(ci).copied().unwrap_or("");
        if !cve.starts_with("CVE-") {
            return Err(invalid(n, "cve", cve));
        }
        let prob = |idx: usize, name: &'static str| -> Result<f64, FeedError> {
            let raw = fields.get(idx).copied().unwrap_or("");
            raw.parse::<f64>()
                .ok()
                .filter(|v| (0.0..=1.0).contains(v))
                .ok_or_else(|| invalid(n, name, raw))
        };
        let epss = prob(ei, "epss")?;
        let percentile = match pi {
            Some(p) => prob(p, "percentile")?,
            None => 0.0,
        };
        feed.scores
            .insert(cve.to_owned(), EpssScore { epss, percentile });
    }
    Ok(feed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_format_with_and_without_the_comment_line() {
        let f = parse_epss(
            b"#model_version:v2025.03.14,score_date:2026-11-23T00:00:00Z\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99956\nCVE-2020-0001,0.001,0.2\n",
        )
        .unwrap();
        assert_eq!(f.model_version, "v2025.03.14");
        assert_eq!(f.scores.len(), 2);
        assert_eq!(f.scores["CVE-2021-44228"].epss, 0.94358);
        assert_eq!(f.fingerprint().count, 2);
        let g = parse_epss(b"cve,epss\nCVE-1-1,0.5\n").unwrap();
        assert_eq!(g.scores["CVE-1-1"].percentile, 0.0);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e = parse_epss(b"cve,epss,percentile\nCVE-1-1,0.5,0.1\nCVE-1-2,1.5,0.1\n").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = parse_epss(b"cve,epss\nGHSA-x,0.1\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(matches!(
            parse_epss(b"{\"json\": true}").unwrap_err(),
            FeedError::WrongKind { .. }
        ));
    }
}
