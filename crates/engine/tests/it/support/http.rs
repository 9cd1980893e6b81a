//! The client side: hyper-util's pooled client pointed at a Listener, and raw TCP exchanges for requests a
//! well-behaved client cannot send (absolute-form, garbage, oversized or unfinished heads).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::header::HOST;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::PATIENCE;

type ClientBody = BoxBody<Bytes, Infallible>;

/// A complete response, body read as text.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body (lossy UTF-8).
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON (an echo upstream's report); fails the test otherwise.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `x-upstream` header: which test upstream answered.
    pub fn upstream(&self) -> &str {
        self.headers.get("x-upstream").and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// A pooled HTTP client bound to one Listener address; requests name the host in the Host header.
#[derive(Debug, Clone)]
pub struct Http {
    client: Client<HttpConnector, ClientBody>,
    addr: SocketAddr,
}

impl Http {
    /// An HTTP/1.1 client with keep-alive (connections are reused between requests).
    pub fn new(addr: SocketAddr) -> Self {
        Http { client: Client::builder(TokioExecutor::new()).build_http(), addr }
    }

    /// An h2c (prior knowledge) client: many concurrent requests over one connection.
    pub fn http2(addr: SocketAddr) -> Self {
        Http { client: Client::builder(TokioExecutor::new()).http2_only(true).build_http(), addr }
    }

    /// A request builder for `path` on this Listener with `Host: host`.
    pub fn request(&self, method: Method, host: &str, path: &str) -> http::request::Builder {
        Request::builder().method(method).uri(format!("http://{}{path}", self.addr)).header(HOST, host)
    }

    /// `GET path` with `Host: host`, read to the end.
    pub async fn get(&self, host: &str, path: &str) -> Reply {
        self.send(self.request(Method::GET, host, path).body(Empty::new()).expect("valid request")).await
    }

    /// Sends a request and reads the whole response; fails the test on a transport error or after [`PATIENCE`].
    pub async fn send<B>(&self, req: Request<B>) -> Reply
    where
        B: Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static,
    {
        let response = self.send_head(req).await;
        let (parts, body) = response.into_parts();
        let body = tokio::time::timeout(PATIENCE, body.collect())
            .await
            .expect("the body arrives within the deadline")
            .expect("the body arrives intact")
            .to_bytes();
        Reply { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&body).into_owned() }
    }

    /// Sends a request and returns as soon as the response head arrives (the body streams on).
    pub async fn send_head<B>(&self, req: Request<B>) -> Response<Incoming>
    where
        B: Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static,
    {
        let req = req.map(BodyExt::boxed);
        tokio::time::timeout(PATIENCE, self.client.request(req))
            .await
            .expect("a response head within the deadline")
            .unwrap_or_else(|e| panic!("request failed: {e:?}"))
    }

    /// Like [`Http::send`] but returns the client error instead of failing the test.
    pub async fn try_get(&self, host: &str, path: &str) -> Result<StatusCode, String> {
        let req = self.request(Method::GET, host, path).body(Empty::new().boxed()).expect("valid request");
        match tokio::time::timeout(PATIENCE, self.client.request(req)).await {
            Err(_) => Err("timed out".into()),
            Ok(Err(e)) => Err(format!("{e:?}")),
            Ok(Ok(r)) => {
                let status = r.status();
                r.into_body().collect().await.map_err(|e| format!("{e:?}"))?;
                Ok(status)
            }
        }
    }
}

/// Writes `bytes` on a new connection and reads until the server closes it. Send `Connection: close` (or bytes the
/// server refuses) so it does.
pub async fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connects to the listener");
    stream.write_all(bytes).await.expect("writes the request");
    let mut out = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out)).await.expect("the server closes in time");
    // A reset after the server's answer still leaves that answer in `out`.
    let _ = read;
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one response with a Content-Length from a raw connection that stays open: its head and its body.
pub async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut byte)).await.unwrap().unwrap();
        assert_eq!(n, 1, "connection closed mid-head: {}", String::from_utf8_lossy(&buf));
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .expect("a content-length");
    let mut body = vec![0u8; len];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut body)).await.unwrap().unwrap();
    (head, String::from_utf8(body).unwrap())
}
