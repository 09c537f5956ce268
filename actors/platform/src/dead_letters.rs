//! Dead letters: events a service's consumer gave up on (after `max_deliveries`, or at once for
//! an event it can never handle), with the last error; listed by `GET /api/v1/dead-letters`,
//! replayed by `POST /api/v1/dead-letters/{service}/{event_id}/replay`. The table belongs to the
//! platform layer (like the outbox). A replay re-publishes the original envelope (same event id)
//! through the outbox: services that already handled it skip it (processed events).

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::Db;
use crate::bus::Envelope;
use crate::entities::dead_letter;
use crate::outbox::{self, OutboxError};

/// A dead letter as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadLetterView {
    /// The consuming service that gave up.
    pub service: String,
    /// The event id.
    pub event_id: Uuid,
    /// The event type.
    pub event_type: String,
    /// The last error.
    pub error: String,
    /// Deliveries made.
    pub deliveries: i32,
    /// RFC 3339 UTC.
    pub dead_at: String,
    /// RFC 3339 UTC, if replayed.
    pub replayed_at: Option<String>,
    /// The envelope.
    #[schema(value_type = Object)]
    pub envelope: serde_json::Value,
}

impl From<dead_letter::Model> for DeadLetterView {
    fn from(m: dead_letter::Model) -> Self {
        Self {
            service: m.service,
            event_id: m.event_id,
            event_type: m.event_type,
            error: m.error,
            deliveries: m.deliveries,
            dead_at: m.dead_at.to_rfc3339(),
            replayed_at: m.replayed_at.map(|t| t.to_rfc3339()),
            envelope: m.envelope,
        }
    }
}

/// Records that `service` gave up on `envelope` after `deliveries` with `error` (a second record
/// of the same event for the same service updates the error and count).
///
/// # Errors
/// Database errors.
pub async fn record(
    db: &Db,
    service: &str,
    envelope: &Envelope,
    error: &str,
    deliveries: u32,
) -> Result<(), sea_orm::DbErr> {
    let row = dead_letter::ActiveModel {
        service: Set(service.to_owned()),
        event_id: Set(envelope.event_id),
        event_type: Set(envelope.event_type.clone()),
        envelope: Set(serde_json::to_value(envelope).unwrap_or_default()),
        error: Set(error.chars().take(4000).collect()),
        deliveries: Set(i32::try_from(deliveries).unwrap_or(i32::MAX)),
        dead_at: Set(Utc::now()),
        replayed_at: Set(None),
    };
    dead_letter::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([dead_letter::Column::Service, dead_letter::Column::EventId])
                .update_columns([
                    dead_letter::Column::Error,
                    dead_letter::Column::Deliveries,
                    dead_letter::Column::DeadAt,
                    dead_letter::Column::ReplayedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db.conn())
        .await?;
    Ok(())
}

/// The dead letters, newest first, at most `limit` (1..=1000).
///
/// # Errors
/// Database errors.
pub async fn list(db: &Db, limit: u64) -> Result<Vec<DeadLetterView>, sea_orm::DbErr> {
    Ok(dead_letter::Entity::find()
        .order_by_desc(dead_letter::Column::DeadAt)
        .limit(limit.clamp(1, 1000))
        .all(db.conn())
        .await?
        .into_iter()
        .map(DeadLetterView::from)
        .collect())
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// No such dead letter.
    #[error("no dead letter for service {service} and event {event_id}")]
    NotFound {
        /// Service.
        service: String,
        /// Event id.
        event_id: Uuid,
    },
    /// Database error.
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Writing the outbox failed.
    #[error("outbox: {0}")]
    Outbox(#[from] OutboxError),
    /// The stored envelope does not decode.
    #[error("stored envelope does not decode: {0}")]
    Corrupt(String),
}

/// Re-publishes the dead letter through the outbox (one transaction: the outbox row and the
/// `replayed_at` mark) and returns it.
///
/// # Errors
/// [`ReplayError`].
pub async fn replay(db: &Db, service: &str, event_id: Uuid) -> Result<DeadLetterView, ReplayError> {
    let tx = db.begin_write().await?;
    let Some(row) = dead_letter::Entity::find_by_id((service.to_owned(), event_id))
        .one(&tx)
        .await?
    else {
        return Err(ReplayError::NotFound {
            service: service.to_owned(),
            event_id,
        });
    };
    let envelope: Envelope = serde_json::from_value(row.envelope.clone())
        .map_err(|e| ReplayError::Corrupt(e.to_string()))?;
    // The outbox is keyed by event id: an earlier publication of the same event is replaced.
    outbox::append_replay(&tx, service, &envelope).await?;
    let mut m: dead_letter::ActiveModel = row.into();
    m.replayed_at = Set(Some(Utc::now()));
    let updated = sea_orm::ActiveModelTrait::update(m, &tx).await?;
    tx.commit().await?;
    Ok(DeadLetterView::from(updated))
}
