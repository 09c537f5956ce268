//! Supervision behaviour: panics, strategies, restart intensity, crash-loop backoff, redelivery and
//! dead letters, mailboxes. Deterministic: tokio's paused clock wherever timing matters.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use rampart_supervisors::{
    AskError, ChildSpec, ChildState, MailboxConfig, OnFailure, Probes, RestartBackoff,
    RestartPolicy, Runtime, Strategy, SupervisorSpec,
};

fn runtime() -> (Runtime, prometheus::Registry) {
    let reg = prometheus::Registry::new();
    (Runtime::new(&reg).unwrap(), reg)
}

fn no_probes() -> Probes {
    Probes {
        liveness: None,
        readiness: None,
        startup: None,
    }
}

#[tokio::test(start_paused = true)]
async fn panic_is_caught_caller_gets_error_and_next_message_is_served() {
    quiet_panics();
    let (rt, reg) = runtime();
    let builds = counter();
    let w = ChildSpec::new("w", Worker::factory(builds.clone())).build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root").child(w).start(&rt);

    assert_eq!(addr.ask(Work).await.unwrap(), (1, 1));
    let err = addr.ask(Boom("boom in handler")).await.unwrap_err();
    match &err {
        AskError::Failed { actor, reason } => {
            assert_eq!(actor, "w");
            assert!(reason.contains("boom in handler"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // The next message is served by a fresh instance (state reset, generation 2).
    assert_eq!(addr.ask(Work).await.unwrap(), (1, 2));
    assert_eq!(builds.load(Ordering::SeqCst), 2);

    let snap = root.snapshot();
    let w = snap.find("w").unwrap();
    assert_eq!(w.restarts, 1);
    assert_eq!(w.generation, 2);
    assert_eq!(w.state, ChildState::Running);
    assert!(
        w.last_failure
            .as_ref()
            .unwrap()
            .reason
            .contains("boom in handler")
    );
    assert!(snap.is_live());

    let text = prometheus::TextEncoder::new()
        .encode_to_string(&reg.gather())
        .unwrap();
    assert!(
        text.contains("rampart_actor_restarts_total{actor=\"w\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rampart_actor_panics_total{actor=\"w\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rampart_actor_handler_duration_seconds_count{actor=\"w\"} 3"),
        "{text}"
    );
    root.shutdown().await;
}

struct Tree {
    root: rampart_supervisors::SupervisorHandle,
    addrs: Vec<rampart_supervisors::Addr<Worker>>,
}

fn tree(rt: &Runtime, strategy: Strategy) -> Tree {
    let mut sup = SupervisorSpec::new("root")
        .strategy(strategy)
        .intensity(10, Duration::from_secs(10));
    let mut addrs = Vec::new();
    for name in ["a", "b", "c"] {
        let spec = ChildSpec::new(name, Worker::factory(counter()))
            .probes(no_probes())
            .build();
        addrs.push(spec.addr());
        sup = sup.child(spec);
    }
    Tree {
        root: sup.start(rt),
        addrs,
    }
}

async fn generations(t: &Tree) -> Vec<u64> {
    let mut g = Vec::new();
    for a in &t.addrs {
        g.push(a.ask(Work).await.unwrap().1);
    }
    g
}

#[tokio::test(start_paused = true)]
async fn one_for_one_restarts_only_the_failed_child() {
    quiet_panics();
    let (rt, _) = runtime();
    let t = tree(&rt, Strategy::OneForOne);
    assert_eq!(generations(&t).await, vec![1, 1, 1]);
    assert!(t.addrs[1].ask(Boom("b fails")).await.is_err());
    assert_eq!(generations(&t).await, vec![1, 2, 1]);
    // Siblings kept their state: a has now handled two messages in the same instance.
    assert_eq!(t.addrs[0].ask(Work).await.unwrap(), (3, 1));
    let s = t.root.snapshot();
    assert_eq!(
        s.children.iter().map(|c| c.restarts).collect::<Vec<_>>(),
        vec![0, 1, 0]
    );
    t.root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn one_for_all_restarts_every_child() {
    quiet_panics();
    let (rt, _) = runtime();
    let t = tree(&rt, Strategy::OneForAll);
    assert_eq!(generations(&t).await, vec![1, 1, 1]);
    assert!(t.addrs[1].ask(Boom("b fails")).await.is_err());
    assert_eq!(generations(&t).await, vec![2, 2, 2]);
    let s = t.root.snapshot();
    assert_eq!(
        s.children.iter().map(|c| c.restarts).collect::<Vec<_>>(),
        vec![1, 1, 1]
    );
    t.root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_restarts_the_failed_child_and_later_ones() {
    quiet_panics();
    let (rt, _) = runtime();
    let t = tree(&rt, Strategy::RestForOne);
    assert_eq!(generations(&t).await, vec![1, 1, 1]);
    assert!(t.addrs[1].ask(Boom("b fails")).await.is_err());
    assert_eq!(generations(&t).await, vec![1, 2, 2]);
    t.root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn redelivered_message_succeeds_on_a_later_instance() {
    quiet_panics();
    let (rt, _) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .on_failure(OnFailure::Redeliver { max_deliveries: 3 })
        .probes(no_probes())
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root").child(w).start(&rt);
    // Panics on generations 1 and 2, succeeds on 3: the caller sees only the success.
    assert_eq!(addr.ask(PanicUntil(3)).await.unwrap(), 3);
    assert!(rt.dead_letters().is_empty());
    assert_eq!(root.snapshot().find("w").unwrap().restarts, 2);
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn message_failing_every_delivery_is_dead_lettered() {
    quiet_panics();
    let (rt, _) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .on_failure(OnFailure::Redeliver { max_deliveries: 3 })
        .probes(no_probes())
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root")
        .intensity(10, Duration::from_secs(1))
        .child(w)
        .start(&rt);
    let err = addr.ask(PanicUntil(100)).await.unwrap_err();
    assert!(
        matches!(err, AskError::DeadLettered { deliveries: 3, .. }),
        "{err:?}"
    );
    let letters = rt.dead_letters().list();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].actor, "w");
    assert_eq!(letters[0].deliveries, 3);
    assert!(letters[0].message_type.ends_with("PanicUntil"));
    assert_eq!(letters[0].message.as_deref(), Some("PanicUntil(100)"));
    assert!(letters[0].reason.contains("flaky at generation 3"));
    // The actor is still serving.
    assert_eq!(addr.ask(Work).await.unwrap().1, 4);
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn told_message_that_panics_lands_in_dead_letters() {
    quiet_panics();
    let (rt, _) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(no_probes())
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root").child(w).start(&rt);
    addr.tell(Boom("nobody waits for me")).await.unwrap();
    assert_eq!(addr.ask(Work).await.unwrap().1, 2);
    let letters = rt.dead_letters().list();
    assert_eq!(letters.len(), 1);
    assert!(letters[0].reason.contains("nobody waits for me"));
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn queued_messages_are_handed_to_the_new_instance() {
    quiet_panics();
    let (rt, _) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(no_probes())
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root").child(w).start(&rt);
    let gate = Arc::new(tokio::sync::Notify::new());
    // Hold the actor, queue a panic and five messages behind it, then release.
    addr.tell(Block(gate.clone())).await.unwrap();
    addr.tell(Boom("in the middle")).await.unwrap();
    let mut calls = Vec::new();
    for _ in 0..5 {
        let a = addr.clone();
        calls.push(tokio::spawn(async move { a.ask(Work).await }));
    }
    tokio::task::yield_now().await;
    assert_eq!(addr.mailbox_depth(), 6);
    gate.notify_one();
    let mut seen = Vec::new();
    for c in calls {
        let (n, generation) = c.await.unwrap().unwrap();
        assert_eq!(generation, 2, "served by the restarted instance");
        seen.push(n);
    }
    seen.sort();
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn restart_intensity_exceeded_escalates_and_snapshot_shows_it() {
    quiet_panics();
    let (rt, reg) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(no_probes())
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root")
        .intensity(2, Duration::from_secs(60))
        .child(w)
        .start(&rt);
    for _ in 0..2 {
        assert!(matches!(
            addr.ask(Boom("again")).await,
            Err(AskError::Failed { .. })
        ));
        assert!(root.failure().is_none());
    }
    let _ = addr.ask(Boom("one too many")).await;
    let reason = tokio::time::timeout(Duration::from_secs(1), root.failed())
        .await
        .unwrap();
    assert!(reason.contains("restart intensity exceeded"), "{reason}");
    let snap = root.snapshot();
    assert_eq!(snap.state, ChildState::Failed);
    assert!(!snap.is_live());
    assert!(
        snap.last_failure
            .unwrap()
            .reason
            .contains("restart intensity")
    );
    // The root has no parent: its children are terminated and callers get a clear error.
    assert!(common::eventually(Duration::from_secs(1), || addr.is_stopped()).await);
    assert!(matches!(
        addr.ask(Work).await,
        Err(AskError::Stopped { .. })
    ));
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&reg.gather())
        .unwrap();
    assert!(text.contains("rampart_supervisor_escalations_total{supervisor=\"root\"} 1"));
}

#[tokio::test(start_paused = true)]
async fn nested_supervisor_escalates_to_its_parent_which_restarts_it() {
    quiet_panics();
    let (rt, _) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(no_probes())
        .build();
    let addr = w.addr();
    let inner = SupervisorSpec::new("inner")
        .intensity(1, Duration::from_secs(60))
        .child(w);
    let root = SupervisorSpec::new("root")
        .intensity(5, Duration::from_secs(60))
        .child(inner)
        .start(&rt);
    assert!(addr.ask(Boom("1")).await.is_err());
    assert!(addr.ask(Boom("2")).await.is_err()); // inner exceeds 1 restart: escalates
    // The root restarts `inner`, which starts `w` again; the address still works.
    let (_, generation) = addr.ask(Work).await.unwrap();
    assert_eq!(generation, 3);
    let snap = root.snapshot();
    let inner = snap.find("inner").unwrap();
    assert_eq!(inner.restarts, 1);
    assert_eq!(inner.state, ChildState::Running);
    assert!(
        inner
            .last_failure
            .as_ref()
            .unwrap()
            .reason
            .contains("restart intensity exceeded")
    );
    assert_eq!(snap.find("inner/w").unwrap().restarts, 2);
    assert!(root.failure().is_none());
    assert!(snap.is_live());
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn crash_loop_backoff_grows_and_the_first_restart_is_immediate() {
    quiet_panics();
    let (rt, _) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(no_probes())
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root")
        .intensity(10, Duration::from_secs(600))
        .backoff(RestartBackoff {
            initial: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(3),
            reset_after: Duration::from_secs(60),
        })
        .child(w)
        .start(&rt);
    let mut waits = Vec::new();
    for _ in 0..4 {
        let _ = addr.ask(Boom("loop")).await;
        let t0 = tokio::time::Instant::now();
        addr.ask(Work).await.unwrap();
        waits.push(t0.elapsed().as_millis());
    }
    // 0, then initial * factor^n capped at max.
    assert_eq!(waits, vec![0, 1000, 2000, 3000]);
    // A stable run resets the backoff.
    tokio::time::sleep(Duration::from_secs(61)).await;
    let _ = addr.ask(Boom("after a stable run")).await;
    let t0 = tokio::time::Instant::now();
    addr.ask(Work).await.unwrap();
    assert_eq!(t0.elapsed().as_millis(), 0);
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn temporary_child_is_not_restarted_and_transient_only_after_a_crash() {
    quiet_panics();
    let (rt, _) = runtime();
    let tmp = ChildSpec::new("tmp", Worker::factory(counter()))
        .restart(RestartPolicy::Temporary)
        .probes(no_probes())
        .build();
    let tr = ChildSpec::new("tr", Worker::factory(counter()))
        .restart(RestartPolicy::Transient)
        .probes(no_probes())
        .build();
    let (tmp_addr, tr_addr) = (tmp.addr(), tr.addr());
    let root = SupervisorSpec::new("root").child(tmp).child(tr).start(&rt);
    let _ = tmp_addr.ask(Boom("temporary")).await;
    assert!(common::eventually(Duration::from_secs(1), || tmp_addr.is_stopped()).await);
    assert_eq!(
        root.snapshot().find("tmp").unwrap().state,
        ChildState::Failed
    );

    let _ = tr_addr.ask(Boom("transient crash")).await;
    assert_eq!(
        tr_addr.ask(Work).await.unwrap().1,
        2,
        "restarted after a crash"
    );
    tr_addr.ask(StopNormally).await.unwrap();
    assert!(common::eventually(Duration::from_secs(1), || tr_addr.is_stopped()).await);
    let snap = root.snapshot();
    assert_eq!(snap.find("tr").unwrap().state, ChildState::Stopped);
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn full_mailbox_fails_fast_or_makes_the_sender_wait() {
    let (rt, _) = runtime();
    let fast = ChildSpec::new("fast", Worker::factory(counter()))
        .mailbox(MailboxConfig::bounded(2).fail_fast())
        .probes(no_probes())
        .build();
    let wait = ChildSpec::new("wait", Worker::factory(counter()))
        .mailbox(MailboxConfig::bounded(2))
        .probes(no_probes())
        .build();
    let (fast_addr, wait_addr) = (fast.addr(), wait.addr());
    let root = SupervisorSpec::new("root")
        .child(fast)
        .child(wait)
        .start(&rt);
    let gate = Arc::new(tokio::sync::Notify::new());

    fast_addr.tell(Block(gate.clone())).await.unwrap();
    tokio::task::yield_now().await; // the actor takes the blocking message
    fast_addr.tell(Work).await.unwrap();
    fast_addr.tell(Work).await.unwrap();
    assert!(matches!(
        fast_addr.tell(Work).await,
        Err(AskError::MailboxFull { .. })
    ));
    assert!(matches!(
        fast_addr.ask(Work).await,
        Err(AskError::MailboxFull { .. })
    ));

    let gate2 = Arc::new(tokio::sync::Notify::new());
    wait_addr.tell(Block(gate2.clone())).await.unwrap();
    tokio::task::yield_now().await;
    wait_addr.tell(Work).await.unwrap();
    wait_addr.tell(Work).await.unwrap();
    assert!(matches!(
        wait_addr.try_tell(Work),
        Err(AskError::MailboxFull { .. })
    ));
    let blocked = tokio::spawn({
        let a = wait_addr.clone();
        async move { a.ask(Work).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !blocked.is_finished(),
        "the sender waits while the mailbox is full"
    );
    gate2.notify_one();
    assert_eq!(blocked.await.unwrap().unwrap().0, 3);
    gate.notify_one();
    root.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_returns_queued_messages_to_their_senders() {
    let (rt, _) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(no_probes())
        .shutdown_timeout(Duration::from_millis(100))
        .build();
    let addr = w.addr();
    let root = SupervisorSpec::new("root").child(w).start(&rt);
    let gate = Arc::new(tokio::sync::Notify::new());
    let in_hand = tokio::spawn({
        let a = addr.clone();
        let g = gate.clone();
        async move { a.ask(Block(g)).await }
    });
    tokio::task::yield_now().await;
    let mut queued = Vec::new();
    for _ in 0..3 {
        let a = addr.clone();
        queued.push(tokio::spawn(async move { a.ask(Work).await }));
    }
    tokio::task::yield_now().await;
    root.shutdown().await;
    // The handler in progress outlived the grace period: its caller gets an error, not silence.
    assert!(matches!(
        in_hand.await.unwrap(),
        Err(AskError::Failed { .. })
    ));
    for q in queued {
        assert!(matches!(q.await.unwrap(), Err(AskError::Stopped { .. })));
    }
    assert!(matches!(
        addr.ask(Work).await,
        Err(AskError::Stopped { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn shutdown_does_not_wait_out_a_supervisors_restart_delay() {
    quiet_panics();
    let (rt, _) = runtime();
    let w = ChildSpec::new("w", Worker::factory(counter()))
        .probes(no_probes())
        .build();
    let addr = w.addr();
    // `inner` escalates on any crash; the root restarts it, the second time after 10 s.
    let inner = SupervisorSpec::new("inner")
        .intensity(0, Duration::from_secs(60))
        .child(w);
    let root = SupervisorSpec::new("root")
        .intensity(10, Duration::from_secs(60))
        .backoff(RestartBackoff {
            initial: Duration::from_secs(10),
            ..RestartBackoff::default()
        })
        .child(inner)
        .start(&rt);
    let _ = addr.ask(Boom("first")).await;
    assert_eq!(
        addr.ask(Work).await.unwrap().1,
        2,
        "first restart is immediate"
    );
    let _ = addr.ask(Boom("second")).await;
    assert!(
        eventually(Duration::from_secs(1), || {
            root.snapshot().find("inner").unwrap().state == ChildState::Restarting
        })
        .await
    );
    let t = tokio::time::Instant::now();
    root.shutdown().await;
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    assert!(matches!(
        addr.ask(Work).await,
        Err(AskError::Stopped { .. })
    ));
}

/// Counts its ticks; each takes `work` to handle.
struct Ticked {
    ticks: Arc<std::sync::atomic::AtomicU64>,
    work: Duration,
}
impl rampart_supervisors::Actor for Ticked {}

#[derive(Debug, Clone, Copy)]
struct TickMsg;
impl rampart_supervisors::Message for TickMsg {
    type Reply = ();
}
impl rampart_supervisors::Handler<TickMsg> for Ticked {
    async fn handle(&mut self, _m: TickMsg, _ctx: &mut rampart_supervisors::Context<Self>) {
        tokio::time::sleep(self.work).await;
        self.ticks.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn tell_every_ticks_on_time_skips_ticks_a_full_mailbox_cannot_take_and_ends_with_the_actor() {
    let (rt, _reg) = runtime();
    let ticks = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let fast = ChildSpec::new("fast", {
        let ticks = ticks.clone();
        move || Ticked {
            ticks: ticks.clone(),
            work: Duration::ZERO,
        }
    })
    .probes(no_probes())
    .build();
    let addr = fast.addr();
    let root = SupervisorSpec::new("root").child(fast).start(&rt);
    let timer = addr.tell_every(Duration::from_millis(100), TickMsg);
    // The first at once, then one per 100 ms: 11 in the first 1,050 ms.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(ticks.load(Ordering::SeqCst), 11);
    root.shutdown().await;
    // The actor stopped for good: the timer ends by itself.
    tokio::time::timeout(Duration::from_secs(1), timer)
        .await
        .expect("the timer ended with its actor")
        .unwrap();

    // A slow actor (1 s per tick) behind a mailbox of one: ticks it cannot take are dropped,
    // not queued, so it handles about one per second, not ten.
    let slow_ticks = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let slow = ChildSpec::new("slow", {
        let ticks = slow_ticks.clone();
        move || Ticked {
            ticks: ticks.clone(),
            work: Duration::from_secs(1),
        }
    })
    .mailbox(MailboxConfig::bounded(1))
    .probes(no_probes())
    .build();
    let addr = slow.addr();
    let root = SupervisorSpec::new("root2").child(slow).start(&rt);
    let timer = addr.tell_every(Duration::from_millis(100), TickMsg);
    tokio::time::sleep(Duration::from_millis(5050)).await;
    timer.abort();
    let handled = slow_ticks.load(Ordering::SeqCst);
    assert!((4..=6).contains(&handled), "{handled} ticks handled in 5 s");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        // The one being handled and the one in the mailbox of one, no more.
        slow_ticks.load(Ordering::SeqCst) <= handled + 2,
        "no backlog of queued ticks after the timer stopped"
    );
    root.shutdown().await;
}
