//! The app's state, handed to commands through Tauri's `manage()`: the engine handle, the config file, what is
//! wrong with that file (if anything), and the one live event forwarder.

use std::sync::{Arc, Mutex, PoisonError};

use roundabout_engine::control::{Claim, ControlClient, ControlError, ControlServer, InstanceKind, Reply, Request};
use roundabout_engine::{
    Config, ConfigStore, Engine, EngineHandle, EngineOptions, Event, FirstRun, InUse, Received, StoreError,
};
use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;

use crate::forwarder;
use crate::wire::{ApiError, AppState, Digest, FileProblem};

/// Shared by every command.
pub struct Shell {
    /// The running engine.
    pub engine: EngineHandle,
    /// The config file the app saves to (the same one `roundabout serve` reads).
    pub store: ConfigStore,
    problem: Arc<Mutex<Option<FileProblem>>>,
    /// What this run told the user when it created the config (shown until the app closes).
    first_run: Option<String>,
    forwarder: Mutex<Option<JoinHandle<()>>>,
    /// The page's confirmations that it drew a digest; the forwarder paces itself on them.
    pub digests: Arc<forwarder::DigestGate>,
    /// The control socket (`roundabout status`, `log`, `run` reach the app through it).
    control: Option<ControlServer>,
    /// Set when another instance (`roundabout serve`) owns the config file: the app then serves nothing and
    /// changes nothing, and says so.
    elsewhere: Option<String>,
}

impl Shell {
    /// Loads (or creates) the config, starts the engine and follows the file. An unreadable file is copied aside
    /// and reported, and the app starts with no routes rather than overwriting it.
    pub async fn open(store: ConfigStore) -> Result<Self, String> {
        let claim = match Claim::take(store.path()).await {
            Ok(claim) => Ok(Some(claim)),
            Err(e @ ControlError::AlreadyRunning { .. }) => Err(e.to_string()),
            Err(e) => {
                tracing::warn!("{e}; roundabout status, log and run cannot reach the app");
                Ok(None)
            }
        };
        let claim = match claim {
            Ok(claim) => claim,
            Err(elsewhere) => return Self::elsewhere(store, elsewhere).await,
        };
        let mut first_run = None;
        let (config, problem) = match store.load().await {
            Ok(Some(config)) => (config, None),
            Ok(None) => {
                let first = FirstRun::probe();
                let config = first.config();
                store.save(&config).await.map_err(|e| e.to_string())?;
                first_run = Some(first.note(&store.path().display().to_string()));
                (config, None)
            }
            Err(StoreError::Invalid { issues, .. }) => {
                let kept = store.keep_aside().await.ok().map(|p| p.display().to_string());
                let message = format!(
                    "{} has errors, so Roundabout started with no routes. Fix the file (the app follows it), or edit \
                     here: saving replaces the file{}.",
                    store.path().display(),
                    kept.as_deref().map(|k| format!(" (a copy is kept at {k})")).unwrap_or_default()
                );
                (Config::empty(), Some(FileProblem { message, issues: issues.0, kept_aside: kept }))
            }
            Err(e) => {
                (Config::empty(), Some(FileProblem { message: e.to_string(), issues: Vec::new(), kept_aside: None }))
            }
        };
        let engine = Engine::start(config, EngineOptions::default()).await.map_err(|e| e.to_string())?;
        let problem = Arc::new(Mutex::new(problem));
        track_file_problems(&engine, Arc::clone(&problem));
        if let Err(e) = engine.follow(store.clone()) {
            tracing::warn!("{e}");
        }
        let control = claim.and_then(|claim| {
            claim
                .serve(engine.clone(), store.clone(), InstanceKind::App)
                .map_err(|e| tracing::warn!("{e}; roundabout status, log and run cannot reach the app"))
                .ok()
        });
        Ok(Shell {
            engine,
            store,
            problem,
            first_run,
            forwarder: Mutex::new(None),
            digests: Arc::default(),
            control,
            elsewhere: None,
        })
    }

    /// The app when `roundabout serve` already runs the config: an engine with nothing in it, and the reason.
    async fn elsewhere(store: ConfigStore, why: String) -> Result<Self, String> {
        let engine = Engine::start(Config::empty(), EngineOptions::default()).await.map_err(|e| e.to_string())?;
        let message = format!(
            "{why}. It serves your routes; stop it (Ctrl-C in its terminal) and reopen the app to manage them here."
        );
        Ok(Shell {
            engine,
            store,
            problem: Arc::new(Mutex::new(None)),
            first_run: None,
            forwarder: Mutex::new(None),
            digests: Arc::default(),
            control: None,
            elsewhere: Some(message),
        })
    }

    /// Why the app may not change anything, when another instance owns the config file.
    pub fn refuse_if_elsewhere(&self) -> Result<(), ApiError> {
        match &self.elsewhere {
            Some(message) => {
                Err(ApiError { code: "running_elsewhere".into(), message: message.clone(), issues: Vec::new() })
            }
            None => Ok(()),
        }
    }

    /// What Roundabout already routes to and listens on, for discovery: this engine's, or that of the instance
    /// that owns the config when it is not the app.
    pub async fn in_use(&self) -> InUse {
        if self.elsewhere.is_some()
            && let Ok(Some(mut client)) = ControlClient::connect(self.store.path()).await
            && let Ok(Reply::Status { status }) = client.call(&Request::Status).await
        {
            return InUse::of_status(&status);
        }
        InUse::of_status(&self.engine.status().await)
    }

    /// Stops answering on the control socket (before the engine shuts down).
    pub fn stop_control(&self) {
        if let Some(control) = &self.control {
            control.close();
        }
    }

    /// What `get_state` returns.
    pub async fn state(&self) -> AppState {
        AppState {
            config: self.engine.config().await,
            status: self.engine.status().await,
            config_path: self.store.path().display().to_string(),
            file_problem: self.problem.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            first_run: self.first_run.clone(),
            running_elsewhere: self.elsewhere.clone(),
        }
    }

    /// The app just wrote a valid file: whatever was wrong with the old one is gone.
    pub fn clear_problem(&self) {
        *self.problem.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Stops streaming events (the window closed): with no subscriber the engine builds no request events.
    pub fn stop_watching(&self) {
        if let Some(task) = self.forwarder.lock().unwrap_or_else(PoisonError::into_inner).take() {
            task.abort();
        }
    }

    /// Streams digests to `channel`, replacing any previous stream (a reloaded webview subscribes again).
    pub fn watch(&self, channel: Channel<Digest>) {
        let task =
            tauri::async_runtime::spawn(forwarder::forward(self.engine.clone(), channel, Arc::clone(&self.digests)));
        if let Some(old) = self.forwarder.lock().unwrap_or_else(PoisonError::into_inner).replace(task) {
            old.abort();
        }
    }
}

/// Keeps `problem` in step with outside edits: a rejected edit sets it, an applied one clears it.
fn track_file_problems(engine: &EngineHandle, problem: Arc<Mutex<Option<FileProblem>>>) {
    let mut events = engine.subscribe_changes();
    tauri::async_runtime::spawn(async move {
        while let Some(received) = events.recv().await {
            let Received::Event(event) = received else { continue };
            let update = match &*event {
                Event::ConfigRejected { source, issues } if source != "app" => Some(Some(FileProblem {
                    message: format!(
                        "Your edit of {source} was not applied; Roundabout keeps serving the last good config."
                    ),
                    issues: issues.clone(),
                    kept_aside: None,
                })),
                Event::ConfigApplied { source, .. } if source != "app" => Some(None),
                _ => None,
            };
            if let Some(update) = update {
                *problem.lock().unwrap_or_else(PoisonError::into_inner) = update;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test]
    async fn following_the_file_reports_problems_without_turning_the_request_log_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"version": 1, "listeners": [{"bind": "127.0.0.1:0"}]}"#).unwrap();
        let shell = Shell::open(ConfigStore::new(&path)).await.unwrap();
        assert_eq!(shell.engine.status().await.log_readers, 0, "nobody watches the live log: requests build no event");

        std::fs::write(&path, r#"{"version": 1, "listeners": [{"bind": "nowhere"}]}"#).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while shell.state().await.file_problem.is_none() {
            assert!(Instant::now() < deadline, "the refused edit was never reported");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(shell.engine.status().await.log_readers, 0);
        shell.engine.shutdown().await;
    }
}
