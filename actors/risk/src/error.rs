//! Errors of the risk-analysis domain logic: feed parsing ([`FeedError`]) and component
//! matching ([`MatchError`]). No function of [this crate](crate) panics on bad input; every failure
//! comes back as one of these values.

/// A feed (CISA KEV, OSV, NVD) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The input is not valid JSON, or a field has the wrong type. `line` and `column` are
    /// 1-based positions in the input, as reported by `serde_json` (0 when it has none, e.g.
    /// for an I/O error).
    #[error("invalid {feed} JSON at line {line}, column {column}: {message}")]
    Json {
        /// Which feed was being read, e.g. "KEV catalog".
        feed: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// serde_json's description of the problem.
        message: String,
    },
    /// Valid JSON, but of another kind of document (e.g. an OSV record given as a KEV catalog).
    /// Displays as "not a {expected}: {detail}", e.g.
    /// "not a KEV catalog: `vulnerabilities` missing".
    #[error("not a {expected}: {detail}")]
    WrongKind {
        /// The kind of document that was expected, e.g. "KEV catalog".
        expected: &'static str,
        /// What gave it away, e.g. "`vulnerabilities` missing".
        detail: String,
    },
    /// A field has a value that cannot be interpreted (e.g. a date that is not a date).
    #[error("record {record}: field `{field}` has invalid value {value:?}")]
    InvalidField {
        /// Id of the record (CVE id, OSV id), or the feed name for feed-level fields.
        record: String,
        /// JSON name of the field.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// The KEV catalog's `count` disagrees with the number of entries it carries.
    #[error("KEV catalog declares count {declared} but holds {actual} entries")]
    CountMismatch {
        /// Value of the `count` field.
        declared: usize,
        /// Number of entries in `vulnerabilities`.
        actual: usize,
    },
    /// The zip archive is corrupt or uses an unsupported feature (only stored and deflate
    /// entries can be read).
    #[error("zip archive: {0}")]
    Zip(String),
    /// A gzip-compressed feed (RFC 1952) is corrupt, truncated or inflates past
    /// [`crate::store::MAX_GUNZIPPED_BYTES`].
    #[error("gzip stream: {0}")]
    Gzip(String),
    /// One entry of a zip archive failed to parse.
    #[error("zip entry {name}: {source}")]
    ZipEntry {
        /// Name of the entry inside the archive.
        name: String,
        /// Why it failed.
        source: Box<FeedError>,
    },
    /// A bound of [`crate::feeds::osv::ZipLimits`] was exceeded (zip bomb protection).
    #[error("zip archive exceeds the limit on {what}: more than {limit}")]
    LimitExceeded {
        /// Which bound: "entries", "uncompressed bytes per entry" or "uncompressed bytes in total".
        what: &'static str,
        /// The bound.
        limit: u64,
    },
}

impl FeedError {
    /// Wraps a serde_json error, keeping its line and column.
    pub(crate) fn json(feed: &'static str, err: &serde_json::Error) -> Self {
        FeedError::Json {
            feed,
            line: err.line(),
            column: err.column(),
            message: err.to_string(),
        }
    }
}

/// A component identifier (purl or CPE) could not be used for matching.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// The package URL does not parse (see <https://github.com/package-url/purl-spec>).
    #[error("invalid package URL {purl:?}: {reason}")]
    InvalidPurl {
        /// The input.
        purl: String,
        /// The parser's message.
        reason: String,
    },
    /// The package URL has no `@version`, so no range can be evaluated.
    #[error("package URL {0:?} has no version")]
    MissingVersion(String),
    /// The CPE is not a CPE 2.3 formatted string (`cpe:2.3:part:vendor:product:version:...`,
    /// 13 colon-separated fields).
    #[error("invalid CPE 2.3 string {cpe:?}: {reason}")]
    InvalidCpe {
        /// The input.
        cpe: String,
        /// What is wrong.
        reason: &'static str,
    },
}
