//! The discovery scheduler's tables: `discovery_sources` (per source, the last success and
//! error and what the last run did) and `discovery_seen` (per source and asset key, how many
//! consecutive successful runs have not listed the asset), so a restarted node neither forgets
//! a failing source nor restarts the absence count that retires an asset.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rampart_platform::Db;
use rampart_platform::migrations::ts;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use sea_orm_migration::prelude::*;

rampart_platform::service_migrations![M20261203000005Discovery,];

/// `discovery_sources` rows.
pub mod discovery_source {
    use sea_orm::entity::prelude::*;

    /// One source's state.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "discovery_sources")]
    pub struct Model {
        /// The source's name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        /// Last successful run.
        pub last_success: Option<DateTimeUtc>,
        /// Last error's text (never a secret: no key, token or signed URL is put in it).
        pub last_error: Option<String>,
        /// When.
        pub last_error_at: Option<DateTimeUtc>,
        /// What the last successful run did (JSON).
        pub last_outcome: Option<Json>,
        /// Written at.
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `discovery_seen` rows.
pub mod discovery_seen {
    use sea_orm::entity::prelude::*;

    /// One asset a source has listed.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "discovery_seen")]
    pub struct Model {
        /// The source's name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub source: String,
        /// The asset's key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub asset_key: String,
        /// Consecutive successful runs that did not list it.
        pub absences: i32,
        /// Last run that listed it.
        pub last_seen: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One source's stored state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceRow {
    /// Its name.
    pub name: String,
    /// Last success.
    pub last_success: Option<DateTime<Utc>>,
    /// Last error.
    pub last_error: Option<String>,
    /// When.
    pub last_error_at: Option<DateTime<Utc>>,
    /// What the last success did.
    pub last_outcome: Option<serde_json::Value>,
}

/// Every stored source state, by name.
///
/// # Errors
/// Database errors.
pub async fn load(db: &Db) -> Result<HashMap<String, SourceRow>, sea_orm::DbErr> {
    Ok(discovery_source::Entity::find()
        .all(db.conn())
        .await?
        .into_iter()
        .map(|m| {
            (
                m.name.clone(),
                SourceRow {
                    name: m.name,
                    last_success: m.last_success,
                    last_error: m.last_error,
                    last_error_at: m.last_error_at,
                    last_outcome: m.last_outcome,
                },
            )
        })
        .collect())
}

/// Stores one source's state.
///
/// # Errors
/// Database errors.
pub async fn save(db: &Db, row: &SourceRow) -> Result<(), sea_orm::DbErr> {
    use discovery_source::Column as C;
    let tx = db.begin_write().await?;
    discovery_source::Entity::insert(discovery_source::ActiveModel {
        name: Set(row.name.clone()),
        last_success: Set(row.last_success),
        last_error: Set(row.last_error.clone()),
        last_error_at: Set(row.last_error_at),
        last_outcome: Set(row.last_outcome.clone()),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(C::Name)
            .update_columns([
                C::LastSuccess,
                C::LastError,
                C::LastErrorAt,
                C::LastOutcome,
                C::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&tx)
    .await?;
    tx.commit().await
}

/// What [`record_run`] found: keys absent long enough to retire, and how many were absent
/// without reaching the limit yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Absences {
    /// Keys absent from `retire_after` consecutive successful runs or more: to be retired, then
    /// [`forget`]-ten (a key whose retirement failed stays and is returned again next run).
    pub retire: Vec<String>,
    /// Keys absent from fewer runs so far.
    pub pending: usize,
}

/// Records one **successful** run of `source` that listed `present`: their absence counts go
/// to 0, every other key the source listed before counts one more absence, and those reaching
/// `retire_after` are returned to be retired. One transaction.
///
/// # Errors
/// Database errors (nothing is recorded then).
pub async fn record_run(
    db: &Db,
    source: &str,
    present: &[String],
    retire_after: u32,
) -> Result<Absences, sea_orm::DbErr> {
    use discovery_seen::Column as C;
    let now = Utc::now();
    let tx = db.begin_write().await?;
    let known = discovery_seen::Entity::find()
        .filter(C::Source.eq(source))
        .all(&tx)
        .await?;
    let listed: std::collections::HashSet<&str> = present.iter().map(String::as_str).collect();
    let mut out = Absences::default();
    let limit = <i32 as TryFrom<u32>>::try_from(std::cmp::max(retire_after, 1)).unwrap_or(i32::MAX);
    for row in known {
        if listed.contains(row.asset_key.as_str()) {
            continue;
        }
        let absences = row.absences.saturating_add(1);
        if absences >= limit {
            out.retire.push(row.asset_key.clone());
        } else {
            out.pending += 1;
        }
        discovery_seen::ActiveModel {
            source: Set(row.source),
            asset_key: Set(row.asset_key),
            absences: Set(absences),
            last_seen: Set(row.last_seen),
        }
        .update(&tx)
        .await?;
    }
    for chunk in present.chunks(500) {
        discovery_seen::Entity::insert_many(chunk.iter().map(|k| discovery_seen::ActiveModel {
            source: Set(source.to_owned()),
            asset_key: Set(k.clone()),
            absences: Set(0),
            last_seen: Set(now),
        }))
        .on_conflict(
            OnConflict::columns([C::Source, C::AssetKey])
                .update_columns([C::Absences, C::LastSeen])
                .to_owned(),
        )
        .exec_without_returning(&tx)
        .await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Stops tracking `key` for `source` (after it was retired).
///
/// # Errors
/// Database errors.
pub async fn forget(db: &Db, source: &str, key: &str) -> Result<(), sea_orm::DbErr> {
    use discovery_seen::Column as C;
    let tx = db.begin_write().await?;
    discovery_seen::Entity::delete_many()
        .filter(C::Source.eq(source))
        .filter(C::AssetKey.eq(key))
        .exec(&tx)
        .await?;
    tx.commit().await
}

#[derive(DeriveIden)]
enum DiscoverySources {
    Table,
    Name,
    LastSuccess,
    LastError,
    LastErrorAt,
    LastOutcome,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DiscoverySeen {
    Table,
    Source,
    AssetKey,
    Absences,
    LastSeen,
}

/// `discovery_sources` and `discovery_seen`.
#[derive(Debug)]
struct M20261203000005Discovery;

impl MigrationName for M20261203000005Discovery {
    fn name(&self) -> &str {
        "m20261203_000005_discovery"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261203000005Discovery {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let at = |c: DiscoverySources| {
            ColumnDef::new(c)
                .timestamp_with_time_zone()
                .null()
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(DiscoverySources::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(DiscoverySources::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(at(DiscoverySources::LastSuccess))
                    .col(ColumnDef::new(DiscoverySources::LastError).text().null())
                    .col(at(DiscoverySources::LastErrorAt))
                    .col(
                        ColumnDef::new(DiscoverySources::LastOutcome)
                            .json_binary()
                            .null(),
                    )
                    .col(ts(DiscoverySources::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DiscoverySeen::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(DiscoverySeen::Source)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DiscoverySeen::AssetKey)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DiscoverySeen::Absences)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ts(DiscoverySeen::LastSeen))
                    .primary_key(
                        Index::create()
                            .col(DiscoverySeen::Source)
                            .col(DiscoverySeen::AssetKey),
                    )
                    .to_owned(),
            )
            .await
    }
}
