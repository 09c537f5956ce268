//! RiskAnalysis's read model: the register listing ([`crate::store::list_findings`]) and each
//! asset's current risk ([`crate::store::asset_risk`]) served from memory while nothing was
//! written since they were read, so a read does not take an actor round trip and a database
//! query each time.
//!
//! # The generation
//! Every transaction that writes what these reads return (asset events applied, a feed ingested)
//! bumps one counter row, `risk_generation`, just before it commits ([`bump`]): the counter is
//! the number of committed writes, and it moves forward in commit order (the row lock orders the
//! writers). Replicas of RiskAnalysis on other nodes write the same row, so the counter covers
//! every writer, not only this node's actor.
//!
//! Cached answers are keyed by the generation they were read at. A read first learns the current
//! generation through the [`GenerationFence`], then serves the answer cached for it or reads the
//! tables once (concurrent misses of one key share one load) and caches the result under that
//! generation. A write that commits before the request arrived has bumped the counter before the
//! fence reads it, so the request never gets an answer older than a write its client saw
//! acknowledged (a feed job `succeeded`, an asset scored), whichever node wrote it.
//!
//! # The fence: one generation read in flight, shared
//! The fence reads the counter (a primary-key lookup) for the whole node: a request waits for a
//! read that *started after it arrived* (it may reuse one that a request queued before it
//! started), so under load one small query answers every request that arrived while the previous
//! one ran, instead of two or three queries per request. Failures are shared the same way (a
//! database outage does not queue one failing query per request).
//!
//! # Bounds
//! Both caches are bounded by bytes (the rendered page's length; an estimate of the answer's
//! JSON size): [`REGISTER_CACHE_BYTES`], [`ASSET_RISK_CACHE_BYTES`], least recently used out
//! first (entries of past generations are never read again and age out), and idle entries leave
//! after [`CACHE_IDLE`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use moka::future::Cache;
use moka::policy::EvictionPolicy;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect,
};

use crate::entities::risk_generation;
use crate::store::{AssetRisk, FindingFilter, FindingView, asset_risk, list_findings};
use rampart_platform::Db;

/// Most bytes of rendered register pages held (32 MiB).
pub const REGISTER_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// Most bytes of current-risk answers held (16 MiB, estimated as their JSON size; an answer
/// holds at most 10 findings, a few KiB).
pub const ASSET_RISK_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Cached entries not read for this long are dropped (10 min).
pub const CACHE_IDLE: Duration = Duration::from_secs(600);

/// Renders one register page: the filter it answers (with its page and per-page), the page's
/// findings and the total matching the filter, to the response body (JSON). Must depend on its
/// arguments only: its output is cached under the filter.
pub type RenderRegister =
    fn(&FindingFilter, Vec<FindingView>, u64) -> Result<Vec<u8>, serde_json::Error>;

/// Why a read failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    /// A database error (the counter or the tables), as text.
    #[error("risk register read: {0}")]
    Db(String),
    /// The renderer failed.
    #[error("rendering the risk register: {0}")]
    Render(String),
}

/// The row's id (the table holds this one row).
const ROW: i16 = 1;

/// Bumps the write counter inside `tx`; call it just before the commit of every transaction that
/// changes `risk_findings` or `risk_assets` (the row lock is then held only for the commit).
///
/// # Errors
/// Database errors.
pub async fn bump(tx: &DatabaseTransaction) -> Result<(), sea_orm::DbErr> {
    let updated = risk_generation::Entity::update_many()
        .col_expr(
            risk_generation::Column::Counter,
            Expr::col(risk_generation::Column::Counter).add(1),
        )
        .filter(risk_generation::Column::Id.eq(ROW))
        .exec(tx)
        .await?;
    if updated.rows_affected == 0 {
        // The row is made by the migration; a table emptied by hand starts again from 1.
        risk_generation::Entity::insert(risk_generation::ActiveModel {
            id: Set(ROW),
            counter: Set(1),
        })
        .exec_without_returning(tx)
        .await?;
    }
    Ok(())
}

/// The committed value of the write counter (0 before any write).
///
/// # Errors
/// Database errors.
pub async fn generation<C: ConnectionTrait>(db: &C) -> Result<u64, sea_orm::DbErr> {
    let v: Option<i64> = risk_generation::Entity::find()
        .select_only()
        .column(risk_generation::Column::Counter)
        .filter(risk_generation::Column::Id.eq(ROW))
        .into_tuple()
        .one(db)
        .await?;
    Ok(v.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

/// The last generation read: which read (ticket) and what it found.
#[derive(Debug)]
struct Checked {
    ticket: u64,
    result: Result<u64, String>,
}

/// Shares reads of the write counter between concurrent requests (module docs): a caller gets
/// the result of a read that started after it called [`GenerationFence::current`].
#[derive(Debug)]
pub struct GenerationFence {
    /// Reads started so far (each read's ticket is its number, from 1).
    issued: AtomicU64,
    /// The last read's result; held while a read runs, so reads are one at a time.
    last: tokio::sync::Mutex<Checked>,
    /// Reads made (what the sharing saved shows against the requests served).
    reads: AtomicU64,
}

impl Default for GenerationFence {
    fn default() -> Self {
        Self {
            issued: AtomicU64::new(0),
            last: tokio::sync::Mutex::new(Checked {
                ticket: 0,
                result: Ok(0),
            }),
            reads: AtomicU64::new(0),
        }
    }
}

impl GenerationFence {
    /// The write counter as committed at some instant after this call began.
    ///
    /// # Errors
    /// The text of the database error of the read this call waited for.
    pub async fn current(&self, db: &Db) -> Result<u64, String> {
        // Any read with a higher ticket started after this load.
        let arrived = self.issued.load(Ordering::SeqCst);
        let mut last = self.last.lock().await;
        if last.ticket > arrived {
            return last.result.clone();
        }
        let ticket = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        self.reads.fetch_add(1, Ordering::Relaxed);
        let result = generation(db.conn()).await.map_err(|e| e.to_string());
        *last = Checked {
            ticket,
            result: result.clone(),
        };
        result
    }

    /// Counter reads made so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// Hits and misses of a [`RiskReadModel`] since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Register pages served from the cache.
    pub register_hits: u64,
    /// Register pages read from the tables.
    pub register_misses: u64,
    /// Current-risk answers served from the cache.
    pub risk_hits: u64,
    /// Current-risk answers read from the tables.
    pub risk_misses: u64,
    /// Reads of the write counter (shared by concurrent requests).
    pub generation_reads: u64,
}

#[derive(Debug, Default)]
struct Counters {
    register_hits: AtomicU64,
    register_misses: AtomicU64,
    risk_hits: AtomicU64,
    risk_misses: AtomicU64,
}

/// A current-risk answer ([`RiskReadModel::asset_risk_entry`]): the value and its JSON, rendered
/// once per write generation so a read serves it without serializing it again.
#[derive(Debug)]
pub struct RiskEntry {
    /// The answer: `None` when RiskAnalysis does not know the asset or it is retired.
    pub value: Option<AssetRisk>,
    /// `value` as JSON (`null` for `None`).
    pub json: Box<serde_json::value::RawValue>,
    /// For the caller: when it last copied this answer elsewhere (a fallback cache), ms on
    /// its own clock; 0: never.
    pub copied_at_ms: AtomicU64,
}

/// The read model of one node (module docs): rendered register pages and current-risk answers,
/// keyed by the generation they were read at. Cheap to share (`Arc` it); every method takes
/// `&self`.
pub struct RiskReadModel {
    db: Db,
    fence: GenerationFence,
    render: RenderRegister,
    register: Cache<(u64, FindingFilter), Arc<[u8]>>,
    risks: Cache<(u64, String), Arc<RiskEntry>>,
    counters: Counters,
}

impl std::fmt::Debug for RiskReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskReadModel")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn key_weight(s: &str) -> u64 {
    // The key's text plus the map's bookkeeping, roughly.
    s.len() as u64 + 64
}

fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl RiskReadModel {
    /// A read model on `db` whose register pages are rendered by `render`, with the default
    /// bounds ([`REGISTER_CACHE_BYTES`], [`ASSET_RISK_CACHE_BYTES`]).
    pub fn new(db: &Db, render: RenderRegister) -> Self {
        Self::with_bounds(db, render, REGISTER_CACHE_BYTES, ASSET_RISK_CACHE_BYTES)
    }

    /// A read model holding at most `register_bytes` of rendered pages and `risk_bytes` of
    /// current-risk answers (an entry heavier than its cache's bound is served, not kept).
    pub fn with_bounds(
        db: &Db,
        render: RenderRegister,
        register_bytes: u64,
        risk_bytes: u64,
    ) -> Self {
        Self {
            // The read-only pool: reads never queue behind writers waiting for the lock.
            db: db.reader(),
            fence: GenerationFence::default(),
            render,
            register: Cache::builder()
                .max_capacity(register_bytes)
                .weigher(|k: &(u64, FindingFilter), v: &Arc<[u8]>| {
                    saturate(
                        v.len() as u64 + key_weight(k.1.asset_key.as_deref().unwrap_or_default()),
                    )
                })
                .eviction_policy(EvictionPolicy::lru())
                .time_to_idle(CACHE_IDLE)
                .build(),
            risks: Cache::builder()
                .max_capacity(risk_bytes)
                .weigher(|k: &(u64, String), v: &Arc<RiskEntry>| {
                    saturate(v.json.get().len() as u64 + key_weight(&k.1))
                })
                .eviction_policy(EvictionPolicy::lru())
                .time_to_idle(CACHE_IDLE)
                .build(),
            counters: Counters::default(),
        }
    }

    /// The write counter, through the fence (see the module docs).
    ///
    /// # Errors
    /// [`ReadError::Db`].
    pub async fn generation(&self) -> Result<u64, ReadError> {
        self.fence.current(&self.db).await.map_err(ReadError::Db)
    }

    /// The register page of `filter` (highest score first, as [`list_findings`] sorts it),
    /// rendered; as the tables hold it now or at a later instant.
    ///
    /// # Errors
    /// [`ReadError::Db`] (the counter or the tables), [`ReadError::Render`].
    pub async fn register(&self, filter: &FindingFilter) -> Result<Arc<[u8]>, ReadError> {
        let generation = self.generation().await?;
        let missed = AtomicBool::new(false);
        let (db, render, missed_ref) = (&self.db, self.render, &missed);
        let page = self
            .register
            .try_get_with((generation, filter.clone()), async move {
                missed_ref.store(true, Ordering::Relaxed);
                let (items, total) = list_findings(db, filter)
                    .await
                    .map_err(|e| ReadError::Db(e.to_string()))?;
                let body =
                    render(filter, items, total).map_err(|e| ReadError::Render(e.to_string()))?;
                Ok::<_, ReadError>(Arc::<[u8]>::from(body))
            })
            .await
            .map_err(|e| (*e).clone())?;
        self.count(
            missed.load(Ordering::Relaxed),
            &self.counters.register_misses,
            &self.counters.register_hits,
        );
        Ok(page)
    }

    /// The current risk of the asset `key` ([`asset_risk`]: `None` when RiskAnalysis does not
    /// know it or it is retired), as the tables hold it now or at a later instant.
    ///
    /// # Errors
    /// [`ReadError::Db`].
    pub async fn asset_risk(&self, key: &str) -> Result<Option<AssetRisk>, ReadError> {
        Ok(self.asset_risk_entry(key).await?.value.clone())
    }

    /// [`Self::asset_risk`] with its JSON, shared (one entry per write generation: a new entry
    /// has `copied_at_ms` 0).
    ///
    /// # Errors
    /// [`ReadError::Db`], [`ReadError::Render`].
    pub async fn asset_risk_entry(&self, key: &str) -> Result<Arc<RiskEntry>, ReadError> {
        let generation = self.generation().await?;
        let missed = AtomicBool::new(false);
        let (db, missed_ref) = (&self.db, &missed);
        let entry = self
            .risks
            .try_get_with((generation, key.to_owned()), async move {
                missed_ref.store(true, Ordering::Relaxed);
                let value = asset_risk(db, key)
                    .await
                    .map_err(|e| ReadError::Db(e.to_string()))?;
                let json = serde_json::to_string(&value)
                    .and_then(serde_json::value::RawValue::from_string)
                    .map_err(|e| ReadError::Render(e.to_string()))?;
                Ok::<_, ReadError>(Arc::new(RiskEntry {
                    value,
                    json,
                    copied_at_ms: AtomicU64::new(0),
                }))
            })
            .await
            .map_err(|e| (*e).clone())?;
        self.count(
            missed.load(Ordering::Relaxed),
            &self.counters.risk_misses,
            &self.counters.risk_hits,
        );
        Ok(entry)
    }

    fn count(&self, missed: bool, misses: &AtomicU64, hits: &AtomicU64) {
        if missed {
            misses.fetch_add(1, Ordering::Relaxed);
        } else {
            hits.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hits, misses and counter reads so far.
    pub fn stats(&self) -> ReadStats {
        let c = &self.counters;
        ReadStats {
            register_hits: c.register_hits.load(Ordering::Relaxed),
            register_misses: c.register_misses.load(Ordering::Relaxed),
            risk_hits: c.risk_hits.load(Ordering::Relaxed),
            risk_misses: c.risk_misses.load(Ordering::Relaxed),
            generation_reads: self.fence.reads(),
        }
    }

    /// Bytes held by the caches (register pages, current-risk answers), after pending
    /// maintenance.
    pub async fn weighted_size(&self) -> (u64, u64) {
        self.register.run_pending_tasks().await;
        self.risks.run_pending_tasks().await;
        (self.register.weighted_size(), self.risks.weighted_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(
        f: &FindingFilter,
        items: Vec<FindingView>,
        total: u64,
    ) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(&serde_json::json!({"page": f.page, "items": items, "total": total}))
    }

    async fn db() -> Db {
        Db::connect::<crate::migrations::Migrator>(
            "sqlite::memory:",
            &rampart_platform::DbOptions {
                max_connections: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn the_counter_moves_with_each_committed_bump_only() {
        let db = db().await;
        assert_eq!(generation(db.conn()).await.unwrap(), 0);
        let tx = db.begin_write().await.unwrap();
        bump(&tx).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(generation(db.conn()).await.unwrap(), 0, "rolled back");
        for n in 1..=3 {
            let tx = db.begin_write().await.unwrap();
            bump(&tx).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(generation(db.conn()).await.unwrap(), n);
        }
        // The row deleted by hand: the next write starts it again.
        db.conn()
            .execute_unprepared("DELETE FROM risk_generation")
            .await
            .unwrap();
        let tx = db.begin_write().await.unwrap();
        bump(&tx).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(generation(db.conn()).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_cached_page_is_served_until_a_write_commits() {
        let db = db().await;
        let model = RiskReadModel::new(&db, render);
        let f = FindingFilter {
            page: 1,
            per_page: 20,
            ..Default::default()
        };
        let a = model.register(&f).await.unwrap();
        let b = model.register(&f).await.unwrap();
        assert_eq!(a, b);
        let s = model.stats();
        assert_eq!((s.register_misses, s.register_hits), (1, 1), "{s:?}");
        assert!(model.asset_risk("nope").await.unwrap().is_none());
        assert!(model.asset_risk("nope").await.unwrap().is_none());
        let s = model.stats();
        assert_eq!((s.risk_misses, s.risk_hits), (1, 1), "{s:?}");
        let tx = db.begin_write().await.unwrap();
        bump(&tx).await.unwrap();
        tx.commit().await.unwrap();
        model.register(&f).await.unwrap();
        model.asset_risk("nope").await.unwrap();
        let s = model.stats();
        assert_eq!(
            (s.register_misses, s.risk_misses),
            (2, 2),
            "a write: read again: {s:?}"
        );
    }

    #[tokio::test]
    async fn the_caches_stay_within_their_bytes() {
        let db = db().await;
        let model = RiskReadModel::with_bounds(&db, render, 4096, 4096);
        for page in 1..=2000 {
            let f = FindingFilter {
                page,
                per_page: 20,
                ..Default::default()
            };
            model.register(&f).await.unwrap();
            model.asset_risk(&format!("asset-{page}")).await.unwrap();
        }
        let (reg, risk) = model.weighted_size().await;
        assert!(reg <= 4096 && risk <= 4096, "{reg} {risk}");
        assert!(reg > 0 && risk > 0, "{reg} {risk}");
    }

    #[tokio::test]
    async fn concurrent_requests_share_counter_reads() {
        let db = db().await;
        let model = Arc::new(RiskReadModel::new(&db, render));
        let f = FindingFilter {
            page: 1,
            per_page: 20,
            ..Default::default()
        };
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (m, f) = (model.clone(), f.clone());
                tokio::spawn(async move { m.register(&f).await.map(|_| ()) })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let s = model.stats();
        assert_eq!(s.register_hits + s.register_misses, 64);
        assert!(s.generation_reads <= 64, "{s:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_are_served_while_every_pooled_writer_waits_for_the_write_lock() {
        let dir = std::env::temp_dir().join(format!("rampart-read-model-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let url = format!("sqlite://{}/r.sqlite", dir.display());
        let opts = rampart_platform::DbOptions {
            max_connections: 4,
            connect_timeout_ms: 2000,
            ..Default::default()
        };
        let db = Db::connect::<crate::migrations::Migrator>(&url, &opts)
            .await
            .unwrap();
        let model = RiskReadModel::new(&db, render);
        let f = FindingFilter {
            page: 1,
            per_page: 20,
            ..Default::default()
        };
        model.register(&f).await.unwrap();
        // Another process's long write (a big import) holds the lock ...
        let other = Db::connect::<crate::migrations::Migrator>(&url, &opts)
            .await
            .unwrap();
        let holder = other.begin_write().await.unwrap();
        // ... and every connection of this node's pool waits for it (busy timeout 60 s).
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    let tx = db.begin_write().await?;
                    bump(&tx).await?;
                    tx.commit().await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Reads still answer, from the read-only pool (the writers' pool would time out).
        let page = tokio::time::timeout(Duration::from_secs(1), model.register(&f))
            .await
            .expect("a read while the writers wait")
            .unwrap();
        assert!(!page.is_empty());
        assert!(
            tokio::time::timeout(Duration::from_secs(1), model.asset_risk("a"))
                .await
                .expect("a read while the writers wait")
                .unwrap()
                .is_none()
        );
        holder.rollback().await.unwrap();
        for w in writers {
            w.await.unwrap().unwrap();
        }
        assert_eq!(
            model.generation().await.unwrap(),
            4,
            "the writes landed after"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
