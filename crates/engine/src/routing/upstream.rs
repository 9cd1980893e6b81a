//! One Upstream: a backend URL, whether it takes requests, its live counters and its health.
//!
//! Counters and health live behind `Arc`s that survive config reloads (carried over by Target and URL), so the
//! desktop app's distribution bars do not reset, and an ejected Upstream stays ejected, when the user edits
//! something unrelated.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::affinity::UpstreamId;
use crate::config::UpstreamUrl;
use crate::event::LiveUpstream;
use crate::health::Health;
use crate::upstream::ConnectionPool;

/// Counters of one Upstream, updated lock-free from the request path.
#[derive(Debug, Default)]
pub struct UpstreamStats {
    /// Responses received from this Upstream.
    requests: AtomicU64,
    /// Attempts that failed before a response (refused, reset, timed out).
    failures: AtomicU64,
    /// Status of the most recent response; 0 before the first.
    last_status: AtomicU64,
    /// Latency of the most recent response in microseconds.
    last_latency_us: AtomicU64,
    /// Requests sent and not finished: waiting for the response head or still streaming the body.
    in_flight: AtomicU64,
    /// Upgraded connections (WebSocket, HMR) still open.
    tunnels: AtomicU64,
}

/// A consistent-enough copy of the counters for status and the UI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Responses received.
    pub requests: u64,
    /// Failed attempts.
    pub failures: u64,
    /// Most recent status, if any.
    pub last_status: Option<u16>,
    /// Most recent latency, if any.
    pub last_latency_us: Option<u64>,
    /// Requests waiting for a response head or still streaming its body.
    pub in_flight: u64,
    /// Upgraded connections still open.
    pub tunnels: u64,
}

impl StatsSnapshot {
    /// What a draining Upstream still has open: in-flight requests plus upgraded connections.
    pub fn open(&self) -> u64 {
        self.in_flight + self.tunnels
    }
}

impl UpstreamStats {
    /// Marks a request as sent; the guard un-marks it however the attempt ends.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Relaxed);
        InFlight(Arc::clone(self))
    }

    /// Marks an upgraded connection as open; the guard closes it. Held by the tunnel task, so a disabled
    /// Upstream shows as draining until its WebSockets end.
    pub fn begin_tunnel(self: &Arc<Self>) -> OpenTunnel {
        self.tunnels.fetch_add(1, Relaxed);
        OpenTunnel(Arc::clone(self))
    }

    /// In-flight requests plus open tunnels, for least-connections balancing.
    pub fn open(&self) -> u64 {
        self.in_flight.load(Relaxed) + self.tunnels.load(Relaxed)
    }

    /// Records a response head.
    pub fn record_response(&self, status: u16, latency: Duration) {
        self.requests.fetch_add(1, Relaxed);
        self.last_status.store(u64::from(status), Relaxed);
        self.last_latency_us.store(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// Records an attempt that got no response.
    pub fn record_failure(&self) {
        self.failures.fetch_add(1, Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let requests = self.requests.load(Relaxed);
        let status = self.last_status.load(Relaxed);
        StatsSnapshot {
            requests,
            failures: self.failures.load(Relaxed),
            last_status: u16::try_from(status).ok().filter(|s| *s != 0),
            last_latency_us: (requests > 0).then(|| self.last_latency_us.load(Relaxed)),
            in_flight: self.in_flight.load(Relaxed),
            tunnels: self.tunnels.load(Relaxed),
        }
    }
}

/// Decrements the in-flight count when dropped (at the end of the response body).
#[derive(Debug)]
pub struct InFlight(Arc<UpstreamStats>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

/// Decrements the open-tunnel count when dropped.
#[derive(Debug)]
pub struct OpenTunnel(Arc<UpstreamStats>);

impl Drop for OpenTunnel {
    fn drop(&mut self) {
        self.0.tunnels.fetch_sub(1, Relaxed);
    }
}

/// One backend of a Target, as it is in the current routing snapshot.
#[derive(Debug)]
pub struct Upstream {
    /// The URL exactly as configured (the key that carries counters across reloads).
    pub url: Arc<str>,
    /// Its name in pin links and affinity cookies (from the URL, so it survives reloads and restarts).
    pub id: UpstreamId,
    /// The URL taken apart: where to connect, and the path and query to join with each request's.
    pub address: UpstreamUrl,
    /// Short label for the log, e.g. `127.0.0.1:3001`.
    pub label: Arc<str>,
    /// False when the user disabled it: listed, but sent nothing.
    pub enabled: bool,
    /// Share for weighted round-robin (1 unless configured).
    pub weight: u32,
    /// True when this URL points at one of Roundabout's own Listeners, which would loop forever.
    pub loops_back: bool,
    /// Live counters.
    pub stats: Arc<UpstreamStats>,
    /// Passive and active health; shared with the active checks that feed it.
    pub health: Arc<Health>,
    /// Keep-alive connections to this Upstream's origin (shared by every Upstream with the same origin, and kept
    /// across reloads).
    pub connections: Arc<ConnectionPool>,
    /// What started it, when it is a live Upstream (joined while it runs, not in the config).
    pub live: Option<Arc<LiveUpstream>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_in_flight_guard() {
        let stats = Arc::new(UpstreamStats::default());
        assert_eq!(stats.snapshot(), StatsSnapshot::default());
        let guard = stats.begin();
        assert_eq!(stats.snapshot().in_flight, 1);
        stats.record_response(204, Duration::from_micros(1500));
        drop(guard);
        let tunnel = stats.begin_tunnel();
        assert_eq!((stats.open(), stats.snapshot().tunnels), (1, 1));
        drop(tunnel);
        stats.record_failure();
        let s = stats.snapshot();
        assert_eq!(
            (s.requests, s.failures, s.last_status, s.last_latency_us, s.in_flight),
            (1, 1, Some(204), Some(1500), 0)
        );
    }
}
