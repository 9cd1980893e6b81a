//! The less ordinary answers of a test upstream: a held-back event stream, a WebSocket echo, and a raw server that
//! closes each connection after one response without saying so.

use std::sync::Mutex;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{CONNECTION, CONTENT_TYPE, UPGRADE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::upstream::{Gate, LoggedRequest, ResponseBody};

pub(super) fn held_body(first: Bytes, rest: Bytes, gate: Gate) -> Response<ResponseBody> {
    let frames = futures_util::stream::unfold(0u8, move |step| {
        let (first, rest, gate) = (first.clone(), rest.clone(), gate.clone());
        async move {
            match step {
                0 => Some((Ok(Frame::data(first)), 1)),
                1 => {
                    gate.opened().await;
                    Some((Ok(Frame::data(rest)), 2))
                }
                _ => None,
            }
        }
    });
    let mut r = Response::new(StreamBody::new(frames).boxed_unsync());
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r
}

pub(super) fn accept_websocket(req: &mut Request<Incoming>) -> Response<ResponseBody> {
    let key = req.headers().get("sec-websocket-key").map(|k| derive_accept_key(k.as_bytes())).unwrap_or_default();
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        let mut ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() || ws.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut r = Response::new(Full::new(Bytes::new()).boxed_unsync());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert("sec-websocket-accept", HeaderValue::from_str(&key).expect("base64 is header-safe"));
    r
}

/// Reads one request head, logs it and closes the socket without answering.
pub(super) async fn hang_up(mut stream: TcpStream, log: &Mutex<Vec<LoggedRequest>>) {
    read_and_log_head(&mut stream, log).await;
}

/// Reads one request head (bodies are not supported), answers, and closes the socket without `Connection: close`.
pub(super) async fn serve_raw_once(mut stream: TcpStream, name: &str, log: &Mutex<Vec<LoggedRequest>>) {
    if !read_and_log_head(&mut stream, log).await {
        return;
    }
    let body = name;
    let response = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nx-upstream: {body}\r\n\r\n{body}", body.len());
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads a request head (no body) and logs its method and path; false when the client went away first.
async fn read_and_log_head(stream: &mut TcpStream, log: &Mutex<Vec<LoggedRequest>>) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.split_whitespace();
    let (method, path) = (words.next().unwrap_or("").to_owned(), words.next().unwrap_or("").to_owned());
    log.lock().unwrap().push(LoggedRequest { method, path, headers: HeaderMap::new() });
    true
}
