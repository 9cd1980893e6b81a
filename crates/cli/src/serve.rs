//! `roundabout serve`: run the config, print one line per request, and follow edits to the file.

use std::path::PathBuf;
use std::process::ExitCode;

use roundabout_engine::control::{Claim, ControlError, InstanceKind};
use roundabout_engine::event::ListenerEvent;
use roundabout_engine::{ConfigStore, Engine, EngineHandle, EngineOptions, FirstRun, ListenerState, StoreError};

use crate::print::{self, Lines, Printer};

/// Runs until Ctrl-C (then drains in-flight requests) or until the config cannot be used at all.
pub async fn run(explicit: Option<PathBuf>, printer: Printer) -> ExitCode {
    let (path, explicit) = match crate::config_path(explicit) {
        Ok(found) => found,
        Err(e) => return crate::fail(&e),
    };
    let store = ConfigStore::new(&path);
    let shown = path.display();
    // One instance per config file: a second one is told who runs it rather than failing on a busy port.
    let claim = match Claim::take(&path).await {
        Ok(claim) => Some(claim),
        Err(e @ ControlError::AlreadyRunning { .. }) => return crate::fail(&e.to_string()),
        Err(e) => {
            print::err(&format!("warning: {e}; roundabout status, log and run cannot reach this instance"));
            None
        }
    };
    let config = match store.load().await {
        Ok(Some(config)) => config,
        Ok(None) if explicit => {
            return crate::fail(&format!(
                "{shown} does not exist; create it, or leave out --config to use your default config"
            ));
        }
        Ok(None) => {
            let first = FirstRun::probe();
            let config = first.config();
            if let Err(e) = store.save(&config).await {
                return crate::fail(&e.to_string());
            }
            print::err(&first.note(&shown.to_string()));
            config
        }
        Err(StoreError::Invalid { issues, .. }) => {
            print::err(&format!("error: {shown} has problems, so nothing was started:"));
            for issue in issues.iter() {
                print::err(&format!("  {issue}"));
            }
            print::err("Fix them and run again; `roundabout check` re-checks the file.");
            return ExitCode::FAILURE;
        }
        Err(e) => return crate::fail(&e.to_string()),
    };
    for warning in crate::check::warnings(&config) {
        print::err(&format!("warning: {warning}"));
    }
    let handle = match Engine::start(config, EngineOptions::default()).await {
        Ok(handle) => handle,
        Err(e) => return crate::fail(&e.to_string()),
    };
    print::err(&format!("Roundabout {} serving {shown} (edits apply live; Ctrl-C stops)", env!("CARGO_PKG_VERSION")));
    let control = match claim.map(|c| c.serve(handle.clone(), store.clone(), InstanceKind::Serve)) {
        None => None,
        Some(Ok(server)) => Some(server),
        Some(Err(e)) => {
            print::err(&format!("warning: {e}; roundabout status, log and run cannot reach this instance"));
            None
        }
    };
    let follower = match handle.follow(store) {
        Ok(task) => Some(task),
        Err(e) => {
            print::err(&format!("warning: {e}; edits will need a restart"));
            None
        }
    };
    let code = print_until_interrupted(&handle, &printer).await;
    if let Some(task) = follower {
        task.abort();
    }
    if let Some(control) = control {
        control.stop().await;
    }
    code
}

/// How long the printer rests after writing a batch: at most this much delay on a line, and at most 50 writes a
/// second however busy the proxy is.
const BATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Prints the Listeners' states, then every event, until Ctrl-C; then shuts down gracefully.
///
/// Events are written in batches: whatever is queued when one arrives goes out in the same write, and the printer
/// then rests for [`BATCH_PAUSE`], so a busy proxy costs one wake-up and one write per batch rather than one per
/// request. A quiet printer never asks for request events.
pub async fn print_until_interrupted(handle: &EngineHandle, printer: &Printer) -> ExitCode {
    let mut events = if printer.quiet() { handle.subscribe_changes() } else { handle.subscribe() };
    let mut lines = Lines::default();
    let status = handle.status().await;
    for l in &status.listeners {
        let state = if l.enabled { l.state } else { ListenerState::Stopped };
        let event = ListenerEvent {
            name: l.name.clone(),
            bind: l.bind.clone(),
            state,
            addresses: l.addresses.clone(),
            error: l.error.clone(),
        };
        printer.event(&roundabout_engine::Event::Listener(event), &mut lines);
    }
    lines.flush();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Some(received) => {
                    printer.received(&received, &mut lines);
                    while let Some(more) = events.try_recv() {
                        printer.received(&more, &mut lines);
                        if lines.full() {
                            lines.flush();
                        }
                    }
                    lines.flush();
                }
                None => break,
            },
            _ = &mut interrupted => break,
        }
        // Let a busy proxy's events gather instead of waking this task (and writing) for each one; a quiet one's
        // lines still show at once.
        tokio::select! {
            () = tokio::time::sleep(BATCH_PAUSE) => {}
            _ = &mut interrupted => break,
        }
    }
    print::err("Stopping: letting requests in flight finish…");
    handle.shutdown().await;
    ExitCode::SUCCESS
}
