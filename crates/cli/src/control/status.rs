//! `roundabout status`: Listeners, Targets and Upstreams with health and counts from the running instance, or what
//! the config file holds when nothing runs.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use roundabout_engine::control::{Reply, Request};
use roundabout_engine::{Config, ConfigStore, ListenerState, Serves, Status};

use crate::print;

/// Prints the status (as one JSON object with `--json`).
pub async fn run(config: Option<PathBuf>, json: bool) -> ExitCode {
    let path = match crate::config_path(config) {
        Ok((path, _)) => path,
        Err(e) => return crate::fail(&e),
    };
    let running = match super::connect(&path).await {
        Ok(running) => running,
        Err(e) => return crate::fail(&e),
    };
    let Some((mut client, instance)) = running else {
        let config = match ConfigStore::new(&path).load().await {
            Ok(config) => config,
            Err(e) => return crate::fail(&e.to_string()),
        };
        if json {
            let out = serde_json::json!({"running": false, "config_file": path, "config": config});
            print::out(&out.to_string());
        } else {
            print::out(&super::not_running(&path));
            if let Some(config) = config {
                print::out(&configured(&config));
            }
        }
        return ExitCode::SUCCESS;
    };
    let status = match client.call(&Request::Status).await {
        Ok(Reply::Status { status }) => status,
        Ok(other) => return crate::fail(&format!("unexpected answer to status: {other:?}")),
        Err(e) => return crate::fail(&e.to_string()),
    };
    if json {
        print::out(&serde_json::json!({"running": true, "instance": instance, "status": status}).to_string());
    } else {
        print::out(&format!("Roundabout {} ({instance}) serving {}", instance.version, instance.config.display()));
        print::out(&text(&status));
    }
    ExitCode::SUCCESS
}

/// The running state in lines: Listeners, then each Target with its Upstreams (and, where a Target has several, the
/// link that pins a browser to each).
pub fn text(status: &Status) -> String {
    let mut out = String::from("Listeners:");
    for l in &status.listeners {
        let state = match (l.enabled, l.state) {
            (false, _) => "off".to_owned(),
            (true, ListenerState::Running) => format!("running on {}", l.addresses.join(", ")),
            (true, ListenerState::Stopped) => "stopped".to_owned(),
            (true, ListenerState::Failed) => format!("failed: {}", l.error.as_deref().unwrap_or("unknown")),
        };
        let kind = match l.serves {
            Serves::Http => "http",
            Serves::Https => "https",
            Serves::RedirectToHttps => "http → https",
        };
        let _ = write!(out, "\n  {} ({kind}) {state}", l.name);
    }
    out.push_str("\nTargets:");
    if status.targets.is_empty() {
        out.push_str("\n  none");
    }
    for t in &status.targets {
        let origin = if t.builtin {
            " [demo]"
        } else if t.live {
            " [live: roundabout run]"
        } else {
            ""
        };
        let _ = write!(out, "\n  {} {} {}{origin}", t.name, t.matcher, t.strategy);
        for u in &t.upstreams {
            let plural = if u.requests == 1 { "" } else { "s" };
            let _ = write!(out, "\n    {} {} {} request{plural}", u.url, u.health, u.requests);
            if u.failures > 0 {
                let _ = write!(out, ", {} failed", u.failures);
            }
            if let Some(live) = &u.live {
                let branch = live.branch.as_deref().map(|b| format!(", branch {b}")).unwrap_or_default();
                let _ = write!(out, " [live: {} (pid {}) in {}{branch}]", live.command, live.pid, live.cwd);
            }
            // Pinning is choosing among several: a Target with one Upstream gets no link.
            if let Some(pin) = u.pin_url.as_deref().filter(|_| t.upstreams.len() > 1) {
                let _ = write!(out, "\n      pin this browser: {pin}");
            }
        }
    }
    out
}

/// The config file's Listeners and Targets, when nothing runs.
fn configured(config: &Config) -> String {
    let mut out = String::from("In the config file:\nListeners:");
    for l in &config.listeners {
        let off = if l.enabled { "" } else { " (off)" };
        let _ = write!(out, "\n  {} {}{off}", Config::listener_name(l), l.bind);
    }
    out.push_str("\nTargets:");
    for t in &config.targets {
        let _ = write!(out, "\n  {}", t.name);
        for u in &t.upstreams {
            let off = if u.enabled { "" } else { " (disabled)" };
            let _ = write!(out, "\n    {}{off}", u.url);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// An Upstream of the status, with its pin link.
    fn upstream(port: u16) -> serde_json::Value {
        json!({"url": format!("http://localhost:{port}"), "label": format!("localhost:{port}"), "enabled": true,
               "weight": 1, "health": {"state": "healthy"}, "open_connections": 0, "requests": 2, "failures": 0,
               "in_flight": 0, "last_status": 200, "last_latency_us": 10, "loops_back": false, "live": null,
               "pin_url": format!("http://app.localhost:8800/.roundabout/pin?target=app&upstream={port}")})
    }

    #[test]
    fn targets_with_several_upstreams_show_a_pin_link_for_each() {
        let target = |name: &str, upstreams: Vec<serde_json::Value>| {
            json!({"name": name, "matcher": "app.localhost", "builtin": false, "live": false,
                   "strategy": "round_robin", "upstreams": upstreams, "unpin_url": null})
        };
        let status: Status = serde_json::from_value(json!({"listeners": [], "log_readers": 0, "targets": [
            target("app", vec![upstream(3000), upstream(3001)]), target("one", vec![upstream(4000)])
        ]}))
        .unwrap();
        let text = text(&status);
        assert!(text.contains("localhost:3000 healthy 2 requests\n      pin this browser: http://app.localhost:8800/.roundabout/pin?target=app&upstream=3000"), "{text}");
        assert!(text.contains("upstream=3001"), "{text}");
        assert!(!text.contains("upstream=4000"), "one Upstream: nothing to choose: {text}");
    }
}
