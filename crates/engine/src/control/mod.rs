//! The control socket: how a terminal reaches the running instance (the desktop app or `roundabout serve`) that
//! owns a config file. `roundabout status`, `log`, `upstream` and `run` are its clients.
//!
//! One instance owns a config file: it holds that file's lock (`claim.rs`) and listens on that file's socket
//! (`address.rs`), which only the user can open (`local.rs`, the one platform-specific part). The protocol is
//! line-delimited JSON (`protocol.rs`), served by `server.rs` and spoken by `client.rs`. Edits of Upstreams are plain
//! config edits (`edit.rs`), so they work on the file as well when nothing runs.

mod address;
mod claim;
mod client;
mod edit;
mod local;
mod protocol;
mod server;

use std::fmt::Write as _;
use std::path::PathBuf;

pub use address::Address;
pub use claim::Claim;
pub use client::ControlClient;
pub use edit::edit_upstream;
pub use protocol::{Instance, InstanceKind, Reply, Request, UpstreamAction};
pub use server::ControlServer;

use crate::config::ConfigIssue;

/// Why a control call failed. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// There is no home directory to keep the socket in.
    #[error("no home directory was found for the control socket; set HOME")]
    NoHome,
    /// A file or socket operation failed.
    #[error("{what}: {e}")]
    Io {
        /// What was being done, e.g. `connecting to /run/user/1000/roundabout/….sock`.
        what: String,
        /// The cause.
        e: std::io::Error,
    },
    /// Another instance owns the config file.
    #[error("Roundabout is already running for {} ({}); try roundabout status", config.display(), instance.as_ref().map_or_else(|| "starting".to_owned(), ToString::to_string))]
    AlreadyRunning {
        /// The config file.
        config: PathBuf,
        /// Who runs it, when it answered.
        instance: Option<Instance>,
    },
    /// An Upstream edit does not fit the config.
    #[error("{message}")]
    Edit {
        /// Stable and machine-readable.
        code: &'static str,
        /// What is wrong, with what exists.
        message: String,
    },
    /// The instance refused the request.
    #[error("{message}{}", list(issues))]
    Refused {
        /// Stable and machine-readable.
        code: String,
        /// What went wrong and what to do.
        message: String,
        /// Problems with the config the change would have made.
        issues: Vec<ConfigIssue>,
    },
    /// The instance sent something this version does not read.
    #[error(
        "the running Roundabout answered something this version does not understand ({0}); is it the same version?"
    )]
    Protocol(String),
    /// The instance closed the connection before answering.
    #[error("the running Roundabout closed the connection (it may have stopped)")]
    Closed,
}

/// Issues one per line, indented under the message.
fn list(issues: &[ConfigIssue]) -> String {
    issues.iter().fold(String::new(), |mut text, issue| {
        let _ = write!(text, "\n  {issue}");
        text
    })
}

impl ControlError {
    /// A stable, machine-readable code, the same on both ends of the socket.
    pub fn code(&self) -> &str {
        match self {
            ControlError::NoHome | ControlError::Io { .. } => "io",
            ControlError::AlreadyRunning { .. } => "already_running",
            ControlError::Edit { code, .. } => code,
            ControlError::Refused { code, .. } => code,
            ControlError::Protocol(_) => "protocol",
            ControlError::Closed => "closed",
        }
    }

    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ControlError {
        let what = what.into();
        move |e| ControlError::Io { what, e }
    }
}
