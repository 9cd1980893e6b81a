//! A point-in-time view of the engine for `status` calls: Listeners, Targets, and per-Upstream counters.

use schemars::JsonSchema;
use serde::Serialize;

use crate::event::ListenerState;
use crate::mux::Mux;

/// Everything the app's sidebar and tables show.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Status {
    /// Listeners in config order.
    pub listeners: Vec<ListenerStatus>,
    /// Targets in priority order (the demo first when it runs).
    pub targets: Vec<TargetStatus>,
}

/// One Listener.
#[derive(Debug, Clone, Serialize, JsonSchema)]
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
}

/// One Target.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TargetStatus {
    /// Its name.
    pub name: String,
    /// Its matcher in one line, e.g. `*.app.localhost/api/*`.
    pub matcher: String,
    /// True for the built-in demo (not in the config file).
    pub builtin: bool,
    /// Upstreams in config order.
    pub upstreams: Vec<UpstreamStatus>,
}

/// One Upstream and its counters.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpstreamStatus {
    /// URL as configured.
    pub url: String,
    /// Short label used in the log.
    pub label: String,
    /// Whether it takes requests.
    pub enabled: bool,
    /// Responses received.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: u64,
    /// Attempts that failed before a response.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failures: u64,
    /// Requests waiting for a response head.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub in_flight: u64,
    /// Most recent status.
    pub last_status: Option<u16>,
    /// Most recent latency in microseconds.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub last_latency_us: Option<u64>,
    /// True when it points at Roundabout itself (requests get 508).
    pub loops_back: bool,
}

/// The Targets part of [`Status`], read from a routing snapshot.
pub fn targets(mux: &Mux) -> Vec<TargetStatus> {
    mux.targets()
        .iter()
        .map(|t| TargetStatus {
            name: t.name.to_string(),
            matcher: t.matcher.describe(),
            builtin: t.builtin,
            upstreams: t
                .upstreams
                .iter()
                .map(|u| {
                    let s = u.stats.snapshot();
                    UpstreamStatus {
                        url: u.url.to_string(),
                        label: u.label.to_string(),
                        enabled: u.enabled,
                        requests: s.requests,
                        failures: s.failures,
                        in_flight: s.in_flight,
                        last_status: s.last_status,
                        last_latency_us: s.last_latency_us,
                        loops_back: u.loops_back,
                    }
                })
                .collect(),
        })
        .collect()
}
