//! Import errors.

use super::Format;

/// Why an import failed. No input makes the importers panic; every failure is one of these.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The body is empty or only whitespace.
    #[error("empty input: no {0} document")]
    Empty(Format),
    /// The body exceeds [`MAX_INPUT_BYTES`](super::MAX_INPUT_BYTES).
    #[error("input of {size} bytes exceeds the limit of {limit} bytes")]
    InputTooLarge {
        /// Input size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// More assets, components or nesting levels than the documented bounds.
    #[error("too many {what}: the limit is {limit}")]
    TooLarge {
        /// `"assets"`, `"components"` or `"nesting levels"`.
        what: &'static str,
        /// The bound that was exceeded.
        limit: usize,
    },
    /// The body is not valid UTF-8 (all four formats are text).
    #[error("input is not valid UTF-8 at byte {position}")]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        position: usize,
    },
    /// Malformed JSON (or JSON that does not fit the expected shape), with serde_json's
    /// 1-based line and column.
    #[error("malformed {format} JSON at line {line}, column {column}: {message}")]
    Json {
        /// The format being parsed.
        format: Format,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// Well-formed input that is not a document of the requested format, e.g. an SPDX file
    /// given as CycloneDX: `not a CycloneDX document: bomFormat missing`.
    #[error("not a{} {expected} document: {reason}", if matches!(expected, Format::CycloneDx | Format::Csv | Format::GoogleWorkspace) { "" } else { "n" })]
    WrongFormat {
        /// The format that was requested.
        expected: Format,
        /// What is missing or wrong.
        reason: String,
    },
    /// A spec version the importer does not support (CycloneDX outside 1.2..=1.7, SPDX other
    /// than 2.2 and 2.3).
    #[error("unsupported {format} spec version {version:?} (supported: {supported})")]
    UnsupportedVersion {
        /// The format.
        format: Format,
        /// The version found in the document.
        version: String,
        /// Human-readable list of supported versions.
        supported: &'static str,
    },
    /// Malformed XML, with the byte offset (0-based) where the parser stopped.
    #[error("malformed XML at byte {position}: {message}")]
    Xml {
        /// 0-based byte offset into the input.
        position: u64,
        /// quick-xml's message.
        message: String,
    },
    /// Malformed CSV, with the 1-based line when known.
    #[error("malformed CSV{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Csv {
        /// 1-based line in the input.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// A field with an invalid value (bad criticality, kind or IP), with the 1-based line for
    /// line-oriented formats.
    #[error("invalid {field}{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    InvalidValue {
        /// Field or column name.
        field: String,
        /// 1-based line, for CSV.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// The criticality rules are invalid (a criticality outside 1..=5).
    #[error("invalid criticality rules: {0}")]
    InvalidRules(String),
    /// An unknown format name given to [`Format::from_str`](std::str::FromStr).
    #[error(
        "unknown inventory format {0:?} (expected cyclonedx, spdx, nmap, csv, google_workspace or aws_config)"
    )]
    UnknownFormat(String),
    /// A broken internal invariant (a bug); never expected.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl ImportError {
    /// Wraps a serde_json error with its line and column.
    pub(crate) fn json(format: Format, e: &serde_json::Error) -> Self {
        Self::Json {
            format,
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

impl From<rampart_contracts::asset::UnknownFormat> for ImportError {
    fn from(e: rampart_contracts::asset::UnknownFormat) -> Self {
        Self::UnknownFormat(e.0)
    }
}
