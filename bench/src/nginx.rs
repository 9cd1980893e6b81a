//! nginx as the reference proxy: the same round-robin over the same upstreams, with upstream keepalive, one
//! worker on the proxy CPU, and every file it writes (pid, logs, temp bodies) inside the run's temp directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::pin::Pinning;
use crate::ports;
use crate::process::{Running, Stop};

/// What the report says about the nginx setup, so nobody has to read the config to know what was compared.
pub const SETUP: &str = "nginx: 1 worker, upstream keepalive 64, proxy_http_version 1.1, access_log off, \
                         proxy_buffering on (nginx's default), keepalive_requests 1000000 (client and upstream; \
                         nginx's default of 1000 would make it reconnect)";

/// The nginx binary: on PATH, or in /usr/sbin (not on a non-root user's PATH on Debian).
pub fn binary() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("nginx")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| "nginx is not installed; bench/run installs it (apt-get install nginx-light)".to_string())
}

/// `nginx -v` (it prints to stderr).
pub fn version(binary: &Path) -> String {
    std::process::Command::new(binary)
        .arg("-v")
        .output()
        .map_or_else(|e| format!("nginx -v failed: {e}"), |o| String::from_utf8_lossy(&o.stderr).trim().to_string())
}

/// Writes the config into `dir`, starts nginx (master in the foreground, one worker) on the proxy CPU, and waits
/// until it accepts on `port`. Dropping the result sends SIGQUIT, so the master stops its worker too.
pub fn start(binary: &Path, pinning: &Pinning, dir: &Path, port: u16, upstreams: &[u16]) -> Result<Running, String> {
    let prefix = dir.join("nginx");
    std::fs::create_dir_all(&prefix).map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
    let config_path = prefix.join("nginx.conf");
    std::fs::write(&config_path, config(&prefix, port, upstreams, running_as_root()))
        .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
    let error_log = prefix.join("error.log");
    let mut command = pinning.proxy_command(binary);
    command
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&config_path)
        // The log used before the config is read; the default (/var/log/nginx) is not writable by everyone.
        .arg("-e")
        .arg(&error_log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut process = Running::spawn("nginx", &mut command, Stop::Quit)?;
    ports::wait_listening(port, Duration::from_secs(10), || process.check_alive())
        .map_err(|e| format!("{e}\nnginx's error log:\n{}", std::fs::read_to_string(&error_log).unwrap_or_default()))?;
    Ok(process)
}

/// How many responses nginx spilled to temp files (its default proxy_buffering does so when a client reads
/// slower than the upstream answers and the response exceeds its memory buffers).
pub fn temp_file_spills(dir: &Path) -> usize {
    let log = std::fs::read_to_string(dir.join("nginx").join("error.log")).unwrap_or_default();
    log.lines().filter(|l| l.contains("buffered to a temporary file")).count()
}

/// The nginx config. Run as root, workers default to user `nobody`, which could not use the temp directory; so
/// they stay root (`user root;`) — the directive is only valid when the master runs as root.
fn config(prefix: &Path, port: u16, upstreams: &[u16], as_root: bool) -> String {
    let p = prefix.display();
    let user = if as_root { "user root;\n" } else { "" };
    let servers = upstreams.iter().fold(String::new(), |mut servers, u| {
        let _ = writeln!(servers, "        server 127.0.0.1:{u};");
        servers
    });
    format!(
        "{user}daemon off;
master_process on;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {p}/client_body_temp;
    proxy_temp_path {p}/proxy_temp;
    keepalive_requests 1000000;
    upstream u {{
{servers}        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://u;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }}
        location /ws {{
            proxy_pass http://u;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection \"upgrade\";
            proxy_read_timeout 3600s;
        }}
    }}
}}
"
    )
}

/// Whether this process runs as root (the real user id in /proc/self/status is 0).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").ok().is_some_and(|status| {
        status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().next()) == Some("0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_balances_over_every_upstream_with_keepalive() {
        let text = config(Path::new("/tmp/x"), 8080, &[1, 2, 3], false);
        assert!(text.contains("server 127.0.0.1:1;\n        server 127.0.0.1:2;\n        server 127.0.0.1:3;"));
        assert!(text.contains("keepalive 64;"));
        assert!(text.contains("listen 127.0.0.1:8080;"));
        assert!(text.contains("pid /tmp/x/nginx.pid;"));
        assert!(!text.contains("user root;"));
        assert!(config(Path::new("/tmp/x"), 8080, &[1], true).starts_with("user root;\n"));
    }
}
