//! Resident memory of a proxy (VmRSS from /proc): once idle, and the peak while under load, sampled every 100 ms
//! from a thread so a short spike during a measurement is not missed. nginx counts its master and its workers.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the peak sampler reads /proc.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// VmRSS of one process in KiB; `None` when it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

/// VmRSS of a process plus its direct children (nginx's master and workers), in KiB.
pub fn tree_rss_kib(pid: u32) -> Option<u64> {
    let own = rss_kib(pid)?;
    Some(own + children(pid).into_iter().filter_map(rss_kib).sum::<u64>())
}

/// The direct children of `pid`, found by scanning /proc for their parent id (this kernel may lack
/// /proc/<pid>/task/<tid>/children).
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/status"))
                .ok()
                .and_then(|status| parse_field(&status, "PPid:"))
                .is_some_and(|parent| parent == u64::from(pid))
        })
        .collect()
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    parse_field(status, "VmRSS:")
}

/// The number after `name` in a /proc status file (`VmRSS:    5120 kB` gives 5120).
fn parse_field(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|l| l.strip_prefix(name)).and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Samples a process tree's RSS in the background until stopped, keeping the highest value.
pub struct PeakSampler {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<u64>,
}

impl PeakSampler {
    /// Starts sampling `pid` and its children.
    pub fn start(pid: u32) -> PeakSampler {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut peak = tree_rss_kib(pid).unwrap_or(0);
            // recv_timeout is both the sampling interval and the stop signal.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(SAMPLE_EVERY) {
                peak = peak.max(tree_rss_kib(pid).unwrap_or(0));
            }
            peak.max(tree_rss_kib(pid).unwrap_or(0))
        });
        PeakSampler { stop, thread }
    }

    /// Stops sampling and returns the peak in KiB.
    pub fn finish(self) -> u64 {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or(0)
    }
}

/// KiB as MiB with one decimal, for the report.
#[allow(clippy::cast_precision_loss)] // display only
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_from_a_status_file() {
        let status = "Name:\tnginx\nPPid:\t41\nVmPeak:\t  9000 kB\nVmRSS:\t    5120 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss(status), Some(5120));
        assert_eq!(parse_field(status, "PPid:"), Some(41));
        assert_eq!(parse_vm_rss("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size_and_a_peak() {
        let pid = std::process::id();
        assert!(rss_kib(pid).is_some_and(|kib| kib > 0));
        let peak = PeakSampler::start(pid).finish();
        assert!(peak > 0);
    }
}
