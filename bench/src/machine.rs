//! The machine the numbers come from: kernel, CPU, and how busy it already was, because a compile running next
//! to the benchmark shifts every figure and the report should say so.

use std::time::Duration;

/// `kernel 6.1.0; 2 x AMD EPYC`.
pub fn describe() -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, m)| m.trim()))
        .unwrap_or("unknown CPU");
    let cpus = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    format!("kernel {}; {cpus} x {cpu}", kernel.trim())
}

/// How busy all CPUs were over a short sample before the run (other processes), e.g. `busy before start: 3%`.
pub fn busy_before_start() -> String {
    let before = cpu_times();
    // A measurement window, not a synchronisation.
    std::thread::sleep(Duration::from_millis(500));
    let after = cpu_times();
    match before.zip(after).and_then(|((busy0, total0), (busy1, total1))| {
        let total = total1.checked_sub(total0).filter(|t| *t > 0)?;
        #[allow(clippy::cast_precision_loss)] // jiffies
        Some(busy1.saturating_sub(busy0) as f64 / total as f64 * 100.0)
    }) {
        Some(percent) if percent >= 10.0 => {
            format!("WARNING: the machine was {percent:.0}% busy before the run (other processes); numbers will be off")
        }
        Some(percent) => format!("machine {percent:.0}% busy before the run (other processes)"),
        None => "machine load before the run: unknown (no /proc/stat)".to_string(),
    }
}

/// (busy, total) jiffies over all CPUs from the first line of /proc/stat.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_line(stat.lines().next()?)
}

/// `cpu  user nice system idle iowait irq softirq steal …`: idle and iowait are not busy.
fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let fields: Vec<u64> = line.strip_prefix("cpu ")?.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_total_jiffies_from_proc_stat() {
        assert_eq!(parse_cpu_line("cpu  100 0 50 800 50 0 0 0 0 0"), Some((150, 1000)));
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4"), None);
    }
}
