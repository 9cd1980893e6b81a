//! HTTP/1.1 towards Upstreams, byte by byte: scripted Upstreams on raw sockets send what real dev servers send
//! (bodies ended by the close, interim answers, HEAD answers, early answers to uploads, mixed framing, garbage)
//! and each test checks what the client receives and which connections the Upstream saw.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{PATIENCE, TestEngine, config_with, raw_exchange};
use http::Method;
use http_body_util::Full;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An Upstream that answers each request head it reads with `answer(head)`, then closes the connection when the
/// answer says so. Counts the connections it accepted.
struct Scripted {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

/// What a scripted Upstream does with one request: the bytes to write, and whether to close afterwards.
type Script = fn(&str) -> (Vec<u8>, bool);

impl Scripted {
    async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, script));
            }
        });
        Scripted { addr, connections }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads request heads (bodies are not read) and writes the script's answers.
async fn serve(mut socket: TcpStream, script: Script) {
    let mut buf = Vec::new();
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let (answer, close) = script(&head);
            if socket.write_all(&answer).await.is_err() || close {
                return;
            }
        }
        let mut chunk = [0u8; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn engine_for(up: &Scripted) -> TestEngine {
    TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await
}

#[tokio::test]
async fn a_body_ended_by_the_close_arrives_whole_and_its_connection_is_not_reused() {
    let up =
        Scripted::start(|_| (b"HTTP/1.1 200 OK\r\nx-kind: close-delimited\r\n\r\nuntil the very end".to_vec(), true))
            .await;
    let engine = engine_for(&up).await;
    for _ in 0..2 {
        let reply = engine.http().get("app.localhost", "/").await;
        assert_eq!((reply.status.as_u16(), reply.body.as_str()), (200, "until the very end"));
        assert_eq!(reply.headers["x-kind"], "close-delimited");
    }
    assert_eq!(up.connections(), 2, "a connection whose close ended the body cannot carry another request");
}

#[tokio::test]
async fn interim_answers_are_skipped_and_the_final_one_is_forwarded() {
    let up = Scripted::start(|_| {
        let answer = "HTTP/1.1 103 Early Hints\r\nlink: </app.css>; rel=preload\r\n\r\n\
                      HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal";
        (answer.as_bytes().to_vec(), false)
    })
    .await;
    let engine = engine_for(&up).await;
    let reply = engine.http().get("app.localhost", "/").await;
    assert_eq!((reply.status.as_u16(), reply.body.as_str()), (200, "final"));
}

#[tokio::test]
async fn head_answers_have_no_body_and_leave_the_connection_reusable() {
    let up = Scripted::start(|head| {
        let answer: &[u8] = if head.starts_with("HEAD ") {
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
        } else {
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
        };
        (answer.to_vec(), false)
    })
    .await;
    let engine = engine_for(&up).await;
    let http = engine.http();
    let head = http.send(http.request(Method::HEAD, "app.localhost", "/").body(Full::default()).unwrap()).await;
    assert_eq!((head.status.as_u16(), head.body.as_str()), (200, ""));
    assert_eq!(head.headers["content-length"], "5", "a HEAD answer keeps the length of what a GET would get");
    let get = http.get("app.localhost", "/").await;
    assert_eq!((get.status.as_u16(), get.body.as_str()), (200, "hello"));
    assert_eq!(up.connections(), 1, "the GET went on the HEAD's connection");
}

#[tokio::test]
async fn a_chunked_body_wins_over_a_content_length_which_is_not_passed_on() {
    let up = Scripted::start(|_| {
        let answer = "HTTP/1.1 200 OK\r\ncontent-length: 100\r\ntransfer-encoding: chunked\r\n\r\n\
                      5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        (answer.as_bytes().to_vec(), false)
    })
    .await;
    let engine = engine_for(&up).await;
    let reply = engine.http().get("app.localhost", "/").await;
    assert_eq!((reply.status.as_u16(), reply.body.as_str()), (200, "hello world"));
    assert_ne!(reply.headers.get("content-length").map(http::HeaderValue::as_bytes), Some(&b"100"[..]));
}

#[tokio::test]
async fn an_answer_that_is_not_http_becomes_a_502_that_says_so() {
    let up = Scripted::start(|_| (b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec(), true)).await;
    let engine = engine_for(&up).await;
    let reply = engine.http().get("app.localhost", "/").await;
    assert_eq!(reply.status.as_u16(), 502, "{}", reply.body);
    assert!(reply.body.contains("not valid HTTP"), "{}", reply.body);
    assert!(reply.body.contains(&up.addr.to_string()), "the page names the Upstream: {}", reply.body);
}

#[tokio::test]
async fn an_upstream_answering_before_reading_the_upload_is_heard_at_once() {
    let up = Scripted::start(|_| {
        (b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 8\r\nconnection: close\r\n\r\ntoo big!".to_vec(), true)
    })
    .await;
    let engine = engine_for(&up).await;
    let mut client = TcpStream::connect(engine.addr).await.unwrap();
    // Announces 64 MiB but sends only the head and a little: the answer must not wait for the rest.
    let head = "POST /upload HTTP/1.1\r\nhost: app.localhost\r\ncontent-length: 67108864\r\n\r\n";
    client.write_all(head.as_bytes()).await.unwrap();
    client.write_all(&[b'x'; 16 * 1024]).await.unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains("too big!") {
        let n = tokio::time::timeout(PATIENCE, client.read(&mut chunk)).await.expect("the 413 arrives").unwrap();
        assert_ne!(n, 0, "closed without the answer: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 413"), "{}", String::from_utf8_lossy(&answer));
}

#[tokio::test]
async fn an_idle_connection_the_upstream_closed_is_not_used() {
    // Like a dev server with a short keep-alive: every connection is closed right after its answer, while the
    // answer itself says nothing about it.
    let up = Scripted::start(|_| (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(), true)).await;
    let engine = engine_for(&up).await;
    for i in 0..20 {
        let reply =
            raw_exchange(engine.addr, b"GET / HTTP/1.1\r\nhost: app.localhost\r\nconnection: close\r\n\r\n").await;
        assert!(reply.starts_with("HTTP/1.1 200") && reply.ends_with("ok"), "request {i}: {reply}");
    }
    assert_eq!(up.connections(), 20);
}

#[tokio::test]
async fn a_204_or_304_reaches_the_client_without_the_upstreams_content_length() {
    let up = Scripted::start(|head| {
        let status = if head.starts_with("GET /204") { "204 No Content" } else { "304 Not Modified" };
        (format!("HTTP/1.1 {status}\r\ncontent-length: 8\r\netag: \"v1\"\r\n\r\n").into_bytes(), false)
    })
    .await;
    let engine = engine_for(&up).await;
    for path in ["/204", "/304"] {
        let request = format!("GET {path} HTTP/1.1\r\nhost: app.localhost\r\nconnection: close\r\n\r\n");
        let answer = raw_exchange(engine.addr, request.as_bytes()).await;
        assert!(answer.starts_with(&format!("HTTP/1.1 {}", &path[1..])), "{answer}");
        assert!(!answer.to_ascii_lowercase().contains("content-length"), "{path}: {answer}");
        assert!(answer.contains("etag: \"v1\""), "{answer}");
        assert!(answer.ends_with("\r\n\r\n"), "no body: {answer:?}");
        let h2 = crate::support::Http::http2(engine.addr).get("app.localhost", path).await;
        assert_eq!(h2.status.as_u16(), path[1..].parse::<u16>().unwrap());
        assert!(h2.headers.get("content-length").is_none(), "{path} over h2c: {:?}", h2.headers);
    }
}

#[tokio::test]
async fn a_transfer_coding_other_than_chunked_is_a_502_that_names_it() {
    let up = Scripted::start(|_| {
        let answer = "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n3\r\n\x1f\x08\x01\r\n0\r\n\r\n";
        (answer.as_bytes().to_vec(), true)
    })
    .await;
    let engine = engine_for(&up).await;
    let reply = engine.http().get("app.localhost", "/").await;
    assert_eq!(reply.status.as_u16(), 502, "{}", reply.body);
    assert!(reply.body.contains("Transfer-Encoding: gzip, chunked"), "{}", reply.body);
    assert!(!reply.body.contains('\u{1f}'), "no undecodable bytes reach the client");
}
