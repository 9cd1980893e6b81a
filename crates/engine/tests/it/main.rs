//! The engine end to end: real Listeners on port 0, real upstream servers on ephemeral ports, real sockets and
//! files in temp dirs. One binary with a module per area, so the tests link once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod active_checks;
mod affinity;
mod client_wire;
mod control;
mod dev_servers;
mod draining;
mod events;
mod failover;
mod forwarding;
mod hardening;
mod health;
mod https;
mod listeners;
mod live;
mod reload;
mod round_robin;
mod routing;
mod store;
mod strategies;
mod streaming;
mod trust;
mod upgrade;
mod upstream_wire;
mod wire_rules;
