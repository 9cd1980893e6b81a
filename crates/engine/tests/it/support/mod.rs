//! Shared pieces of the engine's integration tests: real upstream servers on ephemeral ports ([`TestUpstream`]),
//! a running engine on `127.0.0.1:0` ([`TestEngine`]), an HTTP client ([`Http`]), raw TCP exchanges, and
//! [`eventually`], which polls a condition with a deadline instead of sleeping.
//!
//! Every test crate compiles this module and uses a different part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod http;
pub mod https;
pub mod pattern;
mod replies;
pub mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use roundabout_engine::UpstreamStatus;
use roundabout_engine::event::{HealthEvent, RequestEvent};
use roundabout_engine::{Config, Engine, EngineHandle, EngineOptions, Event, EventStream, HealthState, Received};
use serde_json::{Value, json};

// Re-exported for convenience; each test crate uses some of them.
#[allow(unused_imports)]
pub use self::http::{Http, Reply, raw_exchange, read_response};
#[allow(unused_imports)]
pub use self::https::Https;
#[allow(unused_imports)]
pub use self::upstream::{Gate, LoggedRequest, RunningUpstream, TestUpstream};

/// How long any single wait in a test may take before the test fails instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `check` until it returns true, failing the test after `within`. Conditions are polled, never slept on:
/// a sleep is a guess, a poll with a deadline is a proof.
pub async fn eventually<F, Fut>(mut check: F, within: Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "condition still false after {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A config with one Listener `web` on `127.0.0.1:0` (so tests never fight over ports) and these Targets.
pub fn config_with(targets: &Value) -> Value {
    json!({"version": 1, "listeners": [{"name": "web", "bind": "127.0.0.1:0"}], "targets": targets})
}

/// Parses a JSON config, failing the test with every issue if it is invalid.
pub fn parse_config(value: &Value) -> Config {
    Config::from_value(value).unwrap_or_else(|issues| panic!("test config is invalid:\n{issues}"))
}

/// A port that nothing listens on: bound, read and released, so connecting is refused.
pub fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running engine plus the address of its first Listener.
pub struct TestEngine {
    /// The engine's API.
    pub handle: EngineHandle,
    /// Where the first Listener accepts connections (its real port).
    pub addr: SocketAddr,
}

impl TestEngine {
    /// Starts an engine with default options, failing the test if it cannot.
    pub async fn start(config: &Value) -> Self {
        Self::start_with(config, EngineOptions::default()).await
    }

    /// Starts an engine with `options`; the first Listener must come up.
    pub async fn start_with(config: &Value, options: EngineOptions) -> Self {
        let handle = Engine::start(parse_config(config), options).await.expect("engine starts");
        let addr = listener_addr(&handle, 0).await.expect("the first listener is running");
        TestEngine { handle, addr }
    }

    /// A client for this engine's first Listener.
    pub fn http(&self) -> Http {
        Http::new(self.addr)
    }

    /// Applies a JSON config, failing the test if it is refused.
    pub async fn apply(&self, config: &Value) {
        self.handle.apply(parse_config(config), "test").await.expect("config applies");
    }

    /// The counters of one Upstream (by Target name and URL): (responses, failures).
    pub async fn counters(&self, target: &str, url: &str) -> (u64, u64) {
        let status = self.handle.status().await;
        let t = status.targets.iter().find(|t| t.name == target).expect("target in status");
        let u = t.upstreams.iter().find(|u| u.url == url).expect("upstream in status");
        (u.requests, u.failures)
    }

    /// The status of one Upstream (by Target name and URL).
    pub async fn upstream(&self, target: &str, url: &str) -> UpstreamStatus {
        let status = self.handle.status().await;
        let t = status.targets.iter().find(|t| t.name == target).expect("target in status");
        t.upstreams.iter().find(|u| u.url == url).expect("upstream in status").clone()
    }

    /// The health of one Upstream right now.
    pub async fn health(&self, target: &str, url: &str) -> HealthState {
        self.upstream(target, url).await.health
    }

    /// Polls until the Upstream's health satisfies `want`, failing the test after [`PATIENCE`].
    pub async fn wait_health(&self, target: &str, url: &str, want: impl Fn(&HealthState) -> bool) {
        eventually(|| async { want(&self.health(target, url).await) }, PATIENCE).await;
    }
}

/// The next `Health` event, skipping other kinds; fails the test after [`PATIENCE`].
pub async fn next_health(events: &mut EventStream) -> HealthEvent {
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            match events.recv().await {
                Some(Received::Event(event)) => {
                    if let Event::Health(h) = &*event {
                        return h.clone();
                    }
                }
                Some(Received::Missed(n)) => panic!("the test subscriber missed {n} events"),
                None => panic!("the engine's event bus closed"),
            }
        }
    })
    .await;
    found.expect("a health event within the deadline")
}

/// The first bound address of the `index`th Listener, if it runs.
pub async fn listener_addr(handle: &EngineHandle, index: usize) -> Option<SocketAddr> {
    let status = handle.status().await;
    status.listeners.get(index)?.addresses.first()?.parse().ok()
}

/// The next `Request` event, skipping other kinds; fails the test after [`PATIENCE`].
pub async fn next_request(events: &mut EventStream) -> RequestEvent {
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            match events.recv().await {
                Some(Received::Event(event)) => {
                    if let Event::Request(r) = &*event {
                        return r.clone();
                    }
                }
                Some(Received::Missed(n)) => panic!("the test subscriber missed {n} events"),
                None => panic!("the engine's event bus closed"),
            }
        }
    })
    .await;
    found.expect("a request event within the deadline")
}
