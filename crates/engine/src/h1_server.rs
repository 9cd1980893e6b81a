//! Serves one client connection. HTTP/1.1 (keep-alive, pipelining, `Expect: 100-continue`, upgrades) runs in this
//! loop on the connection's own task; a connection that opens with the HTTP/2 preface (h2c) goes to hyper.
//!
//! Why an own loop rather than hyper's HTTP/1 server: per proxied request hyper's server cost about 2 µs of CPU
//! and three allocations (a timer per request for the header-read timeout among them), which kept small responses
//! below nginx's rate. Here a request costs one head parse, one `HeaderMap` and one write; the header-read
//! timeout is one timer per connection.
//!
//! Behaviour follows hyper's: a client closing its side while its request is served cancels the request; a body
//! nobody read is read and dropped (up to 256 KiB) to keep the connection; a malformed head gets a 400 (or 431)
//! that says why, then the connection closes.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::UPGRADE;
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body::{Body, Frame};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::body::ResponseBody;
use crate::chunked;
use crate::client_body::ClientBody;
use crate::client_reader::{ClientReader, Next};
use crate::client_upgrade::{ClientUpgrade, Handover, Upgraded};
use crate::listener::{HEADER_READ_TIMEOUT, MAX_HEADER_BYTES};
use crate::prefixed_io::PrefixedIo;
use crate::proxy::{Connection, Proxy};
use crate::request_head::{BodyFraming, RequestError, RequestHead};
use crate::response_head::{self, ResponseFraming};
use crate::upstream_error::UpstreamError;

/// What a client waiting with `Expect: 100-continue` is sent when its body is wanted.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// Body pieces up to this size are copied behind the head (one write for a small response); larger ones are
/// written from where they are.
const COPY_LIMIT: usize = 16 * 1024;
/// Copied bytes are written out once this many are waiting.
const FLUSH_AT: usize = 64 * 1024;

/// Serves `stream` until the client closes it, it idles past [`HEADER_READ_TIMEOUT`], or `stop` turns true (then
/// the response in progress is finished first).
pub async fn serve(stream: TcpStream, conn: Arc<Connection>, proxy: Arc<Proxy>, stop: watch::Receiver<bool>) {
    let (read, mut write) = stream.into_split();
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
            Some(Next::Http2) => return serve_h2(&reader, write, conn, proxy, stop).await,
            Some(Next::Invalid(e)) => return refuse(&mut write, &e).await,
            Some(Next::Closed) | None => return,
        };
        first = false;
        match exchange(head, &reader, &mut write, &mut out, &conn, &proxy, &stop).await {
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

/// One request and its response.
async fn exchange(
    head: RequestHead,
    reader: &Arc<ClientReader>,
    write: &mut OwnedWriteHalf,
    out: &mut Vec<u8>,
    conn: &Connection,
    proxy: &Proxy,
    stop: &watch::Receiver<bool>,
) -> After {
    let RequestHead { parts, body, keep_alive: client_keeps, .. } = head;
    let (head_request, version) = (parts.method == Method::HEAD, parts.version);
    let body = match body {
        BodyFraming::Empty => ClientBody::Empty,
        BodyFraming::Length(n) => ClientBody::http1(Arc::clone(reader), Some(n)),
        BodyFraming::Chunked => ClientBody::http1(Arc::clone(reader), None),
    };
    let (handover, upgrade) = if parts.headers.contains_key(UPGRADE) {
        let (handover, upgrade) = ClientUpgrade::pair();
        (Some(handover), Some(upgrade))
    } else {
        (None, None)
    };
    // Pinned where it is made: the request's future is large, and moving it costs more than parsing the head.
    let handling = pin!(proxy.handle(conn, Request::from_parts(parts, body), upgrade));
    let Some(response) = respond(handling, reader, write).await else { return After::Gone };
    let (parts, body) = response.into_parts();
    if parts.status == StatusCode::SWITCHING_PROTOCOLS {
        out.clear();
        response_head::write_head(out, &parts, ResponseFraming::Bodiless, version, handover.is_some());
        return match (write.write_all(out).await, handover) {
            (Ok(()), Some(handover)) => After::Upgrade(handover),
            _ => After::Gone,
        };
    }
    let framing = response_head::framing(head_request, parts.status, &body.size_hint(), version);
    let keep_alive =
        client_keeps && framing != ResponseFraming::UntilClose && !*stop.borrow() && !reader.body_withheld();
    out.clear();
    response_head::write_head(out, &parts, framing, version, keep_alive);
    match send_body(write, out, body, framing, reader).await {
        false => After::Gone,
        true if keep_alive => After::Next,
        true => After::Close,
    }
}

/// Runs the proxy on a request until it answers, sending `100 Continue` when the body is wanted. `None` when the
/// client closed the connection meanwhile (the request is dropped, which cancels it at the Upstream).
async fn respond(
    mut handling: Pin<&mut impl Future<Output = Result<Response<ResponseBody>, Infallible>>>,
    reader: &ClientReader,
    write: &mut OwnedWriteHalf,
) -> Option<Response<ResponseBody>> {
    let mut continue_left = 0;
    poll_fn(|cx| {
        if let Poll::Ready(Ok(response)) = handling.as_mut().poll(cx) {
            return Poll::Ready(Some(response));
        }
        if reader.take_continue() {
            continue_left = CONTINUE.len();
        }
        while continue_left > 0 {
            match Pin::new(&mut *write).poll_write(cx, &CONTINUE[CONTINUE.len() - continue_left..]) {
                Poll::Ready(Ok(n)) if n > 0 => continue_left -= n,
                Poll::Ready(_) => return Poll::Ready(None),
                Poll::Pending => break,
            }
        }
        if reader.poll_gone(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// Streams the response body after the head in `out`. False when the connection must close: the body failed, the
/// client left, or writing failed.
async fn send_body(
    write: &mut OwnedWriteHalf,
    out: &mut Vec<u8>,
    body: ResponseBody,
    framing: ResponseFraming,
    reader: &ClientReader,
) -> bool {
    let mut body = pin!(body);
    if framing == ResponseFraming::Bodiless {
        // Polled once so an Upstream's empty body returns its connection to the pool; nothing of it is sent.
        let _ = body.as_mut().poll_frame(&mut Context::from_waker(Waker::noop()));
        return write.write_all(out).await.is_ok();
    }
    let chunked = framing == ResponseFraming::Chunked;
    let mut trailers: Option<HeaderMap> = None;
    loop {
        let next = poll_fn(|cx| match body.as_mut().poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(Step::Frame(frame)),
            Poll::Pending if !out.is_empty() => Poll::Ready(Step::Flush),
            Poll::Pending => reader.poll_gone(cx).map(|()| Step::Gone),
        })
        .await;
        match next {
            Step::Flush => {
                if write.write_all(out).await.is_err() {
                    return false;
                }
                out.clear();
            }
            Step::Frame(None) => {
                if chunked {
                    out.extend_from_slice(&chunked::last_chunk(trailers.as_ref()));
                }
                return write.write_all(out).await.is_ok();
            }
            Step::Frame(Some(Err(_))) | Step::Gone => return false,
            Step::Frame(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) if data.is_empty() => {}
                Ok(data) => {
                    if send_data(write, out, data, chunked).await.is_err() {
                        return false;
                    }
                }
                Err(frame) => trailers = frame.into_trailers().ok(),
            },
        }
    }
}

/// What happened while a response body streams.
enum Step {
    /// The body's next frame, or its end.
    Frame(Option<Result<Frame<Bytes>, UpstreamError>>),
    /// The body has nothing yet: what is copied so far goes out.
    Flush,
    /// The client closed the connection.
    Gone,
}

/// Adds one piece of the body: copied behind what waits in `out` when small, written from where it is when large.
async fn send_data(write: &mut OwnedWriteHalf, out: &mut Vec<u8>, data: Bytes, chunked: bool) -> io::Result<()> {
    if chunked {
        out.extend_from_slice(&chunked::chunk_header(data.len()));
    }
    if data.len() <= COPY_LIMIT {
        out.extend_from_slice(&data);
        if chunked {
            out.extend_from_slice(b"\r\n");
        }
        if out.len() >= FLUSH_AT {
            write.write_all(out).await?;
            out.clear();
        }
        return Ok(());
    }
    let tail: &[u8] = if chunked { b"\r\n" } else { b"" };
    let mut slices = [IoSlice::new(out), IoSlice::new(&data), IoSlice::new(tail)];
    let mut slices = &mut slices[..];
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        let n = write.write_vectored(slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    out.clear();
    Ok(())
}

/// Gives the socket to the tunnel waiting for it, with what the client sent after its head.
fn hand_over(handover: Handover, reader: &ClientReader, write: OwnedWriteHalf) {
    let Some((read, early)) = reader.take_for_upgrade() else { return };
    if let Ok(stream) = read.reunite(write) {
        let _ = handover.send(Upgraded { stream, early });
    }
}

/// Answers a request that could not be read with a status and the reason, then closes.
async fn refuse(write: &mut OwnedWriteHalf, error: &RequestError) {
    let status = error.status();
    let text = format!("Roundabout could not read this request: {error}.\n");
    let mut out = Vec::with_capacity(256);
    let mut parts = Response::new(()).into_parts().0;
    parts.status = status;
    parts.headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response_head::write_head(&mut out, &parts, ResponseFraming::Length(text.len() as u64), Version::HTTP_11, false);
    out.extend_from_slice(text.as_bytes());
    let _ = write.write_all(&out).await;
    let _ = write.shutdown().await;
}

/// Serves an h2c connection with hyper; the preface already read is read again.
async fn serve_h2(
    reader: &ClientReader,
    write: OwnedWriteHalf,
    conn: Arc<Connection>,
    proxy: Arc<Proxy>,
    stop: watch::Receiver<bool>,
) {
    let Some((read, early)) = reader.take_for_upgrade() else { return };
    let Ok(stream) = read.reunite(write) else { return };
    let remote = conn.remote;
    let service = service_fn(move |req: Request<Incoming>| {
        let (proxy, conn) = (Arc::clone(&proxy), Arc::clone(&conn));
        async move { proxy.handle(&conn, req.map(ClientBody::Http2), None).await }
    });
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder.timer(TokioTimer::new()).max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX));
    let mut connection = pin!(builder.serve_connection(TokioIo::new(PrefixedIo::new(early, stream)), service));
    tokio::select! {
        ended = connection.as_mut() => if let Err(e) = ended {
            tracing::debug!("h2c connection from {remote} ended: {e}");
        },
        () = stopped(stop) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Resolves when the Listener stops (never, if it is dropped without stopping).
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|stopping| *stopping).await.is_err() {
        std::future::pending::<()>().await;
    }
}
