//! The app's commands: each translates its arguments, calls the engine or the config store, and maps errors to an
//! `ApiError` (a code plus a readable message). No proxy logic lives here.

// Tauri deserializes command arguments into owned values; borrowing is not an option for them.
#![allow(clippy::needless_pass_by_value)]

use roundabout_engine::trust::{Privilege, TrustStores};
use roundabout_engine::{Config, ConfigIssue, DevServer, FirstRun, LocalCa, diagnose};
use tauri::State;
use tauri::ipc::Channel;

use crate::https;
use crate::shell::Shell;
use crate::tray::Tray;
use crate::wire::{ApiError, AppState, Digest, DoctorCheck, HttpsState, SaveResult, SuggestedPorts};

/// Current config, status, config path and any problem with the file on disk.
#[tauri::command]
pub async fn get_state(shell: State<'_, Shell>) -> Result<AppState, ApiError> {
    Ok(shell.state().await)
}

/// Applies a whole new config and saves it atomically; an invalid one is neither applied nor saved.
#[tauri::command]
pub async fn save_config(shell: State<'_, Shell>, config: serde_json::Value) -> Result<SaveResult, ApiError> {
    shell.refuse_if_elsewhere()?;
    let config = Config::from_value(&config).map_err(ApiError::invalid)?;
    let status = shell.engine.apply(config.clone(), "app").await?;
    let outcome = shell.store.save(&config).await?;
    shell.clear_problem();
    tracing::info!(targets = config.targets.len(), "config saved from the app");
    Ok(SaveResult { status, kept_aside: outcome.kept_aside.map(|p| p.display().to_string()) })
}

/// Every problem in a draft config, by JSON path; empty when it is valid. Nothing is applied.
#[tauri::command]
pub fn validate_config(config: serde_json::Value) -> Vec<ConfigIssue> {
    Config::from_value(&config).err().map(|issues| issues.0).unwrap_or_default()
}

/// Starts or stops one Listener and saves the change.
#[tauri::command]
pub async fn set_listener_enabled(shell: State<'_, Shell>, name: String, enabled: bool) -> Result<AppState, ApiError> {
    shell.refuse_if_elsewhere()?;
    let config = shell.engine.set_listener_enabled(&name, enabled).await?;
    shell.store.save(&config).await?;
    Ok(shell.state().await)
}

/// Roundabout's local CA and where it is trusted (creating the CA on first use).
#[tauri::command]
pub async fn https_state() -> Result<HttpsState, ApiError> {
    tauri::async_runtime::spawn_blocking(|| https::state(false)).await.map_err(ApiError::internal)
}

/// Trusts the local CA in every store that does not yet (the same code as `roundabout trust`); the state after.
#[tauri::command]
pub async fn trust_ca() -> Result<HttpsState, ApiError> {
    let state = tauri::async_runtime::spawn_blocking(|| https::state(true)).await.map_err(ApiError::internal)?;
    tracing::info!(stores = state.stores.len(), "trusted the local CA from the app");
    Ok(state)
}

/// What stands between the user and their URLs working, each with its fix (the checks of `roundabout doctor`).
#[tauri::command]
pub async fn doctor(shell: State<'_, Shell>) -> Result<Vec<DoctorCheck>, ApiError> {
    let config = shell.engine.config().await;
    let ca_dir = LocalCa::default_dir().map_err(ApiError::internal)?;
    let checks = tauri::async_runtime::spawn_blocking(move || {
        diagnose(&config, &ca_dir, &TrustStores::discover(Privilege::None))
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(checks.into_iter().map(|c| DoctorCheck { subject: c.subject, ok: c.ok, finding: c.finding }).collect())
}

/// The dev servers on loopback that no Target uses yet (what `roundabout discover` prints).
#[tauri::command]
pub async fn discover(shell: State<'_, Shell>) -> Result<Vec<DevServer>, ApiError> {
    let in_use = shell.in_use().await;
    tauri::async_runtime::spawn_blocking(move || roundabout_engine::discover(&in_use))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError { code: "discovery_failed".into(), message: e.to_string(), issues: Vec::new() })
}

/// The note the window shows once: closing it keeps the proxy serving from the tray (null once dismissed, or
/// when closing quits).
#[tauri::command]
pub fn keep_serving_note(tray: State<'_, Tray>) -> Option<String> {
    tray.note()
}

/// The user read the note; it is not shown again.
#[tauri::command]
pub fn dismiss_keep_serving_note(tray: State<'_, Tray>) -> Result<(), ApiError> {
    tray.update(|s| s.told_keep_serving = true).map_err(ApiError::internal)
}

/// The ports a new Listener should use (80 and 443 when Roundabout may bind them).
#[tauri::command]
pub fn suggested_ports() -> SuggestedPorts {
    let probe = FirstRun::probe();
    SuggestedPorts { http: probe.http, https: probe.https, why_not_standard: probe.why_not_standard }
}

/// Starts streaming digests of the live log and counters to `channel`.
#[tauri::command]
pub fn watch_events(shell: State<'_, Shell>, channel: Channel<Digest>) {
    shell.watch(channel);
}

/// The page drew the last digest: the next one may go (see [`crate::forwarder::DigestGate`]).
#[tauri::command]
pub fn digest_shown(shell: State<'_, Shell>) {
    shell.digests.shown();
}
