//! What a reverse proxy for dev servers must refuse or survive: loops, absolute-form and CONNECT requests (no
//! forward proxying), garbage, oversized heads and clients that never finish their headers.

use std::time::Instant;

use crate::support::{TestEngine, TestUpstream, config_with, next_request, raw_exchange};
use roundabout_engine::HEADER_READ_TIMEOUT;
use roundabout_engine::{Event, Received};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn a_target_pointing_at_its_own_listener_answers_508_at_once() {
    let engine = TestEngine::start(&config_with(&json!([]))).await;
    let port = engine.addr.port();
    for url in [format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}/base")] {
        engine.apply(&config_with(&json!([{"name": "self", "upstreams": [{"url": url}]}]))).await;
        assert!(engine.handle.status().await.targets[0].upstreams[0].loops_back, "{url}");
        let mut events = engine.handle.subscribe();
        let reply = engine.http().get("app.localhost", "/").await;
        assert_eq!(reply.status, 508, "{url}: {}", reply.body);
        assert!(reply.body.contains("which is Roundabout itself"), "{}", reply.body);
        let event = next_request(&mut events).await;
        assert_eq!((event.status, event.error.as_deref()), (508, Some("loop detected")));
        // At once: the request was never forwarded, so no second pass through the Listener was logged.
        let later = events.try_recv();
        assert!(!matches!(later, Some(Received::Event(ref e)) if matches!(**e, Event::Request(_))), "{later:?}");
    }
}

#[tokio::test]
async fn an_absolute_form_request_goes_only_to_the_matching_targets_upstream() {
    let catch_all = TestUpstream::new().name("catch-all").start().await;
    let api = TestUpstream::new().name("api").start().await;
    let bystander = TestUpstream::new().name("bystander").start().await;
    let targets = json!([
        {"name": "api", "match": {"host": "api.localhost"}, "upstreams": [{"url": api.url()}]},
        {"name": "rest", "match": {}, "upstreams": [{"url": catch_all.url()}]}
    ]);
    let engine = TestEngine::start(&config_with(&targets)).await;

    // Addressed to a real server that is not in the config: Roundabout must not act as a forward proxy.
    let request =
        format!("GET http://{}/steal?x=1 HTTP/1.1\r\nHost: {0}\r\nConnection: close\r\n\r\n", bystander.addr());
    let response = raw_exchange(engine.addr, request.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("x-upstream: catch-all"), "{response}");
    assert_eq!(catch_all.requests()[0].path, "/steal?x=1");
    assert_eq!((bystander.count(), bystander.connections()), (0, 0));

    // The absolute URI's authority, not the Host header, decides the route.
    let request = b"GET http://API.localhost:9/v1 HTTP/1.1\r\nHost: other.localhost\r\nConnection: close\r\n\r\n";
    let response = raw_exchange(engine.addr, request).await;
    assert!(response.contains("x-upstream: api"), "{response}");
    assert_eq!(api.requests()[0].headers["host"], "API.localhost:9");
    assert_eq!(catch_all.count(), 1);
}

#[tokio::test]
async fn connect_is_refused_with_405_and_nothing_is_contacted() {
    let catch_all = TestUpstream::new().start().await;
    let bystander = TestUpstream::new().start().await;
    let engine =
        TestEngine::start(&config_with(&json!([{"name": "all", "upstreams": [{"url": catch_all.url()}]}]))).await;
    let mut events = engine.handle.subscribe();
    let request = format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\nConnection: close\r\n\r\n", bystander.addr());
    let response = raw_exchange(engine.addr, request.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
    assert!(response.contains("CONNECT is not supported"), "{response}");
    assert_eq!(next_request(&mut events).await.status, 405);
    assert_eq!((catch_all.connections(), bystander.connections()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_oversized_heads_and_slow_clients_do_not_stop_the_listener() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let http = engine.http();

    // Slowloris: many connections that start a request and never finish its head, kept open throughout.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(engine.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Slow: a").await.unwrap();
        slow.push(s);
    }
    let started = Instant::now();

    let garbage = raw_exchange(engine.addr, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n").await;
    assert!(garbage.is_empty() || garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    let line = raw_exchange(engine.addr, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert!(line.is_empty() || line.starts_with("HTTP/1.1 400"), "{line}");

    let huge = format!("GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Big: {}\r\n\r\n", "a".repeat(70 * 1024));
    let refused = raw_exchange(engine.addr, huge.as_bytes()).await;
    assert!(refused.is_empty() || refused.starts_with("HTTP/1.1 431"), "{}", &refused[..refused.len().min(200)]);

    let reply = http.get("app.localhost", "/still-serving").await;
    assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "dev"));
    assert!(started.elapsed() < HEADER_READ_TIMEOUT / 2, "served only after slow clients timed out");
    assert_eq!(up.count(), 1, "only the good request reached the upstream");

    // The slow clients are still connected (nothing was waiting for them to time out).
    for s in &mut slow {
        s.write_all(b"b").await.expect("a slow connection is still open");
    }
}
