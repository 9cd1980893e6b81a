//! HTTP/2, served by hyper: over TLS when the client chose `h2` (ALPN), or in the clear with prior knowledge (h2c),
//! recognised by its first bytes (the preface), which hyper must then read again: [`PrefixedIo`] puts them back in
//! front of the connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use std::pin::pin;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use http::{Method, Request};
use hyper::body::Incoming;
use hyper::ext::Protocol;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

use super::io::ClientIo;
use super::serve::stopped;
use super::{ClientBody, ClientUpgrade, Connection, Handler};
use crate::http1::MAX_REQUEST_HEAD;

/// Serves an HTTP/2 connection with hyper; `early` (bytes already read: the preface and whatever followed it) is
/// read again first.
pub(super) async fn serve<H: Handler>(
    stream: ClientIo,
    early: BytesMut,
    conn: Arc<Connection>,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
) {
    let remote = conn.remote;
    let service = service_fn(move |mut request: Request<Incoming>| {
        let (handler, conn) = (Arc::clone(&handler), Arc::clone(&conn));
        // An extended CONNECT (RFC 8441: a WebSocket over HTTP/2) becomes a stream of its own once answered.
        let extended = request.method() == Method::CONNECT && request.extensions().get::<Protocol>().is_some();
        let upgrade = extended.then(|| ClientUpgrade::http2(hyper::upgrade::on(&mut request)));
        async move {
            Ok::<_, std::convert::Infallible>(handler.handle(&conn, request.map(ClientBody::Http2), upgrade).await)
        }
    });
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder.enable_connect_protocol();
    builder.timer(TokioTimer::new()).max_header_list_size(u32::try_from(MAX_REQUEST_HEAD).unwrap_or(u32::MAX));
    let mut connection = pin!(builder.serve_connection(TokioIo::new(PrefixedIo::new(early, stream)), service));
    tokio::select! {
        ended = connection.as_mut() => if let Err(e) = ended {
            tracing::debug!("HTTP/2 connection from {remote} ended: {e}");
        },
        () = stopped(stop) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Reads `prefix` first, then the socket; writes go straight to the socket.
#[derive(Debug)]
struct PrefixedIo {
    prefix: BytesMut,
    io: ClientIo,
}

impl PrefixedIo {
    /// `io` with `prefix` to be read again first.
    fn new(prefix: BytesMut, io: ClientIo) -> Self {
        PrefixedIo { prefix, io }
    }
}

impl AsyncRead for PrefixedIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let n = this.prefix.len().min(buf.remaining());
        buf.put_slice(&this.prefix[..n]);
        this.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for PrefixedIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
