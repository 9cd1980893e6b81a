//! What clients send on the wire, answered by Roundabout's own HTTP/1 server: pipelined requests, HTTP/1.0, bodies
//! nobody reads, clients that give up, and requests that are not HTTP.

use crate::support::{PATIENCE, TestEngine, TestUpstream, config_with, raw_exchange, read_response};
use roundabout_engine::HEADER_READ_TIMEOUT;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn engine_for(url: &str) -> TestEngine {
    TestEngine::start(&config_with(
        &json!([{"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": url}]}]),
    ))
    .await
}

fn echoed_path(body: &str) -> String {
    let echo: Value = serde_json::from_str(body).unwrap();
    echo["path"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = engine_for(&up.url()).await;
    let mut stream = TcpStream::connect(engine.addr).await.unwrap();
    let two = "GET /one HTTP/1.1\r\nHost: app.localhost\r\n\r\nGET /two?x=1 HTTP/1.1\r\nHost: app.localhost\r\n\r\n";
    stream.write_all(two.as_bytes()).await.unwrap();
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(echoed_path(&body), "/one");
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(echoed_path(&body), "/two?x=1");
}

#[tokio::test]
async fn an_http_1_0_client_is_answered_in_http_1_0_and_kept_only_when_it_asks() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = engine_for(&up.url()).await;

    let plain = raw_exchange(engine.addr, b"GET /old HTTP/1.0\r\nHost: app.localhost\r\n\r\n").await;
    assert!(plain.starts_with("HTTP/1.0 200"), "{plain}");
    assert!(plain.contains("connection: close\r\n"), "{plain}");

    let mut stream = TcpStream::connect(engine.addr).await.unwrap();
    for path in ["/a", "/b"] {
        let request = format!("GET {path} HTTP/1.0\r\nHost: app.localhost\r\nConnection: keep-alive\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let (head, body) = read_response(&mut stream).await;
        assert!(head.starts_with("HTTP/1.0 200") && head.contains("connection: keep-alive\r\n"), "{head}");
        assert_eq!(echoed_path(&body), path);
    }
}

#[tokio::test]
async fn a_request_body_nobody_reads_does_not_cost_the_connection() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = engine_for(&up.url()).await;
    let mut stream = TcpStream::connect(engine.addr).await.unwrap();
    // No Target matches this host: the 404 is written without reading the body.
    let unmatched = "POST /form HTTP/1.1\r\nHost: nowhere.localhost\r\nContent-Length: 11\r\n\r\nhello world";
    stream.write_all(unmatched.as_bytes()).await.unwrap();
    let (head, _) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 404") && !head.contains("connection: close"), "{head}");
    stream.write_all(b"GET /next HTTP/1.1\r\nHost: app.localhost\r\n\r\n").await.unwrap();
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(echoed_path(&body), "/next", "the unread body was not taken for the next request");
}

#[tokio::test]
async fn a_client_that_gives_up_cancels_its_request_at_the_upstream() {
    // An Upstream that reads the request and never answers; it reports when the proxy closes the connection.
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let engine = engine_for(&format!("http://{}", upstream.local_addr().unwrap())).await;
    let mut client = TcpStream::connect(engine.addr).await.unwrap();
    client.write_all(b"GET /slow HTTP/1.1\r\nHost: app.localhost\r\n\r\n").await.unwrap();
    let (mut socket, _) = tokio::time::timeout(PATIENCE, upstream.accept()).await.unwrap().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(PATIENCE, socket.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "the request arrives whole");
        seen.extend_from_slice(&buf[..n]);
    }
    drop(client);
    let after = tokio::time::timeout(PATIENCE, socket.read(&mut buf)).await;
    assert!(matches!(after, Ok(Ok(0) | Err(_))), "the proxy closes the Upstream connection once the client left");
}

#[tokio::test]
async fn a_request_that_is_not_http_gets_a_400_that_says_why() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = engine_for(&up.url()).await;
    let answer = raw_exchange(engine.addr, b"GET / HTTP/1.1\r\nHost app.localhost\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    assert!(answer.contains("could not read this request: it is not valid HTTP/1.1"), "{answer}");
    assert_eq!(up.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_finishes_its_head_is_closed_after_the_header_read_timeout() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = engine_for(&up.url()).await;
    let mut slow = TcpStream::connect(engine.addr).await.unwrap();
    let started = tokio::time::Instant::now();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Slow: a").await.unwrap();
    // The clock is paused: it jumps to each timer as soon as nothing else can run.
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(3 * HEADER_READ_TIMEOUT, slow.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "the Listener closes the connection: {read:?}");
    let waited = started.elapsed();
    assert!(waited >= HEADER_READ_TIMEOUT && waited <= 2 * HEADER_READ_TIMEOUT, "closed after {waited:?}");
    assert_eq!(up.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_idle_keep_alive_connection_is_closed_within_twice_the_header_read_timeout() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = engine_for(&up.url()).await;
    let mut stream = TcpStream::connect(engine.addr).await.unwrap();
    stream.write_all(b"GET /once HTTP/1.1\r\nHost: app.localhost\r\n\r\n").await.unwrap();
    let (head, _) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let served = tokio::time::Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(3 * HEADER_READ_TIMEOUT, stream.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "the Listener closes the idle connection: {read:?}");
    let idle = served.elapsed();
    assert!(idle >= HEADER_READ_TIMEOUT && idle <= 2 * HEADER_READ_TIMEOUT, "closed after {idle:?} idle");
}
