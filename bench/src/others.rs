//! CPU used by processes that are not part of the benchmark during a measurement. On a small shared machine a
//! compile starting next to the run halves a subject's numbers; such a measurement is marked disturbed (invalid)
//! and left out of the medians instead of silently skewing a ratio.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::measurement::DISTURBED;

/// Jiffies per second in /proc/<pid>/stat (USER_HZ, 100 on Linux whatever the kernel's HZ).
const USER_HZ: f64 = 100.0;
/// Above this share of one CPU used by other processes, a measurement is disturbed.
const DISTURBED_PERCENT: f64 = 10.0;

/// One process as /proc/<pid>/stat shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Process {
    name: String,
    parent: u32,
    jiffies: u64,
}

/// The CPU time of every process at the start of a measurement.
pub struct Snapshot {
    at: Instant,
    processes: HashMap<u32, Process>,
}

/// Waits, up to `at_most`, until other processes have been quiet for a second, so a measurement does not
/// start in the middle of someone's compile; says once what it is waiting for. Returns how long it waited.
pub fn wait_for_quiet(at_most: Duration) -> Duration {
    let started = Instant::now();
    let mut said = false;
    loop {
        let snapshot = Snapshot::take();
        // A measurement window, not a synchronisation.
        std::thread::sleep(Duration::from_secs(1));
        let Some(disturbance) = snapshot.disturbance() else { return started.elapsed() };
        if started.elapsed() >= at_most {
            eprintln!("still {disturbance} after {at_most:?}; measuring anyway");
            return started.elapsed();
        }
        if !said {
            eprintln!("waiting for other processes to go quiet ({disturbance})");
            said = true;
        }
    }
}

impl Snapshot {
    /// Reads every process's CPU time now.
    pub fn take() -> Snapshot {
        Snapshot { at: Instant::now(), processes: scan() }
    }

    /// The CPU other processes used since the snapshot, as a problem when it exceeds the limit, e.g.
    /// `disturbed: other processes used 93% of a CPU (rustc)`.
    pub fn disturbance(&self) -> Option<String> {
        let now = scan();
        let seconds = self.at.elapsed().as_secs_f64();
        let (percent, top) = foreign_percent(&self.processes, &now, std::process::id(), seconds);
        (percent > DISTURBED_PERCENT)
            .then(|| format!("{DISTURBED} other processes used {percent:.0}% of a CPU ({})", top.unwrap_or_default()))
    }
}

/// Share of one CPU used by processes outside `ours`'s tree and outside the kernel, and the busiest one's name.
fn foreign_percent(
    before: &HashMap<u32, Process>,
    after: &HashMap<u32, Process>,
    ours: u32,
    seconds: f64,
) -> (f64, Option<String>) {
    let mut used: Vec<(u64, &str)> = after
        .iter()
        .filter(|(pid, p)| !is_kernel(**pid, p) && !descends_from(**pid, ours, after))
        .map(|(pid, p)| {
            let earlier = before.get(pid).filter(|b| b.name == p.name).map_or(0, |b| b.jiffies);
            (p.jiffies.saturating_sub(earlier), p.name.as_str())
        })
        .collect();
    used.sort_unstable();
    let total: u64 = used.iter().map(|(j, _)| j).sum();
    #[allow(clippy::cast_precision_loss)] // jiffies
    let percent = if seconds > 0.0 { total as f64 / USER_HZ / seconds * 100.0 } else { 0.0 };
    (percent, used.last().map(|(_, name)| (*name).to_string()))
}

/// Kernel threads (kthreadd and its children) do the system's work, loopback networking included.
fn is_kernel(pid: u32, p: &Process) -> bool {
    pid == 2 || p.parent == 2
}

/// Whether `pid` is `root` or one of its descendants.
fn descends_from(mut pid: u32, root: u32, processes: &HashMap<u32, Process>) -> bool {
    for _ in 0..64 {
        if pid == root {
            return true;
        }
        match processes.get(&pid) {
            Some(p) if p.parent != 0 && p.parent != pid => pid = p.parent,
            _ => return false,
        }
    }
    false
}

fn scan() -> HashMap<u32, Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return HashMap::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parse_stat(&stat)?))
        })
        .collect()
}

/// `pid (name) state ppid … utime stime …`; the name may hold spaces and parentheses, so split at the last `)`.
fn parse_stat(stat: &str) -> Option<Process> {
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(Process { name, parent: u32::try_from(number(1)?).ok()?, jiffies: number(11)? + number(12)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, parent: u32, jiffies: u64) -> Process {
        Process { name: name.into(), parent, jiffies }
    }

    #[test]
    fn stat_lines_parse_even_with_odd_names() {
        let stat = "8911 (rustc) R 8900 8911 1 0 -1 4194560 1 0 0 0 340 100 0 0 20 0 1 0 1 1 1";
        assert_eq!(parse_stat(stat), Some(p("rustc", 8900, 440)));
        let stat = "77 (kworker/u4:1 (x)) I 2 0 0 0 -1 1 0 0 0 0 5 6 0 0 20 0 1 0 1 0 0";
        assert_eq!(parse_stat(stat), Some(p("kworker/u4:1 (x)", 2, 11)));
    }

    #[test]
    fn only_other_user_processes_count() {
        let before = HashMap::from([(10, p("roundabout", 5, 0)), (20, p("rustc", 1, 100)), (30, p("ksoftirqd", 2, 0))]);
        let after = HashMap::from([
            (5, p("roundabout-bench", 1, 0)),
            (10, p("roundabout", 5, 200)),
            (11, p("wrk", 5, 200)),
            (20, p("rustc", 1, 190)),
            (30, p("ksoftirqd", 2, 50)),
            (40, p("cc", 1, 10)),
        ]);
        let (percent, top) = foreign_percent(&before, &after, 5, 1.0);
        assert!((percent - 100.0).abs() < 1e-9, "{percent}");
        assert_eq!(top.as_deref(), Some("rustc"));
    }
}
