//! A Target: a matcher, its Upstreams, the Balancer that spreads requests over the enabled ones, and the health
//! policy that decides when one of them is skipped.

use std::sync::Arc;
use std::time::Duration;

use crate::balance::{Balancer, smooth_schedule};
use crate::config::{ActiveHealthConfig, HealthConfig, Strategy};
use crate::health::{Admission, Policy, Probe};
use crate::matcher::Matcher;
use crate::upstream::Upstream;

/// The parts of a Target's config besides its matcher and Upstreams.
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    /// Send the client's Host (true) or the Upstream's (false).
    pub preserve_host: bool,
    /// True for the built-in demo Target.
    pub builtin: bool,
    /// Passive and active health settings.
    pub health: HealthConfig,
}

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
    /// Smooth weighted round-robin cycle over `active` (empty for other strategies).
    schedule: Vec<u32>,
    /// Shared with the previous snapshot of the same Target.
    pub balancer: Arc<Balancer>,
    /// When requests make an Upstream unhealthy (`failures` 0: passive checks off).
    pub policy: Policy,
    /// Response statuses that count as failures.
    pub fail_statuses: Vec<u16>,
    /// Active checks, when configured.
    pub active_checks: Option<ActiveHealthConfig>,
    /// Send the client's Host (true) or the Upstream's (false).
    pub preserve_host: bool,
    /// True for the built-in demo Target (not saved in the config).
    pub builtin: bool,
}

impl Target {
    /// Assembles a Target; `active` is derived from each Upstream's `enabled`, the weighted cycle from weights.
    pub fn new(
        name: Arc<str>,
        matcher: Matcher,
        upstreams: Vec<Arc<Upstream>>,
        balancer: Arc<Balancer>,
        options: TargetOptions,
    ) -> Self {
        let active: Vec<usize> = upstreams.iter().enumerate().filter(|(_, u)| u.enabled).map(|(i, _)| i).collect();
        let schedule = if balancer.strategy() == Strategy::WeightedRoundRobin {
            smooth_schedule(&active.iter().map(|i| upstreams[*i].weight.max(1)).collect::<Vec<_>>())
        } else {
            Vec::new()
        };
        let passive = &options.health.passive;
        let policy = Policy {
            failures: if passive.enabled { passive.failures } else { 0 },
            cool_down: Duration::from_millis(passive.cool_down_ms),
        };
        Target {
            name,
            matcher,
            upstreams,
            active,
            schedule,
            balancer,
            policy,
            fail_statuses: passive.fail_statuses.clone(),
            active_checks: options.health.active,
            preserve_host: options.preserve_host,
            builtin: options.builtin,
        }
    }

    /// The policy active checks use: their own failure threshold, the passive cool-down.
    pub fn check_policy(&self) -> Option<Policy> {
        let active = self.active_checks.as_ref()?;
        Some(Policy { failures: active.unhealthy_threshold, cool_down: self.policy.cool_down })
    }

    /// The enabled Upstreams, in config order.
    pub fn enabled(&self) -> impl Iterator<Item = &Arc<Upstream>> {
        self.active.iter().filter_map(|i| self.upstreams.get(*i))
    }

    /// Number of enabled Upstreams.
    pub fn active_count(&self) -> usize {
        self.active.len()
    }

    /// The enabled Upstreams in the order this request should try them: the Balancer's pick first, then the
    /// others in turn (used when connecting fails). Empty when none is enabled.
    pub fn attempt_order(&self) -> AttemptOrder<'_> {
        let load = |i: usize| {
            let stats = &self.upstreams[self.active[i]].stats;
            stats.health.is_healthy().then(|| stats.open())
        };
        let start = self.balancer.first(self.active.len(), &self.schedule, load);
        AttemptOrder { target: self, start, step: 0 }
    }
}

impl<'a> AttemptOrder<'a> {
    /// Candidates not yet returned.
    pub fn remaining(&self) -> usize {
        self.target.active.len().saturating_sub(self.step)
    }

    /// The same order with health applied: see [`Candidates`].
    pub fn with_health(self, now: tokio::time::Instant) -> Candidates<'a> {
        Candidates { order: self, now, skipped: Vec::new(), fallback: 0 }
    }
}

/// A request's candidates with health applied: healthy ones (and one probe) in balancing order first, then the
/// unhealthy ones that were skipped, as a last resort rather than refusing outright.
#[derive(Debug)]
pub struct Candidates<'a> {
    order: AttemptOrder<'a>,
    now: tokio::time::Instant,
    /// Skipped on the first pass; allocates only when something is unhealthy.
    skipped: Vec<&'a Arc<Upstream>>,
    /// How many of `skipped` were handed out.
    fallback: usize,
}

/// One candidate: the Upstream, and its probe guard when this request probes it.
pub type Candidate<'a> = (&'a Arc<Upstream>, Option<Probe<'a>>);

impl<'a> Candidates<'a> {
    /// The next Upstream to try, or `None` when every enabled one was offered.
    pub fn next_candidate(&mut self) -> Option<Candidate<'a>> {
        for u in self.order.by_ref() {
            match u.stats.health.admit(self.now) {
                Admission::Yes => return Some((u, None)),
                Admission::Probe(probe) => return Some((u, Some(probe))),
                Admission::No => self.skipped.push(u),
            }
        }
        let u = self.skipped.get(self.fallback)?;
        self.fallback += 1;
        Some((u, None))
    }

    /// True when another candidate may follow.
    pub fn more(&self) -> bool {
        self.order.remaining() + self.skipped.len() > self.fallback
    }

    /// True once an unhealthy Upstream was offered as a last resort.
    pub fn fell_back(&self) -> bool {
        self.fallback > 0
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
    use crate::upstream_url::UpstreamUrl;

    fn upstream(port: u16, enabled: bool) -> Arc<Upstream> {
        let url = format!("http://127.0.0.1:{port}");
        let target = UpstreamUrl::parse(&url).unwrap();
        Arc::new(Upstream {
            label: target.label.as_str().into(),
            url: url.into(),
            connections: Arc::new(crate::pool::ConnectionPool::new(&target.scheme, &target.authority)),
            target,
            enabled,
            weight: 1,
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
            TargetOptions::default(),
        );
        assert_eq!(order(&t), [1, 3, 4]);
        assert_eq!(order(&t), [3, 4, 1]);
        assert_eq!(order(&t), [4, 1, 3]);
        assert_eq!(order(&t), [1, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn unhealthy_upstreams_are_skipped_then_offered_last() {
        let ups = vec![upstream(1, true), upstream(2, true), upstream(3, true)];
        let now = tokio::time::Instant::now();
        for _ in 0..3 {
            ups[0].stats.health.failed(&Policy::default(), now);
        }
        let options = TargetOptions::default();
        let t = Target::new("t".into(), Matcher::default(), ups, Arc::new(Balancer::default()), options);
        let mut candidates = t.attempt_order().with_health(now);
        let mut seen = Vec::new();
        while let Some((u, probe)) = candidates.next_candidate() {
            assert!(probe.is_none());
            seen.push((u.target.port, candidates.fell_back()));
        }
        assert_eq!(seen, [(2, false), (3, false), (1, true)]);
        assert!(!candidates.more());

        tokio::time::advance(Policy::default().cool_down).await;
        let mut candidates = t.attempt_order().with_health(tokio::time::Instant::now());
        let (first, probe) = candidates.next_candidate().unwrap();
        assert_eq!((first.target.port, probe.is_some()), (2, false), "the rotation moved on");
        let (second, probe) = candidates.next_candidate().unwrap();
        assert_eq!((second.target.port, probe.is_some()), (3, false));
        let (third, probe) = candidates.next_candidate().unwrap();
        assert_eq!((third.target.port, probe.is_some()), (1, true), "the cool-down is over: it is probed");
    }

    #[test]
    fn no_enabled_upstreams_means_no_attempts() {
        let t = Target::new(
            "t".into(),
            Matcher::default(),
            vec![upstream(1, false)],
            Arc::default(),
            TargetOptions::default(),
        );
        assert_eq!(t.active_count(), 0);
        assert!(order(&t).is_empty());
    }
}
