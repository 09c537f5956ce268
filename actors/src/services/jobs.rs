//! Runs an asynchronous job: marks it running, awaits the work (an ask to a service actor),
//! records the outcome. A panic or a hang of the actor surfaces as an [`rampart_supervisors::AskError`]
//! turned into the job's error, so the job reports the failure while the supervisor restarts the
//! actor.

use std::future::Future;

use uuid::Uuid;

use crate::db::{Db, jobs};

/// Runs `work` as job `id`; logs (does not return) storage errors of the job row itself.
pub async fn run<F>(db: Db, id: Uuid, work: F)
where
    F: Future<Output = Result<serde_json::Value, String>>,
{
    if let Err(e) = jobs::start(&db, id).await {
        tracing::warn!(job = %id, error = %e, "marking the job running");
    }
    let outcome = work.await;
    if let Err(e) = &outcome {
        tracing::warn!(job = %id, error = %e, "job failed");
    }
    if let Err(e) = jobs::finish(&db, id, outcome).await {
        tracing::error!(job = %id, error = %e, "recording the job's outcome");
    }
}
