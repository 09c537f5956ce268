//! The overview's figures and their history: findings by level and by SSVC decision, KEV-listed
//! findings, open incidents by state, coverage per framework, counted in the database
//! ([`figures`], a handful of `GROUP BY` queries whatever the register's size) and snapshotted
//! every `console.snapshot_interval_s` into `console_snapshots` (at most
//! `console.snapshots_kept` rows) so each figure has a trend line.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_platform::Db;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use sea_orm_migration::prelude::*;
use serde::{Deserialize, Serialize};

rampart_platform::service_migrations![M20261203000006ConsoleSnapshots,];

/// `console_snapshots` rows.
pub mod snapshot {
    use sea_orm::entity::prelude::*;

    /// One snapshot.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "console_snapshots")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// When.
        pub taken_at: DateTimeUtc,
        /// [`super::Figures`] as JSON.
        pub figures: Json,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The overview's figures at one time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Open (not suppressed) findings by level (`very_high` ... `very_low`).
    pub findings_by_level: BTreeMap<String, u64>,
    /// Open findings by SSVC decision (`Act`, `Attend`, `Track*`, `Track`, `none`).
    pub findings_by_ssvc: BTreeMap<String, u64>,
    /// Open KEV-listed findings.
    pub kev: u64,
    /// Open findings.
    pub findings: u64,
    /// Incidents not closed, by state.
    pub incidents_by_state: BTreeMap<String, u64>,
    /// Coverage per framework, 0..=1.
    pub coverage: BTreeMap<String, f64>,
}

#[derive(Debug, FromQueryResult)]
struct Count {
    k: Option<String>,
    n: i64,
}

async fn grouped<E: EntityTrait>(
    db: &Db,
    col: impl ColumnTrait,
    filter: sea_orm::Condition,
) -> Result<BTreeMap<String, u64>, sea_orm::DbErr> {
    let rows = E::find()
        .select_only()
        .column_as(col, "k")
        .column_as(Expr::col(sea_orm::sea_query::Asterisk).count(), "n")
        .filter(filter)
        .group_by(col)
        .into_model::<Count>()
        .all(db.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.k.unwrap_or_else(|| "none".to_owned()),
                <u64 as TryFrom<i64>>::try_from(r.n).unwrap_or(0),
            )
        })
        .collect())
}

/// The figures now (module docs).
///
/// # Errors
/// Database errors.
pub async fn figures(db: &Db) -> Result<Figures, sea_orm::DbErr> {
    use rampart_incident::entities::incident;
    use rampart_risk::entities::risk_finding as finding;
    let open = sea_orm::Condition::all().add(finding::Column::Suppressed.eq(false));
    let findings_by_level =
        grouped::<finding::Entity>(db, finding::Column::Level, open.clone()).await?;
    let findings_by_ssvc =
        grouped::<finding::Entity>(db, finding::Column::Ssvc, open.clone()).await?;
    let kev = grouped::<finding::Entity>(
        db,
        finding::Column::Kev,
        open.clone().add(finding::Column::Kev.eq(true)),
    )
    .await?
    .values()
    .sum();
    let incidents_by_state = grouped::<incident::Entity>(
        db,
        incident::Column::State,
        sea_orm::Condition::all().add(incident::Column::State.ne("closed")),
    )
    .await?;
    let mut coverage = BTreeMap::new();
    for f in rampart_control::store::frameworks(db).await? {
        if let Some(c) = rampart_control::store::coverage(db, &f.id).await? {
            coverage.insert(f.id.clone(), c.coverage);
        }
    }
    Ok(Figures {
        findings: findings_by_level.values().sum(),
        findings_by_level,
        findings_by_ssvc,
        kev,
        incidents_by_state,
        coverage,
    })
}

/// Stores a snapshot of `f` taken at `at`, keeping the newest `keep`.
///
/// # Errors
/// Database errors.
pub async fn record(
    db: &Db,
    at: DateTime<Utc>,
    f: &Figures,
    keep: u64,
) -> Result<(), sea_orm::DbErr> {
    let tx = db.begin_write().await?;
    snapshot::Entity::insert(snapshot::ActiveModel {
        taken_at: Set(at),
        figures: Set(serde_json::to_value(f).unwrap_or_default()),
        ..Default::default()
    })
    .exec_without_returning(&tx)
    .await?;
    let cut = snapshot::Entity::find()
        .select_only()
        .column(snapshot::Column::Id)
        .order_by_desc(snapshot::Column::Id)
        .offset(std::cmp::max(keep, 1))
        .limit(1)
        .into_tuple::<i64>()
        .one(&tx)
        .await?;
    if let Some(id) = cut {
        snapshot::Entity::delete_many()
            .filter(snapshot::Column::Id.lte(id))
            .exec(&tx)
            .await?;
    }
    tx.commit().await
}

/// The newest `n` snapshots, oldest first.
///
/// # Errors
/// Database errors.
pub async fn history(db: &Db, n: u64) -> Result<Vec<(DateTime<Utc>, Figures)>, sea_orm::DbErr> {
    let mut rows = snapshot::Entity::find()
        .order_by_desc(snapshot::Column::Id)
        .limit(n)
        .all(db.conn())
        .await?;
    rows.reverse();
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.taken_at, serde_json::from_value(r.figures).ok()?)))
        .collect())
}

/// Takes a snapshot at once and then every `every`, until the task is aborted.
pub fn spawn_sampler(db: Db, every: std::time::Duration, keep: u64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut t = tokio::time::interval(every.max(std::time::Duration::from_secs(1)));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            t.tick().await;
            match figures(&db).await {
                Ok(f) => {
                    if let Err(e) = record(&db, Utc::now(), &f, keep).await {
                        tracing::warn!(error = %e, "storing the console's snapshot");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "counting the console's figures"),
            }
        }
    })
}

#[derive(DeriveIden)]
enum ConsoleSnapshots {
    Table,
    Id,
    TakenAt,
    Figures,
}

/// `console_snapshots`.
#[derive(Debug)]
struct M20261203000006ConsoleSnapshots;

impl MigrationName for M20261203000006ConsoleSnapshots {
    fn name(&self) -> &str {
        "m20261203_000006_console_snapshots"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261203000006ConsoleSnapshots {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConsoleSnapshots::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(ConsoleSnapshots::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(rampart_platform::migrations::ts(ConsoleSnapshots::TakenAt))
                    .col(
                        ColumnDef::new(ConsoleSnapshots::Figures)
                            .json_binary()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }
}
