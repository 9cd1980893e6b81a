//! The Mux: the ordered Targets of one config, and the rule that a request goes to the first that accepts it.
//!
//! A `Mux` is an immutable snapshot. The engine builds a new one for every config change and swaps it in
//! atomically; requests in flight keep the snapshot they started with. Building is pure (no I/O).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use super::affinity::{CookieNames, UpstreamId};
use super::balance::Balancer;
use super::carry::{Carried, upstream_state};
use super::host_index::HostIndex;
use super::live::{self, Live};
use super::matcher::{Matcher, RequestView};
use super::target::{Target, TargetOptions};
use super::upstream::Upstream;
use crate::config::{TargetConfig, UpstreamUrl};

/// Up to this many Targets, routing scans them all: measured with `cargo bench --bench matching`, a scan of 10
/// Targets (about 80 ns to reach the last) costs about what the host index's hash lookup does.
const SCAN_UP_TO: usize = 8;

/// The routing table of one config.
#[derive(Debug, Default)]
pub struct Mux {
    targets: Vec<Arc<Target>>,
    /// Which Targets could accept a host, so a request tries only those (in order).
    hosts: HostIndex,
}

impl Mux {
    /// The first Target, in order, whose matcher accepts the request. A short list is scanned (cheaper than
    /// hashing the host); a long one goes through the host index.
    pub fn route(&self, head: &RequestView<'_>) -> Option<&Arc<Target>> {
        if self.targets.len() <= SCAN_UP_TO {
            return self.targets.iter().find(|t| t.matcher.accepts(head));
        }
        self.hosts.candidates(head.host).map(|i| &self.targets[i]).find(|t| t.matcher.accepts(head))
    }

    /// Every Target in priority order.
    pub fn targets(&self) -> &[Arc<Target>] {
        &self.targets
    }

    /// Builds the snapshot for `targets` (after `builtin`, the demo's, when it runs) with the `live` Upstreams
    /// merged in (see [`live`]). What the previous snapshot learned carries over (see [`Carried`]). `own` are the
    /// addresses Roundabout listens on, to spot Upstreams that would loop. Invalid entries (which validation rejects
    /// before this) are skipped rather than panicked on.
    pub fn build(
        targets: &[TargetConfig],
        builtin: Option<&TargetConfig>,
        live: &[Live],
        previous: &Mux,
        own: &[SocketAddr],
    ) -> Mux {
        let (merged, created): (Vec<TargetConfig>, Vec<bool>) = live::merge(targets, live).into_iter().unzip();
        let mut carried = Carried::new(previous, &merged);
        let configs =
            builtin.into_iter().map(|t| (t, true, false)).chain(merged.iter().zip(created).map(|(t, c)| (t, false, c)));
        let targets = configs
            .filter_map(|(config, builtin, created)| {
                let matcher = Matcher::compile(&config.matcher).ok()?;
                let before = carried.predecessor(&config.name, builtin);
                let upstreams = config
                    .upstreams
                    .iter()
                    .filter_map(|u| {
                        let address = UpstreamUrl::parse(&u.url).ok()?;
                        let (stats, health) = upstream_state(before, &u.url);
                        let joined = live::find(live, &config.name, &u.url).cloned();
                        let label = match &joined {
                            Some(joined) => format!("{} (pid {})", address.label, joined.pid).into(),
                            None => address.label.as_str().into(),
                        };
                        Some(Arc::new(Upstream {
                            connections: carried.pool(&address),
                            loops_back: loops_back(&address, own),
                            label,
                            url: u.url.as_str().into(),
                            id: UpstreamId::of(&u.url),
                            address,
                            enabled: u.enabled,
                            weight: u.weight,
                            stats,
                            health,
                            live: joined,
                        }))
                    })
                    .collect();
                let balancer = before
                    .map(|t| &t.balancer)
                    .filter(|b| b.strategy() == config.strategy)
                    .map_or_else(|| Arc::new(Balancer::new(config.strategy)), Arc::clone);
                Some(Arc::new(Target::new(
                    config.name.as_str().into(),
                    matcher,
                    upstreams,
                    balancer,
                    TargetOptions {
                        preserve_host: config.preserve_host,
                        cookies: CookieNames::of(&config.name, config.sticky),
                        builtin,
                        live: created,
                        health: config.health.clone(),
                    },
                )))
            })
            .collect::<Vec<Arc<Target>>>();
        let hosts = HostIndex::build(targets.iter().map(|t| t.matcher.host()));
        Mux { targets, hosts }
    }
}

/// True when `url` names one of Roundabout's own listening addresses.
fn loops_back(url: &UpstreamUrl, own: &[SocketAddr]) -> bool {
    let loopback = [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
    let literal;
    let ips: &[IpAddr] = if url.host == "localhost" || url.host.ends_with(".localhost") {
        &loopback
    } else if let Ok(ip) = url.host.parse::<IpAddr>() {
        literal = [ip];
        &literal
    } else {
        &[]
    };
    own.iter().any(|a| {
        a.port() == url.port && ips.iter().any(|ip| a.ip() == *ip || (a.ip().is_unspecified() && ip.is_loopback()))
    })
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, Method};
    use serde_json::json;

    use super::*;
    use crate::config::Config;

    fn config() -> Config {
        Config::from_value(&json!({"version": 1, "targets": [
            {"name": "foo", "match": {"host": "app.localhost", "path": "/foo"}, "upstreams": [{"url": "http://localhost:8000"}]},
            {"name": "api", "match": {"host": "*.app.localhost", "path_prefix": "/api"}, "upstreams": [{"url": "http://localhost:8001"}]},
            {"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": "http://localhost:8002"}]},
            {"name": "rest", "match": {}, "upstreams": [{"url": "http://localhost:8003"}]}
        ]}))
        .unwrap()
    }

    fn from_config(config: &Config) -> Mux {
        Mux::build(&config.targets, None, &[], &Mux::default(), &[])
    }

    fn route(mux: &Mux, host: &str, path: &str) -> Option<String> {
        let headers = HeaderMap::new();
        let head = RequestView { host, path, port: 8800, method: &Method::GET, headers: &headers };
        mux.route(&head).map(|t| t.name.to_string())
    }

    #[test]
    fn first_accepting_target_in_order_wins() {
        let mux = from_config(&config());
        assert_eq!(route(&mux, "app.localhost", "/foo").as_deref(), Some("foo"));
        assert_eq!(route(&mux, "app.localhost", "/bar").as_deref(), Some("app"));
        assert_eq!(route(&mux, "x.app.localhost", "/api/users").as_deref(), Some("api"));
        assert_eq!(route(&mux, "x.app.localhost", "/other").as_deref(), Some("rest"));
        assert_eq!(route(&mux, "elsewhere", "/").as_deref(), Some("rest"));
    }

    #[test]
    fn many_targets_route_through_the_host_index_in_order() {
        let mut c = config();
        let rest = c.targets.pop().unwrap();
        for i in 0..20 {
            let mut t = c.targets[2].clone();
            t.name = format!("app{i}");
            t.matcher.host = Some(format!("app{i}.localhost"));
            c.targets.push(t);
        }
        c.targets.push(rest);
        let mux = from_config(&c);
        assert!(mux.targets().len() > SCAN_UP_TO);
        assert_eq!(route(&mux, "app.localhost", "/foo").as_deref(), Some("foo"));
        assert_eq!(route(&mux, "App.Localhost", "/bar").as_deref(), Some("app"));
        assert_eq!(route(&mux, "x.app.localhost", "/api/users").as_deref(), Some("api"));
        assert_eq!(route(&mux, "app17.localhost", "/").as_deref(), Some("app17"));
        assert_eq!(route(&mux, "elsewhere", "/").as_deref(), Some("rest"));
    }

    #[test]
    fn no_catch_all_means_no_route() {
        let mut c = config();
        c.targets.pop();
        assert_eq!(route(&from_config(&c), "elsewhere", "/"), None);
    }

    #[test]
    fn builtin_target_goes_first() {
        let c = config();
        let demo = TargetConfig { name: "demo".into(), ..c.targets[3].clone() };
        let mux = Mux::build(&c.targets, Some(&demo), &[], &Mux::default(), &[]);
        assert_eq!(route(&mux, "anything", "/").as_deref(), Some("demo"));
        assert!(mux.targets()[0].builtin);
    }

    #[test]
    fn upstreams_pointing_at_our_own_listeners_are_flagged() {
        let own: Vec<SocketAddr> = vec!["127.0.0.1:8800".parse().unwrap(), "0.0.0.0:9000".parse().unwrap()];
        let is_loop = |url: &str| loops_back(&UpstreamUrl::parse(url).unwrap(), &own);
        assert!(is_loop("http://localhost:8800"));
        assert!(is_loop("http://app.localhost:8800/x"));
        assert!(is_loop("http://127.0.0.1:8800"));
        assert!(is_loop("http://[::1]:9000"));
        assert!(!is_loop("http://127.0.0.1:8801"));
        assert!(!is_loop("http://example.com:8800"));
    }
}
