//! Keep-alive connections to one Upstream origin, reused across requests.
//!
//! Each Upstream in the routing snapshot holds its pool directly, so a request finds its idle connection with
//! one uncontended lock and a `Vec::pop` (no hashing, no task spawned per request). A connection goes back to the
//! pool when the response body ends cleanly (see [`super::body`]). Idle connections older than
//! [`POOL_IDLE`] are dropped on the next checkout and by [`ConnectionPool::sweep`], below Node's 5 s keep-alive,
//! so a connection the dev server has closed is not reused; one it closed sooner is noticed before it is used.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::{HeaderValue, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use tower_service::Service;

use bytes::Bytes;
use http_body::Body;

use super::body::UpstreamBody;
use super::conn::{Outgoing, UpstreamConn};
use super::connect::Connector;
use super::error::{BoxError, UpstreamError};
use super::upload::{self, Upload};
use crate::http1::Framing;

/// How long an idle connection is kept (below Node's 5 s server keep-alive).
pub(crate) const POOL_IDLE: Duration = Duration::from_secs(4);
/// Idle connections kept per origin; more are closed when they come back.
const MAX_IDLE: usize = 256;

/// Idle connections to one origin (`scheme://host:port`).
#[derive(Debug)]
pub(crate) struct ConnectionPool {
    /// `scheme://authority/`, what the connector dials.
    origin: Uri,
    /// The origin's authority as a Host header, for requests that do not keep the client's.
    host: HeaderValue,
    /// Most recently returned last, so the warmest connection is reused first and the oldest expire.
    idle: Mutex<Vec<Idle>>,
}

#[derive(Debug)]
struct Idle {
    /// Boxed: the socket (with TLS state) is large and moves between the pool and each response body.
    conn: Box<UpstreamConn>,
    since: Instant,
}

impl ConnectionPool {
    /// An empty pool for `scheme://authority`.
    pub(crate) fn new(scheme: &Scheme, authority: &Authority) -> Self {
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
    pub(crate) fn host(&self) -> &HeaderValue {
        &self.host
    }

    /// Sends a request on an idle connection, or on a new one, and returns the response head with its body to
    /// stream. The head is only borrowed: after a failure it is still there for the next Upstream. A request
    /// without a body that finds its idle connection closed by the Upstream goes again on a new connection.
    pub(crate) async fn send<B>(
        self: &Arc<Self>,
        connector: &Connector,
        head: &Outgoing<'_>,
        body: B,
    ) -> Result<Response<UpstreamBody<B>>, UpstreamError>
    where
        B: Body<Data = Bytes, Error: Into<BoxError>> + Unpin,
    {
        let framing = upload::framing(&body);
        let mut body = Some(body);
        loop {
            let (mut conn, reused) = match self.take_idle() {
                Some(conn) => (conn, true),
                None => (self.connect(connector).await?, false),
            };
            if let Err(e) = conn.write_head(head, framing).await {
                if reused {
                    continue;
                }
                return Err(UpstreamError::Io(e));
            }
            let mut upload = body.take().and_then(|b| Upload::new(b, framing));
            match conn.read_head(head.method, &mut upload).await {
                Ok(response) => {
                    let body = UpstreamBody::new(conn, &response, upload, Arc::clone(self));
                    return Ok(Response::from_parts(response.parts, body));
                }
                Err(e) if reused && framing == Framing::Empty && e.closed_before_response() => {
                    // The Upstream closed this idle connection as the request went out: nothing was answered, and
                    // there is no body to have lost.
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Drops idle connections past [`POOL_IDLE`] or closed by the Upstream.
    pub(crate) fn sweep(&self, now: Instant) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.retain_mut(|i| now.saturating_duration_since(i.since) < POOL_IDLE && i.conn.is_idle_and_open());
    }

    /// Idle connections right now.
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// The most recently used idle connection that is still open and fresh.
    fn take_idle(&self) -> Option<Box<UpstreamConn>> {
        loop {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()?;
            if idle.since.elapsed() < POOL_IDLE && idle.conn.is_idle_and_open() {
                return Some(idle.conn);
            }
        }
    }

    /// Takes back a connection whose response has ended cleanly.
    pub(super) fn put(&self, conn: Box<UpstreamConn>) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(Idle { conn, since: Instant::now() });
        }
    }

    async fn connect(&self, connector: &Connector) -> Result<Box<UpstreamConn>, UpstreamError> {
        let io = connector.clone().call(self.origin.clone()).await.map_err(UpstreamError::Connect)?;
        Ok(Box::new(UpstreamConn::new(TokioIo::new(io))))
    }
}

#[cfg(test)]
mod tests {
    use http::header::HOST;
    use http::{HeaderMap, Method};
    use http_body_util::{BodyExt, Empty};
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
        let mut headers = HeaderMap::new();
        headers.insert(HOST, pool.host().clone());
        let head = Outgoing { method: &Method::GET, uri: &Uri::from_static("/"), headers: &headers };
        // The upstream accepts one connection: a second one would never be answered.
        let sent =
            tokio::time::timeout(Duration::from_secs(5), pool.send(connector, &head, Empty::<Bytes>::new())).await;
        let Ok(Ok(response)) = sent else { panic!("request failed or went to a new connection") };
        response.into_body().collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn a_connection_is_reused_then_closed_once_idle_too_long() {
        let (authority, mut seen) = upstream().await;
        let pool = Arc::new(ConnectionPool::new(&Scheme::HTTP, &authority));
        let connector = super::super::connector();
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
    async fn a_refused_connect_says_so() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority: Authority = listener.local_addr().unwrap().to_string().parse().unwrap();
        drop(listener);
        let pool = Arc::new(ConnectionPool::new(&Scheme::HTTP, &authority));
        let headers = HeaderMap::new();
        let head = Outgoing { method: &Method::GET, uri: &Uri::from_static("/"), headers: &headers };
        let Err(error) = pool.send(&super::super::connector(), &head, Empty::<Bytes>::new()).await else {
            panic!("nothing listens")
        };
        assert!(error.is_connect());
        assert_eq!(error.to_string(), "connection refused");
    }
}
