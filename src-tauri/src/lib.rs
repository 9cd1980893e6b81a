//! Roundabout's desktop app: a thin Tauri 2 shell. Commands translate and call the engine; a forwarder streams
//! batched events to the webview over a `Channel`. All proxy behaviour lives in `roundabout-engine`.

mod commands;
mod forwarder;
mod https;
mod shell;
pub mod wire;

use roundabout_engine::ConfigStore;
use tauri::Manager;

use crate::shell::Shell;

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
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .setup(|app| {
            let path = ConfigStore::default_path()?;
            let shell = tauri::async_runtime::block_on(Shell::open(ConfigStore::new(path)))?;
            app.manage(shell);
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
        ])
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Roundabout could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(shell) = handle.try_state::<Shell>()
        {
            shell.stop_control();
            tauri::async_runtime::block_on(shell.engine.shutdown());
        }
    });
}
