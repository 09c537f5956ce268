//! RabbitMQ throughput and request/reply latency, against bare lapin in the same run.
//!
//! - **bare lapin**: one connection publishes N persistent messages to a durable quorum queue
//!   on a confirm-mode channel, in batches of B (publish B, then await the B confirms); another
//!   connection consumes with prefetch P and acks each message. Events/s = N / (first publish to
//!   last ack).
//! - **Rampart**: the same N events as [`Envelope`]s through two [`AmqpBus`] instances ("two
//!   nodes", one connection each): `publish_batch` (B per batch, confirms awaited), the
//!   service's quorum queue, `AmqpSubscription::next_batch` (prefetch P) decoding each envelope,
//!   ack each. Same persistence, confirms, batch and prefetch.
//! - **request/reply**: R sequential calls through `AmqpBus::call` (direct reply-to) to a
//!   server on the other bus answering at once; p50 and p99.
//!
//! Run: `cargo bench -p rampart-platform --bench bus` (RabbitMQ at RAMPART_TEST_AMQP_URL or the
//! local default). N = 20 000, B = 500, P = 64, R = 2 000 (`--quick`: N = 5 000, R = 500).

use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rampart_platform::bus::amqp::{AmqpBus, AmqpConfig, delete_namespace};
use rampart_platform::bus::{Bus, Envelope};

const BATCH: usize = 500;
const PREFETCH: u16 = 64;

fn url() -> String {
    std::env::var("RAMPART_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

fn events(n: usize) -> Vec<Envelope> {
    (0..n)
        .map(|i| {
            Envelope::new(
                "asset.discovered",
                "bench",
                &serde_json::json!({"asset": {"key": format!("host-{i}"), "components": []}}),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

async fn bare_lapin(n: usize, payloads: &[Vec<u8>]) -> f64 {
    let q = format!("bench.bare.{}", uuid::Uuid::new_v4().simple());
    let pub_conn = Connection::connect(&url(), ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ at {}: {e}", url()));
    let con_conn = Connection::connect(&url(), ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pch = pub_conn
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from(b"quorum".to_vec())),
    );
    pch.queue_declare(
        q.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        args,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    pch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cch = con_conn
        .create_channel()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    cch.basic_qos(PREFETCH, BasicQosOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut consumer = cch
        .basic_consume(
            q.as_str().into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let consume = tokio::spawn(async move {
        let mut got = 0;
        while got < n {
            let Some(Ok(d)) = consumer.next().await else {
                break;
            };
            let _: serde_json::Value = serde_json::from_slice(&d.data).unwrap_or_default();
            d.ack(BasicAckOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            got += 1;
        }
        got
    });
    for chunk in payloads.chunks(BATCH) {
        let mut confirms = Vec::with_capacity(chunk.len());
        for p in chunk {
            confirms.push(
                pch.basic_publish(
                    "".into(),
                    q.as_str().into(),
                    BasicPublishOptions::default(),
                    p,
                    BasicProperties::default().with_delivery_mode(2),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            );
        }
        for c in confirms {
            c.await.unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let got = consume.await.unwrap_or(0);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(got, n);
    let _ = pch
        .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
        .await;
    n as f64 / secs
}

async fn connected(ns: &str, node: &str) -> (AmqpBus, tokio::task::JoinHandle<()>) {
    let bus = AmqpBus::new(
        AmqpConfig {
            url: url(),
            namespace: ns.to_owned(),
            prefetch: PREFETCH,
            ..AmqpConfig::default()
        },
        node,
    );
    let link = tokio::spawn({
        let b = bus.clone();
        async move { b.run_link().await }
    });
    while !bus.is_connected() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (bus, link)
}

async fn rampart(n: usize, evs: &[Envelope], ns: &str) -> f64 {
    let (a, la) = connected(ns, "bench-a").await;
    let (b, lb) = connected(ns, "bench-b").await;
    let sub = Bus::Amqp(b.clone())
        .subscribe("risk", &["asset.*"])
        .unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let consume = tokio::spawn(async move {
        let mut got = 0;
        while got < n {
            for d in sub.next_batch(PREFETCH as usize).await {
                if d.envelope().is_ok() {
                    got += 1;
                }
                d.ack().await;
            }
        }
        got
    });
    let bus = Bus::Amqp(a.clone());
    for chunk in evs.chunks(BATCH) {
        bus.publish_batch(chunk)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let got = consume.await.unwrap_or(0);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(got, n);
    la.abort();
    lb.abort();
    n as f64 / secs
}

async fn rpc(r: usize, ns: &str) -> (Duration, Duration) {
    let (a, la) = connected(ns, "rpc-a").await;
    let (b, lb) = connected(ns, "rpc-b").await;
    let server = tokio::spawn(async move { b.serve("risk", |req| async move { req }).await });
    // Warm up (the reply consumer is opened on the first call).
    for _ in 0..20 {
        let _ = a.call("risk", b"{}", Duration::from_secs(5)).await;
    }
    let mut lat = Vec::with_capacity(r);
    for _ in 0..r {
        let t = Instant::now();
        a.call("risk", br#"{"asset_key":"k"}"#, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        lat.push(t.elapsed());
    }
    lat.sort();
    server.abort();
    la.abort();
    lb.abort();
    (lat[r / 2], lat[(r * 99 / 100).min(r - 1)])
}

fn main() {
    let quick =
        std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let (n, r) = if quick { (5_000, 500) } else { (20_000, 2_000) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let evs = events(n);
        let payloads: Vec<Vec<u8>> = evs
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap_or_default())
            .collect();
        let ns = format!("bench_{}", uuid::Uuid::new_v4().simple());
        println!("N = {n} persistent messages, publisher confirms per batch of {BATCH}, prefetch {PREFETCH}");
        // Alternate to spread the machine's noise over both.
        let mut bare = Vec::new();
        let mut ours = Vec::new();
        for _ in 0..3 {
            bare.push(bare_lapin(n, &payloads).await);
            ours.push(rampart(n, &evs, &ns).await);
        }
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (b, o) = (med(&mut bare), med(&mut ours));
        println!("bare lapin publisher/consumer: {b:>9.0} events/s (median of 3)");
        println!("Rampart bus, two nodes:        {o:>9.0} events/s (median of 3)  ratio {:.2}", o / b);
        let (p50, p99) = rpc(r, &ns).await;
        println!(
            "request/reply over RabbitMQ (direct reply-to), {r} calls: p50 {:.0} us, p99 {:.0} us",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
        let _ = delete_namespace(&url(), &ns).await;
    });
}
