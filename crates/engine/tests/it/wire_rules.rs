//! What a client may send, byte by byte, and what reaches an Upstream: the framing and Host rules of RFC 9112 where
//! a lax proxy lets one request hide another, or sends a request somewhere it was never meant to go. A recording
//! Upstream on a raw socket shows exactly what arrived.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::support::{PATIENCE, TestEngine, TestUpstream, config_with, eventually, raw_exchange};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An Upstream that records every byte it receives and answers `200 ok` to each complete request (a body framed by
/// Content-Length or chunks).
struct Recorder {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Recorder {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(record(socket, Arc::clone(&log)));
            }
        });
        Recorder { addr, received }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }
}

async fn record(mut socket: TcpStream, log: Arc<Mutex<Vec<u8>>>) {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(len) = complete_request(&pending) {
            pending.drain(..len);
            if socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.is_err() {
                return;
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                log.lock().unwrap().extend_from_slice(&chunk[..n]);
                pending.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

/// The length of the first complete request in `bytes`, if there is one.
fn complete_request(bytes: &[u8]) -> Option<usize> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        let last = bytes[head_end..].windows(5).position(|w| w == b"0\r\n\r\n" || w.starts_with(b"0\r\n"))?;
        let trailer_start = head_end + last + 3;
        let end = bytes[trailer_start - 2..].windows(4).position(|w| w == b"\r\n\r\n")?;
        return Some(trailer_start - 2 + end + 4);
    }
    let length = head.lines().find_map(|l| l.strip_prefix("content-length: ")).map_or(0, |v| v.trim().parse().unwrap());
    (bytes.len() >= head_end + length).then_some(head_end + length)
}

async fn engine_for(url: &str) -> TestEngine {
    TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": url}]}]))).await
}

#[tokio::test]
async fn an_http_1_0_request_with_transfer_encoding_is_refused_and_what_follows_never_reaches_an_upstream() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = engine_for(&up.url()).await;
    let smuggling = "POST / HTTP/1.0\r\nHost: app.localhost\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n\
                     0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.localhost\r\n\r\n";
    let answer = raw_exchange(engine.addr, smuggling.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("Transfer-Encoding is not part of HTTP/1.0"), "{answer}");
    assert_eq!(answer.matches("400 Bad Request").count(), 1, "the connection closed after the refusal: {answer}");
    assert_eq!(up.count(), 0);
}

#[tokio::test]
async fn a_chunk_extension_hiding_a_line_break_is_refused_and_hides_nothing() {
    let up = Recorder::start().await;
    let engine = engine_for(&up.url()).await;
    let smuggling = "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
                     1;ext=\"\r\nX\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.localhost\r\n\r\n\"\r\nX\r\n0\r\n\r\n";
    let answer = raw_exchange(engine.addr, smuggling.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("bad chunk extension"), "{answer}");
    assert!(!up.text().contains("/smuggled"), "{}", up.text());
    assert!(!answer.contains("\r\n\r\nok"), "no second answer: {answer}");
}

#[tokio::test]
async fn trailer_fields_that_would_reframe_or_reroute_are_dropped() {
    let up = Recorder::start().await;
    let engine = engine_for(&up.url()).await;
    let request = "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                   5\r\nhello\r\n0\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nHost: evil.localhost\r\n\
                   X-Checksum: 42\r\n\r\n";
    let answer = raw_exchange(engine.addr, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let received = up.text();
    let trailers = &received[received.find("\r\n0\r\n").expect("the last chunk") + 5..];
    assert_eq!(trailers, "x-checksum: 42\r\n\r\n", "only the harmless trailer field arrives: {received}");
}

#[tokio::test]
async fn a_repeated_content_length_reaches_the_upstream_once() {
    let up = Recorder::start().await;
    let engine = engine_for(&up.url()).await;
    for lengths in ["Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length: 5, 5\r\n"] {
        let request = format!("POST / HTTP/1.1\r\nHost: app.localhost\r\n{lengths}Connection: close\r\n\r\nhello");
        let answer = raw_exchange(engine.addr, request.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let received = up.text().to_ascii_lowercase();
    assert_eq!(received.matches("content-length: 5\r\n").count(), 2, "{received}");
    assert_eq!(received.matches("content-length").count(), 2, "one line per request: {received}");
}

#[tokio::test]
async fn a_request_without_exactly_one_valid_host_is_refused_before_any_upstream() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = engine_for(&up.url()).await;
    let heads = [
        ("GET / HTTP/1.1\r\n", "no Host header"),
        ("GET / HTTP/1.1\r\nHost: app.localhost\r\nHost: app.localhost\r\n", "more than one Host"),
        ("GET / HTTP/1.1\r\nHost: app.localhost\r\nHost: other.localhost\r\n", "more than one Host"),
        ("GET / HTTP/1.1\r\nHost: app.localhost/evil\r\n", "not a host name"),
        ("GET / HTTP/1.1\r\nHost: app localhost\r\n", "not a host name"),
        ("GET / HTTP/1.1\r\nHost: :80:80\r\n", "not a host name"),
        ("GET / HTTP/1.1\r\nHost: @evil\r\n", "not a host name"),
        ("GET http://user@app.localhost/ HTTP/1.1\r\nHost: app.localhost\r\n", "not a host name"),
    ];
    for (head, why) in heads {
        let answer = raw_exchange(engine.addr, format!("{head}Connection: close\r\n\r\n").as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{head:?}: {answer}");
        assert!(answer.contains(why), "{head:?} should say {why:?}: {answer}");
    }
    assert_eq!(up.count(), 0, "none of them reached the upstream");
}

#[tokio::test]
async fn connection_cannot_strip_the_host_sent_on() {
    let up = TestUpstream::new().name("dev").start().await;
    let engine = engine_for(&up.url()).await;
    let request = b"GET / HTTP/1.1\r\nHost: app.localhost:8800\r\nConnection: Host, close\r\n\r\n";
    let answer = raw_exchange(engine.addr, request).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    eventually(|| async { up.count() == 1 }, PATIENCE).await;
    let seen = &up.requests()[0].headers;
    assert_eq!(seen["host"], "app.localhost:8800");
    assert_eq!(seen["x-forwarded-host"], "app.localhost:8800");
}
