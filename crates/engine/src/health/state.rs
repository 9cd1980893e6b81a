//! Passive (and active) health of one Upstream as a small lock-free state machine.
//!
//! ```text
//!            n consecutive failures                cool-down over: one request claims the probe
//!  Healthy ───────────────────────────▶ Unhealthy ──────────────────────────────────────────▶ Probation
//!     ▲  ◀──────────── probe succeeded ──────────────────────────────────────────────────────────┘ │
//!     │                                  ▲ ◀──────────── probe failed: cool-down restarts ───────────┘
//! ```
//!
//! Everything is an atomic: the request path never locks. The probation slot is claimed with a compare-exchange,
//! so exactly one request probes an Upstream whose cool-down is over; the others keep skipping it. A probe that
//! ends without a verdict (the client went away) gives the slot back, so the next request probes instead.
//! Times are `tokio::time::Instant`s, so tests drive cool-downs with paused time.

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering::AcqRel, Ordering::Acquire, Ordering::Release};
use std::time::Duration;

use tokio::time::Instant;

use crate::event::{HealthState, now_ms};

const HEALTHY: u8 = 0;
const UNHEALTHY: u8 = 1;
const PROBATION: u8 = 2;

/// When an Upstream counts as failing, and for how long it is then left alone (from the Target's config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Consecutive failures that make an Upstream unhealthy; 0 turns passive checks off.
    pub failures: u32,
    /// How long an unhealthy Upstream is skipped before one probe request is let through.
    pub cool_down: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { failures: 3, cool_down: Duration::from_secs(10) }
    }
}

/// The health of one Upstream. Lives in its `UpstreamStats`, so it survives config reloads.
#[derive(Debug)]
pub struct Health {
    /// `HEALTHY`, `UNHEALTHY` or `PROBATION`.
    state: AtomicU8,
    /// Consecutive failures (requests or active checks) since the last success.
    failures: AtomicU32,
    /// Consecutive successful active checks while not healthy.
    passes: AtomicU32,
    /// End of the cool-down, in milliseconds after `origin`.
    until_ms: AtomicU64,
    /// Reference point for `until_ms`.
    origin: Instant,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            state: AtomicU8::new(HEALTHY),
            failures: AtomicU32::new(0),
            passes: AtomicU32::new(0),
            until_ms: AtomicU64::new(0),
            origin: Instant::now(),
        }
    }
}

/// Whether a request may be sent to an Upstream now.
#[derive(Debug)]
pub enum Admission<'a> {
    /// Healthy: send it.
    Yes,
    /// The cool-down is over and this request is the one probe; settle the guard with the outcome.
    Probe(Probe<'a>),
    /// Unhealthy (cooling down, or another request is probing): skip it unless nothing else is left.
    No,
}

/// The one probe request of an Upstream on probation. Dropped unsettled, it gives the slot back.
#[derive(Debug)]
pub struct Probe<'a> {
    health: &'a Health,
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        // Unsettled (the request was abandoned): let the next request probe at once.
        if self.health.state.compare_exchange(PROBATION, UNHEALTHY, AcqRel, Acquire).is_ok() {
            self.health.until_ms.store(0, Release);
        }
    }
}

/// A change of state worth an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A failure, below the threshold.
    Failing {
        /// Consecutive failures so far.
        failures: u32,
        /// How many make it unhealthy.
        threshold: u32,
    },
    /// Now skipped for `retry_in`.
    Unhealthy {
        /// Consecutive failures that led here.
        failures: u32,
        /// Time until a probe is let through.
        retry_in: Duration,
    },
    /// A probe request was let through.
    Probation,
    /// Serving again.
    Healthy,
}

impl Change {
    /// The state this change leads to, as events report it.
    pub fn state(self) -> HealthState {
        match self {
            Change::Failing { failures, threshold } => HealthState::Failing { failures, threshold },
            Change::Unhealthy { failures, retry_in } => {
                let retry_in_ms = millis(retry_in);
                HealthState::Unhealthy { failures, retry_at_ms: now_ms().saturating_add(retry_in_ms), retry_in_ms }
            }
            Change::Probation => HealthState::Probation,
            Change::Healthy => HealthState::Healthy,
        }
    }
}

/// What [`Health::view`] reports for status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Healthy with this many consecutive failures (0 when all is well).
    Healthy {
        /// Consecutive failures.
        failures: u32,
    },
    /// Skipped for `retry_in` more (zero: the next request probes).
    Unhealthy {
        /// Consecutive failures.
        failures: u32,
        /// Remaining cool-down.
        retry_in: Duration,
    },
    /// One probe request is in flight.
    Probation,
}

impl Health {
    /// Decides whether a request may go to this Upstream at `now`. Never blocks; at most one caller gets a probe.
    pub fn admit(&self, now: Instant) -> Admission<'_> {
        match self.state.load(Acquire) {
            HEALTHY => Admission::Yes,
            UNHEALTHY if self.millis(now) >= self.until_ms.load(Acquire) => {
                match self.state.compare_exchange(UNHEALTHY, PROBATION, AcqRel, Acquire) {
                    Ok(_) => Admission::Probe(Probe { health: self }),
                    Err(_) => Admission::No,
                }
            }
            _ => Admission::No,
        }
    }

    /// True while healthy (tests read the state through it).
    #[cfg(test)]
    pub fn is_healthy(&self) -> bool {
        self.state.load(Acquire) == HEALTHY
    }

    /// True when a balancer may choose this Upstream at `now`: healthy, or unhealthy with its cool-down over (the
    /// request that chooses it probes it). Claims nothing.
    pub fn selectable(&self, now: Instant) -> bool {
        match self.state.load(Acquire) {
            HEALTHY => true,
            UNHEALTHY => self.millis(now) >= self.until_ms.load(Acquire),
            _ => false,
        }
    }

    /// A request succeeded: the failure streak ends and an unhealthy Upstream is healthy again.
    pub fn succeeded(&self) -> Option<Change> {
        // The common case only reads, so healthy Upstreams' cache lines are not written on every response.
        if self.state.load(Acquire) == HEALTHY && self.failures.load(Acquire) == 0 {
            return None;
        }
        self.failures.store(0, Release);
        self.passes.store(0, Release);
        (self.state.swap(HEALTHY, AcqRel) != HEALTHY).then_some(Change::Healthy)
    }

    /// A request admitted while the Upstream was healthy got an answer: the failure streak ends. A straggler
    /// answered after the Upstream was ejected does not heal it; only a probe, a last-resort attempt or active
    /// checks do (linkerd's breaker ignores such stragglers too).
    pub fn answered(&self) {
        if self.state.load(Acquire) == HEALTHY && self.failures.load(Acquire) != 0 {
            self.failures.store(0, Release);
        }
    }

    /// A request failed at `now`. Reaching `policy.failures` in a row (or failing a probe) starts a cool-down.
    pub fn failed(&self, policy: &Policy, now: Instant) -> Option<Change> {
        let state = self.state.load(Acquire);
        if policy.failures == 0 && state != PROBATION {
            return None;
        }
        self.passes.store(0, Release);
        let failures = self.failures.fetch_add(1, AcqRel).saturating_add(1);
        match state {
            HEALTHY if failures < policy.failures => Some(Change::Failing { failures, threshold: policy.failures }),
            HEALTHY => {
                self.until_ms.store(self.millis(now).saturating_add(millis(policy.cool_down)), Release);
                self.state
                    .compare_exchange(HEALTHY, UNHEALTHY, AcqRel, Acquire)
                    .ok()
                    .map(|_| Change::Unhealthy { failures, retry_in: policy.cool_down })
            }
            PROBATION => {
                self.until_ms.store(self.millis(now).saturating_add(millis(policy.cool_down)), Release);
                self.state
                    .compare_exchange(PROBATION, UNHEALTHY, AcqRel, Acquire)
                    .ok()
                    .map(|_| Change::Unhealthy { failures, retry_in: policy.cool_down })
            }
            // Already unhealthy (tried anyway because nothing else was left): the cool-down keeps its end.
            _ => None,
        }
    }

    /// Settles the probe with its outcome.
    pub fn settle(&self, probe: Probe<'_>, ok: bool, policy: &Policy, now: Instant) -> Option<Change> {
        let change = if ok { self.succeeded() } else { self.failed(policy, now) };
        drop(probe);
        change
    }

    /// An active check passed: after `healthy_after` passes in a row an unhealthy Upstream is healthy again.
    pub fn check_passed(&self, healthy_after: u32) -> Option<Change> {
        if self.state.load(Acquire) == HEALTHY {
            self.failures.store(0, Release);
            return None;
        }
        let passes = self.passes.fetch_add(1, AcqRel).saturating_add(1);
        if passes >= healthy_after { self.succeeded() } else { None }
    }

    /// What status shows at `now`.
    pub fn view(&self, now: Instant) -> View {
        let failures = self.failures.load(Acquire);
        match self.state.load(Acquire) {
            HEALTHY => View::Healthy { failures },
            PROBATION => View::Probation,
            _ => {
                let left = self.until_ms.load(Acquire).saturating_sub(self.millis(now));
                View::Unhealthy { failures, retry_in: Duration::from_millis(left) }
            }
        }
    }

    fn millis(&self, now: Instant) -> u64 {
        millis(now.saturating_duration_since(self.origin))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::time::advance;

    use super::*;

    const POLICY: Policy = Policy { failures: 3, cool_down: Duration::from_secs(10) };

    fn admitted(h: &Health) -> &'static str {
        admitted_at(h, Instant::now())
    }

    fn admitted_at(h: &Health, now: Instant) -> &'static str {
        match h.admit(now) {
            Admission::Yes => "yes",
            Admission::Probe(p) => {
                std::mem::forget(p);
                "probe"
            }
            Admission::No => "no",
        }
    }

    #[tokio::test(start_paused = true)]
    async fn three_failures_eject_for_the_cool_down_then_one_probe_heals() {
        let h = Health::default();
        assert_eq!(h.failed(&POLICY, Instant::now()), Some(Change::Failing { failures: 1, threshold: 3 }));
        assert_eq!(h.failed(&POLICY, Instant::now()), Some(Change::Failing { failures: 2, threshold: 3 }));
        assert_eq!(admitted(&h), "yes");
        assert_eq!(
            h.failed(&POLICY, Instant::now()),
            Some(Change::Unhealthy { failures: 3, retry_in: Duration::from_secs(10) })
        );
        assert_eq!(admitted(&h), "no");
        advance(Duration::from_millis(9_999)).await;
        assert_eq!(h.view(Instant::now()), View::Unhealthy { failures: 3, retry_in: Duration::from_millis(1) });
        assert_eq!(admitted(&h), "no");
        advance(Duration::from_millis(1)).await;
        let Admission::Probe(probe) = h.admit(Instant::now()) else { panic!("the cool-down is over") };
        assert_eq!(admitted(&h), "no", "only one request probes");
        assert_eq!(h.view(Instant::now()), View::Probation);
        assert_eq!(h.settle(probe, true, &POLICY, Instant::now()), Some(Change::Healthy));
        assert_eq!(admitted(&h), "yes");
        assert_eq!(h.view(Instant::now()), View::Healthy { failures: 0 });
    }

    #[tokio::test(start_paused = true)]
    async fn an_upstream_is_selectable_while_healthy_and_again_once_its_cool_down_is_over() {
        let h = Health::default();
        assert!(h.selectable(Instant::now()));
        for _ in 0..3 {
            h.failed(&POLICY, Instant::now());
        }
        assert!(!h.selectable(Instant::now()));
        advance(POLICY.cool_down).await;
        assert!(h.selectable(Instant::now()), "due for its probe");
        let Admission::Probe(probe) = h.admit(Instant::now()) else { panic!("probe expected") };
        assert!(!h.selectable(Instant::now()), "another request is probing it");
        h.settle(probe, true, &POLICY, Instant::now());
        assert!(h.selectable(Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_restarts_the_cool_down() {
        let h = Health::default();
        for _ in 0..3 {
            h.failed(&POLICY, Instant::now());
        }
        advance(Duration::from_secs(10)).await;
        let Admission::Probe(probe) = h.admit(Instant::now()) else { panic!("probe expected") };
        assert_eq!(
            h.settle(probe, false, &POLICY, Instant::now()),
            Some(Change::Unhealthy { failures: 4, retry_in: Duration::from_secs(10) })
        );
        advance(Duration::from_secs(5)).await;
        assert_eq!(admitted(&h), "no", "the cool-down started again at the failed probe");
        advance(Duration::from_secs(5)).await;
        assert_eq!(admitted(&h), "probe");
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_probe_lets_the_next_request_probe() {
        let h = Health::default();
        for _ in 0..3 {
            h.failed(&POLICY, Instant::now());
        }
        advance(Duration::from_secs(10)).await;
        let Admission::Probe(probe) = h.admit(Instant::now()) else { panic!("probe expected") };
        drop(probe);
        assert_eq!(admitted(&h), "probe");
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_streak() {
        let h = Health::default();
        h.failed(&POLICY, Instant::now());
        h.failed(&POLICY, Instant::now());
        assert_eq!(h.succeeded(), None);
        assert_eq!(h.failed(&POLICY, Instant::now()), Some(Change::Failing { failures: 1, threshold: 3 }));
        let off = Policy { failures: 0, ..POLICY };
        for _ in 0..10 {
            assert_eq!(h.failed(&off, Instant::now()), None, "passive checks turned off");
        }
        assert_eq!(admitted(&h), "yes");
    }

    #[tokio::test(start_paused = true)]
    async fn a_straggler_answer_ends_a_streak_but_does_not_heal() {
        let h = Health::default();
        h.failed(&POLICY, Instant::now());
        h.answered();
        assert_eq!(h.view(Instant::now()), View::Healthy { failures: 0 });
        for _ in 0..3 {
            h.failed(&POLICY, Instant::now());
        }
        h.answered();
        assert!(!h.is_healthy(), "ejected until a probe or a last-resort attempt succeeds");
        assert!(matches!(h.view(Instant::now()), View::Unhealthy { failures: 3, .. }), "the streak is kept");
        assert_eq!(h.succeeded(), Some(Change::Healthy));
    }

    #[tokio::test(start_paused = true)]
    async fn active_checks_need_consecutive_passes_to_heal() {
        let h = Health::default();
        let policy = Policy { failures: 2, cool_down: Duration::from_secs(60) };
        h.failed(&policy, Instant::now());
        assert!(matches!(h.failed(&policy, Instant::now()), Some(Change::Unhealthy { .. })));
        assert_eq!(h.check_passed(2), None);
        h.failed(&policy, Instant::now());
        assert_eq!(h.check_passed(2), None, "a failure in between restarts the count");
        assert_eq!(h.check_passed(2), Some(Change::Healthy));
        assert!(h.is_healthy());
    }

    #[tokio::test(start_paused = true)]
    async fn exactly_one_of_many_concurrent_requests_gets_the_probe() {
        let h = Arc::new(Health::default());
        for _ in 0..3 {
            h.failed(&POLICY, Instant::now());
        }
        advance(Duration::from_secs(10)).await;
        // Plain threads see no paused clock, so they share one reading of it.
        let now = Instant::now();
        let probes: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let h = Arc::clone(&h);
                    s.spawn(move || (0..1000).filter(|_| admitted_at(&h, now) == "probe").count())
                })
                .collect();
            handles.into_iter().map(|t| t.join().unwrap()).sum()
        });
        assert_eq!(probes, 1);
    }
}
