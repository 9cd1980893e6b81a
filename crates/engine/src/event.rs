//! What the live log shows, and the bounded bus that carries it.
//!
//! The bus is a `tokio::sync::broadcast` channel: sending never waits, a subscriber that falls behind loses the
//! oldest events and is told how many ([`Received::Missed`]). The proxy never slows down for a reader.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::config::ConfigIssue;

/// One thing that happened: a served request, or a change worth showing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A request was answered (by an Upstream or by Roundabout itself).
    Request(RequestEvent),
    /// A Listener started, stopped or failed to bind.
    Listener(ListenerEvent),
    /// An Upstream's health changed (failing, unhealthy, probation, healthy again, disabled, draining).
    Health(HealthEvent),
    /// A new config is now serving.
    ConfigApplied {
        /// Where it came from: a file path, or `app`.
        source: String,
        /// Number of Listeners in it.
        listeners: usize,
        /// Number of Targets in it.
        targets: usize,
    },
    /// A config edit was refused; the previous config keeps serving.
    ConfigRejected {
        /// Where it came from: a file path, or `app`.
        source: String,
        /// Every problem found.
        issues: Vec<ConfigIssue>,
    },
}

/// One request, as the live log shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RequestEvent {
    /// Milliseconds since the Unix epoch when the request arrived.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: u64,
    /// The Listener that accepted it.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub listener: Arc<str>,
    /// Request method.
    // An `http::Method`, not a String: the usual methods cost no allocation per request.
    #[serde(serialize_with = "serialize_method")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub method: Method,
    /// Host the client asked for (without port).
    pub host: String,
    /// Path and query as the client sent them.
    pub path: String,
    /// The Target that matched, if any.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[schemars(with = "Option<String>")]
    pub target: Option<Arc<str>>,
    /// The Upstream that answered (its short label), if one did.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[schemars(with = "Option<String>")]
    pub upstream: Option<Arc<str>>,
    /// Status sent to the client.
    pub status: u16,
    /// Time until the response head was ready, in microseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub latency_us: u64,
    /// Why Roundabout answered itself (no match, every upstream failed…), if it did.
    pub error: Option<String>,
    /// Upstreams tried before the one that answered, and why each failed.
    pub failed: Vec<FailedAttempt>,
}

/// Writes a method as its name (`"GET"`).
fn serialize_method<S: serde::Serializer>(method: &Method, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(method.as_str())
}

/// An attempt at one Upstream that failed before any response.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FailedAttempt {
    /// The Upstream's label.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub upstream: Arc<str>,
    /// The cause, e.g. `connection refused`.
    pub error: String,
}

/// A change in one Upstream's health.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HealthEvent {
    /// Milliseconds since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: u64,
    /// The Target it belongs to.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub target: Arc<str>,
    /// The Upstream's label, e.g. `127.0.0.1:3002`.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub upstream: Arc<str>,
    /// Its URL as configured.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[schemars(with = "String")]
    pub url: Arc<str>,
    /// The new state.
    pub health: HealthState,
    /// What caused it, e.g. `connection refused`, `status 503`, `active check: status 500`.
    pub reason: Option<String>,
}

/// The health of one Upstream, as events and status report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HealthState {
    /// Takes requests.
    Healthy,
    /// Takes requests, but failed this many times in a row; at `threshold` it becomes unhealthy.
    Failing {
        /// Consecutive failures.
        failures: u32,
        /// Failures that make it unhealthy.
        threshold: u32,
    },
    /// Skipped until its cool-down ends; then one request probes it.
    Unhealthy {
        /// Consecutive failures.
        failures: u32,
        /// When the cool-down ends, in milliseconds since the Unix epoch.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        retry_at_ms: u64,
        /// Time left in the cool-down when this was reported, in milliseconds.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        retry_in_ms: u64,
    },
    /// One probe request is in flight; its outcome decides.
    Probation,
    /// Disabled by the user, nothing left open.
    Disabled,
    /// Disabled by the user; finishing its open requests and WebSockets.
    Draining {
        /// In-flight requests plus open upgraded connections.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        open: u64,
    },
}

impl std::fmt::Display for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HealthState::Healthy => write!(f, "healthy"),
            HealthState::Failing { failures, threshold } => write!(f, "failing {failures}/{threshold}"),
            HealthState::Unhealthy { retry_in_ms, .. } => write!(f, "unhealthy; retry in {}", seconds(*retry_in_ms)),
            HealthState::Probation => write!(f, "on probation"),
            HealthState::Disabled => write!(f, "disabled"),
            HealthState::Draining { open } => write!(f, "draining ({open} open)"),
        }
    }
}

/// A duration in milliseconds for people: `10s`, `1.5s`, `200ms`.
pub fn seconds(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        #[allow(clippy::cast_precision_loss)] // display only
        let s = ms as f64 / 1000.0;
        format!("{s:.1}s")
    }
}

/// A Listener's state change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListenerEvent {
    /// The Listener's name.
    pub name: String,
    /// Its bind value from the config.
    pub bind: String,
    /// What it is doing now.
    pub state: ListenerState,
    /// The addresses actually bound (with real ports when the config said 0).
    pub addresses: Vec<String>,
    /// Why it is not running, when it failed.
    pub error: Option<String>,
}

/// Whether a Listener is accepting connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ListenerState {
    /// Bound and accepting.
    Running,
    /// Not started (disabled, or stopped by the user).
    Stopped,
    /// Could not bind; see the error.
    Failed,
}

/// What a subscriber gets from [`EventStream::recv`].
#[derive(Debug, Clone)]
pub enum Received {
    /// The next event.
    Event(Arc<Event>),
    /// This many events were dropped because the subscriber fell behind.
    Missed(u64),
}

/// The sending side, shared by every Listener.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
    /// Subscribers that want request events; with none, the request path builds no event at all.
    request_readers: Arc<AtomicUsize>,
}

impl EventBus {
    /// A bus that holds at most `capacity` unread events per subscriber.
    pub fn new(capacity: usize) -> Self {
        EventBus { tx: broadcast::channel(capacity.max(1)).0, request_readers: Arc::new(AtomicUsize::new(0)) }
    }

    /// True when someone is listening, so changes nobody reads are not built.
    pub fn wanted(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// True when a subscriber reads request events, so the request path can skip building them otherwise.
    pub fn requests_wanted(&self) -> bool {
        self.request_readers.load(Ordering::Relaxed) > 0
    }

    /// Publishes without waiting; with no subscriber the event is simply dropped.
    pub fn send(&self, event: Event) {
        let _ = self.tx.send(Arc::new(event));
    }

    /// A new subscriber to every event, starting with the next one.
    pub fn subscribe(&self) -> EventStream {
        self.request_readers.fetch_add(1, Ordering::Relaxed);
        EventStream { rx: self.tx.subscribe(), requests: Some(Arc::clone(&self.request_readers)) }
    }

    /// A new subscriber to changes only (Listeners, health, config): a quiet log costs the request path nothing.
    pub fn subscribe_changes(&self) -> EventStream {
        EventStream { rx: self.tx.subscribe(), requests: None }
    }
}

/// One subscriber's view of the bus.
#[derive(Debug)]
pub struct EventStream {
    rx: broadcast::Receiver<Arc<Event>>,
    /// The bus's count of request readers, when this subscriber is one (decremented on drop).
    requests: Option<Arc<AtomicUsize>>,
}

impl EventStream {
    /// The next event, or how many were missed; `None` once the engine is gone.
    pub async fn recv(&mut self) -> Option<Received> {
        loop {
            match self.rx.recv().await {
                Ok(event) if self.skips(&event) => {}
                Ok(event) => return Some(Received::Event(event)),
                Err(broadcast::error::RecvError::Lagged(n)) => return Some(Received::Missed(n)),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Like [`recv`](Self::recv) without waiting: `None` when nothing is queued.
    pub fn try_recv(&mut self) -> Option<Received> {
        loop {
            match self.rx.try_recv() {
                Ok(event) if self.skips(&event) => {}
                Ok(event) => return Some(Received::Event(event)),
                Err(broadcast::error::TryRecvError::Lagged(n)) => return Some(Received::Missed(n)),
                Err(_) => return None,
            }
        }
    }

    /// A changes-only subscriber skips the request events other subscribers asked for.
    fn skips(&self, event: &Event) -> bool {
        self.requests.is_none() && matches!(event, Event::Request(_))
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        if let Some(readers) = &self.requests {
            readers.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Milliseconds since the Unix epoch, for event timestamps.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(n: usize) -> Event {
        Event::ConfigApplied { source: "test".into(), listeners: n, targets: 0 }
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_how_many_it_missed() {
        let bus = EventBus::new(4);
        let mut slow = bus.subscribe();
        for i in 0..10 {
            bus.send(applied(i));
        }
        assert!(matches!(slow.recv().await, Some(Received::Missed(6))));
        let Some(Received::Event(e)) = slow.recv().await else { panic!("expected an event") };
        assert!(matches!(*e, Event::ConfigApplied { listeners: 6, .. }));
    }

    #[test]
    fn nobody_listening_means_events_are_not_wanted() {
        let bus = EventBus::new(4);
        assert!(!bus.wanted());
        bus.send(applied(0));
        let _sub = bus.subscribe();
        assert!(bus.wanted());
    }

    #[tokio::test]
    async fn a_changes_only_subscriber_turns_off_request_events_and_skips_them() {
        let bus = EventBus::new(8);
        let mut changes = bus.subscribe_changes();
        assert!(bus.wanted());
        assert!(!bus.requests_wanted(), "a quiet log must not make the request path build events");
        let all = bus.subscribe();
        assert!(bus.requests_wanted());
        bus.send(Event::Request(RequestEvent {
            at_ms: 0,
            listener: "web".into(),
            method: Method::GET,
            host: "h".into(),
            path: "/".into(),
            target: None,
            upstream: None,
            status: 404,
            latency_us: 1,
            error: None,
            failed: vec![],
        }));
        bus.send(applied(1));
        let Some(Received::Event(e)) = changes.recv().await else { panic!("expected the change") };
        assert!(matches!(*e, Event::ConfigApplied { listeners: 1, .. }));
        assert!(changes.try_recv().is_none());
        drop(all);
        assert!(!bus.requests_wanted());
    }
}
