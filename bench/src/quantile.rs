//! Latency percentiles for the load generators, taken the same way everywhere so their figures compare.

/// The q-quantile (0..=1) of ascending samples by nearest rank; 0 when there are none.
pub fn nearest_rank(ascending: &[u32], q: f64) -> u32 {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)] // q in 0..=1
    let rank = (q * ascending.len() as f64).ceil() as usize;
    ascending.get(rank.saturating_sub(1)).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(nearest_rank(&samples, 0.50), 50);
        assert_eq!(nearest_rank(&samples, 0.99), 99);
        assert_eq!(nearest_rank(&[7], 0.0), 7);
        assert_eq!(nearest_rank(&[7], 0.99), 7);
        assert_eq!(nearest_rank(&[], 0.5), 0);
    }
}
