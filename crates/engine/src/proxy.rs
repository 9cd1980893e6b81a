//! The request path: match a Target, pick an Upstream, forward, stream the answer back, and tell the log.
//!
//! Reads only the current routing snapshot (one atomic load); takes no lock; builds an Event only when somebody
//! subscribes. A connect failure moves on to the next Upstream, since nothing was sent; so does a GET or HEAD whose
//! connection closed before any response byte (once). Unhealthy Upstreams are skipped, and tried last when nothing
//! else is left. Every outcome feeds the Upstream's health.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::time::Instant;

use arc_swap::ArcSwap;
use http::header::HOST;
use http::uri::{PathAndQuery, Uri};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::body::{RequestBodySource, ResponseBody};
use crate::client::{self, Connector};
use crate::client_body::ClientBody;
use crate::client_upgrade::ClientUpgrade;
use crate::event::{Event, EventBus, FailedAttempt, HealthEvent, HealthState, RequestEvent, now_ms};
use crate::forward;
use crate::health::{Change, Probe};
use crate::matcher::RequestHead;
use crate::mux::Mux;
use crate::pages::{self, Page};
use crate::target::Target;
use crate::upstream::{InFlight, Upstream};
use crate::upstream_body::UpstreamBody;
use crate::upstream_conn::Outgoing;

/// State shared by every Listener: the routing snapshot, the Upstream client and the event bus.
#[derive(Debug)]
pub struct Proxy {
    /// The current routing snapshot, swapped whole on config changes.
    pub mux: ArcSwap<Mux>,
    /// Where request events go.
    pub events: EventBus,
    connector: Connector,
}

/// Facts about the connection a request came in on.
#[derive(Debug)]
pub struct Connection {
    /// Name of the Listener that accepted it.
    pub listener: Arc<str>,
    /// The local socket address (its port feeds the `port` matcher).
    pub local: SocketAddr,
    /// The client's address.
    pub remote: SocketAddr,
    /// The client's address as an `X-Forwarded-For` entry, formatted once per connection.
    pub forwarded_for: HeaderValue,
}

/// How an attempt was let through, which decides what its outcome does to the Upstream's health.
struct Admitted<'a> {
    /// Set when this attempt is the Upstream's one probe.
    probe: Option<Probe<'a>>,
    /// True for an unhealthy Upstream tried because nothing else was left: its success heals it.
    last_resort: bool,
}

/// An Upstream's answer and the in-flight count it holds until its body ends.
struct Sent {
    response: Response<UpstreamBody>,
    in_flight: InFlight,
}

/// What happened to one request, for the event.
struct Outcome {
    target: Option<Arc<str>>,
    upstream: Option<Arc<str>>,
    error: Option<String>,
    failed: Vec<FailedAttempt>,
}

impl Proxy {
    /// A proxy with an empty routing table.
    pub fn new(events: EventBus) -> Self {
        Proxy { mux: ArcSwap::from_pointee(Mux::default()), events, connector: client::build() }
    }

    /// Serves one request. Never fails: problems become pages that say what to do. `upgrade` is the client's side
    /// of the connection should the Upstream switch protocols (HTTP/1 requests with `Upgrade`).
    pub async fn handle(
        &self,
        conn: &Connection,
        req: Request<ClientBody>,
        upgrade: Option<ClientUpgrade>,
    ) -> Result<Response<ResponseBody>, Infallible> {
        let started = Instant::now();
        let wanted = self.events.requests_wanted();
        // The authority the client addressed, looked up once for the event, matching, Host and X-Forwarded-Host.
        let authority = authority_of(&req);
        let (method, host, path) = if wanted {
            (req.method().clone(), host_name(authority.0.as_ref()).to_owned(), path_of(req.uri()).to_owned())
        } else {
            Default::default()
        };
        let (response, outcome) = self.route(conn, req, upgrade, authority, started).await;
        if wanted {
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
            }));
        }
        Ok(response)
    }

    async fn route(
        &self,
        conn: &Connection,
        req: Request<ClientBody>,
        client_upgrade: Option<ClientUpgrade>,
        (host, from_uri): (Option<HeaderValue>, bool),
        started: Instant,
    ) -> (Response<ResponseBody>, Outcome) {
        let mut outcome = Outcome { target: None, upstream: None, error: None, failed: Vec::new() };
        if req.method() == Method::CONNECT {
            outcome.error = Some("CONNECT refused".into());
            return (connect_page().render(pages::wants_html(req.headers())), outcome);
        }
        let target = {
            let mux = self.mux.load();
            let head = RequestHead {
                host: host_name(host.as_ref()),
                path: req.uri().path(),
                port: conn.local.port(),
                method: req.method(),
                headers: req.headers(),
            };
            if let Some(t) = mux.route(&head) {
                Arc::clone(t)
            } else {
                outcome.error = Some("no Target matched".into());
                return (not_found(&mux, &head).render(pages::wants_html(req.headers())), outcome);
            }
        };
        outcome.target = Some(Arc::clone(&target.name));

        let upgrade = forward::requested_upgrade(req.headers());
        let client_upgrade = if upgrade.is_some() { client_upgrade } else { None };
        let (mut parts, body) = req.into_parts();
        if !forward::rewrite_request(&mut parts.headers, host.as_ref(), &conn.forwarded_for, upgrade) {
            outcome.error = Some("loop detected".into());
            return (loop_page(&target, None).render(pages::wants_html(&parts.headers)), outcome);
        }
        if let (Some(host), true) = (&host, from_uri) {
            // An absolute-form request (`GET http://app.localhost:8800/`): its URI names the host.
            parts.headers.insert(HOST, host.clone());
        }
        let body = RequestBodySource::new(body);
        // A GET or HEAD closed before any response byte is sent once more, to another Upstream.
        let mut resets_left = u8::from(matches!(parts.method, Method::GET | Method::HEAD));
        let keep_host = target.preserve_host && host.is_some();
        let mut candidates = target.attempt_order().with_health(started);
        while let Some((upstream, probe)) = candidates.next_candidate() {
            if probe.is_some() {
                self.health_event(&target, upstream, Change::Probation, None);
            }
            if upstream.loops_back {
                outcome.error = Some("loop detected".into());
                let html = pages::wants_html(&parts.headers);
                return (loop_page(&target, Some(&upstream.label)).render(html), outcome);
            }
            let Some(uri) = upstream.target.origin_form(&parts.uri) else {
                outcome.error = Some("bad request path".into());
                return (bad_path_page().render(pages::wants_html(&parts.headers)), outcome);
            };
            if !keep_host {
                parts.headers.insert(HOST, upstream.connections.host().clone());
            }
            let head = Outgoing { method: &parts.method, uri: &uri, headers: &parts.headers };
            let in_flight = upstream.stats.begin();
            let admitted = Admitted { probe, last_resort: candidates.fell_back() };
            match upstream.connections.send(&self.connector, &head, body.body()).await {
                Ok(response) => {
                    outcome.upstream = Some(Arc::clone(&upstream.label));
                    upstream.stats.record_response(response.status().as_u16(), started.elapsed());
                    let sent = Sent { response, in_flight };
                    return (self.answered(&target, upstream, admitted, sent, client_upgrade), outcome);
                }
                Err(error) => {
                    drop(in_flight);
                    upstream.stats.record_failure();
                    let cause = error.describe();
                    self.judge(&target, upstream, admitted, Err(&cause));
                    outcome.failed.push(FailedAttempt { upstream: Arc::clone(&upstream.label), error: cause });
                    let retry = if error.is_connect() {
                        body.unsent()
                    } else if resets_left > 0 && body.unsent() && error.closed_before_response() {
                        resets_left -= 1;
                        true
                    } else {
                        false
                    };
                    if !retry {
                        break;
                    }
                }
            }
        }
        let page = if candidates.fell_back() {
            pages::all_unhealthy(&target, &outcome.failed)
        } else {
            pages::all_failed(&target, &outcome.failed)
        };
        outcome.error = Some(page.headline.clone());
        (page.render(pages::wants_html(&parts.headers)), outcome)
    }

    /// Passes the Upstream's response on: judges its status, joins an upgrade, rewrites the headers, and keeps the
    /// request counted in flight until its body ends.
    fn answered(
        &self,
        target: &Target,
        upstream: &Upstream,
        admitted: Admitted<'_>,
        sent: Sent,
        client_upgrade: Option<ClientUpgrade>,
    ) -> Response<ResponseBody> {
        let Sent { response, in_flight } = sent;
        let status = response.status().as_u16();
        if target.fail_statuses.contains(&status) {
            self.judge(target, upstream, admitted, Err(&format!("status {status}")));
        } else {
            self.judge(target, upstream, admitted, Ok(()));
        }
        let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
        let (mut parts, mut body) = response.into_parts();
        if switching
            && let Some(client_side) = client_upgrade
            && let Some((upstream_side, early)) = body.take_upgrade()
        {
            let open = upstream.stats.begin_tunnel();
            let label = Arc::clone(&upstream.label);
            tokio::spawn(crate::tunnel::tunnel(client_side, upstream_side, early, label, open));
        }
        forward::rewrite_response(&mut parts.headers, switching);
        Response::from_parts(parts, ResponseBody::Upstream { body, open: Some(in_flight) })
    }

    /// Feeds an attempt's outcome to the Upstream's health and publishes any change.
    fn judge(&self, target: &Target, upstream: &Upstream, admitted: Admitted<'_>, result: Result<(), &str>) {
        let Admitted { probe, last_resort } = admitted;
        let health = &upstream.stats.health;
        let change = match (probe, result) {
            (Some(probe), result) => health.settle(probe, result.is_ok(), &target.policy, Instant::now()),
            (None, Ok(())) if last_resort => health.succeeded(),
            (None, Ok(())) => {
                health.answered();
                None
            }
            (None, Err(_)) => health.failed(&target.policy, Instant::now()),
        };
        if let Some(change) = change {
            self.health_event(target, upstream, change, result.err());
        }
    }

    /// Publishes a health change of `upstream` (only when somebody listens).
    pub fn health_event(&self, target: &Target, upstream: &Upstream, change: Change, reason: Option<&str>) {
        if !self.events.wanted() {
            return;
        }
        let health = match change {
            Change::Failing { failures, threshold } => HealthState::Failing { failures, threshold },
            Change::Unhealthy { failures, retry_in } => {
                let retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
                HealthState::Unhealthy { failures, retry_at_ms: now_ms().saturating_add(retry_in_ms), retry_in_ms }
            }
            Change::Probation => HealthState::Probation,
            Change::Healthy => HealthState::Healthy,
        };
        self.events.send(Event::Health(HealthEvent {
            at_ms: now_ms(),
            target: Arc::clone(&target.name),
            upstream: Arc::clone(&upstream.label),
            url: Arc::clone(&upstream.url),
            health,
            reason: reason.map(str::to_owned),
        }));
    }

    /// How Upstreams are dialed (active health checks use it too).
    pub fn connector(&self) -> &Connector {
        &self.connector
    }
}

/// The host the client addressed, without port or trailing dot, from [`authority_of`]'s authority.
fn host_name(authority: Option<&HeaderValue>) -> &str {
    authority.and_then(|h| h.to_str().ok()).map_or("", bare_host)
}

/// An authority without its port or trailing dot (`app.localhost.:8800` → `app.localhost`, `[::1]:80` → `::1`).
fn bare_host(raw: &str) -> &str {
    let without_port = if let Some(rest) = raw.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        raw.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(raw, |(h, _)| h)
    };
    without_port.trim_end_matches('.')
}

/// The authority as the client sent it (with port), for Host and X-Forwarded-Host, and whether it came from an
/// absolute-form URI rather than the Host header.
fn authority_of<B>(req: &Request<B>) -> (Option<HeaderValue>, bool) {
    match req.uri().authority() {
        Some(a) => (HeaderValue::from_str(a.as_str()).ok(), true),
        None => (req.headers().get(HOST).cloned(), false),
    }
}

fn path_of(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", PathAndQuery::as_str)
}

fn not_found(mux: &Mux, head: &RequestHead<'_>) -> Page {
    let lines: Vec<String> = mux.targets().iter().map(|t| format!("{} — {}", t.matcher.describe(), t.name)).collect();
    let hint = if lines.is_empty() {
        "There are no Targets yet. Add one in the Roundabout app or in the config file (`roundabout config-path` shows where).".to_owned()
    } else {
        "Use one of these hosts, or add a Target that matches this request.".to_owned()
    };
    Page {
        status: StatusCode::NOT_FOUND,
        headline: format!("no Target matches {} {}{} on port {}.", head.method, head.host, head.path, head.port),
        lines,
        hint,
    }
}

fn loop_page(target: &Target, upstream: Option<&str>) -> Page {
    let headline = match upstream {
        Some(u) => format!("Target \"{}\" sends requests to {u}, which is Roundabout itself.", target.name),
        None => format!(
            "this request has passed through Roundabout {} times: Target \"{}\" loops.",
            forward::MAX_HOPS,
            target.name
        ),
    };
    Page {
        status: StatusCode::LOOP_DETECTED,
        headline,
        lines: vec![],
        hint: "Point the Upstream at your dev server's own port, not at a Roundabout Listener.".into(),
    }
}

fn connect_page() -> Page {
    Page {
        status: StatusCode::METHOD_NOT_ALLOWED,
        headline: "CONNECT is not supported: Roundabout is a reverse proxy for your dev servers, not a forward proxy."
            .into(),
        lines: vec![],
        hint: "Address your dev server through a Listener instead, e.g. http://app.localhost:8800/.".into(),
    }
}

fn bad_path_page() -> Page {
    Page {
        status: StatusCode::BAD_REQUEST,
        headline: "the request path cannot be forwarded.".into(),
        lines: vec![],
        hint: String::new(),
    }
}
