//! Streams the engine's events to the webview in batches the page can keep up with: a digest (new log rows,
//! capped, plus the current counters) goes out at most every 50 ms and only once the page has shown the previous
//! one ([`DigestGate`]); rows arriving meanwhile are merged, the newest kept and the rest counted. So a page that
//! takes longer than a tick to draw never has a backlog growing inside the webview; under load it simply gets fewer,
//! fuller digests. One digest a second goes out when idle so rates fall to zero. The engine's bus is bounded and
//! never waits for us.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use roundabout_engine::event::now_ms;
use roundabout_engine::{EngineHandle, Received};
use tauri::ipc::Channel;

use crate::wire::Digest;

/// Time between digests while events flow.
pub const TICK: Duration = Duration::from_millis(50);
/// Longest gap between digests when nothing happens.
pub const IDLE: Duration = Duration::from_secs(1);
/// Most log rows per digest (the newest; the rest are counted). The page draws only the rows in view, but it still
/// receives, parses and filters every row sent; at 20k requests a second nobody reads every row anyway, and the
/// counters stay exact.
pub const MAX_ROWS: usize = 100;
/// How long to wait for the page to confirm a digest before sending the next one anyway.
pub const SHOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the page has shown the last digest (`digest_shown`): the next is sent only then.
#[derive(Debug, Default)]
pub struct DigestGate {
    shown: AtomicBool,
}

impl DigestGate {
    /// The page drew the last digest.
    pub fn shown(&self) {
        self.shown.store(true, Ordering::Release);
    }

    fn take(&self) -> bool {
        self.shown.swap(false, Ordering::AcqRel)
    }
}

/// Runs until the webview goes away (the channel refuses a message).
pub async fn forward(engine: EngineHandle, channel: Channel<Digest>, gate: Arc<DigestGate>) {
    let mut events = engine.subscribe();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut rows = VecDeque::new();
    let mut missed = 0;
    let mut last_sent = Instant::now();
    let mut awaiting = false;
    loop {
        tick.tick().await;
        while let Some(received) = events.try_recv() {
            match received {
                Received::Event(event) => {
                    // The newest rows are what a live log shows; older ones are only counted.
                    if rows.len() == MAX_ROWS {
                        rows.pop_front();
                        missed += 1;
                    }
                    rows.push_back(event);
                }
                Received::Missed(n) => missed += n,
            }
        }
        if awaiting && !gate.take() && last_sent.elapsed() < SHOWN_TIMEOUT {
            continue;
        }
        awaiting = false;
        if rows.is_empty() && missed == 0 && last_sent.elapsed() < IDLE {
            continue;
        }
        let events = rows.drain(..).collect();
        let digest =
            Digest { at_ms: now_ms(), events, missed: std::mem::take(&mut missed), status: engine.status().await };
        if channel.send(digest).is_err() {
            return;
        }
        last_sent = Instant::now();
        awaiting = true;
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

    /// An engine serving the demo, and a forwarder to a page that records digests (and confirms them if `acks`).
    async fn page(acks: bool) -> (roundabout_engine::EngineHandle, String, Received, tokio::task::JoinHandle<()>) {
        let listener = ListenerConfig::new("t", "127.0.0.1:0");
        let config = Config { demo: true, listeners: vec![listener], ..Config::empty() };
        let engine = Engine::start(config, EngineOptions::default()).await.unwrap();
        let addr = engine.status().await.listeners[0].addresses[0].clone();
        let digests: Received = Arc::default();
        let sink = Arc::clone(&digests);
        let gate = Arc::new(DigestGate::default());
        let page = Arc::clone(&gate);
        let channel = Channel::new(move |body| {
            if let InvokeResponseBody::Json(json) = body {
                sink.lock().unwrap().push((Instant::now(), serde_json::from_str(&json).unwrap()));
            }
            if acks {
                page.shown();
            }
            Ok(())
        });
        let task = tokio::spawn(forward(engine.clone(), channel, gate));
        // The idle digest proves the forwarder is subscribed before the burst starts.
        until("the idle digest", || !digests.lock().unwrap().is_empty()).await;
        (engine, addr, digests, task)
    }

    async fn burst(addr: &str) {
        for i in 0..REQUESTS {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let request = format!("GET /{i} HTTP/1.1\r\nHost: demo.localhost\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await.unwrap();
            assert!(response.starts_with(b"HTTP/1.1 200"));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(clippy::cast_precision_loss)] // counts and seconds, compared loosely
    async fn a_burst_arrives_in_few_digests_with_every_request_counted() {
        let (engine, addr, digests, task) = page(true).await;
        let started = Instant::now();
        burst(&addr).await;
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_that_has_not_drawn_the_last_digest_gets_no_new_one_until_the_timeout() {
        let (engine, addr, digests, task) = page(false).await;
        let started = Instant::now();
        burst(&addr).await;
        until("every request to be accounted for", || accounted(&digests) >= REQUESTS).await;
        assert_eq!(accounted(&digests), REQUESTS, "merged rows are still counted exactly once");
        let digests = digests.lock().unwrap().clone();
        let times: Vec<Instant> = digests.iter().map(|(at, _)| *at).collect();
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap + TICK >= SHOWN_TIMEOUT, "digests {gap:?} apart although the page confirmed none");
        }
        let after: Vec<_> = digests.iter().filter(|(at, _)| *at >= started).collect();
        let (_, last) = after.last().unwrap();
        let paths: Vec<&str> = last["events"].as_array().unwrap().iter().filter_map(|e| e["path"].as_str()).collect();
        assert_eq!(paths.last(), Some(&"/599"), "the newest rows are the ones kept");
        task.abort();
        engine.shutdown().await;
    }
}
