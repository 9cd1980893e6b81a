//! Listeners as separate units: a taken port fails only its Listener, one can be stopped and started by name, and
//! shutdown drains in-flight requests before refusing connections.

use std::time::Duration;

use crate::support::{Gate, Http, PATIENCE, TestEngine, TestUpstream, eventually, listener_addr};
use roundabout_engine::{EngineError, EngineOptions, ListenerState};
use serde_json::json;
use tokio::net::TcpStream;

fn two_listeners(second_bind: &str, upstream: &str) -> serde_json::Value {
    json!({"version": 1,
        "listeners": [{"name": "web", "bind": "127.0.0.1:0"}, {"name": "admin", "bind": second_bind}],
        "targets": [{"name": "app", "upstreams": [{"url": upstream}]}]})
}

#[tokio::test]
async fn a_port_already_in_use_fails_only_that_listener() {
    let up = TestUpstream::new().name("dev").start().await;
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let config = two_listeners(&format!("127.0.0.1:{port}"), &up.url());
    let engine = TestEngine::start(&config).await;

    let status = engine.handle.status().await;
    let admin = &status.listeners[1];
    assert_eq!((admin.name.as_str(), admin.state), ("admin", ListenerState::Failed));
    let error = admin.error.as_deref().unwrap_or("");
    assert!(error.starts_with(&format!("127.0.0.1:{port} is already in use")), "{error}");
    assert!(error.contains("choose another port"), "{error}");
    assert!(admin.addresses.is_empty());
    assert_eq!(status.listeners[0].state, ListenerState::Running);
    assert_eq!(engine.http().get("app.localhost", "/").await.upstream(), "dev");

    // Once the port is free, applying again retries the bind.
    drop(blocker);
    engine.apply(&config).await;
    let admin = listener_addr(&engine.handle, 1).await.expect("admin runs now");
    assert_eq!(admin.port(), port);
    assert_eq!(Http::new(admin).get("app.localhost", "/").await.upstream(), "dev");
}

#[tokio::test]
async fn a_listener_can_be_stopped_and_started_by_name() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = TestEngine::start(&two_listeners("127.0.0.1:0", &up.url())).await;
    let admin = listener_addr(&engine.handle, 1).await.unwrap();
    assert_eq!(Http::new(admin).get("app.localhost", "/").await.upstream(), "dev");

    let config = engine.handle.set_listener_enabled("admin", false).await.unwrap();
    assert!(!config.listeners[1].enabled, "the returned config is the one to save");
    let status = engine.handle.status().await;
    assert_eq!((status.listeners[1].state, status.listeners[1].addresses.len()), (ListenerState::Stopped, 0));
    let refused = TcpStream::connect(admin).await.expect_err("a stopped Listener refuses connections");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(engine.http().get("app.localhost", "/").await.upstream(), "dev", "the other Listener still serves");

    engine.handle.set_listener_enabled("admin", true).await.unwrap();
    let again = listener_addr(&engine.handle, 1).await.expect("admin runs again");
    assert_eq!(Http::new(again).get("app.localhost", "/").await.upstream(), "dev");

    let unknown = engine.handle.set_listener_enabled("nope", false).await;
    assert!(matches!(unknown, Err(EngineError::UnknownListener(ref n)) if n == "nope"), "{unknown:?}");
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish_then_refuses_connections() {
    let gate = Gate::new();
    let up = TestUpstream::new().name("slow").hold(&gate).start().await;
    let config = json!({"version": 1, "listeners": [{"name": "web", "bind": "127.0.0.1:0"}],
        "targets": [{"name": "app", "upstreams": [{"url": up.url()}]}]});
    let options = EngineOptions { drain: Duration::from_secs(30), ..EngineOptions::default() };
    let engine = TestEngine::start_with(&config, options).await;
    let http = engine.http();
    let in_flight = tokio::spawn({
        let http = http.clone();
        async move { http.get("app.localhost", "/long").await }
    });
    eventually(|| async { up.count() == 1 }, PATIENCE).await;

    let shutdown = tokio::spawn({
        let handle = engine.handle.clone();
        async move { handle.shutdown().await }
    });
    let addr = engine.addr;
    eventually(|| async { TcpStream::connect(addr).await.is_err() }, PATIENCE).await;
    assert!(!in_flight.is_finished() && !shutdown.is_finished(), "shutdown waits for the request in flight");

    gate.open();
    let reply = in_flight.await.unwrap();
    assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "slow"));
    assert_eq!(reply.json()["path"], "/long");
    tokio::time::timeout(PATIENCE, shutdown).await.expect("shutdown finishes once drained").unwrap();
    let refused = TcpStream::connect(addr).await.expect_err("nothing listens after shutdown");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn stopping_a_listener_with_an_open_stream_never_freezes_status() {
    let gate = Gate::new();
    let up = TestUpstream::new().held_stream("data: one\n\n", "data: two\n\n", &gate).start().await;
    let options = EngineOptions { drain: Duration::from_secs(600), ..EngineOptions::default() };
    let engine = TestEngine::start_with(&two_listeners("127.0.0.1:0", &up.url()), options).await;
    let admin = listener_addr(&engine.handle, 1).await.unwrap();
    let http = Http::new(admin);
    let request = http.request(http::Method::GET, "app.localhost", "/events").body(http_body_util::Empty::new());
    let mut stream = http.send_head(request.unwrap()).await.into_body();
    let first = tokio::time::timeout(PATIENCE, http_body_util::BodyExt::frame(&mut stream)).await.unwrap();
    assert_eq!(first.unwrap().unwrap().into_data().unwrap(), "data: one\n\n");

    // The stream keeps the Listener's drain going for as long as the drain time allows: control calls must not wait.
    tokio::time::timeout(PATIENCE, engine.handle.set_listener_enabled("admin", false))
        .await
        .expect("stopping returns while the stream is open")
        .unwrap();
    let status = tokio::time::timeout(PATIENCE, engine.handle.status()).await.expect("status answers meanwhile");
    assert_eq!(status.listeners[1].state, ListenerState::Stopped);
    tokio::time::timeout(PATIENCE, engine.handle.set_listener_enabled("admin", true)).await.unwrap().unwrap();

    gate.open();
    let rest = tokio::time::timeout(PATIENCE, http_body_util::BodyExt::collect(stream)).await.unwrap().unwrap();
    assert_eq!(rest.to_bytes(), "data: two\n\n", "the stream in flight finished on the stopped Listener");
}
