//! The Upstreams one request may try, in order: the Balancer's pick first, then the other enabled ones in turn
//! (when connecting fails, nothing was sent, so the next one is tried). Health is applied on the way: an ejected
//! Upstream is skipped, the one whose cool-down is over is probed by exactly one request, and the skipped ones come
//! last, as a last resort rather than refusing outright. Allocates only when something is unhealthy.

use std::sync::Arc;

use tokio::time::Instant;

use super::upstream::Upstream;
use crate::health::{Admission, Probe};

/// One candidate: the Upstream, and its probe guard when this request probes it.
pub type Candidate<'a> = (&'a Arc<Upstream>, Option<Probe<'a>>);

/// A request's candidate Upstreams.
#[derive(Debug)]
pub struct Candidates<'a> {
    upstreams: &'a [Arc<Upstream>],
    /// Indexes into `upstreams` of the enabled ones.
    active: &'a [usize],
    /// Position in `active` of the Balancer's pick.
    start: usize,
    /// Positions offered so far on the first pass.
    step: usize,
    now: Instant,
    /// Skipped on the first pass as unhealthy.
    skipped: Vec<&'a Arc<Upstream>>,
    /// How many of `skipped` were handed out.
    fallback: usize,
    /// Offered before all others without asking its health (a pinned or sticky Upstream), until taken.
    first: Option<&'a Arc<Upstream>>,
}

impl<'a> Candidates<'a> {
    /// The candidates among `active` (indexes into `upstreams`), starting at position `start`, admitted at `now`.
    pub(super) fn new(upstreams: &'a [Arc<Upstream>], active: &'a [usize], start: usize, now: Instant) -> Self {
        Candidates { upstreams, active, start, step: 0, now, skipped: Vec::new(), fallback: 0, first: None }
    }

    /// Offers `first` before anything else, whatever its health, then the others from position `start + 1` on:
    /// `first` must be the Upstream at `start` (or `active` empty, for a pinned Upstream tried alone).
    pub(super) fn after(mut self, first: &'a Arc<Upstream>) -> Self {
        self.first = Some(first);
        self.step = 1;
        self
    }

    /// The next Upstream to try, or `None` when every enabled one was offered.
    pub fn next_candidate(&mut self) -> Option<Candidate<'a>> {
        if let Some(first) = self.first.take() {
            return Some((first, None));
        }
        while self.step < self.active.len() {
            let position = (self.start + self.step) % self.active.len();
            self.step += 1;
            let Some(upstream) = self.upstreams.get(self.active[position]) else { continue };
            match upstream.health.admit(self.now) {
                Admission::Yes => return Some((upstream, None)),
                Admission::Probe(probe) => return Some((upstream, Some(probe))),
                Admission::No => self.skipped.push(upstream),
            }
        }
        let upstream = self.skipped.get(self.fallback)?;
        self.fallback += 1;
        Some((upstream, None))
    }

    /// True once an unhealthy Upstream was offered as a last resort.
    pub fn fell_back(&self) -> bool {
        self.fallback > 0
    }
}

#[cfg(test)]
mod tests {
    use super::super::target::tests::{target, upstream};
    use crate::health::Policy;

    fn order(t: &super::super::Target, now: tokio::time::Instant) -> Vec<(u16, bool, bool)> {
        let mut candidates = t.candidates(now);
        let mut seen = Vec::new();
        while let Some((u, probe)) = candidates.next_candidate() {
            seen.push((u.address.port, probe.is_some(), candidates.fell_back()));
        }
        seen
    }

    #[tokio::test(start_paused = true)]
    async fn the_pick_comes_first_then_the_rest_in_turn_skipping_disabled() {
        let t = target(vec![upstream(1, true), upstream(2, false), upstream(3, true), upstream(4, true)]);
        let now = tokio::time::Instant::now();
        let ports = |seen: Vec<(u16, bool, bool)>| seen.into_iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(ports(order(&t, now)), [1, 3, 4]);
        assert_eq!(ports(order(&t, now)), [3, 4, 1]);
        assert_eq!(ports(order(&t, now)), [4, 1, 3]);
        assert_eq!(ports(order(&t, now)), [1, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn unhealthy_upstreams_are_skipped_then_offered_last_then_probed_in_their_turn() {
        let t = target(vec![upstream(1, true), upstream(2, true), upstream(3, true)]);
        let now = tokio::time::Instant::now();
        for _ in 0..3 {
            t.upstreams[0].health.failed(&Policy::default(), now);
        }
        assert_eq!(order(&t, now), [(2, false, false), (3, false, false), (1, false, true)]);
        assert_eq!(order(&t, now), [(3, false, false), (2, false, false), (1, false, true)]);

        tokio::time::advance(Policy::default().cool_down).await;
        let now = tokio::time::Instant::now();
        let firsts: Vec<_> = (0..3).map(|_| order(&t, now)[0]).collect();
        assert!(firsts.contains(&(1, true, false)), "its cool-down is over: it is probed in its turn: {firsts:?}");
    }

    #[test]
    fn no_enabled_upstreams_means_no_attempts() {
        let t = target(vec![upstream(1, false)]);
        assert_eq!(t.active_count(), 0);
        assert!(order(&t, tokio::time::Instant::now()).is_empty());
    }
}
