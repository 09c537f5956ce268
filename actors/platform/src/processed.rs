//! Idempotent event handling: record the event id in the handler's own transaction.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::entities::processed_event;

/// Records that `service` handles `event_id`, inside the caller's transaction `tx`. Returns
/// `true` the first time, `false` if the event was already handled (the caller then skips its
/// effect and commits nothing new). Because the record commits or rolls back with the effect,
/// exactly one delivery of an event takes effect, however often it is redelivered.
///
/// # Errors
/// Database errors.
pub async fn first_time<C: ConnectionTrait>(
    tx: &C,
    service: &str,
    event_id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    let row = processed_event::ActiveModel {
        service: Set(service.to_owned()),
        event_id: Set(event_id),
        processed_at: Set(Utc::now()),
    };
    let inserted = processed_event::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                processed_event::Column::Service,
                processed_event::Column::EventId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(tx)
        .await?;
    Ok(inserted == 1)
}
