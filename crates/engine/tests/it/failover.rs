//! When an Upstream cannot be reached: the request moves on to the next one (with its body), the event says what
//! failed, and when every Upstream fails the page names each one and why.

use crate::support::pattern::PatternBody;
use crate::support::{TestEngine, TestUpstream, config_with, dead_port, next_request};
use http::Method;
use http::header::ACCEPT;
use http_body_util::{Empty, Full};
use serde_json::json;

#[tokio::test]
async fn a_refused_connection_moves_on_to_the_next_upstream_and_the_event_says_so() {
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let live = TestUpstream::new().name("live").start().await;
    let targets = json!([{"name": "app", "upstreams": [{"url": dead}, {"url": live.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let mut events = engine.handle.subscribe();

    let reply = engine.http().get("app.localhost", "/page").await;
    assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "live"));
    let event = next_request(&mut events).await;
    assert_eq!(event.status, 200);
    assert_eq!(event.upstream.as_deref(), Some(live.addr().to_string().as_str()));
    assert_eq!(event.failed.len(), 1, "{:?}", event.failed);
    assert_eq!(&*event.failed[0].upstream, dead.trim_start_matches("http://"));
    assert_eq!(event.failed[0].error, "connection refused");
    assert_eq!(engine.counters("app", &dead).await, (0, 1));
    assert_eq!(engine.counters("app", &live.url()).await, (1, 0));
}

#[tokio::test]
async fn a_request_body_survives_the_move_to_the_next_upstream() {
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let live = TestUpstream::new().name("live").start().await;
    // Each request must start at the dead upstream: the first is the primary, and passive checks never eject it.
    let targets = json!([{"name": "app", "strategy": "first_available", "health": {"passive": {"enabled": false}},
                          "upstreams": [{"url": dead}, {"url": live.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();

    let small = http.request(Method::POST, "app.localhost", "/form").body(Full::new("name=ada&x=1".into())).unwrap();
    let echo = http.send(small).await.json();
    assert_eq!((echo["method"].as_str(), echo["body"].as_str()), (Some("POST"), Some("name=ada&x=1")));

    for body in [PatternBody::new(3 << 20), PatternBody::chunked(3 << 20)] {
        let mut events = engine.handle.subscribe();
        let echo = http.send(http.request(Method::PUT, "app.localhost", "/upload").body(body).unwrap()).await.json();
        assert_eq!((echo["body_len"].as_u64(), echo["body_is_pattern"].as_bool()), (Some(3 << 20), Some(true)));
        assert_eq!(next_request(&mut events).await.failed.len(), 1, "the dead upstream was tried first");
    }
    assert_eq!(live.count(), 3);
}

#[tokio::test]
async fn when_every_upstream_fails_the_502_names_each_and_its_error() {
    let (a, b) = (format!("http://127.0.0.1:{}", dead_port()), format!("http://127.0.0.1:{}", dead_port()));
    let targets = json!([{"name": "web", "upstreams": [{"url": a}, {"url": b}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    let mut events = engine.handle.subscribe();

    let reply = http.get("app.localhost", "/").await;
    assert_eq!(reply.status, 502);
    assert!(reply.body.contains("every Upstream of Target \"web\" failed"), "{}", reply.body);
    for url in [&a, &b] {
        let line = format!("{}: connection refused", url.trim_start_matches("http://"));
        assert!(reply.body.contains(&line), "{line:?} missing from:\n{}", reply.body);
    }
    let event = next_request(&mut events).await;
    assert_eq!((event.status, event.upstream.clone(), event.failed.len()), (502, None, 2));
    assert!(event.error.as_deref().unwrap_or("").contains("failed"), "{event:?}");

    let req = http.request(Method::GET, "app.localhost", "/").header(ACCEPT, "text/html");
    let html = http.send(req.body(Empty::new()).unwrap()).await;
    assert_eq!(html.status, 502);
    assert!(html.body.contains("<li>") && html.body.contains("connection refused"), "{}", html.body);
}
