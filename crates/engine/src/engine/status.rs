//! A point-in-time view of the engine for `status` calls: Listeners, Targets, per-Upstream counters, and the pin
//! links that send a browser to one Upstream.

use std::net::SocketAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::config::HostPattern;
use crate::event::{HealthState, ListenerState, LiveUpstream};
use crate::routing::{Mux, Target, Upstream, link_url, pin_path, unpin_path};

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
    /// Open in a browser to unpin that browser from this Target (it is balanced again); null when the Target has
    /// no exact host or no Listener runs.
    pub unpin_url: Option<String>,
    /// Where to open it in a browser (its exact host, or `localhost`, through the first running Listener, HTTPS
    /// preferred); null for a wildcard host or when no Listener runs.
    pub url: Option<String>,
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
    /// Open in a browser to send that browser to this Upstream alone (a cookie); null when the Target has no exact
    /// host or no Listener runs.
    pub pin_url: Option<String>,
}

/// Where pin and unpin links are opened: the scheme and port of the first running Listener, HTTPS preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkBase {
    /// True for an HTTPS Listener.
    secure: bool,
    /// The port it listens on.
    port: u16,
}

impl LinkBase {
    /// The first running HTTPS Listener's, else the first running plain one's (a Listener that only redirects to
    /// HTTPS is skipped: with no HTTPS Listener running it answers 503); `None` when neither runs.
    pub(crate) fn of(listeners: &[ListenerStatus]) -> Option<Self> {
        let first = |serves: Serves| {
            listeners
                .iter()
                .filter(|l| l.state == ListenerState::Running && l.serves == serves)
                .find_map(|l| l.addresses.first()?.parse::<SocketAddr>().ok())
        };
        let https = first(Serves::Https).map(|a| LinkBase { secure: true, port: a.port() });
        https.or_else(|| first(Serves::Http).map(|a| LinkBase { secure: false, port: a.port() }))
    }

    /// `path` on `host` through this Listener.
    fn url(self, host: &str, path: &str) -> String {
        link_url(self.secure, host, self.port, path)
    }
}

/// The host a Target's pin links are opened on: its exact host, `localhost` when it accepts every host, none for a
/// wildcard (no single name to give).
fn link_host(target: &Target) -> Option<&str> {
    match target.matcher.host() {
        None => Some("localhost"),
        Some(HostPattern::Exact(name)) => Some(name),
        Some(HostPattern::Suffix(_)) => None,
    }
}

/// The Targets part of [`Status`], read from a routing snapshot; pin links go through `links` when it is given.
pub(crate) fn targets(mux: &Mux, links: Option<LinkBase>) -> Vec<TargetStatus> {
    let now = Instant::now();
    mux.targets().iter().map(|t| target(t, links.zip(link_host(t)), now)).collect()
}

/// One Target at `now`; its links open on `base` (a Listener and a host) when there is one.
fn target(t: &Target, base: Option<(LinkBase, &str)>, now: Instant) -> TargetStatus {
    TargetStatus {
        name: t.name.to_string(),
        matcher: t.matcher.describe(),
        builtin: t.builtin,
        live: t.live,
        strategy: t.balancer.strategy().as_str().to_owned(),
        upstreams: t.upstreams.iter().map(|u| upstream(t, u, base, now)).collect(),
        unpin_url: base.map(|(b, host)| b.url(host, &unpin_path(&t.name))),
        url: base.map(|(b, host)| b.url(host, "/")),
    }
}

/// One Upstream of `t` at `now`.
fn upstream(t: &Target, u: &Upstream, base: Option<(LinkBase, &str)>, now: Instant) -> UpstreamStatus {
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
        pin_url: base.map(|(b, host)| b.url(host, &pin_path(&t.name, u.id))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::Config;

    fn listener(serves: Serves, state: ListenerState, address: &str) -> ListenerStatus {
        ListenerStatus {
            name: address.into(),
            bind: address.into(),
            enabled: true,
            state,
            addresses: vec![address.into()],
            error: None,
            exposed: false,
            serves,
        }
    }

    #[test]
    fn links_go_through_the_first_running_https_listener_else_the_first_plain_one() {
        use ListenerState::{Running, Stopped};
        let plain = listener(Serves::Http, Running, "127.0.0.1:8800");
        let redirect = listener(Serves::RedirectToHttps, Running, "127.0.0.1:80");
        let https = listener(Serves::Https, Running, "127.0.0.1:443");
        let stopped = listener(Serves::Https, Stopped, "127.0.0.1:8443");
        let all = [redirect.clone(), plain.clone(), stopped.clone(), https];
        assert_eq!(LinkBase::of(&all), Some(LinkBase { secure: true, port: 443 }));
        assert_eq!(LinkBase::of(&all[..3]), Some(LinkBase { secure: false, port: 8800 }));
        assert_eq!(LinkBase::of(&[redirect, stopped]), None, "a redirect or a stopped Listener opens nothing");
        let unbound = ListenerStatus { addresses: vec![], ..plain.clone() };
        assert_eq!(LinkBase::of(&[unbound, plain]), Some(LinkBase { secure: false, port: 8800 }));
    }

    #[test]
    fn pin_links_open_on_the_targets_exact_host_or_localhost() {
        let config = Config::from_value(&json!({"version": 1, "targets": [
            {"name": "app", "match": {"host": "App.localhost"}, "upstreams": [{"url": "http://localhost:3000"}]},
            {"name": "any", "upstreams": [{"url": "http://localhost:3001"}]},
            {"name": "wild", "match": {"host": "*.app.localhost"}, "upstreams": [{"url": "http://localhost:3002"}]}
        ]}))
        .unwrap();
        let mux = Mux::build(&config.targets, None, &[], &Mux::default(), &[]);
        let base = Some(LinkBase { secure: false, port: 8800 });
        let status = targets(&mux, base);
        let id = crate::routing::UpstreamId::of("http://localhost:3000");
        let pin = format!("http://app.localhost:8800/.roundabout/pin?target=app&upstream={id}");
        assert_eq!(status[0].upstreams[0].pin_url.as_deref(), Some(pin.as_str()));
        assert_eq!(status[0].unpin_url.as_deref(), Some("http://app.localhost:8800/.roundabout/unpin?target=app"));
        assert_eq!(status[1].unpin_url.as_deref(), Some("http://localhost:8800/.roundabout/unpin?target=any"));
        assert_eq!((status[2].unpin_url.as_deref(), status[2].upstreams[0].pin_url.as_deref()), (None, None));
        assert!(targets(&mux, None).iter().all(|t| t.unpin_url.is_none() && t.upstreams[0].pin_url.is_none()));
        let urls: Vec<Option<&str>> = status.iter().map(|t| t.url.as_deref()).collect();
        assert_eq!(urls, [Some("http://app.localhost:8800/"), Some("http://localhost:8800/"), None]);
        let secure = targets(&mux, Some(LinkBase { secure: true, port: 443 }));
        assert_eq!(secure[0].url.as_deref(), Some("https://app.localhost/"), "no port when it is the scheme's");
    }
}
