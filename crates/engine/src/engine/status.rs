//! A point-in-time view of the engine for `status` calls: Listeners, Targets, and per-Upstream counters.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::event::{HealthState, ListenerState, LiveUpstream};
use crate::routing::Mux;

/// Everything the app's sidebar and tables show.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Status {
    /// Listeners in config order.
    pub listeners: Vec<ListenerStatus>,
    /// Targets in priority order (the demo first when it runs).
    pub targets: Vec<TargetStatus>,
    /// Subscribers reading request events right now: the app's live log, `roundabout serve` without `--quiet`.
    /// With none, a request builds no event at all.
    pub log_readers: u32,
}

/// One Listener.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListenerStatus {
    /// Its name (the bind value when unnamed).
    pub name: String,
    /// The bind value from the config.
    pub bind: String,
    /// Whether the config asks for it to run.
    pub enabled: bool,
    /// What it is doing.
    pub state: ListenerState,
    /// Addresses bound, with real ports.
    pub addresses: Vec<String>,
    /// Why it is not running, when it failed.
    pub error: Option<String>,
    /// True when reachable from other machines.
    pub exposed: bool,
    /// What it answers with.
    pub serves: Serves,
}

/// What a Listener answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Serves {
    /// Plain HTTP (HTTP/1.1 and h2c).
    Http,
    /// HTTPS (HTTP/2 and HTTP/1.1) with certificates from the local CA.
    Https,
    /// A redirect of every request to the HTTPS Listener.
    RedirectToHttps,
}

/// One Target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TargetStatus {
    /// Its name.
    pub name: String,
    /// Its matcher in one line, e.g. `*.app.localhost/api/*`.
    pub matcher: String,
    /// True for the built-in demo (not in the config file).
    pub builtin: bool,
    /// True for a Target that exists only for live Upstreams (`roundabout run`; not in the config file).
    pub live: bool,
    /// Its balancing strategy, e.g. `round_robin`.
    pub strategy: String,
    /// Upstreams in config order.
    pub upstreams: Vec<UpstreamStatus>,
}

/// One Upstream and its counters.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpstreamStatus {
    /// URL as configured.
    pub url: String,
    /// Short label used in the log.
    pub label: String,
    /// Whether it takes requests.
    pub enabled: bool,
    /// Its weight under weighted round-robin.
    pub weight: u32,
    /// Healthy, failing, unhealthy (until when), on probation, disabled or draining.
    pub health: HealthState,
    /// In-flight requests plus open upgraded connections (what a disabled Upstream is still draining).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub open_connections: u64,
    /// Responses received.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: u64,
    /// Attempts that failed before a response.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failures: u64,
    /// Requests waiting for a response head or still streaming its body.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub in_flight: u64,
    /// Most recent status.
    pub last_status: Option<u16>,
    /// Most recent latency in microseconds.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub last_latency_us: Option<u64>,
    /// True when it points at Roundabout itself (requests get 508).
    pub loops_back: bool,
    /// What started it, when it is a live Upstream (`roundabout run`; not in the config file).
    pub live: Option<LiveUpstream>,
}

/// The Targets part of [`Status`], read from a routing snapshot.
pub(crate) fn targets(mux: &Mux) -> Vec<TargetStatus> {
    let now = Instant::now();
    mux.targets()
        .iter()
        .map(|t| TargetStatus {
            name: t.name.to_string(),
            matcher: t.matcher.describe(),
            builtin: t.builtin,
            live: t.live,
            strategy: t.balancer.strategy().as_str().to_owned(),
            upstreams: t
                .upstreams
                .iter()
                .map(|u| {
                    let s = u.stats.snapshot();
                    UpstreamStatus {
                        url: u.url.to_string(),
                        label: u.label.to_string(),
                        enabled: u.enabled,
                        weight: u.weight,
                        health: t.health_of(u, now),
                        open_connections: s.open(),
                        requests: s.requests,
                        failures: s.failures,
                        in_flight: s.in_flight,
                        last_status: s.last_status,
                        last_latency_us: s.last_latency_us,
                        loops_back: u.loops_back,
                        live: u.live.as_deref().cloned(),
                    }
                })
                .collect(),
        })
        .collect()
}
