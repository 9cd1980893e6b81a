//! A Target: a matcher, its Upstreams, the Balancer that spreads requests over the enabled ones, and the health
//! policy that decides when one of them is skipped.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::affinity::{CookieNames, UpstreamId};
use super::balance::{Balancer, smooth_schedule};
use super::candidates::Candidates;
use super::matcher::Matcher;
use super::upstream::Upstream;
use crate::config::{ActiveHealthConfig, HealthConfig, Strategy};
use crate::event::{Affinity, HealthState, now_ms};
use crate::health::{CheckPlan, Checked, Policy, View};

/// The parts of a Target's config besides its matcher and Upstreams.
#[derive(Debug, Clone)]
pub struct TargetOptions {
    /// Send the client's Host (true) or the Upstream's (false).
    pub preserve_host: bool,
    /// True for the built-in demo Target.
    pub builtin: bool,
    /// True for a Target that exists only for live Upstreams (not in the config).
    pub live: bool,
    /// Passive and active health settings.
    pub health: HealthConfig,
    /// Its cookies' names (sticky or not), computed once when the routing snapshot is built.
    pub cookies: CookieNames,
}

/// What a request's cookies ask of its Target: the Upstream it is pinned to, and the one a sticky Target sent it
/// to last. Ids only (copied out of the Cookie header), so the headers can be rewritten afterwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// From the Target's pin cookie.
    pub pin: Option<UpstreamId>,
    /// From the Target's sticky cookie (only a sticky Target has one, so only its requests ask this).
    pub sticky: Option<UpstreamId>,
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
    /// True for a Target that exists only for live Upstreams (not saved in the config).
    pub live: bool,
    /// The names of its pin cookie and, when it is sticky, its sticky cookie.
    pub cookies: CookieNames,
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
            live: options.live,
            cookies: options.cookies,
        }
    }

    /// The enabled Upstreams, in config order.
    pub fn enabled(&self) -> impl Iterator<Item = &Arc<Upstream>> {
        self.active.iter().filter_map(|i| self.upstreams.get(*i))
    }

    /// Number of enabled Upstreams.
    pub fn active_count(&self) -> usize {
        self.active.len()
    }

    /// The Upstreams a request arriving at `now` should try, in order: the Balancer's pick among those that may
    /// take it, then the others in turn; unhealthy ones last. See [`Candidates`].
    pub fn candidates(&self, now: Instant) -> Candidates<'_> {
        let upstream = |i: usize| &self.upstreams[self.active[i]];
        let start = self.balancer.first(
            self.active.len(),
            &self.schedule,
            |i| upstream(i).health.selectable(now),
            |i| upstream(i).stats.open(),
        );
        Candidates::new(&self.upstreams, &self.active, start, now)
    }

    /// The Upstreams a request arriving at `now` with the cookies in `asked` should try, and why, when not the
    /// Balancer's pick:
    ///
    /// - pinned to an enabled Upstream: that one alone, whatever its health (the developer wants to see it, errors
    ///   included), and nothing else if it fails;
    /// - else, on a sticky Target, the Upstream it went to last when that one is enabled and not ejected (healthy,
    ///   failing or on probation): that one first, then the others in turn as usual (only a sticky Target has a
    ///   sticky cookie name, so only its requests ask for one; see [`CookieNames`]);
    /// - else [`candidates`](Self::candidates).
    ///
    /// The Balancer is not consulted for pinned or sticky requests, so the rotation of other browsers is unchanged.
    pub fn choose(&self, now: Instant, asked: Asked) -> (Candidates<'_>, Option<Affinity>) {
        if let Some(pinned) = asked.pin.and_then(|id| self.enabled().find(|u| u.id == id)) {
            return (Candidates::new(&[], &[], 0, now).after(pinned), Some(Affinity::Pinned));
        }
        let kept = asked.sticky.and_then(|id| {
            self.active.iter().position(|i| {
                let u = &self.upstreams[*i];
                u.id == id && !matches!(u.health.view(now), View::Unhealthy { .. })
            })
        });
        match kept {
            Some(position) => {
                let first = &self.upstreams[self.active[position]];
                (Candidates::new(&self.upstreams, &self.active, position, now).after(first), Some(Affinity::Sticky))
            }
            None => (self.candidates(now), None),
        }
    }

    /// What the active checks of this Target ask of which Upstreams, when it has any and something to check.
    pub fn check_plan(&self) -> Option<CheckPlan> {
        let config = self.active_checks.clone()?;
        let upstreams: Vec<Checked> = self
            .enabled()
            .map(|u| Checked {
                url: Arc::clone(&u.url),
                label: Arc::clone(&u.label),
                address: u.address.clone(),
                health: Arc::clone(&u.health),
                connections: Arc::clone(&u.connections),
            })
            .collect();
        if upstreams.is_empty() {
            return None;
        }
        let policy = Policy { failures: config.unhealthy_threshold, cool_down: self.policy.cool_down };
        Some(CheckPlan { target: Arc::clone(&self.name), config, policy, upstreams })
    }

    /// The health of one of its Upstreams at `now`, as status, events and error pages report it.
    pub fn health_of(&self, upstream: &Upstream, now: Instant) -> HealthState {
        let open = upstream.stats.open();
        if !upstream.enabled {
            return if open > 0 { HealthState::Draining { open } } else { HealthState::Disabled };
        }
        let threshold = match (self.policy.failures, &self.active_checks) {
            (0, Some(active)) => active.unhealthy_threshold,
            (passive, _) => passive,
        };
        match upstream.health.view(now) {
            View::Healthy { failures } if failures > 0 && threshold > 0 => {
                HealthState::Failing { failures: failures.min(threshold), threshold }
            }
            View::Healthy { .. } => HealthState::Healthy,
            View::Probation => HealthState::Probation,
            View::Unhealthy { failures, retry_in } => {
                let retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
                HealthState::Unhealthy { failures, retry_at_ms: now_ms().saturating_add(retry_in_ms), retry_in_ms }
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::UpstreamUrl;
    use crate::upstream::ConnectionPool;

    /// An Upstream on `port` for tests of selection.
    pub(in crate::routing) fn upstream(port: u16, enabled: bool) -> Arc<Upstream> {
        let url = format!("http://127.0.0.1:{port}");
        let address = UpstreamUrl::parse(&url).unwrap();
        Arc::new(Upstream {
            label: address.label.as_str().into(),
            id: UpstreamId::of(&url),
            url: url.into(),
            connections: Arc::new(ConnectionPool::new(&address.scheme, &address.authority)),
            address,
            enabled,
            weight: 1,
            loops_back: false,
            stats: Arc::default(),
            health: Arc::default(),
            live: None,
        })
    }

    /// A round-robin Target over `upstreams`.
    pub(in crate::routing) fn target(upstreams: Vec<Arc<Upstream>>) -> Target {
        let options = TargetOptions {
            preserve_host: false,
            builtin: false,
            live: false,
            health: HealthConfig::default(),
            cookies: CookieNames::of("t", false),
        };
        Target::new("t".into(), Matcher::default(), upstreams, Arc::new(Balancer::default()), options)
    }

    #[tokio::test(start_paused = true)]
    async fn health_is_reported_as_people_read_it() {
        let t = target(vec![upstream(1, true), upstream(2, false)]);
        let now = Instant::now();
        assert_eq!(t.health_of(&t.upstreams[0], now), HealthState::Healthy);
        assert_eq!(t.health_of(&t.upstreams[1], now), HealthState::Disabled);
        let open = t.upstreams[1].stats.begin();
        assert_eq!(t.health_of(&t.upstreams[1], now), HealthState::Draining { open: 1 });
        drop(open);
        t.upstreams[0].health.failed(&t.policy, now);
        assert_eq!(t.health_of(&t.upstreams[0], now), HealthState::Failing { failures: 1, threshold: 3 });
        t.upstreams[0].health.failed(&t.policy, now);
        t.upstreams[0].health.failed(&t.policy, now);
        assert!(matches!(
            t.health_of(&t.upstreams[0], now),
            HealthState::Unhealthy { failures: 3, retry_in_ms: 10_000, .. }
        ));
    }

    /// The ports a request with `asked` would try, in order, and its affinity.
    fn chosen(t: &Target, asked: Asked) -> (Vec<u16>, Option<Affinity>) {
        let (mut candidates, affinity) = t.choose(Instant::now(), asked);
        let mut ports = Vec::new();
        while let Some((u, probe)) = candidates.next_candidate() {
            assert!(probe.is_none(), "these tests never probe");
            ports.push(u.address.port);
        }
        (ports, affinity)
    }

    /// Asks for the Upstream on `port` by pin cookie and/or sticky cookie.
    fn asked(pin: Option<u16>, sticky: Option<u16>) -> Asked {
        let id = |port: u16| UpstreamId::of(&format!("http://127.0.0.1:{port}"));
        Asked { pin: pin.map(id), sticky: sticky.map(id) }
    }

    fn eject(u: &Upstream) {
        for _ in 0..3 {
            u.health.failed(&Policy::default(), Instant::now());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pinned_upstream_is_tried_alone_whatever_its_health() {
        let t = target(vec![upstream(1, true), upstream(2, true), upstream(3, false)]);
        assert_eq!(chosen(&t, asked(Some(2), None)), (vec![2], Some(Affinity::Pinned)));
        eject(&t.upstreams[1]);
        assert_eq!(chosen(&t, asked(Some(2), Some(1))), (vec![2], Some(Affinity::Pinned)), "the pin wins");
        assert_eq!(chosen(&t, asked(None, None)), (vec![1, 2], None), "the balancer was not consulted");
        assert_eq!(chosen(&t, asked(Some(3), None)), (vec![1, 2], None), "a disabled one is not pinned to");
        assert_eq!(chosen(&t, asked(Some(9), None)), (vec![1, 2], None), "nor an unknown one");
    }

    #[tokio::test(start_paused = true)]
    async fn a_sticky_target_tries_the_browsers_upstream_first_then_the_others() {
        let t = target(vec![upstream(1, true), upstream(2, true), upstream(3, true), upstream(4, false)]);
        assert_eq!(chosen(&t, asked(None, Some(2))), (vec![2, 3, 1], Some(Affinity::Sticky)));
        assert_eq!(chosen(&t, asked(None, Some(3))), (vec![3, 1, 2], Some(Affinity::Sticky)));
        assert_eq!(chosen(&t, asked(None, None)), (vec![1, 2, 3], None), "sticky requests did not turn the rotation");
        assert_eq!(chosen(&t, asked(None, Some(4))), (vec![2, 3, 1], None), "a disabled one is balanced away from");
        assert_eq!(chosen(&t, asked(None, Some(9))), (vec![3, 1, 2], None));
    }

    #[tokio::test(start_paused = true)]
    async fn a_sticky_upstream_keeps_its_browsers_until_it_is_ejected() {
        let t = target(vec![upstream(1, true), upstream(2, true)]);
        t.upstreams[1].health.failed(&t.policy, Instant::now());
        assert_eq!(chosen(&t, asked(None, Some(2))), (vec![2, 1], Some(Affinity::Sticky)), "failing once is not out");
        eject(&t.upstreams[1]);
        assert_eq!(chosen(&t, asked(None, Some(2))).1, None, "ejected: balanced elsewhere");
        tokio::time::advance(t.policy.cool_down).await;
        let crate::health::Admission::Probe(probe) = t.upstreams[1].health.admit(Instant::now()) else {
            panic!("its cool-down is over")
        };
        assert_eq!(chosen(&t, asked(None, Some(2))), (vec![2, 1], Some(Affinity::Sticky)), "on probation it stays");
        drop(probe);
    }

    #[test]
    fn a_check_plan_covers_the_enabled_upstreams_only() {
        let mut t = target(vec![upstream(1, true), upstream(2, false)]);
        assert!(t.check_plan().is_none(), "no active checks configured");
        t.active_checks = Some(ActiveHealthConfig::default());
        let plan = t.check_plan().unwrap();
        assert_eq!(plan.upstreams.len(), 1);
        assert!(Arc::ptr_eq(&plan.upstreams[0].health, &t.upstreams[0].health), "verdicts land in the live health");
        assert_eq!(plan.policy.failures, 3);
    }
}
