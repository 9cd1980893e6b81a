//! The main window comes and goes: closing it destroys the webview (so an idle Roundabout in the tray stays
//! small) while the proxy keeps serving; the tray, a second launch or the first start opens it again.

use tauri::{AppHandle, Manager, WebviewWindowBuilder};

/// The main window's label in `tauri.conf.json`.
pub const MAIN: &str = "main";

/// Brings the main window forward, creating it (from `tauri.conf.json`) when it was closed or never opened.
pub fn show(app: &AppHandle) -> tauri::Result<()> {
    if let Some(window) = app.get_webview_window(MAIN) {
        window.unminimize()?;
        window.show()?;
        return window.set_focus();
    }
    let Some(config) = app.config().app.windows.iter().find(|w| w.label == MAIN) else {
        return Err(tauri::Error::WindowNotFound);
    };
    WebviewWindowBuilder::from_config(app, config)?.build()?;
    Ok(())
}
