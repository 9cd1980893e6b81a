//! Why an attempt at an Upstream got no (complete) response. The texts follow the Upstream's name in the log and on
//! error pages, so they say what the Upstream did: `connection refused`, `closed the connection before answering`.

use std::error::Error as StdError;
use std::io;

use crate::client;
use crate::h1::ProtocolError;

/// One attempt's failure.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Connecting failed (refused, timed out, TLS): nothing was sent.
    #[error("{}", client::describe(.0.as_ref()))]
    Connect(#[source] Box<dyn StdError + Send + Sync>),
    /// The Upstream closed the connection before any byte of a response.
    #[error("closed the connection before answering")]
    Closed,
    /// The Upstream closed the connection in the middle of a response.
    #[error("closed the connection in the middle of the response")]
    Truncated,
    /// Reading from or writing to the Upstream failed.
    #[error("{}", client::describe(.0))]
    Io(#[source] io::Error),
    /// The Upstream's response is not valid HTTP/1.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The client's request body failed while it was being sent on (the client went away).
    #[error("the client's request body ended early: {0}")]
    ClientBody(#[source] crate::client_body::ClientBodyError),
}

impl UpstreamError {
    /// True when nothing reached the Upstream, so the request may go elsewhere whatever its method.
    pub fn is_connect(&self) -> bool {
        matches!(self, UpstreamError::Connect(_))
    }

    /// A short cause for the log and error pages.
    pub fn describe(&self) -> String {
        self.to_string()
    }

    /// True when the Upstream closed or reset the connection before answering: a GET or HEAD may then be sent to
    /// another Upstream (nothing was answered, and such requests are safe to send again).
    pub fn closed_before_response(&self) -> bool {
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
