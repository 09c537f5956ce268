//! API call records ([`ApiCall`], CloudTrail's fields) on their way to the audit chain.
//!
//! The middleware hands each record to [`CallLog::record`], which never waits: the record goes
//! into a bounded queue (`auth.call_record_queue`; past it records are dropped and counted in
//! `rampart_api_call_records_dropped_total`, so a flood cannot grow memory). One writer task
//! takes up to [`BATCH`] records at a time and writes them to the transactional outbox in one
//! transaction (a failed write is retried with backoff, the batch kept); from there the relay
//! publishes `api.called` events and AuditReporting appends them to its hash chain, each once
//! (by event id). A record is durable once its batch has committed, at most one batch (a few
//! ms under load) after its response; [`CallLog::shutdown`] drains the queue on a graceful stop.

use std::time::Duration;

use rampart_contracts::edge::{API_CALLED, ApiCall};
use rampart_platform::Db;
use rampart_platform::bus::Envelope;
use tokio::sync::mpsc;

/// Most records written per transaction.
pub const BATCH: usize = 256;

/// The outbox `service` of the edge's events.
pub const SERVICE: &str = "edge";

/// Handle to the record queue. Cheap to clone.
#[derive(Clone)]
pub struct CallLog {
    enabled: bool,
    tx: mpsc::Sender<ApiCall>,
    dropped: prometheus::IntCounter,
    written: prometheus::IntCounter,
}

/// The writer task, to stop (draining the queue) on shutdown.
pub struct CallWriter {
    handle: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl CallLog {
    /// Starts the writer on `db` for `node`, with a queue of `capacity` records; with
    /// `enabled = false` ([`super::AuthConfig::record_calls`]) nothing is recorded.
    ///
    /// # Errors
    /// Metric registration errors.
    pub fn start(
        db: Db,
        node: &str,
        capacity: usize,
        enabled: bool,
        registry: &prometheus::Registry,
    ) -> Result<(Self, CallWriter), prometheus::Error> {
        let dropped = prometheus::IntCounter::new(
            "rampart_api_call_records_dropped_total",
            "API call records dropped because the record queue was full",
        )?;
        let written = prometheus::IntCounter::new(
            "rampart_api_call_records_written_total",
            "API call records written to the outbox",
        )?;
        registry.register(Box::new(dropped.clone()))?;
        registry.register(Box::new(written.clone()))?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let handle = tokio::spawn(write_loop(
            db,
            node.to_owned(),
            rx,
            stopped,
            written.clone(),
        ));
        Ok((
            Self {
                enabled,
                tx,
                dropped,
                written,
            },
            CallWriter { handle, stop },
        ))
    }

    /// Queues `call` without waiting (module docs).
    pub fn record(&self, call: ApiCall) {
        if !self.enabled {
            return;
        }
        if self.tx.try_send(call).is_err() {
            self.dropped.inc();
        }
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written.get()
    }
}

impl CallWriter {
    /// Writes what is queued and stops the writer, waiting at most `limit`.
    pub async fn shutdown(self, limit: Duration) {
        let _ = self.stop.send(());
        if tokio::time::timeout(limit, self.handle).await.is_err() {
            tracing::warn!("API call records still unwritten at shutdown");
        }
    }
}

async fn write_loop(
    db: Db,
    node: String,
    mut rx: mpsc::Receiver<ApiCall>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
    written: prometheus::IntCounter,
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
        let envelopes: Vec<Envelope> = buf
            .drain(..)
            .filter_map(|c| match Envelope::new(API_CALLED, node.as_str(), &c) {
                Ok(e) => Some(e),
                Err(e) => {
                    tracing::error!(error = %e, "API call record not encodable");
                    None
                }
            })
            .collect();
        let mut delay = Duration::from_millis(50);
        for attempt in 1..=8 {
            match write(&db, &envelopes).await {
                Ok(()) => {
                    written.inc_by(envelopes.len() as u64);
                    break;
                }
                Err(e) if attempt < 8 => {
                    tracing::warn!(error = %e, attempt, "writing API call records failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!(error = %e, records = envelopes.len(), "API call records lost after 8 attempts");
                }
            }
        }
        if last {
            break;
        }
    }
}

async fn write(db: &Db, envelopes: &[Envelope]) -> Result<(), String> {
    let tx = db.begin_write().await.map_err(|e| e.to_string())?;
    for e in envelopes {
        rampart_platform::outbox::append(&tx, SERVICE, e)
            .await
            .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}
