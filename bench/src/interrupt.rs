//! Ctrl-C and SIGTERM end the run between measurements instead of killing the driver outright, so every child
//! (proxies, upstreams) is stopped by its guard rather than left running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::signal::unix::{SignalKind, signal};

/// Set once the run was asked to stop.
#[derive(Debug, Clone)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Starts watching for SIGINT and SIGTERM on a thread of its own.
    pub fn watch() -> Result<Interrupt, String> {
        let flag = Arc::new(AtomicBool::new(false));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| format!("cannot start the signal watcher: {e}"))?;
        // Registered here, before returning, so a signal right after start is already caught.
        let (mut terminate, mut interrupt) = runtime
            .block_on(async {
                Ok::<_, std::io::Error>((signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?))
            })
            .map_err(|e| format!("cannot watch signals: {e}"))?;
        let set = Arc::clone(&flag);
        std::thread::spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
            });
            set.store(true, Ordering::SeqCst);
        });
        Ok(Interrupt(flag))
    }

    /// `Err` once a stop was asked for; checked between measurements.
    pub fn check(&self) -> Result<(), String> {
        if self.0.load(Ordering::SeqCst) {
            Err("interrupted; stopped every process it started".to_string())
        } else {
            Ok(())
        }
    }
}
