//! Serves one client connection. HTTP/1.1 (keep-alive, pipelining, `Expect: 100-continue`, upgrades) runs in this
//! loop on the connection's own task; a connection that opens with the HTTP/2 preface (h2c) goes to hyper.
//!
//! Why an own loop rather than hyper's HTTP/1 server: per proxied request hyper's server cost about 2 µs of CPU
//! and three allocations (a timer per request for the header-read timeout among them), which kept small responses
//! below nginx's rate. Here a request costs one head parse, one `HeaderMap` and one write; the header-read
//! timeout is one timer per connection.
//!
//! Behaviour follows hyper's: a client closing its side while its request is served cancels the request; a body
//! nobody read is read and dropped (up to 256 KiB) to keep the connection; a malformed head gets a 400 (or 431, or
//! 501) that says why, then the connection closes.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::BytesMut;
use http::header::UPGRADE;
use http::{Method, Request, StatusCode};
use http_body::Body;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::body::ClientBody;
use super::io::{ClientIo, WriteHalf};
use super::reader::{ClientReader, Next};
use super::respond::{refuse, respond, send_body};
use super::upgrade::{ClientUpgrade, Handover, Upgraded, UpgradedIo};
use super::{Connection, HEADER_READ_TIMEOUT, Handler, h2};
use crate::http1::{self, Framing, RequestHead};

/// Serves one accepted connection: over TLS when `tls` is given (HTTP/2 when the client chose `h2`, HTTP/1.1
/// otherwise; a handshake must finish within [`HEADER_READ_TIMEOUT`]), in the clear otherwise.
pub(super) async fn connection<H: Handler>(
    stream: TcpStream,
    conn: Arc<Connection>,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
) {
    let Some(tls) = tls else { return serve(ClientIo::Plain(stream), conn, handler, stop).await };
    let handshake = tokio::select! {
        done = tokio::time::timeout(HEADER_READ_TIMEOUT, tls.accept(stream)) => done,
        () = stopped(stop.clone()) => return,
    };
    let stream = match handshake {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return tracing::debug!("TLS handshake with {} failed: {e}", conn.remote),
        Err(_) => return tracing::debug!("TLS handshake with {} timed out", conn.remote),
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let io = ClientIo::Tls(Box::new(stream));
    if h2 {
        h2::serve(io, BytesMut::new(), conn, handler, stop).await;
    } else {
        serve(io, conn, handler, stop).await;
    }
}

/// Serves `stream` until the client closes it, it idles past [`HEADER_READ_TIMEOUT`], or `stop` turns true (then
/// the response in progress is finished first).
async fn serve<H: Handler>(stream: ClientIo, conn: Arc<Connection>, handler: Arc<H>, stop: watch::Receiver<bool>) {
    let (read, mut write) = stream.split();
    let reader = Arc::new(ClientReader::new(read));
    let mut stopping = pin!(stopped(stop.clone()));
    // One timer for the connection: when it fires while a head is awaited and no request was served since it was
    // armed, the client has been idle or slow for at least the timeout (and less than twice it).
    let mut watchdog = pin!(tokio::time::sleep(HEADER_READ_TIMEOUT));
    let (mut served, mut armed_at) = (0u64, 0u64);
    let mut out = Vec::with_capacity(1024);
    let mut first = true;
    loop {
        let next = poll_fn(|cx| {
            if let Poll::Ready(next) = reader.poll_head(cx, first) {
                return Poll::Ready(Some(next));
            }
            if stopping.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            while watchdog.as_mut().poll(cx).is_ready() {
                if served == armed_at {
                    return Poll::Ready(None);
                }
                armed_at = served;
                watchdog.as_mut().reset(Instant::now() + HEADER_READ_TIMEOUT);
            }
            Poll::Pending
        })
        .await;
        let head = match next {
            Some(Next::Request(head)) => head,
            Some(Next::Http2) => {
                let Some((read, early)) = reader.take_for_upgrade() else { return };
                let Some(stream) = ClientIo::unsplit(read, write) else { return };
                return h2::serve(stream, early, conn, handler, stop).await;
            }
            Some(Next::Invalid(e)) => return refuse(&mut write, &e).await,
            Some(Next::Closed) | None => return,
        };
        first = false;
        let exchange = Exchange { reader: &reader, write: &mut write, out: &mut out, stop: &stop };
        match exchange.run(head, &conn, &*handler).await {
            After::Next => served += 1,
            After::Close => {
                let _ = write.shutdown().await;
                return;
            }
            After::Gone => return,
            After::Upgrade(handover) => return hand_over(handover, &reader, write),
        }
    }
}

/// What follows an exchange on the connection.
enum After {
    /// The next request.
    Next,
    /// Nothing: the connection closes after the response (the client or the framing wants it).
    Close,
    /// Nothing: the client left, or writing failed.
    Gone,
    /// The 101 is written: the socket goes to the tunnel.
    Upgrade(Handover),
}

/// One request and its response, on the connection's reading and writing sides.
struct Exchange<'a> {
    reader: &'a Arc<ClientReader>,
    write: &'a mut WriteHalf,
    /// The connection's write buffer, kept between requests.
    out: &'a mut Vec<u8>,
    stop: &'a watch::Receiver<bool>,
}

impl Exchange<'_> {
    async fn run<H: Handler>(self, head: RequestHead, conn: &Connection, handler: &H) -> After {
        let RequestHead { parts, body, keep_alive: client_keeps, .. } = head;
        let (head_request, version) = (parts.method == Method::HEAD, parts.version);
        let body = match body {
            Framing::Length(n) => ClientBody::http1(Arc::clone(self.reader), Some(n)),
            Framing::Chunked => ClientBody::http1(Arc::clone(self.reader), None),
            Framing::Empty | Framing::UntilClose => ClientBody::Empty,
        };
        let (handover, upgrade) = if parts.headers.contains_key(UPGRADE) {
            let (handover, upgrade) = ClientUpgrade::pair();
            (Some(handover), Some(upgrade))
        } else {
            (None, None)
        };
        // Pinned where it is made: the request's future is large, and moving it costs more than parsing the head.
        let handling = pin!(handler.handle(conn, Request::from_parts(parts, body), upgrade));
        let Some(response) = respond(handling, self.reader, self.write).await else { return After::Gone };
        let (parts, body) = response.into_parts();
        self.out.clear();
        if parts.status == StatusCode::SWITCHING_PROTOCOLS {
            http1::response_head(self.out, &parts, Framing::Empty, version, handover.is_some());
            return match (self.write.write_all(self.out).await, handover) {
                (Ok(()), Some(handover)) => After::Upgrade(handover),
                _ => After::Gone,
            };
        }
        let framing = http1::for_client(head_request, parts.status, body.size_hint().exact(), version);
        let keep_alive =
            client_keeps && framing != Framing::UntilClose && !*self.stop.borrow() && self.reader.reusable();
        http1::response_head(self.out, &parts, framing, version, keep_alive);
        match send_body(self.write, self.out, body, framing, self.reader).await {
            false => After::Gone,
            true if keep_alive => After::Next,
            true => After::Close,
        }
    }
}

/// Gives the socket to the tunnel waiting for it, with what the client sent after its head.
fn hand_over(handover: Handover, reader: &ClientReader, write: WriteHalf) {
    let Some((read, early)) = reader.take_for_upgrade() else { return };
    if let Some(stream) = ClientIo::unsplit(read, write) {
        let _ = handover.send(Upgraded { stream: UpgradedIo::Connection(stream), early });
    }
}

/// Resolves when the Listener stops (never, if it is dropped without stopping).
pub(super) async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|stopping| *stopping).await.is_err() {
        std::future::pending::<()>().await;
    }
}
