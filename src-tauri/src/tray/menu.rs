//! What the tray menu says, as plain data built from the engine's status: unit-tested here, turned into native
//! menu items by `mod.rs`. Rebuilt whenever it would read differently, so counts and health stay current.

use roundabout_engine::{HealthState, ListenerState, Status, TargetStatus};

/// One entry of the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A line that only informs (a section title, an empty list).
    Label(String),
    /// A line with a check mark that runs `action` when clicked.
    Check {
        /// What it says.
        text: String,
        /// Whether the mark is shown.
        checked: bool,
        /// What a click does.
        action: Action,
    },
    /// A line that runs `action` when clicked.
    Item {
        /// What it says.
        text: String,
        /// What a click does.
        action: Action,
    },
    /// A divider.
    Separator,
}

/// What clicking a tray entry does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start (true) or stop (false) the Listener of this name, and save.
    Listener(String, bool),
    /// Open this URL in the default browser.
    Open(String),
    /// Show the window (creating it again when it was closed).
    Show,
    /// Flip "keep serving when the window closes".
    KeepServing(bool),
    /// Flip "start at login".
    StartAtLogin(bool),
    /// Stop serving and exit.
    Quit,
}

impl Action {
    /// The menu item id that carries this action through the native menu.
    pub fn id(&self) -> String {
        match self {
            Action::Listener(name, on) => format!("listener:{}:{name}", u8::from(*on)),
            Action::Open(url) => format!("open:{url}"),
            Action::Show => "show".into(),
            Action::KeepServing(on) => format!("keep-serving:{}", u8::from(*on)),
            Action::StartAtLogin(on) => format!("start-at-login:{}", u8::from(*on)),
            Action::Quit => "quit".into(),
        }
    }

    /// The action an id stands for (the inverse of [`Action::id`]).
    pub fn from_id(id: &str) -> Option<Action> {
        let flag = |s: &str| match s {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        };
        if let Some(rest) = id.strip_prefix("listener:") {
            let (on, name) = rest.split_once(':')?;
            return Some(Action::Listener(name.to_owned(), flag(on)?));
        }
        if let Some(url) = id.strip_prefix("open:") {
            return Some(Action::Open(url.to_owned()));
        }
        if let Some(on) = id.strip_prefix("keep-serving:") {
            return Some(Action::KeepServing(flag(on)?));
        }
        if let Some(on) = id.strip_prefix("start-at-login:") {
            return Some(Action::StartAtLogin(flag(on)?));
        }
        match id {
            "show" => Some(Action::Show),
            "quit" => Some(Action::Quit),
            _ => None,
        }
    }
}

/// The app's own settings the menu shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Closing the window keeps the proxy serving from the tray.
    pub keep_serving: bool,
    /// The app starts (into the tray) when the user logs in.
    pub start_at_login: bool,
}

/// The whole menu: Listeners (click to start or stop), Targets with their request count and a health dot (click
/// to open the Target in the browser), then the window, the settings and Quit.
pub fn entries(status: &Status, settings: Settings) -> Vec<Entry> {
    let mut out = vec![Entry::Label("Listeners".into())];
    if status.listeners.is_empty() {
        out.push(Entry::Label("  none: add one in the window".into()));
    }
    for l in &status.listeners {
        let running = l.enabled && l.state == ListenerState::Running;
        let state = match (l.enabled, l.state) {
            (false, _) => "off".to_owned(),
            (true, ListenerState::Running) => l.addresses.join(", "),
            (true, ListenerState::Stopped) => "stopping".to_owned(),
            (true, ListenerState::Failed) => "failed: open the window".to_owned(),
        };
        out.push(Entry::Check {
            text: format!("{} — {state}", l.name),
            checked: running,
            action: Action::Listener(l.name.clone(), !l.enabled),
        });
    }
    out.push(Entry::Separator);
    out.push(Entry::Label("Targets".into()));
    if status.targets.is_empty() {
        out.push(Entry::Label("  none: create one in the window".into()));
    }
    for t in &status.targets {
        let requests: u64 = t.upstreams.iter().map(|u| u.requests).sum();
        let plural = if requests == 1 { "" } else { "s" };
        let text = format!("{} {} — {requests} request{plural}", dot(t), t.name);
        out.push(match &t.url {
            Some(url) => Entry::Item { text: format!("{text} — open {url}"), action: Action::Open(url.clone()) },
            None => Entry::Label(text),
        });
    }
    out.push(Entry::Separator);
    out.push(Entry::Item { text: "Show Roundabout".into(), action: Action::Show });
    out.push(Entry::Check {
        text: "Keep serving when the window closes".into(),
        checked: settings.keep_serving,
        action: Action::KeepServing(!settings.keep_serving),
    });
    out.push(Entry::Check {
        text: "Start at login".into(),
        checked: settings.start_at_login,
        action: Action::StartAtLogin(!settings.start_at_login),
    });
    out.push(Entry::Separator);
    out.push(Entry::Item { text: "Quit Roundabout".into(), action: Action::Quit });
    out
}

/// A Target's health at a glance: ● every enabled Upstream takes requests, ◐ some do not, ○ none does.
fn dot(target: &TargetStatus) -> char {
    let enabled: Vec<&HealthState> = target.upstreams.iter().filter(|u| u.enabled).map(|u| &u.health).collect();
    let up = enabled.iter().filter(|h| matches!(h, HealthState::Healthy | HealthState::Failing { .. })).count();
    match (up, enabled.len()) {
        (0, _) => '○',
        (up, all) if up == all => '●',
        _ => '◐',
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn upstream(enabled: bool, health: &serde_json::Value, requests: u64) -> serde_json::Value {
        json!({"url": "http://localhost:3000", "label": "localhost:3000", "enabled": enabled, "weight": 1,
               "health": health, "open_connections": 0, "requests": requests, "failures": 0, "in_flight": 0,
               "last_status": null, "last_latency_us": null, "loops_back": false, "live": null, "pin_url": null})
    }

    fn target(name: &str, url: Option<&str>, upstreams: &[serde_json::Value]) -> serde_json::Value {
        json!({"name": name, "matcher": format!("{name}.localhost"), "builtin": false, "live": false,
               "strategy": "round_robin", "upstreams": upstreams, "unpin_url": null, "url": url})
    }

    fn status() -> Status {
        let healthy = json!({"state": "healthy"});
        let down = json!({"state": "unhealthy", "failures": 3, "retry_at_ms": 0, "retry_in_ms": 0});
        serde_json::from_value(json!({
            "listeners": [
                {"name": "web", "bind": "127.0.0.1:80", "enabled": true, "state": "running",
                 "addresses": ["127.0.0.1:80"], "error": null, "exposed": false, "serves": "http"},
                {"name": "tls", "bind": "127.0.0.1:443", "enabled": false, "state": "stopped",
                 "addresses": [], "error": null, "exposed": false, "serves": "https"},
                {"name": "alt", "bind": "127.0.0.1:8080", "enabled": true, "state": "failed",
                 "addresses": [], "error": "in use", "exposed": false, "serves": "http"}
            ],
            "targets": [
                target("app", Some("http://app.localhost/"), &[upstream(true, &healthy, 3), upstream(true, &healthy, 1)]),
                target("api", None, &[upstream(true, &healthy, 1), upstream(true, &down, 0)]),
                target("old", Some("http://old.localhost/"), &[upstream(true, &down, 0), upstream(false, &healthy, 0)])
            ],
            "log_readers": 0
        }))
        .unwrap()
    }

    const SETTINGS: Settings = Settings { keep_serving: true, start_at_login: false };

    #[test]
    fn listeners_are_switches_that_flip_their_own_state() {
        let menu = entries(&status(), SETTINGS);
        assert_eq!(menu[0], Entry::Label("Listeners".into()));
        assert_eq!(
            menu[1..4],
            [
                Entry::Check {
                    text: "web — 127.0.0.1:80".into(),
                    checked: true,
                    action: Action::Listener("web".into(), false)
                },
                Entry::Check {
                    text: "tls — off".into(), checked: false, action: Action::Listener("tls".into(), true)
                },
                Entry::Check {
                    text: "alt — failed: open the window".into(),
                    checked: false,
                    action: Action::Listener("alt".into(), false)
                },
            ]
        );
    }

    #[test]
    fn targets_show_counts_health_and_open_where_they_have_a_url() {
        let menu = entries(&status(), SETTINGS);
        let at = menu.iter().position(|e| *e == Entry::Label("Targets".into())).unwrap();
        assert_eq!(
            menu[at + 1..at + 4],
            [
                Entry::Item {
                    text: "● app — 4 requests — open http://app.localhost/".into(),
                    action: Action::Open("http://app.localhost/".into())
                },
                Entry::Label("◐ api — 1 request".into()),
                Entry::Item {
                    text: "○ old — 0 requests — open http://old.localhost/".into(),
                    action: Action::Open("http://old.localhost/".into())
                },
            ],
            "a disabled Upstream does not count against health"
        );
    }

    #[test]
    fn the_window_settings_and_quit_close_the_menu() {
        let menu = entries(&status(), Settings { keep_serving: false, start_at_login: true });
        let n = menu.len();
        assert_eq!(
            menu[n - 5..],
            [
                Entry::Item { text: "Show Roundabout".into(), action: Action::Show },
                Entry::Check {
                    text: "Keep serving when the window closes".into(),
                    checked: false,
                    action: Action::KeepServing(true)
                },
                Entry::Check { text: "Start at login".into(), checked: true, action: Action::StartAtLogin(false) },
                Entry::Separator,
                Entry::Item { text: "Quit Roundabout".into(), action: Action::Quit },
            ]
        );
    }

    #[test]
    fn an_empty_status_says_where_to_start() {
        let empty: Status = serde_json::from_value(json!({"listeners": [], "targets": [], "log_readers": 0})).unwrap();
        let menu = entries(&empty, SETTINGS);
        assert!(menu.contains(&Entry::Label("  none: add one in the window".into())));
        assert!(menu.contains(&Entry::Label("  none: create one in the window".into())));
    }

    #[test]
    fn every_action_survives_its_menu_id() {
        let actions = [
            Action::Listener("web:alt".into(), true),
            Action::Listener("web".into(), false),
            Action::Open("https://app.localhost/?a=b:c".into()),
            Action::Show,
            Action::KeepServing(true),
            Action::KeepServing(false),
            Action::StartAtLogin(true),
            Action::StartAtLogin(false),
            Action::Quit,
        ];
        for action in actions {
            assert_eq!(Action::from_id(&action.id()), Some(action.clone()), "{}", action.id());
        }
        for unknown in ["label:3", "listener:2:web", "listener:1", "keep-serving:yes", ""] {
            assert_eq!(Action::from_id(unknown), None, "{unknown}");
        }
    }
}
