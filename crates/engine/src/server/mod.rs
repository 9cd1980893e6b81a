//! Listeners: bind, accept, and serve each connection — HTTP/1.1 with this crate's own loop (keep-alive, pipelining,
//! `Expect: 100-continue`, upgrades), h2c through hyper — handing every request to a [`Handler`] it is given.
//!
//! Nothing here knows what a request is for: the proxy is one handler, the demo's upstreams another. What is here is
//! what every server owes its clients: timeouts, size limits, framing, a 400 that says why, a graceful stop.

mod body;
mod h2;
mod io;
mod listener;
mod reader;
mod respond;
mod serve;
mod upgrade;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};

pub(crate) use body::{ClientBody, ClientBodyError};
pub(crate) use listener::{Draining, ListenError, Running, bind, bindable};
pub(crate) use upgrade::ClientUpgrade;

/// How long a client may take to send a request head, and how long an idle keep-alive connection is kept. One
/// timer per connection checks it, so a slow or idle client is closed after one to two times this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// An error any body may end with.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a Listener does with each request it reads.
pub(crate) trait Handler: Send + Sync + 'static {
    /// The response body: streamed to the client frame by frame.
    type Body: http_body::Body<Data = Bytes, Error: Into<BoxError> + Send> + Send + 'static;

    /// Answers one request; never fails (problems are answers too). `upgrade` is the client's side of the
    /// connection should the answer be a 101 (HTTP/1 requests with `Upgrade` only).
    fn handle(
        &self,
        conn: &Connection,
        request: Request<ClientBody>,
        upgrade: Option<ClientUpgrade>,
    ) -> impl Future<Output = Response<Self::Body>> + Send;
}

/// Facts about the connection a request came in on.
#[derive(Debug)]
pub(crate) struct Connection {
    /// Name of the Listener that accepted it.
    pub(crate) listener: Arc<str>,
    /// The local socket address (its port feeds the `port` matcher).
    pub(crate) local: SocketAddr,
    /// The client's address.
    pub(crate) remote: SocketAddr,
    /// The client's IP as header text (an IPv4-mapped IPv6 address written as IPv4), formatted once per connection.
    pub(crate) client_ip: HeaderValue,
    /// True over TLS (the Listener speaks HTTPS).
    pub(crate) secure: bool,
}

impl Connection {
    /// The facts of a connection accepted by `listener` from `remote` on `local`, over TLS when `secure`.
    pub(crate) fn new(listener: Arc<str>, local: SocketAddr, remote: SocketAddr, secure: bool) -> Self {
        let client_ip = HeaderValue::try_from(remote.ip().to_canonical().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Connection { listener, local, remote, client_ip, secure }
    }
}
