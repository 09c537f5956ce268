//! The transactional outbox: events are written with the state change they report and published
//! afterwards by [`relay_once`], so a node that crashes between commit and publish loses nothing
//! (the relay picks them up on the next run; consumers deduplicate by event id).

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::bus::{Bus, BusError, Envelope};
use crate::entities::outbox;

/// Why the relay stopped.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// Reading or marking rows failed.
    #[error("outbox: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// A stored envelope does not decode (written by an incompatible version).
    #[error("outbox row {id}: {reason}")]
    Corrupt {
        /// The row's id.
        id: uuid::Uuid,
        /// The decode error.
        reason: String,
    },
    /// Publishing failed; the row stays pending and is retried by the next run.
    #[error("publishing: {0}")]
    Publish(#[from] BusError),
}

/// Writes `envelope` to the outbox inside the caller's transaction `tx`.
///
/// # Errors
/// Database errors; [`OutboxError::Corrupt`] if the envelope does not serialise.
pub async fn append<C: ConnectionTrait>(
    tx: &C,
    service: &str,
    envelope: &Envelope,
) -> Result<(), OutboxError> {
    let json = serde_json::to_value(envelope).map_err(|e| OutboxError::Corrupt {
        id: envelope.event_id,
        reason: e.to_string(),
    })?;
    outbox::Entity::insert(outbox::ActiveModel {
        id: Set(envelope.event_id),
        service: Set(service.to_owned()),
        event_type: Set(envelope.event_type.clone()),
        envelope: Set(json),
        created_at: Set(Utc::now()),
        published_at: Set(None),
    })
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

/// Writes `envelope` to the outbox again for a replay: an earlier row of the same event (already
/// published) is made pending again.
///
/// # Errors
/// Database errors; [`OutboxError::Corrupt`] if the envelope does not serialise.
pub async fn append_replay<C: ConnectionTrait>(
    tx: &C,
    service: &str,
    envelope: &Envelope,
) -> Result<(), OutboxError> {
    let json = serde_json::to_value(envelope).map_err(|e| OutboxError::Corrupt {
        id: envelope.event_id,
        reason: e.to_string(),
    })?;
    outbox::Entity::insert(outbox::ActiveModel {
        id: Set(envelope.event_id),
        service: Set(service.to_owned()),
        event_type: Set(envelope.event_type.clone()),
        envelope: Set(json),
        created_at: Set(Utc::now()),
        published_at: Set(None),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(outbox::Column::Id)
            .update_columns([outbox::Column::PublishedAt, outbox::Column::CreatedAt])
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

/// Pending events, oldest first (UUID v7 ids are time-ordered), at most `limit`.
///
/// # Errors
/// Database errors, [`OutboxError::Corrupt`].
pub async fn pending<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<Envelope>, OutboxError> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::PublishedAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .limit(limit.min(super::MAX_SQL_INT))
        .all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            serde_json::from_value(r.envelope).map_err(|e| OutboxError::Corrupt {
                id: r.id,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Publishes up to `limit` pending events to `bus` in order (with RabbitMQ: all confirmed by the
/// broker) and then marks them published. Returns how many were published. A failure leaves
/// them pending: they are published again on the next run, and consumers deduplicate by event
/// id, so a crash between publish and mark costs a duplicate, never a loss.
///
/// # Errors
/// [`OutboxError`].
pub async fn relay_once<C: ConnectionTrait>(
    db: &C,
    bus: &Bus,
    limit: u64,
) -> Result<usize, OutboxError> {
    let events = pending(db, limit).await?;
    if events.is_empty() {
        return Ok(0);
    }
    let (published, failure) = match bus.publish_batch(&events).await {
        Ok(()) => (events.len(), None),
        Err(e) => (e.published, Some(e.error)),
    };
    let ids: Vec<uuid::Uuid> = events.iter().take(published).map(|e| e.event_id).collect();
    for chunk in ids.chunks(500) {
        outbox::Entity::update_many()
            .col_expr(
                outbox::Column::PublishedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(published),
    }
}
