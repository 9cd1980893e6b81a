//! Health: whether an Upstream should be sent requests. A lock-free state machine per Upstream fed by the requests
//! it serves (passive checks) and, where a Target asks for them, by polling it (active checks); and how a change
//! is told to the live log.
//!
//! Selection reads the state (routing imports this folder); nothing here knows about routing: the engine hands the
//! active checks a [`CheckPlan`] per Target.

mod active;
mod state;

use std::sync::Arc;

use crate::event::{Event, EventBus, HealthEvent, now_ms};

pub(crate) use active::{ActiveChecks, CheckPlan, Checked};
pub(crate) use state::{Admission, Change, Health, Policy, Probe, View};

/// Publishes a health change of Upstream `label` (`url`) of Target `target`, with what caused it (rare: only on a
/// change of state, so it is built whether or not anyone listens, and remembered for `roundabout log`).
pub(crate) fn report(
    events: &EventBus,
    target: &Arc<str>,
    label: &Arc<str>,
    url: &Arc<str>,
    change: Change,
    reason: Option<&str>,
) {
    events.send(Event::Health(HealthEvent {
        at_ms: now_ms(),
        target: Arc::clone(target),
        upstream: Arc::clone(label),
        url: Arc::clone(url),
        health: change.state(),
        reason: reason.map(str::to_owned),
    }));
}
