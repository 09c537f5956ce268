//! The RabbitMQ transport against the real broker (RAMPART_TEST_AMQP_URL, default the local one):
//! publish with confirms, consume with manual acks, headers (`traceparent`, correlation id,
//! delivery count), requeue and redelivery, request/reply. Each test uses its own namespace and
//! deletes it.

use std::time::Duration;

use rampart_platform::bus::amqp::{AmqpBus, AmqpConfig, delete_namespace};
use rampart_platform::bus::{Bus, Envelope};
use serde_json::json;

fn url() -> String {
    std::env::var("RAMPART_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

async fn connected(ns: &str) -> (AmqpBus, tokio::task::JoinHandle<()>) {
    let bus = AmqpBus::new(
        AmqpConfig {
            url: url(),
            namespace: ns.to_owned(),
            ..AmqpConfig::default()
        },
        "t",
    );
    let link = tokio::spawn({
        let b = bus.clone();
        async move { b.run_link().await }
    });
    for _ in 0..100 {
        if bus.is_connected() {
            return (bus, link);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("RabbitMQ required at {}", url());
}

#[tokio::test]
async fn events_carry_trace_and_correlation_and_are_redelivered_until_acked() {
    let ns = format!("rampart_t_{}", uuid::Uuid::new_v4().simple());
    let (amqp, link) = connected(&ns).await;
    let bus = Bus::Amqp(amqp.clone());
    let sub = bus.subscribe("risk", &["asset.*"]).unwrap();
    let e = Envelope::new("asset.discovered", "t", &json!({"n": 1})).unwrap();
    let other = Envelope::new("risk.scored", "t", &json!({})).unwrap();
    bus.publish_batch(&[e.clone(), other]).await.unwrap();

    // Only asset.* reaches the risk queue; headers and properties travel.
    let first = sub.next_batch(10).await;
    assert_eq!(first.len(), 1);
    let d = first.into_iter().next().unwrap();
    assert_eq!(d.envelope().unwrap(), &e);
    assert_eq!(d.delivery_count(), 1);
    let rampart_platform::bus::BusDelivery::Amqp(raw) = &d else {
        panic!("amqp delivery")
    };
    assert_eq!(raw.traceparent(), e.traceparent.clone());
    assert_eq!(raw.correlation_id(), Some(e.correlation_id.to_string()));
    assert!(e.traceparent.is_some());
    // Requeued: delivered again, counted by the quorum queue.
    d.nack(true, "try again").await;
    let again = sub.next_batch(10).await.into_iter().next().unwrap();
    assert_eq!(again.envelope().unwrap().event_id, e.event_id);
    assert_eq!(again.delivery_count(), 2);
    again.ack().await;
    let none = tokio::time::timeout(Duration::from_millis(500), sub.next_batch(10)).await;
    assert!(none.is_err(), "acked: not delivered again");

    // Request/reply: a server answers through direct reply-to.
    let server = tokio::spawn({
        let b = amqp.clone();
        async move {
            b.serve("risk", |req| async move {
                let mut v: serde_json::Value = serde_json::from_slice(&req).unwrap();
                v["answered"] = json!(true);
                serde_json::to_vec(&v).unwrap()
            })
            .await;
        }
    });
    let answer = amqp
        .call("risk", br#"{"q": 7}"#, Duration::from_secs(5))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(v, json!({"q": 7, "answered": true}));
    server.abort();
    let _ = server.await;
    // Nobody serving: a timeout error, not a hang.
    let err = amqp
        .call("risk", b"{}", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no answer"), "{err}");

    link.abort();
    delete_namespace(&url(), &ns).await.unwrap();
}
