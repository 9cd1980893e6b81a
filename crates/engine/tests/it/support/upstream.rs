//! Test upstreams: real HTTP/1.1 servers on ephemeral loopback ports, configured with a fluent builder (the idea of
//! linkerd2-proxy's integration `server.rs`), so each test states only what is special about its dev server.
//!
//! By default an upstream echoes what it received as JSON (its name, method, path and query, headers, and the body's
//! length and whether it was the test pattern), which lets a test assert exactly what the proxy forwarded.

use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_TYPE, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::pattern::{PatternBody, PatternCheck};
use super::replies::{accept_websocket, hang_up, held_body, serve_raw_once};

/// The body type every test upstream answers with.
pub(super) type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

/// A latch the test opens to let an upstream continue: it proves ordering ("the client saw chunk 1 while the
/// upstream still held the rest") without sleeping. Clones share the latch; once open it stays open.
#[derive(Debug, Clone)]
pub struct Gate(Arc<watch::Sender<bool>>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Gate(Arc::new(watch::channel(false).0))
    }

    /// Lets every waiter through, now and later.
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    /// Waits until the gate is open.
    pub async fn opened(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

/// What an upstream answers with.
#[derive(Debug, Clone)]
enum Mode {
    /// JSON describing the request.
    Echo,
    /// `len` pattern bytes, generated as they are sent.
    Download(u64),
    /// `first`, then (once the gate opens) `rest`, as separate chunks of a chunked body.
    Held { first: Bytes, rest: Bytes, gate: Gate },
    /// WebSocket echo for upgrade requests (101), JSON echo otherwise.
    WebSocket,
    /// Raw TCP: one fixed response per connection without `Connection: close`, then the socket is closed.
    CloseSilently,
    /// Raw TCP: reads the request head, then closes the connection without answering.
    HangUp,
}

/// One request as the upstream saw its head (logged on arrival, before the body is read).
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    /// Request method.
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// Headers as received.
    pub headers: HeaderMap,
}

/// Builder of a test upstream.
#[derive(Debug, Clone)]
pub struct TestUpstream {
    name: String,
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    delay: Option<Duration>,
    hold: Option<Gate>,
    close_after: Option<usize>,
    ipv6: bool,
    port: u16,
    mode: Mode,
}

impl Default for TestUpstream {
    fn default() -> Self {
        Self::new()
    }
}

impl TestUpstream {
    /// An echo upstream named `upstream` on `127.0.0.1:0` that answers 200.
    pub fn new() -> Self {
        TestUpstream {
            name: "upstream".into(),
            status: StatusCode::OK,
            headers: Vec::new(),
            delay: None,
            hold: None,
            close_after: None,
            ipv6: false,
            port: 0,
            mode: Mode::Echo,
        }
    }

    /// The name it reports in the `x-upstream` header and the echo's `upstream` field.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Answers with this status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = StatusCode::from_u16(status).expect("a valid status");
        self
    }

    /// Adds a response header (e.g. hop-by-hop ones the proxy must strip).
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((HeaderName::from_static(name), HeaderValue::from_static(value)));
        self
    }

    /// Waits this long before answering (a slow dev server, not a synchronization device).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Holds every response head until `gate` opens: a request the test can keep in flight.
    pub fn hold(mut self, gate: &Gate) -> Self {
        self.hold = Some(gate.clone());
        self
    }

    /// Sends `Connection: close` with the `n`th response of each connection (and hyper then closes it).
    pub fn close_after(mut self, n: usize) -> Self {
        self.close_after = Some(n);
        self
    }

    /// Binds `[::1]:0` only, like Vite on recent Node.
    pub fn ipv6_only(mut self) -> Self {
        self.ipv6 = true;
        self
    }

    /// Binds this port instead of an ephemeral one (to restart a server where it was).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Answers with `len` generated pattern bytes (Content-Length known).
    pub fn download(mut self, len: u64) -> Self {
        self.mode = Mode::Download(len);
        self
    }

    /// Answers `first` at once and `rest` only after `gate` opens, as an SSE stream.
    pub fn held_stream(mut self, first: &'static str, rest: &'static str, gate: &Gate) -> Self {
        self.mode = Mode::Held {
            first: Bytes::from_static(first.as_bytes()),
            rest: Bytes::from_static(rest.as_bytes()),
            gate: gate.clone(),
        };
        self
    }

    /// Accepts WebSocket upgrades and echoes every message.
    pub fn websocket(mut self) -> Self {
        self.mode = Mode::WebSocket;
        self
    }

    /// Answers one request per connection and closes the socket without announcing it.
    pub fn close_silently(mut self) -> Self {
        self.mode = Mode::CloseSilently;
        self
    }

    /// Reads each request head and closes the connection without a response byte (a crashing dev server).
    pub fn hang_up(mut self) -> Self {
        self.mode = Mode::HangUp;
        self
    }

    /// Binds and starts serving.
    pub async fn start(self) -> RunningUpstream {
        let ip = if self.ipv6 { Ipv6Addr::LOCALHOST.into() } else { Ipv4Addr::LOCALHOST.into() };
        let listener = TcpListener::bind(SocketAddr::new(ip, self.port)).await.expect("test upstream binds");
        let addr = listener.local_addr().expect("bound address");
        let shared = Arc::new(Shared {
            upstream: self,
            log: Mutex::default(),
            connections: AtomicUsize::new(0),
            produced: Arc::default(),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        RunningUpstream { addr, shared, stop, task: Some(task) }
    }
}

#[derive(Debug)]
struct Shared {
    upstream: TestUpstream,
    log: Mutex<Vec<LoggedRequest>>,
    connections: AtomicUsize,
    produced: Arc<AtomicU64>,
}

/// A started upstream. Dropping it aborts it; [`RunningUpstream::stop`] closes it and waits until it is gone.
#[derive(Debug)]
pub struct RunningUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningUpstream {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or `http://[::1]:PORT`), for an Upstream `url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request head received so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Number of requests received so far.
    pub fn count(&self) -> usize {
        self.shared.log.lock().unwrap().len()
    }

    /// Body bytes a [`TestUpstream::download`] has handed to hyper so far (sent or buffered for sending).
    pub fn produced(&self) -> u64 {
        self.shared.produced.load(SeqCst)
    }

    /// Number of TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(SeqCst)
    }

    /// Stops accepting, closes every open connection and waits until the port is free.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningUpstream {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                shared.connections.fetch_add(1, SeqCst);
                connections.spawn(serve_connection(stream, Arc::clone(&shared)));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    if matches!(shared.upstream.mode, Mode::CloseSilently) {
        serve_raw_once(stream, &shared.upstream.name, &shared.log).await;
        return;
    }
    if matches!(shared.upstream.mode, Mode::HangUp) {
        hang_up(stream, &shared.log).await;
        return;
    }
    let served = Arc::new(AtomicUsize::new(0));
    let service = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        let nth = served.fetch_add(1, SeqCst) + 1;
        async move { Ok::<_, Infallible>(respond(&shared, req, nth).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

async fn respond(shared: &Shared, mut req: Request<Incoming>, nth: usize) -> Response<ResponseBody> {
    let up = &shared.upstream;
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    shared.log.lock().unwrap().push(LoggedRequest {
        method: req.method().to_string(),
        path: path.clone(),
        headers: req.headers().clone(),
    });
    if matches!(up.mode, Mode::WebSocket) && req.headers().get(UPGRADE).is_some_and(|u| u == "websocket") {
        return accept_websocket(&mut req);
    }
    let (parts, mut body) = req.into_parts();
    let mut check = PatternCheck::new();
    let mut prefix = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            check.feed(data);
            let room = (64 * 1024usize).saturating_sub(prefix.len());
            prefix.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    if let Some(gate) = &up.hold {
        gate.opened().await;
    }
    if let Some(delay) = up.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = match &up.mode {
        Mode::Download(len) => {
            Response::new(PatternBody::new(*len).counting(Arc::clone(&shared.produced)).boxed_unsync())
        }
        Mode::Held { first, rest, gate } => held_body(first.clone(), rest.clone(), gate.clone()),
        _ => {
            let headers: Map<String, Value> = parts
                .headers
                .keys()
                .map(|k| {
                    let values = parts.headers.get_all(k).iter().map(|v| json!(v.to_str().unwrap_or("?"))).collect();
                    (k.as_str().to_owned(), Value::Array(values))
                })
                .collect();
            let echo = json!({
                "upstream": up.name,
                "method": parts.method.as_str(),
                "path": path,
                "headers": headers,
                "body_len": check.len,
                "body_is_pattern": check.intact,
                "body": String::from_utf8_lossy(&prefix),
            });
            let mut r = Response::new(Full::new(Bytes::from(echo.to_string())).boxed_unsync());
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
    };
    *response.status_mut() = up.status;
    let headers = response.headers_mut();
    headers.insert("x-upstream", HeaderValue::from_str(&up.name).expect("a header-safe name"));
    for (name, value) in &up.headers {
        headers.append(name.clone(), value.clone());
    }
    if up.close_after.is_some_and(|n| nth >= n) {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
