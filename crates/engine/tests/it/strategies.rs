//! Each balancing strategy's distribution, checked exactly where the strategy is exact: smooth weighted
//! round-robin (nginx's a a b a c a a), least connections around a held request, first available with failover,
//! and random spreading over every Upstream.

use std::collections::BTreeMap;

use crate::support::{Gate, PATIENCE, TestEngine, TestUpstream, config_with, eventually};
use serde_json::json;
use tokio::task::JoinSet;

async fn three() -> [crate::support::RunningUpstream; 3] {
    [
        TestUpstream::new().name("a").start().await,
        TestUpstream::new().name("b").start().await,
        TestUpstream::new().name("c").start().await,
    ]
}

async fn sequence(engine: &TestEngine, n: usize) -> Vec<String> {
    let http = engine.http();
    let mut order = Vec::new();
    for _ in 0..n {
        order.push(http.get("app.localhost", "/").await.upstream().to_owned());
    }
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn weighted_round_robin_interleaves_smoothly_and_is_exact_under_concurrency() {
    let [a, b, c] = three().await;
    let upstreams = json!([{"url": a.url(), "weight": 5}, {"url": b.url()}, {"url": c.url()}]);
    let targets = json!([{"name": "app", "strategy": "weighted_round_robin", "upstreams": upstreams}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    assert_eq!(sequence(&engine, 7).await, ["a", "a", "b", "a", "c", "a", "a"]);

    let http = engine.http();
    let mut requests = JoinSet::new();
    for i in 0..700 {
        let http = http.clone();
        requests.spawn(async move { http.get("app.localhost", &format!("/{i}")).await });
    }
    let mut served = BTreeMap::<String, usize>::new();
    while let Some(reply) = requests.join_next().await {
        *served.entry(reply.unwrap().upstream().to_owned()).or_default() += 1;
    }
    assert_eq!(served.into_iter().collect::<Vec<_>>(), [("a".into(), 500), ("b".into(), 100), ("c".into(), 100)]);
}

#[tokio::test]
async fn least_connections_avoids_the_upstream_holding_a_request() {
    let gate = Gate::new();
    let a = TestUpstream::new().name("a").hold(&gate).start().await;
    let b = TestUpstream::new().name("b").start().await;
    let c = TestUpstream::new().name("c").start().await;
    let upstreams = json!([{"url": a.url()}, {"url": b.url()}, {"url": c.url()}]);
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "strategy": "least_connections",
                                                          "upstreams": upstreams}])))
    .await;
    let held = tokio::spawn({
        let http = engine.http();
        async move { http.get("app.localhost", "/slow").await }
    });
    let url = a.url();
    eventually(|| async { engine.upstream("app", &url).await.open_connections == 1 }, PATIENCE).await;
    // Ties between b and c are broken in turn from a rotating start (1, 2, 0, 1): b, c, b, b.
    assert_eq!(sequence(&engine, 4).await, ["b", "c", "b", "b"]);
    assert_eq!(a.count(), 1);
    gate.open();
    assert_eq!(held.await.unwrap().upstream(), "a");
    assert_eq!(sequence(&engine, 3).await, ["c", "a", "b"], "with nothing open, in turn (from start 2)");
}

#[tokio::test]
async fn first_available_sends_everything_to_the_first_healthy_upstream() {
    let [a, b, c] = three().await;
    let upstreams = json!([{"url": a.url()}, {"url": b.url()}, {"url": c.url()}]);
    let health = json!({"passive": {"failures": 1, "cool_down_ms": 60_000}});
    let targets = json!([{"name": "app", "strategy": "first_available", "upstreams": upstreams, "health": health}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    assert_eq!(sequence(&engine, 5).await, ["a"; 5]);
    a.stop().await;
    assert_eq!(sequence(&engine, 5).await, ["b"; 5], "the first backup takes over at once");
    assert_eq!((b.count(), c.count()), (5, 0));
}

#[tokio::test]
async fn random_spreads_over_every_upstream() {
    let [a, b, c] = three().await;
    let upstreams = json!([{"url": a.url()}, {"url": b.url()}, {"url": c.url()}]);
    let engine =
        TestEngine::start(&config_with(&json!([{"name": "app", "strategy": "random", "upstreams": upstreams}]))).await;
    sequence(&engine, 300).await;
    // Each gets 100 on average; below 50 is about ten standard deviations away.
    for u in [&a, &b, &c] {
        assert!(u.count() > 50, "{} {} {}", a.count(), b.count(), c.count());
    }
    assert_eq!(a.count() + b.count() + c.count(), 300);
}
