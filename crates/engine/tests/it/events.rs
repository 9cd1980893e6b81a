//! The event stream: what a request event carries, config and listener events, and a slow subscriber that is told
//! how much it missed while requests keep being served.

use std::time::Duration;

use crate::support::{PATIENCE, TestEngine, TestUpstream, config_with, next_request};
use roundabout_engine::{EngineOptions, Event, ListenerState, Received};
use serde_json::json;

#[tokio::test]
async fn a_request_event_has_target_upstream_status_and_latency() {
    let up = TestUpstream::new().status(201).delay(Duration::from_millis(30)).start().await;
    let targets = json!([{"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": up.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let mut events = engine.handle.subscribe();
    let http = engine.http();

    assert_eq!(http.get("App.localhost:8800", "/x?y=1").await.status, 201);
    let e = next_request(&mut events).await;
    assert_eq!(
        (&*e.listener, e.method.as_str(), e.host.as_str(), e.path.as_str()),
        ("web", "GET", "App.localhost", "/x?y=1")
    );
    assert_eq!(
        (e.target.as_deref(), e.upstream.as_deref(), e.status),
        (Some("app"), Some(up.addr().to_string().as_str()), 201)
    );
    assert!(e.latency_us >= 30_000, "latency {} µs covers the upstream's 30 ms", e.latency_us);
    assert!(e.error.is_none() && e.failed.is_empty(), "{e:?}");
    let now =
        u64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap();
    assert!(e.at_ms <= now && now - e.at_ms < 60_000, "at_ms {} is the arrival time", e.at_ms);

    assert_eq!(http.get("other.localhost", "/").await.status, 404);
    let e = next_request(&mut events).await;
    assert_eq!((e.target, e.upstream, e.status, e.error.as_deref()), (None, None, 404, Some("no Target matched")));
}

#[tokio::test]
async fn config_and_listener_changes_are_events() {
    let up = TestUpstream::new().start().await;
    let engine = TestEngine::start(&config_with(&json!([]))).await;
    let mut events = engine.handle.subscribe();
    let mut config = config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]));
    config["listeners"].as_array_mut().unwrap().push(json!({"name": "extra", "bind": "127.0.0.1:0"}));
    engine.apply(&config).await;

    let Some(Received::Event(first)) = events.try_recv() else { panic!("no listener event") };
    let Event::Listener(listener) = &*first else { panic!("{first:?}") };
    assert_eq!(
        (listener.name.as_str(), listener.state, listener.addresses.len()),
        ("extra", ListenerState::Running, 1)
    );
    let Some(Received::Event(second)) = events.try_recv() else { panic!("no config event") };
    assert!(
        matches!(&*second, Event::ConfigApplied { source, listeners: 2, targets: 1 } if source == "test"),
        "{second:?}"
    );

    engine.handle.set_listener_enabled("extra", false).await.unwrap();
    let Some(Received::Event(stopped)) = events.try_recv() else { panic!("no listener event") };
    assert!(
        matches!(&*stopped, Event::Listener(l) if l.name == "extra" && l.state == ListenerState::Stopped),
        "{stopped:?}"
    );
}

#[tokio::test]
async fn a_subscriber_that_never_reads_misses_events_and_is_told_how_many() {
    let up = TestUpstream::new().start().await;
    let options = EngineOptions { event_capacity: 8, ..EngineOptions::default() };
    let targets = json!([{"name": "app", "upstreams": [{"url": up.url()}]}]);
    let engine = TestEngine::start_with(&config_with(&targets), options).await;
    let mut lazy = engine.handle.subscribe();
    let http = engine.http();
    for i in 0..50 {
        let reply = tokio::time::timeout(PATIENCE, http.get("app.localhost", &format!("/{i}"))).await.unwrap();
        assert_eq!(reply.status, 200, "request {i} was served although nobody reads the events");
    }
    assert_eq!(up.count(), 50);

    // Each event is published before its response is sent, so all 50 exist: the oldest 42 are gone.
    let Some(Received::Missed(n)) = lazy.recv().await else { panic!("expected a Missed report") };
    assert_eq!(n, 42);
    let mut paths = Vec::new();
    while let Some(Received::Event(e)) = lazy.try_recv() {
        if let Event::Request(r) = &*e {
            paths.push(r.path.clone());
        }
    }
    assert_eq!(paths, (42..50).map(|i| format!("/{i}")).collect::<Vec<_>>());
    http.get("app.localhost", "/after").await;
    assert_eq!(next_request(&mut lazy).await.path, "/after", "a subscriber that caught up receives again");
}
