//! The node registry: the nodes of one deployment and their roles, as the Operations page and
//! `GET /api/v1/nodes` show them.
//!
//! Nodes of a deployment share one database (the embedded default is a deployment of one). Each
//! node writes a heartbeat row (`cluster_nodes`: id, services, version, bus, started, last seen)
//! every `node.heartbeat_s` seconds and marks the row stopped when it shuts down cleanly. A node
//! whose last heartbeat is older than three periods is shown as `unreachable` (the liveness rule
//! of Kubernetes' node controller, which marks a node `Unknown` after missed heartbeats); rows not
//! seen for seven days are deleted, so the table stays bounded by the deployment's size.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rampart_platform::Db;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sea_orm_migration::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

rampart_platform::service_migrations![M20261204000001ClusterNodes,];

/// Rows not seen for this long are deleted (7 days).
pub const FORGET_AFTER: ChronoDuration = ChronoDuration::days(7);

/// Missed heartbeats before a node is shown as unreachable.
pub const MISSED_BEATS: i32 = 3;

/// `cluster_nodes` rows.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// One node.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "cluster_nodes")]
    pub struct Model {
        /// `node.id`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub node_id: String,
        /// The services it runs (JSON array of names).
        pub services: Json,
        /// The `rampart` version it runs.
        pub version: String,
        /// `in-process` or `rabbitmq`.
        pub bus: String,
        /// Heartbeat period, s.
        pub heartbeat_s: i64,
        /// When this run of the node started.
        pub started_at: DateTimeUtc,
        /// Its last heartbeat.
        pub last_seen: DateTimeUtc,
        /// When it shut down cleanly, if it did since it last started.
        pub stopped_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What a node says about itself in each heartbeat.
#[derive(Debug, Clone)]
pub struct Me {
    /// `node.id`.
    pub id: String,
    /// Its roles (`node.services`).
    pub services: Vec<String>,
    /// `in-process` or `rabbitmq`.
    pub bus: String,
    /// Heartbeat period.
    pub every: std::time::Duration,
    /// When this run started.
    pub started_at: DateTime<Utc>,
}

/// One node as listed (`GET /api/v1/nodes`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NodeView {
    /// `node.id`.
    pub id: String,
    /// Its roles: the services it runs.
    pub services: Vec<String>,
    /// The `rampart` version it runs.
    pub version: String,
    /// `in-process` or `rabbitmq`.
    pub bus: String,
    /// When this run of the node started (RFC 3339).
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat (RFC 3339).
    pub last_seen: DateTime<Utc>,
    /// `up` (heartbeat within [`MISSED_BEATS`] periods), `stopped` (shut down cleanly) or
    /// `unreachable` (heartbeats missed without a clean stop: killed, partitioned, hung).
    pub state: String,
}

/// Records `me`'s heartbeat at `now` (insert or update), and deletes rows not seen for
/// [`FORGET_AFTER`].
///
/// # Errors
/// Database errors.
pub async fn beat(db: &Db, me: &Me, now: DateTime<Utc>) -> Result<(), DbErr> {
    let row = entity::ActiveModel {
        node_id: Set(me.id.clone()),
        services: Set(serde_json::json!(me.services)),
        version: Set(env!("CARGO_PKG_VERSION").to_owned()),
        bus: Set(me.bus.clone()),
        heartbeat_s: Set(<i64 as TryFrom<u64>>::try_from(me.every.as_secs()).unwrap_or(i64::MAX)),
        started_at: Set(me.started_at),
        last_seen: Set(now),
        stopped_at: Set(None),
    };
    entity::Entity::insert(row)
        .on_conflict(
            OnConflict::column(entity::Column::NodeId)
                .update_columns([
                    entity::Column::Services,
                    entity::Column::Version,
                    entity::Column::Bus,
                    entity::Column::HeartbeatS,
                    entity::Column::StartedAt,
                    entity::Column::LastSeen,
                    entity::Column::StoppedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db.conn())
        .await?;
    entity::Entity::delete_many()
        .filter(entity::Column::LastSeen.lt(now - FORGET_AFTER))
        .exec(db.conn())
        .await?;
    Ok(())
}

/// Marks node `id` stopped at `now` (a clean shutdown).
///
/// # Errors
/// Database errors.
pub async fn leave(db: &Db, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    entity::Entity::update_many()
        .col_expr(entity::Column::StoppedAt, Expr::value(now))
        .filter(entity::Column::NodeId.eq(id))
        .exec(db.conn())
        .await?;
    Ok(())
}

/// Every node seen in the last [`FORGET_AFTER`], by id, with its state at `now` (see
/// [`NodeView::state`]).
///
/// # Errors
/// Database errors.
pub async fn list(db: &Db, now: DateTime<Utc>) -> Result<Vec<NodeView>, DbErr> {
    let rows = entity::Entity::find()
        .filter(entity::Column::LastSeen.gte(now - FORGET_AFTER))
        .order_by_asc(entity::Column::NodeId)
        .all(db.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let grace = ChronoDuration::seconds(
                std::cmp::max(r.heartbeat_s, 1).saturating_mul(MISSED_BEATS.into()),
            );
            let state = if r.stopped_at.is_some() {
                "stopped"
            } else if now - r.last_seen > grace {
                "unreachable"
            } else {
                "up"
            };
            NodeView {
                id: r.node_id,
                services: serde_json::from_value(r.services).unwrap_or_default(),
                version: r.version,
                bus: r.bus,
                started_at: r.started_at,
                last_seen: r.last_seen,
                state: state.to_owned(),
            }
        })
        .collect())
}

/// Beats for `me` every `me.every` (at least 1 s) until aborted; a failed beat is logged and
/// the next one tried.
pub fn spawn_heartbeat(db: Db, me: Me) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut t = tokio::time::interval(me.every.max(std::time::Duration::from_secs(1)));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            t.tick().await;
            if let Err(e) = beat(&db, &me, Utc::now()).await {
                tracing::warn!(error = %e, "recording the node's heartbeat");
            }
        }
    })
}

#[derive(DeriveIden)]
enum ClusterNodes {
    Table,
    NodeId,
    Services,
    Version,
    Bus,
    HeartbeatS,
    StartedAt,
    LastSeen,
    StoppedAt,
}

/// `cluster_nodes`.
#[derive(Debug)]
struct M20261204000001ClusterNodes;

impl MigrationName for M20261204000001ClusterNodes {
    fn name(&self) -> &str {
        "m20261204_000001_cluster_nodes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261204000001ClusterNodes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ClusterNodes::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ClusterNodes::NodeId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ClusterNodes::Services)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ClusterNodes::Version).string().not_null())
                    .col(ColumnDef::new(ClusterNodes::Bus).string().not_null())
                    .col(
                        ColumnDef::new(ClusterNodes::HeartbeatS)
                            .big_integer()
                            .not_null(),
                    )
                    .col(rampart_platform::migrations::ts(ClusterNodes::StartedAt))
                    .col(rampart_platform::migrations::ts(ClusterNodes::LastSeen))
                    .col(
                        ColumnDef::new(ClusterNodes::StoppedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nodes_are_up_unreachable_after_missed_beats_stopped_after_leaving_and_forgotten() {
        let dir = std::env::temp_dir().join(format!("rampart-nodes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/n.sqlite", dir.display());
        let db =
            Db::connect::<crate::schema::Migrator>(&url, &rampart_platform::DbOptions::default())
                .await
                .unwrap();
        let t0 = Utc::now();
        let me = |id: &str, services: &[&str]| Me {
            id: id.to_owned(),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
            bus: "rabbitmq".to_owned(),
            every: std::time::Duration::from_secs(10),
            started_at: t0,
        };
        beat(&db, &me("node-a", &["asset"]), t0).await.unwrap();
        beat(&db, &me("node-b", &["risk", "audit"]), t0)
            .await
            .unwrap();
        beat(
            &db,
            &me("node-old", &["risk"]),
            t0 - ChronoDuration::days(8),
        )
        .await
        .unwrap();
        // 25 s later: node-a beats again, node-b has missed two beats (still up).
        let t1 = t0 + ChronoDuration::seconds(25);
        beat(&db, &me("node-a", &["asset", "control"]), t1)
            .await
            .unwrap();
        let l = list(&db, t1).await.unwrap();
        let ids: Vec<&str> = l.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["node-a", "node-b"], "node-old was forgotten");
        assert_eq!(
            l[0].services,
            ["asset", "control"],
            "roles updated in place"
        );
        assert_eq!(l[0].last_seen, t1);
        assert!(l.iter().all(|n| n.state == "up"), "{l:?}");
        // 31 s after node-b's last beat: three periods missed.
        let l = list(&db, t0 + ChronoDuration::seconds(31)).await.unwrap();
        assert_eq!(l[1].state, "unreachable");
        leave(&db, "node-a", t1).await.unwrap();
        let l = list(&db, t1).await.unwrap();
        assert_eq!(l[0].state, "stopped");
        // A restart clears the stop.
        beat(&db, &me("node-a", &["asset"]), t1).await.unwrap();
        assert_eq!(list(&db, t1).await.unwrap()[0].state, "up");
        let _ = db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
