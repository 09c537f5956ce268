//! The threat-intelligence sync's table, `intel_sources`: per source, the validators of each
//! URL's last good answer (`ETag`, `Last-Modified`), NVD's cursor, and the last success and
//! error, so a restarted node neither re-downloads unchanged feeds nor forgets a failing one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rampart_platform::Db;
use rampart_platform::migrations::ts;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};
use sea_orm_migration::prelude::*;

use super::Validators;

rampart_platform::service_migrations![M20261203000004IntelSources,];

/// `intel_sources` rows.
pub mod intel_source {
    use sea_orm::entity::prelude::*;

    /// One source's state.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "intel_sources")]
    pub struct Model {
        /// The source's name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        /// URL -> validators (JSON object).
        pub validators: Json,
        /// NVD: the `lastModEndDate` of the last successful pull.
        pub nvd_cursor: Option<DateTimeUtc>,
        /// Last success.
        pub last_success: Option<DateTimeUtc>,
        /// Last error's text (never a secret: URLs are stripped from transport errors).
        pub last_error: Option<String>,
        /// When.
        pub last_error_at: Option<DateTimeUtc>,
        /// What the last success did (JSON).
        pub last_outcome: Option<Json>,
        /// Written at.
        pub updated_at: DateTimeUtc,
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
    /// URL -> validators.
    pub validators: HashMap<String, Validators>,
    /// NVD's cursor.
    pub nvd_cursor: Option<DateTime<Utc>>,
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
    Ok(intel_source::Entity::find()
        .all(db.conn())
        .await?
        .into_iter()
        .map(|m| {
            (
                m.name.clone(),
                SourceRow {
                    name: m.name,
                    validators: serde_json::from_value(m.validators).unwrap_or_default(),
                    nvd_cursor: m.nvd_cursor,
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
    use intel_source::Column as C;
    let tx = db.begin_write().await?;
    intel_source::Entity::insert(intel_source::ActiveModel {
        name: Set(row.name.clone()),
        validators: Set(serde_json::to_value(&row.validators).unwrap_or_default()),
        nvd_cursor: Set(row.nvd_cursor),
        last_success: Set(row.last_success),
        last_error: Set(row.last_error.clone()),
        last_error_at: Set(row.last_error_at),
        last_outcome: Set(row.last_outcome.clone()),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(C::Name)
            .update_columns([
                C::Validators,
                C::NvdCursor,
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

#[derive(DeriveIden)]
enum IntelSources {
    Table,
    Name,
    Validators,
    NvdCursor,
    LastSuccess,
    LastError,
    LastErrorAt,
    LastOutcome,
    UpdatedAt,
}

/// `intel_sources`.
#[derive(Debug)]
struct M20261203000004IntelSources;

impl MigrationName for M20261203000004IntelSources {
    fn name(&self) -> &str {
        "m20261203_000004_intel_sources"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261203000004IntelSources {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let at = |c: IntelSources| {
            ColumnDef::new(c)
                .timestamp_with_time_zone()
                .null()
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(IntelSources::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(IntelSources::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(IntelSources::Validators)
                            .json_binary()
                            .not_null(),
                    )
                    .col(at(IntelSources::NvdCursor))
                    .col(at(IntelSources::LastSuccess))
                    .col(ColumnDef::new(IntelSources::LastError).text().null())
                    .col(at(IntelSources::LastErrorAt))
                    .col(
                        ColumnDef::new(IntelSources::LastOutcome)
                            .json_binary()
                            .null(),
                    )
                    .col(ts(IntelSources::UpdatedAt))
                    .to_owned(),
            )
            .await
    }
}
