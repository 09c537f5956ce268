//! sea-orm entities of this crate's tables (created by [`crate::migrations`]).

/// `audit_log`: the append-only, hash-chained audit log (AuditReporting).
pub mod audit_entry {
    use sea_orm::entity::prelude::*;

    /// One entry.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        /// Position in the chain, from 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        /// The event's id (unique: an event is logged once).
        #[sea_orm(unique)]
        pub event_id: Uuid,
        /// The event's type.
        pub event_type: String,
        /// The node that published it.
        pub source_node: String,
        /// The envelope as canonical JSON text (the exact bytes hashed).
        pub entry: String,
        /// Hash of the previous entry (64 zeros for the first).
        pub prev_hash: String,
        /// Hex SHA-256 of `prev_hash`, `seq` and `entry` (see `db::audit`).
        pub hash: String,
        /// When it was appended (UTC).
        pub recorded_at: DateTimeUtc,
        /// `sub` of an `api.called` entry's caller (`NULL` otherwise).
        pub principal: Option<String>,
        /// Operation of an `api.called` entry (`GET /api/v1/assets/{id}`; `NULL` otherwise).
        pub operation: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `audit_head`: the last entry's position and hash (one row), so truncation is detected.
pub mod audit_head {
    use sea_orm::entity::prelude::*;

    /// The head.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_head")]
    pub struct Model {
        /// Always 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        /// Last entry's seq.
        pub seq: i64,
        /// Last entry's hash.
        pub hash: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
