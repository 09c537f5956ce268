//! Supervisors: restart strategies, restart policies, restart intensity, crash-loop backoff and
//! escalation (Erlang/OTP `supervisor` semantics, with Kubernetes' CrashLoopBackOff for the delay).
//!
//! A supervisor starts its children in order. When one exits, the supervisor decides from the
//! child's [`RestartPolicy`] whether to restart it, and from its [`Strategy`] which siblings go
//! with it. Siblings are stopped in reverse start order and started again in start order.
//!
//! Restart intensity: at most `max_restarts` restarts within `within`; one more and the supervisor
//! stops all its children and exits with a failure, which its own supervisor handles like any
//! child's crash (so supervisors nest into a tree). The root supervisor's failure is the node's:
//! `/livez` turns 503 and the orchestrator (Kubernetes, docker-compose) restarts the process.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::dead_letter::DeadLetters;
use crate::metrics::RuntimeMetrics;
use crate::snapshot::{ChildState, NodeKind, NodeSnapshot, StatusCell};

/// Which children are restarted with a failed one (Erlang/OTP restart strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Only the failed child. Default.
    #[default]
    OneForOne,
    /// All children: the others are stopped, then all are started again.
    OneForAll,
    /// The failed child and the children started after it.
    RestForOne,
}

/// When a child is restarted (Erlang/OTP restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartPolicy {
    /// Always, whatever the exit. Default.
    #[default]
    Permanent,
    /// Only after an abnormal exit (panic, failure, probe kill), not after a normal stop.
    Transient,
    /// Never.
    Temporary,
}

/// At most `max_restarts` restarts within `within`; one more escalates (Erlang/OTP's `intensity`
/// and `period`). Default 3 within 5 s (Erlang's default is 1 within 5 s; actors handling a stream
/// of messages are given a little more room).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartIntensity {
    /// Restarts allowed in the window. Default 3.
    pub max_restarts: u32,
    /// The window. Default 5 s.
    pub within: Duration,
}

impl Default for RestartIntensity {
    fn default() -> Self {
        Self {
            max_restarts: 3,
            within: Duration::from_secs(5),
        }
    }
}

/// Delay before restarting a child that keeps crashing, like Kubernetes' CrashLoopBackOff
/// (10 s, doubling, capped at 300 s, reset after 10 min of running; here scaled for actors).
///
/// The first restart after a stable run is immediate (Erlang restarts at once); the n-th
/// consecutive one (n >= 2) waits `min(initial * factor^(n-2), max)`. A run of at least
/// `reset_after` resets the count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestartBackoff {
    /// Delay of the second consecutive restart. Default 100 ms.
    pub initial: Duration,
    /// Growth per further restart. Default 2.0.
    pub factor: f64,
    /// Cap. Default 30 s.
    pub max: Duration,
    /// A run at least this long resets the backoff. Default 60 s.
    pub reset_after: Duration,
}

impl Default for RestartBackoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            factor: 2.0,
            max: Duration::from_secs(30),
            reset_after: Duration::from_secs(60),
        }
    }
}

impl RestartBackoff {
    /// The delay before restart number `consecutive` (0-based) of a crash loop.
    pub fn delay(&self, consecutive: u32) -> Duration {
        if consecutive == 0 || self.initial.is_zero() {
            return Duration::ZERO;
        }
        // Past 2^64 the cap has long been reached; clamping keeps the arithmetic finite.
        let exp = i32::try_from((consecutive - 1).min(64)).unwrap_or(64);
        let secs = self.initial.as_secs_f64() * self.factor.max(1.0).powi(exp);
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

/// How an instance (or a supervisor run) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExitReason {
    /// Stopped by itself (`ctx.stop()`): normal.
    Normal,
    /// A handler or hook panicked.
    Panicked(String),
    /// `started()` failed, `ctx.fail()`, or a supervisor exceeded its restart intensity.
    Failed(String),
    /// Killed by a probe (hung).
    Killed(String),
}

impl ExitReason {
    pub(crate) fn is_abnormal(&self) -> bool {
        !matches!(self, ExitReason::Normal)
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            ExitReason::Normal => "exited normally".to_owned(),
            ExitReason::Panicked(m) => format!("panicked: {m}"),
            ExitReason::Failed(m) => format!("failed: {m}"),
            ExitReason::Killed(m) => format!("killed: {m}"),
        }
    }
}

/// Control messages from a supervisor (or probe) to a child's manager task.
pub(crate) enum Command {
    /// Start a new instance after `delay`.
    Start { delay: Duration, generation: u64 },
    /// Stop the running instance gracefully; keep the mailbox for a later start.
    Stop { ack: oneshot::Sender<()> },
    /// Stop for good: close the mailbox and return queued messages to their senders.
    Terminate { ack: oneshot::Sender<()> },
    /// Kill the instance of `generation` now (probe failure).
    Kill { generation: u64, reason: String },
    /// A probe check for the running instance (answered between messages).
    Probe(crate::probe::ProbeRequest),
}

/// A stop or terminate asked of a child while it waits (restart delay) or finishes a handler.
pub(crate) enum StopRequest {
    /// Stop, keep the mailbox; acknowledge on the sender.
    Stop(oneshot::Sender<()>),
    /// Stop for good; acknowledge on the sender.
    Terminate(oneshot::Sender<()>),
}

/// Sleeps a restart `delay`, giving way to a stop or terminate arriving on `cmd_rx` (other
/// commands are dropped: nothing runs to take them). A closed channel counts as a terminate.
/// Used by actor and supervisor children alike.
pub(crate) async fn restart_delay(
    delay: Duration,
    cmd_rx: &mut mpsc::Receiver<Command>,
) -> Option<StopRequest> {
    if delay.is_zero() {
        return None;
    }
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return None,
            c = cmd_rx.recv() => match c {
                Some(Command::Stop { ack }) => return Some(StopRequest::Stop(ack)),
                Some(Command::Terminate { ack }) => return Some(StopRequest::Terminate(ack)),
                None => return Some(StopRequest::Terminate(oneshot::channel().0)),
                Some(_) => {}
            },
        }
    }
}

/// A child's report to its supervisor.
pub(crate) struct ChildExited {
    pub index: usize,
    pub generation: u64,
    pub reason: ExitReason,
    pub ran_for: Duration,
}

/// Shared services of a runtime: metrics and the dead-letter list. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub(crate) metrics: Arc<RuntimeMetrics>,
    pub(crate) dead_letters: DeadLetters,
}

impl Runtime {
    /// A runtime whose metrics are registered in `registry`, with a dead-letter list of 1000 entries.
    ///
    /// # Errors
    /// `prometheus::Error::AlreadyReg` if `registry` already holds the runtime's metrics.
    pub fn new(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        Ok(Self {
            metrics: Arc::new(RuntimeMetrics::new(registry)?),
            dead_letters: DeadLetters::default(),
        })
    }

    /// The dead-letter list shared by every actor of this runtime.
    pub fn dead_letters(&self) -> &DeadLetters {
        &self.dead_letters
    }
}

/// A child definition of either kind, type-erased for the supervisor.
pub(crate) trait ChildDef: Send + 'static {
    fn name(&self) -> &str;
    fn restart_policy(&self) -> RestartPolicy;
    fn status(&self) -> Arc<StatusCell>;
    /// Spawns the child's manager task (idle until it gets `Command::Start`).
    fn spawn(
        self: Box<Self>,
        index: usize,
        events: mpsc::Sender<ChildExited>,
        rt: Runtime,
    ) -> mpsc::Sender<Command>;
}

/// A supervisor's definition: its strategy, intensity, backoff and children, in start order.
pub struct SupervisorSpec {
    name: String,
    strategy: Strategy,
    intensity: RestartIntensity,
    backoff: RestartBackoff,
    restart: RestartPolicy,
    children: Vec<Box<dyn ChildDef>>,
    status: Arc<StatusCell>,
}

impl std::fmt::Debug for SupervisorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorSpec")
            .field("name", &self.name)
            .field("strategy", &self.strategy)
            .field(
                "children",
                &self
                    .children
                    .iter()
                    .map(|c| c.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SupervisorSpec {
    /// A one-for-one supervisor with default intensity and backoff and no children yet.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let status = StatusCell::new(
            &name,
            NodeKind::Supervisor {
                strategy: Strategy::OneForOne,
            },
            RestartPolicy::Permanent,
            None,
            None,
        );
        Self {
            name,
            strategy: Strategy::OneForOne,
            intensity: RestartIntensity::default(),
            backoff: RestartBackoff::default(),
            restart: RestartPolicy::Permanent,
            children: Vec::new(),
            status,
        }
    }

    /// Sets the restart strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self.status
            .update(|d| d.kind = NodeKind::Supervisor { strategy });
        self
    }

    /// Sets the restart intensity: at most `max_restarts` within `within`.
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.intensity = RestartIntensity {
            max_restarts,
            within,
        };
        self
    }

    /// Sets the crash-loop backoff of its children.
    pub fn backoff(mut self, backoff: RestartBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets this supervisor's own restart policy as a child of its parent. Default permanent.
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self.status.update(|d| d.restart_policy = policy);
        self
    }

    /// Adds a child (an actor's [`crate::ChildSpec`] or a nested [`SupervisorSpec`]), started after
    /// the ones added before.
    pub fn child(mut self, child: impl IntoChild) -> Self {
        self.children.push(child.into_child().0);
        self
    }

    /// Starts this supervisor as the root of a tree on the current tokio runtime.
    pub fn start(self, rt: &Runtime) -> SupervisorHandle {
        let status = self.status.clone();
        let (events_tx, mut events_rx) = mpsc::channel::<ChildExited>(1);
        let cmd = Box::new(self).spawn(0, events_tx, rt.clone());
        let (fail_tx, fail_rx) = watch::channel::<Option<String>>(None);
        // The root has no parent: its escalation is recorded for the node to act on.
        let terminate = cmd.clone();
        crate::spawn::spawn(async move {
            if let Some(ev) = events_rx.recv().await {
                let _ = fail_tx.send(Some(ev.reason.describe()));
                // Nobody restarts the root: return queued messages to their senders.
                let (ack, done) = oneshot::channel();
                if terminate.send(Command::Terminate { ack }).await.is_ok() {
                    let _ = done.await;
                }
            }
        });
        let start = cmd.clone();
        crate::spawn::spawn(async move {
            let _ = start
                .send(Command::Start {
                    delay: Duration::ZERO,
                    generation: 1,
                })
                .await;
        });
        SupervisorHandle {
            cmd,
            status,
            failure: fail_rx,
        }
    }
}

/// A type-erased child definition (an actor's or a supervisor's), as stored by a supervisor.
pub struct BoxedChild(pub(crate) Box<dyn ChildDef>);

impl std::fmt::Debug for BoxedChild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BoxedChild").field(&self.0.name()).finish()
    }
}

/// Anything that can be a supervisor's child: a [`crate::ChildSpec`] or a [`SupervisorSpec`].
pub trait IntoChild {
    /// Type-erases the child definition.
    fn into_child(self) -> BoxedChild;
}

impl IntoChild for SupervisorSpec {
    fn into_child(self) -> BoxedChild {
        BoxedChild(Box::new(self))
    }
}

/// Handle on a running root supervisor.
#[derive(Debug)]
pub struct SupervisorHandle {
    cmd: mpsc::Sender<Command>,
    status: Arc<StatusCell>,
    failure: watch::Receiver<Option<String>>,
}

impl std::fmt::Debug for StatusCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusCell")
    }
}

impl SupervisorHandle {
    /// A snapshot of the whole tree now.
    pub fn snapshot(&self) -> NodeSnapshot {
        self.status.snapshot()
    }

    /// Why the root gave up, if it did (restart intensity exceeded).
    pub fn failure(&self) -> Option<String> {
        self.failure.borrow().clone()
    }

    /// Waits until the root supervisor gives up; returns the reason.
    pub async fn failed(&self) -> String {
        let mut rx = self.failure.clone();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                return "supervisor task ended".to_owned();
            }
        }
    }

    /// Stops every child (reverse start order), returns queued messages to their senders as
    /// errors, and ends the tree.
    pub async fn shutdown(&self) {
        let (ack, done) = oneshot::channel();
        if self.cmd.send(Command::Terminate { ack }).await.is_ok() {
            let _ = done.await;
        }
    }
}

struct Slot {
    name: String,
    policy: RestartPolicy,
    cmd: mpsc::Sender<Command>,
    status: Arc<StatusCell>,
    generation: u64,
    running: bool,
    terminated: bool,
    consecutive: u32,
    restarts_metric: prometheus::IntCounter,
}

fn should_restart(policy: RestartPolicy, reason: &ExitReason) -> bool {
    match policy {
        RestartPolicy::Permanent => true,
        RestartPolicy::Transient => reason.is_abnormal(),
        RestartPolicy::Temporary => false,
    }
}

/// What ended a supervisor run.
enum RunEnd {
    Escalated(String),
    Stopped(oneshot::Sender<()>),
    Terminated(oneshot::Sender<()>),
}

struct Sup {
    name: String,
    strategy: Strategy,
    intensity: RestartIntensity,
    backoff: RestartBackoff,
    slots: Vec<Slot>,
    events: mpsc::Receiver<ChildExited>,
    restarts: VecDeque<Instant>,
    status: Arc<StatusCell>,
    rt: Runtime,
}

impl Sup {
    async fn stop_slot(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if slot.terminated {
            return;
        }
        let (ack, done) = oneshot::channel();
        if slot.cmd.send(Command::Stop { ack }).await.is_ok() {
            let _ = done.await;
        }
        slot.running = false;
    }

    async fn terminate_slot(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if slot.terminated {
            return;
        }
        let (ack, done) = oneshot::channel();
        if slot.cmd.send(Command::Terminate { ack }).await.is_ok() {
            let _ = done.await;
        }
        slot.running = false;
        slot.terminated = true;
    }

    async fn start_slot(&mut self, i: usize, delay: Duration, is_restart: bool) {
        let slot = &mut self.slots[i];
        if slot.terminated {
            return;
        }
        slot.generation += 1;
        slot.running = true;
        if is_restart {
            slot.restarts_metric.inc();
            slot.status.update(|d| {
                d.restarts += 1;
                d.state = ChildState::Restarting;
            });
        }
        let generation = slot.generation;
        let _ = slot.cmd.send(Command::Start { delay, generation }).await;
    }

    async fn stop_all_reverse(&mut self, from: usize) {
        for i in (from..self.slots.len()).rev() {
            self.stop_slot(i).await;
        }
    }

    async fn terminate_all_reverse(&mut self) {
        for i in (0..self.slots.len()).rev() {
            self.terminate_slot(i).await;
        }
    }

    /// Handles one child's exit. Returns `Some(reason)` when the supervisor must escalate.
    async fn on_exit(&mut self, ev: ChildExited) -> Option<String> {
        let slot = self.slots.get_mut(ev.index)?;
        if ev.generation != slot.generation || !slot.running {
            return None; // stale: that instance was already replaced or stopped
        }
        slot.running = false;
        tracing::info!(supervisor = %self.name, child = %slot.name, reason = %ev.reason.describe(), "child exited");
        if !should_restart(slot.policy, &ev.reason) {
            let state = if ev.reason.is_abnormal() {
                ChildState::Failed
            } else {
                ChildState::Stopped
            };
            let i = ev.index;
            self.terminate_slot(i).await;
            self.slots[i].status.set_state(state);
            return None;
        }
        // Restart intensity (Erlang): more than max_restarts within `within` escalates.
        let now = Instant::now();
        while self
            .restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.intensity.within)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() >= self.intensity.max_restarts as usize {
            return Some(format!(
                "restart intensity exceeded: more than {} restarts within {} ms (last: child `{}` {})",
                self.intensity.max_restarts,
                self.intensity.within.as_millis(),
                self.slots[ev.index].name,
                ev.reason.describe()
            ));
        }
        self.restarts.push_back(now);
        let slot = &mut self.slots[ev.index];
        if ev.ran_for >= self.backoff.reset_after {
            slot.consecutive = 0;
        }
        let delay = self.backoff.delay(slot.consecutive);
        slot.consecutive = slot.consecutive.saturating_add(1);
        let first = match self.strategy {
            Strategy::OneForOne => ev.index,
            Strategy::OneForAll => 0,
            Strategy::RestForOne => ev.index,
        };
        // Stop the siblings that go with it, in reverse start order, then start all in order.
        for i in (first..self.slots.len()).rev() {
            if i != ev.index && (self.strategy != Strategy::OneForOne) {
                self.stop_slot(i).await;
            }
        }
        let last = if self.strategy == Strategy::OneForOne {
            ev.index + 1
        } else {
            self.slots.len()
        };
        for i in first..last {
            if i != ev.index && self.slots[i].policy == RestartPolicy::Temporary {
                // Temporary children are never restarted, not even with their siblings.
                self.terminate_slot(i).await;
                self.slots[i].status.set_state(ChildState::Stopped);
                continue;
            }
            self.start_slot(i, delay, true).await;
        }
        None
    }

    async fn run(&mut self, cmd_rx: &mut mpsc::Receiver<Command>) -> RunEnd {
        self.restarts.clear();
        self.status.set_state(ChildState::Running);
        for i in 0..self.slots.len() {
            // A supervisor restarted by its parent restarts its children too.
            let again = self.slots[i].generation > 0;
            self.start_slot(i, Duration::ZERO, again).await;
        }
        loop {
            tokio::select! {
                biased;
                cmd = cmd_rx.recv() => match cmd {
                    Some(Command::Stop { ack }) => {
                        self.stop_all_reverse(0).await;
                        return RunEnd::Stopped(ack);
                    }
                    Some(Command::Terminate { ack }) => return RunEnd::Terminated(ack),
                    None => {
                        let (ack, _) = oneshot::channel();
                        return RunEnd::Terminated(ack);
                    }
                    Some(Command::Start { .. } | Command::Kill { .. } | Command::Probe(_)) => {}
                },
                ev = self.events.recv() => {
                    let Some(ev) = ev else { continue };
                    if let Some(reason) = self.on_exit(ev).await {
                        return RunEnd::Escalated(reason);
                    }
                }
            }
        }
    }
}

impl ChildDef for SupervisorSpec {
    fn name(&self) -> &str {
        &self.name
    }

    fn restart_policy(&self) -> RestartPolicy {
        self.restart
    }

    fn status(&self) -> Arc<StatusCell> {
        self.status.clone()
    }

    fn spawn(
        self: Box<Self>,
        index: usize,
        parent: mpsc::Sender<ChildExited>,
        rt: Runtime,
    ) -> mpsc::Sender<Command> {
        let (cmd_tx, mut cmd_rx) = mpsc::channel::<Command>(8);
        let this = *self;
        // At most one exit report is outstanding per child, so this bound cannot be reached.
        let (events_tx, events_rx) = mpsc::channel::<ChildExited>(this.children.len() + 1);
        let mut statuses = Vec::with_capacity(this.children.len());
        let mut slots = Vec::with_capacity(this.children.len());
        for (i, child) in this.children.into_iter().enumerate() {
            let name = child.name().to_owned();
            let policy = child.restart_policy();
            let status = child.status();
            statuses.push(status.clone());
            let cmd = child.spawn(i, events_tx.clone(), rt.clone());
            slots.push(Slot {
                restarts_metric: rt.metrics.restarts_of(&name),
                name,
                policy,
                cmd,
                status,
                generation: 0,
                running: false,
                terminated: false,
                consecutive: 0,
            });
        }
        this.status.set_children(statuses);
        let mut sup = Sup {
            name: this.name,
            strategy: this.strategy,
            intensity: this.intensity,
            backoff: this.backoff,
            slots,
            events: events_rx,
            restarts: VecDeque::new(),
            status: this.status,
            rt,
        };
        crate::spawn::spawn(async move {
            loop {
                let Some(cmd) = cmd_rx.recv().await else {
                    sup.terminate_all_reverse().await;
                    return;
                };
                match cmd {
                    Command::Start {
                        delay,
                        generation: g,
                    } => {
                        match restart_delay(delay, &mut cmd_rx).await {
                            None => {}
                            Some(StopRequest::Stop(ack)) => {
                                let _ = ack.send(());
                                continue;
                            }
                            Some(StopRequest::Terminate(ack)) => {
                                sup.terminate_all_reverse().await;
                                let _ = ack.send(());
                                return;
                            }
                        }
                        let generation = g;
                        sup.status.update(|d| d.generation = g);
                        let began = Instant::now();
                        match sup.run(&mut cmd_rx).await {
                            RunEnd::Escalated(reason) => {
                                tracing::error!(supervisor = %sup.name, %reason, "escalating to parent");
                                sup.rt.metrics.escalation(&sup.name);
                                sup.stop_all_reverse(0).await;
                                sup.status.record_failure(&reason);
                                sup.status.set_state(ChildState::Failed);
                                let _ = parent
                                    .send(ChildExited {
                                        index,
                                        generation,
                                        reason: ExitReason::Failed(reason),
                                        ran_for: began.elapsed(),
                                    })
                                    .await;
                            }
                            RunEnd::Stopped(ack) => {
                                sup.status.set_state(ChildState::Stopped);
                                let _ = ack.send(());
                            }
                            RunEnd::Terminated(ack) => {
                                sup.terminate_all_reverse().await;
                                sup.status.set_state(ChildState::Stopped);
                                let _ = ack.send(());
                                return;
                            }
                        }
                    }
                    Command::Stop { ack } => {
                        let _ = ack.send(());
                    }
                    Command::Terminate { ack } => {
                        sup.terminate_all_reverse().await;
                        sup.status.update(|d| {
                            if d.state != ChildState::Failed {
                                d.state = ChildState::Stopped;
                            }
                        });
                        let _ = ack.send(());
                        return;
                    }
                    Command::Kill { .. } | Command::Probe(_) => {}
                }
            }
        });
        cmd_tx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_immediate_then_exponential_then_capped() {
        let b = RestartBackoff {
            initial: Duration::from_millis(100),
            factor: 2.0,
            max: Duration::from_secs(30),
            reset_after: Duration::from_secs(60),
        };
        let got: Vec<u128> = (0..6).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(got, vec![0, 100, 200, 400, 800, 1600]);
        assert_eq!(b.delay(20), Duration::from_secs(30));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn zero_initial_delay_stays_zero_however_long_the_crash_loop() {
        let b = RestartBackoff {
            initial: Duration::ZERO,
            ..RestartBackoff::default()
        };
        for n in [1, 1024, 1025, 5000, u32::MAX] {
            assert_eq!(b.delay(n), Duration::ZERO, "n = {n}");
        }
    }
}
