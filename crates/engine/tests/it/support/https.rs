//! An HTTPS client for Listeners with `"tls": true`: one connection per call, trusting only the engine's local CA,
//! with the SNI and ALPN a test chooses, so what the handshake negotiates can be checked.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::HOST;
use http::{Method, Request, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::PATIENCE;
use super::http::Reply;

/// Connects to one HTTPS Listener.
#[derive(Clone)]
pub struct Https {
    addr: SocketAddr,
    roots: Arc<rustls::RootCertStore>,
}

impl Https {
    /// A client for the Listener at `addr` that trusts the CA in `ca_pem` and nothing else.
    pub fn new(addr: SocketAddr, ca_pem: &str) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("a PEM certificate")).unwrap();
        Https { addr, roots: Arc::new(roots) }
    }

    /// A TLS connection verified for `name`, offering `alpn`; with `sni` false the name is not sent (the server
    /// then picks its default certificate).
    pub async fn connect(&self, name: &str, alpn: &[&[u8]], sni: bool) -> std::io::Result<TlsStream<TcpStream>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(Arc::clone(&self.roots))
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config.enable_sni = sni;
        let tcp = TcpStream::connect(self.addr).await?;
        let name = ServerName::try_from(name.to_owned()).map_err(std::io::Error::other)?;
        tokio::time::timeout(PATIENCE, TlsConnector::from(Arc::new(config)).connect(name, tcp))
            .await
            .map_err(std::io::Error::other)?
    }

    /// `GET path` from `host` over a new connection speaking HTTP/2 (`h2`) or HTTP/1.1; the reply and the HTTP
    /// version it came in.
    pub async fn get(&self, host: &str, path: &str, h2: bool) -> (Reply, Version) {
        self.get_all(host, &[path], h2).await.pop().expect("one reply")
    }

    /// Several GETs over one new connection, one after another.
    pub async fn get_all(&self, host: &str, paths: &[&str], h2: bool) -> Vec<(Reply, Version)> {
        let alpn: &[&[u8]] = if h2 { &[b"h2"] } else { &[b"http/1.1"] };
        let tls = self.connect(host, alpn, true).await.expect("the TLS handshake succeeds");
        let io = TokioIo::new(tls);
        let mut replies = Vec::new();
        if h2 {
            let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await.unwrap();
            tokio::spawn(conn);
            for path in paths {
                let uri = format!("https://{host}{path}");
                let request = Request::builder().method(Method::GET).uri(uri).body(Empty::<Bytes>::new()).unwrap();
                replies.push(read(sender.send_request(request).await.unwrap()).await);
            }
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            for path in paths {
                let request = Request::builder().uri(*path).header(HOST, host).body(Empty::<Bytes>::new()).unwrap();
                replies.push(read(sender.send_request(request).await.unwrap()).await);
            }
        }
        replies
    }
}

impl Https {
    /// A WebSocket to `path` over HTTP/2 (an extended CONNECT, RFC 8441), on a new connection.
    pub async fn websocket_over_h2(
        &self,
        host: &str,
        path: &str,
    ) -> tokio_tungstenite::WebSocketStream<TokioIo<hyper::upgrade::Upgraded>> {
        let tls = self.connect(host, &[b"h2"], true).await.expect("the TLS handshake succeeds");
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.unwrap();
        tokio::spawn(conn);
        // A first request, so the server's settings (which allow extended CONNECT) have arrived.
        let warm = Request::builder().uri(format!("https://{host}/")).body(Empty::<Bytes>::new()).unwrap();
        read(sender.send_request(warm).await.unwrap()).await;
        let mut request = Request::builder()
            .method(Method::CONNECT)
            .uri(format!("https://{host}{path}"))
            .header("sec-websocket-version", "13")
            .body(Empty::<Bytes>::new())
            .unwrap();
        request.extensions_mut().insert(hyper::ext::Protocol::from_static("websocket"));
        let mut response = tokio::time::timeout(PATIENCE, sender.send_request(request)).await.unwrap().unwrap();
        assert_eq!(response.status(), 200, "the extended CONNECT is accepted");
        let stream = hyper::upgrade::on(&mut response).await.expect("the stream is handed over");
        let role = tokio_tungstenite::tungstenite::protocol::Role::Client;
        tokio_tungstenite::WebSocketStream::from_raw_socket(TokioIo::new(stream), role, None).await
    }
}

async fn read(response: http::Response<hyper::body::Incoming>) -> (Reply, Version) {
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(PATIENCE, body.collect()).await.unwrap().unwrap().to_bytes();
    let reply =
        Reply { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&body).into_owned() };
    (reply, parts.version)
}
