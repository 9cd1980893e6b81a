//! The shapes that cross the IPC boundary besides the engine's own types. TypeScript bindings for all of them
//! are generated into `ui/src/bindings/` (see the freshness test below), so the UI cannot drift from the shell.

use std::sync::Arc;

use roundabout_engine::StoreError;
use roundabout_engine::{Config, ConfigIssue, ConfigIssues, EngineError, Event, Status};
use serde::Serialize;
use ts_rs::TS;

/// Everything the UI needs on start and after an outside edit of the config file.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AppState {
    /// The config serving now.
    pub config: Config,
    /// Listeners, Targets and counters.
    pub status: Status,
    /// Where the config file is.
    pub config_path: String,
    /// Set when the file on disk cannot be used; the app keeps serving the last good config.
    pub file_problem: Option<FileProblem>,
    /// Set when this run created the config: where it is, what to open, and why the ports are what they are.
    pub first_run: Option<String>,
    /// Set when another Roundabout (`roundabout serve`) owns the config file: who, and what to do. The app then
    /// serves and changes nothing.
    pub running_elsewhere: Option<String>,
}

/// The HTTPS side of the app: Roundabout's local CA and where it is trusted.
#[derive(Debug, Clone, Serialize, TS)]
pub struct HttpsState {
    /// The CA certificate's file; `None` when the CA could not be made (see `error`).
    pub ca_path: Option<String>,
    /// Why there is no CA, with the fix.
    pub error: Option<String>,
    /// Each trust store of this machine and whether it trusts the CA.
    pub stores: Vec<TrustRow>,
    /// The line that makes Node.js tools trust the CA.
    pub node_line: Option<String>,
}

/// One trust store.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TrustRow {
    /// The store, as a person reads it: `Chromium, Chrome (/home/me/.pki/nssdb)`.
    pub store: String,
    /// `trusted`, `not_trusted` or `unavailable`.
    pub state: String,
    /// What was done, or why nothing could be, with the fix.
    pub note: String,
}

/// One finding of the doctor's checks (the same as `roundabout doctor`).
#[derive(Debug, Clone, Serialize, TS)]
pub struct DoctorCheck {
    /// What was checked, e.g. `listener web (127.0.0.1:80)`.
    pub subject: String,
    /// True when all is well.
    pub ok: bool,
    /// What was found and, when not ok, what to do.
    pub finding: String,
}

/// The ports a new Listener should use: 80 and 443 when Roundabout may bind them, 8800 and 8443 otherwise.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SuggestedPorts {
    /// For an http Listener.
    pub http: u16,
    /// For an https Listener.
    pub https: u16,
    /// Why the standard ports cannot be used, with the fix.
    pub why_not_standard: Option<String>,
}

/// The config file on disk could not be used.
#[derive(Debug, Clone, Serialize, TS)]
pub struct FileProblem {
    /// What went wrong, in a sentence.
    pub message: String,
    /// Every problem found, by JSON path.
    pub issues: Vec<ConfigIssue>,
    /// Where a copy of the unreadable file was kept, if one was made.
    pub kept_aside: Option<String>,
}

/// Every command error: a code the UI can act on, a readable message, and the issues for `invalid_config`.
#[derive(Debug, Clone, Serialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// Stable code, e.g. `invalid_config`, `config_file_io`, `unknown_listener`.
    pub code: String,
    /// A sentence naming the thing and the fix.
    pub message: String,
    /// Problems by JSON path (empty unless the config was invalid).
    pub issues: Vec<ConfigIssue>,
}

impl ApiError {
    /// An invalid config: nothing was applied or saved.
    pub fn invalid(issues: ConfigIssues) -> Self {
        ApiError {
            code: "invalid_config".into(),
            message: "The config was not applied or saved; fix the marked fields.".into(),
            issues: issues.0,
        }
    }
}

impl ApiError {
    /// A failure of the app itself (a task that could not finish), with its reason.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError {
            code: "internal".into(),
            message: format!("Roundabout could not finish that: {e}"),
            issues: Vec::new(),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(issues) => ApiError::invalid(issues),
            other => ApiError { code: other.code().into(), message: other.to_string(), issues: Vec::new() },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::from(EngineError::Store(e))
    }
}

/// Result of `save_config`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SaveResult {
    /// Status after applying.
    pub status: Status,
    /// Where an unreadable file on disk was copied before it was replaced.
    pub kept_aside: Option<String>,
}

/// One batch pushed over the Channel: at most ~20 a second while requests flow, one a second when idle.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Digest {
    /// When it was sent, in milliseconds since the Unix epoch.
    #[ts(type = "number")]
    pub at_ms: u64,
    /// New events since the previous digest (capped; the rest are counted in `missed`).
    #[ts(as = "Vec<Event>")]
    pub events: Vec<Arc<Event>>,
    /// Events not delivered because the UI or the stream fell behind.
    #[ts(type = "number")]
    pub missed: u64,
    /// Counters right now.
    pub status: Status,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Regenerates every binding into a temp dir and compares it with `ui/src/bindings`; `UPDATE_BINDINGS=1`
    /// rewrites them instead.
    #[test]
    fn typescript_bindings_are_current() {
        let fresh = tempfile::tempdir().unwrap();
        let cfg = ts_rs::Config::new().with_large_int("number").with_out_dir(fresh.path());
        AppState::export_all(&cfg).unwrap();
        HttpsState::export_all(&cfg).unwrap();
        SuggestedPorts::export_all(&cfg).unwrap();
        DoctorCheck::export_all(&cfg).unwrap();
        ApiError::export_all(&cfg).unwrap();
        SaveResult::export_all(&cfg).unwrap();
        Digest::export_all(&cfg).unwrap();
        roundabout_engine::DevServer::export_all(&cfg).unwrap();
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings");
        let names = |dir: &Path| {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .map(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            names.sort();
            names
        };
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            std::fs::create_dir_all(&committed).unwrap();
            for name in names(fresh.path()) {
                std::fs::copy(fresh.path().join(&name), committed.join(&name)).unwrap();
            }
        }
        assert_eq!(names(fresh.path()), names(&committed), "run `UPDATE_BINDINGS=1 cargo test -p roundabout-app`");
        for name in names(fresh.path()) {
            let want = std::fs::read_to_string(fresh.path().join(&name)).unwrap();
            let have = std::fs::read_to_string(committed.join(&name)).unwrap();
            assert!(
                want == have,
                "ui/src/bindings/{name} is stale: run `UPDATE_BINDINGS=1 cargo test -p roundabout-app`"
            );
        }
    }
}
