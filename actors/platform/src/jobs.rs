//! Asynchronous jobs (the "202 Accepted + status resource" pattern): an import or feed ingestion
//! is accepted at once with a job id; the service actor does the work; `GET /api/v1/jobs/{id}`
//! reads the job's state. The `jobs` table belongs to the platform layer (like the outbox):
//! services never read it, the job runner ([`run`]) writes it.
//!
//! States: `queued` -> `running` -> `succeeded` | `failed`. A node that stops with jobs still
//! `queued` or `running` marks them `failed` at its next start ([`fail_interrupted`]).

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use uuid::Uuid;

use crate::Db;
use crate::entities::job;

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Accepted, waiting for the service actor.
    Queued,
    /// The service actor is working on it.
    Running,
    /// Done; `result` holds the counts.
    Succeeded,
    /// Failed; `error` says why. Nothing of the job was stored (one transaction).
    Failed,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// Job id (UUID v7).
    pub id: Uuid,
    /// `asset-import` or `threat-intel`.
    pub kind: String,
    /// Inventory format or feed kind.
    pub input: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// Node that accepted the job.
    pub node: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC, once running.
    pub started_at: Option<String>,
    /// RFC 3339 UTC, once finished.
    pub finished_at: Option<String>,
    /// Counts of what the job did (when it succeeded).
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Errors (when it failed).
    pub errors: Vec<String>,
}

impl From<job::Model> for JobView {
    fn from(m: job::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            input: m.input,
            state: m.state,
            node: m.node,
            created_at: m.created_at.to_rfc3339(),
            started_at: m.started_at.map(|t| t.to_rfc3339()),
            finished_at: m.finished_at.map(|t| t.to_rfc3339()),
            result: m.result,
            errors: m.error.into_iter().collect(),
        }
    }
}

/// Creates a `queued` job and returns its id (UUID v7).
///
/// # Errors
/// Database errors.
pub async fn create(db: &Db, kind: &str, input: &str, node: &str) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::now_v7();
    job::Entity::insert(job::ActiveModel {
        id: Set(id),
        kind: Set(kind.to_owned()),
        input: Set(input.to_owned()),
        state: Set(JobState::Queued.as_str().to_owned()),
        node: Set(node.to_owned()),
        created_at: Set(Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
        result: Set(None),
        error: Set(None),
    })
    .exec_without_returning(db.conn())
    .await?;
    Ok(id)
}

/// Marks the job `running`.
///
/// # Errors
/// Database errors.
pub async fn start(db: &Db, id: Uuid) -> Result<(), sea_orm::DbErr> {
    job::ActiveModel {
        id: Set(id),
        state: Set(JobState::Running.as_str().to_owned()),
        started_at: Set(Some(Utc::now())),
        ..Default::default()
    }
    .update(db.conn())
    .await
    .map(|_| ())
}

/// Marks the job finished: `succeeded` with `result`, or `failed` with `error`.
///
/// # Errors
/// Database errors.
pub async fn finish(
    db: &Db,
    id: Uuid,
    outcome: Result<serde_json::Value, String>,
) -> Result<(), sea_orm::DbErr> {
    let (state, result, error) = match outcome {
        Ok(v) => (JobState::Succeeded, Some(v), None),
        Err(e) => (JobState::Failed, None, Some(e)),
    };
    job::ActiveModel {
        id: Set(id),
        state: Set(state.as_str().to_owned()),
        finished_at: Set(Some(Utc::now())),
        result: Set(result),
        error: Set(error),
        ..Default::default()
    }
    .update(db.conn())
    .await
    .map(|_| ())
}

/// The job `id`, if any.
///
/// # Errors
/// Database errors.
pub async fn get(db: &Db, id: Uuid) -> Result<Option<JobView>, sea_orm::DbErr> {
    Ok(job::Entity::find_by_id(id)
        .one(db.conn())
        .await?
        .map(JobView::from))
}

/// At start: marks this node's unfinished jobs `failed` ("the node stopped before the job
/// finished"); returns how many.
///
/// # Errors
/// Database errors.
pub async fn fail_interrupted(db: &Db, node: &str) -> Result<u64, sea_orm::DbErr> {
    Ok(job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(JobState::Failed.as_str()))
        .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(
            job::Column::Error,
            Expr::value("the node stopped before the job finished; submit it again"),
        )
        .filter(job::Column::Node.eq(node))
        .filter(job::Column::State.is_in([JobState::Queued.as_str(), JobState::Running.as_str()]))
        .exec(db.conn())
        .await?
        .rows_affected)
}

/// Runs `work` as job `id`: marks it running, awaits the work (an ask to a service actor),
/// records the outcome. A panic or a hang of the actor surfaces as an
/// [`rampart_supervisors::AskError`] turned into the job's error, so the job reports the failure
/// while the supervisor restarts the actor.
///
/// Storage errors of the job row itself are logged, not returned.
pub async fn run<F>(db: Db, id: Uuid, work: F)
where
    F: Future<Output = Result<serde_json::Value, String>>,
{
    if let Err(e) = start(&db, id).await {
        tracing::warn!(job = %id, error = %e, "marking the job running");
    }
    let outcome = work.await;
    if let Err(e) = &outcome {
        tracing::warn!(job = %id, error = %e, "job failed");
    }
    if let Err(e) = finish(&db, id, outcome).await {
        tracing::error!(job = %id, error = %e, "recording the job's outcome");
    }
}
