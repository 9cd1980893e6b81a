//! How long the Mux takes to find a request's Target with 1, 10 and 1000 Targets: the first Target, the last one
//! (every matcher is tried), and no match at all (the 404 path). Run with `cargo bench -p roundabout-engine`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{HeaderMap, Method};
use roundabout_engine::Config;
use roundabout_engine::matcher::RequestHead;
use roundabout_engine::mux::Mux;
use serde_json::json;

/// `n` Targets like a developer's: a host each, every third with a path prefix, every fifth with a method list.
fn mux(n: usize) -> Mux {
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
    Mux::from_config(&Config::from_value(&json!({"version": 1, "targets": targets})).unwrap())
}

fn matching(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("mux_route");
    for n in [1usize, 10, 1000] {
        let mux = mux(n);
        let first = RequestHead {
            host: "app0.localhost",
            path: "/api/users",
            port: 8800,
            method: &Method::GET,
            headers: &headers,
        };
        let last_host = format!("APP{}.localhost", n - 1);
        let last = RequestHead { host: &last_host, path: "/api/users", ..first };
        let miss = RequestHead { host: "nowhere.localhost", ..first };
        group.bench_with_input(BenchmarkId::new("first", n), &first, |b, head| {
            b.iter(|| black_box(mux.route(black_box(head)).is_some()));
        });
        group.bench_with_input(BenchmarkId::new("last", n), &last, |b, head| {
            b.iter(|| black_box(mux.route(black_box(head)).is_some()));
        });
        group.bench_with_input(BenchmarkId::new("miss", n), &miss, |b, head| {
            b.iter(|| black_box(mux.route(black_box(head)).is_none()));
        });
    }
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
