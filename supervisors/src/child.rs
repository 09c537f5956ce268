//! An actor child: its [`ChildSpec`] (factory, restart policy, mailbox, probes, failure handling)
//! and the manager task that runs one instance after another on the same mailbox.
//!
//! The instance loop, per message: take a probe check from the system channel if one is waiting
//! (checks jump the queue), else the next message (a redelivered one first); run its handler under
//! `catch_unwind`, racing it against kill and stop commands. A panic ends the instance with the
//! message in hand answered, redelivered or dead-lettered; a kill (hung handler) does the same.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::actor::{Actor, Context, ExitRequest};
use crate::mailbox::{
    Addr, AskError, BoxEnvelope, Disposition, FailureInfo, MailboxConfig, OnFailure,
};
use crate::metrics::ActorMetrics;
use crate::probe::{ProbeKind, ProbeRequest, ProbeRunner, ProbeStatus, Probes};
use crate::snapshot::{ChildState, MailboxSnapshot, NodeKind, ProbeSnapshots, StatusCell};
use crate::supervisor::{
    BoxedChild, ChildDef, ChildExited, Command, ExitReason, IntoChild, RestartPolicy, Runtime,
    StopRequest, restart_delay,
};

/// Turns a panic payload into its message.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Builder of a [`ChildSpec`]: the child's name, factory and policies.
pub struct ChildSpecBuilder<A: Actor> {
    name: String,
    factory: Arc<dyn Fn() -> A + Send + Sync>,
    restart: RestartPolicy,
    mailbox: MailboxConfig,
    on_failure: OnFailure,
    probes: Probes,
    shutdown_timeout: Duration,
}

impl<A: Actor> ChildSpecBuilder<A> {
    /// Restart policy (default permanent).
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }

    /// Mailbox capacity and backpressure (default 1024 messages, senders wait).
    pub fn mailbox(mut self, cfg: MailboxConfig) -> Self {
        self.mailbox = cfg;
        self
    }

    /// What becomes of the message in hand when its handler fails (default: reply an error).
    pub fn on_failure(mut self, on_failure: OnFailure) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// Probes (default: liveness and readiness with Kubernetes' defaults, no startup probe).
    pub fn probes(mut self, probes: Probes) -> Self {
        self.probes = probes;
        self
    }

    /// How long a graceful stop waits for the handler in progress and `stopping()` before the
    /// instance is dropped (Kubernetes' `terminationGracePeriodSeconds`). Default 5 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Creates the mailbox and the spec; [`ChildSpec::addr`] gives the address to send to.
    pub fn build(self) -> ChildSpec<A> {
        let name: Arc<str> = Arc::from(self.name.as_str());
        let (tx, rx) = mpsc::channel(self.mailbox.capacity.max(1));
        let addr = Addr::new(tx.clone(), self.mailbox, name.clone());
        let depth_tx = tx.clone();
        let depth = Box::new(move || MailboxSnapshot {
            depth: depth_tx.max_capacity() - depth_tx.capacity(),
            capacity: depth_tx.max_capacity(),
        });
        let probes = ProbeSnapshots {
            liveness: self
                .probes
                .liveness
                .map(|_| ProbeStatus::initial(ProbeKind::Liveness)),
            readiness: self
                .probes
                .readiness
                .map(|_| ProbeStatus::initial(ProbeKind::Readiness)),
            startup: self
                .probes
                .startup
                .map(|_| ProbeStatus::initial(ProbeKind::Startup)),
        };
        let status = StatusCell::new(
            &self.name,
            NodeKind::Actor,
            self.restart,
            Some(depth),
            Some(probes),
        );
        ChildSpec {
            name,
            factory: self.factory,
            restart: self.restart,
            on_failure: self.on_failure,
            probes: self.probes,
            shutdown_timeout: self.shutdown_timeout,
            addr,
            rx,
            status,
        }
    }
}

/// A supervised actor child: how to build its instances and how to treat them. Its mailbox exists
/// from [`ChildSpecBuilder::build`] on, so [`ChildSpec::addr`] can be handed out before the tree
/// starts; messages sent early wait for the first instance.
pub struct ChildSpec<A: Actor> {
    name: Arc<str>,
    factory: Arc<dyn Fn() -> A + Send + Sync>,
    restart: RestartPolicy,
    on_failure: OnFailure,
    probes: Probes,
    shutdown_timeout: Duration,
    addr: Addr<A>,
    rx: mpsc::Receiver<BoxEnvelope<A>>,
    status: Arc<StatusCell>,
}

impl<A: Actor> std::fmt::Debug for ChildSpec<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("name", &self.name)
            .finish()
    }
}

impl<A: Actor> ChildSpec<A> {
    /// Starts a builder: `factory` builds a fresh instance for the first start and every restart.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        name: impl Into<String>,
        factory: impl Fn() -> A + Send + Sync + 'static,
    ) -> ChildSpecBuilder<A> {
        ChildSpecBuilder {
            name: name.into(),
            factory: Arc::new(factory),
            restart: RestartPolicy::Permanent,
            mailbox: MailboxConfig::default(),
            on_failure: OnFailure::ReplyError,
            probes: Probes::default(),
            shutdown_timeout: Duration::from_secs(5),
        }
    }

    /// The child's address, valid across restarts.
    pub fn addr(&self) -> Addr<A> {
        self.addr.clone()
    }
}

impl<A: Actor> IntoChild for ChildSpec<A> {
    fn into_child(self) -> BoxedChild {
        BoxedChild(Box::new(self))
    }
}

/// How the instance loop ended, and what the manager owes afterwards.
enum After {
    /// Report the exit to the supervisor.
    Report(ExitReason),
    /// A stop was asked: acknowledge it, don't report.
    StopAck(oneshot::Sender<()>),
    /// A terminate was asked: close the mailbox, acknowledge, end the task.
    Terminate(oneshot::Sender<()>),
}

/// A command as seen by a running instance.
enum Cmd {
    Probe(ProbeRequest),
    Kill(String),
    Stop(oneshot::Sender<()>),
    Terminate(oneshot::Sender<()>),
    Ignore,
}

fn classify(cmd: Option<Command>, generation: u64) -> Cmd {
    match cmd {
        Some(Command::Kill {
            generation: g,
            reason,
        }) if g == generation => Cmd::Kill(reason),
        Some(Command::Stop { ack }) => Cmd::Stop(ack),
        Some(Command::Terminate { ack }) => Cmd::Terminate(ack),
        Some(Command::Probe(req)) => Cmd::Probe(req),
        // Every sender gone: nobody can start us again.
        None => Cmd::Terminate(oneshot::channel().0),
        Some(_) => Cmd::Ignore,
    }
}

/// Keeps a probe check for later, dropping checks whose prober gave up (timed out): at most one
/// live check per probe kind is ever kept.
fn defer(deferred: &mut Vec<ProbeRequest>, req: ProbeRequest) {
    deferred.retain(|r| !r.reply.is_closed());
    deferred.push(req);
}

/// What the instance loop owes once a pending stop or terminate takes effect.
impl StopRequest {
    fn after(self) -> After {
        match self {
            StopRequest::Stop(ack) => After::StopAck(ack),
            StopRequest::Terminate(ack) => After::Terminate(ack),
        }
    }
}

/// What the instance loop takes next.
enum Next<A: Actor> {
    Cmd(Option<Command>),
    Mail(BoxEnvelope<A>),
    Closed,
}

enum Handled {
    Done(Result<(), Box<dyn Any + Send>>, Option<StopRequest>),
    Kill(String),
    StopTimeout(StopRequest),
}

/// Aborts a spawned task when dropped (the probe runner dies with its instance).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Cell<A: Actor> {
    spec: ChildSpec<A>,
    redeliver: VecDeque<BoxEnvelope<A>>,
    metrics: ActorMetrics,
    rt: Runtime,
    cmd_tx: mpsc::Sender<Command>,
}

impl<A: Actor> Cell<A> {
    fn dispose(&mut self, env: BoxEnvelope<A>, reason: &str) {
        let info = FailureInfo {
            actor: &self.spec.name,
            reason,
            on_failure: self.spec.on_failure,
        };
        match env.fail(&info) {
            Disposition::Redeliver(env) => self.redeliver.push_back(env),
            Disposition::Replied => {}
            Disposition::DeadLetter(letter) => {
                self.metrics.dead_letters.inc();
                self.rt.dead_letters.push(letter);
            }
        }
    }

    /// Closes the mailbox and returns every queued message to its sender.
    fn terminate(&mut self) {
        self.spec.rx.close();
        let err = AskError::Stopped {
            actor: self.spec.name.to_string(),
        };
        for env in self.redeliver.drain(..) {
            env.reject(err.clone());
        }
        while let Ok(env) = self.spec.rx.try_recv() {
            env.reject(err.clone());
        }
        self.spec.status.update(|d| {
            if d.state != ChildState::Failed {
                d.state = ChildState::Stopped;
            }
            d.ready = false;
        });
    }

    fn mark_exit(&self, reason: &ExitReason) {
        let status = &self.spec.status;
        if reason.is_abnormal() {
            status.record_failure(&reason.describe());
        }
        status.update(|d| {
            d.ready = false;
            d.state = if reason.is_abnormal() {
                ChildState::Failed
            } else {
                ChildState::Stopped
            };
        });
    }

    async fn stopping(actor: &mut A, timeout: Duration, name: Arc<str>) {
        let fut = AssertUnwindSafe(actor.stopping()).catch_unwind();
        if let Ok(Err(p)) = tokio::time::timeout(timeout, fut).await {
            tracing::warn!(actor = %name, panic = %panic_message(p.as_ref()), "stopping() panicked");
        }
    }

    async fn answer_probe(actor: &mut A, req: ProbeRequest) -> Result<(), String> {
        let fut = async {
            match req.kind {
                ProbeKind::Liveness => actor.liveness().await,
                ProbeKind::Readiness => actor.readiness().await,
                ProbeKind::Startup => Ok(()),
            }
        };
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(r) => {
                let _ = req.reply.send(r);
                Ok(())
            }
            Err(p) => {
                let m = panic_message(p.as_ref());
                let _ = req.reply.send(Err(format!("probe panicked: {m}")));
                Err(m)
            }
        }
    }

    fn exit_requested(ctx: &mut Context<A>) -> Option<ExitReason> {
        ctx.exit.take().map(|e| match e {
            ExitRequest::Stop => ExitReason::Normal,
            ExitRequest::Fail(r) => ExitReason::Failed(r),
        })
    }

    /// Runs one instance until it exits; returns what the manager must do next.
    async fn run_instance(
        &mut self,
        generation: u64,
        cmd_rx: &mut mpsc::Receiver<Command>,
    ) -> After {
        let status = self.spec.status.clone();
        status.update(|d| {
            d.state = ChildState::Starting;
            d.generation = generation;
            d.ready = false;
            if let Some(p) = d.probes.as_mut() {
                p.liveness = p
                    .liveness
                    .as_ref()
                    .map(|_| ProbeStatus::initial(ProbeKind::Liveness));
                p.readiness = p
                    .readiness
                    .as_ref()
                    .map(|_| ProbeStatus::initial(ProbeKind::Readiness));
                p.startup = p
                    .startup
                    .as_ref()
                    .map(|_| ProbeStatus::initial(ProbeKind::Startup));
            }
        });
        let mut actor = match std::panic::catch_unwind(AssertUnwindSafe(|| (self.spec.factory)())) {
            Ok(a) => a,
            Err(p) => {
                self.metrics.panics.inc();
                return After::Report(ExitReason::Panicked(format!(
                    "factory: {}",
                    panic_message(p.as_ref())
                )));
            }
        };
        let mut ctx = Context::new(self.spec.addr.clone(), self.spec.name.clone(), generation);
        // Probe checks that arrive while the instance is busy wait here (at most one per probe
        // kind is outstanding) and are answered as soon as it is free; a hung instance never
        // answers them, which is how the probe notices.
        let mut deferred: Vec<ProbeRequest> = Vec::with_capacity(3);
        let (started_tx, started_rx) = oneshot::channel();
        let runner = ProbeRunner {
            probes: self.spec.probes,
            status: status.clone(),
            cmd: self.cmd_tx.clone(),
            generation,
            metrics: self.metrics.clone(),
            started: started_rx,
        };
        let _probes = AbortOnDrop(crate::spawn::spawn(runner.run()));

        // The start hook, raced against kill (startup probe) and stop commands.
        let start = {
            let fut = AssertUnwindSafe(actor.started(&mut ctx)).catch_unwind();
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    biased;
                    cmd = cmd_rx.recv() => match classify(cmd, generation) {
                        Cmd::Kill(r) => break Err(After::Report(ExitReason::Killed(r))),
                        Cmd::Stop(ack) => break Err(After::StopAck(ack)),
                        Cmd::Terminate(ack) => break Err(After::Terminate(ack)),
                        Cmd::Probe(req) => defer(&mut deferred, req),
                        Cmd::Ignore => {}
                    },
                    r = &mut fut => break Ok(r),
                }
            }
        };
        match start {
            Err(after) => return after,
            Ok(Err(p)) => {
                self.metrics.panics.inc();
                return After::Report(ExitReason::Panicked(format!(
                    "started(): {}",
                    panic_message(p.as_ref())
                )));
            }
            Ok(Ok(Err(reason))) => {
                return After::Report(ExitReason::Failed(format!("started(): {reason}")));
            }
            Ok(Ok(Ok(()))) => {}
        }
        if let Some(exit) = Self::exit_requested(&mut ctx) {
            return After::Report(exit);
        }
        let _ = started_tx.send(());
        status.set_state(ChildState::Running);

        let keep_copy = matches!(self.spec.on_failure, OnFailure::Redeliver { .. });
        loop {
            // Fast path: whatever is already queued is taken without registering wakers; commands
            // first, then probe checks, then redeliveries, then the mailbox.
            let next = if let Some(req) = deferred.pop() {
                Next::Cmd(Some(Command::Probe(req)))
            } else {
                match cmd_rx.try_recv() {
                    Ok(cmd) => Next::Cmd(Some(cmd)),
                    Err(mpsc::error::TryRecvError::Disconnected) => Next::Cmd(None),
                    Err(mpsc::error::TryRecvError::Empty) => match self.redeliver.pop_front() {
                        Some(env) => Next::Mail(env),
                        None => match self.spec.rx.try_recv() {
                            Ok(env) => {
                                // Cooperative scheduling: taking queued mail without awaiting
                                // spends the task's budget, so a busy actor yields now and then.
                                tokio::task::consume_budget().await;
                                Next::Mail(env)
                            }
                            Err(mpsc::error::TryRecvError::Disconnected) => Next::Closed,
                            Err(mpsc::error::TryRecvError::Empty) => tokio::select! {
                                biased;
                                cmd = cmd_rx.recv() => Next::Cmd(cmd),
                                env = self.spec.rx.recv() => match env {
                                    Some(env) => Next::Mail(env),
                                    None => Next::Closed,
                                },
                            },
                        },
                    },
                }
            };
            let mut env = match next {
                Next::Cmd(cmd) => match classify(cmd, generation) {
                    Cmd::Probe(req) => {
                        if let Err(m) = Self::answer_probe(&mut actor, req).await {
                            self.metrics.panics.inc();
                            return After::Report(ExitReason::Panicked(format!("probe: {m}")));
                        }
                        continue;
                    }
                    Cmd::Kill(r) => return After::Report(ExitReason::Killed(r)),
                    Cmd::Stop(ack) => {
                        Self::stopping(
                            &mut actor,
                            self.spec.shutdown_timeout,
                            self.spec.name.clone(),
                        )
                        .await;
                        return After::StopAck(ack);
                    }
                    Cmd::Terminate(ack) => {
                        Self::stopping(
                            &mut actor,
                            self.spec.shutdown_timeout,
                            self.spec.name.clone(),
                        )
                        .await;
                        return After::Terminate(ack);
                    }
                    Cmd::Ignore => continue,
                },
                Next::Closed => return After::Report(ExitReason::Normal),
                Next::Mail(env) => env,
            };
            let began = std::time::Instant::now();
            let handled = {
                let fut =
                    AssertUnwindSafe(env.handle(&mut actor, &mut ctx, keep_copy)).catch_unwind();
                tokio::pin!(fut);
                // Fast path: most handlers finish at their first poll; no select, no timer.
                let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
                match first {
                    Poll::Ready(r) => Handled::Done(r, None),
                    Poll::Pending => {
                        let mut pending: Option<StopRequest> = None;
                        let mut grace: Option<Pin<Box<tokio::time::Sleep>>> = None;
                        loop {
                            tokio::select! {
                                biased;
                                r = &mut fut => break Handled::Done(r, pending),
                                cmd = cmd_rx.recv(), if pending.is_none() => match classify(cmd, generation) {
                                    Cmd::Kill(r) => break Handled::Kill(r),
                                    Cmd::Probe(req) => defer(&mut deferred, req),
                                    Cmd::Stop(ack) => {
                                        pending = Some(StopRequest::Stop(ack));
                                        grace = Some(Box::pin(tokio::time::sleep(self.spec.shutdown_timeout)));
                                    }
                                    Cmd::Terminate(ack) => {
                                        pending = Some(StopRequest::Terminate(ack));
                                        grace = Some(Box::pin(tokio::time::sleep(self.spec.shutdown_timeout)));
                                    }
                                    Cmd::Ignore => {}
                                },
                                _ = async { match grace.as_mut() { Some(g) => g.await, None => std::future::pending().await } }, if pending.is_some() => {
                                    match pending.take() {
                                        Some(p) => break Handled::StopTimeout(p),
                                        None => continue,
                                    }
                                }
                            }
                        }
                    }
                }
            };
            self.metrics.latency.observe(began.elapsed().as_secs_f64());
            match handled {
                Handled::Done(Ok(()), pending) => {
                    if let Some(p) = pending {
                        Self::stopping(
                            &mut actor,
                            self.spec.shutdown_timeout,
                            self.spec.name.clone(),
                        )
                        .await;
                        return p.after();
                    }
                    if let Some(exit) = Self::exit_requested(&mut ctx) {
                        if !exit.is_abnormal() {
                            Self::stopping(
                                &mut actor,
                                self.spec.shutdown_timeout,
                                self.spec.name.clone(),
                            )
                            .await;
                        }
                        return After::Report(exit);
                    }
                }
                Handled::Done(Err(p), pending) => {
                    let m = panic_message(p.as_ref());
                    self.metrics.panics.inc();
                    tracing::error!(actor = %self.spec.name, generation, panic = %m, "handler panicked");
                    self.dispose(env, &format!("handler panicked: {m}"));
                    return match pending {
                        Some(p) => p.after(),
                        None => After::Report(ExitReason::Panicked(m)),
                    };
                }
                Handled::Kill(r) => {
                    self.dispose(env, &format!("killed: {r}"));
                    return After::Report(ExitReason::Killed(r));
                }
                Handled::StopTimeout(p) => {
                    self.dispose(env, "stopped: shutdown timeout passed while handling");
                    return p.after();
                }
            }
        }
    }
}

impl<A: Actor> ChildDef for ChildSpec<A> {
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
        events: mpsc::Sender<ChildExited>,
        rt: Runtime,
    ) -> mpsc::Sender<Command> {
        let (cmd_tx, mut cmd_rx) = mpsc::channel::<Command>(8);
        let depth_of = self.addr.clone();
        let metrics = rt
            .metrics
            .for_actor(&self.name, Box::new(move || depth_of.mailbox_depth()));
        let mut cell = Cell {
            spec: *self,
            redeliver: VecDeque::new(),
            metrics,
            rt,
            cmd_tx: cmd_tx.clone(),
        };
        crate::spawn::spawn(async move {
            loop {
                let Some(cmd) = cmd_rx.recv().await else {
                    cell.terminate();
                    return;
                };
                match cmd {
                    Command::Start { delay, generation } => {
                        match restart_delay(delay, &mut cmd_rx).await {
                            None => {}
                            Some(StopRequest::Stop(ack)) => {
                                cell.spec.status.set_state(ChildState::Stopped);
                                let _ = ack.send(());
                                continue;
                            }
                            Some(StopRequest::Terminate(ack)) => {
                                cell.terminate();
                                let _ = ack.send(());
                                return;
                            }
                        }
                        let began = Instant::now();
                        match cell.run_instance(generation, &mut cmd_rx).await {
                            After::Report(reason) => {
                                cell.mark_exit(&reason);
                                let _ = events
                                    .send(ChildExited {
                                        index,
                                        generation,
                                        reason,
                                        ran_for: began.elapsed(),
                                    })
                                    .await;
                            }
                            After::StopAck(ack) => {
                                cell.spec.status.update(|d| {
                                    d.state = ChildState::Stopped;
                                    d.ready = false;
                                });
                                let _ = ack.send(());
                            }
                            After::Terminate(ack) => {
                                cell.terminate();
                                let _ = ack.send(());
                                return;
                            }
                        }
                    }
                    Command::Stop { ack } => {
                        let _ = ack.send(());
                    }
                    Command::Terminate { ack } => {
                        cell.terminate();
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
