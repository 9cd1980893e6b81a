//! How long the Mux takes to find a request's Target with 1, 10 and 1000 Targets: the first Target, the last one
//! (every matcher is tried), and no match at all (the 404 path). Run with `cargo bench -p roundabout-engine`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{HeaderMap, Method};
use roundabout_engine::Config;
use roundabout_engine::harness::bench::Routes;
use serde_json::json;

/// `n` Targets like a developer's: a host each, every third with a path prefix, every fifth with a method list.
fn routes(n: usize) -> Routes {
    let targets: Vec<_> = (0..n)
        .map(|i| {
            let mut matcher = json!({"host": format!("app{i}.localhost")});
            if i % 3 == 0 {
                matcher["path_prefix"] = json!("/api");
            }
            if i % 5 == 0 {
                matcher["methods"] = json!(["GET", "POST"]);
            }
            json!({"name": format!("t{i}"), "match": matcher, "upstreams": [{"url": "http://127.0.0.1:3000"}]})
        })
        .collect();
    Routes::new(&Config::from_value(&json!({"version": 1, "targets": targets})).unwrap())
}

fn matching(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("mux_route");
    for n in [1usize, 10, 1000] {
        let routes = routes(n);
        let last_host = format!("APP{}.localhost", n - 1);
        let cases = [
            ("first", "app0.localhost", "/api/users"),
            ("last", &last_host, "/api/users"),
            ("miss", "nowhere.localhost", "/"),
        ];
        for (case, host, path) in cases {
            group.bench_with_input(BenchmarkId::new(case, n), &(host, path), |b, (host, path)| {
                b.iter(|| black_box(routes.route(black_box(host), black_box(path), &Method::GET, &headers).is_some()));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
