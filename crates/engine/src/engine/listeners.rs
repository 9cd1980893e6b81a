//! The engine's Listeners: one slot per configured Listener, started, stopped and rebound only where the config
//! changed, and told to the log as they go.
//!
//! Stopping a Listener closes its sockets at once (so its address can be bound again in the same apply) and hands
//! back the drain of its open connections, which the caller awaits *after* releasing the engine's control lock: a
//! WebSocket left open for minutes never freezes `status` or the app.

use std::sync::Arc;
use std::time::Duration;

use super::status::{ListenerStatus, Serves};
use crate::config::{BindAddress, Config, ListenerConfig};
use crate::event::{Event, EventBus, ListenerEvent, ListenerState};
use crate::proxy::{Proxy, Redirect};
use crate::server::{self, Draining, Running};

/// One configured Listener and what became of it.
#[derive(Debug)]
pub(super) struct Slot {
    config: ListenerConfig,
    bind: BindAddress,
    running: Option<Running>,
    /// Name the running accept loop reports; a rename restarts the Listener.
    running_name: String,
    error: Option<String>,
}

/// What Listeners need to start: the proxy their requests go to (and their events), the drain time, and the TLS
/// settings HTTPS Listeners serve with (or why there are none).
#[derive(Debug)]
pub(super) struct Binder<'a> {
    pub(super) proxy: &'a Arc<Proxy>,
    pub(super) drain: Duration,
    pub(super) tls: &'a Result<Arc<rustls::ServerConfig>, String>,
}

impl Binder<'_> {
    /// Matches the running Listeners to `config`: a Listener keeps its sockets when its bind value (and, among
    /// equal ones, its name) is unchanged; the others stop or start. Returns the new slots and the drains of the
    /// Listeners that stopped.
    pub(super) async fn reconcile(&self, mut old: Vec<Slot>, config: &Config) -> (Vec<Slot>, Vec<Draining>) {
        let mut slots = Vec::with_capacity(config.listeners.len());
        for listener in &config.listeners {
            let Ok(bind) = BindAddress::parse(&listener.bind) else { continue };
            // Several Listeners may share a bind value (port 0 picks a port each), so the one with the same name is
            // preferred; otherwise an unchanged Listener could take a sibling's socket and both would be rebound.
            let name = Config::listener_name(listener);
            let reused = old
                .iter()
                .position(|s| s.bind == bind && Config::listener_name(&s.config) == name)
                .or_else(|| old.iter().position(|s| s.bind == bind));
            let mut slot = match reused {
                Some(i) => old.swap_remove(i),
                None => {
                    Slot { config: listener.clone(), bind, running: None, running_name: String::new(), error: None }
                }
            };
            slot.config = listener.clone();
            slots.push(slot);
        }
        let mut draining = Vec::new();
        for slot in old {
            if let Some(running) = slot.running {
                draining.push(running.stop().await);
                self.publish(&slot.config, ListenerState::Stopped, Vec::new(), None);
            }
        }
        for slot in &mut slots {
            if let Some(drain) = self.sync(slot).await {
                draining.push(drain);
            }
        }
        (slots, draining)
    }

    /// Starts or stops one Listener to match its config (and retries a failed bind); the drain of one it stopped.
    async fn sync(&self, slot: &mut Slot) -> Option<Draining> {
        let name = Config::listener_name(&slot.config).to_owned();
        let renamed = slot.running.is_some() && slot.running_name != name;
        let mut drain = None;
        if (!slot.config.enabled || renamed)
            && let Some(running) = slot.running.take()
        {
            drain = Some(running.stop().await);
            if !renamed {
                self.publish(&slot.config, ListenerState::Stopped, Vec::new(), None);
            }
        }
        slot.error = None;
        if !slot.config.enabled || slot.running.is_some() {
            return drain;
        }
        let started = self.start(&name, &slot.config, &slot.bind);
        match started {
            Ok(running) => {
                let addrs = running.addrs.iter().map(ToString::to_string).collect();
                self.publish(&slot.config, ListenerState::Running, addrs, None);
                slot.running = Some(running);
                slot.running_name = name;
            }
            Err(error) => {
                self.publish(&slot.config, ListenerState::Failed, Vec::new(), Some(error.clone()));
                slot.error = Some(error);
            }
        }
        drain
    }

    /// Binds and starts one Listener: HTTPS, a redirect to HTTPS, or plain HTTP.
    fn start(&self, name: &str, config: &ListenerConfig, bind: &BindAddress) -> Result<Running, String> {
        let tls = match (config.tls, self.tls) {
            (false, _) => None,
            (true, Ok(tls)) => Some(Arc::clone(tls)),
            (true, Err(why)) => return Err(format!("HTTPS is unavailable: {why}")),
        };
        let sockets = server::bind(&bind.addrs, bind.exposed).map_err(|e| e.to_string())?;
        let started = if config.redirect_https {
            Running::start(name, sockets, &Arc::new(Redirect(Arc::clone(self.proxy))), None, self.drain)
        } else {
            Running::start(name, sockets, self.proxy, tls, self.drain)
        };
        started.map_err(|e| e.to_string())
    }

    fn publish(&self, config: &ListenerConfig, state: ListenerState, addresses: Vec<String>, error: Option<String>) {
        publish(&self.proxy.events, config, state, addresses, error);
    }
}

fn publish(
    events: &EventBus,
    config: &ListenerConfig,
    state: ListenerState,
    addresses: Vec<String>,
    error: Option<String>,
) {
    events.send(Event::Listener(ListenerEvent {
        name: Config::listener_name(config).to_owned(),
        bind: config.bind.clone(),
        state,
        addresses,
        error,
    }));
}

impl Slot {
    /// Stops the Listener if it runs; the drain of its connections.
    pub(super) async fn stop(&mut self) -> Option<Draining> {
        match self.running.take() {
            Some(running) => Some(running.stop().await),
            None => None,
        }
    }

    /// The port of its first address when it runs HTTPS.
    pub(super) fn https_port(&self) -> Option<u16> {
        self.config.tls.then(|| self.addrs().next().map(|a| a.port())).flatten()
    }

    /// Every address it listens on right now.
    pub(super) fn addrs(&self) -> impl Iterator<Item = std::net::SocketAddr> + '_ {
        self.running.iter().flat_map(|r| r.addrs.iter().copied())
    }

    /// What status shows of it.
    pub(super) fn status(&self) -> ListenerStatus {
        ListenerStatus {
            name: Config::listener_name(&self.config).to_owned(),
            bind: self.config.bind.clone(),
            enabled: self.config.enabled,
            state: match (&self.running, &self.error) {
                (Some(_), _) => ListenerState::Running,
                (None, Some(_)) => ListenerState::Failed,
                (None, None) => ListenerState::Stopped,
            },
            addresses: self.addrs().map(|a| a.to_string()).collect(),
            error: self.error.clone(),
            exposed: self.bind.exposed,
            serves: match (self.config.tls, self.config.redirect_https) {
                (true, _) => Serves::Https,
                (false, true) => Serves::RedirectToHttps,
                (false, false) => Serves::Http,
            },
        }
    }
}

/// Waits for every drain at once, so Listeners drain in parallel.
pub(super) async fn finish(draining: Vec<Draining>) {
    let mut set = tokio::task::JoinSet::new();
    for drain in draining {
        set.spawn(drain.finish());
    }
    while set.join_next().await.is_some() {}
}
