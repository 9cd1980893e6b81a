//! The answer of an http Listener with `"redirect_https": true`: the same URL on the HTTPS Listener, so a browser
//! typing `app.localhost` lands on `https://app.localhost`. 307 rather than 301/308: a browser remembers a permanent
//! redirect long after the config that asked for it is gone.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::header::LOCATION;
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Response, StatusCode};
use tokio::time::Instant;

use super::Proxy;
use super::body::ResponseBody;
use super::pages::{Page, wants_html};
use super::route::Addressed;
use crate::event::{Event, RequestEvent, now_ms};
use crate::server::{ClientBody, ClientUpgrade, Connection, Handler};

/// Redirects every request to HTTPS.
#[derive(Debug)]
pub(crate) struct Redirect(pub(crate) Arc<Proxy>);

impl Handler for Redirect {
    type Body = ResponseBody;

    async fn handle(
        &self,
        conn: &Connection,
        request: Request<ClientBody>,
        _: Option<ClientUpgrade>,
    ) -> Response<ResponseBody> {
        let started = Instant::now();
        let addressed = Addressed::of(&request);
        let port = self.0.https_port.load(Ordering::Relaxed);
        let html = wants_html(request.headers());
        let response = match location(addressed.host(), port, request.uri().path_and_query()) {
            Some(location) => {
                let mut response = Page {
                    status: StatusCode::TEMPORARY_REDIRECT,
                    headline: format!(
                        "this Listener sends every request to HTTPS: {}",
                        location.to_str().unwrap_or("")
                    ),
                    lines: vec![],
                    hint: String::new(),
                    link: None,
                }
                .render(html);
                response.headers_mut().insert(LOCATION, location);
                response
            }
            None => Page {
                status: StatusCode::SERVICE_UNAVAILABLE,
                headline: "this Listener redirects to HTTPS, but no HTTPS Listener is running.".into(),
                lines: vec![],
                hint: "Start the Listener with \"tls\": true, or remove \"redirect_https\" from this one.".into(),
                link: None,
            }
            .render(html),
        };
        if self.0.events.requests_wanted() {
            let (method, host, path) = super::route::log_fields(&request, &addressed);
            self.0.events.send(Event::Request(RequestEvent {
                at_ms: now_ms(),
                listener: Arc::clone(&conn.listener),
                method,
                host,
                path,
                target: None,
                upstream: None,
                status: response.status().as_u16(),
                latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                error: Some("redirected to HTTPS".into()),
                failed: Vec::new(),
                affinity: None,
            }));
        }
        response
    }
}

/// `https://host[:port]/path?query`, the port left out when it is 443; `None` when no HTTPS Listener runs (port 0).
fn location(host: &str, port: u16, path: Option<&PathAndQuery>) -> Option<HeaderValue> {
    if port == 0 {
        return None;
    }
    let host = if host.contains(':') {
        format!("[{host}]")
    } else if host.is_empty() {
        "localhost".into()
    } else {
        host.into()
    };
    let port = if port == 443 { String::new() } else { format!(":{port}") };
    let path = path.map_or("/", PathAndQuery::as_str);
    HeaderValue::try_from(format!("https://{host}{port}{path}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(host: &str, port: u16, path: &str) -> Option<String> {
        let path: PathAndQuery = path.parse().unwrap();
        location(host, port, Some(&path)).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn the_location_keeps_host_path_and_query_and_names_the_https_port() {
        assert_eq!(at("app.localhost", 443, "/a?b=1").as_deref(), Some("https://app.localhost/a?b=1"));
        assert_eq!(at("app.localhost", 8443, "/").as_deref(), Some("https://app.localhost:8443/"));
        assert_eq!(at("::1", 8443, "/x").as_deref(), Some("https://[::1]:8443/x"));
        assert_eq!(at("", 443, "/").as_deref(), Some("https://localhost/"));
        assert_eq!(at("app.localhost", 0, "/"), None, "no HTTPS Listener");
    }
}
