//! The client's request body as a handler sees it, whichever protocol brought it: HTTP/1 bodies are read straight
//! from the connection's [`ClientReader`]; h2c bodies come from hyper.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::reader::{BodyPiece, ClientReader};
use crate::http1::ChunkError;

/// Why a client's request body could not be read to its end. Either way the fault is the client's.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientBodyError {
    /// The client closed the connection before the whole body arrived.
    #[error("the client closed the connection before sending all of its request body")]
    Closed,
    /// The client's chunked coding was malformed.
    #[error("the client sent a chunked request body that is not valid HTTP: {0}")]
    Invalid(ChunkError),
    /// An h2c stream failed.
    #[error(transparent)]
    Http2(#[from] hyper::Error),
}

/// A request body from a client.
#[derive(Debug)]
pub(crate) enum ClientBody {
    /// No body.
    Empty,
    /// An HTTP/1 body, read from the connection as it is polled.
    Http1 {
        /// The connection's reading side.
        reader: Arc<ClientReader>,
        /// Bytes still to come when the length is known.
        remaining: Option<u64>,
        /// Set at the end of the body.
        done: bool,
    },
    /// An h2c body.
    Http2(Incoming),
}

impl ClientBody {
    /// An HTTP/1 body of `length` bytes (`None`: chunked) read through `reader`.
    pub(super) fn http1(reader: Arc<ClientReader>, length: Option<u64>) -> Self {
        ClientBody::Http1 { reader, remaining: length, done: false }
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = ClientBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        match &mut *self {
            ClientBody::Empty | ClientBody::Http1 { done: true, .. } => Poll::Ready(None),
            ClientBody::Http1 { reader, remaining, done } => {
                let polled = reader.poll_body(cx);
                match &polled {
                    Poll::Ready(Some(Ok(BodyPiece::Data(data)))) => {
                        if let Some(left) = remaining {
                            *left = left.saturating_sub(data.len() as u64);
                            *done = *left == 0;
                        }
                    }
                    Poll::Ready(_) => *done = true,
                    Poll::Pending => {}
                }
                polled.map(|piece| {
                    piece.map(|r| {
                        r.map(|p| match p {
                            BodyPiece::Data(data) => Frame::data(data),
                            BodyPiece::Trailers(trailers) => Frame::trailers(trailers),
                        })
                    })
                })
            }
            ClientBody::Http2(body) => Pin::new(body).poll_frame(cx).map_err(ClientBodyError::Http2),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ClientBody::Empty => true,
            ClientBody::Http1 { done, .. } => *done,
            ClientBody::Http2(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ClientBody::Empty => SizeHint::with_exact(0),
            ClientBody::Http1 { remaining: Some(n), .. } => SizeHint::with_exact(*n),
            ClientBody::Http1 { .. } => SizeHint::default(),
            ClientBody::Http2(body) => body.size_hint(),
        }
    }
}
