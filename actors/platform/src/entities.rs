//! sea-orm entities of this crate's tables (created by [`crate::migrations`]).

/// `processed_events`: which events each service has already handled (idempotency).
pub mod processed_event {
    use sea_orm::entity::prelude::*;

    /// One handled event.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "processed_events")]
    pub struct Model {
        /// The service that handled it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub service: String,
        /// The event's id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: Uuid,
        /// When (UTC).
        pub processed_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `outbox`: events written with the state change they report, published by a relay.
pub mod outbox {
    use sea_orm::entity::prelude::*;

    /// One event waiting to be (or already) published.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        /// The event id (UUID v7: insertion order is time order).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The service that wrote it.
        pub service: String,
        /// Its type (routing key).
        pub event_type: String,
        /// The whole envelope as JSON.
        pub envelope: Json,
        /// When it was written (UTC).
        pub created_at: DateTimeUtc,
        /// When the relay published it; `None` while pending.
        pub published_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `jobs`: asynchronous jobs (asset imports, feed ingestion), owned by the platform layer.
pub mod job {
    use sea_orm::entity::prelude::*;

    /// One job.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "jobs")]
    pub struct Model {
        /// Job id (UUID v7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// `asset-import` or `threat-intel`.
        pub kind: String,
        /// Input format (`cyclonedx`, …) or feed kind (`kev`, `osv`, `nvd`).
        pub input: String,
        /// `queued`, `running`, `succeeded`, `failed`.
        pub state: String,
        /// Node that accepted the job.
        pub node: String,
        /// Accepted at (UTC).
        pub created_at: DateTimeUtc,
        /// Work started at (UTC).
        pub started_at: Option<DateTimeUtc>,
        /// Succeeded or failed at (UTC).
        pub finished_at: Option<DateTimeUtc>,
        /// Counts of what the job did (JSON object), when it succeeded.
        pub result: Option<Json>,
        /// Why it failed.
        pub error: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `dead_letters`: events a consumer gave up on.
pub mod dead_letter {
    use sea_orm::entity::prelude::*;

    /// One dead letter.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "dead_letters")]
    pub struct Model {
        /// The consuming service.
        #[sea_orm(primary_key, auto_increment = false)]
        pub service: String,
        /// The event id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: Uuid,
        /// The event type.
        pub event_type: String,
        /// The whole envelope (JSON).
        pub envelope: Json,
        /// The last error.
        pub error: String,
        /// Deliveries made.
        pub deliveries: i32,
        /// When it was given up on (UTC).
        pub dead_at: DateTimeUtc,
        /// When it was last replayed (UTC), if ever.
        pub replayed_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
