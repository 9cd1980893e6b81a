//! Roundabout's desktop app: a thin Tauri 2 shell. Commands translate and call the engine; a forwarder streams
//! batched events to the webview over a `Channel`. All proxy behaviour lives in `roundabout-engine`.

mod commands;
mod forwarder;
mod https;
mod shell;
mod tray;
mod window;
pub mod wire;

use roundabout_engine::ConfigStore;
use tauri::Manager;

use crate::shell::Shell;
use crate::tray::{SettingsFile, Tray};

/// The argument autostart passes: start serving into the tray without opening the window.
const TRAY_ONLY: &str = "--tray";

/// Starts the app; returns when the last window closes (after the engine drained its requests).
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROUNDABOUT_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let app = tauri::Builder::default()
        // A second launch hands over to this one (over D-Bus on Linux) and exits: the open window comes forward
        // instead of a second app fighting over the ports and the config file.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Err(e) = window::show(app) {
                tracing::warn!("cannot open the window: {e}");
            }
        }))
        // Started at login with `--tray`: serving from the tray, no window until asked for.
        .plugin(tauri_plugin_autostart::init(tauri_plugin_autostart::MacosLauncher::LaunchAgent, Some(vec![TRAY_ONLY])))
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            let path = ConfigStore::default_path()?;
            let shell = tauri::async_runtime::block_on(Shell::open(ConfigStore::new(path)))?;
            app.manage(shell);
            app.manage(Tray::new(SettingsFile::in_dir(&app.path().app_config_dir()?)));
            tray::install(app.handle());
            if !std::env::args().any(|a| a == TRAY_ONLY) {
                window::show(app.handle())?;
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::get_state,
            commands::save_config,
            commands::validate_config,
            commands::set_listener_enabled,
            commands::watch_events,
            commands::digest_shown,
            commands::https_state,
            commands::trust_ca,
            commands::suggested_ports,
            commands::doctor,
            commands::discover,
            commands::keep_serving_note,
            commands::dismiss_keep_serving_note,
        ])
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Roundabout could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| match event {
        // The last window closed (no exit code): keep serving from the tray when the user wants that.
        tauri::RunEvent::ExitRequested { code: None, api, .. } if handle.state::<Tray>().keeps_serving() => {
            api.prevent_exit();
        }
        // The webview is gone: nobody looks at the live log, so the engine stops building it.
        tauri::RunEvent::WindowEvent { label, event: tauri::WindowEvent::Destroyed, .. } if label == window::MAIN => {
            if let Some(shell) = handle.try_state::<Shell>() {
                shell.stop_watching();
            }
        }
        tauri::RunEvent::Exit => {
            if let Some(shell) = handle.try_state::<Shell>() {
                shell.stop_control();
                tauri::async_runtime::block_on(shell.engine.shutdown());
            }
        }
        _ => {}
    });
}
