//! One HTTP/1.1 connection to an Upstream, driven by the task of the request it carries.
//!
//! No task of its own and no channel: the request's task writes the head, sends the body in step with reading the
//! answer, and then, as the client's response body, reads the Upstream's body straight from this socket (see
//! [`crate::upstream_body`]). Between requests the connection waits in its [`crate::pool::ConnectionPool`] with its
//! buffers, so a keep-alive request allocates nothing here.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use http::{HeaderMap, Method, Uri};
use hyper_rustls::MaybeHttpsStream;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use bytes::Bytes;
use http_body::Body;

use super::error::{BoxError, UpstreamError};
use super::upload::Upload;
use crate::http1::{self, Framing, ResponseHead};

/// The socket to an Upstream: TCP, or TLS over TCP for `https://` Upstreams.
pub(crate) type Io = TokioIo<MaybeHttpsStream<TokioIo<TcpStream>>>;

/// The smallest read: a response head and a small body fit at once.
const MIN_READ: usize = 8 * 1024;
/// The largest read, reached after reads that filled the buffer (a large download).
const MAX_READ: usize = 64 * 1024;
/// A request head buffer grown past this (huge cookies) is not kept for the next request.
const MAX_KEPT_HEAD: usize = 16 * 1024;

/// What a request's attempt writes; borrowed, so a failed attempt leaves it whole for the next Upstream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outgoing<'a> {
    /// The client's method.
    pub(crate) method: &'a Method,
    /// The origin-form path and query for this Upstream.
    pub(crate) uri: &'a Uri,
    /// The rewritten request headers, Host included.
    pub(crate) headers: &'a HeaderMap,
}

/// A connection and its buffers.
#[derive(Debug)]
pub(crate) struct UpstreamConn {
    io: Io,
    /// Bytes read and not yet used: the start of a head, or body bytes.
    pub(super) read: BytesMut,
    read_size: usize,
    write: Vec<u8>,
    /// Set when a write failed: the connection may still deliver an answer but must not carry another request.
    pub(super) broken: bool,
}

impl UpstreamConn {
    /// Wraps a freshly connected socket.
    pub(super) fn new(io: Io) -> Self {
        UpstreamConn {
            io,
            read: BytesMut::with_capacity(MIN_READ),
            read_size: MIN_READ,
            write: Vec::with_capacity(512),
            broken: false,
        }
    }

    /// True while an idle connection can take a request: the Upstream has neither closed it nor sent anything
    /// unasked. Costs no system call unless the socket has become readable since the last response.
    pub(super) fn is_idle_and_open(&mut self) -> bool {
        if !self.read.is_empty() || self.broken {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        self.poll_fill(&mut cx).is_pending()
    }

    /// Writes a request head. Nothing of the request is consumed, so a failure leaves it for another connection.
    pub(super) async fn write_head(&mut self, head: &Outgoing<'_>, body: Framing) -> io::Result<()> {
        if self.write.capacity() > MAX_KEPT_HEAD {
            self.write = Vec::with_capacity(512);
        }
        self.write.clear();
        http1::request_head(&mut self.write, head.method, head.uri, head.headers, body);
        self.io.write_all(&self.write).await?;
        self.io.flush().await
    }

    /// Sends the body (if any) while waiting for the final response head, skipping interim answers (100
    /// Continue). The upload is `None` afterwards when it has finished, or failed on the Upstream's side (the
    /// connection is then `broken`: its answer is still read, but it carries nothing more).
    pub(super) async fn read_head<B>(
        &mut self,
        method: &Method,
        upload: &mut Option<Upload<B>>,
    ) -> Result<ResponseHead, UpstreamError>
    where
        B: Body<Data = Bytes, Error: Into<BoxError>> + Unpin,
    {
        let mut received = !self.read.is_empty();
        poll_fn(|cx| {
            loop {
                self.poll_upload(cx, upload)?;
                if !self.read.is_empty() {
                    received = true;
                    match http1::parse_response(&mut self.read, method)? {
                        Some(head) if head.is_interim() => continue,
                        Some(head) => return Poll::Ready(Ok(head)),
                        None => {}
                    }
                }
                match self.poll_fill(cx) {
                    Poll::Ready(Ok(0)) if received => return Poll::Ready(Err(UpstreamError::Truncated)),
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(UpstreamError::Closed)),
                    Poll::Ready(Ok(_)) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(UpstreamError::Io(e))),
                    Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
    }

    /// Moves the upload on without waiting. Only the client's body failing is an error here: a write the Upstream
    /// refused ends the upload and marks the connection broken, since its answer may already be on the way.
    pub(super) fn poll_upload<B>(
        &mut self,
        cx: &mut Context<'_>,
        upload: &mut Option<Upload<B>>,
    ) -> Result<(), UpstreamError>
    where
        B: Body<Data = Bytes, Error: Into<BoxError>> + Unpin,
    {
        let Some(sending) = upload.as_mut() else { return Ok(()) };
        match sending.poll_send(cx, &mut self.io) {
            Poll::Pending => Ok(()),
            Poll::Ready(Ok(())) => {
                *upload = None;
                Ok(())
            }
            Poll::Ready(Err(e @ UpstreamError::ClientBody(_))) => Err(e),
            Poll::Ready(Err(e)) => {
                tracing::debug!("upstream stopped reading the request body: {e}");
                *upload = None;
                self.broken = true;
                Ok(())
            }
        }
    }

    /// Reads more bytes into `read`; `Ok(0)` when the Upstream has closed. Reads grow while they fill the buffer
    /// (a download) and shrink back for small answers.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.read.capacity() - self.read.len() < self.read_size / 2 {
            self.read.reserve(self.read_size);
        }
        let spare = self.read.capacity() - self.read.len();
        let polled = pin!(self.io.read_buf(&mut self.read)).poll(cx);
        if let Poll::Ready(Ok(n)) = polled {
            if n == spare {
                self.read_size = (self.read_size * 2).min(MAX_READ);
            } else if n < self.read_size / 4 {
                self.read_size = (self.read_size / 2).max(MIN_READ);
            }
        }
        polled
    }

    /// The socket and any bytes already read past the head: what an upgraded connection (WebSocket) continues with.
    pub(super) fn into_upgraded(self) -> (Io, BytesMut) {
        (self.io, self.read)
    }
}
