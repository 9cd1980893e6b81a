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
use tokio::net::tcp::OwnedReadHalf;

use crate::chunked::{ChunkedDecoder, Decoded};
use crate::client_body::ClientBodyError;
use crate::request_head::{BodyFraming, RequestError, RequestHead, parse_request};

/// What starts every HTTP/2 connection with prior knowledge (h2c), RFC 9113 §3.4.
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
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
pub enum Next {
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
pub struct ClientReader {
    side: Mutex<ReadSide>,
}

#[derive(Debug)]
struct ReadSide {
    /// `None` once handed over to an upgrade.
    io: Option<OwnedReadHalf>,
    /// Bytes read and not yet consumed: the rest of a head, body bytes, a pipelined request.
    buf: BytesMut,
    /// What is left of the current request's body.
    body: Remaining,
    /// The state of an `Expect: 100-continue`.
    expect: Expect,
    /// Set once the client closed its side (or reading failed).
    closed: bool,
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
    pub fn new(io: OwnedReadHalf) -> Self {
        let side = ReadSide {
            io: Some(io),
            buf: BytesMut::with_capacity(READ_SIZE),
            body: Remaining::None,
            expect: Expect::Nothing,
            closed: false,
        };
        ClientReader { side: Mutex::new(side) }
    }

    fn side(&self) -> MutexGuard<'_, ReadSide> {
        self.side.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the next request head. What is left of the previous request's body is read and dropped first (up to
    /// [`MAX_DISCARD`]). `first` allows the HTTP/2 preface.
    pub fn poll_head(&self, cx: &mut Context<'_>, first: bool) -> Poll<Next> {
        let mut side = self.side();
        let mut discarded = 0u64;
        loop {
            if side.closed {
                return Poll::Ready(Next::Closed);
            }
            match side.discard(&mut discarded) {
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
                        side.body = match head.body {
                            BodyFraming::Empty => Remaining::None,
                            BodyFraming::Length(n) => Remaining::Length(n),
                            BodyFraming::Chunked => Remaining::Chunked(ChunkedDecoder::default()),
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
    pub fn poll_body(&self, cx: &mut Context<'_>) -> Poll<Option<Result<BodyPiece, ClientBodyError>>> {
        let mut side = self.side();
        loop {
            match side.step() {
                Ok(Step::Piece(piece)) => return Poll::Ready(Some(Ok(piece))),
                Ok(Step::End) => return Poll::Ready(None),
                Ok(Step::More) => {}
                Err(()) => {
                    side.closed = true;
                    return Poll::Ready(Some(Err(ClientBodyError::Invalid)));
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
    pub fn take_continue(&self) -> bool {
        let mut side = self.side();
        let asked = side.expect == Expect::Asked;
        if asked {
            side.expect = Expect::Nothing;
        }
        asked
    }

    /// True when the client still waits for `100 Continue`, so its body may never come: the connection cannot be
    /// reused after the response.
    pub fn body_withheld(&self) -> bool {
        let side = self.side();
        side.expect != Expect::Nothing && !matches!(side.body, Remaining::None)
    }

    /// Ready once the client has closed the connection while its request is served (it gave up). Reads only when
    /// the request body is complete and nothing is buffered, so a pipelined request is kept, not lost; the read
    /// costs no system call unless the socket became readable.
    pub fn poll_gone(&self, cx: &mut Context<'_>) -> Poll<()> {
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
    pub fn take_for_upgrade(&self) -> Option<(OwnedReadHalf, BytesMut)> {
        let mut side = self.side();
        let buf = std::mem::take(&mut side.buf);
        side.io.take().map(|io| (io, buf))
    }
}

/// One piece of a request body.
#[derive(Debug)]
pub enum BodyPiece {
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
    fn step(&mut self) -> Result<Step, ()> {
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
            Remaining::Chunked(decoder) => match decoder.decode(&mut self.buf).map_err(drop)? {
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

    /// Drops what is buffered of a body nobody read. `Ok(true)` once it is all gone, `Ok(false)` when more must be
    /// read, `Err` when it is too much, malformed, or withheld (the client still waits for `100 Continue`).
    fn discard(&mut self, discarded: &mut u64) -> Result<bool, ()> {
        loop {
            if self.expect != Expect::Nothing && !matches!(self.body, Remaining::None) {
                return Err(());
            }
            match self.step()? {
                Step::End => return Ok(true),
                Step::More => return Ok(false),
                Step::Piece(BodyPiece::Data(data)) => *discarded += data.len() as u64,
                Step::Piece(BodyPiece::Trailers(_)) => {}
            }
            if *discarded > MAX_DISCARD {
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
