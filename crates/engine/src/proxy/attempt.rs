//! One attempt at one Upstream: send the request, and judge what came back. The answer's status and the attempt's
//! failure feed the Upstream's health; a failure that is the client's own (a malformed or abandoned request body)
//! feeds nothing.

use std::sync::Arc;

use http::header::HOST;
use http::{Response, StatusCode, request};
use tokio::time::Instant;

use super::body::{RequestBodySource, ResponseBody};
use super::pages::{self, Page};
use super::{Proxy, forward, tunnel};
use crate::health::{self, Change, Probe};
use crate::routing::{InFlight, Target, Upstream};
use crate::server::ClientUpgrade;
use crate::upstream::{Outgoing, UpstreamBody, UpstreamError};

/// One Upstream to try and how it was let through, which decides what the outcome does to its health.
pub(super) struct Attempt<'a> {
    /// The Target the request matched.
    pub(super) target: &'a Target,
    /// The Upstream to try.
    pub(super) upstream: &'a Arc<Upstream>,
    /// Set when this attempt is the Upstream's one probe.
    pub(super) probe: Option<Probe<'a>>,
    /// True for an unhealthy Upstream tried because nothing else was left: its success heals it.
    pub(super) last_resort: bool,
    /// Send the client's Host (true) or the Upstream's own.
    pub(super) keep_host: bool,
}

/// What came of an attempt.
pub(super) enum Tried {
    /// The Upstream answered; this is the client's response.
    Answered(Response<ResponseBody>),
    /// No answer; the request may go elsewhere (see [`super::retry`]).
    Failed(UpstreamError),
    /// The request must not go to this Upstream at all: a page of Roundabout's own, and why, for the log.
    Refused(Page, &'static str),
}

impl Proxy {
    /// Sends the request (its head borrowed, so a failed attempt leaves it whole for the next Upstream) and judges
    /// the outcome. `client_upgrade` is taken if the answer switches protocols.
    pub(super) async fn attempt(
        &self,
        attempt: Attempt<'_>,
        parts: &mut request::Parts,
        body: &RequestBodySource,
        client_upgrade: &mut Option<ClientUpgrade>,
        started: Instant,
    ) -> Tried {
        let Attempt { target, upstream, probe, last_resort, keep_host } = attempt;
        if probe.is_some() {
            self.report(target, upstream, Change::Probation, None);
        }
        if upstream.loops_back {
            return Tried::Refused(pages::looped(target, Some(&upstream.label)), "loop detected");
        }
        let Some(uri) = upstream.address.origin_form(&parts.uri) else {
            return Tried::Refused(pages::bad_path(), "bad request path");
        };
        if !keep_host {
            parts.headers.insert(HOST, upstream.connections.host().clone());
        }
        let head = Outgoing { method: &parts.method, uri: &uri, headers: &parts.headers };
        let in_flight = upstream.stats.begin();
        let verdict = Verdict { probe, last_resort };
        match upstream.connections.send(&self.connector, &head, body.body()).await {
            Ok(response) => {
                upstream.stats.record_response(response.status().as_u16(), started.elapsed());
                Tried::Answered(self.answered(target, upstream, verdict, response, in_flight, client_upgrade.take()))
            }
            // The client's fault: nothing is held against the Upstream (an unsettled probe is given back).
            Err(error) if error.is_client_fault() => Tried::Failed(error),
            Err(error) => {
                drop(in_flight);
                upstream.stats.record_failure();
                self.judge(target, upstream, verdict, Err(&error.to_string()));
                Tried::Failed(error)
            }
        }
    }

    /// Passes the Upstream's answer on: judges its status, joins an upgrade, rewrites the headers, and keeps the
    /// request counted in flight until its body ends.
    fn answered(
        &self,
        target: &Target,
        upstream: &Upstream,
        verdict: Verdict<'_>,
        response: Response<UpstreamBody<super::body::RequestBody>>,
        in_flight: InFlight,
        client_upgrade: Option<ClientUpgrade>,
    ) -> Response<ResponseBody> {
        let status = response.status().as_u16();
        if target.fail_statuses.contains(&status) {
            self.judge(target, upstream, verdict, Err(&format!("status {status}")));
        } else {
            self.judge(target, upstream, verdict, Ok(()));
        }
        let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
        let (mut parts, mut body) = response.into_parts();
        if switching
            && let Some(client_side) = client_upgrade
            && let Some((upstream_side, early)) = body.take_upgrade()
        {
            let open = upstream.stats.begin_tunnel();
            let label = Arc::clone(&upstream.label);
            tokio::spawn(tunnel::tunnel(client_side, upstream_side, early, label, open));
        }
        forward::rewrite_response(&mut parts.headers, parts.status);
        Response::from_parts(parts, ResponseBody::Upstream { body, open: Some(in_flight) })
    }

    /// Feeds an attempt's outcome to the Upstream's health and publishes any change.
    fn judge(&self, target: &Target, upstream: &Upstream, verdict: Verdict<'_>, result: Result<(), &str>) {
        let Verdict { probe, last_resort } = verdict;
        let health = &upstream.health;
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
            self.report(target, upstream, change, result.err());
        }
    }

    /// Publishes a health change of `upstream`.
    fn report(&self, target: &Target, upstream: &Upstream, change: Change, reason: Option<&str>) {
        health::report(&self.events, &target.name, &upstream.label, &upstream.url, change, reason);
    }
}

/// How an attempt was let through.
struct Verdict<'a> {
    probe: Option<Probe<'a>>,
    last_resort: bool,
}
