//! Storage: one sea-orm connection per node, SQLite by default, PostgreSQL in production.
//!
//! - [`Db::connect`] opens `sqlite://path` (the file and its folder are created on first run) or
//!   `postgres://...`, then runs the migrations of the migrator it is given (the node's composes
//!   every crate's, see [`crate::migrations`]) so the schema is current.
//! - Each service owns its tables (DESIGN.md); tables are prefixed by the service that owns them
//!   (`asset_*`, `risk_*`), and no service reads another's.
//! - Idempotent handlers: [`crate::processed::first_time`] records an event id in the handler's own
//!   transaction, so an event redelivered after a crash has one effect.
//! - Transactional outbox: [`crate::outbox::append`] writes an event in the same transaction as the state
//!   change it reports; a relay publishes pending rows and marks them, so a crash between commit and
//!   publish loses nothing.

use std::path::Path;
use std::time::Duration;

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, TransactionOptions,
};
use sea_orm_migration::MigratorTrait;

/// Largest LIMIT / OFFSET value the SQL drivers accept (`i64::MAX`); larger ones would make
/// sea-query's SQLite binding panic, so every LIMIT and OFFSET is clamped to it.
pub const MAX_SQL_INT: u64 = i64::MAX as u64;

/// OFFSET of page `page` (from 1) of `per_page` rows, clamped to [`MAX_SQL_INT`].
pub fn page_offset(page: u64, per_page: u64) -> u64 {
    page.saturating_sub(1)
        .saturating_mul(per_page)
        .min(MAX_SQL_INT)
}

/// Key of the PostgreSQL advisory lock held while migrating (any constant unique to Rampart).
const MIGRATION_LOCK: i64 = 0x0052_414d_5041_5254; // "RAMPART"

/// Why the database could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL's scheme is neither `sqlite:` nor `postgres:`/`postgresql:`.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The SQLite file's folder could not be created.
    #[error("creating the folder of {path}: {source}")]
    CreateDir {
        /// The folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Connecting, migrating or a query failed.
    #[error("database: {0}")]
    Orm(#[from] sea_orm::DbErr),
}

/// The node's database: a pooled connection with the schema migrated, and on a SQLite file a
/// second, read-only pool for the hot read paths ([`Db::reader`]).
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    reader: Option<DatabaseConnection>,
}

/// Connections of the read-only SQLite pool ([`Db::reader`]).
pub const SQLITE_READERS: u32 = 4;

/// Settings of [`Db::connect`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Most pooled connections. Default 8 (SQLite: 1 writer at a time anyway).
    pub max_connections: u32,
    /// How long to wait for a connection, ms. Default 5000.
    pub connect_timeout_ms: u64,
    /// PostgreSQL only: the schema to use (created if missing); tests use one per run.
    pub schema: Option<String>,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            connect_timeout_ms: 5000,
            schema: None,
        }
    }
}

/// The default embedded database URL: a SQLite file under `data/`.
pub const DEFAULT_URL: &str = "sqlite://data/rampart.sqlite";

impl Db {
    /// Opens `url` and runs the pending migrations of `M`.
    ///
    /// `sqlite://PATH` (relative to the working directory; `sqlite::memory:` for a throwaway
    /// database) creates the file and its folder when missing; `postgres://USER@HOST[:PORT]/DB`
    /// uses an existing database.
    ///
    /// # Errors
    /// [`DbError::UnsupportedUrl`], [`DbError::CreateDir`], [`DbError::Orm`] (server unreachable,
    /// authentication, a failed migration).
    pub async fn connect<M: MigratorTrait>(url: &str, opts: &DbOptions) -> Result<Self, DbError> {
        let url = if let Some(path) = url.strip_prefix("sqlite://") {
            let (file, query) = path.split_once('?').unwrap_or((path, ""));
            if let Some(dir) = Path::new(file)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            let query = if query.is_empty() {
                "mode=rwc".to_owned()
            } else {
                query.to_owned()
            };
            format!("sqlite://{file}?{query}")
        } else if url == "sqlite::memory:"
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://")
        {
            url.to_owned()
        } else {
            return Err(DbError::UnsupportedUrl(url.chars().take(200).collect()));
        };
        let mut options = ConnectOptions::new(url.clone());
        options
            .max_connections(opts.max_connections.max(1))
            .connect_timeout(Duration::from_millis(opts.connect_timeout_ms))
            .acquire_timeout(Duration::from_millis(opts.connect_timeout_ms))
            .sqlx_logging(false);
        if url.starts_with("sqlite:") {
            // WAL lets readers run beside the writer; synchronous stays FULL (every commit is
            // durable, power loss included: an audit platform does not trade that away); a 32 MiB
            // page cache per connection keeps large imports from re-reading index pages
            // (SQLite docs, "PRAGMA cache_size", "Write-Ahead Logging").
            options.map_sqlx_sqlite_opts(|o| {
                o.pragma("journal_mode", "WAL")
                    .pragma("synchronous", "FULL")
                    .pragma("cache_size", "-32768")
                    .pragma("foreign_keys", "ON")
                    // A writer waits for the lock instead of failing; a 100k-component import
                    // holds it for seconds.
                    .busy_timeout(Duration::from_secs(60))
            });
        }
        if url.starts_with("sqlite::memory:") {
            // Every pooled connection would see its own empty in-memory database.
            options.max_connections(1);
        }
        if url.starts_with("postgres") {
            // Nodes of one deployment start together against one database: schema creation and
            // migrations run under a PostgreSQL advisory lock, on one session, one node at a time.
            if let Some(schema) = &opts.schema {
                options.set_schema_search_path(schema.replace('"', ""));
            }
            let mut admin_opts = options.clone();
            admin_opts.max_connections(1).min_connections(1);
            let admin = Database::connect(admin_opts).await?;
            use sea_orm::ConnectionTrait;
            admin
                .execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .await?;
            let migrated = async {
                if let Some(schema) = &opts.schema {
                    admin
                        .execute_unprepared(&format!(
                            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                            schema.replace('"', "")
                        ))
                        .await?;
                }
                M::up(&admin, None).await
            }
            .await;
            let unlocked = admin
                .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .await;
            let _ = admin.close().await;
            migrated?;
            unlocked?;
            let conn = Database::connect(options).await?;
            return Ok(Self { conn, reader: None });
        }
        let conn = Database::connect(options.clone()).await?;
        M::up(&conn, None).await?;
        let reader = if url.starts_with("sqlite::memory:") {
            None
        } else {
            // Readers of a WAL database never wait for the writer; a pool of their own keeps
            // them from queueing behind writers that hold pooled connections while they wait
            // for the write lock (SQLite docs, "Write-Ahead Logging"; "PRAGMA query_only").
            let mut ro = options;
            ro.max_connections(SQLITE_READERS)
                .map_sqlx_sqlite_opts(|o| {
                    o.pragma("query_only", "ON")
                        .busy_timeout(Duration::from_secs(5))
                });
            Some(Database::connect(ro).await?)
        };
        Ok(Self { conn, reader })
    }

    /// A handle on the read-only pool (SQLite files; elsewhere the same pool): for read paths
    /// that must not wait behind writers. It sees every committed write at once; a write
    /// through it fails (`query_only`).
    pub fn reader(&self) -> Db {
        Db {
            conn: self.reader.clone().unwrap_or_else(|| self.conn.clone()),
            reader: None,
        }
    }

    /// The connection (a pool; cheap to clone).
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write lock is
    /// taken at once (waiting up to the busy timeout), because a deferred transaction that reads
    /// first and writes later fails with `SQLITE_BUSY` instead of waiting when another writer
    /// committed in between (SQLite docs, "Transactions", "Write-Ahead Logging").
    ///
    /// # Errors
    /// Database errors.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, sea_orm::DbErr> {
        use sea_orm::TransactionTrait;
        let mode =
            (self.backend() == DbBackend::Sqlite).then_some(SqliteTransactionMode::Immediate);
        self.conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: mode,
                ..Default::default()
            })
            .await
    }

    /// Readiness check shared by every actor that needs the database: a ping, `Err` naming the
    /// failure (`/readyz` then answers 503).
    ///
    /// # Errors
    /// `database unreachable: <error>`.
    pub async fn readiness(&self) -> Result<(), String> {
        self.conn
            .ping()
            .await
            .map_err(|e| format!("database unreachable: {e}"))
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Closes the pool.
    ///
    /// # Errors
    /// [`DbError::Orm`].
    pub async fn close(self) -> Result<(), DbError> {
        if let Some(r) = self.reader {
            r.close().await?;
        }
        Ok(self.conn.close().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ConnectionTrait as _;

    #[tokio::test]
    async fn the_reader_sees_each_commit_at_once_and_cannot_write() {
        let dir = std::env::temp_dir().join(format!("rampart-db-reader-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let url = format!("sqlite://{}/r.sqlite", dir.display());
        let db = Db::connect::<crate::migrations::Migrator>(&url, &DbOptions::default())
            .await
            .unwrap();
        let reader = db.reader();
        db.conn()
            .execute_unprepared("CREATE TABLE t (n INTEGER)")
            .await
            .unwrap();
        let count = async || {
            reader
                .conn()
                .query_one_raw(sea_orm::Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT COUNT(*) AS n FROM t",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
        };
        assert_eq!(count().await, 0);
        for n in 1..=3 {
            let tx = db.begin_write().await.unwrap();
            tx.execute_unprepared("INSERT INTO t VALUES (1)")
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(
                count().await,
                n,
                "the commit is visible to the reader at once"
            );
        }
        let refused = reader
            .conn()
            .execute_unprepared("INSERT INTO t VALUES (2)")
            .await;
        assert!(refused.is_err(), "a write through the reader is refused");
        assert_eq!(count().await, 3);
        db.close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
