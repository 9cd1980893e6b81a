//! The built-in demo: three tiny Upstreams Roundabout serves itself, behind `demo.localhost`, so round-robin can
//! be seen on a first run before any dev server is configured.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;

use crate::config::{HealthConfig, MatchConfig, Strategy, TargetConfig, UpstreamConfig};
use crate::proxy::{escape, wants_html};
use crate::server::{self, ClientBody, ClientUpgrade, Connection, Handler, Running};

/// Host the demo Target answers.
pub const DEMO_HOST: &str = "demo.localhost";
/// Name of the demo Target.
const DEMO_TARGET: &str = "demo";
const COLORS: [&str; 3] = ["#2f80ed", "#27ae60", "#eb5757"];

/// The three running demo Upstreams. Dropping this stops them accepting; open connections finish on their own.
#[derive(Debug)]
pub(crate) struct DemoUpstreams {
    urls: Vec<String>,
    _running: Vec<Running>,
}

impl DemoUpstreams {
    /// Starts three servers on ephemeral loopback ports, served like any Listener.
    pub(crate) fn start() -> io::Result<Self> {
        let mut urls = Vec::new();
        let mut running = Vec::new();
        for n in 1..=3 {
            let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let sockets = server::bind(&[loopback], false).map_err(|e| io::Error::other(e.to_string()))?;
            let addr = sockets.first().map_or(Ok(loopback), std::net::TcpListener::local_addr)?;
            let handler = Arc::new(DemoUpstream { n, addr: addr.to_string(), seen: AtomicU64::new(0) });
            urls.push(format!("http://{addr}"));
            running.push(Running::start(&format!("demo upstream {n}"), sockets, &handler, None, Duration::ZERO)?);
        }
        Ok(DemoUpstreams { urls, _running: running })
    }

    /// The demo Target over these Upstreams, placed before the user's Targets.
    pub(crate) fn target(&self) -> TargetConfig {
        TargetConfig {
            name: DEMO_TARGET.into(),
            matcher: MatchConfig { host: Some(DEMO_HOST.into()), ..MatchConfig::default() },
            upstreams: self
                .urls
                .iter()
                .map(|url| UpstreamConfig { url: url.clone(), enabled: true, weight: 1 })
                .collect(),
            strategy: Strategy::RoundRobin,
            health: HealthConfig::default(),
            preserve_host: true,
            sticky: false,
        }
    }
}

/// One demo Upstream: says which of the three it is, and how many requests it has answered.
#[derive(Debug)]
struct DemoUpstream {
    n: usize,
    addr: String,
    seen: AtomicU64,
}

impl Handler for DemoUpstream {
    type Body = Full<Bytes>;

    async fn handle(
        &self,
        _: &Connection,
        request: Request<ClientBody>,
        _: Option<ClientUpgrade>,
    ) -> Response<Full<Bytes>> {
        let seen = self.seen.fetch_add(1, Relaxed) + 1;
        answer(&request, self.n, &self.addr, seen)
    }
}

fn answer<B>(req: &Request<B>, n: usize, addr: &str, seen: u64) -> Response<Full<Bytes>> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let headline = format!("Hello from demo upstream {n} of 3 ({addr}), request #{seen} here: {} {path}", req.method());
    let (body, content_type) = if wants_html(req.headers()) {
        let color = COLORS[(n - 1) % COLORS.len()];
        (
            format!(
                "<!doctype html><meta charset=utf-8><title>Roundabout demo · upstream {n}</title>\
                 <body style=\"font:18px system-ui;margin:3rem;color-scheme:light dark\">\
                 <h1 style=\"color:{color}\">Demo upstream {n} of 3</h1><p>{}</p>\
                 <p>Reload: round-robin sends the next request to the next upstream. \
                 Watch it in Roundabout's live log.</p></body>",
                escape(&headline)
            ),
            "text/html; charset=utf-8",
        )
    } else {
        (format!("{headline}\n"), "text/plain; charset=utf-8")
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert("x-demo-upstream", HeaderValue::from(n));
    response
}
