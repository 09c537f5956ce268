//! Live status of every node of a supervision tree, and the serialisable snapshot of it that feeds
//! `/livez`, `/readyz` and `/startupz`.
//!
//! Health verdicts (Kubernetes' meanings, applied to the whole tree):
//! - **live** ([`NodeSnapshot::is_live`]): the root supervisor has not given up (it has not exceeded
//!   its restart intensity). A child that is restarting is still live: restarting it is the
//!   supervisor's job, not the node's.
//! - **ready** ([`NodeSnapshot::is_ready`]): every actor that is meant to run is running and passes its
//!   readiness probe (or, without one, has started).
//! - **started** ([`NodeSnapshot::is_started`]): every actor has completed its start (startup probe
//!   passed, or `started()` returned) at least once.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::probe::{ProbeKind, ProbeStatus};
use crate::supervisor::{RestartPolicy, Strategy};

/// Lifecycle state of a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildState {
    /// Being built or running its start hook (or waiting for its startup probe).
    Starting,
    /// Handling messages.
    Running,
    /// Crashed or hung; a new instance is scheduled (restart delay pending).
    Restarting,
    /// Crashed and will not be restarted (restart policy, or its supervisor gave up).
    Failed,
    /// Stopped on purpose or exited normally and not restarted.
    Stopped,
}

/// The last failure of a child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureRecord {
    /// Panic message, error, or the probe failure that killed it.
    pub reason: String,
    /// When it happened (UTC, RFC 3339 in JSON).
    pub at: DateTime<Utc>,
}

/// Mailbox occupancy, in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MailboxSnapshot {
    /// Messages queued now.
    pub depth: usize,
    /// Capacity.
    pub capacity: usize,
}

/// Probe results of an actor (a probe that is not configured is `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProbeSnapshots {
    /// Liveness: failing past `failure_threshold` restarts the actor.
    pub liveness: Option<ProbeStatus>,
    /// Readiness: failing takes the actor out of traffic.
    pub readiness: Option<ProbeStatus>,
    /// Startup: until it passes, liveness and readiness are not run.
    pub startup: Option<ProbeStatus>,
}

/// Whether a node is an actor or a supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum NodeKind {
    /// A supervised actor.
    Actor,
    /// A supervisor with its strategy.
    Supervisor {
        /// Its restart strategy.
        strategy: Strategy,
    },
}

/// A point-in-time view of one node of the tree and, for supervisors, of its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeSnapshot {
    /// The child's name in its supervisor.
    pub name: String,
    /// Actor or supervisor.
    pub kind: NodeKind,
    /// Restart policy as a child of its supervisor (the root: permanent).
    pub restart_policy: RestartPolicy,
    /// Lifecycle state.
    pub state: ChildState,
    /// Restarts so far.
    pub restarts: u64,
    /// Instance number: 1 for the first start, +1 per restart; 0 before the first start.
    pub generation: u64,
    /// The last failure, if any.
    pub last_failure: Option<FailureRecord>,
    /// Has completed its start at least once.
    pub started: bool,
    /// Should get traffic now.
    pub ready: bool,
    /// Probe results (actors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<ProbeSnapshots>,
    /// Mailbox occupancy (actors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<MailboxSnapshot>,
    /// Children (supervisors only), in start order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<NodeSnapshot>,
}

impl NodeSnapshot {
    /// Liveness verdict of the tree rooted here (see the module docs).
    pub fn is_live(&self) -> bool {
        self.state != ChildState::Failed
    }

    /// Readiness verdict of the tree rooted here (see the module docs).
    pub fn is_ready(&self) -> bool {
        match self.kind {
            NodeKind::Actor => match self.state {
                ChildState::Running => self.ready,
                // Exited on purpose (transient/temporary): not meant to run, does not hold traffic back.
                ChildState::Stopped => self.restart_policy != RestartPolicy::Permanent,
                _ => false,
            },
            NodeKind::Supervisor { .. } => {
                self.state == ChildState::Running && self.children.iter().all(Self::is_ready)
            }
        }
    }

    /// Startup verdict of the tree rooted here (see the module docs).
    pub fn is_started(&self) -> bool {
        match self.kind {
            NodeKind::Actor => self.started,
            NodeKind::Supervisor { .. } => self.children.iter().all(Self::is_started),
        }
    }

    /// The node at `path` below this one: child names joined by `/` (`"services/risk"`).
    pub fn find(&self, path: &str) -> Option<&NodeSnapshot> {
        let mut node = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            node = node.children.iter().find(|c| c.name == part)?;
        }
        Some(node)
    }
}

type DepthFn = Box<dyn Fn() -> MailboxSnapshot + Send + Sync>;

/// Shared, mutable status of one node; read by snapshots, written by the runtime.
pub(crate) struct StatusCell {
    pub(crate) data: Mutex<StatusData>,
    depth: Option<DepthFn>,
    children: Mutex<Vec<Arc<StatusCell>>>,
}

pub(crate) struct StatusData {
    pub name: String,
    pub kind: NodeKind,
    pub restart_policy: RestartPolicy,
    pub state: ChildState,
    pub restarts: u64,
    pub generation: u64,
    pub last_failure: Option<FailureRecord>,
    pub started: bool,
    pub ready: bool,
    pub probes: Option<ProbeSnapshots>,
}

impl StatusCell {
    pub(crate) fn new(
        name: &str,
        kind: NodeKind,
        restart_policy: RestartPolicy,
        depth: Option<DepthFn>,
        probes: Option<ProbeSnapshots>,
    ) -> Arc<Self> {
        Arc::new(Self {
            data: Mutex::new(StatusData {
                name: name.to_owned(),
                kind,
                restart_policy,
                state: ChildState::Stopped,
                restarts: 0,
                generation: 0,
                last_failure: None,
                started: false,
                ready: false,
                probes,
            }),
            depth,
            children: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut StatusData) -> R) -> R {
        let mut d = self.data.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut d)
    }

    pub(crate) fn set_children(&self, children: Vec<Arc<StatusCell>>) {
        *self.children.lock().unwrap_or_else(|e| e.into_inner()) = children;
    }

    pub(crate) fn set_state(&self, state: ChildState) {
        self.update(|d| d.state = state);
    }

    pub(crate) fn record_failure(&self, reason: &str) {
        self.update(|d| {
            d.last_failure = Some(FailureRecord {
                reason: reason.to_owned(),
                at: Utc::now(),
            })
        });
    }

    pub(crate) fn set_probe(&self, kind: ProbeKind, status: ProbeStatus) {
        self.update(|d| {
            if let Some(p) = d.probes.as_mut() {
                match kind {
                    ProbeKind::Liveness => p.liveness = Some(status),
                    ProbeKind::Readiness => p.readiness = Some(status),
                    ProbeKind::Startup => p.startup = Some(status),
                }
            }
        });
    }

    /// A consistent-per-node snapshot of this node and its subtree.
    pub(crate) fn snapshot(&self) -> NodeSnapshot {
        let children: Vec<NodeSnapshot> = self
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|c| c.snapshot())
            .collect();
        let mailbox = self.depth.as_ref().map(|f| f());
        let d = self.data.lock().unwrap_or_else(|e| e.into_inner());
        let mut snap = NodeSnapshot {
            name: d.name.clone(),
            kind: d.kind,
            restart_policy: d.restart_policy,
            state: d.state,
            restarts: d.restarts,
            generation: d.generation,
            last_failure: d.last_failure.clone(),
            started: d.started,
            ready: d.ready,
            probes: d.probes.clone(),
            mailbox,
            children,
        };
        if let NodeKind::Supervisor { .. } = snap.kind {
            // A supervisor's own flags are its subtree's verdicts.
            snap.started = snap.is_started();
            snap.ready = snap.is_ready();
        }
        snap
    }
}
