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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use roundabout_engine::config::ListenerConfig;
    use roundabout_engine::{Config, Engine, EngineOptions};
    use tauri::ipc::{Channel, InvokeResponseBody};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    type Received = Arc<Mutex<Vec<(Instant, serde_json::Value)>>>;

    fn until(what: &str, mut done: impl FnMut() -> bool) -> impl std::future::Future<Output = ()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let what = what.to_owned();
        async move {
            while !done() {
                assert!(Instant::now() < deadline, "timed out waiting for {what}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// Requests (and dropped rows) reported across all digests.
    fn accounted(digests: &Received) -> u64 {
        let digests = digests.lock().unwrap();
        digests
            .iter()
            .map(|(_, d)| {
                let rows = d["events"].as_array().map_or(0, |e| e.iter().filter(|e| e["type"] == "request").count());
                rows as u64 + d["missed"].as_u64().unwrap_or(0)
            })
            .sum()
    }

    const REQUESTS: u64 = 600;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(clippy::cast_precision_loss)] // counts and seconds, compared loosely
    async fn a_burst_arrives_in_few_digests_with_every_request_counted() {
        let listener = ListenerConfig { name: Some("t".into()), bind: "127.0.0.1:0".into(), enabled: true };
        let config = Config { demo: true, listeners: vec![listener], ..Config::empty() };
        let engine = Engine::start(config, EngineOptions::default()).await.unwrap();
        let addr = engine.status().await.listeners[0].addresses[0].clone();
        let digests: Received = Arc::default();
        let sink = Arc::clone(&digests);
        let channel = Channel::new(move |body| {
            if let InvokeResponseBody::Json(json) = body {
                sink.lock().unwrap().push((Instant::now(), serde_json::from_str(&json).unwrap()));
            }
            Ok(())
        });
        let task = tokio::spawn(forward(engine.clone(), channel));
        // The idle digest proves the forwarder is subscribed before the burst starts.
        until("the idle digest", || !digests.lock().unwrap().is_empty()).await;

        let started = Instant::now();
        for _ in 0..REQUESTS {
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            stream.write_all(b"GET / HTTP/1.1\r\nHost: demo.localhost\r\nConnection: close\r\n\r\n").await.unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await.unwrap();
            assert!(response.starts_with(b"HTTP/1.1 200"));
        }
        until("every request to be accounted for", || accounted(&digests) >= REQUESTS).await;
        let elapsed = started.elapsed().as_secs_f64();

        assert_eq!(accounted(&digests), REQUESTS, "each request is a row or counted as missed, exactly once");
        {
            let digests = digests.lock().unwrap();
            let during = digests.iter().filter(|(at, _)| *at >= started).count();
            let bound = elapsed * 1000.0 / TICK.as_millis() as f64 + 2.0;
            assert!((during as f64) <= bound, "{during} digests in {elapsed:.2}s: more than one per tick");
            assert!(digests.iter().all(|(_, d)| d["events"].as_array().is_some_and(|e| e.len() <= MAX_ROWS)));
            let (_, last) = digests.last().unwrap();
            let served: u64 = last["status"]["targets"][0]["upstreams"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["requests"].as_u64().unwrap())
                .sum();
            assert_eq!(served, REQUESTS, "the counters in the digest cover every request");
        }
        task.abort();
        engine.shutdown().await;
    }
}
