//! Passive health: an Upstream that keeps failing is skipped (no client sees an error), probed after its cool-down
//! and taken back once it answers; when every Upstream is unhealthy they are tried anyway, and a 503 names each
//! one's state. A GET closed before any response byte is retried once elsewhere; a POST with a body never is.

use crate::support::{
    PATIENCE, TestEngine, TestUpstream, config_with, dead_port, eventually, next_health, next_request,
};
use http::Method;
use http_body_util::Full;
use roundabout_engine::HealthState;
use serde_json::json;

#[tokio::test]
async fn an_upstream_killed_mid_run_is_ejected_then_taken_back_after_its_cool_down() {
    let a = TestUpstream::new().name("a").start().await;
    let b = TestUpstream::new().name("b").start().await;
    let (a_url, a_port) = (a.url(), a.addr().port());
    let health = json!({"passive": {"failures": 2, "cool_down_ms": 200}});
    let targets = json!([{"name": "app", "upstreams": [{"url": a_url}, {"url": b.url()}], "health": health}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    let mut events = engine.handle.subscribe();
    for expected in ["a", "b", "a", "b"] {
        assert_eq!(http.get("app.localhost", "/").await.upstream(), expected);
    }

    a.stop().await;
    // Every request still succeeds: a refused connect moves on to b, and after two failures a is skipped.
    for _ in 0..20 {
        let reply = http.get("app.localhost", "/").await;
        assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "b"), "{}", reply.body);
    }
    let failing = next_health(&mut events).await;
    assert_eq!(
        (&*failing.upstream, failing.health),
        (a_url.trim_start_matches("http://"), HealthState::Failing { failures: 1, threshold: 2 })
    );
    let ejected = next_health(&mut events).await;
    assert!(matches!(ejected.health, HealthState::Unhealthy { failures: 2, retry_in_ms: 200, .. }), "{ejected:?}");
    assert_eq!(ejected.reason.as_deref(), Some("connection refused"));

    // Back on the same port: after the cool-down one request probes it, and it serves again.
    let a = TestUpstream::new().name("a").port(a_port).start().await;
    eventually(|| async { http.get("app.localhost", "/").await.upstream() == "a" }, PATIENCE).await;
    engine.wait_health("app", &a_url, |h| *h == HealthState::Healthy).await;
    let mut seen = Vec::new();
    while seen.last() != Some(&HealthState::Healthy) {
        seen.push(next_health(&mut events).await.health);
    }
    assert!(seen.contains(&HealthState::Probation), "{seen:?}");
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(http.get("app.localhost", "/").await.upstream().to_owned());
    }
    order.sort();
    assert_eq!(order, ["a", "a", "b", "b"], "round-robin over both again");
    assert!(a.count() >= 3);
}

#[tokio::test]
async fn when_every_upstream_is_unhealthy_they_are_tried_anyway_and_the_503_names_each_state() {
    let (x, y) = (format!("http://127.0.0.1:{}", dead_port()), format!("http://127.0.0.1:{}", dead_port()));
    let health = json!({"passive": {"failures": 1, "cool_down_ms": 60_000}});
    let targets = json!([{"name": "web", "upstreams": [{"url": x}, {"url": y}], "health": health}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    assert_eq!(http.get("app.localhost", "/").await.status, 502, "healthy when tried: a plain 502");
    for url in [&x, &y] {
        assert!(matches!(engine.health("web", url).await, HealthState::Unhealthy { .. }));
    }

    let mut events = engine.handle.subscribe();
    let reply = http.get("app.localhost", "/").await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(reply.body.contains("every Upstream of Target \"web\" is unhealthy"), "{}", reply.body);
    for url in [&x, &y] {
        let line = format!("{}: unhealthy; retry in ", url.trim_start_matches("http://"));
        assert!(reply.body.contains(&line), "{line:?} missing from:\n{}", reply.body);
    }
    assert!(reply.body.contains("(connection refused)"), "{}", reply.body);
    let event = next_request(&mut events).await;
    assert_eq!((event.status, event.failed.len()), (503, 2), "both were tried anyway");
}

#[tokio::test]
async fn a_get_closed_before_any_response_byte_is_retried_once_on_another_upstream() {
    let crash = TestUpstream::new().name("crash").hang_up().start().await;
    let live = TestUpstream::new().name("live").start().await;
    let lenient = json!({"passive": {"failures": 100}});
    let targets = json!([{"name": "app", "strategy": "first_available", "health": lenient,
                          "upstreams": [{"url": crash.url()}, {"url": live.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    let mut events = engine.handle.subscribe();

    let reply = http.get("app.localhost", "/page").await;
    assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "live"));
    let event = next_request(&mut events).await;
    assert_eq!(event.failed.len(), 1, "{event:?}");
    assert_eq!(&*event.failed[0].upstream, crash.addr().to_string());
    assert_eq!(crash.count(), 1);

    // A POST whose body went out is never replayed.
    let post = http.request(Method::POST, "app.localhost", "/form").body(Full::new("name=ada".into())).unwrap();
    let reply = http.send(post).await;
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!((crash.count(), live.count()), (2, 1), "the POST reached the crashing upstream only");
}

#[tokio::test]
async fn a_get_is_retried_only_once_after_a_reset() {
    let one = TestUpstream::new().name("one").hang_up().start().await;
    let two = TestUpstream::new().name("two").hang_up().start().await;
    let live = TestUpstream::new().name("live").start().await;
    let targets = json!([{"name": "app", "strategy": "first_available",
                          "upstreams": [{"url": one.url()}, {"url": two.url()}, {"url": live.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let reply = engine.http().get("app.localhost", "/").await;
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!((one.count(), two.count(), live.count()), (1, 1, 0));
}

#[tokio::test]
async fn chosen_5xx_statuses_count_as_failures_when_the_target_asks() {
    let sick = TestUpstream::new().name("sick").status(503).start().await;
    let fine = TestUpstream::new().name("fine").start().await;
    let health = json!({"passive": {"failures": 2, "cool_down_ms": 60_000, "fail_statuses": [503]}});
    let targets = json!([{"name": "app", "health": health, "upstreams": [{"url": sick.url()}, {"url": fine.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..8 {
            v.push(http.get("app.localhost", "/").await.status.as_u16());
        }
        v
    };
    assert_eq!(statuses, [503, 200, 503, 200, 200, 200, 200, 200], "the 503s are passed on, then sick is skipped");
    assert!(matches!(engine.health("app", &sick.url()).await, HealthState::Unhealthy { failures: 2, .. }));

    // Without fail_statuses a 503 is an answer like any other.
    let plain = json!([{"name": "plain", "upstreams": [{"url": sick.url()}]}]);
    engine.apply(&config_with(&plain)).await;
    for _ in 0..5 {
        assert_eq!(http.get("app.localhost", "/").await.status, 503);
    }
    assert_eq!(engine.health("plain", &sick.url()).await, HealthState::Healthy);
}

#[tokio::test]
async fn a_clients_malformed_body_is_the_clients_fault_not_the_upstreams() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let mut events = engine.handle.subscribe();
    for _ in 0..5 {
        let bad =
            b"POST /form HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
        let answer = crate::support::raw_exchange(engine.addr, bad).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains("the client sent a chunked request body that is not valid HTTP"), "{answer}");
        assert!(answer.contains("connection: close"), "{answer}");
        let event = next_request(&mut events).await;
        assert_eq!(event.status, 400);
        assert!(event.error.as_deref().is_some_and(|e| e.contains("the client sent")), "{event:?}");
        assert!(event.failed.is_empty(), "no attempt is held against the upstream: {event:?}");
    }
    assert_eq!(engine.health("app", &up.url()).await, HealthState::Healthy);
    assert_eq!(engine.counters("app", &up.url()).await.1, 0, "no failure counted");
    assert_eq!(engine.http().get("app.localhost", "/").await.upstream(), "dev");
}
