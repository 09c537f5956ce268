//! sea-orm entities of this crate's tables (created by [`crate::migrations`]).

/// `incident_incidents`: IncidentResponse's incidents.
pub mod incident {
    use sea_orm::entity::prelude::*;

    /// One incident.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_incidents")]
    pub struct Model {
        /// Id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// What caused it (`risk:<asset>:<vulnerability>`), unique: one incident per cause.
        #[sea_orm(unique)]
        pub cause_key: String,
        /// Title.
        pub title: String,
        /// The affected asset's key.
        pub asset_key: String,
        /// Risk level when opened.
        pub level: String,
        /// Risk score when opened.
        pub score: i16,
        /// Lifecycle state (NIST SP 800-61).
        pub state: String,
        /// Assignee.
        pub assignee: Option<String>,
        /// Opened (UTC).
        pub opened_at: DateTimeUtc,
        /// Last change (UTC).
        pub updated_at: DateTimeUtc,
        /// Closed (UTC).
        pub closed_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `incident_timeline`: what happened to each incident, in order.
pub mod incident_event {
    use sea_orm::entity::prelude::*;

    /// One timeline entry.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_timeline")]
    pub struct Model {
        /// Id (ordering).
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The incident.
        pub incident_id: i64,
        /// When (UTC).
        pub at: DateTimeUtc,
        /// `opened`, `transition`, `assigned`, `comment`.
        pub kind: String,
        /// Who (user or `system`).
        pub actor: String,
        /// State before (transitions).
        pub from_state: Option<String>,
        /// State after (transitions).
        pub to_state: Option<String>,
        /// Free text (comment, note, assignee).
        pub text: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
