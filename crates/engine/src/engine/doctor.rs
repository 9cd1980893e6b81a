//! `roundabout doctor`'s checks: what stands between a user and `https://app.localhost` working, each with what to
//! do about it. Reads only: nothing is started, installed or changed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use crate::config::{BindAddress, Config, UpstreamUrl};
use crate::server::{self, ListenError};
use crate::tls::LocalCa;
use crate::tls::trust::{CaCertificate, TrustState, TrustStores};

/// How long a connection attempt to a Listener or an Upstream may take.
const CONNECT: Duration = Duration::from_millis(500);

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `listener web (127.0.0.1:80)`.
    pub subject: String,
    /// True when all is well.
    pub ok: bool,
    /// What was found, and when not ok, what to do.
    pub finding: String,
}

impl Check {
    fn ok(subject: impl Into<String>, finding: impl Into<String>) -> Self {
        Check { subject: subject.into(), ok: true, finding: finding.into() }
    }

    fn problem(subject: impl Into<String>, finding: impl Into<String>) -> Self {
        Check { subject: subject.into(), ok: false, finding: finding.into() }
    }
}

/// Every check for `config`, with the local CA in `ca_dir` and the trust `stores`.
pub fn diagnose(config: &Config, ca_dir: &Path, stores: &TrustStores) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.extend(config.listeners.iter().filter(|l| l.enabled).map(listener));
    checks.push(standard_ports(config));
    checks.extend(ca(ca_dir, stores));
    checks.push(localhost_resolves());
    for target in &config.targets {
        for upstream in target.upstreams.iter().filter(|u| u.enabled) {
            checks.push(upstream_reachable(&target.name, &upstream.url));
        }
    }
    checks
}

/// Whether something accepts connections on a Listener's address (Roundabout, when it runs).
fn listener(config: &crate::config::ListenerConfig) -> Check {
    let subject = format!("listener {} ({})", Config::listener_name(config), config.bind);
    let Ok(bind) = BindAddress::parse(&config.bind) else {
        return Check::problem(subject, "its bind address is invalid");
    };
    let Some(addr) = bind.addrs.first().copied().filter(|a| a.port() != 0) else {
        return Check::ok(subject, "port 0: a free port is picked when it starts");
    };
    if TcpStream::connect_timeout(&connect_to(addr), CONNECT).is_ok() {
        return Check::ok(subject, "accepting connections");
    }
    match server::bindable(addr) {
        Ok(()) => Check::problem(subject, "nothing listens there: start Roundabout (roundabout serve, or the app)"),
        Err(e) => Check::problem(subject, format!("it cannot start: {e}")),
    }
}

/// An address to connect to for a bound one (an unspecified address means this machine).
fn connect_to(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() { SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port())) } else { addr }
}

/// Whether ports 80 and 443 may be bound, unless the config's Listeners hold them already.
fn standard_ports(config: &Config) -> Check {
    let held = |port: u16| {
        config.listeners.iter().any(|l| {
            l.enabled
                && BindAddress::parse(&l.bind).is_ok_and(|b| b.addrs.iter().any(|a| a.port() == port))
                && TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), CONNECT).is_ok()
        })
    };
    for port in [80, 443] {
        if held(port) {
            continue;
        }
        match server::bindable(SocketAddr::from((Ipv4Addr::LOCALHOST, port))) {
            Ok(()) => {}
            Err(ListenError::InUse(addr)) => {
                return Check::problem(
                    "ports 80 and 443",
                    format!("{addr} is used by another program; stop it, or keep Roundabout on 8800/8443"),
                );
            }
            Err(e) => return Check::problem("ports 80 and 443", e.to_string()),
        }
    }
    Check::ok("ports 80 and 443", "Roundabout may use them: URLs need no port")
}

/// Whether the local CA exists, and which stores trust it.
fn ca(dir: &Path, stores: &TrustStores) -> Vec<Check> {
    let ca = match LocalCa::load(dir) {
        Ok(Some(ca)) => ca,
        Ok(None) => {
            return vec![Check::ok(
                "local CA",
                "not created yet: the first HTTPS Listener creates it (or roundabout ca)",
            )];
        }
        Err(e) => return vec![Check::problem("local CA", e.to_string())],
    };
    let ca = match CaCertificate::read(&ca.cert_file()) {
        Ok(ca) => ca,
        Err(e) => return vec![Check::problem("local CA", format!("cannot read {}: {e}", ca.cert_file().display()))],
    };
    let mut checks = vec![Check::ok("local CA", ca.path.display().to_string())];
    for report in stores.status(&ca) {
        checks.push(match report.state {
            TrustState::Trusted => Check::ok(report.store, "trusts the CA"),
            TrustState::NotTrusted => Check::problem(report.store, "does not trust the CA: run roundabout trust"),
            TrustState::Unavailable(why) => Check::problem(report.store, why),
        });
    }
    checks
}

/// Whether this machine's resolver sends a `*.localhost` name to loopback, as browsers always do (curl, Node and
/// other tools ask the system).
fn localhost_resolves() -> Check {
    let subject = "*.localhost names";
    let resolved = ("roundabout-check.localhost", 80).to_socket_addrs().map(Iterator::collect::<Vec<_>>);
    match resolved {
        Ok(addrs) if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()) => {
            Check::ok(subject, "resolve to this machine")
        }
        Ok(_) => Check::problem(subject, "resolve somewhere else than this machine; check /etc/hosts and your DNS"),
        Err(_) => Check::problem(
            subject,
            "browsers resolve them, but this machine's resolver does not (curl, Node and scripts will fail): install \
             libnss-myhostname (Debian, Ubuntu) or enable systemd-resolved, or list each name in /etc/hosts",
        ),
    }
}

/// Whether an Upstream accepts connections.
fn upstream_reachable(target: &str, url: &str) -> Check {
    let subject = format!("upstream {url} of {target}");
    let Ok(address) = UpstreamUrl::parse(url) else { return Check::problem(subject, "its URL is invalid") };
    let candidates: Vec<SocketAddr> = if address.host == "localhost" || address.host.ends_with(".localhost") {
        vec![
            SocketAddr::from((Ipv4Addr::LOCALHOST, address.port)),
            SocketAddr::from((IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), address.port)),
        ]
    } else {
        (address.host.as_str(), address.port).to_socket_addrs().map(Iterator::collect).unwrap_or_default()
    };
    if candidates.iter().any(|a| TcpStream::connect_timeout(a, CONNECT).is_ok()) {
        Check::ok(subject, "accepting connections")
    } else {
        Check::problem(subject, format!("nothing answers on port {}: is the dev server running?", address.port))
    }
}
