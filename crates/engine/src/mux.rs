//! The Mux: the ordered Targets of one config, and the rule that a request goes to the first that accepts it.
//!
//! A `Mux` is an immutable snapshot. The engine builds a new one for every config change and swaps it in
//! atomically; requests in flight keep the snapshot they started with. Building is pure (no I/O).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use crate::balance::Balancer;
use crate::config::{Config, TargetConfig};
use crate::host_index::HostIndex;
use crate::matcher::{Matcher, RequestHead};
use crate::pool::ConnectionPool;
use crate::target::{Target, TargetOptions};
use crate::upstream::{Upstream, UpstreamStats};
use crate::upstream_url::UpstreamUrl;

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
    pub fn route(&self, head: &RequestHead<'_>) -> Option<&Arc<Target>> {
        if self.targets.len() <= SCAN_UP_TO {
            return self.targets.iter().find(|t| t.matcher.accepts(head));
        }
        self.hosts.candidates(head.host).map(|i| &self.targets[i]).find(|t| t.matcher.accepts(head))
    }

    /// Every Target in priority order.
    pub fn targets(&self) -> &[Arc<Target>] {
        &self.targets
    }

    /// Builds the snapshot for `targets`, carrying counters and balancer positions over from `previous` by Target
    /// name and Upstream URL. `own` are the addresses Roundabout listens on, to spot Upstreams that would loop.
    /// Invalid entries (which validation rejects before this) are skipped rather than panicked on.
    pub fn build(targets: &[TargetConfig], builtin: Option<&TargetConfig>, previous: &Mux, own: &[SocketAddr]) -> Mux {
        let mut stats: HashMap<(&str, &str), &Arc<UpstreamStats>> = HashMap::new();
        let mut balancers: HashMap<&str, &Arc<Balancer>> = HashMap::new();
        let mut pools: HashMap<String, Arc<ConnectionPool>> = HashMap::new();
        for t in &previous.targets {
            balancers.insert(&t.name, &t.balancer);
            for u in &t.upstreams {
                stats.insert((&t.name, &u.url), &u.stats);
                pools.entry(origin_key(&u.target)).or_insert_with(|| Arc::clone(&u.connections));
            }
        }
        let configs = builtin.into_iter().map(|t| (t, true)).chain(targets.iter().map(|t| (t, false)));
        let targets = configs
            .filter_map(|(config, builtin)| {
                let matcher = Matcher::compile(&config.matcher).ok()?;
                let upstreams = config
                    .upstreams
                    .iter()
                    .filter_map(|u| {
                        let target = UpstreamUrl::parse(&u.url).ok()?;
                        let stats = stats
                            .get(&(config.name.as_str(), u.url.as_str()))
                            .map_or_else(Arc::default, |s| Arc::clone(s));
                        let connections = Arc::clone(
                            pools
                                .entry(origin_key(&target))
                                .or_insert_with(|| Arc::new(ConnectionPool::new(&target.scheme, &target.authority))),
                        );
                        Some(Arc::new(Upstream {
                            connections,
                            loops_back: loops_back(&target, own),
                            label: target.label.as_str().into(),
                            url: u.url.as_str().into(),
                            target,
                            enabled: u.enabled,
                            weight: u.weight,
                            stats,
                        }))
                    })
                    .collect();
                let balancer = balancers
                    .get(config.name.as_str())
                    .filter(|b| b.strategy() == config.strategy)
                    .map_or_else(|| Arc::new(Balancer::new(config.strategy)), |b| Arc::clone(b));
                Some(Arc::new(Target::new(
                    config.name.as_str().into(),
                    matcher,
                    upstreams,
                    balancer,
                    TargetOptions { preserve_host: config.preserve_host, builtin, health: config.health.clone() },
                )))
            })
            .collect::<Vec<Arc<Target>>>();
        let hosts = HostIndex::build(targets.iter().map(|t| t.matcher.host()));
        Mux { targets, hosts }
    }

    /// Convenience for tests and tools: a snapshot of a whole config with nothing carried over.
    pub fn from_config(config: &Config) -> Mux {
        Mux::build(&config.targets, None, &Mux::default(), &[])
    }
}

/// Upstreams with the same scheme, host and port share their connections.
fn origin_key(url: &UpstreamUrl) -> String {
    format!("{}://{}", url.scheme, url.authority.as_str().to_ascii_lowercase())
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

    fn config() -> Config {
        Config::from_value(&json!({"version": 1, "targets": [
            {"name": "foo", "match": {"host": "app.localhost", "path": "/foo"}, "upstreams": [{"url": "http://localhost:8000"}]},
            {"name": "api", "match": {"host": "*.app.localhost", "path_prefix": "/api"}, "upstreams": [{"url": "http://localhost:8001"}]},
            {"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": "http://localhost:8002"}]},
            {"name": "rest", "match": {}, "upstreams": [{"url": "http://localhost:8003"}]}
        ]}))
        .unwrap()
    }

    fn route(mux: &Mux, host: &str, path: &str) -> Option<String> {
        let headers = HeaderMap::new();
        let head = RequestHead { host, path, port: 8800, method: &Method::GET, headers: &headers };
        mux.route(&head).map(|t| t.name.to_string())
    }

    #[test]
    fn first_accepting_target_in_order_wins() {
        let mux = Mux::from_config(&config());
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
        let mux = Mux::from_config(&c);
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
        assert_eq!(route(&Mux::from_config(&c), "elsewhere", "/"), None);
    }

    #[test]
    fn counters_and_rotation_survive_a_rebuild() {
        let c = config();
        let first = Mux::from_config(&c);
        first.targets[0].upstreams[0].stats.record_failure();
        first.targets[0].attempt_order().next();
        let policy = crate::health::Policy::default();
        for _ in 0..policy.failures {
            first.targets[0].upstreams[0].stats.health.failed(&policy, tokio::time::Instant::now());
        }
        let second = Mux::build(&c.targets, None, &first, &[]);
        assert!(!second.targets[0].upstreams[0].stats.health.is_healthy(), "health survives a rebuild");
        assert!(Arc::ptr_eq(&first.targets[0].upstreams[0].stats, &second.targets[0].upstreams[0].stats));
        assert!(Arc::ptr_eq(&first.targets[0].balancer, &second.targets[0].balancer));
        assert!(!Arc::ptr_eq(&first.targets[1].upstreams[0].stats, &first.targets[0].upstreams[0].stats));
    }

    #[test]
    fn builtin_target_goes_first() {
        let c = config();
        let demo = TargetConfig { name: "demo".into(), ..c.targets[3].clone() };
        let mux = Mux::build(&c.targets, Some(&demo), &Mux::default(), &[]);
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
