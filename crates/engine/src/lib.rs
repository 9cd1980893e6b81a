//! Roundabout's engine: a reverse proxy for local development that routes `*.localhost` names to dev servers.
//!
//! A **Listener** accepts connections; the **Mux** sends each request to the first **Target** whose matcher
//! accepts it; the Target's Balancer picks one of its **Upstreams**; every served request becomes an **Event**.
//! [`Engine::start`] returns an [`EngineHandle`], the one API the CLI and the desktop app share. This crate has no
//! UI and no argument parsing.
//!
//! The layers, each a folder that imports only those below it: `http1` (the wire format) and `config` (the file)
//! at the bottom; `server` (Listeners), `upstream` (talking to dev servers), `health` and `routing` above them;
//! `proxy` (the request path) on top; `engine` wires them together; `control` (the control socket) lets terminals
//! reach a running engine.

pub mod config;
pub mod control;
pub mod event;

#[doc(hidden)]
pub mod harness;

mod discover;
mod engine;
mod health;
mod http1;
mod proxy;
mod routing;
mod server;
mod tls;
mod upstream;

pub use config::{Config, ConfigIssue, ConfigIssues, ConfigStore, SaveOutcome, StoreError, write_atomically};
pub use discover::{DevServer, DiscoverError, InUse, Project, discover, host_label, project_of};
pub use engine::{
    Attached, Check, DEMO_HOST, Engine, EngineError, EngineHandle, EngineOptions, FirstRun, ListenerStatus, LiveId,
    Serves, Status, TargetStatus, UpstreamStatus, diagnose,
};
pub use event::{
    Affinity, Event, EventStream, HealthEvent, HealthState, ListenerEvent, ListenerState, LiveEvent, LiveUpstream,
    Received, RequestEvent,
};
pub use server::HEADER_READ_TIMEOUT;
pub use tls::{LocalCa, TlsError, trust};
