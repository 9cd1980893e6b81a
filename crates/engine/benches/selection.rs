//! How long picking an Upstream takes for each strategy over 3 and 30 Upstreams, health applied as on the request
//! path. Run with `cargo bench -p roundabout-engine`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use roundabout_engine::Config;
use roundabout_engine::harness::bench::Routes;
use serde_json::json;
use tokio::time::Instant;

fn routes(strategy: &str, upstreams: usize) -> Routes {
    let upstreams: Vec<_> =
        (0..upstreams).map(|i| json!({"url": format!("http://127.0.0.1:{}", 3000 + i), "weight": 1 + i % 5})).collect();
    let config = json!({"version": 1, "targets": [{"name": "app", "strategy": strategy, "upstreams": upstreams}]});
    Routes::new(&Config::from_value(&config).unwrap())
}

fn selection(c: &mut Criterion) {
    let mut group = c.benchmark_group("select");
    for strategy in ["round_robin", "weighted_round_robin", "least_connections", "random", "first_available"] {
        for n in [3usize, 30] {
            let routes = routes(strategy, n);
            let now = Instant::now();
            group.bench_with_input(BenchmarkId::new(strategy, n), &n, |b, _| b.iter(|| black_box(routes.pick(now))));
        }
    }
    group.finish();
}

criterion_group!(benches, selection);
criterion_main!(benches);
