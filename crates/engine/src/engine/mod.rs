//! The Engine: the one API the CLI and the desktop app both drive. It turns a config into running Listeners and a
//! routing snapshot, runs what watches that snapshot (active health checks, draining reports, the idle-connection
//! sweep) and the demo, and publishes Events.
//!
//! Control calls (apply, start/stop a Listener, status) are serialized by an async mutex that the request path
//! never touches, and that is never held while a Listener's connections drain; requests only read the current
//! [`Mux`] snapshot.

mod demo;
mod doctor;
mod drain;
mod error;
mod first_run;
mod follow;
mod listeners;
mod live;
mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Mutex;

pub use self::demo::DEMO_HOST;
use self::demo::DemoUpstreams;
pub use self::doctor::{Check, diagnose};
pub use self::error::EngineError;
pub use self::first_run::FirstRun;
use self::listeners::{Binder, Slot};
pub use self::live::{Attached, LiveId};
pub use self::status::{ListenerStatus, Serves, Status, TargetStatus, UpstreamStatus};
use crate::config::Config;
use crate::event::{Event, EventBus, EventStream};
use crate::health::ActiveChecks;
use crate::proxy::Proxy;
use crate::routing::Mux;
use crate::server::Draining;
use crate::tls::{self, Leaves, LocalCa};

/// Tunables with defaults suited to a dev machine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Unread events kept per subscriber before the oldest are dropped (and counted). The default, 4096, holds
    /// more than one batch of the CLI's printer (20 ms) or the app's forwarder (50 ms) at 60k requests a second,
    /// while the ring (which keeps its last events alive) stays a couple of MiB.
    pub event_capacity: usize,
    /// How long a stopping Listener waits for in-flight requests.
    pub drain: Duration,
    /// Where the local CA of HTTPS Listeners lives; `None`: the user's data directory ([`LocalCa::default_dir`]).
    pub ca_dir: Option<PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { event_capacity: 4096, drain: Duration::from_secs(5), ca_dir: None }
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
                    tls: None,
                    live: Vec::new(),
                    next_live: 0,
                }),
                drain: options.drain,
                ca_dir: options.ca_dir,
            }),
        };
        tokio::spawn(sweep_idle_connections(Arc::downgrade(&handle.inner.proxy)));
        handle.apply(config, "startup").await?;
        Ok(handle)
    }
}

/// Closes pooled Upstream connections that sat idle too long, once a second, until the engine is gone: a dev server
/// is not left holding sockets Roundabout will never use.
async fn sweep_idle_connections(proxy: Weak<Proxy>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(proxy) = proxy.upgrade() else { return };
        let now = tokio::time::Instant::now();
        for upstream in proxy.mux.load().targets().iter().flat_map(|t| &t.upstreams) {
            upstream.connections.sweep(now);
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
    ca_dir: Option<PathBuf>,
}

/// What control calls change, one at a time.
#[derive(Debug)]
struct Control {
    /// The config serving now.
    config: Config,
    /// One per configured Listener, in config order.
    slots: Vec<Slot>,
    /// The built-in demo's Upstreams, while the config asks for the demo.
    demo: Option<DemoUpstreams>,
    /// Active health check tasks, matched to the routing snapshot on every apply.
    checks: ActiveChecks,
    /// The TLS settings of HTTPS Listeners (or why they could not be made), made when the first one starts.
    tls: Option<Result<Arc<rustls::ServerConfig>, String>>,
    /// Live Upstreams (`roundabout run`), in the order they joined: routed, never saved.
    live: Vec<live::Joined>,
    /// The last [`LiveId`] handed out.
    next_live: u64,
}

impl EngineHandle {
    /// Validates and applies a new config without dropping requests: Listeners are started or stopped only where
    /// they changed, and the routing snapshot is swapped atomically. `source` names where it came from (for the
    /// log). On error nothing changes. Listeners it stops finish their open requests in the background.
    pub async fn apply(&self, config: Config, source: &str) -> Result<Status, EngineError> {
        if let Err(issues) = config.validate() {
            self.publish(Event::ConfigRejected { source: source.into(), issues: issues.0.clone() });
            return Err(EngineError::Invalid(issues));
        }
        let mut control = self.inner.control.lock().await;
        let draining = self.apply_locked(&mut control, config, source).await?;
        let status = self.status_locked(&control);
        drop(control);
        tokio::spawn(listeners::finish(draining));
        Ok(status)
    }

    /// Turns one Listener on or off and returns the resulting config, for the caller to save. A Listener turned off
    /// stops accepting at once; its open requests finish in the background.
    pub async fn set_listener_enabled(&self, name: &str, enabled: bool) -> Result<Config, EngineError> {
        let mut control = self.inner.control.lock().await;
        let mut config = control.config.clone();
        let listener = config
            .listeners
            .iter_mut()
            .find(|l| Config::listener_name(l) == name)
            .ok_or_else(|| EngineError::UnknownListener(name.into()))?;
        listener.enabled = enabled;
        let draining = self.apply_locked(&mut control, config.clone(), "app").await?;
        drop(control);
        tokio::spawn(listeners::finish(draining));
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

    /// The last changes (health, Listeners, live Upstreams, config; not requests), oldest first: what a log reader
    /// that just arrived is shown first.
    pub fn recent_changes(&self) -> Vec<Arc<Event>> {
        self.inner.proxy.events.recent()
    }

    /// Publishes an event (e.g. a config file edit that was refused) to every subscriber.
    pub fn publish(&self, event: Event) {
        self.inner.proxy.events.send(event);
    }

    /// Stops every Listener, letting in-flight requests finish (up to the drain time), and the demo.
    pub async fn shutdown(&self) {
        let mut control = self.inner.control.lock().await;
        let mut draining = Vec::new();
        for slot in &mut control.slots {
            draining.extend(slot.stop().await);
        }
        control.demo = None;
        control.checks = ActiveChecks::default();
        self.inner.proxy.mux.store(Arc::new(Mux::default()));
        drop(control);
        listeners::finish(draining).await;
    }

    /// Applies `config` under the control lock; returns the drains of the Listeners it stopped.
    async fn apply_locked(
        &self,
        control: &mut Control,
        config: Config,
        source: &str,
    ) -> Result<Vec<Draining>, EngineError> {
        if config.demo && control.demo.is_none() {
            control.demo = Some(DemoUpstreams::start().map_err(|e| EngineError::Demo(e.to_string()))?);
        } else if !config.demo {
            control.demo = None;
        }
        if control.tls.is_none() && config.listeners.iter().any(|l| l.tls && l.enabled) {
            control.tls = Some(self.tls_settings().await);
        }
        let no_tls = Err("no HTTPS Listener asked for it".to_owned());
        let tls = control.tls.as_ref().unwrap_or(&no_tls);
        let binder = Binder { proxy: &self.inner.proxy, drain: self.inner.drain, tls };
        let (slots, draining) = binder.reconcile(std::mem::take(&mut control.slots), &config).await;
        control.slots = slots;
        let https_port = control.slots.iter().find_map(Slot::https_port).unwrap_or(0);
        self.inner.proxy.https_port.store(https_port, std::sync::atomic::Ordering::Relaxed);
        control.config = config;
        self.rebuild(control);
        self.publish(Event::ConfigApplied {
            source: source.into(),
            listeners: control.config.listeners.len(),
            targets: control.config.targets.len(),
        });
        Ok(draining)
    }

    /// Builds and swaps in the routing snapshot of the config, the demo and the live Upstreams, and matches active
    /// health checks and drain reports to it.
    fn rebuild(&self, control: &mut Control) {
        let own: Vec<SocketAddr> = control.slots.iter().flat_map(Slot::addrs).collect();
        let builtin = control.demo.as_ref().map(DemoUpstreams::target);
        let live: Vec<crate::routing::Live> = control.live.iter().map(|j| j.live.clone()).collect();
        let proxy = &self.inner.proxy;
        let previous = proxy.mux.load_full();
        let next = Arc::new(Mux::build(&control.config.targets, builtin.as_ref(), &live, &previous, &own));
        proxy.mux.store(Arc::clone(&next));
        control.checks.sync(next.targets().iter().filter_map(|t| t.check_plan()), &proxy.connector, &proxy.events);
        drain::report_changes(&previous, &next, proxy);
    }

    /// Loads (or creates) the local CA and builds the TLS settings of HTTPS Listeners, off the async threads.
    async fn tls_settings(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let dir = match &self.inner.ca_dir {
            Some(dir) => dir.clone(),
            None => LocalCa::default_dir().map_err(|e| e.to_string())?,
        };
        let ca = tokio::task::spawn_blocking(move || LocalCa::load_or_create(&dir))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        tls::server_config(Arc::new(Leaves::new(Arc::new(ca)))).map_err(|e| e.to_string())
    }

    fn status_locked(&self, control: &Control) -> Status {
        let listeners: Vec<ListenerStatus> = control.slots.iter().map(Slot::status).collect();
        let links = status::LinkBase::of(&listeners);
        Status {
            listeners,
            targets: status::targets(&self.inner.proxy.mux.load(), links),
            log_readers: self.inner.proxy.events.request_readers(),
        }
    }
}
