//! sea-orm entities of this crate's tables (created by [`crate::migrations`]).

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

/// `asset_versions`: the history of an asset's content, one row per import that changed it
/// (its components as imported), for SBOM diffs ([`crate::diff`]).
pub mod asset_version {
    use sea_orm::entity::prelude::*;

    /// One version.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "asset_versions")]
    pub struct Model {
        /// Surrogate id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The asset (`asset_assets.id`).
        pub asset_id: i64,
        /// 1, 2, ... per asset, in import order.
        pub number: i32,
        /// The asset's own version at that import, if any.
        pub version: Option<String>,
        /// Its fingerprint then.
        pub fingerprint: String,
        /// Its components then (JSON array of `Component`).
        pub components: Json,
        /// When (UTC).
        pub imported_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
