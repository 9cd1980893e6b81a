//! A client's connection, plain TCP or TLS over TCP, and the two halves the HTTP/1 loop reads and writes through.
//!
//! An enum rather than a boxed trait object: the loop's reads and writes stay static calls, and a plain connection
//! keeps tokio's owned halves (no lock between them); a TLS one is split with `tokio::io::split`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_rustls::server::TlsStream;

/// A TLS connection, boxed: its state is large and it moves between the loop, the tunnel and hyper.
type Tls = Box<TlsStream<TcpStream>>;

/// A client's connection.
#[derive(Debug)]
pub(crate) enum ClientIo {
    /// HTTP over TCP.
    Plain(TcpStream),
    /// HTTP over TLS.
    Tls(Tls),
}

/// The reading half of a [`ClientIo`].
#[derive(Debug)]
pub(crate) enum ReadHalf {
    /// Of a plain connection.
    Plain(OwnedReadHalf),
    /// Of a TLS connection.
    Tls(tokio::io::ReadHalf<Tls>),
}

/// The writing half of a [`ClientIo`].
#[derive(Debug)]
pub(crate) enum WriteHalf {
    /// Of a plain connection.
    Plain(OwnedWriteHalf),
    /// Of a TLS connection.
    Tls(tokio::io::WriteHalf<Tls>),
}

impl ClientIo {
    /// The two halves, for reading and writing from different places.
    pub(crate) fn split(self) -> (ReadHalf, WriteHalf) {
        match self {
            ClientIo::Plain(stream) => {
                let (read, write) = stream.into_split();
                (ReadHalf::Plain(read), WriteHalf::Plain(write))
            }
            ClientIo::Tls(stream) => {
                let (read, write) = tokio::io::split(stream);
                (ReadHalf::Tls(read), WriteHalf::Tls(write))
            }
        }
    }

    /// The connection the two halves came from; `None` when they did not come from the same one.
    pub(crate) fn unsplit(read: ReadHalf, write: WriteHalf) -> Option<ClientIo> {
        match (read, write) {
            (ReadHalf::Plain(read), WriteHalf::Plain(write)) => read.reunite(write).ok().map(ClientIo::Plain),
            (ReadHalf::Tls(read), WriteHalf::Tls(write)) if read.is_pair_of(&write) => {
                Some(ClientIo::Tls(read.unsplit(write)))
            }
            _ => None,
        }
    }
}

/// Forwards an I/O call to whichever variant `$self` is.
macro_rules! either {
    ($self:ident, $io:ident => $call:expr) => {
        match $self.get_mut() {
            Self::Plain($io) => $call,
            Self::Tls($io) => $call,
        }
    };
}

impl AsyncRead for ClientIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        either!(self, io => Pin::new(io).poll_read(cx, buf))
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        either!(self, io => Pin::new(io).poll_read(cx, buf))
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        either!(self, io => Pin::new(io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        either!(self, io => Pin::new(io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientIo::Plain(io) => io.is_write_vectored(),
            ClientIo::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, io => Pin::new(io).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, io => Pin::new(io).poll_shutdown(cx))
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        either!(self, io => Pin::new(io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        either!(self, io => Pin::new(io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteHalf::Plain(io) => io.is_write_vectored(),
            WriteHalf::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, io => Pin::new(io).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, io => Pin::new(io).poll_shutdown(cx))
    }
}
