//! Cost of the full resilience policy (retry + circuit breaker + time limiter + bulkhead, metrics
//! on; success path) over a bare async call, and of the cached fallback on top.
//! Goal: policy overhead under 1 µs per call.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_supervisors::resilience::{
    FallbackConfig, PolicyConfig, ResilienceMetrics, ResiliencePolicy,
};

async fn callee(x: u64) -> Result<u64, std::io::Error> {
    Ok(black_box(x) + 1)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let registry = prometheus::Registry::new();
    let metrics = ResilienceMetrics::new(&registry).unwrap();
    let policy: ResiliencePolicy<std::io::Error> =
        ResiliencePolicy::builder("bench", PolicyConfig::default())
            .metrics(&metrics)
            .build()
            .unwrap();
    let cached: ResiliencePolicy<std::io::Error, u64, u64> = ResiliencePolicy::builder(
        "bench-cached",
        PolicyConfig {
            fallback: Some(FallbackConfig::default()),
            ..PolicyConfig::default()
        },
    )
    .metrics(&metrics)
    .build()
    .unwrap();

    let mut g = c.benchmark_group("policy_success_path");
    g.bench_function("bare_call", |b| {
        b.to_async(&rt).iter(|| async { callee(1).await.unwrap() })
    });
    g.bench_function("policy_call", |b| {
        b.to_async(&rt)
            .iter(|| async { policy.call(|| callee(1)).await.unwrap() })
    });
    g.bench_function("policy_call_with_fallback", |b| {
        b.to_async(&rt).iter(|| async {
            cached
                .call_with_fallback(black_box(7), || callee(1))
                .await
                .unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
