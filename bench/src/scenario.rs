//! The load shapes the issue asks for: many small keep-alive requests, large bodies, one connection at a time (the
//! latency one hop adds), and WebSocket echo.

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
pub const ALL: [Scenario; 4] = [
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
];

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
        assert_eq!(select(&[]).unwrap().len(), 4);
        let picked = select(&["websocket".into(), "small".into()]).unwrap();
        assert_eq!(picked.iter().map(|s| s.name).collect::<Vec<_>>(), ["small", "websocket"]);
        assert!(select(&["huge".into()]).unwrap_err().contains("known: small, 64k"));
    }
}
