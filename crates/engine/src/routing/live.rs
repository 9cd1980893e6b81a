//! Live Upstreams: dev servers that join a Target while they run (`roundabout run`) and leave when they stop.
//!
//! They are routed like any other Upstream (same balancing, health and counters) but never written to the config
//! file: the routing snapshot is built from the config's Targets with the live Upstreams merged in. One joins the
//! Target of its name when the config has one; otherwise a Target of that name, matching `NAME.localhost`, is
//! created after the configured ones and exists while it has live Upstreams.

use std::sync::Arc;

use crate::config::{MatchConfig, TargetConfig, UpstreamConfig};
use crate::event::LiveUpstream;

/// One live Upstream in the engine's list: leaving ones are kept, disabled, while their requests finish.
#[derive(Debug, Clone)]
pub struct Live {
    /// What joined.
    pub upstream: Arc<LiveUpstream>,
    /// True once it is leaving: it takes no new requests.
    pub leaving: bool,
}

/// The Targets to route: the config's, with each live Upstream added to the Target of its name, and the Targets
/// that exist only for live Upstreams after them (in the order they first joined). Returns, for each Target, whether
/// it is one of those.
pub(super) fn merge(configured: &[TargetConfig], live: &[Live]) -> Vec<(TargetConfig, bool)> {
    let mut merged: Vec<(TargetConfig, bool)> = configured.iter().map(|t| (t.clone(), false)).collect();
    for one in live {
        let upstream = UpstreamConfig { url: one.upstream.url.clone(), enabled: !one.leaving, weight: 1 };
        match merged.iter_mut().find(|(t, _)| t.name == one.upstream.target) {
            Some((target, _)) => {
                if !target.upstreams.iter().any(|u| u.url == upstream.url) {
                    target.upstreams.push(upstream);
                }
            }
            None => merged.push((created(&one.upstream.target, upstream), true)),
        }
    }
    merged
}

/// The Target made for live Upstreams named `name`: it matches `NAME.localhost`, with the default strategy and
/// health.
fn created(name: &str, upstream: UpstreamConfig) -> TargetConfig {
    TargetConfig {
        name: name.to_owned(),
        matcher: MatchConfig { host: Some(format!("{name}.localhost")), ..MatchConfig::default() },
        upstreams: vec![upstream],
        strategy: crate::config::Strategy::default(),
        health: crate::config::HealthConfig::default(),
        preserve_host: true,
        sticky: false,
    }
}

/// The live Upstream at `url` in Target `target`, if it is one.
pub(super) fn find<'a>(live: &'a [Live], target: &str, url: &str) -> Option<&'a Arc<LiveUpstream>> {
    live.iter().map(|l| &l.upstream).find(|u| u.target == target && u.url == url)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::Config;

    fn live(target: &str, port: u16, leaving: bool) -> Live {
        Live {
            upstream: Arc::new(LiveUpstream {
                target: target.into(),
                url: format!("http://localhost:{port}"),
                command: "vite".into(),
                pid: u32::from(port),
                cwd: "/src/app".into(),
                branch: None,
            }),
            leaving,
        }
    }

    #[test]
    fn live_upstreams_join_their_target_or_get_one_after_the_configured() {
        let config = Config::from_value(&json!({"version": 1, "targets": [
            {"name": "api", "match": {"host": "api.localhost"}, "upstreams": [{"url": "http://localhost:9000"}]},
            {"name": "rest", "upstreams": []}
        ]}))
        .unwrap();
        let merged = merge(&config.targets, &[live("app", 1, false), live("api", 2, true), live("app", 3, false)]);
        let names: Vec<(&str, bool)> = merged.iter().map(|(t, created)| (t.name.as_str(), *created)).collect();
        assert_eq!(names, [("api", false), ("rest", false), ("app", true)]);
        let api = &merged[0].0;
        assert_eq!(api.upstreams.len(), 2);
        assert!(!api.upstreams[1].enabled, "a leaving one takes no new requests");
        let app = &merged[2].0;
        assert_eq!(app.matcher.host.as_deref(), Some("app.localhost"));
        let urls: Vec<&str> = app.upstreams.iter().map(|u| u.url.as_str()).collect();
        assert_eq!(urls, ["http://localhost:1", "http://localhost:3"]);
        assert!(app.upstreams.iter().all(|u| u.enabled));
        assert_eq!(merge(&config.targets, &[]).len(), 2);
    }

    #[test]
    fn a_live_url_already_configured_is_not_listed_twice() {
        let config = Config::from_value(&json!({"version": 1, "targets": [
            {"name": "app", "upstreams": [{"url": "http://localhost:7"}]}
        ]}))
        .unwrap();
        let merged = merge(&config.targets, &[live("app", 7, false)]);
        assert_eq!(merged[0].0.upstreams.len(), 1);
        let all = [live("app", 7, false)];
        assert!(find(&all, "app", "http://localhost:7").is_some());
        assert!(find(&all, "web", "http://localhost:7").is_none());
        assert!(find(&all, "app", "http://localhost:8").is_none());
    }
}
