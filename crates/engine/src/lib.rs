//! Roundabout's engine: a reverse proxy for local development that routes `*.localhost` names to dev servers.
//!
//! A **Listener** accepts connections; the **Mux** sends each request to the first **Target** whose matcher
//! accepts it; the Target's Balancer picks one of its **Upstreams**; every served request becomes an **Event**.
//! [`Engine::start`] returns an [`EngineHandle`], the one API the CLI and the desktop app share. This crate has no
//! UI and no argument parsing.

pub mod balance;
pub mod bind;
pub mod body;
pub mod checks;
pub mod chunked;
pub mod client;
pub mod client_body;
pub mod client_reader;
pub mod client_upgrade;
pub mod config;
pub mod decimal;
pub mod demo;
pub mod drain;
pub mod engine;
pub mod error;
pub mod event;
pub mod forward;
pub mod h1;
pub mod h1_server;
mod head_fields;
pub mod health;
pub mod host_index;
pub mod listener;
pub mod matcher;
pub mod mux;
pub mod pages;
pub mod pool;
pub mod prefixed_io;
pub mod proxy;
pub mod request_head;
pub mod response_head;
pub mod status;
pub mod target;
pub mod tunnel;
pub mod upload;
pub mod upstream;
pub mod upstream_body;
pub mod upstream_conn;
pub mod upstream_error;
pub mod upstream_url;

pub use config::store::{ConfigStore, SaveOutcome, StoreError};
pub use config::{Config, ConfigIssue, ConfigIssues};
pub use engine::{Engine, EngineHandle, EngineOptions};
pub use error::EngineError;
pub use event::{Event, EventStream, HealthEvent, HealthState, ListenerState, Received, RequestEvent};
pub use status::Status;
