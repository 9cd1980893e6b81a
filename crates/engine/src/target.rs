//! A Target: a matcher, its Upstreams, and the Balancer that spreads requests over the enabled ones.

use std::sync::Arc;

use crate::balance::Balancer;
use crate::matcher::Matcher;
use crate::upstream::Upstream;

/// One Target in the routing snapshot. Immutable; a config change builds a new one.
#[derive(Debug)]
pub struct Target {
    /// Unique name from the config.
    pub name: Arc<str>,
    /// Which requests it accepts.
    pub matcher: Matcher,
    /// Every Upstream in config order, enabled or not (status shows them all).
    pub upstreams: Vec<Arc<Upstream>>,
    /// Indexes into `upstreams` of the enabled ones, in config order.
    active: Vec<usize>,
    /// Shared with the previous snapshot of the same Target.
    pub balancer: Arc<Balancer>,
    /// Send the client's Host (true) or the Upstream's (false).
    pub preserve_host: bool,
    /// True for the built-in demo Target (not saved in the config).
    pub builtin: bool,
}

impl Target {
    /// Assembles a Target; `active` is derived from each Upstream's `enabled`.
    pub fn new(
        name: Arc<str>,
        matcher: Matcher,
        upstreams: Vec<Arc<Upstream>>,
        balancer: Arc<Balancer>,
        preserve_host: bool,
        builtin: bool,
    ) -> Self {
        let active = upstreams.iter().enumerate().filter(|(_, u)| u.enabled).map(|(i, _)| i).collect();
        Target { name, matcher, upstreams, active, balancer, preserve_host, builtin }
    }

    /// Number of enabled Upstreams.
    pub fn active_count(&self) -> usize {
        self.active.len()
    }

    /// The enabled Upstreams in the order this request should try them: the Balancer's pick first, then the
    /// others in turn (used when connecting fails). Empty when none is enabled.
    pub fn attempt_order(&self) -> AttemptOrder<'_> {
        let start = if self.active.is_empty() { 0 } else { self.balancer.first(self.active.len()) };
        AttemptOrder { target: self, start, step: 0 }
    }
}

/// Iterator over a request's candidate Upstreams; allocates nothing.
#[derive(Debug)]
pub struct AttemptOrder<'a> {
    target: &'a Target,
    start: usize,
    step: usize,
}

impl<'a> Iterator for AttemptOrder<'a> {
    type Item = &'a Arc<Upstream>;

    fn next(&mut self) -> Option<Self::Item> {
        let active = &self.target.active;
        if self.step >= active.len() {
            return None;
        }
        let index = active[(self.start + self.step) % active.len()];
        self.step += 1;
        self.target.upstreams.get(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Strategy;
    use crate::upstream_url::UpstreamUrl;

    fn upstream(port: u16, enabled: bool) -> Arc<Upstream> {
        let url = format!("http://127.0.0.1:{port}");
        let target = UpstreamUrl::parse(&url).unwrap();
        Arc::new(Upstream {
            label: target.label.as_str().into(),
            url: url.into(),
            target,
            enabled,
            loops_back: false,
            stats: Arc::default(),
        })
    }

    fn order(t: &Target) -> Vec<u16> {
        t.attempt_order().map(|u| u.target.port).collect()
    }

    #[test]
    fn tries_the_pick_then_the_rest_skipping_disabled() {
        let ups = vec![upstream(1, true), upstream(2, false), upstream(3, true), upstream(4, true)];
        let t = Target::new(
            "t".into(),
            Matcher::default(),
            ups,
            Arc::new(Balancer::new(Strategy::RoundRobin)),
            true,
            false,
        );
        assert_eq!(order(&t), [1, 3, 4]);
        assert_eq!(order(&t), [3, 4, 1]);
        assert_eq!(order(&t), [4, 1, 3]);
        assert_eq!(order(&t), [1, 3, 4]);
    }

    #[test]
    fn no_enabled_upstreams_means_no_attempts() {
        let t = Target::new("t".into(), Matcher::default(), vec![upstream(1, false)], Arc::default(), true, false);
        assert_eq!(t.active_count(), 0);
        assert!(order(&t).is_empty());
    }
}
