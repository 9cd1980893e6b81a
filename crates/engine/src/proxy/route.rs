//! The story of one request: find the Target, rewrite the request for it, try its Upstreams (the one its cookies
//! pin it or keep it on first, else the Balancer's pick) until one answers or none is left, and say what happened.

use std::sync::Arc;

use http::header::{HOST, SET_COOKIE};
use http::uri::PathAndQuery;
use http::{HeaderValue, Method, Request, Response};
use tokio::time::Instant;

use super::attempt::{Attempt, Tried};
use super::body::{RequestBodySource, ResponseBody};
use super::pages::{self, Page, wants_html};
use super::retry::Retry;
use super::{Proxy, cookies, forward};
use crate::event::{Affinity, FailedAttempt};
use crate::http1;
use crate::routing::{self, RequestView, Target};
use crate::server::{ClientBody, ClientUpgrade, Connection};

/// What happened to one request, for its event.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// The Target that matched.
    pub(super) target: Option<Arc<str>>,
    /// The Upstream that answered.
    pub(super) upstream: Option<Arc<str>>,
    /// Why Roundabout answered itself.
    pub(super) error: Option<String>,
    /// Upstreams tried before, and why each failed.
    pub(super) failed: Vec<FailedAttempt>,
    /// Why the request went to its Upstream regardless of the Balancer.
    pub(super) affinity: Option<Affinity>,
}

impl Outcome {
    /// Answers with a page of Roundabout's own, noting `why` for the log.
    pub(super) fn answer(mut self, page: &Page, why: String, html: bool) -> (Response<ResponseBody>, Outcome) {
        self.error = Some(why);
        (page.render(html), self)
    }
}

/// The authority a request addressed, looked up once for matching, Host, X-Forwarded-Host and the log: an absolute
/// URI's (or HTTP/2's `:authority`), else the Host header's.
#[derive(Debug)]
pub(super) struct Addressed {
    authority: Option<HeaderValue>,
    /// The authority came from the URI, so it becomes the Host sent on (RFC 9112 §3.2.2).
    from_uri: bool,
}

impl Addressed {
    /// Where `request` is addressed.
    pub(super) fn of<B>(request: &Request<B>) -> Self {
        match request.uri().authority() {
            Some(a) => Addressed { authority: HeaderValue::from_str(a.as_str()).ok(), from_uri: true },
            None => Addressed { authority: request.headers().get(HOST).cloned(), from_uri: false },
        }
    }

    /// The host without port or trailing dot (`app.localhost.:8800` → `app.localhost`, `[::1]:80` → `::1`).
    pub(super) fn host(&self) -> &str {
        let raw = self.authority.as_ref().and_then(|a| a.to_str().ok()).unwrap_or("");
        let without_port = if let Some(rest) = raw.strip_prefix('[') {
            rest.split(']').next().unwrap_or(rest)
        } else {
            raw.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(raw, |(h, _)| h)
        };
        without_port.trim_end_matches('.')
    }

    /// False when the authority is outside Host's grammar. HTTP/1 heads are checked as they are read; this catches
    /// an HTTP/2 request's Host header.
    fn valid(&self) -> bool {
        self.authority.as_ref().is_none_or(|a| http1::valid_host(a.as_bytes()))
    }
}

/// The method, host and path of a request as the log shows them.
pub(super) fn log_fields<B>(request: &Request<B>, addressed: &Addressed) -> (Method, String, String) {
    let path = request.uri().path_and_query().map_or("/", PathAndQuery::as_str);
    (request.method().clone(), addressed.host().to_owned(), path.to_owned())
}

impl Proxy {
    /// Serves one request: the Target, then its Upstreams one attempt at a time. Never fails.
    pub(super) async fn route(
        &self,
        conn: &Connection,
        request: Request<ClientBody>,
        addressed: &Addressed,
        client_upgrade: Option<ClientUpgrade>,
        started: Instant,
    ) -> (Response<ResponseBody>, Outcome) {
        let outcome = Outcome::default();
        let html = wants_html(request.headers());
        let over_h2 = request.method() == Method::CONNECT && forward::is_websocket_connect(&request);
        if request.method() == Method::CONNECT
            && !(over_h2 && client_upgrade.as_ref().is_some_and(ClientUpgrade::is_http2))
        {
            return outcome.answer(&pages::connect(), "CONNECT refused".into(), html);
        }
        if !addressed.valid() {
            let why = "its Host is not a host name with an optional port";
            return outcome.answer(&pages::client_fault(why), why.into(), html);
        }
        if request.method() == Method::GET && routing::is_link(request.uri().path()) {
            return self.link(conn, request.uri(), addressed, html);
        }
        let Some(target) = self.choose(conn, &request, addressed) else {
            let view = view(conn, &request, addressed);
            return outcome.answer(&pages::not_found(&self.mux.load(), &view), "no Target matched".into(), html);
        };
        let (mut parts, body) = request.into_parts();
        let upgrade = if over_h2 {
            Some(forward::websocket_over_h2(&mut parts))
        } else {
            forward::requested_upgrade(&parts.headers)
        };
        let mut client_upgrade = client_upgrade.filter(|_| upgrade.is_some());
        let mut outcome = Outcome { target: Some(Arc::clone(&target.name)), ..outcome };
        if !forward::rewrite_request(&mut parts.headers, addressed.authority.as_ref(), conn, upgrade) {
            return outcome.answer(&pages::looped(&target, None), "loop detected".into(), html);
        }
        if let (Some(authority), true) = (&addressed.authority, addressed.from_uri) {
            parts.headers.insert(HOST, authority.clone());
        }
        let keep_host = target.preserve_host && addressed.authority.is_some();
        let (asked, ours) = cookies::read(&parts.headers, &target.cookies);
        if ours {
            cookies::strip(&mut parts.headers);
        }
        let body = RequestBodySource::new(body);
        let mut retry = Retry::for_method(&parts.method);
        let (mut candidates, affinity) = target.choose(started, asked);
        let pinned = affinity == Some(Affinity::Pinned);
        while let Some((upstream, probe)) = candidates.next_candidate() {
            // A pinned Upstream is tried whatever its health: its answer is as good as a last resort's.
            let last_resort = candidates.fell_back() || pinned;
            let attempt = Attempt { target: &target, upstream, probe, last_resort, keep_host };
            match self.attempt(attempt, &mut parts, &body, &mut client_upgrade, started).await {
                Tried::Answered(mut response) => {
                    if over_h2 {
                        forward::switched_over_h2(&mut response);
                    }
                    outcome.upstream = Some(Arc::clone(&upstream.label));
                    outcome.affinity = affinity.filter(|_| pinned || asked.sticky == Some(upstream.id));
                    // On a sticky Target (none other has a sticky cookie), a browser new to it, or one whose Upstream
                    // is gone, ejected or failed: keep it where it landed.
                    if !pinned
                        && asked.sticky != Some(upstream.id)
                        && let Some(cookie) = cookies::sticky(&target.cookies, upstream.id)
                    {
                        response.headers_mut().append(SET_COOKIE, cookie);
                    }
                    return (response, outcome);
                }
                Tried::Refused(page, why) => return outcome.answer(&page, why.into(), html),
                Tried::Failed(error) if error.is_client_fault() => {
                    let why = error.to_string();
                    return outcome.answer(&pages::client_fault(&why), why, html);
                }
                Tried::Failed(error) => {
                    let unsent = body.unsent();
                    outcome
                        .failed
                        .push(FailedAttempt { upstream: Arc::clone(&upstream.label), error: error.to_string() });
                    if !retry.allows(&error, unsent) {
                        break;
                    }
                }
            }
        }
        outcome.affinity = affinity.filter(|_| pinned);
        let page = if pinned {
            pages::pinned_failed(&target, &outcome.failed)
        } else if candidates.fell_back() {
            pages::all_unhealthy(&target, &outcome.failed)
        } else {
            pages::all_failed(&target, &outcome.failed)
        };
        let why = page.headline.clone();
        outcome.answer(&page, why, html)
    }

    /// The first Target, in the user's order, that accepts the request.
    fn choose(&self, conn: &Connection, request: &Request<ClientBody>, addressed: &Addressed) -> Option<Arc<Target>> {
        self.mux.load().route(&view(conn, request, addressed)).cloned()
    }
}

/// What the Mux looks at in `request`.
fn view<'a>(conn: &Connection, request: &'a Request<ClientBody>, addressed: &'a Addressed) -> RequestView<'a> {
    RequestView {
        host: addressed.host(),
        path: request.uri().path(),
        port: conn.local.port(),
        method: request.method(),
        headers: request.headers(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(uri: &str, header: Option<&str>) -> String {
        let mut request = Request::builder().uri(uri);
        if let Some(h) = header {
            request = request.header(HOST, h);
        }
        Addressed::of(&request.body(()).unwrap()).host().to_owned()
    }

    #[test]
    fn the_host_comes_from_the_uri_first_without_port_or_trailing_dot() {
        assert_eq!(host("/", Some("app.localhost.:8800")), "app.localhost");
        assert_eq!(host("/", Some("[::1]:80")), "::1");
        assert_eq!(host("http://api.localhost:9/x", Some("other.localhost")), "api.localhost");
        assert_eq!(host("/", None), "");
    }
}
