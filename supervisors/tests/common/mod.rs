//! Test actors shared by the supervision tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rampart_supervisors::{Actor, Context, Handler, Message, ProbeCheck};

/// A worker that counts the messages it handled in this instance.
pub struct Worker {
    pub handled: u64,
    pub builds: Arc<AtomicU64>,
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    pub start_delay: Option<Duration>,
}

impl Worker {
    pub fn factory(builds: Arc<AtomicU64>) -> impl Fn() -> Worker + Send + Sync + 'static {
        move || {
            builds.fetch_add(1, Ordering::SeqCst);
            Worker {
                handled: 0,
                builds: builds.clone(),
                ready: Arc::new(std::sync::atomic::AtomicBool::new(true)),
                start_delay: None,
            }
        }
    }
}

impl Actor for Worker {
    async fn started(&mut self, _ctx: &mut Context<Self>) -> Result<(), String> {
        if let Some(d) = self.start_delay {
            tokio::time::sleep(d).await;
        }
        Ok(())
    }
    async fn readiness(&mut self) -> ProbeCheck {
        if self.ready.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err("not ready".into())
        }
    }
}

/// Adds one to the instance's count and returns (count, generation).
#[derive(Debug, Clone)]
pub struct Work;
impl Message for Work {
    type Reply = (u64, u64);
}
impl Handler<Work> for Worker {
    async fn handle(&mut self, _m: Work, ctx: &mut Context<Self>) -> (u64, u64) {
        self.handled += 1;
        (self.handled, ctx.generation())
    }
}

/// Panics with the given text.
#[derive(Debug, Clone)]
pub struct Boom(pub &'static str);
impl Message for Boom {
    type Reply = ();
}
impl Handler<Boom> for Worker {
    async fn handle(&mut self, m: Boom, _ctx: &mut Context<Self>) {
        panic!("{}", m.0);
    }
}

/// Panics while the instance's generation is below `.0`; redeliverable.
#[derive(Debug, Clone)]
pub struct PanicUntil(pub u64);
impl Message for PanicUntil {
    type Reply = u64;
    fn redeliverable(&self) -> Option<Self> {
        Some(self.clone())
    }
}
impl Handler<PanicUntil> for Worker {
    async fn handle(&mut self, m: PanicUntil, ctx: &mut Context<Self>) -> u64 {
        if ctx.generation() < m.0 {
            panic!("flaky at generation {}", ctx.generation());
        }
        ctx.generation()
    }
}

/// Never returns (an async hang).
#[derive(Debug)]
pub struct Hang;
impl Message for Hang {
    type Reply = ();
}
impl Handler<Hang> for Worker {
    async fn handle(&mut self, _m: Hang, _ctx: &mut Context<Self>) {
        std::future::pending::<()>().await;
    }
}

/// Waits for the notify before returning.
#[derive(Debug)]
pub struct Block(pub Arc<tokio::sync::Notify>);
impl Message for Block {
    type Reply = ();
}
impl Handler<Block> for Worker {
    async fn handle(&mut self, m: Block, _ctx: &mut Context<Self>) {
        m.0.notified().await;
    }
}

/// Sets readiness.
#[derive(Debug)]
pub struct SetReady(pub bool);
impl Message for SetReady {
    type Reply = ();
}
impl Handler<SetReady> for Worker {
    async fn handle(&mut self, m: SetReady, _ctx: &mut Context<Self>) {
        self.ready.store(m.0, Ordering::SeqCst);
    }
}

/// Stops the instance normally.
#[derive(Debug)]
pub struct StopNormally;
impl Message for StopNormally {
    type Reply = ();
}
impl Handler<StopNormally> for Worker {
    async fn handle(&mut self, _m: StopNormally, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

pub fn counter() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(0))
}

/// Silences the default panic hook's output for expected panics.
pub fn quiet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info
            .location()
            .is_some_and(|l| l.file().ends_with("common/mod.rs"))
        {
            return;
        }
        default(info)
    }));
}

/// Waits (in virtual time under a paused clock) until `f` holds, up to `limit`.
pub async fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    f()
}
