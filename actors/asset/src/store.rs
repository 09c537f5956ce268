//! AssetManagement's storage: applies an imported [`Inventory`] to `asset_assets` /
//! `asset_components` in one transaction, writing `asset.discovered` / `asset.changed` events to
//! the outbox in the same transaction.
//!
//! Change detection: each asset's SHA-256 fingerprint over its normalised content (kind, name,
//! version, owner, tags, criticality, components, addresses; not its source format) is stored;
//! re-importing the same inventory finds every fingerprint equal and changes nothing: no row
//! written, no event. Retiring assets absent from an import is not done here: an import may be
//! partial (one SBOM among many), so retirement is an explicit operation ([`retire`]).

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::entities::{asset, asset_version, component};
use crate::{Asset, Inventory};
use rampart_contracts::asset::{AssetEvent, AssetRetired};
use rampart_platform::Db;
use rampart_platform::bus::{BusError, Envelope};
use rampart_platform::outbox::{self, OutboxError};
use std::borrow::Cow;

/// Service name under which AssetManagement writes its events.
pub const SERVICE: &str = "asset";

/// Components inserted per statement (SQLite's bound-variable limit stays far away).
const COMPONENT_BATCH: usize = 500;

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Keys of assets seen for the first time.
    pub discovered: Vec<String>,
    /// Keys of assets whose content changed.
    pub changed: Vec<String>,
    /// Assets identical to what was stored.
    pub unchanged: usize,
    /// Components written (of discovered and changed assets).
    pub components_written: usize,
}

/// Why an import could not be stored; nothing of it was (one transaction).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A database error.
    #[error("storing the import: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// An event could not be built or written.
    #[error("writing its events: {0}")]
    Outbox(#[from] OutboxError),
    /// An event could not be built.
    #[error("building its events: {0}")]
    Event(#[from] BusError),
}

/// Hex SHA-256 over the asset's normalised content (its JSON without `source`).
pub fn fingerprint(a: &Asset) -> String {
    #[derive(Serialize)]
    struct Content<'a> {
        key: &'a str,
        kind: crate::AssetKind,
        name: &'a str,
        version: &'a Option<String>,
        owner: &'a Option<String>,
        tags: &'a [String],
        criticality: u8,
        components: &'a [crate::Component],
        addresses: &'a [crate::Address],
    }
    let content = Content {
        key: &a.key,
        kind: a.kind,
        name: &a.name,
        version: &a.version,
        owner: &a.owner,
        tags: &a.tags,
        criticality: a.criticality,
        components: &a.components,
        addresses: &a.addresses,
    };
    let bytes = serde_json::to_vec(&content).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn kind_str(a: &Asset) -> String {
    serde_json::to_value(a.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "application".to_owned())
}

fn source_str(a: &Asset) -> String {
    serde_json::to_value(a.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", a.source).to_ascii_lowercase())
}

async fn write_components<C: ConnectionTrait>(
    tx: &C,
    asset_id: i64,
    a: &Asset,
) -> Result<usize, sea_orm::DbErr> {
    for chunk in a.components.chunks(COMPONENT_BATCH) {
        let rows = chunk.iter().map(|c| component::ActiveModel {
            asset_id: Set(asset_id),
            name: Set(c.name.clone()),
            version: Set(c.version.clone()),
            purl: Set(c.purl.clone()),
            cpe: Set(c.cpe.clone()),
            ecosystem: Set(c.ecosystem.clone()),
            ..Default::default()
        });
        component::Entity::insert_many(rows)
            .exec_without_returning(tx)
            .await?;
    }
    Ok(a.components.len())
}

/// Applies `inventory` in one transaction: new assets inserted (`asset.discovered`), changed
/// ones updated with their components replaced (`asset.changed`), identical ones untouched.
/// Events carry `cause`'s correlation id and trace when given.
///
/// # Errors
/// [`StoreError`]; on error nothing of the import is stored.
pub async fn apply_inventory(
    db: &Db,
    node: &str,
    inventory: &Inventory,
    cause: Option<&Envelope>,
) -> Result<ImportOutcome, StoreError> {
    let tx = db.begin_write().await?;
    let mut out = ImportOutcome::default();
    let now = Utc::now();
    for a in &inventory.assets {
        let fp = fingerprint(a);
        let existing = asset::Entity::find()
            .filter(asset::Column::Key.eq(a.key.as_str()))
            .one(&tx)
            .await?;
        let event_type = match existing {
            Some(row) if row.fingerprint == fp => {
                out.unchanged += 1;
                continue;
            }
            Some(row) => {
                let id = row.id;
                let mut m: asset::ActiveModel = row.into();
                m.kind = Set(kind_str(a));
                m.name = Set(a.name.clone());
                m.version = Set(a.version.clone());
                m.owner = Set(a.owner.clone());
                m.tags = Set(serde_json::json!(a.tags));
                m.criticality = Set(i16::from(a.criticality));
                m.source = Set(source_str(a));
                m.fingerprint = Set(fp.clone());
                m.retired = Set(false);
                m.last_seen = Set(now);
                m.update(&tx).await?;
                component::Entity::delete_many()
                    .filter(component::Column::AssetId.eq(id))
                    .exec(&tx)
                    .await?;
                out.components_written += write_components(&tx, id, a).await?;
                record_version(&tx, id, a, &fp, now).await?;
                out.changed.push(a.key.clone());
                "asset.changed"
            }
            None => {
                let res = asset::Entity::insert(asset::ActiveModel {
                    key: Set(a.key.clone()),
                    kind: Set(kind_str(a)),
                    name: Set(a.name.clone()),
                    version: Set(a.version.clone()),
                    owner: Set(a.owner.clone()),
                    tags: Set(serde_json::json!(a.tags)),
                    criticality: Set(i16::from(a.criticality)),
                    source: Set(source_str(a)),
                    fingerprint: Set(fp.clone()),
                    retired: Set(false),
                    first_seen: Set(now),
                    last_seen: Set(now),
                    ..Default::default()
                })
                .exec(&tx)
                .await?;
                out.components_written += write_components(&tx, res.last_insert_id, a).await?;
                record_version(&tx, res.last_insert_id, a, &fp, now).await?;
                out.discovered.push(a.key.clone());
                "asset.discovered"
            }
        };
        let mut event = Envelope::new(
            event_type,
            node,
            &AssetEvent {
                asset: Cow::Borrowed(a),
                fingerprint: Cow::Borrowed(&fp),
            },
        )?;
        if let Some(c) = cause {
            event = event.caused_by(c);
        }
        outbox::append(&tx, SERVICE, &event).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Most versions kept per asset; older ones are dropped (their diffs with them).
pub const MAX_VERSIONS: usize = 50;

/// Appends the asset's content as its next version, keeping the newest [`MAX_VERSIONS`].
async fn record_version(
    tx: &sea_orm::DatabaseTransaction,
    asset_id: i64,
    a: &Asset,
    fp: &str,
    now: chrono::DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let last: Option<i32> = asset_version::Entity::find()
        .select_only()
        .column_as(asset_version::Column::Number.max(), "m")
        .filter(asset_version::Column::AssetId.eq(asset_id))
        .into_tuple::<Option<i32>>()
        .one(tx)
        .await?
        .flatten();
    let number = last.unwrap_or(0).saturating_add(1);
    asset_version::Entity::insert(asset_version::ActiveModel {
        asset_id: Set(asset_id),
        number: Set(number),
        version: Set(a.version.clone()),
        fingerprint: Set(fp.to_owned()),
        components: Set(serde_json::to_value(&a.components).unwrap_or_default()),
        imported_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(tx)
    .await?;
    let keep_from = number.saturating_sub(i32::try_from(MAX_VERSIONS).unwrap_or(i32::MAX));
    if keep_from > 0 {
        asset_version::Entity::delete_many()
            .filter(asset_version::Column::AssetId.eq(asset_id))
            .filter(asset_version::Column::Number.lte(keep_from))
            .exec(tx)
            .await?;
    }
    Ok(())
}

/// One stored version of an asset (without its components).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    /// 1, 2, ... in import order.
    pub number: i32,
    /// The asset's own version then, if any.
    pub version: Option<String>,
    /// Components then.
    pub components: usize,
    /// Its fingerprint then.
    pub fingerprint: String,
    /// When it was imported, RFC 3339 UTC.
    pub imported_at: String,
}

fn summary(v: &asset_version::Model, components: usize) -> VersionSummary {
    VersionSummary {
        number: v.number,
        version: v.version.clone(),
        components,
        fingerprint: v.fingerprint.clone(),
        imported_at: v
            .imported_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// The stored versions of asset `id`, oldest first (at most [`MAX_VERSIONS`]).
///
/// # Errors
/// Database errors.
pub async fn versions(db: &Db, id: i64) -> Result<Vec<VersionSummary>, sea_orm::DbErr> {
    Ok(asset_version::Entity::find()
        .filter(asset_version::Column::AssetId.eq(id))
        .order_by_asc(asset_version::Column::Number)
        .all(db.conn())
        .await?
        .iter()
        .map(|v| summary(v, v.components.as_array().map_or(0, Vec::len)))
        .collect())
}

/// Version `number` of asset `id` with its components; `None` when not stored.
///
/// # Errors
/// Database errors.
pub async fn version(
    db: &Db,
    id: i64,
    number: i32,
) -> Result<Option<(VersionSummary, Vec<rampart_contracts::asset::Component>)>, sea_orm::DbErr> {
    let Some(v) = asset_version::Entity::find()
        .filter(asset_version::Column::AssetId.eq(id))
        .filter(asset_version::Column::Number.eq(number))
        .one(db.conn())
        .await?
    else {
        return Ok(None);
    };
    let components: Vec<rampart_contracts::asset::Component> =
        serde_json::from_value(v.components.clone()).unwrap_or_default();
    Ok(Some((summary(&v, components.len()), components)))
}

/// Marks the asset `key` retired and writes `asset.retired`; `false` if there is no such active
/// asset.
///
/// # Errors
/// [`StoreError`].
pub async fn retire(db: &Db, node: &str, key: &str) -> Result<bool, StoreError> {
    let tx = db.begin_write().await?;
    let n = asset::Entity::update_many()
        .col_expr(asset::Column::Retired, Expr::value(true))
        .filter(asset::Column::Key.eq(key))
        .filter(asset::Column::Retired.eq(false))
        .exec(&tx)
        .await?
        .rows_affected;
    if n == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    let event = Envelope::new(
        "asset.retired",
        node,
        &AssetRetired {
            key: key.to_owned(),
        },
    )?;
    outbox::append(&tx, SERVICE, &event).await?;
    tx.commit().await?;
    Ok(true)
}

/// One asset as the API lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssetView {
    /// Numeric id (path parameter of `/api/v1/assets/{id}`).
    pub id: i64,
    /// Stable deduplication key.
    pub key: String,
    /// `host`, `application`, `service` or `cloud_resource`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Version, if any.
    pub version: Option<String>,
    /// Owner, if known.
    pub owner: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Criticality 1..=5.
    pub criticality: u8,
    /// Import format it came from.
    pub source: String,
    /// Retired (no longer in inventory).
    pub retired: bool,
    /// First import (RFC 3339 UTC).
    pub first_seen: String,
    /// Last import that listed it (RFC 3339 UTC).
    pub last_seen: String,
}

impl From<asset::Model> for AssetView {
    fn from(m: asset::Model) -> Self {
        Self {
            id: m.id,
            key: m.key,
            kind: m.kind,
            name: m.name,
            version: m.version,
            owner: m.owner,
            tags: serde_json::from_value(m.tags).unwrap_or_default(),
            criticality: u8::try_from(m.criticality).unwrap_or(0),
            source: m.source,
            retired: m.retired,
            first_seen: m.first_seen.to_rfc3339(),
            last_seen: m.last_seen.to_rfc3339(),
        }
    }
}

/// One component as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComponentView {
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Package URL.
    pub purl: Option<String>,
    /// CPE 2.3.
    pub cpe: Option<String>,
    /// Ecosystem (from the purl type).
    pub ecosystem: Option<String>,
}

/// An asset with its components.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssetDetail {
    /// The asset.
    #[serde(flatten)]
    pub asset: AssetView,
    /// Its components, in import order.
    pub components: Vec<ComponentView>,
}

/// Filter and page of [`list_assets`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this owner.
    pub owner: Option<String>,
    /// Name contains this (case-sensitive on PostgreSQL, ASCII case-insensitive on SQLite).
    pub name: Option<String>,
    /// Only this criticality or higher.
    pub min_criticality: Option<u8>,
    /// Include retired assets.
    pub include_retired: bool,
    /// Page from 1.
    pub page: u64,
    /// Assets per page (1..=1000).
    pub per_page: u64,
}

/// Assets matching `filter`, by id, one page, with the total count.
///
/// # Errors
/// Database errors.
pub async fn list_assets(
    db: &Db,
    filter: &AssetFilter,
) -> Result<(Vec<AssetView>, u64), sea_orm::DbErr> {
    use sea_orm::{PaginatorTrait, QueryOrder, QuerySelect};
    let mut q = asset::Entity::find();
    if let Some(k) = &filter.kind {
        q = q.filter(asset::Column::Kind.eq(k.as_str()));
    }
    if let Some(o) = &filter.owner {
        q = q.filter(asset::Column::Owner.eq(o.as_str()));
    }
    if let Some(n) = &filter.name {
        q = q.filter(asset::Column::Name.contains(n.as_str()));
    }
    if let Some(c) = filter.min_criticality {
        q = q.filter(asset::Column::Criticality.gte(i16::from(c)));
    }
    if !filter.include_retired {
        q = q.filter(asset::Column::Retired.eq(false));
    }
    let total = q.clone().count(db.conn()).await?;
    let per_page = filter.per_page.clamp(1, 1000);
    let rows = q
        .order_by_asc(asset::Column::Id)
        .offset(rampart_platform::page_offset(filter.page, per_page))
        .limit(per_page)
        .all(db.conn())
        .await?;
    Ok((rows.into_iter().map(AssetView::from).collect(), total))
}

/// The asset `id` with its components, if any.
///
/// # Errors
/// Database errors.
pub async fn get_asset(db: &Db, id: i64) -> Result<Option<AssetDetail>, sea_orm::DbErr> {
    use sea_orm::QueryOrder;
    let Some(a) = asset::Entity::find_by_id(id).one(db.conn()).await? else {
        return Ok(None);
    };
    let components = component::Entity::find()
        .filter(component::Column::AssetId.eq(id))
        .order_by_asc(component::Column::Id)
        .all(db.conn())
        .await?
        .into_iter()
        .map(|c| ComponentView {
            name: c.name,
            version: c.version,
            purl: c.purl,
            cpe: c.cpe,
            ecosystem: c.ecosystem,
        })
        .collect();
    Ok(Some(AssetDetail {
        asset: AssetView::from(a),
        components,
    }))
}

/// The key of asset `id`, if any.
///
/// # Errors
/// Database errors.
pub async fn key_of(db: &Db, id: i64) -> Result<Option<String>, sea_orm::DbErr> {
    Ok(asset::Entity::find_by_id(id)
        .one(db.conn())
        .await?
        .map(|a| a.key))
}
