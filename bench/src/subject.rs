//! A subject under measurement: where the load goes (a port) and, for a proxy, the process whose memory is read.
//! Every proxy is started once and stays up for the whole run, so "idle" and "under load" RSS are of one process.

use crate::memory;
use crate::process::Running;

/// Which of the compared setups a subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Straight to the first upstream: the ceiling a proxy is compared with.
    Direct,
    /// `roundabout serve` with the request log on (its stdout read by the driver, as a terminal would).
    Roundabout,
    /// `roundabout serve --quiet`: no per-request log and no request events.
    RoundaboutQuiet,
    /// nginx with the same round-robin and upstream keepalive.
    Nginx,
}

impl Role {
    /// The name in the report's tables.
    pub fn label(self) -> &'static str {
        match self {
            Role::Direct => "direct",
            Role::Roundabout => "roundabout (log on)",
            Role::RoundaboutQuiet => "roundabout --quiet",
            Role::Nginx => "nginx",
        }
    }

    /// The key in `--json` output.
    pub fn key(self) -> &'static str {
        match self {
            Role::Direct => "direct",
            Role::Roundabout => "roundabout",
            Role::RoundaboutQuiet => "roundabout_quiet",
            Role::Nginx => "nginx",
        }
    }
}

/// A running subject.
#[derive(Debug)]
pub struct Subject {
    /// What it is.
    pub role: Role,
    /// The loopback port its plain HTTP load goes to.
    pub port: u16,
    /// The port of its TLS Listener, when the run has HTTPS scenarios (never for direct).
    pub tls_port: Option<u16>,
    /// The proxy process (none for direct: the upstream is shared by everyone).
    pub process: Option<Running>,
}

impl Subject {
    /// RSS of the proxy in KiB, workers included; `None` for direct.
    pub fn rss_kib(&self) -> Option<u64> {
        self.process.as_ref().and_then(|p| memory::tree_rss_kib(p.pid()))
    }

    /// `Err` when the proxy process has died.
    pub fn check_alive(&mut self) -> Result<(), String> {
        self.process.as_mut().map_or(Ok(()), Running::check_alive)
    }
}
