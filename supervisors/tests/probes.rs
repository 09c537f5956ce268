//! Probes: a hung handler is restarted like a crashed one, within Kubernetes' bound; readiness takes
//! an actor out of traffic without restarting it; a startup probe bounds a slow start.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use rampart_supervisors::{
    AskError, ChildSpec, ChildState, ProbeConfig, Probes, Runtime, SupervisorSpec,
};
use tokio::time::Instant;

fn runtime() -> (Runtime, prometheus::Registry) {
    let reg = prometheus::Registry::new();
    (Runtime::new(&reg).unwrap(), reg)
}

#[tokio::test(start_paused = true)]
async fn hung_handler_is_restarted_within_the_liveness_bound() {
    let (rt, reg) = runtime();
    let live = ProbeConfig {
        initial_delay: Duration::from_secs(2),
        period: Duration::from_secs(1),
        timeout: Duration::from_millis(500),
        failure_threshold: 3,
        success_threshold: 1,
    };
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(Probes {
            liveness: Some(live),
            readiness: None,
            startup: None,
        })
        .build();
    let addr = w.addr();
    let t0 = Instant::now();
    let root = SupervisorSpec::new("root").child(w).start(&rt);
    let hung = tokio::spawn({
        let a = addr.clone();
        async move { a.ask(Hang).await }
    });
    let err = hung.await.unwrap().unwrap_err();
    let killed_after = t0.elapsed();
    match &err {
        AskError::Failed { reason, .. } => {
            assert!(reason.contains("liveness probe failed 3 times"), "{reason}")
        }
        other => panic!("unexpected {other:?}"),
    }
    // Kubernetes: the third failed check ends at initial_delay + period * (threshold - 1) + timeout,
    // and the bound is initial_delay + period * threshold + timeout.
    let lower = live.initial_delay + live.period * (live.failure_threshold - 1) + live.timeout;
    let upper = live.initial_delay + live.period * live.failure_threshold + live.timeout;
    assert!(
        killed_after >= lower && killed_after <= upper + Duration::from_millis(10),
        "killed after {killed_after:?}, expected within [{lower:?}, {upper:?}]"
    );
    // Restarted exactly as a crash: the next message is served by generation 2.
    assert_eq!(addr.ask(Work).await.unwrap().1, 2);
    let snap = root.snapshot();
    let w = snap.find("w").unwrap();
    assert_eq!(w.restarts, 1);
    assert!(
        w.last_failure
            .as_ref()
            .unwrap()
            .reason
            .contains("killed: liveness probe")
    );
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&reg.gather())
        .unwrap();
    assert!(
        text.contains("rampart_actor_probe_failures_total{actor=\"w\",probe=\"liveness\"} 3"),
        "{text}"
    );
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn busy_but_answering_actor_is_not_killed() {
    let (rt, _) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(Probes {
            liveness: Some(ProbeConfig {
                period: Duration::from_secs(1),
                timeout: Duration::from_millis(500),
                ..ProbeConfig::default()
            }),
            readiness: None,
            startup: None,
        })
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root").child(w).start(&rt);
    // One minute of steady traffic, each message quick: probes pass between messages.
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end {
        assert_eq!(addr.ask(Work).await.unwrap().1, 1);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let snap = root.snapshot();
    let w = snap.find("w").unwrap();
    assert_eq!(w.restarts, 0);
    let live = w.probes.as_ref().unwrap().liveness.as_ref().unwrap();
    assert_eq!(live.failures, 0);
    assert_eq!(live.last_ok, Some(true));
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failing_readiness_takes_the_actor_out_of_traffic_without_restart() {
    let (rt, _) = runtime();
    let ready_cfg = ProbeConfig {
        period: Duration::from_secs(1),
        timeout: Duration::from_millis(200),
        failure_threshold: 2,
        success_threshold: 2,
        ..ProbeConfig::default()
    };
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(Probes {
            liveness: None,
            readiness: Some(ready_cfg),
            startup: None,
        })
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root").child(w).start(&rt);
    assert!(eventually(Duration::from_secs(2), || root.snapshot().is_ready()).await);
    assert!(root.snapshot().is_started());

    addr.ask(SetReady(false)).await.unwrap();
    assert!(eventually(Duration::from_secs(5), || !root.snapshot().is_ready()).await);
    let snap = root.snapshot();
    let w = snap.find("w").unwrap();
    assert_eq!(w.state, ChildState::Running);
    assert_eq!(w.restarts, 0);
    assert!(snap.is_live());
    let r = w.probes.as_ref().unwrap().readiness.as_ref().unwrap();
    assert!(!r.passing);
    assert_eq!(r.last_error.as_deref(), Some("not ready"));

    addr.ask(SetReady(true)).await.unwrap();
    let back = Instant::now();
    assert!(eventually(Duration::from_secs(5), || root.snapshot().is_ready()).await);
    // success_threshold 2: at least one period passes before it is ready again.
    assert!(back.elapsed() >= Duration::from_secs(1));
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn startup_probe_kills_an_instance_that_starts_too_slowly() {
    let (rt, reg) = runtime();
    let builds = counter();
    let factory = {
        let builds = builds.clone();
        let f = Worker::factory(builds.clone());
        move || {
            let mut w = f();
            // Only the first instance starts slowly.
            if builds.load(Ordering::SeqCst) == 1 {
                w.start_delay = Some(Duration::from_secs(3600));
            }
            w
        }
    };
    let w = ChildSpec::new("w", factory)
        .probes(Probes {
            liveness: Some(ProbeConfig::default()),
            readiness: None,
            startup: Some(ProbeConfig {
                period: Duration::from_secs(1),
                timeout: Duration::from_millis(100),
                failure_threshold: 5,
                ..ProbeConfig::default()
            }),
        })
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root")
        .intensity(10, Duration::from_secs(60))
        .child(w)
        .start(&rt);
    assert!(!root.snapshot().is_started());
    // Killed after 5 failed checks (about 4.1 s), then restarted: let the next instance be quick.
    assert!(
        eventually(Duration::from_secs(6), || root
            .snapshot()
            .find("w")
            .unwrap()
            .restarts
            == 1)
        .await
    );
    assert_eq!(addr.ask(Work).await.unwrap().1, 2);
    assert!(eventually(Duration::from_secs(2), || root.snapshot().is_started()).await);
    let snap = root.snapshot();
    let reason = &snap
        .find("w")
        .unwrap()
        .last_failure
        .as_ref()
        .unwrap()
        .reason;
    assert!(reason.contains("startup probe failed 5 times"), "{reason}");
    assert!(snap.is_ready(), "no readiness probe: ready once started");
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&reg.gather())
        .unwrap();
    assert!(
        text.contains("rampart_actor_probe_failures_total{actor=\"w\",probe=\"startup\"} 5"),
        "{text}"
    );
    root.shutdown().await;
}
