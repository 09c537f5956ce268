//! The outbox relay under supervision: events written to the outbox reach the bus in order, and
//! events the bus refuses stay pending and are delivered once it accepts again.

use std::time::Duration;

use rampart_platform::bus::{Envelope, InProcessBus, InProcessBusConfig};
use rampart_platform::migrations::Migrator;
use rampart_platform::relay::{OutboxRelay, RelayConfig};
use rampart_platform::{Db, DbOptions, outbox};
use rampart_supervisors::{ChildSpec, MailboxConfig, ProbeConfig, Probes, Runtime, SupervisorSpec};
use sea_orm::TransactionTrait;
use serde_json::json;

#[tokio::test]
async fn outbox_events_reach_the_bus_in_order_even_after_the_bus_refused_them() {
    let dir = std::env::temp_dir().join(format!("rampart-relay-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/r.sqlite", dir.display());
    let db = Db::connect::<Migrator>(&url, &DbOptions::default())
        .await
        .unwrap();
    // A bus whose only queue holds one event and refuses quickly when full.
    let bus = InProcessBus::new(InProcessBusConfig {
        queue_capacity: 1,
        publish_timeout: Duration::from_millis(20),
        ..InProcessBusConfig::default()
    });
    let sub = bus.subscribe("audit", &["#"]).unwrap();

    let rt = Runtime::new(&prometheus::Registry::new()).unwrap();
    let relay = ChildSpec::new("outbox-relay", {
        let (db, bus) = (db.clone(), bus.clone());
        move || {
            OutboxRelay::new(
                db.clone(),
                rampart_platform::bus::Bus::InProcess(bus.clone()),
                RelayConfig {
                    interval: Duration::from_millis(20),
                    batch: 100,
                },
            )
        }
    })
    .mailbox(MailboxConfig::bounded(2).fail_fast())
    .probes(Probes {
        liveness: None,
        readiness: Some(ProbeConfig {
            period: Duration::from_millis(50),
            ..ProbeConfig::default()
        }),
        startup: None,
    })
    .build();
    let root = SupervisorSpec::new("platform").child(relay).start(&rt);

    let mut sent = Vec::new();
    let tx = db.conn().begin().await.unwrap();
    for i in 0..5 {
        let e = Envelope::new("asset.discovered", "n", &json!({ "i": i })).unwrap();
        outbox::append(&tx, "asset", &e).await.unwrap();
        sent.push(e.event_id);
    }
    tx.commit().await.unwrap();

    // The queue takes one event at a time: the relay's runs fail and leave the rest pending;
    // draining slowly, the consumer still gets all five, in order, once each.
    let mut got = Vec::new();
    while got.len() < 5 {
        let d = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("relay delivers within 5 s")
            .unwrap();
        got.push(d.envelope().event_id);
        d.ack();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(got, sent);
    assert!(outbox::pending(db.conn(), 10).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(bus.queue_depth("audit"), 0, "nothing published twice");

    // Its readiness probe pinged the database.
    let snap = root.snapshot();
    assert!(snap.is_ready(), "{snap:?}");
    root.shutdown().await;
    db.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
