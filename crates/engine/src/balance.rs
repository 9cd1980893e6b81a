//! Balancer strategies: which enabled Upstream a request tries first.
//!
//! Selection is one atomic add, so it is exact under any concurrency (600 concurrent requests over three
//! Upstreams give exactly 200 each) and never takes a lock.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::config::Strategy;

/// A Target's balancer. It is carried across config reloads so rotation continues where it was.
#[derive(Debug, Default)]
pub struct Balancer {
    strategy: Strategy,
    next: AtomicUsize,
}

impl Balancer {
    /// A balancer that starts at the first Upstream.
    pub fn new(strategy: Strategy) -> Self {
        Balancer { strategy, next: AtomicUsize::new(0) }
    }

    /// The strategy it implements.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Index (below `count`) of the Upstream to try first; `count` must be non-zero.
    pub fn first(&self, count: usize) -> usize {
        match self.strategy {
            Strategy::RoundRobin => self.next.fetch_add(1, Relaxed) % count.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn round_robin_starts_at_the_first_and_rotates() {
        let b = Balancer::new(Strategy::RoundRobin);
        let picks: Vec<usize> = (0..7).map(|_| b.first(3)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2, 0]);
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
                            c[b.first(3)] += 1;
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
}
