//! The upstream servers every subject forwards to: tiny and fast (static bodies, one thread, keep-alive), so the
//! measurement is dominated by the proxy in front of them and not by the upstream itself.
//!
//! `GET /small` answers 100 bytes, `GET /64k` 64 KiB, `GET /stream?bytes=N` N bytes in 64 KiB chunks,
//! `POST /sink[?pace]` reads and discards the body (slowly with `pace`) and answers its length, `GET /ws` is a WebSocket echo.

use std::convert::Infallible;
use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt as _, Either, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::pace;

/// The `/small` response body: 100 bytes.
pub const SMALL_LEN: usize = 100;
/// The `/64k` response body and the `/stream` chunk: 64 KiB.
pub const CHUNK_LEN: usize = 64 * 1024;

/// One static buffer every response body is a slice of, so serving allocates no body bytes.
static FILL: [u8; CHUNK_LEN] = [b'x'; CHUNK_LEN];

/// A response body: a static buffer in one frame, or a stream of static chunks.
type UpstreamBody = Either<Full<Bytes>, Chunks>;

/// Serves every port until the process is killed; prints `ready` once all of them listen.
pub fn serve(ports: &[u16]) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let mut listeners = Vec::with_capacity(ports.len());
        for port in ports {
            let listener = TcpListener::bind(("127.0.0.1", *port))
                .await
                .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
            listeners.push(listener);
        }
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "ready").and_then(|()| stdout.flush()).map_err(|e| format!("cannot print: {e}"))?;
        drop(stdout);
        let mut accepting = tokio::task::JoinSet::new();
        for listener in listeners {
            accepting.spawn(accept_loop(listener));
        }
        while accepting.join_next().await.is_some() {}
        Ok(())
    })
}

/// Accepts connections forever; an accept error (e.g. too many open files) is retried, not fatal.
async fn accept_loop(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(respond))
                .with_upgrades();
            let _ = connection.await;
        });
    }
}

/// Routes one request to its endpoint.
async fn respond(request: Request<Incoming>) -> Result<Response<UpstreamBody>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/small") => fixed(Bytes::from_static(&FILL[..SMALL_LEN])),
        (&Method::GET, "/64k") => fixed(Bytes::from_static(&FILL)),
        (&Method::GET, "/stream") => stream(request.uri().query()),
        (&Method::POST, "/sink") => {
            let paced = request.uri().query().is_some_and(|q| q.split('&').any(|p| p == "pace"));
            sink(request.into_body(), paced).await
        }
        (&Method::GET, "/ws") => websocket(request),
        _ => status(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(response)
}

fn fixed(body: Bytes) -> Response<UpstreamBody> {
    Response::new(Either::Left(Full::new(body)))
}

fn status(code: StatusCode, text: &'static str) -> Response<UpstreamBody> {
    let mut response = fixed(Bytes::from_static(text.as_bytes()));
    *response.status_mut() = code;
    response
}

/// `GET /stream?bytes=N`: N bytes in 64 KiB chunks, each sent only when the connection can take it.
fn stream(query: Option<&str>) -> Response<UpstreamBody> {
    let bytes = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("bytes="))
        .and_then(|n| n.parse::<u64>().ok());
    match bytes {
        Some(remaining) => Response::new(Either::Right(Chunks { remaining })),
        None => status(StatusCode::BAD_REQUEST, "expected ?bytes=N"),
    }
}

/// `POST /sink`: reads the body frame by frame (never holding it) and answers how many bytes came. With
/// `?pace` it reads at the slow pace of [`pace::due`], so a proxy in front must hold back the client.
async fn sink(mut body: Incoming, paced: bool) -> Response<UpstreamBody> {
    let started = tokio::time::Instant::now();
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => total += frame.data_ref().map_or(0, |d| d.len() as u64),
            Err(_) => return status(StatusCode::BAD_REQUEST, "body read failed"),
        }
        if paced {
            tokio::time::sleep_until(started + pace::due(total)).await;
        }
    }
    fixed(Bytes::from(total.to_string()))
}

/// `GET /ws`: accepts the WebSocket handshake and echoes every data message on the upgraded connection.
fn websocket(mut request: Request<Incoming>) -> Response<UpstreamBody> {
    let Some(key) = request.headers().get(SEC_WEBSOCKET_KEY) else {
        return status(StatusCode::BAD_REQUEST, "expected a WebSocket upgrade");
    };
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        while let Some(Ok(message)) = socket.next().await {
            if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut response = status(StatusCode::SWITCHING_PROTOCOLS, "");
    let headers = response.headers_mut();
    headers.insert(UPGRADE, hyper::header::HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, hyper::header::HeaderValue::from_static("upgrade"));
    if let Ok(value) = accept.parse() {
        headers.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    *response.body_mut() = Either::Left(Full::new(Bytes::new()));
    response
}

/// A body of `remaining` bytes sent as 64 KiB slices of the static buffer: no allocation per chunk.
pub struct Chunks {
    remaining: u64,
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let len = usize::try_from(self.remaining).map_or(CHUNK_LEN, |r| r.min(CHUNK_LEN));
        self.remaining -= len as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&FILL[..len])))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_add_up_to_the_requested_length() {
        let body = Chunks { remaining: 3 * CHUNK_LEN as u64 + 5 };
        let collected = body.collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
        assert_eq!(collected.len(), 3 * CHUNK_LEN + 5);
    }
}
