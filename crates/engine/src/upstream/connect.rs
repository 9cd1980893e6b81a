//! How Roundabout connects to Upstreams (the connections themselves are pooled in [`super::pool`]).
//!
//! - `localhost` and `*.localhost` resolve to 127.0.0.1 then ::1 without DNS, and a refused connect moves on to
//!   the next address: a dev server listening only on ::1 (Vite on recent Node) works like one on 127.0.0.1.
//! - `https://` Upstreams are verified against the system's roots.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};

/// Dials an Upstream origin: TCP with the loopback resolver, then TLS for `https://`.
pub(crate) type Connector = HttpsConnector<HttpConnector<LoopbackResolver>>;

/// How long connecting to one Upstream may take before the next one is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Builds the shared connector.
pub(crate) fn connector() -> Connector {
    let mut http = HttpConnector::new_with_resolver(LoopbackResolver::default());
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let tls = hyper_rustls::HttpsConnectorBuilder::new().with_native_roots().unwrap_or_else(|_| {
        tracing::warn!("no system root certificates found; https upstreams will fail verification");
        hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        )
    });
    tls.https_or_http().enable_http1().wrap_connector(http)
}

/// Resolves loopback names locally (RFC 6761) and everything else through the system resolver.
#[derive(Debug, Clone)]
pub(crate) struct LoopbackResolver {
    system: GaiResolver,
}

impl Default for LoopbackResolver {
    fn default() -> Self {
        LoopbackResolver { system: GaiResolver::new() }
    }
}

impl tower_service::Service<Name> for LoopbackResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str();
        if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
            let addrs = vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
            ];
            return Box::pin(std::future::ready(Ok(addrs.into_iter())));
        }
        let lookup = self.system.call(name);
        Box::pin(async move { Ok(lookup.await?.collect::<Vec<_>>().into_iter()) })
    }
}

/// A short cause for the log and error pages: `connection refused`, `connect timed out`…
pub(super) fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut deepest: &(dyn StdError + 'static) = error;
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return match io.kind() {
                io::ErrorKind::ConnectionRefused => "connection refused".into(),
                io::ErrorKind::TimedOut => "connect timed out".into(),
                io::ErrorKind::ConnectionReset => "connection reset".into(),
                io::ErrorKind::ConnectionAborted => "connection aborted".into(),
                io::ErrorKind::AddrNotAvailable => "address not available".into(),
                _ => io.to_string(),
            };
        }
        deepest = e;
        source = e.source();
    }
    deepest.to_string()
}
