//! Generates the Tauri context and one `allow-<command>` permission per app command, so the capability file can
//! grant the main window exactly these commands and nothing else.

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "get_state",
        "save_config",
        "validate_config",
        "set_listener_enabled",
        "watch_events",
        "digest_shown",
        "https_state",
        "trust_ca",
        "suggested_ports",
        "doctor",
        "discover",
        "keep_serving_note",
        "dismiss_keep_serving_note",
    ]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        // A build script reports failure by exiting non-zero with the reason on stderr.
        eprintln!("tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
