//! Upgrades (WebSocket, dev servers' HMR): tunnelled once the upstream answers 101, and left as plain HTTP when it
//! does not.

use crate::support::{PATIENCE, TestEngine, TestUpstream, config_with, read_response};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_websocket_is_tunnelled_after_the_upstream_answers_101() {
    let up = TestUpstream::new().websocket().start().await;
    let targets = json!([{"name": "hmr", "match": {"host": "app.localhost"}, "upstreams": [{"url": up.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let stream = TcpStream::connect(engine.addr).await.unwrap();
    let (mut ws, response) =
        tokio_tungstenite::client_async("ws://app.localhost/_hmr", stream).await.expect("the handshake completes");
    assert_eq!(response.status(), 101);
    for message in [Message::text("hello"), Message::binary(vec![0u8, 1, 2, 255]), Message::text("x".repeat(100_000))] {
        ws.send(message.clone()).await.unwrap();
        let echoed = tokio::time::timeout(PATIENCE, ws.next()).await.expect("an echo in time").unwrap().unwrap();
        assert_eq!(echoed, message);
    }
    ws.close(None).await.unwrap();
    let seen = &up.requests()[0];
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", "/_hmr"));
    assert_eq!(seen.headers["upgrade"], "websocket");
    assert!(seen.headers.contains_key("sec-websocket-key"));
}

/// Reads one HTTP/1.1 response with a Content-Length body from `stream`, leaving the connection open.
#[tokio::test]
async fn an_upgrade_refused_with_200_stays_plain_http() {
    let up = TestUpstream::new().name("plain").start().await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let mut stream = TcpStream::connect(engine.addr).await.unwrap();
    stream
        .write_all(
            b"GET /first HTTP/1.1\r\nHost: app.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .unwrap();
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("upgrade"), "{head}");
    assert!(body.contains("\"/first\""), "{body}");

    // Still HTTP: the next request on the same connection is parsed and forwarded by Roundabout (it gains
    // X-Forwarded-For), not piped raw to the upstream.
    stream.write_all(b"GET /second HTTP/1.1\r\nHost: app.localhost\r\n\r\n").await.unwrap();
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("\"/second\""), "{body}");
    let seen = up.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].headers["x-forwarded-for"], "127.0.0.1");
}
