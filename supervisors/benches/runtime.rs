//! Request/reply through a supervised actor against the same actor under raw actix
//! (`Addr::send().await`), both on one actix `System` (current-thread tokio runtime + LocalSet).
//! Goal: supervised throughput at least 0.8 of raw actix.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;

// ---- the same trivial actor, twice ----

struct RawCounter(u64);
impl actix::Actor for RawCounter {
    type Context = actix::Context<Self>;
}
#[derive(actix::Message)]
#[rtype(result = "u64")]
struct RawAdd(u64);
impl actix::Handler<RawAdd> for RawCounter {
    type Result = u64;
    fn handle(&mut self, msg: RawAdd, _: &mut Self::Context) -> u64 {
        self.0 += msg.0;
        self.0
    }
}

#[derive(Default)]
struct Counter(u64);
impl rampart_supervisors::Actor for Counter {}
#[derive(Debug)]
struct Add(u64);
impl rampart_supervisors::Message for Add {
    type Reply = u64;
}
impl rampart_supervisors::Handler<Add> for Counter {
    async fn handle(&mut self, msg: Add, _: &mut rampart_supervisors::Context<Self>) -> u64 {
        self.0 += msg.0;
        self.0
    }
}

fn bench(c: &mut Criterion) {
    let sys = actix_rt::System::new();
    let (raw, sup, _root) = sys.block_on(async {
        use actix::Actor as _;
        let raw = RawCounter(0).start();
        let rt = rampart_supervisors::Runtime::new(&prometheus::Registry::new()).unwrap();
        let spec = rampart_supervisors::ChildSpec::new("counter", Counter::default).build();
        let sup = spec.addr();
        let root = rampart_supervisors::SupervisorSpec::new("root")
            .child(spec)
            .start(&rt);
        // Let the first instance start.
        sup.ask(Add(0)).await.unwrap();
        (raw, sup, root)
    });
    // The floor under any tokio-based actor: a bare task with a bounded mpsc and a oneshot reply.
    let bare = sys.block_on(async {
        let (tx, mut rx) =
            tokio::sync::mpsc::channel::<(u64, tokio::sync::oneshot::Sender<u64>)>(1024);
        tokio::spawn(async move {
            let mut n = 0;
            while let Some((add, reply)) = rx.recv().await {
                n += add;
                let _ = reply.send(n);
            }
        });
        tx
    });
    let bare_ask = |add: u64| {
        let bare = bare.clone();
        async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            bare.send((add, tx)).await.unwrap();
            rx.await.unwrap()
        }
    };

    let mut g = c.benchmark_group("ask_round_trip");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_actix", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(raw.send(RawAdd(1)).await.unwrap());
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("bare_tokio_task", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(bare_ask(1).await);
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("supervised", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(sup.ask(Add(1)).await.unwrap());
                }
                t.elapsed()
            })
        })
    });
    g.finish();

    // 64 requests in flight at once (pipelined through the mailbox).
    const BATCH: u64 = 64;
    let mut g = c.benchmark_group("ask_64_in_flight");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("raw_actix", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    let replies = join_all((0..BATCH).map(|_| raw.send(RawAdd(1)))).await;
                    std::hint::black_box(replies);
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("bare_tokio_task", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    let replies = join_all((0..BATCH).map(|_| bare_ask(1))).await;
                    std::hint::black_box(replies);
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("supervised", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    let replies = join_all((0..BATCH).map(|_| sup.ask(Add(1)))).await;
                    std::hint::black_box(replies);
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
