//! The request path: choose the Target, try its Upstreams one attempt at a time, pass the answer on, tell the log.
//!
//! [`Proxy`] is the [`Handler`] every Listener is given. It reads only the current routing snapshot (one atomic
//! load), takes no lock, and builds an Event only when somebody subscribes. The story of one request is in
//! [`route`]; one attempt at one Upstream in [`attempt`]; when a failed request may go elsewhere in [`retry`];
//! what is rewritten on the way in [`forward`]; the answers Roundabout writes itself in [`pages`]; the pin and unpin
//! links in [`pin`] and the cookies they set (and sticky Targets keep) in [`cookies`].

mod attempt;
mod body;
mod cookies;
mod forward;
mod pages;
mod pin;
mod redirect;
mod retry;
mod route;
mod tunnel;

use std::sync::Arc;
use std::sync::atomic::AtomicU16;

use arc_swap::ArcSwap;
use http::{Request, Response};
use tokio::time::Instant;

use self::route::Addressed;
use crate::event::{Event, EventBus, RequestEvent, now_ms};
use crate::routing::Mux;
use crate::server::{ClientBody, ClientUpgrade, Connection, Handler};
use crate::upstream::{Connector, connector};

pub(crate) use body::ResponseBody;
pub(crate) use pages::{escape, wants_html};
pub(crate) use redirect::Redirect;

/// State shared by every Listener: the routing snapshot, the Upstream connector and the event bus.
#[derive(Debug)]
pub(crate) struct Proxy {
    /// The current routing snapshot, swapped whole on config changes.
    pub(crate) mux: ArcSwap<Mux>,
    /// Where request and health events go.
    pub(crate) events: EventBus,
    /// How Upstreams are dialed (active health checks use it too).
    pub(crate) connector: Connector,
    /// The port of the first running HTTPS Listener (0: none), where `redirect_https` Listeners send requests.
    pub(crate) https_port: AtomicU16,
}

impl Proxy {
    /// A proxy with an empty routing table.
    pub(crate) fn new(events: EventBus) -> Self {
        Proxy {
            mux: ArcSwap::from_pointee(Mux::default()),
            events,
            connector: connector(),
            https_port: AtomicU16::new(0),
        }
    }
}

impl Handler for Proxy {
    type Body = ResponseBody;

    /// Serves one request. Never fails: problems become pages that say what to do.
    async fn handle(
        &self,
        conn: &Connection,
        request: Request<ClientBody>,
        upgrade: Option<ClientUpgrade>,
    ) -> Response<ResponseBody> {
        let started = Instant::now();
        let addressed = Addressed::of(&request);
        if !self.events.requests_wanted() {
            return self.route(conn, request, &addressed, upgrade, started).await.0;
        }
        let (method, host, path) = route::log_fields(&request, &addressed);
        let (response, outcome) = self.route(conn, request, &addressed, upgrade, started).await;
        let latency = started.elapsed();
        self.events.send(Event::Request(RequestEvent {
            at_ms: now_ms().saturating_sub(u64::try_from(latency.as_millis()).unwrap_or(0)),
            listener: Arc::clone(&conn.listener),
            method,
            host,
            path,
            target: outcome.target,
            upstream: outcome.upstream,
            status: response.status().as_u16(),
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            error: outcome.error,
            failed: outcome.failed,
            affinity: outcome.affinity,
        }));
        response
    }
}
