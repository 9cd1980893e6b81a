//! Round-robin over a Target's enabled Upstreams, exact under concurrency, and what happens when none is enabled.

use crate::support::{TestEngine, TestUpstream, config_with};
use serde_json::json;
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn six_hundred_concurrent_requests_give_exactly_two_hundred_to_each_upstream() {
    let a = TestUpstream::new().name("a").start().await;
    let b = TestUpstream::new().name("b").start().await;
    let c = TestUpstream::new().name("c").start().await;
    let targets = json!([{"name": "app", "upstreams": [{"url": a.url()}, {"url": b.url()}, {"url": c.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    assert_eq!(http.get("app.localhost", "/").await.upstream(), "a", "the first request goes to the first upstream");

    let mut requests = JoinSet::new();
    for i in 0..600 {
        let http = http.clone();
        requests.spawn(async move { http.get("app.localhost", &format!("/{i}")).await });
    }
    let mut served = std::collections::BTreeMap::<String, usize>::new();
    while let Some(reply) = requests.join_next().await {
        let reply = reply.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        *served.entry(reply.upstream().to_owned()).or_default() += 1;
    }
    assert_eq!(served.into_iter().collect::<Vec<_>>(), [("a".into(), 200), ("b".into(), 200), ("c".into(), 200)]);
    assert_eq!((a.count(), b.count(), c.count()), (201, 200, 200));
    let status = engine.handle.status().await;
    let counted: Vec<u64> = status.targets[0].upstreams.iter().map(|u| u.requests).collect();
    assert_eq!(counted, [201, 200, 200]);
}

#[tokio::test]
async fn a_disabled_upstream_gets_nothing() {
    let a = TestUpstream::new().name("a").start().await;
    let off = TestUpstream::new().name("off").start().await;
    let c = TestUpstream::new().name("c").start().await;
    let upstreams = json!([{"url": a.url()}, {"url": off.url(), "enabled": false}, {"url": c.url()}]);
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": upstreams}]))).await;
    let http = engine.http();
    let mut order = Vec::new();
    for _ in 0..6 {
        order.push(http.get("app.localhost", "/").await.upstream().to_owned());
    }
    assert_eq!(order, ["a", "c", "a", "c", "a", "c"]);
    assert_eq!(off.count(), 0);
}

#[tokio::test]
async fn a_target_with_every_upstream_disabled_answers_503_naming_it() {
    let off = TestUpstream::new().name("off").start().await;
    let upstreams = json!([{"url": off.url(), "enabled": false}]);
    let engine = TestEngine::start(&config_with(&json!([{"name": "web-app", "upstreams": upstreams}]))).await;
    let reply = engine.http().get("app.localhost", "/").await;
    assert_eq!(reply.status, 503);
    assert!(reply.body.contains("Target \"web-app\" has no enabled Upstreams"), "{}", reply.body);
    assert!(reply.body.contains(&format!("{} (disabled)", off.addr())), "{}", reply.body);
    assert_eq!(off.count(), 0);
}

#[tokio::test]
async fn rotation_continues_where_it_was_across_an_apply() {
    let a = TestUpstream::new().name("a").start().await;
    let b = TestUpstream::new().name("b").start().await;
    let app =
        json!({"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": a.url()}, {"url": b.url()}]});
    let engine = TestEngine::start(&config_with(&json!([app]))).await;
    let http = engine.http();
    assert_eq!(http.get("app.localhost", "/").await.upstream(), "a");
    engine.apply(&config_with(&json!([app, {"name": "other", "upstreams": [{"url": a.url()}]}]))).await;
    assert_eq!(http.get("app.localhost", "/").await.upstream(), "b", "an unrelated edit restarted the rotation");
}

/// Sends `n` requests one after another and counts which upstream answered each.
async fn spread(engine: &TestEngine, n: usize) -> Vec<(String, usize)> {
    let mut served = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..n {
        let reply = engine.http().get("app.localhost", "/").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        *served.entry(reply.upstream().to_owned()).or_default() += 1;
    }
    served.into_iter().collect()
}

/// Sends requests until the Upstream at `url` is ejected.
async fn eject(engine: &TestEngine, url: &str) {
    crate::support::eventually(
        || async {
            engine.http().get("app.localhost", "/").await;
            matches!(engine.health("app", url).await, roundabout_engine::HealthState::Unhealthy { .. })
        },
        crate::support::PATIENCE,
    )
    .await;
}

/// Upstreams `a`, `c` and `d`, and the URL of a dead one.
async fn three_live_and_a_dead() -> ([crate::support::RunningUpstream; 3], String) {
    let live = [
        TestUpstream::new().name("a").start().await,
        TestUpstream::new().name("c").start().await,
        TestUpstream::new().name("d").start().await,
    ];
    (live, format!("http://127.0.0.1:{}", crate::support::dead_port()))
}

#[tokio::test]
async fn an_ejected_upstreams_share_is_spread_evenly_over_the_others() {
    let ([a, c, d], dead) = three_live_and_a_dead().await;
    let upstreams = json!([{"url": a.url()}, {"url": dead}, {"url": c.url()}, {"url": d.url()}]);
    let health = json!({"passive": {"cool_down_ms": 600_000}});
    let engine =
        TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": upstreams, "health": health}]))).await;
    eject(&engine, &dead).await;
    // Its turn does not fall to its neighbour: 20/20/20, as nginx spreads it.
    assert_eq!(spread(&engine, 60).await, [("a".into(), 20), ("c".into(), 20), ("d".into(), 20)]);
}

#[tokio::test]
async fn an_ejected_upstreams_share_is_spread_by_weight_over_the_others() {
    let ([a, c, d], dead) = three_live_and_a_dead().await;
    let upstreams =
        json!([{"url": a.url(), "weight": 3}, {"url": dead, "weight": 2}, {"url": c.url()}, {"url": d.url()}]);
    let target = json!({"name": "app", "strategy": "weighted_round_robin", "upstreams": upstreams,
                        "health": {"passive": {"cool_down_ms": 600_000}}});
    let engine = TestEngine::start(&config_with(&json!([target]))).await;
    eject(&engine, &dead).await;
    assert_eq!(spread(&engine, 50).await, [("a".into(), 30), ("c".into(), 10), ("d".into(), 10)], "3:1:1");
}
