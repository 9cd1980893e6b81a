//! The control protocol: line-delimited JSON, one [`Request`] per line from the client, one [`Reply`] per line
//! from the instance. The README documents it for scripts; the CLI is its first client. Fields this version does
//! not know are ignored, so a newer client can still talk to an older instance.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::ConfigIssue;
use crate::engine::Status;
use crate::event::{Event, LiveUpstream};

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Who is running: answered with [`Reply::Hello`].
    Hello,
    /// Listeners, Targets and Upstreams with health and counters: [`Reply::Status`].
    Status,
    /// The recent changes as [`Reply::Event`] lines; with `follow`, then every event (requests too) as it happens,
    /// until the client hangs up. Otherwise ends with [`Reply::Done`].
    Log {
        /// Keep streaming.
        #[serde(default)]
        follow: bool,
        /// Only events of this Target.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// Changes an Upstream of a Target in the config (applied and saved): [`Reply::Status`] after.
    Upstream {
        /// What to do.
        action: UpstreamAction,
        /// The Target's name.
        target: String,
        /// The Upstream's URL.
        url: String,
    },
    /// Adds a live Upstream for as long as this connection stays open: [`Reply::Joined`]. It leaves (drained) when
    /// the client sends [`Request::Leave`] (answered with [`Reply::Done`] once it is gone) or hangs up.
    Join {
        /// The dev server.
        upstream: LiveUpstream,
    },
    /// Removes the live Upstream this connection added, once its open requests finished.
    Leave {
        /// Why, for the log (e.g. `the command exited with status 0`).
        reason: String,
    },
}

/// What `roundabout upstream` does to an Upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamAction {
    /// Appends it to the Target.
    Add,
    /// Removes it from the Target.
    Remove,
    /// Lets it take requests again.
    Enable,
    /// Stops sending it requests (open ones finish).
    Disable,
}

impl UpstreamAction {
    /// The word the CLI uses.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamAction::Add => "add",
            UpstreamAction::Remove => "remove",
            UpstreamAction::Enable => "enable",
            UpstreamAction::Disable => "disable",
        }
    }
}

/// What the instance answers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // one reply per line read from a socket; boxing buys nothing
pub enum Reply {
    /// Who is running.
    Hello {
        /// The instance.
        instance: Instance,
    },
    /// The state now.
    Status {
        /// Listeners, Targets, Upstreams.
        status: Status,
    },
    /// One event of a log.
    Event {
        /// The event.
        event: Event,
    },
    /// This many events were dropped because the client read too slowly.
    Missed {
        /// How many.
        count: u64,
    },
    /// The live Upstream takes requests.
    Joined {
        /// Its label in the log.
        label: String,
        /// A Target that comes first for `NAME.localhost`, so requests there do not reach it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shadowed_by: Option<String>,
    },
    /// The request is complete.
    Done,
    /// The request failed; nothing changed.
    Error {
        /// Stable and machine-readable, e.g. `unknown_target`.
        code: String,
        /// What went wrong and what to do.
        message: String,
        /// Problems with the config the change would have made.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        issues: Vec<ConfigIssue>,
    },
}

/// The running instance that owns a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Instance {
    /// The desktop app or `roundabout serve`.
    pub kind: InstanceKind,
    /// Its process id.
    pub pid: u32,
    /// Its version.
    pub version: String,
    /// The config file it serves.
    #[schemars(with = "String")]
    pub config: PathBuf,
}

/// What kind of program an [`Instance`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstanceKind {
    /// The desktop app.
    App,
    /// `roundabout serve` in a terminal.
    Serve,
}

impl std::fmt::Display for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            InstanceKind::App => write!(f, "the desktop app, pid {}", self.pid),
            InstanceKind::Serve => write!(f, "roundabout serve, pid {}", self.pid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_the_readme_writes_them() {
        let cases = [
            (r#"{"op":"hello"}"#, Request::Hello),
            (r#"{"op":"log","follow":true}"#, Request::Log { follow: true, target: None }),
            (
                r#"{"op":"upstream","action":"disable","target":"app","url":"http://localhost:3000"}"#,
                Request::Upstream {
                    action: UpstreamAction::Disable,
                    target: "app".into(),
                    url: "http://localhost:3000".into(),
                },
            ),
        ];
        for (line, request) in cases {
            assert_eq!(serde_json::from_str::<Request>(line).unwrap(), request, "{line}");
            assert_eq!(serde_json::from_str::<Request>(&serde_json::to_string(&request).unwrap()).unwrap(), request);
        }
        let newer = serde_json::from_str::<Request>(r#"{"op":"status","since":1}"#);
        assert_eq!(newer.unwrap(), Request::Status, "fields a newer client adds are ignored");
        assert!(serde_json::from_str::<Request>(r#"{"op":"reboot"}"#).is_err());
    }
}
