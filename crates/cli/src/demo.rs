//! `roundabout demo`: the built-in demo on its own Listener, with no config file read or written.

use std::process::ExitCode;

use roundabout_engine::DEMO_HOST;
use roundabout_engine::config::ListenerConfig;
use roundabout_engine::{Config, Engine, EngineOptions};

use crate::print::{self, Printer};

/// Runs the demo until Ctrl-C.
pub async fn run(bind: &str, printer: Printer) -> ExitCode {
    let config = Config { demo: true, listeners: vec![ListenerConfig::new("demo", bind)], ..Config::empty() };
    let handle = match Engine::start(config, EngineOptions::default()).await {
        Ok(handle) => handle,
        Err(e) => return crate::fail(&e.to_string()),
    };
    let status = handle.status().await;
    let Some(listener) = status.listeners.first() else { return crate::fail("the demo has no listener") };
    if let Some(error) = &listener.error {
        return crate::fail(&format!("{error}\nTry another address: roundabout demo --bind 127.0.0.1:8801"));
    }
    let port = listener.addresses.first().and_then(|a| a.rsplit(':').next()).unwrap_or("8800");
    print::err(&format!(
        "Demo: open http://{DEMO_HOST}:{port} and reload; each request goes to the next of three demo upstreams.\n\
         Nothing is saved. Ctrl-C stops."
    ));
    crate::serve::print_until_interrupted(&handle, &printer).await
}
