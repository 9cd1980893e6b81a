//! The config file: its model (the contract shared by the CLI, the desktop app and people editing JSON by hand), the
//! values it holds and their rules (bind addresses, host patterns, Upstream URLs), and the file on disk.
//!
//! Reading is done by [`Config::from_json`], which reports *every* problem with its JSON path (see `decode`);
//! writing goes through [`Config::to_json`], which keeps the file small by leaving defaults out, and
//! [`ConfigStore`], which saves atomically and never overwrites a file it could not read.

mod bind;
mod decode;
mod host_pattern;
mod issue;
mod store;
mod upstream_url;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) use bind::BindAddress;
pub(crate) use host_pattern::HostPattern;
pub use issue::{ConfigIssue, ConfigIssues};
pub use store::{ConfigStore, SaveOutcome, StoreError, write_atomically};
pub(crate) use upstream_url::UpstreamUrl;

/// The only config version this build reads; a newer file is refused rather than half-understood.
pub const CONFIG_VERSION: u32 = 1;

/// Paths Roundabout answers itself (the pin and unpin links): a Target's `path` or `path_prefix` may not lie under
/// it, so a Target can never silently take them over (or be taken over by them).
pub const RESERVED_PATH_PREFIX: &str = "/.roundabout/";

/// The whole config file: Listeners that accept requests and the ordered Targets they are routed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
#[schemars(title = "Roundabout config", description = "Routes *.localhost names to local dev servers.")]
pub struct Config {
    /// Optional pointer to the JSON Schema, so editors validate and complete the file.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Format version; must be 1.
    pub version: u32,
    /// Run the built-in demo: three upstreams served by Roundabout itself behind `demo.localhost`.
    /// Set to false (or remove the line) to remove the demo.
    #[serde(default, skip_serializing_if = "is_false")]
    pub demo: bool,
    /// The addresses Roundabout listens on. Each is started and stopped on its own.
    #[serde(default)]
    pub listeners: Vec<ListenerConfig>,
    /// Targets in priority order: a request goes to the first one whose matcher accepts it.
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
}

/// One Listener: an address and port to accept HTTP on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// A label for logs and the app; defaults to the bind address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `host:port`, `[v6]:port`, or a bare port meaning loopback (127.0.0.1 and ::1). Port 0 picks a free port.
    /// A non-loopback address exposes your upstreams to the network and must be written out explicitly.
    pub bind: String,
    /// When false the Listener is kept in the file but not started.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1) with certificates from Roundabout's local CA, minted for each local name
    /// (`localhost`, `*.localhost`, loopback addresses) on first use. `roundabout ca` prints the CA certificate's
    /// path, for browsers and tools to trust.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tls: bool,
    /// Answer every request with a redirect to the same URL on the HTTPS Listener (the first with `"tls": true`)
    /// instead of proxying it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub redirect_https: bool,
}

/// A Target: which requests it accepts, and the Upstreams it spreads them over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Unique name, shown in the live log.
    pub name: String,
    /// Every given field must accept the request; `{}` accepts everything.
    #[serde(rename = "match", default)]
    pub matcher: MatchConfig,
    /// The backends, tried in balancing order.
    #[serde(default)]
    pub upstreams: Vec<UpstreamConfig>,
    /// How requests are spread over enabled Upstreams.
    #[serde(default, skip_serializing_if = "Strategy::is_default")]
    pub strategy: Strategy,
    /// When an Upstream counts as unhealthy and is skipped. Passive checks are on by default; active ones off.
    #[serde(default, skip_serializing_if = "HealthConfig::is_default")]
    pub health: HealthConfig,
    /// Send the client's Host header to the Upstream (true) or the Upstream's own host (false).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub preserve_host: bool,
    /// Keep each browser on the Upstream it first reached (a cookie), while other browsers keep balancing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sticky: bool,
}

impl TargetConfig {
    /// The Target made for a bare name (by `roundabout run`, `roundabout upstream add` and discovery): it matches
    /// `NAME.localhost`, with one Upstream and the default strategy and health.
    pub fn named(name: &str, upstream: UpstreamConfig) -> TargetConfig {
        TargetConfig {
            name: name.to_owned(),
            matcher: MatchConfig { host: Some(format!("{name}.localhost")), ..MatchConfig::default() },
            upstreams: vec![upstream],
            strategy: Strategy::default(),
            health: HealthConfig::default(),
            preserve_host: true,
            sticky: false,
        }
    }
}

/// The matcher of a Target. Absent fields accept anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct MatchConfig {
    /// Exact host (`app.localhost`) or a wildcard over one or more labels (`*.app.localhost`).
    /// Case-insensitive; the port and a trailing dot in the Host header are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Exact request path, e.g. `/health`. Not under `/.roundabout/`, where Roundabout answers its pin links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Path prefix on segment boundaries: `/api` accepts `/api` and `/api/x`, not `/apix`. Not under `/.roundabout/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// The port of the Listener the request arrived on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Accepted methods, e.g. `["GET", "POST"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Headers that must be present with exactly this value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// One backend of a Target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// `http://` or `https://` URL; its path is joined with the request path and its query merged with the
    /// request's (`http://localhost:3000/base?k=v`).
    pub url: String,
    /// When false the Upstream stays listed but receives no requests (in-flight ones and open WebSockets finish).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Share of requests under `weighted_round_robin`, 1 to 100: weight 5 gets five times weight 1's share.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub weight: u32,
}

/// Balancing strategy of a Target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each enabled Upstream in turn, starting with the first.
    #[default]
    RoundRobin,
    /// In turn by `weight`, interleaved smoothly (weights 5,1,1 give a a b a c a a), like nginx.
    WeightedRoundRobin,
    /// The Upstream with the fewest open requests and WebSockets (ties in turn).
    LeastConnections,
    /// A uniformly random Upstream.
    Random,
    /// The first healthy Upstream in config order: a primary with backups.
    FirstAvailable,
}

impl Strategy {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::WeightedRoundRobin => "weighted_round_robin",
            Strategy::LeastConnections => "least_connections",
            Strategy::Random => "random",
            Strategy::FirstAvailable => "first_available",
        }
    }

    /// Every strategy, for messages and pickers.
    pub const ALL: [Strategy; 5] = [
        Strategy::RoundRobin,
        Strategy::WeightedRoundRobin,
        Strategy::LeastConnections,
        Strategy::Random,
        Strategy::FirstAvailable,
    ];

    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
    fn is_default(&self) -> bool {
        *self == Strategy::default()
    }
}

/// Health checking of a Target's Upstreams.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Judging Upstreams by the requests they serve (on by default).
    #[serde(default, skip_serializing_if = "PassiveHealthConfig::is_default")]
    pub passive: PassiveHealthConfig,
    /// Polling each enabled Upstream on a path; off unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<ActiveHealthConfig>,
}

impl HealthConfig {
    fn is_default(&self) -> bool {
        *self == HealthConfig::default()
    }
}

/// Passive checks: consecutive failed requests make an Upstream unhealthy for a cool-down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PassiveHealthConfig {
    /// Set to false to never skip an Upstream because of failed requests.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Consecutive failures (refused, reset, timed out, or a status in `fail_statuses`) that make it unhealthy.
    #[serde(default = "three", skip_serializing_if = "is_three")]
    pub failures: u32,
    /// How long an unhealthy Upstream is skipped before one request probes it, in milliseconds.
    #[serde(default = "ten_seconds", skip_serializing_if = "is_ten_seconds")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cool_down_ms: u64,
    /// Response statuses that also count as failures, e.g. `[502, 503, 504]`. None by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fail_statuses: Vec<u16>,
}

impl Default for PassiveHealthConfig {
    fn default() -> Self {
        PassiveHealthConfig { enabled: true, failures: 3, cool_down_ms: 10_000, fail_statuses: Vec::new() }
    }
}

impl PassiveHealthConfig {
    fn is_default(&self) -> bool {
        *self == PassiveHealthConfig::default()
    }
}

/// Active checks: a GET to `path` on every enabled Upstream each `interval_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ActiveHealthConfig {
    /// Path requested, joined with the Upstream URL's own path.
    #[serde(default = "root")]
    pub path: String,
    /// Time between checks, in milliseconds.
    #[serde(default = "five_seconds")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub interval_ms: u64,
    /// How long a check may take before it counts as failed, in milliseconds.
    #[serde(default = "two_seconds")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub timeout_ms: u64,
    /// The status a healthy Upstream answers.
    #[serde(default = "ok_status")]
    pub expect_status: u16,
    /// Passed checks in a row that make an unhealthy Upstream healthy.
    #[serde(default = "two")]
    pub healthy_threshold: u32,
    /// Failed checks in a row that make a healthy Upstream unhealthy.
    #[serde(default = "three")]
    pub unhealthy_threshold: u32,
}

impl Default for ActiveHealthConfig {
    fn default() -> Self {
        ActiveHealthConfig {
            path: root(),
            interval_ms: five_seconds(),
            timeout_ms: two_seconds(),
            expect_status: ok_status(),
            healthy_threshold: two(),
            unhealthy_threshold: three(),
        }
    }
}

impl Config {
    /// An empty, valid config of the current version.
    pub fn empty() -> Self {
        Config { schema: None, version: CONFIG_VERSION, demo: false, listeners: Vec::new(), targets: Vec::new() }
    }

    /// What a first run starts with: loopback Listeners for http on port `plain` and https on port `secure`, and
    /// the built-in demo behind them.
    pub fn starter(plain: u16, secure: u16) -> Self {
        let https = ListenerConfig { tls: true, ..ListenerConfig::new("secure", &format!("127.0.0.1:{secure}")) };
        Config {
            demo: true,
            listeners: vec![ListenerConfig::new("web", &format!("127.0.0.1:{plain}")), https],
            ..Config::empty()
        }
    }

    /// Parses and validates config text, reporting every problem with its JSON path.
    pub fn from_json(text: &str) -> Result<Self, ConfigIssues> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ConfigIssues::syntax(&e))?;
        Self::from_value(&value)
    }

    /// Validates an already-parsed JSON value (what the desktop app sends), reporting every problem.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, ConfigIssues> {
        decode::decode(value)
    }

    /// Re-checks a typed config (built in code or edited in the app) with the same rules as the file.
    pub fn validate(&self) -> Result<(), ConfigIssues> {
        let value = serde_json::to_value(self).map_err(|e| ConfigIssues::one("$", e.to_string()))?;
        decode::decode(&value).map(|_| ())
    }

    /// Pretty JSON as it is saved to disk, with defaults left out and a trailing newline.
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings, numbers and maps cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The JSON Schema of the file, generated from these types.
    pub fn json_schema() -> serde_json::Value {
        let schema = schemars::schema_for!(Config);
        serde_json::to_value(schema).unwrap_or_default()
    }

    /// A listener's display name: its `name`, or its bind address when unnamed.
    pub fn listener_name(listener: &ListenerConfig) -> &str {
        listener.name.as_deref().unwrap_or(&listener.bind)
    }
}

impl ListenerConfig {
    /// A plain, enabled Listener named `name` on `bind`.
    pub fn new(name: &str, bind: &str) -> Self {
        ListenerConfig { name: Some(name.into()), bind: bind.into(), enabled: true, tls: false, redirect_https: false }
    }

    /// True when its bind address is reachable from other machines (not loopback): worth a warning, since it
    /// exposes the dev servers behind it to the network.
    pub fn is_exposed(&self) -> bool {
        BindAddress::parse(&self.bind).is_ok_and(|b| b.exposed)
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

fn two() -> u32 {
    2
}

fn three() -> u32 {
    3
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_one(n: &u32) -> bool {
    *n == 1
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_three(n: &u32) -> bool {
    *n == 3
}

fn ten_seconds() -> u64 {
    10_000
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_ten_seconds(n: &u64) -> bool {
    *n == 10_000
}

fn five_seconds() -> u64 {
    5_000
}

fn two_seconds() -> u64 {
    2_000
}

fn ok_status() -> u16 {
    200
}

fn root() -> String {
    "/".into()
}
