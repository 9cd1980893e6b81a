//! Balancer strategies: which enabled Upstream a request tries first.
//!
//! Selection never takes a lock. Round-robin is one atomic add, so it is exact under any concurrency (600
//! concurrent requests over three Upstreams give exactly 200 each). Smooth weighted round-robin walks a cycle
//! precomputed from the weights (nginx's sequence: 5,1,1 gives a a b a c a a) with the same atomic counter, so it
//! is exact too. Least-connections reads each Upstream's open count and breaks ties in turn; random hashes an
//! atomic counter (splitmix64); first-available always starts at the first and lets the Target skip unhealthy ones.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::config::Strategy;

/// A Target's balancer. It is carried across config reloads so rotation continues where it was.
#[derive(Debug)]
pub struct Balancer {
    strategy: Strategy,
    next: AtomicUsize,
    /// State of the random strategy's generator.
    seed: AtomicU64,
}

impl Default for Balancer {
    fn default() -> Self {
        Balancer::new(Strategy::default())
    }
}

impl Balancer {
    /// A balancer that starts at the first Upstream.
    pub fn new(strategy: Strategy) -> Self {
        Balancer {
            strategy,
            next: AtomicUsize::new(0),
            seed: AtomicU64::new(RandomState::new().build_hasher().finish()),
        }
    }

    /// The strategy it implements.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Index (below `count`) of the Upstream to try first.
    ///
    /// `eligible(i)` says whether candidate `i` may be chosen now (healthy, or due for its probe). The choice is
    /// made among the eligible ones only, so while an Upstream is ejected its share is spread evenly over the others
    /// rather than falling to its neighbour in the list (four Upstreams with one ejected: 20/20/20, like nginx).
    /// When none is eligible the choice is made among all (the caller then falls back to unhealthy ones anyway).
    /// `schedule` is the weighted cycle from [`smooth_schedule`] (ignored by other strategies); `load(i)` is the
    /// open connections of candidate `i` (least-connections).
    pub fn first(
        &self,
        count: usize,
        schedule: &[u32],
        eligible: impl Fn(usize) -> bool,
        load: impl Fn(usize) -> u64,
    ) -> usize {
        if count == 0 {
            return 0;
        }
        let usable = (0..count).filter(|i| eligible(*i)).count();
        // Everything (or nothing) is eligible, the common case: choose among all without asking again.
        let all = usable == 0 || usable == count;
        let pick = |i: usize| all || eligible(i);
        match self.strategy {
            Strategy::WeightedRoundRobin if !schedule.is_empty() => {
                let slots = if all { schedule.len() } else { schedule.iter().filter(|i| pick(**i as usize)).count() };
                let turn = self.next.fetch_add(1, Relaxed) % slots.max(1);
                let slot = if all {
                    schedule.get(turn).copied()
                } else {
                    schedule.iter().copied().filter(|i| pick(*i as usize)).nth(turn)
                };
                slot.map_or(0, |i| i as usize % count)
            }
            Strategy::RoundRobin | Strategy::WeightedRoundRobin => {
                let turn = self.next.fetch_add(1, Relaxed);
                if all { turn % count } else { nth((0..count).filter(|i| pick(*i)), turn % usable) }
            }
            Strategy::LeastConnections => {
                let start = self.next.fetch_add(1, Relaxed) % count;
                (0..count).map(|k| (start + k) % count).filter(|i| pick(*i)).min_by_key(|i| load(*i)).unwrap_or(start)
            }
            Strategy::Random => {
                let among = if all { count } else { usable };
                let x = splitmix64(self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed));
                nth((0..count).filter(|i| pick(*i)), usize::try_from(x % among as u64).unwrap_or(0))
            }
            Strategy::FirstAvailable => nth((0..count).filter(|i| pick(*i)), 0),
        }
    }
}

/// The `n`th item, or 0 when there are fewer.
fn nth(mut items: impl Iterator<Item = usize>, n: usize) -> usize {
    items.nth(n).unwrap_or(0)
}

/// nginx's smooth weighted round-robin, unrolled into one full cycle (length = sum of weights): each step adds
/// every weight to its current value, picks the largest (the first on ties) and subtracts the total from it.
pub fn smooth_schedule(weights: &[u32]) -> Vec<u32> {
    let total: i64 = weights.iter().map(|w| i64::from(*w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut cycle = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        let mut best = 0;
        for (i, w) in weights.iter().enumerate() {
            current[i] += i64::from(*w);
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        cycle.push(u32::try_from(best).unwrap_or(0));
    }
    cycle
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn picks(b: &Balancer, n: usize, schedule: &[u32], times: usize) -> Vec<usize> {
        (0..times).map(|_| b.first(n, schedule, |_| true, |_| 0)).collect()
    }

    #[test]
    fn round_robin_starts_at_the_first_and_rotates() {
        let b = Balancer::new(Strategy::RoundRobin);
        assert_eq!(picks(&b, 3, &[], 7), [0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn round_robin_is_exact_across_threads() {
        let b = Arc::new(Balancer::new(Strategy::RoundRobin));
        let counts: Vec<[usize; 3]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    let b = Arc::clone(&b);
                    s.spawn(move || {
                        let mut c = [0; 3];
                        for _ in 0..1000 {
                            c[b.first(3, &[], |_| true, |_| 0)] += 1;
                        }
                        c
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let total = counts.iter().fold([0; 3], |acc, c| [acc[0] + c[0], acc[1] + c[1], acc[2] + c[2]]);
        assert_eq!(total, [2000, 2000, 2000]);
    }

    #[test]
    fn smooth_weighted_round_robin_matches_nginx() {
        assert_eq!(smooth_schedule(&[5, 1, 1]), [0, 0, 1, 0, 2, 0, 0]);
        assert_eq!(smooth_schedule(&[1, 1, 1]), [0, 1, 2]);
        assert_eq!(smooth_schedule(&[2, 1]), [0, 1, 0]);
        let b = Balancer::new(Strategy::WeightedRoundRobin);
        let schedule = smooth_schedule(&[5, 1, 1]);
        assert_eq!(picks(&b, 3, &schedule, 14), [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn least_connections_takes_the_least_loaded_healthy_one_and_rotates_ties() {
        let b = Balancer::new(Strategy::LeastConnections);
        let loads = [2, 1, 0, 1];
        let healthy = |i: usize| i != 2;
        assert_eq!(b.first(4, &[], healthy, |i| loads[i]), 1);
        assert_eq!(b.first(4, &[], healthy, |i| loads[i]), 1);
        assert_eq!(b.first(4, &[], healthy, |i| loads[i]), 3, "the tie is broken in turn");
        assert_eq!(picks(&b, 3, &[], 3), [0, 1, 2]);
        assert!(b.first(2, &[], |_| false, |_| 0) < 2, "nothing healthy still gives a start");
    }

    /// How often each of `n` candidates is picked in `times` requests while only `eligible` ones may be.
    fn spread(
        b: &Balancer,
        n: usize,
        schedule: &[u32],
        eligible: impl Fn(usize) -> bool + Copy,
        times: usize,
    ) -> Vec<usize> {
        let mut counts = vec![0; n];
        for _ in 0..times {
            counts[b.first(n, schedule, eligible, |_| 0)] += 1;
        }
        counts
    }

    #[test]
    fn an_ejected_upstreams_share_is_spread_evenly_over_the_others() {
        let not_second = |i: usize| i != 1;
        let rr = Balancer::new(Strategy::RoundRobin);
        assert_eq!(spread(&rr, 4, &[], not_second, 60), [20, 0, 20, 20]);
        assert_eq!(picks(&rr, 4, &[], 4).len(), 4, "all four again once it is back");
        let weighted = Balancer::new(Strategy::WeightedRoundRobin);
        let schedule = smooth_schedule(&[3, 2, 1, 1]);
        assert_eq!(spread(&weighted, 4, &schedule, not_second, 50), [30, 0, 10, 10], "weights 3:1:1 among the rest");
        assert_eq!(spread(&weighted, 4, &schedule, |_| true, 70), [30, 20, 10, 10]);
        let random = Balancer::new(Strategy::Random);
        let counts = spread(&random, 4, &[], not_second, 30_000);
        assert_eq!(counts[1], 0);
        assert!(counts.iter().enumerate().all(|(i, c)| i == 1 || (9_000..11_000).contains(c)), "{counts:?}");
        let first = Balancer::new(Strategy::FirstAvailable);
        assert_eq!(spread(&first, 3, &[], |i| i != 0, 5), [0, 5, 0], "the first backup takes over");
    }

    #[test]
    fn random_spreads_over_every_upstream() {
        let b = Balancer::new(Strategy::Random);
        let mut counts = [0usize; 4];
        for i in picks(&b, 4, &[], 40_000) {
            counts[i] += 1;
        }
        assert!(counts.iter().all(|c| (9_000..11_000).contains(c)), "{counts:?}");
    }

    #[test]
    fn with_nothing_eligible_the_rotation_goes_on_over_all() {
        let b = Balancer::new(Strategy::RoundRobin);
        let picks: Vec<usize> = (0..4).map(|_| b.first(3, &[], |_| false, |_| 0)).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
        assert_eq!(b.strategy(), Strategy::RoundRobin);
        assert_eq!(Balancer::new(Strategy::Random).strategy(), Strategy::Random);
    }

    #[test]
    fn random_draws_come_from_splitmix64() {
        // The reference outputs of SplitMix64 (Steele, Lea, Flood 2014) for the first seeds of its sequence.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn first_available_always_starts_at_the_first() {
        assert_eq!(picks(&Balancer::new(Strategy::FirstAvailable), 3, &[], 4), [0, 0, 0, 0]);
    }
}
