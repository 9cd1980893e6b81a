//! The bounded bus that carries Events from the engine to every subscriber (the CLI's printer, the app's forwarder).
//!
//! It is a `tokio::sync::broadcast` channel: sending never waits, a subscriber that falls behind loses the oldest
//! events and is told how many ([`Received::Missed`]). The proxy never slows down for a reader, and builds no
//! request event at all while nobody reads them.
//!
//! The bus also keeps the last [`RECENT`] changes (never requests: they are rare, and cost the request path
//! nothing), so `roundabout log` shows what happened lately to a reader that just arrived.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use super::Event;

/// What a subscriber gets from [`EventStream::recv`].
#[derive(Debug, Clone)]
pub enum Received {
    /// The next event.
    Event(Arc<Event>),
    /// This many events were dropped because the subscriber fell behind.
    Missed(u64),
}

/// How many changes the bus remembers for readers that arrive later.
pub const RECENT: usize = 200;

/// The sending side, shared by every Listener.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
    /// Subscribers that want request events; with none, the request path builds no event at all.
    request_readers: Arc<AtomicUsize>,
    /// The last [`RECENT`] changes, oldest first.
    recent: Arc<Mutex<VecDeque<Arc<Event>>>>,
}

impl EventBus {
    /// A bus that holds at most `capacity` unread events per subscriber.
    pub fn new(capacity: usize) -> Self {
        EventBus {
            tx: broadcast::channel(capacity.max(1)).0,
            request_readers: Arc::new(AtomicUsize::new(0)),
            recent: Arc::new(Mutex::new(VecDeque::with_capacity(RECENT))),
        }
    }

    /// True when a subscriber reads request events, so the request path can skip building them otherwise.
    pub fn requests_wanted(&self) -> bool {
        self.request_readers.load(Ordering::Relaxed) > 0
    }

    /// How many subscribers read request events.
    pub fn request_readers(&self) -> u32 {
        u32::try_from(self.request_readers.load(Ordering::Relaxed)).unwrap_or(u32::MAX)
    }

    /// Publishes without waiting; with no subscriber the event is simply dropped (a change is remembered).
    pub fn send(&self, event: Event) {
        let event = Arc::new(event);
        if !matches!(*event, Event::Request(_)) {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(Arc::clone(&event));
        }
        let _ = self.tx.send(event);
    }

    /// The last [`RECENT`] changes, oldest first.
    pub fn recent(&self) -> Vec<Arc<Event>> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RequestEvent;
    use http::Method;

    fn request() -> Event {
        Event::Request(RequestEvent {
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
            affinity: None,
        })
    }

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
    fn the_last_changes_are_remembered_and_requests_are_not() {
        let bus = EventBus::new(4);
        for i in 0..RECENT + 5 {
            bus.send(applied(i));
        }
        bus.send(request());
        let recent = bus.recent();
        assert_eq!(recent.len(), RECENT);
        assert!(matches!(*recent[0], Event::ConfigApplied { listeners: 5, .. }), "the oldest go first");
        assert!(matches!(*recent[RECENT - 1], Event::ConfigApplied { listeners, .. } if listeners == RECENT + 4));
    }

    #[tokio::test]
    async fn a_changes_only_subscriber_turns_off_request_events_and_skips_them() {
        let bus = EventBus::new(8);
        let mut changes = bus.subscribe_changes();
        assert!(!bus.requests_wanted(), "a quiet log must not make the request path build events");
        let all = bus.subscribe();
        assert!(bus.requests_wanted());
        bus.send(request());
        bus.send(applied(1));
        let Some(Received::Event(e)) = changes.recv().await else { panic!("expected the change") };
        assert!(matches!(*e, Event::ConfigApplied { listeners: 1, .. }));
        assert!(changes.try_recv().is_none());
        drop(all);
        assert!(!bus.requests_wanted());
    }
}
