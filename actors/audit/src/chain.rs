//! AuditReporting's append-only audit log, hash-chained.
//!
//! Every event of every service is appended once (by event id) as an entry: its envelope as
//! canonical JSON text (serde_json with sorted object keys: the exact bytes hashed are the bytes
//! stored), its position `seq` (1, 2, …, no gaps), the previous entry's hash and its own:
//!
//! `hash = hex(SHA-256(prev_hash ‖ "\n" ‖ seq ‖ "\n" ‖ entry))`, `prev_hash` of the first entry
//! = 64 × `0` (the construction of a hash chain / linked timestamping, Haber & Stornetta 1991).
//!
//! A one-row `audit_head` holds the last entry's seq and hash, written in the same transaction.
//! [`verify`] recomputes the chain: an edited entry breaks its own hash, a deleted one leaves a
//! gap in `seq` or a `prev_hash` that no longer matches, a truncated tail disagrees with the head.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::entities::{audit_entry, audit_head};
use rampart_platform::Db;
use rampart_platform::bus::Envelope;
use rampart_platform::consumer::EventOutcome;
use rampart_platform::processed;

/// Service name of AuditReporting.
pub const SERVICE: &str = "audit";

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an entry (module docs).
pub fn entry_hash(prev_hash: &str, seq: i64, entry: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(entry.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

async fn head<C: ConnectionTrait>(db: &C) -> Result<(i64, String), sea_orm::DbErr> {
    Ok(audit_head::Entity::find_by_id(1)
        .one(db)
        .await?
        .map_or((0, GENESIS.to_owned()), |h| (h.seq, h.hash)))
}

/// A string field of an `api.called` body (`path` of nested keys), at most 512 bytes.
fn call_field(e: &Envelope, path: &[&str]) -> Option<String> {
    if e.event_type != rampart_contracts::edge::API_CALLED {
        return None;
    }
    let mut v = &e.body;
    for k in path {
        v = v.get(k)?;
    }
    let s = v.as_str()?;
    let mut end = s.len().min(512);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Some(s[..end].to_owned())
}

async fn append_in(tx: &DatabaseTransaction, events: &[&Envelope]) -> Result<(), sea_orm::DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    let (mut seq, mut prev) = head(tx).await?;
    let now = Utc::now();
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        let entry = serde_json::to_string(e).unwrap_or_default();
        seq += 1;
        let hash = entry_hash(&prev, seq, &entry);
        rows.push(audit_entry::ActiveModel {
            seq: Set(seq),
            event_id: Set(e.event_id),
            event_type: Set(e.event_type.clone()),
            source_node: Set(e.source_node.clone()),
            entry: Set(entry),
            prev_hash: Set(prev.clone()),
            hash: Set(hash.clone()),
            recorded_at: Set(now),
            principal: Set(call_field(e, &["principal", "sub"])),
            operation: Set(call_field(e, &["operation"])),
        });
        prev = hash;
    }
    for chunk in rows.chunks(200) {
        audit_entry::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(tx)
            .await?;
    }
    audit_head::Entity::insert(audit_head::ActiveModel {
        id: Set(1),
        seq: Set(seq),
        hash: Set(prev),
    })
    .on_conflict(
        OnConflict::column(audit_head::Column::Id)
            .update_columns([audit_head::Column::Seq, audit_head::Column::Hash])
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

/// Appends the events not logged yet (by event id, [`processed::first_time`]) in one
/// transaction; one outcome per event.
///
/// # Errors
/// Database errors (e.g. another replica appended at the same seq): nothing is stored; the
/// caller retries.
pub async fn append(db: &Db, events: &[Envelope]) -> Result<Vec<EventOutcome>, sea_orm::DbErr> {
    let tx = db.begin_write().await?;
    let mut out = Vec::with_capacity(events.len());
    let mut new = Vec::new();
    for e in events {
        if processed::first_time(&tx, SERVICE, e.event_id).await? {
            new.push(e);
            out.push(EventOutcome::Applied);
        } else {
            out.push(EventOutcome::Duplicate);
        }
    }
    append_in(&tx, &new).await?;
    tx.commit().await?;
    Ok(out)
}

/// Result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// Whether the whole chain checks out.
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// The head's seq.
    pub head_seq: i64,
    /// The first entry found wrong (or the first missing seq), if any.
    pub first_bad_seq: Option<i64>,
    /// What is wrong, if anything.
    pub problem: Option<String>,
}

/// Recomputes the chain (module docs), reading `page` entries at a time, up to the head read
/// first: entries appended while it runs (the log is written all the time: every API call is
/// an entry) are left to the next verification.
///
/// # Errors
/// Database errors.
pub async fn verify(db: &Db, page: u64) -> Result<Verification, sea_orm::DbErr> {
    let (head_seq, head_hash) = head(db.conn()).await?;
    let mut prev = GENESIS.to_owned();
    let mut expected = 1i64;
    let mut entries = 0u64;
    let bad = |seq: i64, why: String, entries: u64| Verification {
        ok: false,
        entries,
        head_seq,
        first_bad_seq: Some(seq),
        problem: Some(why),
    };
    loop {
        if expected > head_seq {
            break;
        }
        let rows = audit_entry::Entity::find()
            .filter(audit_entry::Column::Seq.gte(expected))
            .filter(audit_entry::Column::Seq.lte(head_seq))
            .order_by_asc(audit_entry::Column::Seq)
            .limit(page.max(1))
            .all(db.conn())
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            if r.seq != expected {
                return Ok(bad(
                    expected,
                    format!("entry {expected} is missing"),
                    entries,
                ));
            }
            if r.prev_hash != prev {
                return Ok(bad(
                    r.seq,
                    "its prev_hash does not match the previous entry".to_owned(),
                    entries,
                ));
            }
            if entry_hash(&r.prev_hash, r.seq, &r.entry) != r.hash {
                return Ok(bad(
                    r.seq,
                    "its content does not match its hash (edited)".to_owned(),
                    entries,
                ));
            }
            prev = r.hash;
            expected += 1;
            entries += 1;
        }
    }
    let last = expected - 1;
    if last != head_seq || (last > 0 && prev != head_hash) {
        return Ok(bad(
            last + 1,
            format!("the log ends at {last} but its head records {head_seq} (entries removed)"),
            entries,
        ));
    }
    Ok(Verification {
        ok: true,
        entries,
        head_seq,
        first_bad_seq: None,
        problem: None,
    })
}

/// One entry as the API lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    /// Position.
    pub seq: i64,
    /// Event type.
    pub event_type: String,
    /// Publishing node.
    pub source_node: String,
    /// Hash of this entry.
    pub hash: String,
    /// The envelope.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// Which entries [`list`] returns; every filter set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Entries after this seq (exclusive).
    pub after: i64,
    /// At most this many (clamped to 1..=1000).
    pub limit: u64,
    /// `api.called` entries whose caller's `sub` is exactly this.
    pub principal: Option<String>,
    /// `api.called` entries of exactly this operation (`GET /api/v1/assets/{id}`).
    pub operation: Option<String>,
    /// Entries appended at or after this instant.
    pub since: Option<chrono::DateTime<Utc>>,
    /// Entries appended before this instant.
    pub until: Option<chrono::DateTime<Utc>>,
}

/// Entries matching `f`, in chain order (ascending seq).
///
/// # Errors
/// Database errors.
pub async fn list(db: &Db, f: &AuditFilter) -> Result<Vec<AuditEntryView>, sea_orm::DbErr> {
    let mut q = audit_entry::Entity::find().filter(audit_entry::Column::Seq.gt(f.after));
    if let Some(p) = &f.principal {
        q = q.filter(audit_entry::Column::Principal.eq(p.as_str()));
    }
    if let Some(o) = &f.operation {
        q = q.filter(audit_entry::Column::Operation.eq(o.as_str()));
    }
    if let Some(t) = f.since {
        q = q.filter(audit_entry::Column::RecordedAt.gte(t));
    }
    if let Some(t) = f.until {
        q = q.filter(audit_entry::Column::RecordedAt.lt(t));
    }
    Ok(q.order_by_asc(audit_entry::Column::Seq)
        .limit(f.limit.clamp(1, 1000))
        .all(db.conn())
        .await?
        .into_iter()
        .map(|r| AuditEntryView {
            seq: r.seq,
            event_type: r.event_type,
            source_node: r.source_node,
            hash: r.hash,
            event: serde_json::from_str(&r.entry).unwrap_or_default(),
        })
        .collect())
}
