//! Liveness, readiness and startup probes, with Kubernetes' field names and meanings
//! (Kubernetes docs, "Configure Liveness, Readiness and Startup Probes").
//!
//! A probe sends a check to the actor every `period`, first after `initial_delay`. The actor answers
//! between two messages (probes jump the mailbox queue but never interrupt a running handler), by
//! running its [`crate::Actor::liveness`] / [`crate::Actor::readiness`] hook. No answer within
//! `timeout` is a failure. After `failure_threshold` consecutive failures:
//! - liveness: the instance is killed and restarted exactly as a crashed one is;
//! - readiness: the actor is marked not ready (out of traffic) until `success_threshold`
//!   consecutive successes;
//! - startup: the instance is killed. Until the startup probe passes, liveness and readiness are not
//!   run (so a slow start is not mistaken for a hang).
//!
//! A handler that hangs therefore gets restarted within
//! `initial_delay + period * failure_threshold + timeout` of the instance's start (plus scheduling).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};

use crate::actor::ProbeCheck;
use crate::metrics::ActorMetrics;
use crate::snapshot::StatusCell;
use crate::supervisor::Command;
use std::sync::Arc;

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// Restarts the actor when failing.
    Liveness,
    /// Takes the actor out of traffic when failing.
    Readiness,
    /// Gates the other two until the actor has started.
    Startup,
}

impl ProbeKind {
    /// Lower-case name, as used in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Startup => "startup",
        }
    }
}

/// One probe's settings. Defaults are Kubernetes' (`initialDelaySeconds` 0, `periodSeconds` 10,
/// `timeoutSeconds` 1, `failureThreshold` 3, `successThreshold` 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Wait before the first check, counted from the instance's start (liveness and readiness: from
    /// the end of the startup probe). Default 0 s.
    pub initial_delay: Duration,
    /// Time between the starts of two checks. Default 10 s.
    pub period: Duration,
    /// A check not answered within this is a failure. Default 1 s.
    pub timeout: Duration,
    /// Consecutive failures that make the probe fail. Default 3 (at least 1).
    pub failure_threshold: u32,
    /// Consecutive successes that make a failed probe pass again. Default 1 (liveness and startup:
    /// always 1, as in Kubernetes).
    pub success_threshold: u32,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            failure_threshold: 3,
            success_threshold: 1,
        }
    }
}

/// The probes of one child. By default liveness and readiness run with Kubernetes' defaults and
/// there is no startup probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probes {
    /// Liveness probe, `None` to disable (a hung handler is then never noticed).
    pub liveness: Option<ProbeConfig>,
    /// Readiness probe, `None`: ready as soon as started.
    pub readiness: Option<ProbeConfig>,
    /// Startup probe, `None`: started as soon as `started()` returned.
    pub startup: Option<ProbeConfig>,
}

impl Default for Probes {
    fn default() -> Self {
        Self {
            liveness: Some(ProbeConfig::default()),
            readiness: Some(ProbeConfig::default()),
            startup: None,
        }
    }
}

/// The last result and counters of one probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeStatus {
    /// Whether the probe passes now (thresholds applied).
    pub passing: bool,
    /// Whether the last check passed.
    pub last_ok: Option<bool>,
    /// Failure reason of the last check, if it failed.
    pub last_error: Option<String>,
    /// When the last check finished (UTC).
    pub last_at: Option<DateTime<Utc>>,
    /// Consecutive failed checks.
    pub consecutive_failures: u32,
    /// Consecutive passed checks.
    pub consecutive_successes: u32,
    /// Failed checks of this instance in all.
    pub failures: u64,
}

impl ProbeStatus {
    pub(crate) fn initial(kind: ProbeKind) -> Self {
        Self {
            // Kubernetes: readiness fails until the first success; liveness passes until it fails.
            passing: kind == ProbeKind::Liveness,
            last_ok: None,
            last_error: None,
            last_at: None,
            consecutive_failures: 0,
            consecutive_successes: 0,
            failures: 0,
        }
    }

    fn record(&mut self, result: &ProbeCheck, cfg: &ProbeConfig, kind: ProbeKind) {
        self.last_at = Some(Utc::now());
        match result {
            Ok(()) => {
                self.last_ok = Some(true);
                self.last_error = None;
                self.consecutive_failures = 0;
                self.consecutive_successes = self.consecutive_successes.saturating_add(1);
                let needed = if kind == ProbeKind::Readiness {
                    cfg.success_threshold.max(1)
                } else {
                    1
                };
                if self.consecutive_successes >= needed {
                    self.passing = true;
                }
            }
            Err(e) => {
                self.last_ok = Some(false);
                self.last_error = Some(e.clone());
                self.consecutive_successes = 0;
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.failures += 1;
                if self.consecutive_failures >= cfg.failure_threshold.max(1) {
                    self.passing = false;
                }
            }
        }
    }
}

/// A check sent to the instance over its system channel.
pub(crate) struct ProbeRequest {
    pub kind: ProbeKind,
    pub reply: oneshot::Sender<ProbeCheck>,
}

/// Everything a probe runner needs for one instance.
pub(crate) struct ProbeRunner {
    pub probes: Probes,
    pub status: Arc<StatusCell>,
    pub cmd: mpsc::Sender<Command>,
    pub generation: u64,
    pub metrics: ActorMetrics,
    /// Fires when the instance's `started()` returned.
    pub started: oneshot::Receiver<()>,
}

async fn check(cmd: &mpsc::Sender<Command>, kind: ProbeKind, timeout: Duration) -> ProbeCheck {
    let (tx, rx) = oneshot::channel();
    // The control channel is small; if it is full, the instance is not taking commands: a failure.
    if cmd
        .try_send(Command::Probe(ProbeRequest { kind, reply: tx }))
        .is_err()
    {
        return Err(format!(
            "{} check not accepted: earlier checks unanswered",
            kind.as_str()
        ));
    }
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err("instance exited before answering".to_owned()),
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

impl ProbeRunner {
    fn counter(&self, kind: ProbeKind) -> &prometheus::IntCounter {
        match kind {
            ProbeKind::Liveness => &self.metrics.liveness_failures,
            ProbeKind::Readiness => &self.metrics.readiness_failures,
            ProbeKind::Startup => &self.metrics.startup_failures,
        }
    }

    fn kill(&self, reason: String) {
        // A full command channel means a stop or kill is already on its way.
        let _ = self.cmd.try_send(Command::Kill {
            generation: self.generation,
            reason,
        });
    }

    /// Runs one probe forever (until the instance's runner aborts it). Returns when the probe
    /// decided to kill the instance (liveness / startup) .
    async fn run_one(&self, kind: ProbeKind, cfg: ProbeConfig) {
        let mut status = ProbeStatus::initial(kind);
        let start = Instant::now() + cfg.initial_delay;
        let mut ticker = tokio::time::interval_at(start, cfg.period.max(Duration::from_millis(1)));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let result = check(&self.cmd, kind, cfg.timeout).await;
            if result.is_err() {
                self.counter(kind).inc();
            }
            status.record(&result, &cfg, kind);
            self.status.set_probe(kind, status.clone());
            match kind {
                ProbeKind::Readiness => {
                    let passing = status.passing;
                    self.status.update(|d| d.ready = passing);
                }
                ProbeKind::Startup if result.is_ok() => return,
                ProbeKind::Liveness | ProbeKind::Startup
                    if status.consecutive_failures >= cfg.failure_threshold.max(1) =>
                {
                    let reason = format!(
                        "{} probe failed {} times in a row (last: {})",
                        kind.as_str(),
                        status.consecutive_failures,
                        status.last_error.as_deref().unwrap_or("?"),
                    );
                    tracing::warn!(actor = %self.status.update(|d| d.name.clone()), %reason, "killing instance");
                    self.kill(reason);
                    return;
                }
                _ => {}
            }
        }
    }

    /// Runs the startup probe (or waits for `started()`), then liveness and readiness together.
    pub(crate) async fn run(self) {
        let mut this = self;
        let started_rx = std::mem::replace(&mut this.started, oneshot::channel().1);
        match this.probes.startup {
            Some(cfg) => {
                this.run_one(ProbeKind::Startup, cfg).await;
                // Killed, or passed: either way, passing is visible in the status.
                let passed = this.status.update(|d| {
                    d.probes
                        .as_ref()
                        .and_then(|p| p.startup.as_ref())
                        .is_some_and(|s| s.last_ok == Some(true))
                });
                if !passed {
                    return;
                }
            }
            None => {
                if started_rx.await.is_err() {
                    return;
                }
            }
        }
        this.status.update(|d| {
            d.started = true;
            if this.probes.readiness.is_none() {
                d.ready = true;
            }
        });
        let live = async {
            if let Some(cfg) = this.probes.liveness {
                this.run_one(ProbeKind::Liveness, cfg).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let ready = async {
            if let Some(cfg) = this.probes.readiness {
                this.run_one(ProbeKind::Readiness, cfg).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        // When liveness kills the instance, stop probing readiness too.
        tokio::select! {
            _ = live => {},
            _ = ready => {},
        }
    }
}
