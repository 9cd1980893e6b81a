//! The pace of the deliberately slow ends of the streaming measurements (a slow download reader, a slow upload
//! sink): slow enough that a proxy in the middle must hold the fast side back, fast enough to finish in a second.

use std::time::Duration;

/// Bytes per second of a slow end: 64 MiB/s, so 64 MiB take about a second (ten RSS samples).
const BYTES_PER_SEC: f64 = 64.0 * 1024.0 * 1024.0;

/// When, counted from the start, a slow end may have handled `bytes`; it waits until then before reading more.
#[allow(clippy::cast_precision_loss)] // byte counts far below 2^52
pub fn due(bytes: u64) -> Duration {
    Duration::from_secs_f64(bytes as f64 / BYTES_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_four_mebibytes_take_a_second() {
        assert_eq!(due(64 * 1024 * 1024), Duration::from_secs(1));
        assert_eq!(due(0), Duration::ZERO);
    }
}
