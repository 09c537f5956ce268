//! Behaviour of the resilience layers: every circuit-breaker transition, retry, fallback,
//! bulkhead, time limiter and their composition. Time-dependent tests run on tokio's paused clock.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use prometheus::{Encoder, Registry, TextEncoder};
use rampart_supervisors::resilience::{
    BreakerError, Bulkhead, BulkheadConfig, CachedFallback, CallError, CircuitBreaker,
    CircuitBreakerConfig, CircuitState, FallbackConfig, Freshness, PolicyConfig, RecordPredicate,
    ResilienceMetrics, ResiliencePolicy, Retry, RetryConfig, SlidingWindowType, TimeLimiter,
    TimeLimiterConfig, Transient,
};
use tokio::time::{Instant, advance, sleep};

const MS: Duration = Duration::from_millis(1);

/// A downstream error with an HTTP-like status.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Http(u16);

impl fmt::Display for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status {}", self.0)
    }
}

impl std::error::Error for Http {}

impl Transient for Http {
    fn is_transient(&self) -> bool {
        self.0 >= 500
    }
}

/// window 10 calls, minimum 5, 50 % failure rate, slow > 100 ms at 50 %, open for 1 s,
/// 3 half-open calls.
fn small() -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        sliding_window_size: 10,
        minimum_number_of_calls: 5,
        failure_rate_threshold: 50.0,
        slow_call_rate_threshold: 50.0,
        slow_call_duration_threshold_ms: 100,
        wait_duration_in_open_state_ms: 1_000,
        permitted_number_of_calls_in_half_open_state: 3,
        ..CircuitBreakerConfig::default()
    }
}

fn succeed(b: &CircuitBreaker, n: usize) {
    for _ in 0..n {
        b.try_acquire_permission().unwrap().record_success(MS);
    }
}

fn fail(b: &CircuitBreaker, n: usize) {
    for _ in 0..n {
        b.try_acquire_permission().unwrap().record_failure(MS);
    }
}

fn opened(config: CircuitBreakerConfig) -> CircuitBreaker {
    let b = CircuitBreaker::new("b", config).unwrap();
    b.transition_to_open();
    assert_eq!(b.state(), CircuitState::Open);
    b
}

fn registry_text(registry: &Registry) -> String {
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut buf)
        .unwrap();
    String::from_utf8(buf).unwrap()
}

// ---------------------------------------------------------------- circuit breaker: config

#[test]
fn config_defaults_are_resilience4j_defaults() {
    let c = CircuitBreakerConfig::default();
    assert_eq!(c.failure_rate_threshold, 50.0);
    assert_eq!(c.slow_call_rate_threshold, 100.0);
    assert_eq!(c.slow_call_duration_threshold(), Duration::from_secs(60));
    assert_eq!(c.sliding_window_type, SlidingWindowType::CountBased);
    assert_eq!(c.sliding_window_size, 100);
    assert_eq!(c.minimum_number_of_calls, 100);
    assert_eq!(c.wait_duration_in_open_state(), Duration::from_secs(60));
    assert_eq!(c.permitted_number_of_calls_in_half_open_state, 10);
    assert_eq!(c.max_wait_duration_in_half_open_state(), None);
    assert!(!c.automatic_transition_from_open_to_half_open_enabled);
    assert_eq!(RetryConfig::default().max_attempts, 3);
    assert_eq!(RetryConfig::default().initial_interval_ms, 500);
    assert_eq!(RetryConfig::default().multiplier, 1.5);
    assert_eq!(BulkheadConfig::default().max_concurrent_calls, 25);
    assert_eq!(BulkheadConfig::default().max_wait_duration_ms, 0);
    assert_eq!(TimeLimiterConfig::default().timeout_duration_ms, 1_000);
}

#[test]
fn config_deserializes_with_defaults_and_rejects_bad_values() {
    let c: CircuitBreakerConfig = serde_json::from_str(
        r#"{"sliding_window_type": "time_based", "wait_duration_in_open_state_ms": 5000}"#,
    )
    .unwrap();
    assert_eq!(c.sliding_window_type, SlidingWindowType::TimeBased);
    assert_eq!(c.wait_duration_in_open_state(), Duration::from_secs(5));
    assert_eq!(c.failure_rate_threshold, 50.0);
    assert!(serde_json::from_str::<CircuitBreakerConfig>(r#"{"failure_rate": 1}"#).is_err());

    let bad = CircuitBreakerConfig {
        failure_rate_threshold: 0.0,
        ..Default::default()
    };
    let err = CircuitBreaker::new("b", bad).unwrap_err();
    assert_eq!(err.field, "failure_rate_threshold");
    let bad = CircuitBreakerConfig {
        permitted_number_of_calls_in_half_open_state: 0,
        ..Default::default()
    };
    assert!(CircuitBreaker::new("b", bad).is_err());

    let p: PolicyConfig = serde_json::from_str(
        r#"{"retry": {"max_attempts": 5}, "fallback": {"time_to_live_ms": 1000}}"#,
    )
    .unwrap();
    assert_eq!(p.retry.max_attempts, 5);
    assert_eq!(p.retry.initial_interval_ms, 500);
    assert_eq!(p.fallback.unwrap().max_capacity, 10_000);
    assert_eq!(p.bulkhead, BulkheadConfig::default());

    assert_eq!(
        serde_json::to_string(&CircuitState::HalfOpen).unwrap(),
        "\"half_open\""
    );
    assert_eq!(
        serde_json::from_str::<CircuitState>("\"closed\"").unwrap(),
        CircuitState::Closed
    );
}

// ---------------------------------------------------------------- circuit breaker: closed

#[test]
fn closed_to_open_on_failure_rate() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    succeed(&b, 2);
    fail(&b, 2);
    assert_eq!(b.state(), CircuitState::Closed, "4 calls < minimum 5");
    fail(&b, 1);
    assert_eq!(b.state(), CircuitState::Open, "3/5 = 60 % >= 50 %");
    let m = b.metrics();
    assert_eq!(m.failure_rate, Some(60.0));
    assert_eq!(m.buffered_calls, 5);
    assert_eq!(m.failed_calls, 3);
}

#[test]
fn closed_stays_closed_below_failure_threshold() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    succeed(&b, 6);
    fail(&b, 4);
    assert_eq!(b.metrics().failure_rate, Some(40.0));
    assert_eq!(b.state(), CircuitState::Closed);
}

#[test]
fn closed_to_open_on_slow_call_rate() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    // Exactly the threshold is not slow (Resilience4j: duration > threshold).
    for _ in 0..5 {
        b.try_acquire_permission()
            .unwrap()
            .record_success(Duration::from_millis(100));
    }
    assert_eq!(b.metrics().slow_calls, 0);
    assert_eq!(b.state(), CircuitState::Closed);
    for _ in 0..5 {
        b.try_acquire_permission()
            .unwrap()
            .record_success(Duration::from_millis(101));
    }
    // 5 slow of 10 = 50 % >= 50 %, with no failures at all.
    assert_eq!(b.state(), CircuitState::Open);
    let m = b.metrics();
    assert_eq!(m.slow_call_rate, Some(50.0));
    assert_eq!(m.failed_calls, 0);
}

#[test]
fn below_minimum_number_of_calls_stays_closed() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    fail(&b, 4);
    assert_eq!(
        b.state(),
        CircuitState::Closed,
        "100 % failures, but 4 < 5 calls"
    );
    assert_eq!(b.metrics().failure_rate, None);
    assert_eq!(b.metrics().buffered_calls, 4);
}

#[test]
fn count_window_minimum_is_capped_by_window_size() {
    // Resilience4j: min(minimum_number_of_calls, sliding_window_size) for count-based windows.
    let b = CircuitBreaker::new(
        "b",
        CircuitBreakerConfig {
            sliding_window_size: 3,
            minimum_number_of_calls: 100,
            ..Default::default()
        },
    )
    .unwrap();
    fail(&b, 2);
    assert_eq!(b.state(), CircuitState::Closed);
    fail(&b, 1);
    assert_eq!(b.state(), CircuitState::Open);
}

#[test]
fn count_window_evicts_oldest_calls() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    succeed(&b, 6);
    fail(&b, 4);
    assert_eq!(b.metrics().failed_calls, 4);
    succeed(&b, 10);
    let m = b.metrics();
    assert_eq!(m.buffered_calls, 10);
    assert_eq!(m.failed_calls, 0, "the 4 failures were evicted");
    assert_eq!(b.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn time_based_window_forgets_old_calls() {
    let config = CircuitBreakerConfig {
        sliding_window_type: SlidingWindowType::TimeBased,
        sliding_window_size: 10,
        ..small()
    };
    let b = CircuitBreaker::new("b", config).unwrap();
    fail(&b, 4);
    assert_eq!(b.metrics().buffered_calls, 4);
    advance(Duration::from_secs(11)).await;
    assert_eq!(
        b.metrics().buffered_calls,
        0,
        "calls older than 10 s are gone"
    );
    fail(&b, 1);
    assert_eq!(
        b.state(),
        CircuitState::Closed,
        "1 call in the window < minimum 5"
    );

    // Within the window they add up.
    advance(Duration::from_secs(5)).await;
    fail(&b, 3);
    assert_eq!(b.metrics().buffered_calls, 4);
    fail(&b, 1);
    assert_eq!(b.state(), CircuitState::Open);
}

#[test]
fn record_predicate_decides_what_counts() {
    // 5xx are failures, 4xx count as successes, 429 is ignored entirely.
    let predicate = RecordPredicate::<Http>::all_failures()
        .failure_when(|e| e.0 >= 500)
        .ignore_when(|e| e.0 == 429);
    let b = CircuitBreaker::new("b", small()).unwrap();
    for code in [404, 404, 404, 404, 404, 404] {
        let r = b.try_acquire_permission().unwrap();
        r.record_result::<(), _>(&Err(Http(code)), &predicate);
    }
    assert_eq!(b.state(), CircuitState::Closed);
    let m = b.metrics();
    assert_eq!((m.buffered_calls, m.failed_calls), (6, 0));
    for _ in 0..10 {
        let r = b.try_acquire_permission().unwrap();
        r.record_result::<(), _>(&Err(Http(429)), &predicate);
    }
    assert_eq!(
        b.metrics().buffered_calls,
        6,
        "ignored errors are not buffered"
    );
    assert_eq!(b.state(), CircuitState::Closed);
    for _ in 0..4 {
        let r = b.try_acquire_permission().unwrap();
        r.record_result::<(), _>(&Err(Http(503)), &predicate);
    }
    assert_eq!(b.state(), CircuitState::Closed, "4 of 10 are 5xx");
    let r = b.try_acquire_permission().unwrap();
    r.record_result::<(), _>(&Err(Http(503)), &predicate);
    assert_eq!(b.state(), CircuitState::Open, "5 of the last 10 are 5xx");
}

#[tokio::test]
async fn call_records_errors_and_does_not_run_when_open() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    for _ in 0..5 {
        let r: Result<(), _> = b.call(|| async { Err(Http(500)) }).await;
        assert!(matches!(r, Err(BreakerError::Inner(Http(500)))));
    }
    assert_eq!(b.state(), CircuitState::Open);
    let ran = AtomicU32::new(0);
    let r: Result<(), BreakerError<Http>> = b
        .call(|| async {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await;
    assert!(matches!(r, Err(BreakerError::NotPermitted(_))));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------- circuit breaker: open

#[test]
fn open_rejects_calls_and_counts_them() {
    let b = opened(small());
    for _ in 0..3 {
        let err = b.try_acquire_permission().unwrap_err();
        assert_eq!(err.state, CircuitState::Open);
        assert_eq!(&*err.breaker, "b");
    }
    assert_eq!(b.metrics().not_permitted_calls, 3);
    b.reset();
    assert_eq!(b.state(), CircuitState::Closed);
    assert_eq!(b.metrics().not_permitted_calls, 0);
    assert!(b.try_acquire_permission().is_ok());
}

#[tokio::test(start_paused = true)]
async fn open_to_half_open_after_wait_duration_on_next_call() {
    let b = opened(small());
    advance(Duration::from_millis(999)).await;
    assert!(b.try_acquire_permission().is_err(), "999 ms < 1 s wait");
    advance(MS).await;
    // Without automatic transition the state only changes on a call attempt.
    assert_eq!(b.state(), CircuitState::Open);
    let permit = b
        .try_acquire_permission()
        .expect("wait elapsed: a trial permit");
    assert_eq!(permit.granted_in(), CircuitState::HalfOpen);
    assert_eq!(b.state(), CircuitState::HalfOpen);
}

#[tokio::test(start_paused = true)]
async fn open_to_half_open_automatically_when_enabled() {
    let b = CircuitBreaker::new(
        "b",
        CircuitBreakerConfig {
            automatic_transition_from_open_to_half_open_enabled: true,
            ..small()
        },
    )
    .unwrap();
    let mut events = b.subscribe();
    let t0 = Instant::now();
    b.transition_to_open();
    let to_open = events.recv().await.unwrap();
    assert_eq!(
        (to_open.from, to_open.to),
        (CircuitState::Closed, CircuitState::Open)
    );
    // Nobody calls the breaker: the timer moves it.
    let to_half = events.recv().await.unwrap();
    assert_eq!(
        (to_half.from, to_half.to),
        (CircuitState::Open, CircuitState::HalfOpen)
    );
    assert_eq!(to_half.at - t0, Duration::from_secs(1));
    assert_eq!(b.state(), CircuitState::HalfOpen);
}

// ---------------------------------------------------------------- circuit breaker: half-open

#[test]
fn half_open_to_closed_when_trial_calls_succeed() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    b.transition_to_half_open();
    succeed(&b, 2);
    assert_eq!(b.state(), CircuitState::HalfOpen, "2 of 3 trial calls");
    b.try_acquire_permission().unwrap().record_failure(MS);
    // 1 of 3 failed = 33 % < 50 %.
    assert_eq!(b.state(), CircuitState::Closed);
    assert_eq!(
        b.metrics().buffered_calls,
        0,
        "closed starts with a fresh window"
    );
}

#[test]
fn half_open_to_open_when_trial_calls_fail() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    b.transition_to_half_open();
    fail(&b, 2);
    assert_eq!(b.state(), CircuitState::HalfOpen);
    succeed(&b, 1);
    // 2 of 3 = 67 % >= 50 %.
    assert_eq!(b.state(), CircuitState::Open);
    assert!(b.try_acquire_permission().is_err());
}

#[test]
fn half_open_rejects_beyond_permitted_calls_and_cancelled_permits_give_slots_back() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    b.transition_to_half_open();
    let p1 = b.try_acquire_permission().unwrap();
    let p2 = b.try_acquire_permission().unwrap();
    let p3 = b.try_acquire_permission().unwrap();
    let err = b.try_acquire_permission().unwrap_err();
    assert_eq!(err.state, CircuitState::HalfOpen);
    assert_eq!(b.metrics().not_permitted_calls, 1);
    drop(p3); // cancelled call
    let p4 = b
        .try_acquire_permission()
        .expect("the cancelled slot is free again");
    assert!(b.try_acquire_permission().is_err());
    p1.record_success(MS);
    p2.record_success(MS);
    assert_eq!(b.state(), CircuitState::HalfOpen);
    p4.record_success(MS);
    assert_eq!(b.state(), CircuitState::Closed);
}

#[tokio::test(start_paused = true)]
async fn half_open_reopens_after_max_wait_duration() {
    let b = CircuitBreaker::new(
        "b",
        CircuitBreakerConfig {
            max_wait_duration_in_half_open_state_ms: 500,
            ..small()
        },
    )
    .unwrap();
    b.transition_to_half_open();
    let _stuck = b.try_acquire_permission().unwrap();
    advance(Duration::from_millis(499)).await;
    assert_eq!(b.state(), CircuitState::HalfOpen);
    advance(MS).await;
    assert_eq!(b.state(), CircuitState::Open);
}

#[test]
fn outcomes_from_an_earlier_state_are_ignored() {
    let b = CircuitBreaker::new("b", small()).unwrap();
    let late: Vec<_> = (0..5)
        .map(|_| b.try_acquire_permission().unwrap())
        .collect();
    b.transition_to_half_open();
    for p in late {
        p.record_failure(MS);
    }
    assert_eq!(
        b.state(),
        CircuitState::HalfOpen,
        "stale failures moved nothing"
    );
    assert_eq!(b.metrics().buffered_calls, 0);
    assert_eq!(b.metrics().not_permitted_calls, 0);
}

// ---------------------------------------------------------------- circuit breaker: observability

#[test]
fn transitions_are_logged_broadcast_and_exported() {
    let registry = Registry::new();
    let metrics = ResilienceMetrics::new(&registry).unwrap();
    let b = CircuitBreaker::builder("payments", small())
        .metrics(&metrics)
        .build()
        .unwrap();
    let mut rx = b.subscribe();
    fail(&b, 5);
    assert!(b.try_acquire_permission().is_err());

    let event = rx.try_recv().unwrap();
    assert_eq!(
        (event.from, event.to),
        (CircuitState::Closed, CircuitState::Open)
    );
    assert_eq!(&*event.breaker, "payments");
    let log = b.recent_transitions();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].to, CircuitState::Open);

    let text = registry_text(&registry);
    assert!(text.contains(
        r#"rampart_circuit_breaker_transitions_total{breaker="payments",from="closed",to="open"} 1"#
    ), "{text}");
    assert!(text.contains(r#"rampart_circuit_breaker_state{breaker="payments"} 1"#));
    assert!(text.contains(
        r#"rampart_circuit_breaker_calls_total{breaker="payments",outcome="failure"} 5"#
    ));
    assert!(text.contains(
        r#"rampart_circuit_breaker_calls_total{breaker="payments",outcome="not_permitted"} 1"#
    ));

    b.transition_to_half_open();
    succeed(&b, 3);
    let text = registry_text(&registry);
    assert!(text.contains(
        r#"rampart_circuit_breaker_transitions_total{breaker="payments",from="half_open",to="closed"} 1"#
    ));
    assert!(text.contains(r#"rampart_circuit_breaker_state{breaker="payments"} 0"#));
    assert!(
        ResilienceMetrics::new(&registry).is_err(),
        "registering twice in one registry fails"
    );
}

// ---------------------------------------------------------------- retry

fn retry(config: RetryConfig) -> Retry {
    Retry::new("r", config, None).unwrap()
}

#[tokio::test(start_paused = true)]
async fn retry_retries_transient_errors_with_growing_delays() {
    let r = retry(RetryConfig::default());
    assert_eq!(
        r.delays().collect::<Vec<_>>(),
        [Duration::from_millis(500), Duration::from_millis(750)]
    );
    let t0 = Instant::now();
    let at = std::sync::Mutex::new(Vec::new());
    let result: Result<(), Http> = r
        .call_transient(|| {
            at.lock().unwrap().push(t0.elapsed());
            async { Err(Http(503)) }
        })
        .await;
    assert_eq!(result, Err(Http(503)), "gives up with the last error");
    assert_eq!(
        *at.lock().unwrap(),
        [
            Duration::ZERO,
            Duration::from_millis(500),
            Duration::from_millis(1250)
        ],
        "3 attempts (max_attempts counts the first), delays 500 ms then 750 ms"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_returns_the_first_success() {
    let r = retry(RetryConfig {
        max_attempts: 5,
        ..Default::default()
    });
    let n = AtomicU32::new(0);
    let result = r
        .call_transient(|| async {
            if n.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(Http(502))
            } else {
                Ok("ok")
            }
        })
        .await;
    assert_eq!(result, Ok("ok"));
    assert_eq!(n.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_does_not_retry_non_transient_errors() {
    let r = retry(RetryConfig::default());
    let n = AtomicU32::new(0);
    let t0 = Instant::now();
    let result: Result<(), Http> = r
        .call_transient(|| async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(Http(400))
        })
        .await;
    assert_eq!(result, Err(Http(400)));
    assert_eq!(n.load(Ordering::SeqCst), 1);
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn retry_does_not_retry_a_call_rejected_by_an_open_breaker() {
    let b = opened(small());
    let r = retry(RetryConfig::default());
    let n = AtomicU32::new(0);
    let t0 = Instant::now();
    let result: Result<(), BreakerError<Http>> = r
        .call_transient(|| {
            n.fetch_add(1, Ordering::SeqCst);
            b.call(|| async { Err(Http(503)) })
        })
        .await;
    assert!(matches!(result, Err(BreakerError::NotPermitted(_))));
    assert_eq!(n.load(Ordering::SeqCst), 1, "one attempt, no retry");
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn retry_stops_before_max_elapsed_time() {
    let r = retry(RetryConfig {
        max_attempts: 10,
        initial_interval_ms: 500,
        multiplier: 2.0,
        max_elapsed_time_ms: Some(2_000),
        ..Default::default()
    });
    let n = AtomicU32::new(0);
    let t0 = Instant::now();
    let result: Result<(), Http> = r
        .call_transient(|| async {
            n.fetch_add(1, Ordering::SeqCst);
            Err(Http(503))
        })
        .await;
    assert!(result.is_err());
    // Attempts at 0, 500, 1500 ms; the next delay (2 s) would end at 3.5 s > 2 s.
    assert_eq!(n.load(Ordering::SeqCst), 3);
    assert_eq!(t0.elapsed(), Duration::from_millis(1_500));
}

#[tokio::test(start_paused = true)]
async fn retry_jitter_adds_up_to_the_delay() {
    let r = retry(RetryConfig {
        max_attempts: 2,
        initial_interval_ms: 1_000,
        jitter: true,
        ..Default::default()
    });
    let t0 = Instant::now();
    let _: Result<(), Http> = r.call_transient(|| async { Err(Http(503)) }).await;
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(1_000) && waited < Duration::from_millis(2_001));
}

// ---------------------------------------------------------------- fallback

#[tokio::test(start_paused = true)]
async fn fallback_serves_stale_value_while_down_then_fresh_again() {
    let registry = Registry::new();
    let metrics = ResilienceMetrics::new(&registry).unwrap();
    let fb: CachedFallback<&'static str, u32> =
        CachedFallback::new("scores", &FallbackConfig::default(), Some(&metrics)).unwrap();

    let none: Result<_, Http> = fb.call("bob", async { Err(Http(503)) }).await;
    assert_eq!(none, Err(Http(503)), "nothing cached: the original error");

    let fresh = fb.call("alice", async { Ok::<_, Http>(7) }).await.unwrap();
    assert_eq!(fresh.value, 7);
    assert_eq!(fresh.freshness, Freshness::Fresh);

    advance(Duration::from_millis(1_500)).await;
    let stale = fb.call("alice", async { Err(Http(503)) }).await.unwrap();
    assert_eq!(stale.value, 7);
    assert!(stale.is_stale());
    assert_eq!(stale.age(), Some(Duration::from_millis(1_500)));

    let json = serde_json::to_value(&stale).unwrap();
    assert_eq!(json["value"], 7);
    assert_eq!(json["freshness"], "stale");
    assert_eq!(json["age_ms"], 1_500);
    assert!(json["stored_at"].is_string());
    assert_eq!(
        serde_json::to_value(&fresh).unwrap(),
        serde_json::json!({"value": 7, "freshness": "fresh"})
    );

    let recovered = fb.call("alice", async { Ok::<_, Http>(8) }).await.unwrap();
    assert_eq!((recovered.value, recovered.is_stale()), (8, false));
    let stale = fb.call("alice", async { Err(Http(503)) }).await.unwrap();
    assert_eq!((stale.value, stale.age()), (8, Some(Duration::ZERO)));

    let text = registry_text(&registry);
    assert!(
        text.contains(r#"rampart_fallback_served_total{freshness="fresh",policy="scores"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"rampart_fallback_served_total{freshness="stale",policy="scores"} 2"#));
}

#[tokio::test(start_paused = true)]
async fn fallback_does_not_serve_values_older_than_time_to_live() {
    let fb: CachedFallback<u8, u8> = CachedFallback::new(
        "f",
        &FallbackConfig {
            time_to_live_ms: 1_000,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    fb.call(1, async { Ok::<_, Http>(1) }).await.unwrap();
    advance(Duration::from_millis(1_001)).await;
    let r = fb.call(1, async { Err(Http(503)) }).await;
    assert_eq!(r, Err(Http(503)));
}

// ---------------------------------------------------------------- bulkhead and time limiter

#[tokio::test(start_paused = true)]
async fn bulkhead_rejects_when_full() {
    let registry = Registry::new();
    let metrics = ResilienceMetrics::new(&registry).unwrap();
    let bh = Bulkhead::new(
        "db",
        &BulkheadConfig {
            max_concurrent_calls: 1,
            max_wait_duration_ms: 0,
        },
        Some(&metrics),
    )
    .unwrap();
    let (release, hold) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn({
        let bh = bh.clone();
        async move { bh.call(hold).await }
    });
    tokio::task::yield_now().await;
    assert_eq!(bh.available_permits(), 0);
    let err = bh.call(async {}).await.unwrap_err();
    assert_eq!(err.max_concurrent_calls, 1);
    release.send(()).unwrap();
    holder.await.unwrap().unwrap().unwrap();
    assert!(bh.call(async { 1 }).await.is_ok(), "slot freed");
    assert!(registry_text(&registry).contains(r#"rampart_bulkhead_rejected_total{policy="db"} 1"#));
}

#[tokio::test(start_paused = true)]
async fn bulkhead_waits_up_to_max_wait_duration() {
    let bh = Bulkhead::new(
        "db",
        &BulkheadConfig {
            max_concurrent_calls: 1,
            max_wait_duration_ms: 100,
        },
        None,
    )
    .unwrap();
    let busy = tokio::spawn({
        let bh = bh.clone();
        async move { bh.call(sleep(Duration::from_millis(50))).await }
    });
    tokio::task::yield_now().await;
    let t0 = Instant::now();
    assert!(
        bh.call(async {}).await.is_ok(),
        "slot freed after 50 ms < 100 ms"
    );
    assert_eq!(t0.elapsed(), Duration::from_millis(50));
    busy.await.unwrap().unwrap();

    let busy = tokio::spawn({
        let bh = bh.clone();
        async move { bh.call(sleep(Duration::from_secs(1))).await }
    });
    tokio::task::yield_now().await;
    let t0 = Instant::now();
    assert!(bh.call(async {}).await.is_err());
    assert_eq!(t0.elapsed(), Duration::from_millis(100));
    busy.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn time_limiter_cancels_slow_calls() {
    let tl = TimeLimiter::new("t", &TimeLimiterConfig::default(), None).unwrap();
    assert_eq!(tl.call(async { 5 }).await, Ok(5));
    let t0 = Instant::now();
    let err = tl.call(sleep(Duration::from_secs(2))).await.unwrap_err();
    assert_eq!(err.after, Duration::from_secs(1));
    assert_eq!(t0.elapsed(), Duration::from_secs(1));
}

// ---------------------------------------------------------------- policy

fn policy_config() -> PolicyConfig {
    PolicyConfig {
        retry: RetryConfig {
            max_attempts: 3,
            initial_interval_ms: 250,
            multiplier: 2.0,
            ..Default::default()
        },
        circuit_breaker: CircuitBreakerConfig {
            sliding_window_size: 4,
            minimum_number_of_calls: 4,
            ..small()
        },
        time_limiter: TimeLimiterConfig {
            timeout_duration_ms: 200,
        },
        bulkhead: BulkheadConfig {
            max_concurrent_calls: 2,
            max_wait_duration_ms: 0,
        },
        fallback: Some(FallbackConfig::default()),
    }
}

#[tokio::test(start_paused = true)]
async fn policy_composes_retry_breaker_time_limiter_bulkhead_and_fallback() {
    let registry = Registry::new();
    let metrics = ResilienceMetrics::new(&registry).unwrap();
    let policy: ResiliencePolicy<Http, &'static str, u32> =
        ResiliencePolicy::builder("geo", policy_config())
            .metrics(&metrics)
            .retry_transient()
            .build()
            .unwrap();

    // Healthy: fresh, cached.
    let served = policy
        .call_with_fallback("k", || async { Ok(1) })
        .await
        .unwrap();
    assert_eq!((served.value, served.is_stale()), (1, false));

    // The callee hangs: every attempt times out after 200 ms and counts as a failure; retries
    // wait 250 ms then 500 ms.
    let attempts = AtomicU32::new(0);
    let t0 = Instant::now();
    let served = policy
        .call_with_fallback("k", || {
            attempts.fetch_add(1, Ordering::SeqCst);
            async {
                sleep(Duration::from_secs(10)).await;
                Ok(2)
            }
        })
        .await
        .unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(t0.elapsed(), Duration::from_millis(3 * 200 + 250 + 500));
    assert!(served.is_stale(), "served from the cache");
    assert_eq!(served.value, 1);
    assert_eq!(served.age(), Some(Duration::from_millis(1_350)));
    // 1 success + 3 timeouts = 75 % >= 50 % over the minimum of 4 calls.
    assert_eq!(policy.circuit_breaker().state(), CircuitState::Open);

    // Open: rejected at once, not retried, the callee is not called.
    let attempts = AtomicU32::new(0);
    let t0 = Instant::now();
    let r: Result<u32, CallError<Http>> = policy
        .call(|| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Ok(3) }
        })
        .await;
    assert!(matches!(r, Err(CallError::CallNotPermitted(_))));
    assert!(r.unwrap_err().is_call_not_permitted());
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        0,
        "the breaker rejects before the call"
    );
    assert_eq!(t0.elapsed(), Duration::ZERO);

    // Nothing cached for another key: the error.
    let r = policy.call_with_fallback("other", || async { Ok(4) }).await;
    assert!(matches!(r, Err(CallError::CallNotPermitted(_))));

    // After the wait the trial calls succeed and the breaker closes; values are fresh again.
    advance(Duration::from_secs(1)).await;
    for _ in 0..3 {
        let served = policy
            .call_with_fallback("k", || async { Ok(5) })
            .await
            .unwrap();
        assert_eq!((served.value, served.is_stale()), (5, false));
    }
    assert_eq!(policy.circuit_breaker().state(), CircuitState::Closed);

    let text = registry_text(&registry);
    for line in [
        r#"rampart_timeouts_total{policy="geo"} 3"#,
        r#"rampart_retry_attempts_total{policy="geo"} 2"#,
        r#"rampart_circuit_breaker_transitions_total{breaker="geo",from="closed",to="open"} 1"#,
        r#"rampart_circuit_breaker_transitions_total{breaker="geo",from="open",to="half_open"} 1"#,
        r#"rampart_circuit_breaker_transitions_total{breaker="geo",from="half_open",to="closed"} 1"#,
        r#"rampart_fallback_served_total{freshness="stale",policy="geo"} 1"#,
        r#"rampart_circuit_breaker_calls_total{breaker="geo",outcome="not_permitted"} 2"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
}

#[tokio::test(start_paused = true)]
async fn policy_retries_only_transient_inner_errors_and_records_per_predicate() {
    let policy: ResiliencePolicy<Http> = ResiliencePolicy::builder("p", policy_config())
        .retry_transient()
        .record(RecordPredicate::all_failures().failure_when(|e: &Http| e.0 >= 500))
        .build()
        .unwrap();
    let n = AtomicU32::new(0);
    let r: Result<(), _> = policy
        .call(|| {
            n.fetch_add(1, Ordering::SeqCst);
            async { Err(Http(404)) }
        })
        .await;
    assert!(matches!(r, Err(CallError::Inner(Http(404)))));
    assert_eq!(n.load(Ordering::SeqCst), 1, "404 is not transient");
    let m = policy.circuit_breaker().metrics();
    assert_eq!(
        (m.buffered_calls, m.failed_calls),
        (1, 0),
        "404 recorded as success"
    );

    let n = AtomicU32::new(0);
    let r: Result<(), _> = policy
        .call(|| {
            n.fetch_add(1, Ordering::SeqCst);
            async { Err(Http(503)) }
        })
        .await;
    assert!(matches!(r, Err(CallError::Inner(Http(503)))));
    assert_eq!(
        n.load(Ordering::SeqCst),
        3,
        "503 is retried up to max_attempts"
    );
    // 1 success + 3 failures = 75 %: open.
    assert_eq!(policy.circuit_breaker().state(), CircuitState::Open);
}

#[tokio::test(start_paused = true)]
async fn policy_bulkhead_full_is_not_recorded_by_the_breaker() {
    let config = PolicyConfig {
        retry: RetryConfig {
            max_attempts: 1,
            ..Default::default()
        },
        bulkhead: BulkheadConfig {
            max_concurrent_calls: 1,
            max_wait_duration_ms: 0,
        },
        time_limiter: TimeLimiterConfig {
            timeout_duration_ms: 60_000,
        },
        ..policy_config()
    };
    let policy: ResiliencePolicy<Http> = ResiliencePolicy::builder("p", config).build().unwrap();
    let (release, hold) = tokio::sync::oneshot::channel::<()>();
    let hold = Arc::new(tokio::sync::Mutex::new(Some(hold)));
    let busy = tokio::spawn({
        let policy = policy.clone();
        let hold = hold.clone();
        async move {
            policy
                .call(|| {
                    let hold = hold.clone();
                    async move {
                        let rx = hold.lock().await.take();
                        if let Some(rx) = rx {
                            let _ = rx.await;
                        }
                        Ok::<_, Http>(())
                    }
                })
                .await
        }
    });
    tokio::task::yield_now().await;
    for _ in 0..10 {
        let r: Result<(), _> = policy.call(|| async { Ok(()) }).await;
        assert!(matches!(r, Err(CallError::BulkheadFull(_))));
        assert!(r.unwrap_err().is_transient_by(|_| false));
    }
    assert_eq!(policy.circuit_breaker().metrics().buffered_calls, 0);
    assert_eq!(policy.circuit_breaker().state(), CircuitState::Closed);
    release.send(()).unwrap();
    busy.await.unwrap().unwrap();
    assert_eq!(policy.circuit_breaker().metrics().buffered_calls, 1);
}

#[tokio::test(start_paused = true)]
async fn policy_without_fallback_serves_fresh_or_errors() {
    let policy: ResiliencePolicy<Http, u8, u8> = ResiliencePolicy::builder(
        "p",
        PolicyConfig {
            fallback: None,
            ..policy_config()
        },
    )
    .build()
    .unwrap();
    assert!(policy.fallback().is_none());
    let ok = policy
        .call_with_fallback(1, || async { Ok(9) })
        .await
        .unwrap();
    assert_eq!((ok.value, ok.is_stale()), (9, false));
    let err = policy
        .call_with_fallback(1, || async { Err(Http(400)) })
        .await;
    assert!(matches!(err, Err(CallError::Inner(Http(400)))));
}
