//! Why an attempt at an Upstream got no (complete) response. The texts follow the Upstream's name in the log and on
//! error pages, so they say what the Upstream did: `connection refused`, `closed the connection before answering`.

use std::error::Error as StdError;
use std::io;

use super::connect;
use crate::http1::ResponseError;

/// An error a request body sent on may end with.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// One attempt's failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    /// Connecting failed (refused, timed out, TLS): nothing was sent.
    #[error("{}", connect::describe(.0.as_ref()))]
    Connect(#[source] Box<dyn StdError + Send + Sync>),
    /// The Upstream closed the connection before any byte of a response.
    #[error("closed the connection before answering")]
    Closed,
    /// The Upstream closed the connection in the middle of a response.
    #[error("closed the connection in the middle of the response")]
    Truncated,
    /// Reading from or writing to the Upstream failed.
    #[error("{}", connect::describe(.0))]
    Io(#[source] io::Error),
    /// The Upstream's response is not valid HTTP/1.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// The client's request body failed while it was being sent on: the client went away, or sent a malformed body.
    /// The fault is the client's, not the Upstream's.
    #[error("{0}")]
    ClientBody(#[source] BoxError),
}

impl UpstreamError {
    /// True when the client's request body failed (its fault: answered 400, no mark against the Upstream).
    pub(crate) fn is_client_fault(&self) -> bool {
        matches!(self, UpstreamError::ClientBody(_))
    }

    /// True when nothing reached the Upstream, so the request may go elsewhere whatever its method.
    pub(crate) fn is_connect(&self) -> bool {
        matches!(self, UpstreamError::Connect(_))
    }

    /// True when the Upstream closed or reset the connection before answering: a GET or HEAD may then be sent to
    /// another Upstream (nothing was answered, and such requests are safe to send again).
    pub(crate) fn closed_before_response(&self) -> bool {
        match self {
            UpstreamError::Closed => true,
            UpstreamError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}
