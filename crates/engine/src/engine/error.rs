//! Errors the engine's API returns. Each has a stable code the desktop app can act on, and a message that names
//! the thing and the fix.

use crate::config::{ConfigIssues, StoreError};

/// Why an engine call was refused.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The config has problems; nothing was applied and the previous config keeps serving.
    #[error("the config was not applied; the previous one keeps serving:\n{0}")]
    Invalid(ConfigIssues),
    /// No Listener has that name.
    #[error("there is no listener named \"{0}\"; check the name in the config")]
    UnknownListener(String),
    /// The demo upstreams could not start.
    #[error("the demo could not start: {0}")]
    Demo(String),
    /// A live Upstream was refused (its name, its URL, or it already joined).
    #[error("{0}")]
    Live(String),
    /// Reading or writing the config file failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    /// A stable, machine-readable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Invalid(_) => "invalid_config",
            EngineError::UnknownListener(_) => "unknown_listener",
            EngineError::Demo(_) => "demo_failed",
            EngineError::Live(_) => "live_upstream",
            EngineError::Store(StoreError::Invalid { .. }) => "config_file_invalid",
            EngineError::Store(_) => "config_file_io",
        }
    }
}
