//! Talking to Upstreams: dialing them (loopback names without DNS, TLS for `https://`), keeping their connections
//! alive between requests, and speaking HTTP/1.1 to them from the request's own task: the head written in one pass,
//! the body sent in step with reading the answer, the answer's body read straight from the socket.
//!
//! The request body is any `http_body::Body`: the proxy's, or an empty one for active health checks.

mod body;
mod conn;
mod connect;
mod error;
mod pool;
mod upload;

pub(crate) use body::UpstreamBody;
pub(crate) use conn::{Io, Outgoing};
pub(crate) use connect::{Connector, connector};
pub(crate) use error::UpstreamError;
pub(crate) use pool::ConnectionPool;
