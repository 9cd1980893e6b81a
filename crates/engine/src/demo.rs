//! The built-in demo: three tiny Upstreams Roundabout serves itself, behind `demo.localhost`, so round-robin can
//! be seen on a first run before any dev server is configured.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::config::{HealthConfig, MatchConfig, Strategy, TargetConfig, UpstreamConfig};
use crate::pages::{escape, wants_html};

/// Host the demo Target answers.
pub const DEMO_HOST: &str = "demo.localhost";
/// Name of the demo Target.
pub const DEMO_TARGET: &str = "demo";
const COLORS: [&str; 3] = ["#2f80ed", "#27ae60", "#eb5757"];

/// The three running demo Upstreams. Dropping this stops them.
#[derive(Debug)]
pub struct DemoUpstreams {
    urls: Vec<String>,
    _tasks: JoinSet<()>,
}

impl DemoUpstreams {
    /// Starts three servers on ephemeral loopback ports.
    pub async fn start() -> io::Result<Self> {
        let mut tasks = JoinSet::new();
        let mut urls = Vec::new();
        for n in 1..=3 {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            urls.push(format!("http://{addr}"));
            tasks.spawn(serve(listener, n, addr.to_string()));
        }
        Ok(DemoUpstreams { urls, _tasks: tasks })
    }

    /// The demo Target over these Upstreams, placed before the user's Targets.
    pub fn target(&self) -> TargetConfig {
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
        }
    }
}

async fn serve(listener: TcpListener, n: usize, addr: String) {
    let count = Arc::new(AtomicU64::new(0));
    let addr: Arc<str> = addr.into();
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            Ok((stream, _)) = listener.accept() => stream,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (count, addr) = (Arc::clone(&count), Arc::clone(&addr));
        let service = service_fn(move |req: Request<Incoming>| {
            let seen = count.fetch_add(1, Relaxed) + 1;
            std::future::ready(Ok::<_, Infallible>(answer(&req, n, &addr, seen)))
        });
        connections.spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(req: &Request<Incoming>, n: usize, addr: &str, seen: u64) -> Response<Full<Bytes>> {
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
