//! An Upstream's response body, read straight from its connection as the client's response is written, and the
//! connection back in its pool the moment the body has ended cleanly.
//!
//! Each data frame is a slice of the bytes read (no copy). A request body still being sent (the Upstream answered
//! early) keeps moving while the response is read. A body the client stops reading leaves the socket unread, so
//! the Upstream feels the back-pressure; a body dropped early closes its connection.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http_body::{Body, Frame, SizeHint};

use super::conn::{Io, UpstreamConn};
use super::error::{BoxError, UpstreamError};
use super::pool::ConnectionPool;
use super::upload::Upload;
use crate::http1::{ChunkedDecoder, Decoded, Framing, ResponseError, ResponseHead};

/// The body of one response from an Upstream; `B` is the request body, which may still be on its way.
#[derive(Debug)]
pub(crate) struct UpstreamBody<B> {
    /// `None` once the body has ended (the connection is back in its pool, or closed).
    conn: Option<Box<UpstreamConn>>,
    pool: Arc<ConnectionPool>,
    reading: Reading,
    upload: Option<Upload<B>>,
    keep_alive: bool,
}

#[derive(Debug)]
enum Reading {
    /// This many bytes are left.
    Length(u64),
    Chunked(ChunkedDecoder),
    /// Until the Upstream closes.
    UntilClose,
    /// A 101: the connection waits to be taken by [`UpstreamBody::take_upgrade`].
    Upgrade,
    Done,
}

impl<B> UpstreamBody<B>
where
    B: Body<Data = Bytes, Error: Into<BoxError>> + Unpin,
{
    /// The body that follows `head` on `conn`; `upload` is what remains of the request body.
    pub(super) fn new(
        conn: Box<UpstreamConn>,
        head: &ResponseHead,
        upload: Option<Upload<B>>,
        pool: Arc<ConnectionPool>,
    ) -> Self {
        let reading = match head.framing {
            _ if head.parts.status == StatusCode::SWITCHING_PROTOCOLS => Reading::Upgrade,
            Framing::Empty | Framing::Length(0) => Reading::Done,
            Framing::Length(n) => Reading::Length(n),
            Framing::Chunked => Reading::Chunked(ChunkedDecoder::default()),
            Framing::UntilClose => Reading::UntilClose,
        };
        let mut body = UpstreamBody { conn: Some(conn), pool, reading, upload, keep_alive: head.keep_alive };
        if matches!(body.reading, Reading::Done) {
            body.finish();
        }
        body
    }

    /// The connection of a 101 answer and the bytes the Upstream already sent on it, for the tunnel.
    pub(crate) fn take_upgrade(&mut self) -> Option<(Io, BytesMut)> {
        if !matches!(self.reading, Reading::Upgrade) {
            return None;
        }
        self.reading = Reading::Done;
        self.conn.take().map(|conn| conn.into_upgraded())
    }

    /// The body has ended: the connection goes back to its pool when it can carry another request.
    fn finish(&mut self) {
        self.reading = Reading::Done;
        if let Some(conn) = self.conn.take()
            && self.keep_alive
            && self.upload.is_none()
            && !conn.broken
            && conn.read.is_empty()
        {
            self.pool.put(conn);
        }
    }

    /// Ends the body with an error; the connection is closed.
    fn fail(&mut self, error: UpstreamError) -> Poll<Option<Result<Frame<Bytes>, UpstreamError>>> {
        self.reading = Reading::Done;
        self.conn = None;
        Poll::Ready(Some(Err(error)))
    }
}

impl<B> Body for UpstreamBody<B>
where
    B: Body<Data = Bytes, Error: Into<BoxError>> + Unpin,
{
    type Data = Bytes;
    type Error = UpstreamError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, UpstreamError>>> {
        let this = &mut *self;
        loop {
            let Some(conn) = this.conn.as_mut() else { return Poll::Ready(None) };
            if let Err(e) = conn.poll_upload(cx, &mut this.upload) {
                return this.fail(e);
            }
            let until_close = match &mut this.reading {
                Reading::Done | Reading::Upgrade => return Poll::Ready(None),
                Reading::Length(left) if !conn.read.is_empty() => {
                    let take = usize::try_from(*left).map_or(conn.read.len(), |left| left.min(conn.read.len()));
                    *left -= take as u64;
                    let data = conn.read.split_to(take).freeze();
                    if *left == 0 {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Reading::UntilClose if !conn.read.is_empty() => {
                    return Poll::Ready(Some(Ok(Frame::data(conn.read.split().freeze()))));
                }
                Reading::Chunked(decoder) => match decoder.decode(&mut conn.read) {
                    Ok(Decoded::Data(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Ok(Decoded::Trailers(trailers)) => {
                        this.finish();
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                    Ok(Decoded::End) => {
                        this.finish();
                        return Poll::Ready(None);
                    }
                    Ok(Decoded::More) => false,
                    Err(e) => return this.fail(ResponseError::from(e).into()),
                },
                Reading::Length(_) => false,
                Reading::UntilClose => true,
            };
            match conn.poll_fill(cx) {
                Poll::Ready(Ok(0)) if until_close => {
                    this.reading = Reading::Done;
                    this.conn = None;
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(0)) => return this.fail(UpstreamError::Truncated),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return this.fail(UpstreamError::Io(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.reading, Reading::Done | Reading::Upgrade)
    }

    fn size_hint(&self) -> SizeHint {
        match self.reading {
            Reading::Length(n) => SizeHint::with_exact(n),
            Reading::Done | Reading::Upgrade => SizeHint::with_exact(0),
            Reading::Chunked(_) | Reading::UntilClose => SizeHint::default(),
        }
    }
}
