//! Writing a response to a client: waiting for the handler's answer (and sending `100 Continue` meanwhile), then
//! streaming the body frame by frame with the framing decided for it, and the answer to a request that could not be
//! read.

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{HeaderMap, Response, Version};
use http_body::{Body, Frame};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::io::WriteHalf;
use super::reader::ClientReader;
use crate::http1::{self, Framing, RequestError};

/// What a client waiting with `Expect: 100-continue` is sent when its body is wanted.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// Body pieces up to this size are copied behind the head (one write for a small response); larger ones are
/// written from where they are.
const COPY_LIMIT: usize = 16 * 1024;
/// Copied bytes are written out once this many are waiting.
const FLUSH_AT: usize = 64 * 1024;

/// Runs the handler on a request until it answers, sending `100 Continue` when the body is wanted. `None` when the
/// client closed the connection meanwhile (the request is dropped, which cancels it at the Upstream).
pub(super) async fn respond<B>(
    mut handling: Pin<&mut impl Future<Output = Response<B>>>,
    reader: &ClientReader,
    write: &mut WriteHalf,
) -> Option<Response<B>> {
    let mut continue_left = 0;
    poll_fn(|cx| {
        if let Poll::Ready(response) = handling.as_mut().poll(cx) {
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
pub(super) async fn send_body<B: Body<Data = Bytes>>(
    write: &mut WriteHalf,
    out: &mut Vec<u8>,
    body: B,
    framing: Framing,
    reader: &ClientReader,
) -> bool {
    let mut body = pin!(body);
    if framing == Framing::Empty {
        // Polled once so an Upstream's empty body returns its connection to the pool; nothing of it is sent.
        let _ = body.as_mut().poll_frame(&mut Context::from_waker(Waker::noop()));
        return write.write_all(out).await.is_ok();
    }
    let chunked = framing == Framing::Chunked;
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
                    http1::last_chunk(out, trailers.as_ref());
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
enum Step<E> {
    /// The body's next frame, or its end.
    Frame(Option<Result<Frame<Bytes>, E>>),
    /// The body has nothing yet: what is copied so far goes out.
    Flush,
    /// The client closed the connection.
    Gone,
}

/// Adds one piece of the body: copied behind what waits in `out` when small, written from where it is when large.
async fn send_data(write: &mut WriteHalf, out: &mut Vec<u8>, data: Bytes, chunked: bool) -> io::Result<()> {
    if chunked {
        http1::chunk_size_line(out, data.len());
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

/// Answers a request that could not be read with a status and the reason, then closes.
pub(super) async fn refuse(write: &mut WriteHalf, error: &RequestError) {
    let status = error.status();
    let text = format!("Roundabout could not read this request: {error}.\n");
    let mut out = Vec::with_capacity(256);
    let mut parts = Response::new(()).into_parts().0;
    parts.status = status;
    parts.headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    http1::response_head(&mut out, &parts, Framing::Length(text.len() as u64), Version::HTTP_11, false);
    out.extend_from_slice(text.as_bytes());
    let _ = write.write_all(&out).await;
    let _ = write.shutdown().await;
}
