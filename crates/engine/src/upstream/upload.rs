//! A request body on its way to an Upstream. It is sent in step with reading the response, frame by frame: an
//! Upstream that answers before it has read the whole body (413, an early error, a streaming echo) is heard at once,
//! and one that reads slowly holds the client back instead of filling memory.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::Body;
use tokio::io::AsyncWrite;

use super::error::{BoxError, UpstreamError};
use crate::http1::{self, Framing};

/// How a request body goes out: none, with its length when it is known (the client's `Content-Length`), or chunked
/// when it is not (a chunked or HTTP/2 client body).
pub(super) fn framing<B: Body>(body: &B) -> Framing {
    if body.is_end_stream() {
        Framing::Empty
    } else if let Some(n) = body.size_hint().exact() {
        Framing::Length(n)
    } else {
        Framing::Chunked
    }
}

/// The rest of a request body still to be written.
#[derive(Debug)]
pub(crate) struct Upload<B> {
    body: B,
    chunked: bool,
    /// Bytes taken from the body (and chunk framing) not yet accepted by the socket.
    queue: VecDeque<Bytes>,
    /// The body has ended and its last bytes are in `queue`.
    ended: bool,
}

impl<B> Upload<B>
where
    B: Body<Data = Bytes, Error: Into<BoxError>> + Unpin,
{
    /// An upload of `body` framed as `framing`; `None` when there is nothing to send.
    pub(super) fn new(body: B, framing: Framing) -> Option<Self> {
        let chunked = match framing {
            Framing::Chunked => true,
            Framing::Length(_) => false,
            Framing::Empty | Framing::UntilClose => return None,
        };
        Some(Upload { body, chunked, queue: VecDeque::with_capacity(3), ended: false })
    }

    /// Writes as much as the socket takes and the client has sent; ready once the whole body is written and flushed.
    /// A failed write is the Upstream's doing ([`UpstreamError::Io`]); a failed read the client's
    /// ([`UpstreamError::ClientBody`]).
    pub(super) fn poll_send<W: AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut W,
    ) -> Poll<Result<(), UpstreamError>> {
        loop {
            while let Some(front) = self.queue.front_mut() {
                match Pin::new(&mut *io).poll_write(cx, front) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(UpstreamError::Closed)),
                    Poll::Ready(Ok(n)) => {
                        front.advance(n);
                        if front.is_empty() {
                            self.queue.pop_front();
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(UpstreamError::Io(e))),
                    Poll::Pending => return Poll::Pending,
                }
            }
            if self.ended {
                return Pin::new(&mut *io).poll_flush(cx).map_err(UpstreamError::Io);
            }
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if data.is_empty() => {}
                    Ok(data) if self.chunked => {
                        let mut size_line = Vec::with_capacity(18);
                        http1::chunk_size_line(&mut size_line, data.len());
                        self.queue.push_back(Bytes::from(size_line));
                        self.queue.push_back(data);
                        self.queue.push_back(Bytes::from_static(b"\r\n"));
                    }
                    Ok(data) => self.queue.push_back(data),
                    Err(frame) => {
                        // Trailers end the body; they can only travel in a chunked one.
                        if self.chunked {
                            let mut end = Vec::new();
                            http1::last_chunk(&mut end, frame.trailers_ref());
                            self.queue.push_back(Bytes::from(end));
                        }
                        self.ended = true;
                    }
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(UpstreamError::ClientBody(e.into()))),
                Poll::Ready(None) => {
                    if self.chunked {
                        self.queue.push_back(Bytes::from_static(b"0\r\n\r\n"));
                    }
                    self.ended = true;
                }
                Poll::Pending => {
                    // Whatever was written waits in no buffer of ours; a TLS stream may hold some until flushed.
                    return match Pin::new(&mut *io).poll_flush(cx) {
                        Poll::Ready(Err(e)) => Poll::Ready(Err(UpstreamError::Io(e))),
                        _ => Poll::Pending,
                    };
                }
            }
        }
    }
}
