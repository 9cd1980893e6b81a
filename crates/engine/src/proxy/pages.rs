//! Responses Roundabout writes itself (no Target, every Upstream failed, a loop…). They say what happened and what
//! to do, as HTML for browsers and plain text for curl. Everything taken from the request or config is escaped.

use std::fmt::Write;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use super::body::ResponseBody;
use super::forward::MAX_HOPS;
use crate::event::FailedAttempt;
use crate::routing::{Mux, RequestView, Target, unpin_path};

/// A page: a status, a headline and detail lines.
#[derive(Debug)]
pub(super) struct Page {
    /// Status sent to the client.
    pub(super) status: StatusCode,
    /// One sentence saying what happened.
    pub(super) headline: String,
    /// Supporting lines (one per Upstream, Target…).
    pub(super) lines: Vec<String>,
    /// What to do about it.
    pub(super) hint: String,
    /// A link that does it (the unpin link, the pin link on the right host), if there is one.
    pub(super) link: Option<Link>,
}

/// A link on a page: in HTML an anchor, in plain text `text: href`.
#[derive(Debug)]
pub(super) struct Link {
    /// What it does, e.g. `Unpin this browser`.
    pub(super) text: String,
    /// Where it goes: a path on the same host, or a whole URL.
    pub(super) href: String,
}

impl Page {
    /// Renders for the client: HTML for browsers (see [`wants_html`]), plain text otherwise.
    pub(super) fn render(&self, html: bool) -> Response<ResponseBody> {
        let (body, content_type) =
            if html { (self.html(), "text/html; charset=utf-8") } else { (self.text(), "text/plain; charset=utf-8") };
        let mut response = Response::new(ResponseBody::Page(Some(Bytes::from(body))));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert("x-roundabout", HeaderValue::from_static("page"));
        response
    }

    /// Plain-text rendering.
    fn text(&self) -> String {
        let mut out = format!("Roundabout: {}\n", self.headline);
        for line in &self.lines {
            let _ = writeln!(out, "  - {line}");
        }
        if !self.hint.is_empty() {
            let _ = writeln!(out, "{}", self.hint);
        }
        if let Some(link) = &self.link {
            let _ = writeln!(out, "{}: {}", link.text, link.href);
        }
        out
    }

    /// HTML rendering; all text is escaped.
    fn html(&self) -> String {
        let mut out = String::from(
            "<!doctype html><meta charset=utf-8><title>Roundabout</title>\
             <style>body{font:15px system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;\
             color-scheme:light dark}code,li{font-family:ui-monospace,monospace}small{opacity:.7}</style>",
        );
        let _ = write!(
            out,
            "<h1>{} {}</h1><p>{}</p>",
            self.status.as_u16(),
            escape(self.status.canonical_reason().unwrap_or("")),
            escape(&self.headline)
        );
        if !self.lines.is_empty() {
            out.push_str("<ul>");
            for line in &self.lines {
                let _ = write!(out, "<li>{}</li>", escape(line));
            }
            out.push_str("</ul>");
        }
        if !self.hint.is_empty() {
            let _ = write!(out, "<p>{}</p>", escape(&self.hint));
        }
        if let Some(link) = &self.link {
            let _ = write!(out, "<p><a href=\"{}\">{}</a></p>", escape(&link.href), escape(&link.text));
        }
        out.push_str("<p><small>Answered by Roundabout, your dev proxy.</small></p>");
        out
    }
}

/// Every Upstream tried failed (502), or none is enabled (503).
pub(super) fn all_failed(target: &Target, failed: &[FailedAttempt]) -> Page {
    if target.active_count() == 0 {
        return Page {
            status: StatusCode::SERVICE_UNAVAILABLE,
            headline: format!("Target \"{}\" has no enabled Upstreams.", target.name),
            lines: target.upstreams.iter().map(|u| format!("{} (disabled)", u.label)).collect(),
            hint: "Enable an Upstream or add one to this Target.".into(),
            link: None,
        };
    }
    Page {
        status: StatusCode::BAD_GATEWAY,
        headline: format!("every Upstream of Target \"{}\" failed.", target.name),
        lines: failed.iter().map(|f| format!("{}: {}", f.upstream, f.error)).collect(),
        hint: "Is your dev server running on that port? Start it, or fix the Upstream URL.".into(),
        link: None,
    }
}

/// Unhealthy Upstreams were tried as a last resort and failed too (503): each one's state and last error.
pub(super) fn all_unhealthy(target: &Target, failed: &[FailedAttempt]) -> Page {
    let now = tokio::time::Instant::now();
    let lines = target
        .upstreams
        .iter()
        .map(|u| {
            let state = target.health_of(u, now);
            match failed.iter().rev().find(|f| f.upstream == u.label) {
                Some(f) => format!("{}: {state} ({})", u.label, f.error),
                None => format!("{}: {state}", u.label),
            }
        })
        .collect();
    Page {
        status: StatusCode::SERVICE_UNAVAILABLE,
        headline: format!("every Upstream of Target \"{}\" is unhealthy and failed again.", target.name),
        lines,
        hint: "Is your dev server running? Once it answers, Roundabout sends it requests again.".into(),
        link: None,
    }
}

/// The Upstream this browser is pinned to failed (502). No other Upstream was tried: the page says why and offers
/// the unpin link.
pub(super) fn pinned_failed(target: &Target, failed: &[FailedAttempt]) -> Page {
    let upstream = failed.first().map_or("", |f| &*f.upstream);
    Page {
        status: StatusCode::BAD_GATEWAY,
        headline: format!(
            "Upstream {upstream} of Target \"{}\" failed, and this browser is pinned to it.",
            target.name
        ),
        lines: failed.iter().map(|f| format!("{}: {}", f.upstream, f.error)).collect(),
        hint: "A pinned browser is never sent to another Upstream. Start that dev server, or unpin this browser to \
               have it balanced again."
            .into(),
        link: Some(unpin_link(&target.name)),
    }
}

/// The link that unpins this browser from Target `target`.
pub(super) fn unpin_link(target: &str) -> Link {
    Link { text: "Unpin this browser".into(), href: unpin_path(target) }
}

/// No Target accepts the request (404): the Targets there are, and how to add one.
pub(super) fn not_found(mux: &Mux, head: &RequestView<'_>) -> Page {
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
        link: None,
    }
}

/// The request would come back to Roundabout (508): an Upstream that is a Listener, or too many passes.
pub(super) fn looped(target: &Target, upstream: Option<&str>) -> Page {
    let headline = match upstream {
        Some(u) => format!("Target \"{}\" sends requests to {u}, which is Roundabout itself.", target.name),
        None => {
            format!("this request has passed through Roundabout {} times: Target \"{}\" loops.", MAX_HOPS, target.name)
        }
    };
    Page {
        status: StatusCode::LOOP_DETECTED,
        headline,
        lines: vec![],
        hint: "Point the Upstream at your dev server's own port, not at a Roundabout Listener.".into(),
        link: None,
    }
}

/// CONNECT: Roundabout is no forward proxy (405).
pub(super) fn connect() -> Page {
    Page {
        status: StatusCode::METHOD_NOT_ALLOWED,
        headline: "CONNECT is not supported: Roundabout is a reverse proxy for your dev servers, not a forward proxy."
            .into(),
        lines: vec![],
        hint: "Address your dev server through a Listener instead, e.g. http://app.localhost:8800/.".into(),
        link: None,
    }
}

/// A path that cannot be joined with the Upstream's into a valid URI (400).
pub(super) fn bad_path() -> Page {
    Page {
        status: StatusCode::BAD_REQUEST,
        headline: "the request path cannot be forwarded.".into(),
        lines: vec![],
        hint: String::new(),
        link: None,
    }
}

/// A request Roundabout cannot pass on as it came (400): a Host outside the grammar, a body that is not valid HTTP,
/// or one that ended early. The client's fault, not the Upstream's.
pub(super) fn client_fault(reason: &str) -> Page {
    Page {
        status: StatusCode::BAD_REQUEST,
        headline: format!("Roundabout could not pass this request on: {reason}."),
        lines: vec![],
        hint: "Nothing was held against the Upstream; fix the request (or the client sending it) and try again.".into(),
        link: None,
    }
}

/// True when the client is a browser (it accepts HTML); curl and scripts get plain text.
pub(crate) fn wants_html(request_headers: &HeaderMap) -> bool {
    request_headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_text_is_escaped_in_html() {
        let page = Page {
            status: StatusCode::NOT_FOUND,
            headline: "no Target for <script>".into(),
            lines: vec!["a&b".into()],
            hint: String::new(),
            link: None,
        };
        let html = page.html();
        assert!(html.contains("no Target for &lt;script&gt;"));
        assert!(html.contains("a&amp;b"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn browsers_get_html_and_curl_gets_text() {
        let page = Page {
            status: StatusCode::BAD_GATEWAY,
            headline: "h".into(),
            lines: vec![],
            hint: "fix it".into(),
            link: None,
        };
        let mut headers = HeaderMap::new();
        assert_eq!(page.render(wants_html(&headers)).headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
        headers.insert(http::header::ACCEPT, HeaderValue::from_static("text/html,*/*"));
        let response = page.render(wants_html(&headers));
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    }
}
