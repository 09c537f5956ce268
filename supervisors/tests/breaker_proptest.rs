//! Property tests of the circuit breaker's state machine, driven synchronously on a
//! [`ManualClock`] (no tokio runtime, so no timers: deadline-driven transitions happen lazily).
//!
//! Over random configs and random sequences of permits, outcomes (success, failure, slow),
//! cancellations and clock advances:
//! - in half-open, outstanding permits plus recorded trial outcomes never exceed
//!   `permitted_number_of_calls_in_half_open_state`;
//! - while open (before `wait_duration_in_open_state` has elapsed) every call is rejected, and once
//!   it has elapsed the next call is permitted;
//! - in closed state a call is always permitted;
//! - recorded outcomes move the breaker exactly as a reference model of Resilience4j's rules says
//!   (count-based closed window; half-open evaluation after the permitted calls).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use rampart_supervisors::resilience::{
    CircuitBreaker, CircuitBreakerConfig, CircuitState, Clock, ManualClock, Permit,
    SlidingWindowType, TransitionEvent,
};
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::time::Instant;

const SLOW_MS: u64 = 100;

#[derive(Debug, Clone)]
enum Op {
    Acquire,
    Record {
        idx: usize,
        failed: bool,
        slow: bool,
    },
    Cancel {
        idx: usize,
    },
    Advance {
        ms: u64,
    },
    ReadState,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Acquire),
        6 => (any::<usize>(), any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(idx, failed, slow)| Op::Record { idx, failed, slow }),
        1 => any::<usize>().prop_map(|idx| Op::Cancel { idx }),
        2 => (0u64..2_500).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::ReadState),
    ]
}

fn config() -> impl Strategy<Value = CircuitBreakerConfig> {
    (
        prop::bool::ANY,
        1u32..8,
        1u32..8,
        1u32..5,
        prop::sample::select(vec![25.0f32, 50.0, 75.0, 100.0]),
        prop::sample::select(vec![50.0f32, 100.0]),
        1u64..2_000,
        prop::sample::select(vec![0u64, 300, 1_500]),
        prop::bool::ANY,
    )
        .prop_map(
            |(time_based, size, min, permitted, fail_thr, slow_thr, wait, max_wait, auto)| {
                CircuitBreakerConfig {
                    sliding_window_type: if time_based {
                        SlidingWindowType::TimeBased
                    } else {
                        SlidingWindowType::CountBased
                    },
                    sliding_window_size: size,
                    minimum_number_of_calls: min,
                    permitted_number_of_calls_in_half_open_state: permitted,
                    failure_rate_threshold: fail_thr,
                    slow_call_rate_threshold: slow_thr,
                    slow_call_duration_threshold_ms: SLOW_MS,
                    wait_duration_in_open_state_ms: wait,
                    max_wait_duration_in_half_open_state_ms: max_wait,
                    automatic_transition_from_open_to_half_open_enabled: auto,
                }
            },
        )
}

/// Outcomes `(failed, slow)` of the calls in a reference window.
struct RefWindow {
    cap: usize,
    calls: VecDeque<(bool, bool)>,
}

impl RefWindow {
    fn new(cap: u32) -> Self {
        Self {
            cap: cap as usize,
            calls: VecDeque::new(),
        }
    }

    fn push(&mut self, failed: bool, slow: bool) {
        if self.calls.len() == self.cap {
            self.calls.pop_front();
        }
        self.calls.push_back((failed, slow));
    }

    /// Resilience4j: evaluated once `min_calls` are buffered; rate >= threshold exceeds.
    fn exceeded(&self, min_calls: usize, config: &CircuitBreakerConfig) -> Option<bool> {
        let n = self.calls.len();
        if n == 0 || n < min_calls {
            return None;
        }
        let failed = self.calls.iter().filter(|c| c.0).count();
        let slow = self.calls.iter().filter(|c| c.1).count();
        let rate = |k: usize| k as f32 * 100.0 / n as f32;
        Some(
            rate(failed) >= config.failure_rate_threshold
                || rate(slow) >= config.slow_call_rate_threshold,
        )
    }
}

struct Model {
    config: CircuitBreakerConfig,
    state: CircuitState,
    /// Incremented on every transition; permits are tagged with the period they were granted in.
    period: u64,
    opened_at: Option<Instant>,
    half_open_recorded: usize,
    closed_window: RefWindow,
    half_open_window: RefWindow,
}

impl Model {
    fn apply(&mut self, events: &[TransitionEvent]) -> Result<(), TestCaseError> {
        for e in events {
            prop_assert_eq!(e.from, self.state, "events chain");
            prop_assert_ne!(e.from, e.to);
            self.state = e.to;
            self.period += 1;
            match e.to {
                CircuitState::Open => self.opened_at = Some(e.at),
                CircuitState::HalfOpen => {
                    self.half_open_recorded = 0;
                    self.half_open_window =
                        RefWindow::new(self.config.permitted_number_of_calls_in_half_open_state);
                }
                CircuitState::Closed => {
                    self.closed_window = RefWindow::new(self.config.sliding_window_size);
                }
            }
        }
        Ok(())
    }
}

fn drain(
    rx: &mut broadcast::Receiver<TransitionEvent>,
) -> Result<Vec<TransitionEvent>, TestCaseError> {
    let mut events = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(e) => events.push(e),
            Err(TryRecvError::Empty) => return Ok(events),
            Err(e) => return Err(TestCaseError::fail(format!("event channel: {e}"))),
        }
    }
}

fn run(config: CircuitBreakerConfig, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = Arc::new(ManualClock::new());
    let breaker = CircuitBreaker::builder("prop", config.clone())
        .clock(clock.clone())
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut rx = breaker.subscribe();
    let permitted = config.permitted_number_of_calls_in_half_open_state as usize;
    let wait = config.wait_duration_in_open_state();
    let closed_min = config.effective_minimum_number_of_calls() as usize;
    let mut model = Model {
        closed_window: RefWindow::new(config.sliding_window_size),
        half_open_window: RefWindow::new(config.permitted_number_of_calls_in_half_open_state),
        config: config.clone(),
        state: CircuitState::Closed,
        period: 0,
        opened_at: None,
        half_open_recorded: 0,
    };
    let mut permits: Vec<(Permit<'_>, u64)> = Vec::new();

    for op in ops {
        match op {
            Op::Acquire => {
                let now = clock.now();
                let state_before = model.state;
                let result = breaker.try_acquire_permission();
                let events = drain(&mut rx)?;
                model.apply(&events)?;
                if state_before == CircuitState::Open && events.is_empty() {
                    let opened_at = model.opened_at.unwrap_or(now);
                    prop_assert!(
                        result.is_err() == (now < opened_at + wait),
                        "open: rejected exactly until the wait has elapsed"
                    );
                }
                if state_before == CircuitState::Open && now < model.opened_at.unwrap_or(now) + wait
                {
                    prop_assert!(
                        result.is_err(),
                        "open before the wait: every call is rejected"
                    );
                }
                if model.state == CircuitState::Closed {
                    prop_assert!(result.is_ok(), "closed: every call is permitted");
                }
                match result {
                    Ok(p) => {
                        prop_assert_eq!(p.granted_in(), model.state);
                        permits.push((p, model.period));
                    }
                    Err(rejected) => {
                        prop_assert_ne!(model.state, CircuitState::Closed);
                        prop_assert_eq!(rejected.state, model.state);
                    }
                }
            }
            Op::Record { idx, failed, slow } => {
                if permits.is_empty() {
                    continue;
                }
                let (permit, period) = permits.swap_remove(idx % permits.len());
                let live = period == model.period;
                let duration = Duration::from_millis(if slow { SLOW_MS + 1 } else { SLOW_MS });
                if failed {
                    permit.record_failure(duration);
                } else {
                    permit.record_success(duration);
                }
                let expected = if !live {
                    None // stale: ignored
                } else {
                    match model.state {
                        CircuitState::Closed => {
                            model.closed_window.push(failed, slow);
                            if config.sliding_window_type == SlidingWindowType::CountBased {
                                Some(match model.closed_window.exceeded(closed_min, &config) {
                                    Some(true) => Some(CircuitState::Open),
                                    _ => None,
                                })
                            } else {
                                None // time-based: not modelled here
                            }
                        }
                        CircuitState::HalfOpen => {
                            model.half_open_recorded += 1;
                            model.half_open_window.push(failed, slow);
                            Some(match model.half_open_window.exceeded(permitted, &config) {
                                Some(true) => Some(CircuitState::Open),
                                Some(false) => Some(CircuitState::Closed),
                                None => None,
                            })
                        }
                        CircuitState::Open => {
                            return Err(TestCaseError::fail("a live permit while open"));
                        }
                    }
                };
                let events = drain(&mut rx)?;
                prop_assert!(events.len() <= 1);
                if let Some(expected) = expected {
                    prop_assert_eq!(
                        events.first().map(|e| e.to),
                        expected,
                        "transition after a recorded outcome"
                    );
                } else if !live {
                    prop_assert!(events.is_empty(), "a stale outcome moved the breaker");
                }
                model.apply(&events)?;
            }
            Op::Cancel { idx } => {
                if !permits.is_empty() {
                    drop(permits.swap_remove(idx % permits.len()));
                }
                prop_assert!(drain(&mut rx)?.is_empty());
            }
            Op::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Op::ReadState => {
                let state = breaker.state();
                let events = drain(&mut rx)?;
                model.apply(&events)?;
                prop_assert_eq!(state, model.state);
            }
        }

        if model.state == CircuitState::HalfOpen {
            let outstanding = permits.iter().filter(|(_, p)| *p == model.period).count();
            prop_assert!(
                outstanding + model.half_open_recorded <= permitted,
                "half-open: {} outstanding + {} recorded > {} permitted",
                outstanding,
                model.half_open_recorded,
                permitted
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn breaker_honours_its_state_machine(config in config(), ops in prop::collection::vec(op(), 1..300)) {
        run(config, ops)?;
    }
}

/// A fixed scenario through the same driver, so a broken driver cannot pass vacuously: it must
/// see open, half-open and closed.
#[test]
fn driver_reaches_every_state() {
    let config = CircuitBreakerConfig {
        sliding_window_size: 2,
        minimum_number_of_calls: 2,
        permitted_number_of_calls_in_half_open_state: 1,
        wait_duration_in_open_state_ms: 10,
        ..CircuitBreakerConfig::default()
    };
    let ops = vec![
        Op::Acquire,
        Op::Acquire,
        Op::Record {
            idx: 0,
            failed: true,
            slow: false,
        },
        Op::Record {
            idx: 0,
            failed: true,
            slow: false,
        },
        Op::Acquire, // rejected: open
        Op::Advance { ms: 10 },
        Op::Acquire, // half-open trial
        Op::Acquire, // rejected: only 1 permitted
        Op::Record {
            idx: 0,
            failed: false,
            slow: false,
        },
        Op::ReadState,
    ];
    run(config.clone(), ops).unwrap();

    let clock = Arc::new(ManualClock::new());
    let b = CircuitBreaker::builder("x", config)
        .clock(clock.clone())
        .build()
        .unwrap();
    b.try_acquire_permission()
        .unwrap()
        .record_failure(Duration::ZERO);
    b.try_acquire_permission()
        .unwrap()
        .record_failure(Duration::ZERO);
    assert_eq!(b.state(), CircuitState::Open);
    clock.advance(Duration::from_millis(10));
    b.try_acquire_permission()
        .unwrap()
        .record_success(Duration::ZERO);
    assert_eq!(b.state(), CircuitState::Closed);
    let seen: Vec<_> = b.recent_transitions().iter().map(|e| e.to).collect();
    assert_eq!(
        seen,
        [
            CircuitState::Open,
            CircuitState::HalfOpen,
            CircuitState::Closed
        ]
    );
}
