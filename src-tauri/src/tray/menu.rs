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
