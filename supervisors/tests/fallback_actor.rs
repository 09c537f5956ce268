//! The seed's scenario across the layers: a caller asks a supervised service actor for a score
//! through a resilience policy with a cached fallback. While the service does not answer, the
//! caller keeps getting the last good score marked stale (the breaker opens and stops sending it
//! traffic); once the service answers again and the breaker lets a trial call through, scores are
//! fresh again. Deterministic: paused tokio clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rampart_supervisors::resilience::{
    CallError, CircuitBreakerConfig, CircuitState, FallbackConfig, Freshness, PolicyConfig,
    ResilienceMetrics, ResiliencePolicy, RetryConfig, TimeLimiterConfig,
};
use rampart_supervisors::{
    Actor, Addr, AskError, ChildSpec, Context, Handler, Message, Probes, Runtime, SupervisorSpec,
};

struct Scores {
    down: Arc<AtomicBool>,
}
impl Actor for Scores {}

#[derive(Debug)]
struct GetScore(&'static str);
impl Message for GetScore {
    type Reply = u32;
}
impl Handler<GetScore> for Scores {
    async fn handle(&mut self, msg: GetScore, _ctx: &mut Context<Self>) -> u32 {
        // An unresponsive service: answers only once it is up again.
        while self.down.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        msg.0.len() as u32 * 10
    }
}

async fn score(
    policy: &ResiliencePolicy<AskError, String, u32>,
    addr: &Addr<Scores>,
    asset: &'static str,
) -> Result<rampart_supervisors::resilience::Served<u32>, CallError<AskError>> {
    policy
        .call_with_fallback(asset.to_owned(), || addr.ask(GetScore(asset)))
        .await
}

#[tokio::test(start_paused = true)]
async fn caller_serves_stale_scores_while_the_service_is_down_and_fresh_ones_after() {
    let registry = prometheus::Registry::new();
    let rt = Runtime::new(&registry).unwrap();
    let down = Arc::new(AtomicBool::new(false));
    let spec = ChildSpec::new("scores", {
        let down = down.clone();
        move || Scores { down: down.clone() }
    })
    .probes(Probes {
        liveness: None,
        readiness: None,
        startup: None,
    })
    .build();
    let addr = spec.addr();
    let root = SupervisorSpec::new("root").child(spec).start(&rt);

    let metrics = ResilienceMetrics::new(&registry).unwrap();
    let config = PolicyConfig {
        retry: RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        },
        circuit_breaker: CircuitBreakerConfig {
            minimum_number_of_calls: 2,
            sliding_window_size: 4,
            wait_duration_in_open_state_ms: 1000,
            permitted_number_of_calls_in_half_open_state: 1,
            ..CircuitBreakerConfig::default()
        },
        time_limiter: TimeLimiterConfig {
            timeout_duration_ms: 100,
        },
        fallback: Some(FallbackConfig::default()),
        ..PolicyConfig::default()
    };
    let policy: ResiliencePolicy<AskError, String, u32> =
        ResiliencePolicy::builder("scores", config)
            .metrics(&metrics)
            .build()
            .unwrap();

    let fresh = score(&policy, &addr, "web-1").await.unwrap();
    assert_eq!(fresh.value, 50);
    assert_eq!(fresh.freshness, Freshness::Fresh);
    // The service stops answering.
    down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(250)).await;

    let stale = score(&policy, &addr, "web-1").await.unwrap();
    assert_eq!(stale.value, 50);
    match stale.freshness {
        Freshness::Stale { age, .. } => assert!(age >= Duration::from_millis(250), "{age:?}"),
        Freshness::Fresh => panic!("expected a stale value"),
    }
    let stale = score(&policy, &addr, "web-1").await.unwrap();
    assert!(stale.is_stale());
    assert_eq!(policy.circuit_breaker().state(), CircuitState::Open);
    // Open: rejected at once, still served from the cache; an uncached key gets the error.
    let t = tokio::time::Instant::now();
    assert!(score(&policy, &addr, "web-1").await.unwrap().is_stale());
    assert_eq!(
        t.elapsed(),
        Duration::ZERO,
        "an open breaker does not wait for the callee"
    );
    assert!(matches!(
        score(&policy, &addr, "db-2").await,
        Err(CallError::CallNotPermitted(_))
    ));

    // The service recovers; after the open-state wait a trial call goes through and closes it.
    down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = score(&policy, &addr, "web-1").await.unwrap();
    assert_eq!(fresh.freshness, Freshness::Fresh);
    assert_eq!(policy.circuit_breaker().state(), CircuitState::Closed);
    assert_eq!(score(&policy, &addr, "db-2").await.unwrap().value, 40);

    let text = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    for (from, to) in [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ] {
        let line = format!(
            "rampart_circuit_breaker_transitions_total{{breaker=\"scores\",from=\"{from}\",to=\"{to}\"}} 1"
        );
        assert!(text.contains(&line), "missing {line}\n{text}");
    }
    root.shutdown().await;
}
