//! Live reconfiguration: `apply` swaps routes without dropping in-flight requests or rebinding unchanged
//! Listeners, refuses invalid configs, and `follow` applies file edits while rejecting broken ones.

use std::time::Duration;

use crate::support::{Gate, PATIENCE, TestEngine, TestUpstream, config_with, eventually, listener_addr, parse_config};
use roundabout_engine::{ConfigStore, EngineError, Event, Received};
use serde_json::json;

#[tokio::test]
async fn a_request_in_flight_during_apply_completes_and_new_requests_use_the_new_routes() {
    let gate = Gate::new();
    let old = TestUpstream::new().name("old").hold(&gate).start().await;
    let new = TestUpstream::new().name("new").start().await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": old.url()}]}]))).await;
    let http = engine.http();
    let in_flight = tokio::spawn({
        let http = http.clone();
        async move { http.get("app.localhost", "/slow").await }
    });
    eventually(|| async { old.count() == 1 }, PATIENCE).await;

    engine.apply(&config_with(&json!([{"name": "app", "upstreams": [{"url": new.url()}]}]))).await;
    assert_eq!(http.get("app.localhost", "/fast").await.upstream(), "new");
    assert_eq!(listener_addr(&engine.handle, 0).await, Some(engine.addr), "the Listener was not rebound");

    gate.open();
    let slow = in_flight.await.unwrap();
    assert_eq!((slow.status.as_u16(), slow.upstream()), (200, "old"));
    assert_eq!(slow.json()["path"], "/slow");
    assert_eq!(old.count(), 1);
}

#[tokio::test]
async fn an_invalid_config_is_refused_and_the_old_routes_keep_serving() {
    let up = TestUpstream::new().name("kept").start().await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let mut events = engine.handle.subscribe();
    let mut bad = parse_config(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}])));
    bad.targets[0].upstreams[0].url = "ftp://example.com".into();
    bad.targets[0].matcher.path = Some("no-slash".into());

    let Err(EngineError::Invalid(issues)) = engine.handle.apply(bad, "test").await else { panic!("accepted") };
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["targets[0].match.path", "targets[0].upstreams[0].url"]);
    let Some(Received::Event(event)) = events.try_recv() else { panic!("no event") };
    assert!(matches!(&*event, Event::ConfigRejected { issues, .. } if issues.len() == 2), "{event:?}");
    assert_eq!(engine.http().get("app.localhost", "/").await.upstream(), "kept");
    assert_eq!(engine.handle.config().await.targets[0].upstreams[0].url, up.url());
}

#[tokio::test]
async fn listeners_unchanged_by_an_apply_keep_their_sockets() {
    let up = TestUpstream::new().start().await;
    let three = json!([
        {"name": "a", "bind": "127.0.0.1:0"}, {"name": "b", "bind": "127.0.0.1:0"}, {"name": "c", "bind": "127.0.0.1:0"}
    ]);
    let targets = json!([{"name": "app", "upstreams": [{"url": up.url()}]}]);
    let engine = TestEngine::start(&json!({"version": 1, "listeners": three, "targets": targets})).await;
    let ports = || async {
        let status = engine.handle.status().await;
        status.listeners.iter().map(|l| (l.name.clone(), l.addresses.clone())).collect::<Vec<_>>()
    };
    let before = ports().await;

    engine.apply(&json!({"version": 1, "listeners": three, "targets": []})).await;
    assert_eq!(ports().await, before, "a routes-only edit rebound a Listener");

    let without_a = json!([{"name": "b", "bind": "127.0.0.1:0"}, {"name": "c", "bind": "127.0.0.1:0"}]);
    engine.apply(&json!({"version": 1, "listeners": without_a, "targets": []})).await;
    assert_eq!(ports().await, before[1..], "removing one Listener rebound the others");
}

#[tokio::test]
async fn follow_applies_valid_edits_and_reports_broken_ones() {
    let first = TestUpstream::new().name("first").start().await;
    let second = TestUpstream::new().name("second").start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(dir.path().join("config.json"));
    let app = json!({"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": first.url()}]});
    let initial = config_with(&json!([app]));
    store.save(&parse_config(&initial)).await.unwrap();
    let engine = TestEngine::start(&initial).await;
    let follower = engine.handle.follow(store.clone()).unwrap();
    let http = engine.http();
    for _ in 0..5 {
        assert_eq!(http.get("app.localhost", "/").await.upstream(), "first");
    }

    // A hand edit that adds a Target and leaves "app" alone: served once the file is seen.
    let edited = config_with(&json!([
        app,
        {"name": "api", "match": {"host": "api.localhost"}, "upstreams": [{"url": second.url()}]}
    ]));
    std::fs::write(store.path(), serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    eventually(|| async { http.get("api.localhost", "/").await.status == 200 }, PATIENCE).await;
    assert_eq!(http.get("api.localhost", "/").await.upstream(), "second");
    assert_eq!(engine.counters("app", &first.url()).await, (5, 0), "counters survive an unrelated edit");
    assert_eq!(http.get("app.localhost", "/").await.upstream(), "first");
    assert_eq!(engine.counters("app", &first.url()).await.0, 6);

    let mut events = engine.handle.subscribe();
    std::fs::write(store.path(), "{ \"version\": 1, \"targets\": [ oops").unwrap();
    let rejected = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(Received::Event(e)) = events.recv().await
                && let Event::ConfigRejected { source, issues } = &*e
            {
                return (source.clone(), issues.clone());
            }
        }
    })
    .await
    .expect("a ConfigRejected event");
    assert_eq!(rejected.0, store.path().display().to_string());
    assert!(rejected.1[0].message.contains("invalid JSON"), "{:?}", rejected.1);
    assert_eq!(http.get("api.localhost", "/").await.upstream(), "second", "the last good config keeps serving");
    assert_eq!(engine.handle.config().await, parse_config(&edited));
    follower.abort();
    let _ = tokio::time::timeout(Duration::from_secs(1), follower).await;
}

#[tokio::test]
async fn renaming_a_target_keeps_its_counters_and_health() {
    let up = TestUpstream::new().name("dev").start().await;
    let dead = format!("http://127.0.0.1:{}", crate::support::dead_port());
    let target = |name: &str| {
        json!([{"name": name, "upstreams": [{"url": up.url()}, {"url": dead}],
                "health": {"passive": {"failures": 1, "cool_down_ms": 600_000}}}])
    };
    let engine = TestEngine::start(&config_with(&target("web"))).await;
    for _ in 0..4 {
        assert_eq!(engine.http().get("app.localhost", "/").await.upstream(), "dev");
    }
    let before = (engine.counters("web", &up.url()).await, engine.health("web", &dead).await);
    assert!(matches!(before.1, roundabout_engine::HealthState::Unhealthy { .. }), "{before:?}");

    engine.apply(&config_with(&target("site"))).await;
    let after = (engine.counters("site", &up.url()).await, engine.health("site", &dead).await);
    assert_eq!(after.0, before.0, "the distribution the app shows does not reset");
    assert!(matches!(after.1, roundabout_engine::HealthState::Unhealthy { .. }), "still ejected: {after:?}");
}
