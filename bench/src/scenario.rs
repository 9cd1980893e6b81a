//! The load shapes the issue asks for: many small keep-alive requests, large bodies, one connection at a time (the
//! latency one hop adds), and WebSocket echo; then HTTPS: HTTP/1.1 over TLS, HTTP/2 over TLS, and a new TLS
//! connection per request. The HTTPS scenarios run against the proxies' TLS Listeners only (the upstreams, hence
//! "direct", speak plain HTTP).

/// How a scenario loads a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// wrk against `path` with this many keep-alive connections.
    Http {
        /// The upstream endpoint, e.g. `/small`.
        path: &'static str,
        /// Concurrent keep-alive connections.
        connections: u32,
    },
    /// `roundabout-bench ws-load` against `/ws` with this many WebSocket connections.
    WebSocket {
        /// Concurrent WebSocket connections.
        connections: u32,
    },
    /// wrk over TLS (HTTP/1.1, keep-alive) against `path` on the TLS port.
    Https {
        /// The upstream endpoint.
        path: &'static str,
        /// Concurrent keep-alive connections.
        connections: u32,
    },
    /// h2load: HTTP/2 over TLS (ALPN h2), `clients` connections each with `streams` concurrent streams.
    H2 {
        /// The upstream endpoint.
        path: &'static str,
        /// Connections.
        clients: u32,
        /// Concurrent streams per connection.
        streams: u32,
    },
    /// `roundabout-bench tls-load`: one new connection and full TLS handshake per request.
    Handshakes {
        /// The upstream endpoint.
        path: &'static str,
        /// Concurrent clients, each with one connection at a time.
        connections: u32,
    },
}

impl Load {
    /// Whether the load goes to a TLS Listener.
    pub fn tls(self) -> bool {
        matches!(self, Load::Https { .. } | Load::H2 { .. } | Load::Handshakes { .. })
    }
}

/// One named scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// The name `--scenario` selects it by.
    pub name: &'static str,
    /// What it measures, for the report.
    pub title: &'static str,
    /// Its load.
    pub load: Load,
}

/// Every scenario, in report order.
pub const ALL: [Scenario; 7] = [
    Scenario {
        name: "small",
        title: "100-byte responses, 64 keep-alive connections",
        load: Load::Http { path: "/small", connections: 64 },
    },
    Scenario {
        name: "64k",
        title: "64 KiB responses, 64 keep-alive connections",
        load: Load::Http { path: "/64k", connections: 64 },
    },
    Scenario {
        name: "one-connection",
        title: "100-byte responses, 1 connection (per-hop latency)",
        load: Load::Http { path: "/small", connections: 1 },
    },
    Scenario {
        name: "websocket",
        title: "WebSocket echo of 100-byte messages, 64 connections",
        load: Load::WebSocket { connections: 64 },
    },
    Scenario {
        name: "https",
        title: "HTTP/1.1 over TLS, 100-byte responses, 64 keep-alive connections",
        load: Load::Https { path: "/small", connections: 64 },
    },
    Scenario {
        name: "h2",
        title: "HTTP/2 over TLS, 100-byte responses, 4 connections x 64 streams",
        load: Load::H2 { path: "/small", clients: 4, streams: 64 },
    },
    Scenario {
        name: "handshakes",
        title: "a new connection and full TLS handshake per request, 100-byte responses, 16 clients",
        load: Load::Handshakes { path: "/small", connections: 16 },
    },
];

/// Whether any of `scenarios` needs the TLS Listeners.
pub fn any_tls(scenarios: &[Scenario]) -> bool {
    scenarios.iter().any(|s| s.load.tls())
}

/// The scenarios named, in report order; all of them when none is named.
pub fn select(names: &[String]) -> Result<Vec<Scenario>, String> {
    if let Some(unknown) = names.iter().find(|n| !ALL.iter().any(|s| s.name == n.as_str())) {
        let known: Vec<&str> = ALL.iter().map(|s| s.name).collect();
        return Err(format!("unknown scenario {unknown}; known: {}", known.join(", ")));
    }
    Ok(ALL.into_iter().filter(|s| names.is_empty() || names.iter().any(|n| n == s.name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_keeps_report_order_and_rejects_unknown_names() {
        assert_eq!(select(&[]).unwrap().len(), 7);
        assert!(any_tls(&select(&[]).unwrap()));
        assert!(!any_tls(&select(&["small".into(), "websocket".into()]).unwrap()));
        let picked = select(&["websocket".into(), "small".into()]).unwrap();
        assert_eq!(picked.iter().map(|s| s.name).collect::<Vec<_>>(), ["small", "websocket"]);
        assert!(select(&["huge".into()]).unwrap_err().contains("known: small, 64k"));
    }
}
