//! The client's side of an upgraded connection (WebSocket, dev servers' HMR), whichever protocol carried the
//! request: over HTTP/1.1 the connection's loop hands the socket over once the 101 is written; over HTTP/2 an
//! extended CONNECT (RFC 8441) becomes a stream of its own once the 200 is sent. The tunnel waits for either.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

use super::io::ClientIo;

/// The client's side after the switch, and what the client sent after its request head (a first WebSocket frame),
/// which goes to the Upstream first.
#[derive(Debug)]
pub(crate) struct Upgraded {
    /// The client's connection (HTTP/1.1), or its stream (HTTP/2).
    pub(crate) stream: UpgradedIo,
    /// Bytes already read from the client.
    pub(crate) early: BytesMut,
}

/// What an upgraded client connection reads and writes through.
#[derive(Debug)]
pub(crate) enum UpgradedIo {
    /// A whole HTTP/1.1 connection.
    Connection(ClientIo),
    /// One HTTP/2 stream of a connection that carries others.
    Stream(TokioIo<hyper::upgrade::Upgraded>),
}

/// Resolves to the client's side once the switch has been answered.
#[derive(Debug)]
pub(crate) struct ClientUpgrade(Pending);

#[derive(Debug)]
enum Pending {
    Http1(oneshot::Receiver<Upgraded>),
    Http2(OnUpgrade),
}

/// Where the HTTP/1 connection's loop hands the socket over.
pub(super) type Handover = oneshot::Sender<Upgraded>;

impl ClientUpgrade {
    /// A handover and the HTTP/1.1 upgrade it completes.
    pub(super) fn pair() -> (Handover, ClientUpgrade) {
        let (tx, rx) = oneshot::channel();
        (tx, ClientUpgrade(Pending::Http1(rx)))
    }

    /// The upgrade of an HTTP/2 extended CONNECT, which hyper completes once the response is sent.
    pub(super) fn http2(on: OnUpgrade) -> ClientUpgrade {
        ClientUpgrade(Pending::Http2(on))
    }

    /// True for an HTTP/2 extended CONNECT: the answer to a successful switch is then 200, not 101.
    pub(crate) fn is_http2(&self) -> bool {
        matches!(self.0, Pending::Http2(_))
    }

    /// The client's side; `None` when the connection ended before the switch was answered.
    pub(crate) async fn wait(self) -> Option<Upgraded> {
        match self.0 {
            Pending::Http1(handover) => handover.await.ok(),
            Pending::Http2(on) => {
                let stream = on.await.ok()?;
                Some(Upgraded { stream: UpgradedIo::Stream(TokioIo::new(stream)), early: BytesMut::new() })
            }
        }
    }
}

impl AsyncRead for UpgradedIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpgradedIo::Connection(io) => Pin::new(io).poll_read(cx, buf),
            UpgradedIo::Stream(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpgradedIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpgradedIo::Connection(io) => Pin::new(io).poll_write(cx, buf),
            UpgradedIo::Stream(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpgradedIo::Connection(io) => Pin::new(io).poll_flush(cx),
            UpgradedIo::Stream(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpgradedIo::Connection(io) => Pin::new(io).poll_shutdown(cx),
            UpgradedIo::Stream(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}
