//! Streams the engine's events to the webview in batches: at most 20 digests a second, each carrying the new log
//! rows (capped) and the current counters; one a second when idle so rates fall to zero. The engine's bus is
//! bounded and never waits for us, so a slow webview only costs dropped (and counted) rows.

use std::time::{Duration, Instant};

use roundabout_engine::event::now_ms;
use roundabout_engine::{EngineHandle, Received};
use tauri::ipc::Channel;

use crate::wire::Digest;

/// Time between digests while events flow.
pub const TICK: Duration = Duration::from_millis(50);
/// Longest gap between digests when nothing happens.
pub const IDLE: Duration = Duration::from_secs(1);
/// Most log rows per digest; the UI keeps 1000, so more would only be thrown away there.
pub const MAX_ROWS: usize = 250;

/// Runs until the webview goes away (the channel refuses a message).
pub async fn forward(engine: EngineHandle, channel: Channel<Digest>) {
    let mut events = engine.subscribe();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_sent = Instant::now();
    loop {
        tick.tick().await;
        let mut rows = Vec::new();
        let mut missed = 0;
        while let Some(received) = events.try_recv() {
            match received {
                Received::Event(event) if rows.len() < MAX_ROWS => rows.push(event),
                Received::Event(_) => missed += 1,
                Received::Missed(n) => missed += n,
            }
        }
        if rows.is_empty() && missed == 0 && last_sent.elapsed() < IDLE {
            continue;
        }
        let digest = Digest { at_ms: now_ms(), events: rows, missed, status: engine.status().await };
        if channel.send(digest).is_err() {
            return;
        }
        last_sent = Instant::now();
    }
}
