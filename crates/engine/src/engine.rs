//! The Engine: the one API the CLI and the desktop app both drive. It owns the Listeners, swaps routing
//! snapshots, runs the demo, and publishes Events.
//!
//! Control calls (apply, start/stop a Listener, status) are serialized by an async mutex that the request path
//! never touches; requests only read the current [`Mux`] snapshot.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::bind::BindAddress;
use crate::checks::ActiveChecks;
use crate::config::store::{ConfigStore, StoreError};
use crate::config::{Config, ConfigIssue, ListenerConfig};
use crate::demo::DemoUpstreams;
use crate::error::EngineError;
use crate::event::{Event, EventBus, EventStream, ListenerEvent, ListenerState};
use crate::listener::{self, Running};
use crate::mux::Mux;
use crate::proxy::Proxy;
use crate::status::{self, ListenerStatus, Status};

/// How long a config file must stay unchanged before a failed read of it is reported.
const SETTLE: Duration = Duration::from_millis(300);

/// Tunables with defaults suited to a dev machine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Unread events kept per subscriber before the oldest are dropped (and counted). The default, 4096, holds
    /// more than one batch of the CLI's printer (20 ms) or the app's forwarder (50 ms) at 60k requests a second,
    /// while the ring (which keeps its last events alive) stays a couple of MiB.
    pub event_capacity: usize,
    /// How long a stopping Listener waits for in-flight requests.
    pub drain: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { event_capacity: 4096, drain: Duration::from_secs(5) }
    }
}

/// Starts engines.
#[derive(Debug)]
pub struct Engine;

impl Engine {
    /// Starts serving `config`. A Listener that cannot bind does not fail the start: it is reported in
    /// [`EngineHandle::status`] and as an event, and the others run.
    pub async fn start(config: Config, options: EngineOptions) -> Result<EngineHandle, EngineError> {
        let handle = EngineHandle {
            inner: Arc::new(Inner {
                proxy: Arc::new(Proxy::new(EventBus::new(options.event_capacity))),
                control: Mutex::new(Control {
                    config: Config::empty(),
                    slots: Vec::new(),
                    demo: None,
                    checks: ActiveChecks::default(),
                }),
                drain: options.drain,
            }),
        };
        tokio::spawn(sweep_idle_connections(Arc::downgrade(&handle.inner.proxy)));
        handle.apply(config, "startup").await?;
        Ok(handle)
    }
}

/// Closes pooled Upstream connections that sat idle too long, once a second, until the engine is gone: a dev server
/// is not left holding sockets Roundabout will never use.
async fn sweep_idle_connections(proxy: std::sync::Weak<Proxy>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(proxy) = proxy.upgrade() else { return };
        let now = tokio::time::Instant::now();
        for target in proxy.mux.load().targets() {
            for upstream in &target.upstreams {
                upstream.connections.sweep(now);
            }
        }
    }
}

/// A cheap, cloneable handle to a running engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    proxy: Arc<Proxy>,
    control: Mutex<Control>,
    drain: Duration,
}

#[derive(Debug)]
struct Control {
    config: Config,
    slots: Vec<Slot>,
    demo: Option<DemoUpstreams>,
    /// Active health check tasks, matched to the routing snapshot on every apply.
    checks: ActiveChecks,
}

/// One configured Listener and what became of it.
#[derive(Debug)]
struct Slot {
    config: ListenerConfig,
    bind: BindAddress,
    running: Option<Running>,
    /// Name the running accept loop reports; a rename restarts the Listener.
    running_name: String,
    error: Option<String>,
}

impl EngineHandle {
    /// Validates and applies a new config without dropping requests: Listeners are started or stopped only where
    /// they changed, and the routing snapshot is swapped atomically. `source` names where it came from (for the
    /// log). On error nothing changes.
    pub async fn apply(&self, config: Config, source: &str) -> Result<Status, EngineError> {
        if let Err(issues) = config.validate() {
            self.publish(Event::ConfigRejected { source: source.into(), issues: issues.0.clone() });
            return Err(EngineError::Invalid(issues));
        }
        let mut control = self.inner.control.lock().await;
        self.apply_locked(&mut control, config, source).await?;
        Ok(self.status_locked(&control))
    }

    /// Turns one Listener on or off and returns the resulting config, for the caller to save.
    pub async fn set_listener_enabled(&self, name: &str, enabled: bool) -> Result<Config, EngineError> {
        let mut control = self.inner.control.lock().await;
        let mut config = control.config.clone();
        let listener = config
            .listeners
            .iter_mut()
            .find(|l| Config::listener_name(l) == name)
            .ok_or_else(|| EngineError::UnknownListener(name.into()))?;
        listener.enabled = enabled;
        self.apply_locked(&mut control, config.clone(), "app").await?;
        Ok(config)
    }

    /// The config currently serving.
    pub async fn config(&self) -> Config {
        self.inner.control.lock().await.config.clone()
    }

    /// Listeners, Targets and per-Upstream counters right now.
    pub async fn status(&self) -> Status {
        let control = self.inner.control.lock().await;
        self.status_locked(&control)
    }

    /// A new subscriber to the event stream. It is bounded: a slow subscriber loses events (and is told how many);
    /// the proxy never waits for it.
    pub fn subscribe(&self) -> EventStream {
        self.inner.proxy.events.subscribe()
    }

    /// Like [`subscribe`](Self::subscribe), without request events: when only such subscribers exist, the request
    /// path builds no event at all (`roundabout serve --quiet`).
    pub fn subscribe_changes(&self) -> EventStream {
        self.inner.proxy.events.subscribe_changes()
    }

    /// Publishes an event (e.g. a config file edit that was refused) to every subscriber.
    pub fn publish(&self, event: Event) {
        self.inner.proxy.events.send(event);
    }

    /// Watches `store`'s file and applies every valid edit; an invalid one is reported as
    /// [`Event::ConfigRejected`] and the last good config keeps serving.
    pub fn follow(&self, store: ConfigStore) -> Result<JoinHandle<()>, EngineError> {
        let mut watch = store.watch()?;
        let handle = self.clone();
        Ok(tokio::spawn(async move {
            let source = store.path().display().to_string();
            let mut changed = watch.changed().await;
            while changed {
                let loaded = store.load().await;
                // An editor writing in place can be caught mid-write; a follow-up write usually comes at once, so
                // an unreadable file is reported only if the file then stays as it is for a moment.
                if loaded.is_err()
                    && let Ok(again) = tokio::time::timeout(SETTLE, watch.changed()).await
                {
                    changed = again;
                    continue;
                }
                match loaded {
                    Ok(Some(config)) => {
                        if config != handle.config().await {
                            let _ = handle.apply(config, &source).await;
                        }
                    }
                    Ok(None) => {}
                    Err(StoreError::Invalid { issues, .. }) => {
                        handle.publish(Event::ConfigRejected { source: source.clone(), issues: issues.0 });
                    }
                    Err(e) => handle.publish(Event::ConfigRejected {
                        source: source.clone(),
                        issues: vec![ConfigIssue { path: "$".into(), message: e.to_string() }],
                    }),
                }
                changed = watch.changed().await;
            }
        }))
    }

    /// Stops every Listener, letting in-flight requests finish (up to the drain time), and the demo.
    pub async fn shutdown(&self) {
        let mut control = self.inner.control.lock().await;
        let stops = control.slots.iter_mut().filter_map(|slot| slot.running.take()).map(Running::stop);
        futures_join_all(stops).await;
        control.demo = None;
        control.checks = ActiveChecks::default();
        self.inner.proxy.mux.store(Arc::new(Mux::default()));
    }

    async fn apply_locked(&self, control: &mut Control, config: Config, source: &str) -> Result<(), EngineError> {
        if config.demo && control.demo.is_none() {
            control.demo = Some(DemoUpstreams::start().await.map_err(|e| EngineError::Demo(e.to_string()))?);
        } else if !config.demo {
            control.demo = None;
        }
        let mut old = std::mem::take(&mut control.slots);
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
        for slot in old {
            if let Some(running) = slot.running {
                running.stop().await;
                self.listener_event(&slot.config, ListenerState::Stopped, Vec::new(), None);
            }
        }
        for slot in &mut slots {
            self.sync_slot(slot).await;
        }
        control.slots = slots;
        let own: Vec<SocketAddr> =
            control.slots.iter().filter_map(|s| s.running.as_ref()).flat_map(|r| r.addrs.iter().copied()).collect();
        let builtin = control.demo.as_ref().map(DemoUpstreams::target);
        let previous = self.inner.proxy.mux.load_full();
        let next = Arc::new(Mux::build(&config.targets, builtin.as_ref(), &previous, &own));
        self.inner.proxy.mux.store(Arc::clone(&next));
        control.checks.sync(&next, &self.inner.proxy);
        crate::drain::report_changes(&previous, &next, &self.inner.proxy);
        self.publish(Event::ConfigApplied {
            source: source.into(),
            listeners: config.listeners.len(),
            targets: config.targets.len(),
        });
        control.config = config;
        Ok(())
    }

    /// Starts or stops one Listener to match its config (and retries a failed bind).
    async fn sync_slot(&self, slot: &mut Slot) {
        let name = Config::listener_name(&slot.config).to_owned();
        let renamed = slot.running.is_some() && slot.running_name != name;
        if (!slot.config.enabled || renamed) && slot.running.is_some() {
            if let Some(running) = slot.running.take() {
                running.stop().await;
            }
            if !renamed {
                self.listener_event(&slot.config, ListenerState::Stopped, Vec::new(), None);
            }
        }
        slot.error = None;
        if !slot.config.enabled || slot.running.is_some() {
            return;
        }
        let started = listener::bind(&slot.bind).map_err(|e| e.to_string()).and_then(|sockets| {
            Running::start(&name, sockets, &self.inner.proxy, self.inner.drain).map_err(|e| e.to_string())
        });
        match started {
            Ok(running) => {
                let addrs = running.addrs.iter().map(ToString::to_string).collect();
                self.listener_event(&slot.config, ListenerState::Running, addrs, None);
                slot.running = Some(running);
                slot.running_name = name;
            }
            Err(error) => {
                self.listener_event(&slot.config, ListenerState::Failed, Vec::new(), Some(error.clone()));
                slot.error = Some(error);
            }
        }
    }

    fn listener_event(
        &self,
        config: &ListenerConfig,
        state: ListenerState,
        addresses: Vec<String>,
        error: Option<String>,
    ) {
        self.publish(Event::Listener(ListenerEvent {
            name: Config::listener_name(config).to_owned(),
            bind: config.bind.clone(),
            state,
            addresses,
            error,
        }));
    }

    fn status_locked(&self, control: &Control) -> Status {
        let listeners = control
            .slots
            .iter()
            .map(|slot| ListenerStatus {
                name: Config::listener_name(&slot.config).to_owned(),
                bind: slot.config.bind.clone(),
                enabled: slot.config.enabled,
                state: match (&slot.running, &slot.error) {
                    (Some(_), _) => ListenerState::Running,
                    (None, Some(_)) => ListenerState::Failed,
                    (None, None) => ListenerState::Stopped,
                },
                addresses: slot
                    .running
                    .as_ref()
                    .map(|r| r.addrs.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
                error: slot.error.clone(),
                exposed: slot.bind.exposed,
            })
            .collect();
        Status { listeners, targets: status::targets(&self.inner.proxy.mux.load()) }
    }
}

/// Awaits every future concurrently (so Listeners drain in parallel on shutdown).
async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(futures: impl Iterator<Item = F>) {
    let mut set = tokio::task::JoinSet::new();
    for f in futures {
        set.spawn(f);
    }
    while set.join_next().await.is_some() {}
}
