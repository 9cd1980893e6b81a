//! CPU pinning: on a small machine the proxy and the load generator fight for the same cores, and the result
//! depends on the scheduler more than on the proxy. Pinning the proxy to one core and everything else (load
//! generators, upstreams, this driver) to another makes runs comparable; `taskset` does it without unsafe code.

use std::process::{Command, Stdio};

/// Which CPU each side runs on; `None` means unpinned (fewer than two usable CPUs, or no `taskset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinning {
    /// The CPU of the proxy under test (Roundabout, nginx).
    pub proxy: Option<u32>,
    /// The CPU of the upstreams, the load generators and the driver.
    pub load: Option<u32>,
}

impl Pinning {
    /// Picks the first two CPUs this process may use, when there are two and `taskset` exists.
    pub fn detect() -> Pinning {
        let cpus = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                    .map(|list| parse_cpu_list(list.trim()))
            })
            .unwrap_or_default();
        match cpus.as_slice() {
            [proxy, load, ..] if has_taskset() => Pinning { proxy: Some(*proxy), load: Some(*load) },
            _ => Pinning { proxy: None, load: None },
        }
    }

    /// A command for `program` on the proxy's CPU.
    pub fn proxy_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        pinned(self.proxy, program)
    }

    /// A command for `program` on the load CPU.
    pub fn load_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        pinned(self.load, program)
    }

    /// Moves this process (before it starts any thread) to the load CPU, so the driver's own work, such as
    /// reading the proxy's request log, does not land on the proxy's core. Threads started later inherit it.
    pub fn pin_self(&self) -> Result<(), String> {
        let Some(cpu) = self.load else { return Ok(()) };
        let status = Command::new("taskset")
            .args(["-a", "-pc", &cpu.to_string(), &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run taskset: {e}"))?;
        if status.success() { Ok(()) } else { Err(format!("taskset could not pin this process to CPU {cpu}")) }
    }

    /// The line the report starts with, saying exactly how the run was pinned.
    pub fn describe(&self) -> String {
        match (self.proxy, self.load) {
            (Some(proxy), Some(load)) => format!(
                "proxy pinned to CPU {proxy}; upstreams, load generators and this driver pinned to CPU {load} (taskset)"
            ),
            _ => "NOT pinned: fewer than 2 usable CPUs or no taskset; proxy and load generator share the CPUs, \
                  so ratios are less reliable"
                .to_string(),
        }
    }
}

fn pinned(cpu: Option<u32>, program: impl AsRef<std::ffi::OsStr>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn has_taskset() -> bool {
    Command::new("taskset").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Parses a kernel CPU list such as `0-3,8,10-11`.
fn parse_cpu_list(list: &str) -> Vec<u32> {
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => {
                if let (Ok(from), Ok(to)) = (from.parse::<u32>(), to.parse::<u32>()) {
                    cpus.extend(from..=to);
                }
            }
            None => cpus.extend(part.parse::<u32>().ok()),
        }
    }
    cpus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_like_the_kernel_writes_them() {
        assert_eq!(parse_cpu_list("0-1"), vec![0, 1]);
        assert_eq!(parse_cpu_list("0"), vec![0]);
        assert_eq!(parse_cpu_list("2,4-6,9"), vec![2, 4, 5, 6, 9]);
        assert_eq!(parse_cpu_list(""), Vec::<u32>::new());
    }

    #[test]
    fn unpinned_commands_run_the_program_itself() {
        let pinning = Pinning { proxy: None, load: None };
        assert_eq!(pinning.proxy_command("nginx").get_program(), "nginx");
        let pinning = Pinning { proxy: Some(0), load: Some(1) };
        let command = pinning.load_command("wrk");
        assert_eq!(command.get_program(), "taskset");
        assert_eq!(command.get_args().collect::<Vec<_>>(), ["-c", "1", "wrk"]);
    }
}
