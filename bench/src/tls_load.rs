//! Handshake load: C concurrent clients, each opening a new TCP connection, doing a **full** TLS handshake
//! (session resumption off, so no handshake is abbreviated), sending one `GET` with `Connection: close` and reading
//! the response to the end, over and over for D seconds. wrk with `Connection: close` would reconnect too, but its
//! OpenSSL client resumes the previous session on every reconnect, and it starts a request's clock after the
//! handshake; here the latency runs from the TCP connect to the end of the response. Prints one JSON line the
//! driver reads back as a [`Measurement`].

use std::io::Write as _;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::Resumption;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, SignatureScheme};

use crate::measurement::Measurement;
use crate::pin::Pinning;
use crate::quantile::nearest_rank;

/// Longest one connection (connect, handshake, request, response) may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What to load and for how long.
#[derive(Debug, Clone, Args)]
pub struct TlsLoadArgs {
    /// `https://name:port/path`: the name is the TLS server name and the Host header.
    #[arg(long)]
    pub url: String,
    /// Where to connect (`host:port`) instead of resolving the URL's name.
    #[arg(long)]
    pub connect_to: String,
    /// Concurrent clients, each with one connection at a time.
    #[arg(long, default_value_t = 16)]
    pub connections: u32,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 5)]
    pub duration_secs: u64,
}

/// Runs `roundabout-bench tls-load` (this binary) as a child on the load CPU and reads back its result.
pub fn spawn(
    pinning: &Pinning,
    url: &str,
    connect_to: &str,
    connections: u32,
    secs: u64,
) -> Result<Measurement, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let output = pinning
        .load_command(exe)
        .args(["tls-load", "--url", url, "--connect-to", connect_to, "--connections", &connections.to_string()])
        .args(["--duration-secs", &secs.to_string()])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run tls-load: {e}"))?;
    if !output.status.success() {
        return Err(format!("tls-load against {url} failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Measurement::from_json(stdout.lines().last().unwrap_or_default())
}

/// Runs the load on one thread and prints the result as a JSON line.
pub fn run(args: &TlsLoadArgs) -> Result<(), String> {
    let target = Arc::new(Target::new(args)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let measurement = runtime.block_on(load(target, args.connections, args.duration_secs))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", measurement.to_json()).map_err(|e| format!("cannot print: {e}"))
}

/// Where and what every client sends.
struct Target {
    connector: TlsConnector,
    name: ServerName<'static>,
    connect_to: String,
    request: Vec<u8>,
}

impl Target {
    fn new(args: &TlsLoadArgs) -> Result<Target, String> {
        let rest = args.url.strip_prefix("https://").ok_or_else(|| format!("expected an https URL: {}", args.url))?;
        let (authority, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
        let host = authority.rsplit_once(':').map_or(authority, |(host, _)| host);
        let name = ServerName::try_from(host.to_string()).map_err(|e| format!("bad server name {host}: {e}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").into_bytes();
        Ok(Target {
            connector: TlsConnector::from(client_config()?),
            name,
            connect_to: args.connect_to.clone(),
            request,
        })
    }
}

/// rustls with ring (TLS 1.2 and 1.3, its default suites and groups), ALPN `http/1.1`, no session resumption, and
/// no certificate verification: the certificate is not checked against any root, as wrk and h2load do not check
/// it either, but the handshake signature is verified as every TLS client does.
fn client_config() -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts any certificate; checks the handshake signatures with the provider's algorithms.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn load(target: Arc<Target>, connections: u32, secs: u64) -> Result<Measurement, String> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        tasks.spawn(requests_until(Arc::clone(&target), deadline));
    }
    let (mut latencies, mut failed, mut first_error) = (Vec::new(), 0u64, None);
    while let Some(joined) = tasks.join_next().await {
        let (mut samples, errors, error) = joined.map_err(|e| format!("a client task failed: {e}"))?;
        latencies.append(&mut samples);
        failed += errors;
        first_error = first_error.or(error);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let rps = latencies.len() as f64 / elapsed;
    let problems = first_error.map(|e| format!("{failed} failed connections, the first: {e}")).into_iter().collect();
    Ok(Measurement {
        rps,
        p50_us: f64::from(nearest_rank(&latencies, 0.50)),
        p99_us: f64::from(nearest_rank(&latencies, 0.99)),
        problems,
    })
}

/// One client: a new connection per request until the deadline. Returns the latencies in microseconds, how many
/// connections failed, and the first failure.
async fn requests_until(target: Arc<Target>, deadline: Instant) -> (Vec<u32>, u64, Option<String>) {
    let (mut latencies, mut failed, mut first_error) = (Vec::with_capacity(1 << 14), 0, None);
    while Instant::now() < deadline {
        let sent = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, one_request(&target))
            .await
            .unwrap_or_else(|_| Err(format!("no response within {REQUEST_TIMEOUT:?}")));
        match outcome {
            Ok(()) => latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX)),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    (latencies, failed, first_error)
}

/// Connect, full handshake, one request, the response to its end.
async fn one_request(target: &Target) -> Result<(), String> {
    let tcp = TcpStream::connect(&target.connect_to).await.map_err(|e| format!("connect failed: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let mut tls =
        target.connector.connect(target.name.clone(), tcp).await.map_err(|e| format!("TLS handshake failed: {e}"))?;
    tls.write_all(&target.request).await.map_err(|e| format!("send failed: {e}"))?;
    let mut response = Vec::with_capacity(512);
    match tls.read_to_end(&mut response).await {
        Ok(_) => {}
        // Closed without close_notify: what arrived is judged below.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(format!("receive failed: {e}")),
    }
    check_response(&response)
}

/// `Ok` for a 200 response whose body is as long as its Content-Length says (or has none).
fn check_response(response: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(format!("incomplete response ({} bytes)", response.len()));
    };
    let status = head.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200") && !status.starts_with("HTTP/1.0 200") {
        return Err(format!("answered {status}"));
    }
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
    });
    match length {
        Some(length) if length != body.len() => Err(format!("body of {} bytes, expected {length}", body.len())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_checked_for_status_and_length() {
        assert_eq!(check_response(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc"), Ok(()));
        assert_eq!(check_response(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nanything"), Ok(()));
        assert!(check_response(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc").unwrap_err().contains("3 bytes"));
        assert_eq!(
            check_response(b"HTTP/1.1 502 Bad Gateway\r\n\r\n"),
            Err("answered HTTP/1.1 502 Bad Gateway".into())
        );
        assert!(check_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }

    #[test]
    fn the_url_gives_the_server_name_host_and_path() {
        let args = TlsLoadArgs {
            url: "https://bench.localhost:8443/small".into(),
            connect_to: "127.0.0.1:8443".into(),
            connections: 1,
            duration_secs: 1,
        };
        let target = Target::new(&args).unwrap();
        assert_eq!(target.name, ServerName::try_from("bench.localhost").unwrap());
        assert_eq!(target.request, b"GET /small HTTP/1.1\r\nHost: bench.localhost:8443\r\nConnection: close\r\n\r\n");
        assert!(Target::new(&TlsLoadArgs { url: "http://x/".into(), ..args }).is_err());
    }
}
