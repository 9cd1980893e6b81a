//! Keep-alive connections to one Upstream origin, reused across requests.
//!
//! Each Upstream in the routing snapshot holds its pool directly, so a request finds its idle connection with
//! one uncontended lock and a `Vec::pop` (no hashing, no task spawned per request). A connection goes back to the
//! pool when the response body ends; it is connected first and only then handed the request, so a connect failure
//! leaves the request untouched for the next Upstream. Idle connections older than [`POOL_IDLE`] are dropped on the
//! next checkout and by [`ConnectionPool::sweep`], below Node's 5 s keep-alive, so a connection the dev server has
//! closed is not reused.

use std::error::Error as StdError;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use tokio::time::Instant;
use tower_service::Service;

use crate::body::RequestBody;
use crate::client::{self, Connector};

/// How long an idle connection is kept (below Node's 5 s server keep-alive).
pub const POOL_IDLE: Duration = Duration::from_secs(4);
/// Idle connections kept per origin; more are closed when they come back.
pub const MAX_IDLE: usize = 256;

/// Idle connections to one origin (`scheme://host:port`).
#[derive(Debug)]
pub struct ConnectionPool {
    /// `scheme://authority/`, what the connector dials.
    origin: Uri,
    /// The origin's authority as a Host header, for requests that do not keep the client's.
    host: HeaderValue,
    /// Most recently returned last, so the warmest connection is reused first and the oldest expire.
    idle: Mutex<Vec<Idle>>,
}

#[derive(Debug)]
struct Idle {
    sender: SendRequest<RequestBody>,
    since: Instant,
}

/// Why an attempt got no response; shown as a short cause (`connection refused`, `connect timed out`…).
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Connecting failed (refused, timed out, TLS): nothing was sent.
    #[error("{}", client::describe(.0.as_ref()))]
    Connect(#[source] Box<dyn StdError + Send + Sync>),
    /// The connection failed while sending the request or waiting for the response.
    #[error("{}", client::describe(.0))]
    Send(#[source] hyper::Error),
}

impl UpstreamError {
    /// True when nothing reached the Upstream, so the request may go elsewhere whatever its method.
    pub fn is_connect(&self) -> bool {
        matches!(self, UpstreamError::Connect(_))
    }

    /// A short cause for the log and error pages: `connection refused`, `connect timed out`…
    pub fn describe(&self) -> String {
        self.to_string()
    }

    /// True when the Upstream closed the connection before any response byte.
    pub fn closed_before_response(&self) -> bool {
        match self {
            UpstreamError::Connect(_) => false,
            UpstreamError::Send(e) => client::closed_before_response(e),
        }
    }
}

/// A failed attempt, with the request handed back when it was never sent (so the next Upstream can take it).
pub struct Failed {
    /// What went wrong.
    pub error: UpstreamError,
    /// The request, when nothing of it was sent.
    pub unsent: Option<Request<RequestBody>>,
}

/// A connection on loan to one request; back to its pool when dropped (at the end of the response body), unless
/// the connection was upgraded or closed.
#[derive(Debug)]
pub struct Lease {
    sender: Option<SendRequest<RequestBody>>,
    pool: Arc<ConnectionPool>,
}

impl Lease {
    /// Keeps the connection out of the pool: it now carries a WebSocket (or another upgraded protocol), or its
    /// response was not read to the end.
    pub fn discard(mut self) {
        self.sender = None;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            self.pool.put(sender);
        }
    }
}

impl ConnectionPool {
    /// An empty pool for `scheme://authority`.
    pub fn new(scheme: &Scheme, authority: &Authority) -> Self {
        let origin = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .unwrap_or_default();
        let host = HeaderValue::from_str(authority.as_str()).unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        ConnectionPool { origin, host, idle: Mutex::new(Vec::new()) }
    }

    /// The origin's `host:port`, the Host header for requests that do not keep the client's.
    pub fn host(&self) -> &HeaderValue {
        &self.host
    }

    /// Sends `request` on an idle connection, or on a new one. A request that found its idle connection closing
    /// before anything was written is sent again on another; a connect failure hands the request back.
    pub async fn send(
        self: &Arc<Self>,
        connector: &Connector,
        mut request: Request<RequestBody>,
    ) -> Result<(Response<Incoming>, Lease), Failed> {
        loop {
            let (mut sender, reused) = match self.take_idle().await {
                Some(sender) => (sender, true),
                None => match self.connect(connector).await {
                    Ok(sender) => (sender, false),
                    Err(error) => return Err(Failed { error, unsent: Some(request) }),
                },
            };
            match sender.try_send_request(request).await {
                Ok(response) => return Ok((response, Lease { sender: Some(sender), pool: Arc::clone(self) })),
                Err(mut e) => match e.take_message() {
                    Some(back) if reused => request = back,
                    unsent => return Err(Failed { error: UpstreamError::Send(e.into_error()), unsent }),
                },
            }
        }
    }

    /// Drops idle connections past [`POOL_IDLE`] or closed by the Upstream.
    pub fn sweep(&self, now: Instant) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.retain(|i| now.saturating_duration_since(i.since) < POOL_IDLE && !i.sender.is_closed());
    }

    /// Idle connections right now.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// The most recently used idle connection that is still open and fresh, once it is ready for a request.
    async fn take_idle(&self) -> Option<SendRequest<RequestBody>> {
        loop {
            // The lock is held only for the pop, never across the await below.
            let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()?;
            if idle.since.elapsed() >= POOL_IDLE || idle.sender.is_closed() {
                continue;
            }
            let mut sender = idle.sender;
            // Ready at once unless the connection is still finishing the previous response; an error means closed.
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    fn put(&self, sender: SendRequest<RequestBody>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(Idle { sender, since: Instant::now() });
        }
    }

    async fn connect(&self, connector: &Connector) -> Result<SendRequest<RequestBody>, UpstreamError> {
        let io = connector.clone().call(self.origin.clone()).await.map_err(UpstreamError::Connect)?;
        let (sender, connection) = http1::Builder::new().handshake(io).await.map_err(UpstreamError::Send)?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!("upstream connection ended: {e}");
            }
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::header::HOST;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    use super::*;

    /// A one-connection upstream: answers every request on it with `ok`, and reports when the proxy closes it.
    async fn upstream() -> (Authority, mpsc::Receiver<&'static str>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority: Authority = listener.local_addr().unwrap().to_string().parse().unwrap();
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            loop {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        let _ = tx.send("closed").await;
                        return;
                    }
                    Ok(_) => {
                        socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.unwrap();
                        let _ = tx.send("answered").await;
                    }
                }
            }
        });
        (authority, rx)
    }

    async fn get(pool: &Arc<ConnectionPool>, connector: &Connector) -> Bytes {
        let mut request = Request::new(RequestBody::Empty);
        *request.uri_mut() = Uri::from_static("/");
        request.headers_mut().insert(HOST, pool.host().clone());
        // The upstream accepts one connection: a second one would never be answered.
        let sent = tokio::time::timeout(Duration::from_secs(5), pool.send(connector, request)).await;
        let Ok(Ok((response, lease))) = sent else { panic!("request failed or went to a new connection") };
        let body = response.into_body().collect().await.unwrap().to_bytes();
        drop(lease);
        body
    }

    #[tokio::test]
    async fn a_connection_is_reused_then_closed_once_idle_too_long() {
        let (authority, mut seen) = upstream().await;
        let pool = Arc::new(ConnectionPool::new(&Scheme::HTTP, &authority));
        let connector = client::build();
        for _ in 0..3 {
            assert_eq!(get(&pool, &connector).await, "ok");
            assert_eq!(seen.recv().await, Some("answered"), "every request used the one connection");
        }
        assert_eq!(pool.idle_count(), 1);
        pool.sweep(Instant::now());
        assert_eq!(pool.idle_count(), 1, "a fresh idle connection is kept");
        pool.sweep(Instant::now() + POOL_IDLE);
        assert_eq!(pool.idle_count(), 0);
        assert_eq!(seen.recv().await, Some("closed"), "the upstream sees the idle connection closed");
    }

    #[tokio::test]
    async fn a_refused_connect_hands_the_request_back() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority: Authority = listener.local_addr().unwrap().to_string().parse().unwrap();
        drop(listener);
        let pool = Arc::new(ConnectionPool::new(&Scheme::HTTP, &authority));
        let mut request = Request::new(RequestBody::Empty);
        request.headers_mut().insert("x-kept", HeaderValue::from_static("yes"));
        let Err(failed) = pool.send(&client::build(), request).await else { panic!("nothing listens there") };
        assert!(failed.error.is_connect());
        assert_eq!(failed.error.describe(), "connection refused");
        assert_eq!(failed.unsent.unwrap().headers()["x-kept"], "yes");
    }
}
