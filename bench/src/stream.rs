//! Memory while streaming: 64 MiB down through the proxy to a slow reader and 64 MiB up to the sink, with the
//! proxy's RSS sampled throughout. A proxy that streams stays flat; one that buffers grows by the body size.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::memory::{self, PeakSampler};
use crate::pace;
use crate::upstream::CHUNK_LEN;

/// Bytes streamed each way.
pub const STREAM_BYTES: u64 = 64 * 1024 * 1024;
/// The reader's read size.
const READ_LEN: usize = 16 * 1024;

/// One streaming measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamResult {
    /// What was streamed, e.g. `download 64 MiB (slow reader)`.
    pub what: &'static str,
    /// Body bytes that arrived.
    pub bytes: u64,
    /// How long it took.
    pub secs: f64,
    /// Proxy RSS before, in KiB.
    pub before_kib: u64,
    /// Highest proxy RSS while streaming, in KiB.
    pub peak_kib: u64,
    /// Proxy RSS right after, in KiB.
    pub after_kib: u64,
}

impl StreamResult {
    /// How much the proxy grew while streaming, in KiB.
    pub fn growth_kib(&self) -> u64 {
        self.peak_kib.saturating_sub(self.before_kib)
    }

    /// The result as JSON for `--json`.
    pub fn to_json(&self) -> Value {
        json!({ "what": self.what, "bytes": self.bytes, "secs": self.secs, "rss_before_kib": self.before_kib,
                "rss_peak_kib": self.peak_kib, "rss_after_kib": self.after_kib })
    }
}

/// Downloads `GET /stream?bytes=64MiB` through the proxy on `port` with a slow reader, sampling `pid`'s RSS.
pub fn download(port: u16, pid: u32) -> Result<StreamResult, String> {
    measure("download 64 MiB (slow reader)", pid, || {
        let mut socket = connect(port)?;
        let head = format!("GET /stream?bytes={STREAM_BYTES} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
        socket.write_all(head.as_bytes()).map_err(|e| format!("cannot send the request: {e}"))?;
        let (head, rest) = read_head(&mut socket)?;
        expect_ok(&head)?;
        let mut body = rest.len() as u64;
        let mut buffer = vec![0u8; READ_LEN];
        let started = Instant::now();
        loop {
            let n = socket.read(&mut buffer).map_err(|e| format!("download failed after {body} bytes: {e}"))?;
            if n == 0 {
                break;
            }
            body += n as u64;
            // Rate limiting, not synchronisation: a slow client, so the proxy has to hold back the upstream.
            if let Some(early) = (started + pace::due(body)).checked_duration_since(Instant::now()) {
                std::thread::sleep(early);
            }
        }
        Ok(body)
    })
}

/// Uploads 64 MiB as fast as it can to `POST /sink?pace` (a slow reader) through the proxy on `port`, sampling
/// `pid`'s RSS.
pub fn upload(port: u16, pid: u32) -> Result<StreamResult, String> {
    measure("upload 64 MiB (slow upstream)", pid, || {
        let mut socket = connect(port)?;
        let head = format!(
            "POST /sink?pace HTTP/1.1\r\nHost: bench\r\nContent-Length: {STREAM_BYTES}\r\nConnection: close\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).map_err(|e| format!("cannot send the request: {e}"))?;
        let chunk = vec![b'u'; CHUNK_LEN];
        for _ in 0..STREAM_BYTES / CHUNK_LEN as u64 {
            socket.write_all(&chunk).map_err(|e| format!("upload failed: {e}"))?;
        }
        let (head, mut answer) = read_head(&mut socket)?;
        expect_ok(&head)?;
        socket.read_to_end(&mut answer).map_err(|e| format!("no answer from the sink: {e}"))?;
        // The sink answers the byte count it read (possibly chunked: the count is the last number).
        let answer = lossy(&answer);
        Ok(answer.split_whitespace().filter_map(|n| n.parse::<u64>().ok()).max().unwrap_or(0))
    })
}

/// Runs `transfer` while sampling, and checks that every byte arrived.
fn measure(
    what: &'static str,
    pid: u32,
    transfer: impl FnOnce() -> Result<u64, String>,
) -> Result<StreamResult, String> {
    let before_kib = memory::tree_rss_kib(pid).ok_or("the proxy is gone")?;
    let sampler = PeakSampler::start(pid);
    let started = Instant::now();
    let transferred = transfer();
    let secs = started.elapsed().as_secs_f64();
    let peak_kib = sampler.finish();
    let bytes = transferred.map_err(|e| format!("{what}: {e}"))?;
    if bytes < STREAM_BYTES {
        return Err(format!("{what}: only {bytes} of {STREAM_BYTES} bytes arrived"));
    }
    let after_kib = memory::tree_rss_kib(pid).ok_or("the proxy is gone")?;
    Ok(StreamResult { what, bytes, secs, before_kib, peak_kib, after_kib })
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let socket = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("cannot connect to {port}: {e}"))?;
    socket.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| format!("cannot set a timeout: {e}"))?;
    Ok(socket)
}

/// Reads up to the end of the response head; returns the head and the body bytes that came with it.
fn read_head(socket: &mut TcpStream) -> Result<(String, Vec<u8>), String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = socket.read(&mut buffer).map_err(|e| format!("no response: {e}"))?;
        if n == 0 {
            return Err(format!("the connection closed before a response head: {:?}", lossy(&received)));
        }
        received.extend_from_slice(&buffer[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok((lossy(&received[..end]), received.split_off(end + 4)));
        }
    }
}

fn expect_ok(head: &str) -> Result<(), String> {
    if head.starts_with("HTTP/1.1 200") { Ok(()) } else { Err(format!("expected 200, got: {head}")) }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
