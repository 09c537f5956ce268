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
    ActiveValue::Set, ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
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

/// How long the overview reuses figures it counted: 5 s. Counting scans the findings (about
/// 25 ms with 100,000 on SQLite), so many open consoles cost one count per period, and
/// concurrent misses share one count. A console action (any successful form) drops the cached
/// figures, so its author sees its effect at once.
pub const FIGURES_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The overview's figures, counted at most once per [`FIGURES_TTL`] (one entry).
#[derive(Clone)]
pub struct FiguresCache(moka::future::Cache<(), std::sync::Arc<(DateTime<Utc>, Figures)>>);

impl std::fmt::Debug for FiguresCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FiguresCache")
    }
}

impl Default for FiguresCache {
    fn default() -> Self {
        Self(
            moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(FIGURES_TTL)
                .build(),
        )
    }
}

impl FiguresCache {
    /// The figures and when they were counted: cached when younger than [`FIGURES_TTL`], else
    /// counted now ([`figures`]).
    ///
    /// # Errors
    /// The database error of the count (shared by the callers that waited for it).
    pub async fn get(
        &self,
        db: &Db,
    ) -> Result<std::sync::Arc<(DateTime<Utc>, Figures)>, std::sync::Arc<sea_orm::DbErr>> {
        self.0
            .try_get_with((), async {
                figures(db)
                    .await
                    .map(|f| std::sync::Arc::new((Utc::now(), f)))
            })
            .await
    }

    /// Drops the cached figures (after a change made through the console).
    pub fn invalidate(&self) {
        self.0.invalidate_all();
    }
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
    // A boolean column reads back as an integer on SQLite: count, do not group.
    let kev = finding::Entity::find()
        .filter(open.clone().add(finding::Column::Kev.eq(true)))
        .count(db.conn())
        .await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_risk::entities::risk_finding;

    fn finding(i: usize, level: &str, kev: bool, suppressed: bool) -> risk_finding::ActiveModel {
        risk_finding::ActiveModel {
            asset_key: Set("host-1".to_owned()),
            vuln_id: Set(format!("CVE-2024-{i:05}")),
            component: Set("openssl".to_owned()),
            component_version: Set(Some("1.0.0".to_owned())),
            purl: Set(None),
            cpe: Set(None),
            cves: Set(serde_json::json!([])),
            cwes: Set(serde_json::json!([])),
            kev: Set(kev),
            likelihood: Set(3),
            impact: Set(3),
            score: Set(9),
            level: Set(level.to_owned()),
            confidence: Set("high".to_owned()),
            summary: Set("test".to_owned()),
            rationale: Set(serde_json::json!([])),
            scored_at: Set(Utc::now()),
            finding_key: Set(format!("{i:032x}")),
            ssvc: Set(if kev { Some("Act".to_owned()) } else { None }),
            suppressed: Set(suppressed),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn figures_count_open_findings_by_level_ssvc_and_kev_on_sqlite() {
        let dir = std::env::temp_dir().join(format!("rampart-trends-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/t.sqlite", dir.display());
        let db =
            Db::connect::<crate::schema::Migrator>(&url, &rampart_platform::DbOptions::default())
                .await
                .unwrap();
        risk_finding::Entity::insert_many([
            finding(1, "high", true, false),
            finding(2, "high", false, false),
            finding(3, "low", true, true),
            finding(4, "moderate", false, false),
        ])
        .exec_without_returning(db.conn())
        .await
        .unwrap();
        let f = figures(&db).await.unwrap();
        assert_eq!(f.findings, 3, "the suppressed finding is not open");
        assert_eq!(f.kev, 1);
        assert_eq!(f.findings_by_level.get("high"), Some(&2));
        assert_eq!(f.findings_by_level.get("moderate"), Some(&1));
        assert_eq!(f.findings_by_level.get("low"), None);
        assert_eq!(f.findings_by_ssvc.get("Act"), Some(&1));
        assert_eq!(f.findings_by_ssvc.get("none"), Some(&2));
        let _ = db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
