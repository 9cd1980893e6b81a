//! WebSocket echo load (wrk cannot speak WebSocket): C connections, each sending a small message and waiting for
//! its echo, over and over, for D seconds. Prints one JSON line the driver reads back as a [`Measurement`].

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::quantile::nearest_rank;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::{WebSocketStream, client_async};

use crate::measurement::Measurement;
use crate::pin::Pinning;

/// Bytes per echoed message, like a small HMR or chat message.
const MESSAGE_LEN: usize = 100;

/// What to load and for how long.
#[derive(Debug, Clone, Args)]
pub struct WsLoadArgs {
    /// The echo endpoint, `ws://host:port/path`.
    #[arg(long)]
    pub url: String,
    /// Concurrent WebSocket connections.
    #[arg(long, default_value_t = 64)]
    pub connections: u32,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 5)]
    pub duration_secs: u64,
    /// A Host header other than the URL's.
    #[arg(long)]
    pub host: Option<String>,
}

type Socket = WebSocketStream<TcpStream>;

/// Runs `roundabout-bench ws-load` (this binary) as a child on the load CPU and reads back its result.
pub fn spawn(pinning: &Pinning, url: &str, connections: u32, secs: u64) -> Result<Measurement, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let output = pinning
        .load_command(exe)
        .args(["ws-load", "--url", url, "--connections", &connections.to_string()])
        .args(["--duration-secs", &secs.to_string()])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ws-load: {e}"))?;
    if !output.status.success() {
        return Err(format!("ws-load against {url} failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Measurement::from_json(stdout.lines().last().unwrap_or_default())
}

/// Runs the load on one thread and prints the result as a JSON line.
pub fn run(args: &WsLoadArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let measurement = runtime.block_on(load(args))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", measurement.to_json()).map_err(|e| format!("cannot print: {e}"))
}

async fn load(args: &WsLoadArgs) -> Result<Measurement, String> {
    let mut sockets = Vec::new();
    for _ in 0..args.connections {
        sockets.push(connect(args).await?);
    }
    let payload = Bytes::from(vec![b'x'; MESSAGE_LEN]);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration_secs);
    let mut tasks = JoinSet::new();
    for socket in sockets {
        tasks.spawn(echo_until(socket, deadline, payload.clone()));
    }
    let mut latencies = Vec::new();
    let mut problems = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (mut samples, problem) = joined.map_err(|e| format!("a connection task failed: {e}"))?;
        latencies.append(&mut samples);
        problems.extend(problem);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let rps = latencies.len() as f64 / elapsed;
    Ok(Measurement {
        rps,
        p50_us: f64::from(nearest_rank(&latencies, 0.50)),
        p99_us: f64::from(nearest_rank(&latencies, 0.99)),
        problems,
    })
}

/// Opens one WebSocket connection with TCP_NODELAY, as browsers and proxies do.
async fn connect(args: &WsLoadArgs) -> Result<Socket, String> {
    let authority = args
        .url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| format!("expected a ws:// URL, got {}", args.url))?;
    let stream = TcpStream::connect(authority).await.map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut request = args.url.as_str().into_client_request().map_err(|e| format!("bad URL {}: {e}", args.url))?;
    if let Some(host) = &args.host {
        let value = host.parse().map_err(|e| format!("bad --host {host}: {e}"))?;
        request.headers_mut().insert(hyper::header::HOST, value);
    }
    let (socket, _) = client_async(request, stream)
        .await
        .map_err(|e| format!("WebSocket handshake with {} failed: {e}", args.url))?;
    Ok(socket)
}

/// Sends and awaits echoes until the deadline; returns each round trip in microseconds and the error, if any.
async fn echo_until(mut socket: Socket, deadline: Instant, payload: Bytes) -> (Vec<u32>, Option<String>) {
    let mut latencies = Vec::with_capacity(1 << 16);
    while Instant::now() < deadline {
        let sent = Instant::now();
        if let Err(e) = socket.send(Message::binary(payload.clone())).await {
            return (latencies, Some(format!("send failed: {e}")));
        }
        loop {
            match socket.next().await {
                Some(Ok(message)) if message.is_binary() && message.len() == payload.len() => break,
                Some(Ok(message)) if message.is_ping() || message.is_pong() => {}
                Some(Ok(message)) => return (latencies, Some(format!("unexpected message: {message:?}"))),
                Some(Err(e)) => return (latencies, Some(format!("receive failed: {e}"))),
                None => return (latencies, Some("the connection closed".to_string())),
            }
        }
        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    let _ = socket.close(None).await;
    (latencies, None)
}
