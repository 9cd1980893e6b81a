//! nginx as the reference proxy: the same round-robin over the same upstreams, with upstream keepalive, one
//! worker on the proxy CPU, and every file it writes (pid, logs, temp bodies) inside the run's temp directory.
//! With HTTPS scenarios the same server also listens with TLS, set up as an operator would (Mozilla's
//! "intermediate" settings), with a leaf of the same kind as Roundabout's from Roundabout's own CA.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::pin::Pinning;
use crate::ports;
use crate::process::{Running, Stop};

/// What the report says about the nginx setup, so nobody has to read the config to know what was compared.
pub const SETUP: &str = "nginx: 1 worker, upstream keepalive 256 (idle connections kept: at least the 4 x 64 \
                         concurrent streams of h2, else it would reconnect), proxy_http_version 1.1, access_log off, \
                         proxy_buffering on (nginx's default), keepalive_requests 1000000 (client and upstream; \
                         nginx's default of 1000 would make it reconnect)";

/// What the report says about nginx's HTTPS.
pub const TLS_SETUP: &str = "nginx TLS: the same server block also `listen ... ssl http2` (nginx 1.22 syntax; ALPN h2, \
                             http/1.1), ssl_protocols TLSv1.2 TLSv1.3, ssl_prefer_server_ciphers off, OpenSSL's default \
                             ciphers and curves, ssl_session_cache shared:SSL:10m, ssl_session_timeout 1d, \
                             ssl_session_tickets off (Mozilla intermediate); certificate: an ECDSA P-256 leaf for \
                             bench.localhost signed by Roundabout's CA, minted by the driver (rcgen) like Roundabout's \
                             own, sent without chain as Roundabout sends it";

/// nginx's HTTPS: its port and the leaf it serves.
#[derive(Debug, Clone, Copy)]
pub struct Tls<'a> {
    /// Where it listens with TLS.
    pub port: u16,
    /// The leaf certificate, PEM.
    pub cert: &'a Path,
    /// The leaf's key, PEM.
    pub key: &'a Path,
}

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
/// until it accepts on `port` (and the TLS port). Dropping the result sends SIGQUIT, so the master stops its worker
/// too.
pub fn start(
    binary: &Path,
    pinning: &Pinning,
    dir: &Path,
    (port, tls): (u16, Option<Tls<'_>>),
    upstreams: &[u16],
) -> Result<Running, String> {
    let prefix = dir.join("nginx");
    std::fs::create_dir_all(&prefix).map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
    let config_path = prefix.join("nginx.conf");
    std::fs::write(&config_path, config(&prefix, port, tls, upstreams, running_as_root()))
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
    for port in std::iter::once(port).chain(tls.map(|tls| tls.port)) {
        ports::wait_listening(port, Duration::from_secs(10), || process.check_alive()).map_err(|e| {
            format!("{e}\nnginx's error log:\n{}", std::fs::read_to_string(&error_log).unwrap_or_default())
        })?;
    }
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
fn config(prefix: &Path, port: u16, tls: Option<Tls<'_>>, upstreams: &[u16], as_root: bool) -> String {
    let p = prefix.display();
    let user = if as_root { "user root;\n" } else { "" };
    let tls = tls.map_or(String::new(), |tls| {
        format!(
            "        listen 127.0.0.1:{} ssl http2;
        ssl_certificate {};
        ssl_certificate_key {};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:SSL:10m;
        ssl_session_timeout 1d;
        ssl_session_tickets off;
",
            tls.port,
            tls.cert.display(),
            tls.key.display()
        )
    });
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
{servers}        keepalive 256;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
{tls}        location / {{
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
        let text = config(Path::new("/tmp/x"), 8080, None, &[1, 2, 3], false);
        assert!(text.contains("server 127.0.0.1:1;\n        server 127.0.0.1:2;\n        server 127.0.0.1:3;"));
        assert!(text.contains("keepalive 256;"));
        assert!(text.contains("listen 127.0.0.1:8080;\n        location / {"));
        assert!(text.contains("pid /tmp/x/nginx.pid;"));
        assert!(!text.contains("user root;"));
        assert!(!text.contains("ssl"));
        assert!(config(Path::new("/tmp/x"), 8080, None, &[1], true).starts_with("user root;\n"));
    }

    #[test]
    fn the_tls_listener_is_in_the_same_server() {
        let tls = Tls { port: 8443, cert: Path::new("/tmp/x/leaf.pem"), key: Path::new("/tmp/x/key.pem") };
        let text = config(Path::new("/tmp/x"), 8080, Some(tls), &[1], false);
        assert!(text.contains("listen 127.0.0.1:8080;\n        listen 127.0.0.1:8443 ssl http2;\n"));
        assert!(text.contains("ssl_certificate /tmp/x/leaf.pem;\n        ssl_certificate_key /tmp/x/key.pem;\n"));
        assert!(text.contains("ssl_protocols TLSv1.2 TLSv1.3;"));
        assert!(text.contains("ssl_session_cache shared:SSL:10m;"));
    }
}
