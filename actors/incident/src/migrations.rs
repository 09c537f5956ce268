//! IncidentResponse's schema migrations (sea-orm-migration): its own tables. The node runs
//! them with every other crate's, in name order ([`rampart_platform::migrations::compose`]). A
//! migration, once released, is never edited or renamed: changes go in a new one.

use sea_orm_migration::prelude::*;

use rampart_platform::migrations::{auto_id, index, ts};

rampart_platform::service_migrations![M20261124000009Incidents,];

#[derive(DeriveIden)]
enum IncidentIncidents {
    Table,
    Id,
    CauseKey,
    Title,
    AssetKey,
    Level,
    Score,
    State,
    Assignee,
    OpenedAt,
    UpdatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum IncidentTimeline {
    Table,
    Id,
    IncidentId,
    At,
    Kind,
    Actor,
    FromState,
    ToState,
    Text,
}

/// IncidentResponse's incidents and their timelines.
#[derive(Debug)]
struct M20261124000009Incidents;

impl MigrationName for M20261124000009Incidents {
    fn name(&self) -> &str {
        "m20261124_000009_incidents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M20261124000009Incidents {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IncidentIncidents::Table)
                    .if_not_exists()
                    .col(auto_id(IncidentIncidents::Id))
                    .col(
                        ColumnDef::new(IncidentIncidents::CauseKey)
                            .string_len(768)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(IncidentIncidents::Title).text().not_null())
                    .col(
                        ColumnDef::new(IncidentIncidents::AssetKey)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentIncidents::Level)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentIncidents::Score)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentIncidents::State)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentIncidents::Assignee)
                            .string_len(256)
                            .null(),
                    )
                    .col(ts(IncidentIncidents::OpenedAt))
                    .col(ts(IncidentIncidents::UpdatedAt))
                    .col(
                        ColumnDef::new(IncidentIncidents::ClosedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IncidentTimeline::Table)
                    .if_not_exists()
                    .col(auto_id(IncidentTimeline::Id))
                    .col(
                        ColumnDef::new(IncidentTimeline::IncidentId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ts(IncidentTimeline::At))
                    .col(
                        ColumnDef::new(IncidentTimeline::Kind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentTimeline::Actor)
                            .string_len(256)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentTimeline::FromState)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(IncidentTimeline::ToState)
                            .string_len(16)
                            .null(),
                    )
                    .col(ColumnDef::new(IncidentTimeline::Text).text().null())
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "incident_timeline_incident",
            "incident_timeline",
            &["incident_id"],
            false,
        )
        .await?;
        index(
            manager,
            "incident_incidents_state",
            "incident_incidents",
            &["state"],
            false,
        )
        .await
    }
}
