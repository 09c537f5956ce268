//! Restart latency: from a panic inside a handler to the next message served by the restarted
//! instance, p50/p99 over many restarts, against a baseline where the first message does not panic
//! (same two messages, no restart). Goal: p99 under 1 ms.
//!
//! Run: `cargo bench -p rampart-supervisors --bench restart_latency`. The panic hook is silenced so
//! the figures measure the runtime, not stderr.

use std::time::{Duration, Instant};

use rampart_supervisors::{
    Actor, ChildSpec, Context, Handler, Message, Probes, RestartBackoff, Runtime, SupervisorSpec,
};

#[derive(Default)]
struct Worker;
impl Actor for Worker {}

#[derive(Debug)]
struct Step {
    panic: bool,
}
impl Message for Step {
    type Reply = ();
}
impl Handler<Step> for Worker {
    async fn handle(&mut self, msg: Step, _: &mut Context<Self>) {
        if msg.panic {
            panic!("bench panic");
        }
    }
}

#[derive(Debug)]
struct Ping;
impl Message for Ping {
    type Reply = u64;
}
impl Handler<Ping> for Worker {
    async fn handle(&mut self, _: Ping, ctx: &mut Context<Self>) -> u64 {
        ctx.generation()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent: keep that run short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize = if quick { 200 } else { 20_000 };
    std::panic::set_hook(Box::new(|_| {}));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let runtime = Runtime::new(&prometheus::Registry::new()).expect("metrics");
        let spec = ChildSpec::new("w", Worker::default)
            .probes(Probes {
                liveness: None,
                readiness: None,
                startup: None,
            })
            .build();
        let addr = spec.addr();
        let root = SupervisorSpec::new("root")
            .intensity(u32::MAX, Duration::from_secs(1))
            .backoff(RestartBackoff {
                initial: Duration::ZERO,
                ..RestartBackoff::default()
            })
            .child(spec)
            .start(&runtime);
        addr.ask(Ping).await.expect("first start");

        let measure = |panic: bool| {
            let addr = addr.clone();
            async move {
                let mut samples = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = Instant::now();
                    addr.tell(Step { panic }).await.expect("tell");
                    addr.ask(Ping).await.expect("served");
                    samples.push(t.elapsed());
                }
                samples.sort();
                samples
            }
        };
        let base = measure(false).await;
        let restart = measure(true).await;
        let generation = addr.ask(Ping).await.expect("served");
        assert_eq!(
            generation,
            n as u64 + 1,
            "every panic restarted the actor once"
        );
        let row = |name: &str, s: &[Duration]| {
            println!(
                "{name:<26} n={:<6} p50={:>8.1?} p90={:>8.1?} p99={:>8.1?} max={:>8.1?}",
                s.len(),
                percentile(s, 0.50),
                percentile(s, 0.90),
                percentile(s, 0.99),
                s[s.len() - 1]
            );
        };
        println!("restart latency: panic in handler -> next message served (tell + ask)");
        row("baseline (no panic)", &base);
        row("panic + restart", &restart);
        let p99 = percentile(&restart, 0.99);
        println!(
            "restart overhead p50 = {:.1?}, p99 = {:.1?} (goal p99 < 1 ms: {})",
            percentile(&restart, 0.5).saturating_sub(percentile(&base, 0.5)),
            p99.saturating_sub(percentile(&base, 0.99)),
            if p99 < Duration::from_millis(1) {
                "met"
            } else {
                "NOT met"
            }
        );
        root.shutdown().await;
    });
}
