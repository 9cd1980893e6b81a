//! What a new routing snapshot keeps of the previous one: each Upstream's counters and health (by Target and URL),
//! each Target's rotation, and the pooled connections of each origin. So an edit elsewhere in the config does not
//! reset the distribution the app shows, does not bring an ejected Upstream back early, and does not drop warm
//! connections.
//!
//! A Target keeps what it had when it is renamed, too: a new name that takes the place of a name that is gone (the
//! same position in the list, or else the same Upstream URLs) is the same Target under another name.

use std::collections::HashMap;
use std::sync::Arc;

use super::mux::Mux;
use super::target::Target;
use super::upstream::UpstreamStats;
use crate::config::{TargetConfig, UpstreamUrl};
use crate::health::Health;
use crate::upstream::ConnectionPool;

/// The previous snapshot, indexed for building the next.
#[derive(Debug)]
pub(super) struct Carried<'p> {
    /// Previous Targets by name.
    by_name: HashMap<&'p str, &'p Target>,
    /// Previous Targets taken over by a new name.
    renamed: HashMap<&'p str, &'p Target>,
    /// Connection pools by origin (`scheme://authority`, lowercase).
    pools: HashMap<String, Arc<ConnectionPool>>,
}

impl<'p> Carried<'p> {
    /// Indexes `previous` for the user's `next` Targets, pairing renamed ones.
    pub(super) fn new(previous: &'p Mux, next: &'p [TargetConfig]) -> Self {
        let by_name: HashMap<&str, &Target> = previous.targets().iter().map(|t| (&*t.name, &**t)).collect();
        let mut pools = HashMap::new();
        for upstream in previous.targets().iter().flat_map(|t| &t.upstreams) {
            pools.entry(origin_key(&upstream.address)).or_insert_with(|| Arc::clone(&upstream.connections));
        }
        let user: Vec<&Target> = previous.targets().iter().filter(|t| !t.builtin).map(|t| &**t).collect();
        let kept = |name: &str| next.iter().any(|t| t.name == name);
        let mut gone: Vec<(usize, &Target)> =
            user.iter().copied().enumerate().filter(|(_, t)| !kept(&t.name)).collect();
        let mut renamed = HashMap::new();
        let new_names = next.iter().enumerate().filter(|(_, t)| !by_name.contains_key(t.name.as_str()));
        for (position, config) in new_names {
            let same_urls =
                |t: &Target| config.upstreams.iter().any(|u| t.upstreams.iter().any(|up| *up.url == *u.url));
            let found =
                gone.iter().position(|(at, _)| *at == position).or_else(|| gone.iter().position(|(_, t)| same_urls(t)));
            if let Some(i) = found {
                renamed.insert(config.name.as_str(), gone.remove(i).1);
            }
        }
        Carried { by_name, renamed, pools }
    }

    /// The previous Target the one named `name` continues, if any (never across the built-in demo and the user's).
    pub(super) fn predecessor(&self, name: &str, builtin: bool) -> Option<&'p Target> {
        let before = self.by_name.get(name).or_else(|| self.renamed.get(name)).copied()?;
        (before.builtin == builtin).then_some(before)
    }

    /// The connection pool of `address`'s origin, shared with every Upstream of the same origin.
    pub(super) fn pool(&mut self, address: &UpstreamUrl) -> Arc<ConnectionPool> {
        Arc::clone(
            self.pools
                .entry(origin_key(address))
                .or_insert_with(|| Arc::new(ConnectionPool::new(&address.scheme, &address.authority))),
        )
    }
}

/// The counters and health of the Upstream `url` of a Target that continues `before`; new ones otherwise.
pub(super) fn upstream_state(before: Option<&Target>, url: &str) -> (Arc<UpstreamStats>, Arc<Health>) {
    before
        .and_then(|t| t.upstreams.iter().find(|u| *u.url == *url))
        .map_or_else(Default::default, |u| (Arc::clone(&u.stats), Arc::clone(&u.health)))
}

/// Upstreams with the same scheme, host and port share their connections.
fn origin_key(url: &UpstreamUrl) -> String {
    format!("{}://{}", url.scheme, url.authority.as_str().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use tokio::time::Instant;

    use super::*;
    use crate::config::Config;
    use crate::health::Policy;

    fn build(targets: &Value, previous: &Mux) -> Mux {
        let config = Config::from_value(&json!({"version": 1, "targets": targets})).unwrap();
        Mux::build(&config.targets, None, &[], previous, &[])
    }

    fn target(name: &str, ports: &[u16]) -> Value {
        let upstreams: Vec<Value> = ports.iter().map(|p| json!({"url": format!("http://127.0.0.1:{p}")})).collect();
        json!({"name": name, "upstreams": upstreams})
    }

    /// Serves one request through the first Target and ejects its first Upstream.
    fn wear(mux: &Mux) {
        let t = &mux.targets()[0];
        t.upstreams[0].stats.record_response(200, std::time::Duration::ZERO);
        let _ = t.candidates(Instant::now()).next_candidate();
        for _ in 0..3 {
            t.upstreams[0].health.failed(&Policy::default(), Instant::now());
        }
    }

    fn same_state(a: &Target, b: &Target) -> bool {
        Arc::ptr_eq(&a.upstreams[0].stats, &b.upstreams[0].stats)
            && Arc::ptr_eq(&a.upstreams[0].health, &b.upstreams[0].health)
            && Arc::ptr_eq(&a.balancer, &b.balancer)
    }

    #[test]
    fn counters_health_and_rotation_survive_a_rebuild() {
        let first = build(&json!([target("a", &[1, 2]), target("b", &[1])]), &Mux::default());
        wear(&first);
        let second = build(&json!([target("a", &[1, 2]), target("b", &[1])]), &first);
        assert!(same_state(&first.targets()[0], &second.targets()[0]));
        assert!(!second.targets()[0].upstreams[0].health.is_healthy(), "health survives a rebuild");
        assert!(!Arc::ptr_eq(&second.targets()[1].upstreams[0].stats, &second.targets()[0].upstreams[0].stats));
        assert!(
            Arc::ptr_eq(&second.targets()[1].upstreams[0].connections, &second.targets()[0].upstreams[0].connections),
            "one origin, one pool"
        );
        assert!(
            !Arc::ptr_eq(&second.targets()[0].upstreams[1].connections, &second.targets()[0].upstreams[0].connections),
            "another origin, another pool"
        );
    }

    #[test]
    fn a_renamed_target_keeps_its_counters_health_and_rotation() {
        let first = build(&json!([target("a", &[1, 2]), target("b", &[3])]), &Mux::default());
        wear(&first);
        let renamed = build(&json!([target("web", &[1, 2]), target("b", &[3])]), &first);
        assert!(same_state(&first.targets()[0], &renamed.targets()[0]), "same place in the list");
        let moved = build(&json!([target("b", &[3]), target("site", &[1, 2])]), &renamed);
        assert!(same_state(&first.targets()[0], &moved.targets()[1]), "moved and renamed: same Upstreams");
        assert_eq!(moved.targets()[1].upstreams[0].stats.snapshot().requests, 1);
    }

    #[test]
    fn a_new_target_beside_the_old_ones_starts_afresh() {
        let first = build(&json!([target("a", &[1])]), &Mux::default());
        wear(&first);
        let added = build(&json!([target("a", &[1]), target("new", &[1])]), &first);
        assert!(same_state(&first.targets()[0], &added.targets()[0]));
        assert!(added.targets()[1].upstreams[0].health.is_healthy(), "a name that was never gone is new");
        let replaced = build(&json!([target("other", &[9])]), &Mux::default());
        assert!(replaced.targets()[0].upstreams[0].health.is_healthy());
    }
}
