//! Events: what the live log shows (a served request, or a change), and the bounded bus that carries them
//! (`bus.rs`). The types are serialized for the CLI's `--json`, the app, and their TypeScript bindings.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::ConfigIssue;

mod bus;

pub(crate) use bus::EventBus;
pub use bus::{EventStream, Received};

/// One thing that happened: a served request, or a change worth showing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A request was answered (by an Upstream or by Roundabout itself).
    Request(RequestEvent),
    /// A Listener started, stopped or failed to bind.
    Listener(ListenerEvent),
    /// An Upstream's health changed (failing, unhealthy, probation, healthy again, disabled, draining).
    Health(HealthEvent),
    /// A new config is now serving.
    ConfigApplied {
        /// Where it came from: a file path, or `app`.
        source: String,
        /// Number of Listeners in it.
        listeners: usize,
        /// Number of Targets in it.
        targets: usize,
    },
    /// A live Upstream joined its Target, or left it (`roundabout run`).
    Live(LiveEvent),
    /// A config edit was refused; the previous config keeps serving.
    ConfigRejected {
        /// Where it came from: a file path, or `app`.
        source: String,
        /// Every problem found.
        issues: Vec<ConfigIssue>,
    },
}

/// One request, as the live log shows it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RequestEvent {
    /// Milliseconds since the Unix epoch when the request arrived.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: u64,
    /// The Listener that accepted it.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub listener: Arc<str>,
    /// Request method.
    // An `http::Method`, not a String: the usual methods cost no allocation per request.
    #[serde(serialize_with = "serialize_method", deserialize_with = "deserialize_method")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub method: Method,
    /// Host the client asked for (without port).
    pub host: String,
    /// Path and query as the client sent them.
    pub path: String,
    /// The Target that matched, if any.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[schemars(with = "Option<String>")]
    pub target: Option<Arc<str>>,
    /// The Upstream that answered (its short label), if one did.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[schemars(with = "Option<String>")]
    pub upstream: Option<Arc<str>>,
    /// Status sent to the client.
    pub status: u16,
    /// Time until the response head was ready, in microseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub latency_us: u64,
    /// Why Roundabout answered itself (no match, every upstream failed…), if it did.
    pub error: Option<String>,
    /// Upstreams tried before the one that answered, and why each failed.
    pub failed: Vec<FailedAttempt>,
    /// Why the request went to its Upstream regardless of the balancer: this browser is pinned to it, or a sticky
    /// Target kept it there. `null` when the balancer chose.
    #[serde(default)]
    pub affinity: Option<Affinity>,
}

/// Why the request went to its Upstream regardless of the balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Affinity {
    /// This browser is pinned to the Upstream (its pin cookie, set by the pin link): no other is tried.
    Pinned,
    /// The Target is sticky and this browser went to the same Upstream before (its sticky cookie).
    Sticky,
}

/// Reads a method from its name (what a control socket client gets).
fn deserialize_method<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Method, D::Error> {
    let name = String::deserialize(deserializer)?;
    Method::from_bytes(name.as_bytes()).map_err(serde::de::Error::custom)
}

/// Writes a method as its name (`"GET"`).
fn serialize_method<S: serde::Serializer>(method: &Method, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(method.as_str())
}

/// An attempt at one Upstream that failed before any response.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FailedAttempt {
    /// The Upstream's label.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub upstream: Arc<str>,
    /// The cause, e.g. `connection refused`.
    pub error: String,
}

/// A change in one Upstream's health.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HealthEvent {
    /// Milliseconds since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: u64,
    /// The Target it belongs to.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub target: Arc<str>,
    /// The Upstream's label, e.g. `127.0.0.1:3002`.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub upstream: Arc<str>,
    /// Its URL as configured.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub url: Arc<str>,
    /// The new state.
    pub health: HealthState,
    /// What caused it, e.g. `connection refused`, `status 503`, `active check: status 500`.
    pub reason: Option<String>,
}

/// The health of one Upstream, as events and status report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HealthState {
    /// Takes requests.
    Healthy,
    /// Takes requests, but failed this many times in a row; at `threshold` it becomes unhealthy.
    Failing {
        /// Consecutive failures.
        failures: u32,
        /// Failures that make it unhealthy.
        threshold: u32,
    },
    /// Skipped until its cool-down ends; then one request probes it.
    Unhealthy {
        /// Consecutive failures.
        failures: u32,
        /// When the cool-down ends, in milliseconds since the Unix epoch.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        retry_at_ms: u64,
        /// Time left in the cool-down when this was reported, in milliseconds.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        retry_in_ms: u64,
    },
    /// One probe request is in flight; its outcome decides.
    Probation,
    /// Disabled by the user, nothing left open.
    Disabled,
    /// Disabled by the user; finishing its open requests and WebSockets.
    Draining {
        /// In-flight requests plus open upgraded connections.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        open: u64,
    },
}

impl std::fmt::Display for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HealthState::Healthy => write!(f, "healthy"),
            HealthState::Failing { failures, threshold } => write!(f, "failing {failures}/{threshold}"),
            HealthState::Unhealthy { retry_in_ms, .. } => write!(f, "unhealthy; retry in {}", seconds(*retry_in_ms)),
            HealthState::Probation => write!(f, "on probation"),
            HealthState::Disabled => write!(f, "disabled"),
            HealthState::Draining { open } => write!(f, "draining ({open} open)"),
        }
    }
}

/// A duration in milliseconds for people: `10s`, `1.5s`, `200ms`.
pub fn seconds(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        #[allow(clippy::cast_precision_loss)] // display only
        let s = ms as f64 / 1000.0;
        format!("{s:.1}s")
    }
}

/// A Listener's state change.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListenerEvent {
    /// The Listener's name.
    pub name: String,
    /// Its bind value from the config.
    pub bind: String,
    /// What it is doing now.
    pub state: ListenerState,
    /// The addresses actually bound (with real ports when the config said 0).
    pub addresses: Vec<String>,
    /// Why it is not running, when it failed.
    pub error: Option<String>,
}

/// Whether a Listener is accepting connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ListenerState {
    /// Bound and accepting.
    Running,
    /// Not started (disabled, or stopped by the user).
    Stopped,
    /// Could not bind; see the error.
    Failed,
}

/// A live Upstream joining or leaving.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveEvent {
    /// Milliseconds since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: u64,
    /// True when it joined, false when it left.
    pub joined: bool,
    /// Its label in the log, e.g. `localhost:41234 (pid 4242)`.
    pub label: String,
    /// What it is and what started it.
    pub upstream: LiveUpstream,
    /// Why it left, e.g. `the command exited` or `roundabout run was stopped`.
    pub reason: Option<String>,
}

/// A dev server that joined a Target while it runs, and what started it (shown in status, the log and the app).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveUpstream {
    /// The Target it joins (created, matching `NAME.localhost`, when the config has none of that name).
    pub target: String,
    /// Where it listens, e.g. `http://localhost:41234`.
    pub url: String,
    /// The command line that started it.
    pub command: String,
    /// The dev server's process id.
    pub pid: u32,
    /// The directory it runs in.
    pub cwd: String,
    /// The git branch checked out there, when it is a git work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// Milliseconds since the Unix epoch, for event timestamps.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
