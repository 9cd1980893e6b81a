//! Live Upstreams on the running engine: a dev server joins (`attach`) once it accepts connections and leaves
//! (`detach`) when its command ends. Leaving drains: it first takes no new requests, its in-flight requests and
//! WebSockets finish (up to the drain time), and only then is it removed, so a dev server stopped with Ctrl-C fails
//! no request. Neither step touches the config file.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};

use super::EngineHandle;
use super::error::EngineError;
use crate::config::{HostPattern, UpstreamUrl};
use crate::event::{Event, LiveEvent, LiveUpstream, now_ms};
use crate::routing::{Live, RequestView};

/// How often a leaving Upstream's open requests are counted.
const POLL: Duration = Duration::from_millis(20);

/// Names one live Upstream on this engine, from [`EngineHandle::attach`] until [`EngineHandle::detach`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LiveId(u64);

/// One live Upstream in the engine's list.
#[derive(Debug, Clone)]
pub(super) struct Joined {
    pub(super) id: LiveId,
    pub(super) live: Live,
}

/// What [`EngineHandle::attach`] tells the caller.
#[derive(Debug, Clone)]
pub struct Attached {
    /// Pass it to [`EngineHandle::detach`].
    pub id: LiveId,
    /// Its label in the log and status.
    pub label: String,
    /// When another Target comes first for `NAME.localhost` (so requests there do not reach this one), its name.
    pub shadowed_by: Option<String>,
}

impl EngineHandle {
    /// Adds a live Upstream to the Target named `upstream.target` (creating one for `NAME.localhost` when the
    /// config has none), without writing the config. It takes requests at once.
    pub async fn attach(&self, upstream: LiveUpstream) -> Result<Attached, EngineError> {
        check(&upstream)?;
        let mut control = self.inner.control.lock().await;
        if control.live.iter().any(|j| j.live.upstream.target == upstream.target && j.live.upstream.url == upstream.url)
        {
            return Err(EngineError::Live(format!(
                "{} is already an Upstream of {}; each dev server joins once",
                upstream.url, upstream.target
            )));
        }
        control.next_live += 1;
        let id = LiveId(control.next_live);
        let upstream = Arc::new(upstream);
        control.live.push(Joined { id, live: Live { upstream: Arc::clone(&upstream), leaving: false } });
        self.rebuild(&mut control);
        drop(control);
        let mux = self.inner.proxy.mux.load();
        let host = format!("{}.localhost", upstream.target);
        let headers = HeaderMap::new();
        let view = RequestView { host: &host, path: "/", port: 0, method: &Method::GET, headers: &headers };
        let shadowed_by = mux.route(&view).filter(|t| *t.name != *upstream.target).map(|t| t.name.to_string());
        let label = label_of(&mux, &upstream);
        self.publish(Event::Live(LiveEvent {
            at_ms: now_ms(),
            joined: true,
            label: label.clone(),
            upstream: (*upstream).clone(),
            reason: None,
        }));
        Ok(Attached { id, label, shadowed_by })
    }

    /// Removes a live Upstream: no new requests from now, then (once its open requests and WebSockets finished, or
    /// the drain time passed) it is gone. Returns when it is gone; unknown ids are ignored.
    pub async fn detach(&self, id: LiveId, reason: &str) {
        let mut control = self.inner.control.lock().await;
        let Some(joined) = control.live.iter_mut().find(|j| j.id == id) else { return };
        joined.live.leaving = true;
        let upstream = Arc::clone(&joined.live.upstream);
        self.rebuild(&mut control);
        drop(control);
        let deadline = tokio::time::Instant::now() + self.inner.drain;
        loop {
            let open = {
                let mux = self.inner.proxy.mux.load();
                let found = mux
                    .targets()
                    .iter()
                    .flat_map(|t| &t.upstreams)
                    .find(|u| u.live.as_ref().is_some_and(|l| Arc::ptr_eq(l, &upstream)));
                found.map_or(0, |u| u.stats.open())
            };
            if open == 0 || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        let mut control = self.inner.control.lock().await;
        let label = label_of(&self.inner.proxy.mux.load(), &upstream);
        control.live.retain(|j| j.id != id);
        self.rebuild(&mut control);
        drop(control);
        self.publish(Event::Live(LiveEvent {
            at_ms: now_ms(),
            joined: false,
            label,
            upstream: (*upstream).clone(),
            reason: Some(reason.to_owned()),
        }));
    }

    /// The live Upstreams now, in the order they joined.
    pub async fn live_upstreams(&self) -> Vec<LiveUpstream> {
        let control = self.inner.control.lock().await;
        control.live.iter().map(|j| (*j.live.upstream).clone()).collect()
    }
}

/// The label the routing snapshot gave `upstream`.
fn label_of(mux: &crate::routing::Mux, upstream: &Arc<LiveUpstream>) -> String {
    mux.targets()
        .iter()
        .flat_map(|t| &t.upstreams)
        .find(|u| u.live.as_ref().is_some_and(|l| Arc::ptr_eq(l, upstream)))
        .map_or_else(|| upstream.url.clone(), |u| u.label.to_string())
}

/// Refuses a live Upstream whose name cannot be a host or whose URL is not a dev server on this machine.
fn check(upstream: &LiveUpstream) -> Result<(), EngineError> {
    let name = &upstream.target;
    if name.contains('*') || HostPattern::parse(&format!("{name}.localhost")).is_err() || name.starts_with('-') {
        return Err(EngineError::Live(format!(
            "\"{name}\" cannot be a host name; use letters, digits and dashes (e.g. --name my-app), for \
             my-app.localhost"
        )));
    }
    let url = UpstreamUrl::parse(&upstream.url).map_err(EngineError::Live)?;
    let local = url.host == "localhost"
        || url.host.ends_with(".localhost")
        || url.host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !local {
        return Err(EngineError::Live(format!(
            "{} is not on this machine; live Upstreams must listen on localhost or a loopback address",
            upstream.url
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(target: &str, url: &str) -> LiveUpstream {
        LiveUpstream {
            target: target.into(),
            url: url.into(),
            command: "vite".into(),
            pid: 1,
            cwd: "/src".into(),
            branch: None,
        }
    }

    #[test]
    fn names_must_make_hosts_and_urls_must_be_local() {
        assert!(check(&upstream("app", "http://localhost:5173")).is_ok());
        assert!(check(&upstream("feature.app", "http://127.0.0.1:5173")).is_ok());
        assert!(check(&upstream("app", "http://[::1]:5173")).is_ok());
        for name in ["my app", "*", "-x", "", "a/b"] {
            let err = check(&upstream(name, "http://localhost:1")).unwrap_err().to_string();
            assert!(err.contains("--name"), "{name}: {err}");
        }
        for url in ["http://example.com:80", "http://10.0.0.1:3000", "ftp://localhost:1"] {
            assert!(check(&upstream("app", url)).is_err(), "{url}");
        }
    }
}
