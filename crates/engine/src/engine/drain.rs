//! Draining: disabling an Upstream stops new requests at once (the new snapshot leaves it out of the rotation),
//! while requests in flight and open WebSockets finish on their own. This file reports it: a `draining` event when
//! an Upstream with open connections is disabled, and `disabled` once the last one has closed.

use std::sync::Arc;
use std::time::Duration;

use crate::event::{Event, HealthEvent, HealthState, now_ms};
use crate::proxy::Proxy;
use crate::routing::Mux;

/// How often a draining Upstream's open connections are counted.
const POLL: Duration = Duration::from_millis(50);

/// Publishes the health of every Upstream whose `enabled` changed between `previous` and `next`, and watches the
/// draining ones until they are empty.
pub(super) fn report_changes(previous: &Mux, next: &Mux, proxy: &Arc<Proxy>) {
    let now = tokio::time::Instant::now();
    for target in next.targets() {
        let Some(before) = previous.targets().iter().find(|t| t.name == target.name) else { continue };
        for upstream in &target.upstreams {
            let Some(old) = before.upstreams.iter().find(|u| u.url == upstream.url) else { continue };
            if old.enabled == upstream.enabled {
                continue;
            }
            let state = target.health_of(upstream, now);
            publish(proxy, &target.name, &upstream.label, &upstream.url, state);
            if matches!(state, HealthState::Draining { .. }) {
                tokio::spawn(watch(Arc::clone(proxy), Arc::clone(&target.name), Arc::clone(&upstream.url)));
            }
        }
    }
}

/// Waits until the Upstream has nothing open, then reports it disabled. Stops early if it is enabled again or
/// removed.
async fn watch(proxy: Arc<Proxy>, target: Arc<str>, url: Arc<str>) {
    loop {
        tokio::time::sleep(POLL).await;
        let mux = proxy.mux.load();
        let Some(t) = mux.targets().iter().find(|t| t.name == target) else { return };
        let Some(u) = t.upstreams.iter().find(|u| u.url == url) else { return };
        if u.enabled {
            return;
        }
        if u.stats.open() == 0 {
            publish(&proxy, &target, &u.label, &url, HealthState::Disabled);
            return;
        }
    }
}

fn publish(proxy: &Proxy, target: &Arc<str>, label: &Arc<str>, url: &Arc<str>, health: HealthState) {
    proxy.events.send(Event::Health(HealthEvent {
        at_ms: now_ms(),
        target: Arc::clone(target),
        upstream: Arc::clone(label),
        url: Arc::clone(url),
        health,
        reason: None,
    }));
}
