//! The tray (menu bar) icon: Listeners on and off, Targets with their request counts and health, links to open
//! them, the window, the settings and Quit. What the menu says is plain data (`menu.rs`, unit-tested); this file
//! turns it into native items, refreshes them while counts change, and carries out clicks.

mod menu;
mod settings;

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_opener::OpenerExt as _;

pub use self::menu::{Action, Entry, Settings, entries};
pub use self::settings::{AppSettings, SettingsFile};
use crate::shell::Shell;
use crate::window;

/// How often the menu is brought up to date (only rebuilt when it would read differently).
const REFRESH: Duration = Duration::from_secs(1);
/// The tray icon's id.
const ID: &str = "main";

/// The tray's state: the app's settings and what the menu shows now.
#[derive(Debug)]
pub struct Tray {
    file: SettingsFile,
    settings: Mutex<AppSettings>,
    start_at_login: Mutex<bool>,
    shown: Mutex<Vec<Entry>>,
    /// False when no tray could be shown (then closing the window quits, or the proxy would be out of reach).
    installed: Mutex<bool>,
}

impl Tray {
    /// The tray's state with the settings saved in `file`.
    pub fn new(file: SettingsFile) -> Self {
        let settings = file.load();
        Tray {
            file,
            settings: Mutex::new(settings),
            start_at_login: Mutex::new(false),
            shown: Mutex::new(Vec::new()),
            installed: Mutex::new(false),
        }
    }

    /// Whether closing the window leaves the proxy serving: the user wants it and there is a tray to come back
    /// through.
    pub fn keeps_serving(&self) -> bool {
        *lock(&self.installed) && lock(&self.settings).keep_serving
    }

    /// The note the window shows until dismissed: closing it keeps the proxy serving, and where to change that.
    pub fn note(&self) -> Option<String> {
        let settings = *lock(&self.settings);
        (self.keeps_serving() && !settings.told_keep_serving).then(|| {
            "Closing this window keeps Roundabout serving your routes from the tray (menu bar icon); Quit is there. \
             To quit when the window closes instead, untick \u{201c}Keep serving when the window closes\u{201d} in \
             the tray menu."
                .to_owned()
        })
    }

    /// Changes the settings and saves them.
    pub fn update(&self, change: impl FnOnce(&mut AppSettings)) -> Result<(), String> {
        let mut settings = lock(&self.settings);
        let mut next = *settings;
        change(&mut next);
        self.file.save(next)?;
        *settings = next;
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Shows the tray icon and keeps its menu current. Without a tray (no status notifier host), the app says so in
/// the log and closing the window quits.
pub fn install(app: &AppHandle) {
    let tray = app.state::<Tray>();
    *lock(&tray.start_at_login) = app.autolaunch().is_enabled().unwrap_or(false);
    let status = tauri::async_runtime::block_on(app.state::<Shell>().engine.status());
    let first = current(app, &status);
    let built = native(app, &first).and_then(|menu| {
        let mut icon = TrayIconBuilder::with_id(ID).tooltip("Roundabout").menu(&menu).show_menu_on_left_click(true);
        if let Some(image) = app.default_window_icon() {
            icon = icon.icon(image.clone());
        }
        icon.on_menu_event(|app, event| act(app, event.id().as_ref())).build(app)
    });
    match built {
        Ok(_) => {
            *lock(&tray.installed) = true;
            *lock(&tray.shown) = first;
        }
        Err(e) => tracing::warn!("no tray icon ({e}); closing the window quits Roundabout"),
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH);
        loop {
            tick.tick().await;
            refresh(&app).await;
        }
    });
}

/// The menu for the engine's status now.
fn current(app: &AppHandle, status: &roundabout_engine::Status) -> Vec<Entry> {
    let tray = app.state::<Tray>();
    let settings =
        Settings { keep_serving: lock(&tray.settings).keep_serving, start_at_login: *lock(&tray.start_at_login) };
    entries(status, settings)
}

/// Rebuilds the menu when it would read differently.
async fn refresh(app: &AppHandle) {
    let Some(shell) = app.try_state::<Shell>() else { return };
    let wanted = current(app, &shell.engine.status().await);
    let tray = app.state::<Tray>();
    if *lock(&tray.shown) == wanted {
        return;
    }
    let Some(icon) = app.tray_by_id(ID) else { return };
    match native(app, &wanted) {
        Ok(menu) => {
            if icon.set_menu(Some(menu)).is_ok() {
                *lock(&tray.shown) = wanted;
            }
        }
        Err(e) => tracing::warn!("cannot update the tray menu: {e}"),
    }
}

/// Native menu items for `entries`.
fn native(app: &AppHandle, entries: &[Entry]) -> tauri::Result<Menu<Wry>> {
    let mut items: Vec<Box<dyn IsMenuItem<Wry>>> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        items.push(match entry {
            Entry::Label(text) => Box::new(MenuItem::with_id(app, format!("label:{i}"), text, false, None::<&str>)?),
            Entry::Item { text, action } => Box::new(MenuItem::with_id(app, action.id(), text, true, None::<&str>)?),
            Entry::Check { text, checked, action } => {
                Box::new(CheckMenuItem::with_id(app, action.id(), text, true, *checked, None::<&str>)?)
            }
            Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        });
    }
    let refs: Vec<&dyn IsMenuItem<Wry>> = items.iter().map(AsRef::as_ref).collect();
    Menu::with_items(app, &refs)
}

/// Carries out a click on the item with `id`, then brings the menu up to date.
fn act(app: &AppHandle, id: &str) {
    let Some(action) = Action::from_id(id) else { return };
    let tray = app.state::<Tray>();
    match action {
        Action::Listener(name, on) => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let shell = app.state::<Shell>();
                let result = match shell.refuse_if_elsewhere() {
                    Ok(()) => match shell.engine.set_listener_enabled(&name, on).await {
                        Ok(config) => shell.store.save(&config).await.map(|_| ()).map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    },
                    Err(e) => Err(e.message),
                };
                if let Err(e) = result {
                    tracing::warn!("{e}");
                }
                refresh(&app).await;
            });
            return;
        }
        Action::Open(url) => {
            if let Err(e) = app.opener().open_url(&url, None::<&str>) {
                tracing::warn!("cannot open {url}: {e}");
            }
        }
        Action::Show => {
            if let Err(e) = window::show(app) {
                tracing::warn!("cannot open the window: {e}");
            }
        }
        Action::KeepServing(on) => {
            if let Err(e) = tray.update(|s| (s.keep_serving, s.told_keep_serving) = (on, true)) {
                tracing::warn!("{e}");
            }
        }
        Action::StartAtLogin(on) => {
            let autostart = app.autolaunch();
            let result = if on { autostart.enable() } else { autostart.disable() };
            match result {
                Ok(()) => *lock(&tray.start_at_login) = on,
                Err(e) => tracing::warn!("cannot change start at login: {e}"),
            }
        }
        Action::Quit => app.exit(0),
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move { refresh(&app).await });
}
