//! The pin and unpin links, answered by Roundabout itself rather than forwarded: `GET /.roundabout/pin?target=NAME&
//! upstream=ID` sets the Target's pin cookie, `GET /.roundabout/unpin?target=NAME` clears it, and both send the
//! browser back to `/` (303). A link for a Target that does not exist, does not answer on this host, or has no such
//! Upstream gets a page that says which and what to open instead; the cookie is left alone.

use std::sync::Arc;

use http::header::{LOCATION, SET_COOKIE};
use http::uri::PathAndQuery;
use http::{HeaderValue, Response, StatusCode, Uri};

use super::body::ResponseBody;
use super::pages::{Link, Page, unpin_link};
use super::route::{Addressed, Outcome};
use super::{Proxy, cookies};
use crate::config::HostPattern;
use crate::routing::{Mux, Target, UNPIN_PATH, UpstreamId, link_url};
use crate::server::Connection;

impl Proxy {
    /// Answers a pin or unpin link (`uri` is one, see [`crate::routing::is_link`]) that arrived on `conn`.
    pub(super) fn link(
        &self,
        conn: &Connection,
        uri: &Uri,
        addressed: &Addressed,
        html: bool,
    ) -> (Response<ResponseBody>, Outcome) {
        let unpin = uri.path() == UNPIN_PATH;
        let query = uri.query().unwrap_or("");
        let outcome = Outcome::default();
        let Some(name) = param(query, "target") else {
            return outcome.answer(&no_target(), "the link names no Target".into(), html);
        };
        let mux = self.mux.load();
        let Some(target) = mux.targets().iter().find(|t| *t.name == *name) else {
            return outcome.answer(&unknown_target(&mux, &name), format!("no Target is named \"{name}\""), html);
        };
        let outcome = Outcome { target: Some(Arc::clone(&target.name)), ..outcome };
        let host = addressed.host();
        if let Some(pattern) = target.matcher.host().filter(|p| !p.accepts(host)) {
            let page = wrong_host(target, pattern, host, conn, uri);
            let why = format!("Target \"{}\" does not answer on {host}", target.name);
            return outcome.answer(&page, why, html);
        }
        if unpin {
            let page = Page {
                status: StatusCode::SEE_OTHER,
                headline: format!("this browser is no longer pinned for Target \"{name}\": it is balanced again."),
                lines: vec![],
                hint: String::new(),
                link: None,
            };
            return see_other(outcome, &page, cookies::unpin(&target.cookies), "unpinned this browser".into(), html);
        }
        let wanted = param(query, "upstream").unwrap_or_default();
        let found = UpstreamId::parse(wanted.as_bytes()).and_then(|id| target.upstreams.iter().find(|u| u.id == id));
        let Some(upstream) = found else {
            let why = format!("Target \"{}\" has no Upstream with id \"{wanted}\"", target.name);
            return outcome.answer(&unknown_upstream(target, &wanted), why, html);
        };
        let mut lines = vec![format!("{} (id {})", upstream.url, upstream.id)];
        if !upstream.enabled {
            lines.push("It is disabled: until it is enabled again, this browser is balanced like any other.".into());
        }
        let page = Page {
            status: StatusCode::SEE_OTHER,
            headline: format!("this browser is now pinned to Upstream {} of Target \"{}\".", upstream.label, name),
            lines,
            hint: "Its requests to this Target all go there, even while it fails; other browsers are not affected."
                .into(),
            link: Some(unpin_link(&name)),
        };
        let why = format!("pinned this browser to {}", upstream.label);
        see_other(outcome, &page, cookies::pin(&target.cookies, upstream.id), why, html)
    }
}

/// The page, a redirect to `/` (so the browser lands on the app it just pinned) and the cookie.
fn see_other(
    outcome: Outcome,
    page: &Page,
    cookie: Option<HeaderValue>,
    why: String,
    html: bool,
) -> (Response<ResponseBody>, Outcome) {
    let (mut response, outcome) = outcome.answer(page, why, html);
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("/"));
    if let Some(cookie) = cookie {
        headers.insert(SET_COOKIE, cookie);
    }
    (response, outcome)
}

/// The link has no `target` (400).
fn no_target() -> Page {
    Page {
        status: StatusCode::BAD_REQUEST,
        headline: "this link names no Target: it needs ?target=NAME (and, to pin, &upstream=ID).".into(),
        lines: vec![],
        hint: "Copy the pin links from `roundabout status` or the app.".into(),
        link: None,
    }
}

/// No Target has the name the link gives (404): the names there are.
fn unknown_target(mux: &Mux, name: &str) -> Page {
    Page {
        status: StatusCode::NOT_FOUND,
        headline: format!("no Target is named \"{name}\", so this link cannot pin or unpin anything."),
        lines: mux.targets().iter().map(|t| t.name.to_string()).collect(),
        hint: "Use one of these names, or copy the link again from `roundabout status` or the app.".into(),
        link: None,
    }
}

/// The Target does not answer on the host the link was opened on (400): a cookie set here would never reach it.
/// The same link on the Target's host, when it has one.
fn wrong_host(target: &Target, pattern: &HostPattern, host: &str, conn: &Connection, uri: &Uri) -> Page {
    let (hint, link) = match pattern {
        HostPattern::Exact(name) => {
            let path = uri.path_and_query().map_or("/", PathAndQuery::as_str);
            let href = link_url(conn.secure, name, conn.local.port(), path);
            (
                format!("Open the link on {name}, where it answers."),
                Some(Link { text: format!("Open it on {name}"), href }),
            )
        }
        HostPattern::Suffix(_) => {
            (format!("Open the link on a host matching {}, where it answers.", pattern.display()), None)
        }
    };
    Page {
        status: StatusCode::BAD_REQUEST,
        headline: format!(
            "Target \"{}\" does not answer on host \"{host}\", so a pin set here would never reach it.",
            target.name
        ),
        lines: vec![],
        hint,
        link,
    }
}

/// The Target has no Upstream with the id the link gives (404): the ids there are.
fn unknown_upstream(target: &Target, wanted: &str) -> Page {
    Page {
        status: StatusCode::NOT_FOUND,
        headline: format!("Target \"{}\" has no Upstream with id \"{wanted}\".", target.name),
        lines: target.upstreams.iter().map(|u| format!("{}: {}", u.id, u.url)).collect(),
        hint: "Use one of these ids in upstream=…; `roundabout status` and the app show each Upstream's pin link."
            .into(),
        link: None,
    }
}

/// The value of the first `key=value` in `query`, percent-decoded; `None` when the key is absent.
fn param(query: &str, key: &str) -> Option<String> {
    query.split('&').map(|p| p.split_once('=').unwrap_or((p, ""))).find(|(k, _)| *k == key).map(|(_, v)| decode(v))
}

/// Percent-decodes `text`; a `%` not followed by two hex digits stays as it is, and bytes that are not UTF-8 become
/// U+FFFD (no Target name contains them).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let digit = |at: usize| bytes.get(at).copied().and_then(hex);
        let escaped = (bytes[i] == b'%').then(|| Some(digit(i + 1)? * 16 + digit(i + 2)?));
        if let Some(Some(byte)) = escaped {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of one hex digit.
fn hex(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_found_by_key_and_percent_decoded() {
        let q = "target=my%20app%2F%C3%BC&upstream=0123ABCD&target=second&flag&empty=";
        assert_eq!(param(q, "target").as_deref(), Some("my app/ü"), "the first one counts");
        assert_eq!(param(q, "upstream").as_deref(), Some("0123ABCD"));
        assert_eq!(param(q, "flag").as_deref(), Some(""));
        assert_eq!(param(q, "empty").as_deref(), Some(""));
        assert_eq!(param(q, "missing"), None);
        assert_eq!(param("xtarget=a", "target"), None, "keys match whole");
    }

    #[test]
    fn broken_escapes_are_kept_as_they_are() {
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%zz%41"), "%zzA");
        assert_eq!(decode("a+b%2b"), "a+b+", "only percent escapes are decoded");
        assert_eq!(decode("%ff"), "\u{fffd}");
    }
}
