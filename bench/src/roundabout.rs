//! Roundabout under test: `roundabout serve` on the proxy CPU with a config round-robin over the three upstreams,
//! its request log read and discarded by a driver thread as a terminal would consume it. With HTTPS scenarios the
//! same process has a second Listener with `"tls": true`, its CA in the run's temp directory (`XDG_DATA_HOME`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::pin::Pinning;
use crate::ports;
use crate::process::{Running, Stop};

/// The binary under test: `--roundabout`, or `roundabout` next to this binary (same target directory).
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, String> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?.with_file_name("roundabout")
        }
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} does not exist; build it (cargo build --release -p roundabout) or pass --roundabout",
            path.display()
        ))
    }
}

/// `roundabout --version`.
pub fn version(binary: &Path) -> String {
    std::process::Command::new(binary).arg("--version").output().map_or_else(
        |e| format!("roundabout --version failed: {e}"),
        |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
    )
}

/// Whether this build has `serve --quiet` (no per-request log); older builds are measured with the log on only.
pub fn supports_quiet(binary: &Path) -> bool {
    std::process::Command::new(binary)
        .args(["serve", "--help"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--quiet"))
}

/// What a running `roundabout serve` printed: the request-log lines the driver read, and its stderr.
pub struct ServeOutput {
    log_lines: Arc<AtomicU64>,
    stderr: PathBuf,
}

/// Where a `serve` listens: plain HTTP, and HTTPS with its CA under a data directory.
#[derive(Debug, Clone, Copy)]
pub struct Listeners<'a> {
    /// The plain Listener.
    pub port: u16,
    /// The TLS Listener and the `XDG_DATA_HOME` holding the CA (see `tls::prepare`).
    pub tls: Option<(u16, &'a Path)>,
}

/// Writes a config listening on `listeners` round-robin over `upstreams`, starts `serve` on the proxy CPU and waits
/// until every Listener accepts.
pub fn start(
    binary: &Path,
    pinning: &Pinning,
    dir: &Path,
    listeners: Listeners<'_>,
    upstreams: &[u16],
    quiet: bool,
) -> Result<(Running, ServeOutput), String> {
    let name = if quiet { "roundabout-quiet" } else { "roundabout" };
    let config = dir.join(format!("{name}.json"));
    std::fs::write(&config, config_json(listeners.port, listeners.tls.map(|(port, _)| port), upstreams))
        .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let stderr = dir.join(format!("{name}.stderr"));
    let stderr_file = std::fs::File::create(&stderr).map_err(|e| format!("cannot create {}: {e}", stderr.display()))?;
    let mut command = pinning.proxy_command(binary);
    command.args(["serve", "--config"]).arg(&config).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(stderr_file);
    if quiet {
        command.arg("--quiet");
    }
    if let Some((_, data_home)) = listeners.tls {
        command.env("XDG_DATA_HOME", data_home);
    }
    let mut process = Running::spawn(name, &mut command, Stop::Kill)?;
    let log_lines = Arc::new(AtomicU64::new(0));
    if let Some(stdout) = process.child_mut().stdout.take() {
        let counter = Arc::clone(&log_lines);
        std::thread::spawn(move || count_lines(stdout, &counter));
    }
    let output = ServeOutput { log_lines, stderr };
    for port in std::iter::once(listeners.port).chain(listeners.tls.map(|(port, _)| port)) {
        ports::wait_listening(port, Duration::from_secs(10), || process.check_alive())
            .map_err(|e| format!("{e}\n{name} said:\n{}", output.stderr_text()))?;
    }
    Ok((process, output))
}

/// Reads `from` to its end in large blocks, counting newlines: as cheap a consumer as a terminal can be, so lines
/// Roundabout skips are its own doing.
fn count_lines(mut from: impl Read, counter: &AtomicU64) {
    let mut buffer = vec![0u8; 256 * 1024];
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 {
            break;
        }
        #[allow(clippy::naive_bytecount)] // a few MB/s of log; not worth a dependency
        let lines = buffer[..n].iter().filter(|b| **b == b'\n').count();
        counter.fetch_add(lines as u64, Ordering::Relaxed);
    }
}

impl ServeOutput {
    /// Request-log lines read so far.
    pub fn lines(&self) -> u64 {
        self.log_lines.load(Ordering::Relaxed)
    }

    /// How many request-log lines Roundabout reported skipping because the reader could not keep up.
    pub fn skipped_lines(&self) -> u64 {
        self.stderr_text()
            .lines()
            .filter_map(|l| l.strip_prefix('(')?.split_once(" log lines skipped")?.0.parse::<u64>().ok())
            .sum()
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

/// The config: a Listener on `port` (and an HTTPS one on `tls_port`), one catch-all Target round-robin (the
/// default strategy) over `upstreams`, whatever the Host or server name.
fn config_json(port: u16, tls_port: Option<u16>, upstreams: &[u16]) -> String {
    let upstreams: Vec<_> = upstreams.iter().map(|p| json!({ "url": format!("http://127.0.0.1:{p}") })).collect();
    let mut listeners = vec![json!({ "name": "bench", "bind": format!("127.0.0.1:{port}") })];
    listeners.extend(tls_port.map(|p| json!({ "name": "bench-tls", "bind": format!("127.0.0.1:{p}"), "tls": true })));
    let config = json!({
        "version": 1,
        "listeners": listeners,
        "targets": [{ "name": "bench", "match": {}, "upstreams": upstreams }],
    });
    config.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_across_reads() {
        let counter = AtomicU64::new(0);
        count_lines(&b"GET a -> b 200\nGET c -> d 200\npartial"[..], &counter);
        assert_eq!(counter.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_config_is_one_listener_and_one_round_robin_target() {
        let config: serde_json::Value = serde_json::from_str(&config_json(9000, None, &[9001, 9002, 9003])).unwrap();
        assert_eq!(config["listeners"][0]["bind"], "127.0.0.1:9000");
        assert_eq!(config["listeners"].as_array().map(Vec::len), Some(1));
        assert_eq!(config["targets"][0]["upstreams"][2]["url"], "http://127.0.0.1:9003");
        assert_eq!(config["targets"][0]["match"], json!({}));
        let config: serde_json::Value = serde_json::from_str(&config_json(9000, Some(9443), &[9001])).unwrap();
        assert_eq!(config["listeners"][1], json!({ "name": "bench-tls", "bind": "127.0.0.1:9443", "tls": true }));
    }
}
