//! The reading side of a client's HTTP/1 connection. The connection's loop reads request heads from it; the
//! request body handed to the proxy reads its bytes from it, straight from the socket while the Upstream receives
//! them. Both run on the connection's task, so the lock around it is never contended and never held across an
//! await; it exists because the body must be `Send` and outlive a borrow.

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use tokio::io::AsyncReadExt;

use super::body::ClientBodyError;
use super::io::ReadHalf;
use crate::http1::{ChunkError, ChunkedDecoder, Decoded, Framing, RequestError, RequestHead, parse_request};

/// What starts every HTTP/2 connection with prior knowledge (h2c), RFC 9113 §3.4.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How much of a request body nobody read is read and dropped to keep the connection open for the next request;
/// beyond it the connection is closed instead.
const MAX_DISCARD: u64 = 256 * 1024;
/// Read size for heads and small bodies.
const READ_SIZE: usize = 8 * 1024;
/// Read size while a body streams.
const BODY_READ_SIZE: usize = 32 * 1024;

/// What the connection's loop reads next.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "returned once per request; boxing the head would allocate each time")]
pub(super) enum Next {
    /// A request head; its body, if any, is read through [`ClientReader::poll_body`].
    Request(RequestHead),
    /// The HTTP/2 preface: the connection is h2c.
    Http2,
    /// The client closed the connection (or reading failed) between requests.
    Closed,
    /// The client sent something that is not a request.
    Invalid(RequestError),
}

/// The reading side, shared by the loop and the current request's body.
#[derive(Debug)]
pub(crate) struct ClientReader {
    side: Mutex<ReadSide>,
}

#[derive(Debug)]
struct ReadSide {
    /// `None` once handed over to an upgrade.
    io: Option<ReadHalf>,
    /// Bytes read and not yet consumed: the rest of a head, body bytes, a pipelined request.
    buf: BytesMut,
    /// What is left of the current request's body.
    body: Remaining,
    /// The state of an `Expect: 100-continue`.
    expect: Expect,
    /// Set once the client closed its side, reading failed, or its body was malformed: nothing more is read.
    closed: bool,
    /// How much of the previous request's unread body has been dropped so far (across reads).
    discarded: u64,
}

#[derive(Debug)]
enum Remaining {
    None,
    Length(u64),
    Chunked(ChunkedDecoder),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Nothing expected, or `100 Continue` already sent.
    Nothing,
    /// The client waits for `100 Continue`; nobody has asked for the body yet.
    Waiting,
    /// The body was asked for: the loop sends `100 Continue`.
    Asked,
}

impl ClientReader {
    /// Wraps a connection's reading half.
    pub(super) fn new(io: ReadHalf) -> Self {
        let side = ReadSide {
            io: Some(io),
            buf: BytesMut::with_capacity(READ_SIZE),
            body: Remaining::None,
            expect: Expect::Nothing,
            closed: false,
            discarded: 0,
        };
        ClientReader { side: Mutex::new(side) }
    }

    fn side(&self) -> MutexGuard<'_, ReadSide> {
        self.side.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the next request head. What is left of the previous request's body is read and dropped first (up to
    /// [`MAX_DISCARD`]). `first` allows the HTTP/2 preface.
    pub(super) fn poll_head(&self, cx: &mut Context<'_>, first: bool) -> Poll<Next> {
        let mut side = self.side();
        loop {
            if side.closed {
                return Poll::Ready(Next::Closed);
            }
            match side.discard() {
                Ok(true) => {}
                Ok(false) => {
                    if ready!(side.poll_read(cx, READ_SIZE)) == 0 {
                        return Poll::Ready(Next::Closed);
                    }
                    continue;
                }
                Err(()) => return Poll::Ready(Next::Closed),
            }
            if first
                && !side.buf.is_empty()
                && H2_PREFACE.starts_with(&side.buf[..side.buf.len().min(H2_PREFACE.len())])
            {
                if side.buf.len() >= H2_PREFACE.len() {
                    return Poll::Ready(Next::Http2);
                }
            } else if !side.buf.is_empty() {
                match parse_request(&mut side.buf) {
                    Ok(Some(head)) => {
                        side.discarded = 0;
                        side.body = match head.body {
                            Framing::Length(n) => Remaining::Length(n),
                            Framing::Chunked => Remaining::Chunked(ChunkedDecoder::default()),
                            Framing::Empty | Framing::UntilClose => Remaining::None,
                        };
                        side.expect = if head.expects_continue { Expect::Waiting } else { Expect::Nothing };
                        return Poll::Ready(Next::Request(head));
                    }
                    Ok(None) => {}
                    Err(e) => return Poll::Ready(Next::Invalid(e)),
                }
            }
            if ready!(side.poll_read(cx, READ_SIZE)) == 0 {
                return Poll::Ready(Next::Closed);
            }
        }
    }

    /// The next piece of the current request's body; `None` at its end.
    pub(super) fn poll_body(&self, cx: &mut Context<'_>) -> Poll<Option<Result<BodyPiece, ClientBodyError>>> {
        let mut side = self.side();
        loop {
            match side.step() {
                Ok(Step::Piece(piece)) => return Poll::Ready(Some(Ok(piece))),
                Ok(Step::End) => return Poll::Ready(None),
                Ok(Step::More) => {}
                Err(e) => {
                    side.closed = true;
                    return Poll::Ready(Some(Err(ClientBodyError::Invalid(e))));
                }
            }
            if side.expect == Expect::Waiting {
                side.expect = Expect::Asked;
            }
            if side.closed || ready!(side.poll_read(cx, BODY_READ_SIZE)) == 0 {
                return Poll::Ready(Some(Err(ClientBodyError::Closed)));
            }
        }
    }

    /// True once, when the body was asked for and the client waits for `100 Continue` (the loop sends it).
    pub(super) fn take_continue(&self) -> bool {
        let mut side = self.side();
        let asked = side.expect == Expect::Asked;
        if asked {
            side.expect = Expect::Nothing;
        }
        asked
    }

    /// True when the connection can carry another request after this response: the client does not still wait
    /// for `100 Continue` (its body may never come), and its body was not malformed.
    pub(super) fn reusable(&self) -> bool {
        let side = self.side();
        !side.closed && (side.expect == Expect::Nothing || matches!(side.body, Remaining::None))
    }

    /// Ready once the client has closed the connection while its request is served (it gave up). Reads only when
    /// the request body is complete and nothing is buffered, so a pipelined request is kept, not lost; the read
    /// costs no system call unless the socket became readable.
    pub(super) fn poll_gone(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut side = self.side();
        if side.closed {
            return Poll::Ready(());
        }
        if !matches!(side.body, Remaining::None) || !side.buf.is_empty() || side.io.is_none() {
            return Poll::Pending;
        }
        match side.poll_read(cx, READ_SIZE) {
            Poll::Ready(0) => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }

    /// The socket's reading half and any bytes the client sent after the head: what an upgraded connection
    /// (WebSocket) continues with.
    pub(super) fn take_for_upgrade(&self) -> Option<(ReadHalf, BytesMut)> {
        let mut side = self.side();
        let buf = std::mem::take(&mut side.buf);
        side.io.take().map(|io| (io, buf))
    }
}

/// One piece of a request body.
#[derive(Debug)]
pub(super) enum BodyPiece {
    /// Body bytes.
    Data(Bytes),
    /// The trailer fields of a chunked body; the body has ended.
    Trailers(HeaderMap),
}

impl ReadSide {
    /// Reads more bytes into `buf`; `0` when the client closed the connection or reading failed.
    fn poll_read(&mut self, cx: &mut Context<'_>, size: usize) -> Poll<usize> {
        let Some(io) = self.io.as_mut() else { return Poll::Ready(0) };
        if self.buf.capacity() - self.buf.len() < size / 2 {
            self.buf.reserve(size);
        }
        let read = ready!(std::pin::pin!(io.read_buf(&mut self.buf)).poll(cx)).unwrap_or(0);
        if read == 0 {
            self.closed = true;
        }
        Poll::Ready(read)
    }

    /// Takes the next piece of the current body from what is buffered.
    fn step(&mut self) -> Result<Step, ChunkError> {
        match &mut self.body {
            Remaining::None => Ok(Step::End),
            Remaining::Length(0) => {
                self.body = Remaining::None;
                Ok(Step::End)
            }
            Remaining::Length(_) if self.buf.is_empty() => Ok(Step::More),
            Remaining::Length(n) => {
                let take = usize::try_from(*n).unwrap_or(usize::MAX).min(self.buf.len());
                *n -= take as u64;
                if *n == 0 {
                    self.body = Remaining::None;
                }
                Ok(Step::Piece(BodyPiece::Data(self.buf.split_to(take).freeze())))
            }
            Remaining::Chunked(decoder) => match decoder.decode(&mut self.buf)? {
                Decoded::Data(data) => Ok(Step::Piece(BodyPiece::Data(data))),
                Decoded::Trailers(trailers) => {
                    self.body = Remaining::None;
                    Ok(Step::Piece(BodyPiece::Trailers(trailers)))
                }
                Decoded::End => {
                    self.body = Remaining::None;
                    Ok(Step::End)
                }
                Decoded::More => Ok(Step::More),
            },
        }
    }

    /// Drops what is buffered of a body nobody read, counting it in `discarded`. `Ok(true)` once it is all gone,
    /// `Ok(false)` when more must be read, `Err` when it is more than [`MAX_DISCARD`] in all, malformed, or withheld
    /// (the client still waits for `100 Continue`).
    fn discard(&mut self) -> Result<bool, ()> {
        loop {
            if self.expect != Expect::Nothing && !matches!(self.body, Remaining::None) {
                return Err(());
            }
            match self.step().map_err(drop)? {
                Step::End => return Ok(true),
                Step::More => return Ok(false),
                Step::Piece(BodyPiece::Data(data)) => self.discarded += data.len() as u64,
                Step::Piece(BodyPiece::Trailers(_)) => {}
            }
            if self.discarded > MAX_DISCARD {
                return Err(());
            }
        }
    }
}

/// What the buffered bytes give of the current body.
enum Step {
    /// A piece of it.
    Piece(BodyPiece),
    /// Its end (or no body).
    End,
    /// More bytes must be read.
    More,
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    async fn connected() -> (ClientReader, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (ClientReader::new(ReadHalf::Plain(server.into_split().0)), client)
    }

    #[tokio::test]
    async fn an_unread_body_is_dropped_only_up_to_the_cap_however_slowly_it_arrives() {
        let (reader, mut client) = connected().await;
        client.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 400000\r\n\r\n").await.unwrap();
        let head = poll_fn(|cx| reader.poll_head(cx, false)).await;
        assert!(matches!(head, Next::Request(_)), "{head:?}");
        // Nobody reads the body: the next head is awaited, and the body dropped as it arrives.
        let (client_read, mut client_write) = client.into_split();
        let writer = tokio::spawn(async move {
            client_write.write_all(&vec![b'x'; 200_000]).await.unwrap();
            client_write
        });
        let below_cap = poll_fn(|cx| match reader.poll_head(cx, false) {
            Poll::Ready(next) => Poll::Ready(Some(next)),
            Poll::Pending if reader.side().discarded >= 200_000 => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await;
        assert!(below_cap.is_none(), "200 KB are dropped to keep the connection: {below_cap:?}");
        // More arrives after the reader waited: the count goes on from where it was.
        let mut client_write = writer.await.unwrap();
        client_write.write_all(&vec![b'x'; 100_000]).await.unwrap();
        let over_cap = tokio::time::timeout(Duration::from_secs(10), poll_fn(|cx| reader.poll_head(cx, false))).await;
        assert!(matches!(over_cap, Ok(Next::Closed)), "300 KB is past the cap: the connection closes: {over_cap:?}");
        let _ = client_read.readable().await;
    }
}
