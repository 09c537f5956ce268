//! The event bus contract: envelope, trace context, topic routing, per-service queues with
//! competing consumers, settlement (ack, requeue, dead-letter), backpressure, deduplication.

use std::time::Duration;

use rampart_platform::bus::{
    BusError, Deduplicator, Envelope, InProcessBus, InProcessBusConfig, SCHEMA_VERSION,
    TopicPattern, TraceParent,
};
use serde_json::json;

#[test]
fn topic_patterns_follow_rabbitmq_semantics() {
    // The examples of RabbitMQ's topic tutorial.
    let cases = [
        ("*.orange.*", "quick.orange.rabbit", true),
        ("*.orange.*", "lazy.orange.elephant", true),
        ("*.*.rabbit", "quick.orange.rabbit", true),
        ("lazy.#", "lazy.orange.elephant", true),
        ("lazy.#", "lazy.brown.fox", true),
        ("lazy.#", "lazy.pink.rabbit", true),
        ("lazy.#", "lazy", true),
        ("*.orange.*", "quick.brown.fox", false),
        ("*.orange.*", "orange", false),
        ("*.orange.*", "quick.orange.new.rabbit", false),
        ("*.*.rabbit", "quick.orange.new.rabbit", false),
        ("lazy.#", "quick.lazy", false),
        ("#", "asset.discovered", true),
        ("asset.*", "asset.discovered", true),
        ("asset.*", "asset", false),
        ("#.scored", "risk.scored", true),
        ("a.#.b", "a.b", true),
        ("a.#.b", "a.x.y.b", true),
        ("a.#.b", "a.x.y.c", false),
    ];
    for (pattern, key, expected) in cases {
        let p = TopicPattern::parse(pattern).unwrap();
        assert_eq!(p.matches(key), expected, "{pattern} vs {key}");
    }
    for bad in ["", "Asset.*", "a..b", "a.*x", "a b"] {
        assert!(TopicPattern::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn envelope_carries_the_contract_fields() {
    let e = Envelope::new("asset.discovered", "node-a", &json!({"asset": "web-1"})).unwrap();
    assert_eq!(e.event_id.get_version_num(), 7);
    assert_eq!(e.schema_version, SCHEMA_VERSION);
    assert_eq!(e.source_node, "node-a");
    let tp: TraceParent = e.traceparent.as_deref().unwrap().parse().unwrap();
    assert_eq!(tp.flags, 1);
    let text = serde_json::to_string(&e).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // RFC 3339 time, JSON round trip.
    assert!(
        chrono::DateTime::parse_from_rfc3339(v["occurred_at"].as_str().unwrap()).is_ok(),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<Envelope>(&text).unwrap(), e);
    #[derive(serde::Deserialize)]
    struct Body {
        asset: String,
    }
    assert_eq!(e.body_as::<Body>().unwrap().asset, "web-1");
    assert!(matches!(e.body_as::<u32>(), Err(BusError::Body(_))));

    // Two events in sequence: v7 ids are time-ordered.
    let later = Envelope::new("asset.changed", "node-a", &json!({})).unwrap();
    assert!(later.event_id > e.event_id);

    // Caused-by: same correlation id, same trace, new span.
    let effect = Envelope::new("risk.scored", "node-b", &json!({}))
        .unwrap()
        .caused_by(&e);
    assert_eq!(effect.correlation_id, e.correlation_id);
    let child: TraceParent = effect.traceparent.as_deref().unwrap().parse().unwrap();
    assert_eq!(child.trace_id, tp.trace_id);
    assert_ne!(child.parent_id, tp.parent_id);

    let long = "a".repeat(256);
    for bad in [
        "",
        "Asset.discovered",
        "asset..x",
        "asset discovered",
        long.as_str(),
    ] {
        assert!(matches!(
            Envelope::new(bad, "n", &json!({})),
            Err(BusError::InvalidEventType(_))
        ));
    }
}

#[test]
fn traceparent_parses_w3c_and_rejects_malformed_values() {
    let s = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let tp: TraceParent = s.parse().unwrap();
    assert_eq!(tp.to_string(), s);
    for bad in [
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "garbage",
    ] {
        assert!(bad.parse::<TraceParent>().is_err(), "{bad} accepted");
    }
}

#[tokio::test]
async fn one_copy_per_subscribed_service_and_competing_consumers_within_one() {
    let bus = InProcessBus::new(InProcessBusConfig::default());
    let risk_a = bus.subscribe("risk", &["asset.*"]).unwrap();
    let risk_b = bus.subscribe("risk", &["asset.*"]).unwrap();
    let audit = bus.subscribe("audit", &["#"]).unwrap();
    let _incidents = bus.subscribe("incident", &["risk.scored"]).unwrap();

    for i in 0..10 {
        let e = Envelope::new("asset.discovered", "n", &json!({ "i": i })).unwrap();
        assert_eq!(
            bus.publish(e).await.unwrap(),
            2,
            "risk and audit, not incident"
        );
    }
    // Two consumers of `risk` share its 10 events: each event reaches exactly one of them.
    let mut seen = Vec::new();
    for _ in 0..5 {
        for sub in [&risk_a, &risk_b] {
            let d = sub.next().await.unwrap();
            seen.push(d.envelope().body["i"].as_u64().unwrap());
            d.ack();
        }
    }
    seen.sort();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    assert_eq!(bus.queue_depth("risk"), 0);
    assert_eq!(bus.queue_depth("audit"), 10);
    assert_eq!(bus.queue_depth("incident"), 0);
    for _ in 0..10 {
        audit.next().await.unwrap().ack();
    }
}

#[tokio::test]
async fn failed_events_are_redelivered_then_dead_lettered_and_dropped_ones_requeued() {
    let bus = InProcessBus::new(InProcessBusConfig {
        max_deliveries: 3,
        ..InProcessBusConfig::default()
    });
    let sub = bus.subscribe("risk", &["asset.#"]).unwrap();
    let e = Envelope::new("asset.discovered", "n", &json!({"poison": true})).unwrap();
    let id = e.event_id;
    bus.publish(e).await.unwrap();
    for expected in 1..=3 {
        let d = sub.next().await.unwrap();
        assert_eq!(d.delivery_count(), expected);
        assert_eq!(d.envelope().event_id, id);
        d.nack(true, "handler failed: bad component");
    }
    let dead = bus.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].envelope.event_id, id);
    assert_eq!(dead[0].deliveries, 3);
    assert_eq!(dead[0].service, "risk");
    assert!(dead[0].error.contains("bad component"));
    assert_eq!(bus.queue_depth("risk"), 0);

    // A consumer that crashes (drops the delivery unsettled) does not lose the event.
    let e = Envelope::new("asset.changed", "n", &json!({})).unwrap();
    let id = e.event_id;
    bus.publish(e).await.unwrap();
    drop(sub.next().await.unwrap());
    let again = sub.next().await.unwrap();
    assert_eq!(again.envelope().event_id, id);
    assert_eq!(again.delivery_count(), 2);
    again.ack();
    assert_eq!(bus.dead_letters().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_makes_publishers_wait_then_fail() {
    let bus = InProcessBus::new(InProcessBusConfig {
        queue_capacity: 2,
        publish_timeout: Duration::from_secs(1),
        ..InProcessBusConfig::default()
    });
    let sub = bus.subscribe("slow", &["#"]).unwrap();
    for _ in 0..2 {
        bus.publish(Envelope::new("x.y", "n", &json!({})).unwrap())
            .await
            .unwrap();
    }
    let t = tokio::time::Instant::now();
    let err = bus
        .publish(Envelope::new("x.y", "n", &json!({})).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, BusError::QueueFull { ref service, waited_ms: 1000 } if service == "slow"),
        "{err:?}"
    );
    assert_eq!(t.elapsed(), Duration::from_secs(1));
    // Room again: a waiting publisher gets through.
    let publisher = tokio::spawn({
        let bus = bus.clone();
        async move {
            bus.publish(Envelope::new("x.y", "n", &json!({})).unwrap())
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!publisher.is_finished());
    sub.next().await.unwrap().ack();
    assert_eq!(publisher.await.unwrap().unwrap(), 1);
}

#[test]
fn deduplicator_lets_each_event_through_once() {
    let d = Deduplicator::new(10_000, Duration::from_secs(3600));
    let e = Envelope::new("asset.discovered", "n", &json!({})).unwrap();
    assert!(d.first_time(e.event_id));
    assert!(!d.first_time(e.event_id));
    assert!(!d.first_time(e.event_id));
    d.forget(&e.event_id);
    assert!(
        d.first_time(e.event_id),
        "forgotten after a failed handler: runs again"
    );
    let other = Envelope::new("asset.discovered", "n", &json!({})).unwrap();
    assert!(d.first_time(other.event_id));

    // Concurrent offers of the same id: exactly one wins.
    let id = Envelope::new("a.b", "n", &json!({})).unwrap().event_id;
    let winners: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| d.first_time(id))).collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum()
    });
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn queue_stats_count_the_events_waiting_in_each_services_queue() {
    let bus = InProcessBus::new(InProcessBusConfig {
        queue_capacity: 8,
        ..InProcessBusConfig::default()
    });
    let risk = bus.subscribe("risk", &["asset.*"]).unwrap();
    let _audit = bus.subscribe("audit", &["#"]).unwrap();
    for _ in 0..3 {
        bus.publish(Envelope::new("asset.discovered", "n", &json!({})).unwrap())
            .await
            .unwrap();
    }
    bus.publish(Envelope::new("risk.scored", "n", &json!({})).unwrap())
        .await
        .unwrap();
    let stats = |bus: &InProcessBus, name: &str| {
        bus.queue_stats()
            .into_iter()
            .find(|q| q.name == name)
            .unwrap()
    };
    let r = stats(&bus, "risk");
    assert_eq!(
        (r.messages, r.capacity, r.kind.as_str()),
        (3, Some(8), "events")
    );
    assert_eq!(r.consumers, None);
    assert_eq!(stats(&bus, "audit").messages, 4);
    risk.next().await.unwrap().ack();
    assert_eq!(
        stats(&bus, "risk").messages,
        2,
        "a delivered event left the queue"
    );
}
