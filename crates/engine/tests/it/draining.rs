//! Draining: disabling an Upstream stops new requests at once, while its in-flight request and open WebSocket
//! finish (a streaming response too, until its body ends); status and events show it draining, then disabled once
//! nothing is open.

use crate::support::{Gate, PATIENCE, TestEngine, TestUpstream, config_with, eventually, next_health};
use futures_util::{SinkExt, StreamExt};
use http::Method;
use http_body_util::{BodyExt, Empty};
use roundabout_engine::HealthState;
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_disabled_upstream_finishes_its_request_and_websocket_and_takes_no_new_ones() {
    let gate = Gate::new();
    let old = TestUpstream::new().name("old").websocket().hold(&gate).start().await;
    let new = TestUpstream::new().name("new").start().await;
    let config = |enabled: bool| {
        config_with(&json!([{"name": "app", "strategy": "first_available",
                             "upstreams": [{"url": old.url(), "enabled": enabled}, {"url": new.url()}]}]))
    };
    let engine = TestEngine::start(&config(true)).await;
    let old_url = old.url();

    let stream = TcpStream::connect(engine.addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async("ws://app.localhost/_hmr", stream).await.unwrap();
    let held = tokio::spawn({
        let http = engine.http();
        async move { http.get("app.localhost", "/slow").await }
    });
    eventually(|| async { engine.upstream("app", &old_url).await.open_connections == 2 }, PATIENCE).await;

    let mut events = engine.handle.subscribe();
    engine.apply(&config(false)).await;
    let draining = next_health(&mut events).await;
    assert_eq!((&*draining.url, draining.health), (old_url.as_str(), HealthState::Draining { open: 2 }));
    assert_eq!(engine.health("app", &old_url).await, HealthState::Draining { open: 2 });
    for _ in 0..3 {
        assert_eq!(engine.http().get("app.localhost", "/").await.upstream(), "new", "no new request for old");
    }

    // The open WebSocket still works, and the held request completes from the disabled upstream.
    ws.send(Message::text("still here")).await.unwrap();
    let echoed = tokio::time::timeout(PATIENCE, ws.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(echoed, Message::text("still here"));
    gate.open();
    let reply = held.await.unwrap();
    assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "old"));
    engine.wait_health("app", &old_url, |h| *h == HealthState::Draining { open: 1 }).await;

    ws.close(None).await.unwrap();
    drop(ws);
    engine.wait_health("app", &old_url, |h| *h == HealthState::Disabled).await;
    assert_eq!(next_health(&mut events).await.health, HealthState::Disabled, "drained");
    assert_eq!(old.count(), 2, "the upgrade and the held request only");
}

#[tokio::test]
async fn a_streaming_response_keeps_its_upstream_draining_until_the_body_ends() {
    let gate = Gate::new();
    let sse = TestUpstream::new().name("sse").held_stream("data: 1\n\n", "data: 2\n\n", &gate).start().await;
    let other = TestUpstream::new().name("other").start().await;
    let config = |enabled: bool| {
        config_with(&json!([{"name": "app", "strategy": "first_available",
                             "upstreams": [{"url": sse.url(), "enabled": enabled}, {"url": other.url()}]}]))
    };
    let engine = TestEngine::start(&config(true)).await;
    let http = engine.http();
    let response =
        http.send_head(http.request(Method::GET, "app.localhost", "/events").body(Empty::new()).unwrap()).await;
    let mut body = response.into_body();
    let first = tokio::time::timeout(PATIENCE, body.frame()).await.unwrap().unwrap().unwrap();
    assert_eq!(first.data_ref().unwrap().as_ref(), b"data: 1\n\n");
    assert_eq!(engine.upstream("app", &sse.url()).await.open_connections, 1, "the head came, the body has not ended");

    engine.apply(&config(false)).await;
    assert_eq!(engine.health("app", &sse.url()).await, HealthState::Draining { open: 1 });
    gate.open();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest.as_ref(), b"data: 2\n\n");
    engine.wait_health("app", &sse.url(), |h| *h == HealthState::Disabled).await;
}
