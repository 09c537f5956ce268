//! The error every resilience component returns for a configuration it cannot run with.

/// A configuration value out of its allowed range, reported by the component's constructor.
///
/// Resilience4j rejects the same values with an `IllegalArgumentException` when its configs are
/// built ("Resilience4j CircuitBreaker docs", "Resilience4j Bulkhead docs", ...); here the
/// constructors (`CircuitBreaker::new`, `Bulkhead::new`, `TimeLimiter::new`, `Retry::new`,
/// `ResiliencePolicy::builder(..).build()`) return it instead of panicking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {component} config: `{field}` {reason}")]
pub struct ConfigError {
    /// The component whose config is wrong: `circuit_breaker`, `retry`, `bulkhead`, `time_limiter`
    /// or `fallback`.
    pub component: &'static str,
    /// The offending field, as spelled in the config struct (and in TOML/JSON).
    pub field: &'static str,
    /// What the value must be, e.g. "must be in (0, 100]".
    pub reason: &'static str,
}

impl ConfigError {
    pub(crate) const fn new(
        component: &'static str,
        field: &'static str,
        reason: &'static str,
    ) -> Self {
        Self {
            component,
            field,
            reason,
        }
    }
}

/// The longest duration any resilience knob accepts: 365 days, in milliseconds. Keeps every
/// deadline computable (`Instant + Duration` cannot overflow) and every wait bounded.
pub const MAX_DURATION_MS: u64 = 365 * 24 * 60 * 60 * 1000;

/// Checks that `ms` lies in `min..=MAX_DURATION_MS`.
pub(crate) fn check_ms(
    component: &'static str,
    field: &'static str,
    ms: u64,
    min: u64,
) -> Result<(), ConfigError> {
    if ms < min {
        return Err(ConfigError::new(
            component,
            field,
            if min == 1 {
                "must be at least 1 ms"
            } else {
                "is below its minimum"
            },
        ));
    }
    if ms > MAX_DURATION_MS {
        return Err(ConfigError::new(
            component,
            field,
            "must be at most 365 days (31536000000 ms)",
        ));
    }
    Ok(())
}
