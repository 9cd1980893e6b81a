//! Discovery: the dev servers already listening on this machine's loopback that no Target uses yet, so the app
//! and `roundabout discover` can offer them with one click instead of a typed port.
//!
//! Which process listens where comes from the `listeners` crate (Linux `/proc`, macOS `libproc`, Windows IP
//! Helper: the platform-specific part lives there); the command line and working directory from `sysinfo`. Only the
//! user's own processes are readable, so only they are listed. `project.rs` turns a directory into a Target name.

mod project;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use crate::config::Config;
use crate::engine::Status;

pub use project::{Project, host_label, project_of};

/// A dev server listening on loopback that no Target uses yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DevServer {
    /// Where it listens, e.g. `127.0.0.1:5173` or `[::1]:3000`.
    pub address: String,
    /// Its port.
    pub port: u16,
    /// The URL to use as an Upstream, e.g. `http://localhost:5173` or `http://[::1]:3000`.
    pub url: String,
    /// The process id.
    pub pid: u32,
    /// The process name, e.g. `node`.
    pub process: String,
    /// Its command line, when readable.
    pub command: Option<String>,
    /// Its working directory, when readable.
    pub cwd: Option<String>,
    /// A Target name to suggest: package.json's name or the directory's.
    pub suggested_name: String,
}

/// Why the listening sockets could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("could not list the programs listening on this machine ({0}); type the dev server's URL instead")]
pub struct DiscoverError(String);

/// What Roundabout already uses, so discovery leaves it out.
#[derive(Debug, Clone, Default)]
pub struct InUse {
    /// The Upstream URLs of every Target, configured or live.
    pub upstreams: Vec<String>,
    /// The ports Roundabout's own Listeners are bound to.
    pub listener_ports: Vec<u16>,
}

impl InUse {
    /// What a running instance uses: every Upstream (live ones too) and every bound Listener.
    pub fn of_status(status: &Status) -> InUse {
        InUse {
            upstreams: status.targets.iter().flat_map(|t| &t.upstreams).map(|u| u.url.clone()).collect(),
            listener_ports: status
                .listeners
                .iter()
                .flat_map(|l| &l.addresses)
                .filter_map(|a| a.parse::<SocketAddr>().ok())
                .map(|a| a.port())
                .collect(),
        }
    }

    /// What a config file routes to, when nothing runs it.
    pub fn of_config(config: &Config) -> InUse {
        let upstreams = config.targets.iter().flat_map(|t| &t.upstreams).map(|u| u.url.clone()).collect();
        InUse { upstreams, listener_ports: Vec::new() }
    }
}

/// Lists the loopback dev servers of the user's processes, except this process and what `in_use` names. Sorted by
/// port. Blocking: it reads the process table.
pub fn discover(in_use: &InUse) -> Result<Vec<DevServer>, DiscoverError> {
    let sockets = listeners::get_all().map_err(|e| DiscoverError(e.to_string()))?;
    let own = std::process::id();
    let mut used = used_ports(&in_use.upstreams);
    used.extend_from_slice(&in_use.listener_ports);
    let mut found: BTreeMap<(u16, u32), (SocketAddr, String)> = BTreeMap::new();
    for socket in sockets {
        let addr = socket.socket;
        let listening = socket.protocol == listeners::Protocol::TCP
            && socket.state == listeners::SocketState::Listen
            && reachable_on_loopback(addr.ip());
        if !listening || socket.process.pid == own || used.contains(&addr.port()) {
            continue;
        }
        let entry = found.entry((addr.port(), socket.process.pid)).or_insert((addr, socket.process.name.clone()));
        if preference(addr.ip()) < preference(entry.0.ip()) {
            entry.0 = addr;
        }
    }
    let mut system = System::new();
    let pids: Vec<Pid> = found.keys().map(|&(_, pid)| Pid::from_u32(pid)).collect();
    let what = ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always).with_cwd(UpdateKind::Always);
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&pids), true, what);
    Ok(found
        .into_iter()
        .map(|((port, pid), (addr, name))| {
            let process = system.process(Pid::from_u32(pid));
            let command = process.map(|p| p.cmd().iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
            let cwd = process.and_then(|p| p.cwd()).map(Path::to_path_buf);
            let suggested_name = match &cwd {
                Some(dir) => project_of(dir).name,
                None => host_label(&name),
            };
            DevServer {
                address: addr.to_string(),
                port,
                url: upstream_url(addr),
                pid,
                process: name,
                command: command.filter(|c| !c.is_empty()),
                cwd: cwd.map(|d| d.display().to_string()),
                suggested_name,
            }
        })
        .collect())
}

/// Whether a socket bound to `ip` answers connections to loopback: a loopback address, or every address.
fn reachable_on_loopback(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified() || ip.to_canonical().is_loopback()
}

/// Which address to show for a server bound on several: IPv4 loopback, IPv6 loopback, then the wildcards.
fn preference(ip: IpAddr) -> u8 {
    match ip.to_canonical() {
        IpAddr::V4(v4) if v4.is_loopback() => 0,
        IpAddr::V6(v6) if v6.is_loopback() => 1,
        _ => 2,
    }
}

/// The URL that reaches a server bound to `addr` exactly: its own loopback address (a server on `::1` only is not
/// reached through `127.0.0.1`), or `localhost` for a server bound on every address.
fn upstream_url(addr: SocketAddr) -> String {
    match addr.ip().to_canonical() {
        ip if ip.is_unspecified() => format!("http://localhost:{}", addr.port()),
        IpAddr::V4(v4) => format!("http://{v4}:{}", addr.port()),
        IpAddr::V6(v6) => format!("http://[{v6}]:{}", addr.port()),
    }
}

/// The loopback ports the given Upstream URLs reach (`localhost`, `127.x.y.z`, `[::1]`, with the scheme's port when
/// none is written).
fn used_ports(urls: &[String]) -> Vec<u16> {
    urls.iter()
        .filter_map(|url| {
            let uri: http::Uri = url.parse().ok()?;
            let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
            let local = host.eq_ignore_ascii_case("localhost")
                || host.to_ascii_lowercase().ends_with(".localhost")
                || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            let default = if uri.scheme_str() == Some("https") { 443 } else { 80 };
            local.then(|| uri.port_u16().unwrap_or(default))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_url_reaches_the_address_the_server_is_bound_to() {
        assert_eq!(upstream_url("127.0.0.1:5173".parse().unwrap()), "http://127.0.0.1:5173");
        assert_eq!(upstream_url("[::1]:3000".parse().unwrap()), "http://[::1]:3000");
        assert_eq!(upstream_url("0.0.0.0:8000".parse().unwrap()), "http://localhost:8000");
        assert_eq!(upstream_url("[::]:8000".parse().unwrap()), "http://localhost:8000");
        assert_eq!(upstream_url("[::ffff:127.0.0.1]:9".parse().unwrap()), "http://127.0.0.1:9");
    }

    #[test]
    fn only_loopback_and_wildcard_sockets_are_reachable_on_loopback() {
        for ip in ["127.0.0.1", "127.3.2.1", "::1", "0.0.0.0", "::", "::ffff:127.0.0.1"] {
            assert!(reachable_on_loopback(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["192.168.1.4", "10.0.0.1", "fe80::1"] {
            assert!(!reachable_on_loopback(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn ipv4_loopback_is_shown_before_ipv6_and_the_wildcards() {
        let order: Vec<u8> =
            ["127.0.0.1", "::1", "0.0.0.0", "::"].iter().map(|ip| preference(ip.parse().unwrap())).collect();
        assert_eq!(order, [0, 1, 2, 2]);
    }

    #[test]
    fn upstreams_on_loopback_mark_their_ports_used() {
        let urls = [
            "http://localhost:3000",
            "http://127.0.0.1:4000/api",
            "http://[::1]:5000",
            "http://web.localhost",
            "https://localhost",
            "http://example.com:6000",
            "http://192.168.1.9:7000",
        ]
        .map(String::from);
        assert_eq!(used_ports(&urls), [3000, 4000, 5000, 80, 443]);
    }
}
