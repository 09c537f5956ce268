//! The event envelope and W3C trace context.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Schema version of [`Envelope`] written by this build. Bumped on incompatible changes.
pub const SCHEMA_VERSION: u16 = 1;

/// Longest event type, in bytes: AMQP's limit on a routing key (shortstr, 255 bytes).
const MAX_EVENT_TYPE_BYTES: usize = 255;

/// Why an event could not be built, published or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The event type is not dot-separated lowercase words (`[a-z0-9_-]+`), or is longer than 255
    /// bytes.
    #[error(
        "invalid event type `{0}`: expected dot-separated words of [a-z0-9_-], at most 255 bytes"
    )]
    InvalidEventType(String),
    /// A subscription pattern is malformed.
    #[error("invalid topic pattern `{0}`: expected dot-separated words, `*` or `#`")]
    InvalidPattern(String),
    /// A `traceparent` value does not follow W3C Trace Context level 1.
    #[error(
        "invalid traceparent `{0}` (W3C Trace Context: 00-<32 hex>-<16 hex>-<2 hex>, not all zero)"
    )]
    InvalidTraceParent(String),
    /// The body could not be encoded or decoded as the expected type.
    #[error("event body: {0}")]
    Body(String),
    /// A subscriber's queue stayed full past the publish timeout (ms).
    #[error("queue of service `{service}` is full (waited {waited_ms} ms)")]
    QueueFull {
        /// The service whose queue is full.
        service: String,
        /// How long the publisher waited, ms.
        waited_ms: u64,
    },
    /// The bus or the subscription is closed.
    #[error("bus closed")]
    Closed,
    /// The broker cannot be reached (no connection): retry later.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// The broker refused or failed an operation (channel error, negative or missing confirm).
    #[error("broker: {0}")]
    Broker(String),
}

/// An event as it travels between services (DESIGN.md "Messages between nodes").
///
/// JSON shape: `{"event_id": "<uuid v7>", "event_type": "asset.discovered", "schema_version": 1,
/// "source_node": "rampart-1", "occurred_at": "2026-11-23T01:02:03.456Z", "correlation_id":
/// "<uuid>", "traceparent": "00-...-...-01", "body": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique id, UUID v7 (time-ordered); the deduplication key.
    pub event_id: Uuid,
    /// What happened; also the routing key (`asset.discovered`, `risk.scored`).
    pub event_type: String,
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u16,
    /// The node that published it (`--node-id`).
    pub source_node: String,
    /// When it happened (UTC; RFC 3339 in JSON).
    pub occurred_at: DateTime<Utc>,
    /// Shared by every event caused by the same request.
    pub correlation_id: Uuid,
    /// W3C Trace Context `traceparent` header value.
    pub traceparent: Option<String>,
    /// The event's data.
    pub body: serde_json::Value,
}

/// Checks an event type: dot-separated words of `[a-z0-9_-]`, 1..=255 bytes.
///
/// # Errors
/// [`BusError::InvalidEventType`].
pub fn validate_event_type(event_type: &str) -> Result<(), BusError> {
    let ok = !event_type.is_empty()
        && event_type.len() <= MAX_EVENT_TYPE_BYTES
        && event_type.split('.').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(BusError::InvalidEventType(
            event_type.chars().take(300).collect(),
        ))
    }
}

impl Envelope {
    /// A new event with a fresh UUID v7, the current time, a new correlation id and a new root
    /// trace.
    ///
    /// # Errors
    /// [`BusError::InvalidEventType`], [`BusError::Body`] if `body` does not serialize.
    pub fn new(
        event_type: impl Into<String>,
        source_node: impl Into<String>,
        body: &impl Serialize,
    ) -> Result<Self, BusError> {
        let event_type = event_type.into();
        validate_event_type(&event_type)?;
        let body = serde_json::to_value(body).map_err(|e| BusError::Body(e.to_string()))?;
        Ok(Self {
            event_id: Uuid::now_v7(),
            event_type,
            schema_version: SCHEMA_VERSION,
            source_node: source_node.into(),
            occurred_at: Utc::now(),
            correlation_id: Uuid::new_v4(),
            traceparent: Some(TraceParent::new_root().to_string()),
            body,
        })
    }

    /// Marks this event as caused by `cause`: same correlation id, and a child span of its trace
    /// (same trace id, new parent id). A malformed `traceparent` on the cause starts a new trace.
    pub fn caused_by(mut self, cause: &Envelope) -> Self {
        self.correlation_id = cause.correlation_id;
        let parent = cause
            .traceparent
            .as_deref()
            .and_then(|t| t.parse::<TraceParent>().ok());
        self.traceparent = Some(
            parent
                .map(|p| p.child())
                .unwrap_or_else(TraceParent::new_root)
                .to_string(),
        );
        self
    }

    /// Decodes the body as `T`.
    ///
    /// # Errors
    /// [`BusError::Body`] with serde's message.
    pub fn body_as<T: DeserializeOwned>(&self) -> Result<T, BusError> {
        T::deserialize(&self.body).map_err(|e| BusError::Body(e.to_string()))
    }
}

/// W3C Trace Context level 1 `traceparent` (version 00): trace id, parent (span) id, flags.
/// Text form: `00-<32 lowercase hex>-<16 lowercase hex>-<2 hex>`; all-zero ids are invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// 16-byte trace id.
    pub trace_id: [u8; 16],
    /// 8-byte id of the parent span.
    pub parent_id: [u8; 8],
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    // UUID v4 is 122 random bits from the OS RNG; enough for ids that only need to be unique.
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(16) {
        let r = Uuid::new_v4();
        chunk.copy_from_slice(&r.as_bytes()[..chunk.len()]);
    }
    out
}

impl TraceParent {
    /// A new sampled root trace with random ids.
    pub fn new_root() -> Self {
        Self {
            trace_id: random_bytes::<16>(),
            parent_id: random_bytes::<8>(),
            flags: 0x01,
        }
    }

    /// A child span: same trace id and flags, new parent id.
    pub fn child(&self) -> Self {
        Self {
            parent_id: random_bytes::<8>(),
            ..*self
        }
    }
}

fn hex_to<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

impl std::str::FromStr for TraceParent {
    type Err = BusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BusError::InvalidTraceParent(s.chars().take(100).collect());
        let mut parts = s.split('-');
        let (Some(v), Some(t), Some(p), Some(f), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        if v != "00" {
            return Err(bad());
        }
        let trace_id = hex_to::<16>(t).ok_or_else(bad)?;
        let parent_id = hex_to::<8>(p).ok_or_else(bad)?;
        let flags = hex_to::<1>(f).ok_or_else(bad)?[0];
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return Err(bad());
        }
        Ok(Self {
            trace_id,
            parent_id,
            flags,
        })
    }
}

impl std::fmt::Display for TraceParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("00-")?;
        for b in self.trace_id {
            write!(f, "{b:02x}")?;
        }
        f.write_str("-")?;
        for b in self.parent_id {
            write!(f, "{b:02x}")?;
        }
        write!(f, "-{:02x}", self.flags)
    }
}
