//! API call records ([`ApiCall`], CloudTrail's fields) on their way to the audit chain.
//!
//! The middleware hands each record to [`CallLog::record`], which never waits on the database:
//! the record becomes an `api.called` envelope, is appended as one JSON line to the node's
//! **call journal** (`{node.data_dir}/api-calls.journal`, owner-only; one `write(2)` into the
//! page cache, no fsync) and goes into a bounded queue (`auth.call_record_queue`; past it the
//! record is dropped and counted in `rampart_api_call_records_dropped_total`, so a flood cannot
//! grow memory). One writer task takes up to [`BATCH`] records at a time and writes them to the
//! transactional outbox in one transaction (a failed write is retried with backoff); from there
//! the relay publishes them and AuditReporting appends them to its hash chain, each once (by
//! event id). When the writer has committed everything queued it empties the journal.
//!
//! A node killed before its writer committed (`kill -9`, a panic, an OOM kill) loses nothing:
//! the next start writes the journal's records to the outbox before it serves ([`CallLog::start`]),
//! as pending again where the row already exists, and the audit chain takes each event once. The
//! journal is not fsynced, so a power loss can lose the last records (the kernel's writeback
//! interval, 5 s by default on Linux); it is bounded by [`JOURNAL_MAX_BYTES`] (past it records
//! are still queued but no longer journaled, counted in `rampart_api_call_records_unjournaled_total`).
//! [`CallWriter::shutdown`] drains the queue on a graceful stop.
//!
//! **Throttled calls are summarised.** A client throttled past its bucket (429) by a flood
//! would otherwise put one record per refused request into the audit chain, letting anyone
//! with a token grow the chain (and load the node) at the flood's rate. The first 429 of a
//! principal, source address and operation is recorded in full and opens a window of
//! [`SUMMARY_WINDOW`] (up to twice that, the flush tick); the further 429s of that key in the
//! window are counted, and at its end one record stands for them (`repeats` = their count,
//! `time` the first one's, `last_time` the last one's). At most [`SUMMARY_KEYS`] keys are open
//! at once; past that a 429 is recorded in full. `rampart_api_call_records_summarised_total`
//! counts the calls folded into summaries.

use std::collections::HashMap;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_contracts::edge::{API_CALLED, ApiCall};
use rampart_platform::Db;
use rampart_platform::bus::Envelope;
use tokio::sync::mpsc;

/// Most records written per transaction.
pub const BATCH: usize = 256;

/// The outbox `service` of the edge's events.
pub const SERVICE: &str = "edge";

/// Largest call journal, bytes (64 MiB: some 100,000 records).
pub const JOURNAL_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The call journal's file name under the data directory.
pub const JOURNAL_FILE: &str = "api-calls.journal";

/// How long one summary of throttled calls stays open (module docs): 1 s.
pub const SUMMARY_WINDOW: Duration = Duration::from_secs(1);

/// Most (principal, source, operation) keys with an open summary (module docs).
pub const SUMMARY_KEYS: usize = 4096;

/// The key of a summary: principal `sub`, source address, operation.
type SummaryKey = (Option<String>, Option<String>, String);

/// An open summary: calls folded since `opened`, the first of them kept as the record's body.
struct Summary {
    opened: Instant,
    first: Option<ApiCall>,
    count: u64,
    last_time: String,
}

/// The append-only journal and the queue's sending side, under one lock so that the writer can
/// tell "everything journaled has been received" (module docs).
struct Journal {
    file: std::fs::File,
    len: u64,
    tx: mpsc::Sender<Envelope>,
}

/// Handle to the record queue. Cheap to clone.
#[derive(Clone)]
pub struct CallLog {
    enabled: bool,
    node: String,
    journal: Arc<Mutex<Journal>>,
    summaries: Arc<Mutex<HashMap<SummaryKey, Summary>>>,
    dropped: prometheus::IntCounter,
    unjournaled: prometheus::IntCounter,
    written: prometheus::IntCounter,
    summarised: prometheus::IntCounter,
}

/// The writer task, to stop (draining the queue) on shutdown.
pub struct CallWriter {
    handle: tokio::task::JoinHandle<()>,
    flusher: tokio::task::JoinHandle<()>,
    log: CallLog,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// Why the call log could not start.
#[derive(Debug, thiserror::Error)]
pub enum CallLogError {
    /// Metric registration failed.
    #[error("call record metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The journal could not be opened or read.
    #[error("API call journal {path}: {reason}")]
    Journal {
        /// The journal's path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The records left by a previous run could not be written to the outbox.
    #[error("API call journal {path}: writing {records} recovered records failed: {reason}")]
    Recovery {
        /// The journal's path.
        path: PathBuf,
        /// How many records it held.
        records: usize,
        /// The database error.
        reason: String,
    },
}

fn lock<T>(j: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match j.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Opens (creating, owner-only) the journal at `path` for reading and appending.
fn open_journal(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    o.open(path)
}

impl CallLog {
    /// Opens the journal in `data_dir`, writes the records a previous run left in it to the
    /// outbox, then starts the writer on `db` for `node` with a queue of `capacity` records;
    /// with `enabled = false` ([`super::AuthConfig::record_calls`]) nothing is recorded.
    ///
    /// # Errors
    /// [`CallLogError`]: metric registration, an unreadable journal, recovered records that
    /// cannot be written (the journal is then kept for the next start).
    pub async fn start(
        db: Db,
        node: &str,
        capacity: usize,
        enabled: bool,
        data_dir: &Path,
        registry: &prometheus::Registry,
    ) -> Result<(Self, CallWriter), CallLogError> {
        let dropped = prometheus::IntCounter::new(
            "rampart_api_call_records_dropped_total",
            "API call records dropped because the record queue was full",
        )?;
        let unjournaled = prometheus::IntCounter::new(
            "rampart_api_call_records_unjournaled_total",
            "API call records not journaled because the call journal was full",
        )?;
        let written = prometheus::IntCounter::new(
            "rampart_api_call_records_written_total",
            "API call records written to the outbox",
        )?;
        let summarised = prometheus::IntCounter::new(
            "rampart_api_call_records_summarised_total",
            "Throttled API calls (429) folded into a summary record instead of one record each",
        )?;
        registry.register(Box::new(dropped.clone()))?;
        registry.register(Box::new(unjournaled.clone()))?;
        registry.register(Box::new(written.clone()))?;
        registry.register(Box::new(summarised.clone()))?;
        let path = data_dir.join(JOURNAL_FILE);
        let journal_err = |e: std::io::Error| CallLogError::Journal {
            path: path.clone(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(data_dir).map_err(journal_err)?;
        let file = open_journal(&path).map_err(journal_err)?;
        recover(&db, &path, &file).await?;
        file.set_len(0).map_err(journal_err)?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let journal = Arc::new(Mutex::new(Journal { file, len: 0, tx }));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let handle = tokio::spawn(write_loop(
            db,
            rx,
            stopped,
            written.clone(),
            journal.clone(),
        ));
        let log = Self {
            enabled,
            node: node.to_owned(),
            journal,
            summaries: Arc::new(Mutex::new(HashMap::new())),
            dropped,
            unjournaled,
            written,
            summarised,
        };
        let flusher = {
            let log = log.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(SUMMARY_WINDOW);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    log.flush_summaries(false);
                }
            })
        };
        Ok((
            log.clone(),
            CallWriter {
                handle,
                flusher,
                log,
                stop,
            },
        ))
    }

    /// Records `call`: a throttled one (429) may be folded into its key's open summary
    /// (module docs); everything else is journaled and queued at once.
    pub fn record(&self, call: ApiCall) {
        if !self.enabled {
            return;
        }
        if call.status == 429 {
            let key = (
                call.principal.as_ref().map(|p| p.sub.clone()),
                call.source_ip.clone(),
                call.operation.clone(),
            );
            let mut open = lock(&self.summaries);
            if let Some(sum) = open.get_mut(&key) {
                sum.count += 1;
                sum.last_time.clone_from(&call.time);
                if sum.first.is_none() {
                    sum.first = Some(call);
                }
                self.summarised.inc();
                return;
            }
            if open.len() < SUMMARY_KEYS {
                open.insert(
                    key,
                    Summary {
                        opened: Instant::now(),
                        first: None,
                        count: 0,
                        last_time: String::new(),
                    },
                );
            }
        }
        self.emit(call);
    }

    /// Closes the summaries open for [`SUMMARY_WINDOW`] or longer (all of them with
    /// `all`), emitting one record for each that folded calls.
    fn flush_summaries(&self, all: bool) {
        let closed: Vec<Summary> = {
            let mut open = lock(&self.summaries);
            let due: Vec<SummaryKey> = open
                .iter()
                .filter(|(_, s)| all || s.opened.elapsed() >= SUMMARY_WINDOW)
                .map(|(k, _)| k.clone())
                .collect();
            due.iter().filter_map(|k| open.remove(k)).collect()
        };
        for sum in closed {
            if let Some(mut call) = sum.first {
                call.repeats = sum.count;
                call.last_time = Some(sum.last_time);
                self.emit(call);
            }
        }
    }

    /// Journals and queues `call` without waiting on the database (module docs).
    fn emit(&self, call: ApiCall) {
        let envelope = match Envelope::new(API_CALLED, self.node.as_str(), &call) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "API call record not encodable");
                return;
            }
        };
        let mut guard = lock(&self.journal);
        // A plain reference, so the queue and the file are borrowed apart.
        let j: &mut Journal = &mut guard;
        match j.tx.try_reserve() {
            Ok(permit) => {
                let mut line = serde_json::to_vec(&envelope).unwrap_or_default();
                line.push(b'\n');
                if j.len + line.len() as u64 > JOURNAL_MAX_BYTES {
                    self.unjournaled.inc();
                } else if let Err(e) = j.file.write_all(&line) {
                    self.unjournaled.inc();
                    tracing::warn!(error = %e, "appending to the API call journal failed");
                } else {
                    j.len += line.len() as u64;
                }
                permit.send(envelope);
            }
            Err(_) => self.dropped.inc(),
        }
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written.get()
    }
}

/// Writes the records of a previous run's journal to the outbox (module docs).
async fn recover(db: &Db, path: &Path, file: &std::fs::File) -> Result<(), CallLogError> {
    let mut records = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        // A line cut by the crash does not parse and is the journal's end.
        match serde_json::from_str::<Envelope>(&line) {
            Ok(e) if e.event_type == API_CALLED => records.push(e),
            _ => break,
        }
    }
    if records.is_empty() {
        return Ok(());
    }
    for chunk in records.chunks(BATCH) {
        write(db, chunk, true)
            .await
            .map_err(|reason| CallLogError::Recovery {
                path: path.to_owned(),
                records: records.len(),
                reason,
            })?;
    }
    tracing::warn!(
        records = records.len(),
        journal = %path.display(),
        "API call records of a previous run that was not stopped cleanly were written to the audit trail"
    );
    Ok(())
}

impl CallWriter {
    /// Writes what is queued and stops the writer, waiting at most `limit`.
    pub async fn shutdown(self, limit: Duration) {
        self.flusher.abort();
        self.log.flush_summaries(true);
        let _ = self.stop.send(());
        if tokio::time::timeout(limit, self.handle).await.is_err() {
            tracing::warn!("API call records still unwritten at shutdown");
        }
    }
}

async fn write_loop(
    db: Db,
    mut rx: mpsc::Receiver<Envelope>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
    written: prometheus::IntCounter,
    journal: Arc<Mutex<Journal>>,
) {
    let mut buf = Vec::with_capacity(BATCH);
    let mut last = false;
    loop {
        tokio::select! {
            n = rx.recv_many(&mut buf, BATCH) => if n == 0 { break },
            _ = &mut stopped => {
                last = true;
                while buf.len() < 64 * BATCH {
                    match rx.try_recv() {
                        Ok(c) => buf.push(c),
                        Err(_) => break,
                    }
                }
            }
        }
        let mut delay = Duration::from_millis(50);
        let mut committed = false;
        for attempt in 1..=8 {
            match write(&db, &buf, false).await {
                Ok(()) => {
                    written.inc_by(buf.len() as u64);
                    committed = true;
                    break;
                }
                Err(e) if attempt < 8 => {
                    tracing::warn!(error = %e, attempt, "writing API call records failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!(error = %e, records = buf.len(), "writing API call records failed 8 times; they stay in the call journal for the next start");
                }
            }
        }
        buf.clear();
        if committed {
            // Everything journaled has been received and committed: the journal can be emptied.
            let mut j = lock(&journal);
            if rx.is_empty() && j.len > 0 {
                match j.file.set_len(0) {
                    Ok(()) => j.len = 0,
                    Err(e) => tracing::warn!(error = %e, "emptying the API call journal failed"),
                }
            }
        }
        if last {
            break;
        }
    }
}

/// Writes `envelopes` to the outbox in one transaction; `replay`: rows that exist already are
/// made pending again instead of failing the batch (recovery).
async fn write(db: &Db, envelopes: &[Envelope], replay: bool) -> Result<(), String> {
    let tx = db.begin_write().await.map_err(|e| e.to_string())?;
    for e in envelopes {
        let r = if replay {
            rampart_platform::outbox::append_replay(&tx, SERVICE, e).await
        } else {
            rampart_platform::outbox::append(&tx, SERVICE, e).await
        };
        r.map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}
