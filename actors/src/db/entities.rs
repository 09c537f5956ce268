//! sea-orm entities of the tables created by [`super::migrations`].

/// `asset_assets`: AssetManagement's assets, one row per stable key.
pub mod asset {
    use sea_orm::entity::prelude::*;

    /// One asset.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "asset_assets")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Stable deduplication key (unique).
        #[sea_orm(unique)]
        pub key: String,
        /// host, application, service, cloud_resource.
        pub kind: String,
        /// Display name.
        pub name: String,
        /// Version, if any.
        pub version: Option<String>,
        /// Owner, if known.
        pub owner: Option<String>,
        /// Tags (JSON array of strings).
        pub tags: Json,
        /// 1..=5.
        pub criticality: i16,
        /// Import format it came from.
        pub source: String,
        /// Digest of the normalised content; a re-import with the same digest changes nothing.
        pub fingerprint: String,
        /// Retired (no longer in inventory).
        pub retired: bool,
        /// First import (UTC).
        pub first_seen: DateTimeUtc,
        /// Last import that listed it (UTC).
        pub last_seen: DateTimeUtc,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// Its components.
        #[sea_orm(has_many = "super::component::Entity")]
        Component,
    }

    impl Related<super::component::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Component.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `asset_components`: the software (or services) an asset carries.
pub mod component {
    use sea_orm::entity::prelude::*;

    /// One component of one asset.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "asset_components")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The asset (`asset_assets.id`), deleted with it.
        pub asset_id: i64,
        /// Name.
        pub name: String,
        /// Version, if known.
        pub version: Option<String>,
        /// Package URL, if known (indexed).
        pub purl: Option<String>,
        /// CPE 2.3, if known.
        pub cpe: Option<String>,
        /// Ecosystem (maven, npm, golang, deb, ...), if known.
        pub ecosystem: Option<String>,
    }

    /// Relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// The asset.
        #[sea_orm(
            belongs_to = "super::asset::Entity",
            from = "Column::AssetId",
            to = "super::asset::Column::Id",
            on_delete = "Cascade"
        )]
        Asset,
    }

    impl Related<super::asset::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Asset.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

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
