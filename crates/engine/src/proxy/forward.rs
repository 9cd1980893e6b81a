//! How a request and its response are rewritten on the way through: hop-by-hop headers stripped both ways
//! (including those a `Connection` header names, but never Host), X-Forwarded-* added, Host kept or replaced,
//! upgrades kept intact.

use http::header::Entry;
use http::header::{
    CONNECTION, CONTENT_LENGTH, HOST, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use std::hash::{BuildHasher, Hasher, RandomState};

use http::header::{SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, request};

use crate::http1;
use crate::server::Connection;

/// Counts passes through Roundabout so an indirect loop (through another proxy) ends instead of spinning.
pub(super) const HOPS: HeaderName = HeaderName::from_static("x-roundabout-hops");
/// More passes than this are treated as a loop.
pub(super) const MAX_HOPS: u8 = 8;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Headers meaningful only for one connection (RFC 9110 7.6.1 plus the legacy ones proxies still see).
const HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
];

/// `x-roundabout-hops` values without formatting a number per request.
const HOP_COUNTS: [HeaderValue; MAX_HOPS as usize] = [
    HeaderValue::from_static("1"),
    HeaderValue::from_static("2"),
    HeaderValue::from_static("3"),
    HeaderValue::from_static("4"),
    HeaderValue::from_static("5"),
    HeaderValue::from_static("6"),
    HeaderValue::from_static("7"),
    HeaderValue::from_static("8"),
];

/// The options listed in `Connection` headers, trimmed.
fn connection_options(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers.get_all(CONNECTION).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim)
}

/// True for a `Connection` option naming a header to remove that is not hop-by-hop anyway. `close` names no
/// header; Host is never removed: a request without it cannot be routed by the Upstream (and HTTP/1.1 requires it).
fn names_another_header(option: &str) -> bool {
    !option.is_empty()
        && !option.eq_ignore_ascii_case("close")
        && !option.eq_ignore_ascii_case(HOST.as_str())
        && !HOP_BY_HOP.iter().any(|n| option.eq_ignore_ascii_case(n.as_str()))
}

/// The protocol the client asked to switch to, when it asked (`Connection: upgrade` plus `Upgrade`).
pub(super) fn requested_upgrade(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = connection_options(headers).any(|t| t.eq_ignore_ascii_case("upgrade"));
    if asks { headers.get(UPGRADE).cloned() } else { None }
}

/// True for an HTTP/2 extended CONNECT opening a WebSocket (RFC 8441).
pub(super) fn is_websocket_connect<B>(request: &Request<B>) -> bool {
    request.extensions().get::<hyper::ext::Protocol>().is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
}

/// Turns a WebSocket over HTTP/2 (an extended CONNECT) into the HTTP/1.1 upgrade an Upstream understands: a GET
/// whose handshake carries a fresh `Sec-WebSocket-Key` (HTTP/2 has none, RFC 8441 §5). Returns the protocol to
/// upgrade to.
pub(super) fn websocket_over_h2(parts: &mut request::Parts) -> HeaderValue {
    parts.method = Method::GET;
    parts.headers.insert(SEC_WEBSOCKET_KEY, websocket_key());
    parts.headers.entry(SEC_WEBSOCKET_VERSION).or_insert(HeaderValue::from_static("13"));
    HeaderValue::from_static("websocket")
}

/// The answer to a WebSocket over HTTP/2: the Upstream's 101 becomes the 200 HTTP/2 expects, without the HTTP/1.1
/// handshake's own fields.
pub(super) fn switched_over_h2<B>(response: &mut Response<B>) {
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        *response.status_mut() = StatusCode::OK;
        for name in [CONNECTION, UPGRADE, SEC_WEBSOCKET_ACCEPT] {
            response.headers_mut().remove(name);
        }
    }
}

/// A `Sec-WebSocket-Key`: 16 random bytes, base64 (RFC 6455 §4.1). Its only role is the Upstream's handshake check.
fn websocket_key() -> HeaderValue {
    const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let seed = RandomState::new();
    let mut bytes = [0u8; 18];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut hasher = seed.build_hasher();
        hasher.write_usize(i);
        chunk.copy_from_slice(&hasher.finish().to_le_bytes()[..chunk.len()]);
    }
    // 16 random bytes and two zero bytes of padding: 24 characters, the last two `==`.
    bytes[16..].fill(0);
    let mut text = [b'='; 24];
    for (i, group) in bytes.chunks(3).enumerate() {
        let n = (u32::from(group[0]) << 16) | (u32::from(group[1]) << 8) | u32::from(group[2]);
        for j in 0..4 {
            text[i * 4 + j] = BASE64[((n >> (18 - 6 * j)) & 63) as usize];
        }
    }
    text[22..].fill(b'=');
    HeaderValue::from_bytes(&text).unwrap_or(HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="))
}

/// Removes hop-by-hop headers, including every header named in `Connection`. Most requests carry none but
/// `Connection`, so one pass over the names decides whether any removal (a hash lookup each) is needed.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Bit i set: HOP_BY_HOP[i] is present (bit 0 is Connection).
    let mut present = 0u16;
    for name in headers.keys() {
        if let Some(i) = HOP_BY_HOP.iter().position(|h| h == name) {
            present |= 1 << i;
        }
    }
    if present == 0 {
        return;
    }
    let connection = present & 1 != 0;
    // `Connection: keep-alive` (or `close`, `upgrade`) names nothing the loop below does not remove already: only
    // other names are collected (which allocates).
    if connection && connection_options(headers).any(names_another_header) {
        let named: Vec<HeaderName> = connection_options(headers)
            .filter(|t| names_another_header(t))
            .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    let keep_te_trailers = headers.get(TE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    for (i, name) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            headers.remove(name);
        }
    }
    if keep_te_trailers {
        headers.insert(TE, HeaderValue::from_static("trailers"));
    }
}

/// Rewrites a request's headers for the Upstream. `host` is the authority the client addressed (Host header or
/// absolute URI); `conn` the connection it came on (the client's address, and whether it is HTTPS); `upgrade` is
/// what [`requested_upgrade`] found. Every `X-Forwarded-For` the client sent is kept, in order, with the client's
/// address after them. Returns false when the request has looped.
pub(super) fn rewrite_request(
    headers: &mut HeaderMap,
    host: Option<&HeaderValue>,
    conn: &Connection,
    upgrade: Option<HeaderValue>,
) -> bool {
    let client = &conn.client_ip;
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, protocol);
    }
    // Entries, so each header is found once whether it is read, replaced or added.
    match headers.entry(X_FORWARDED_FOR) {
        Entry::Occupied(mut prior) => {
            let mut joined = Vec::with_capacity(64);
            for value in prior.iter() {
                joined.extend_from_slice(value.as_bytes());
                joined.extend_from_slice(b", ");
            }
            joined.extend_from_slice(client.as_bytes());
            prior.insert(HeaderValue::from_bytes(&joined).unwrap_or_else(|_| client.clone()));
        }
        Entry::Vacant(slot) => {
            slot.insert(client.clone());
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(if conn.secure { "https" } else { "http" }));
    if let Some(host) = host {
        headers.insert(X_FORWARDED_HOST, host.clone());
    }
    match headers.entry(HOPS) {
        Entry::Occupied(mut seen) => {
            let hops = seen.get().to_str().ok().and_then(|v| v.parse::<u8>().ok()).unwrap_or(0);
            if hops >= MAX_HOPS {
                return false;
            }
            seen.insert(HOP_COUNTS[usize::from(hops)].clone());
        }
        Entry::Vacant(slot) => {
            slot.insert(HOP_COUNTS[0].clone());
        }
    }
    true
}

/// Rewrites a response's headers for the client. A 101 keeps its `Connection`/`Upgrade` pair; a response without
/// content loses any Content-Length.
pub(super) fn rewrite_response(headers: &mut HeaderMap, status: StatusCode) {
    let upgrade = if status == StatusCode::SWITCHING_PROTOCOLS { headers.get(UPGRADE).cloned() } else { None };
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, protocol);
    }
    if http1::forbids_length(status) {
        // A 1xx, 204 or 304 has no content: a length would describe something else (HTTP/2 clients see it too).
        headers.remove(CONTENT_LENGTH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn strips_hop_by_hop_and_connection_named_headers() {
        let mut h = headers(&[
            ("connection", "keep-alive, X-Secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "basic x"),
            ("te", "gzip"),
            ("x-kept", "yes"),
        ]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h["x-kept"], "yes");
    }

    /// A plain (or, with `secure`, HTTPS) connection from 127.0.0.1.
    fn conn(secure: bool) -> Connection {
        let addr = "127.0.0.1:1".parse().unwrap();
        Connection::new("web".into(), addr, addr, secure)
    }

    #[test]
    fn every_forwarded_for_line_is_kept_in_order() {
        let mut h = headers(&[("x-forwarded-for", "10.0.0.1, 10.0.0.2"), ("x-forwarded-for", "10.0.0.3")]);
        assert!(rewrite_request(&mut h, None, &conn(false), None));
        let all: Vec<_> = h.get_all("x-forwarded-for").iter().collect();
        assert_eq!(all, ["10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1"]);
    }

    #[test]
    fn a_websocket_over_http2_becomes_an_http1_upgrade_and_back() {
        let mut parts = Request::builder().method(Method::CONNECT).body(()).unwrap().into_parts().0;
        assert_eq!(websocket_over_h2(&mut parts), "websocket");
        assert_eq!(parts.method, Method::GET);
        let key = parts.headers[SEC_WEBSOCKET_KEY].to_str().unwrap().to_owned();
        assert!(key.len() == 24 && key.ends_with("==") && !key.contains("AAAAAAAAAAAAAAAAAAAA"), "{key}");
        assert_eq!(parts.headers[SEC_WEBSOCKET_VERSION], "13");
        assert_ne!(websocket_key(), websocket_key(), "a fresh key each time");
        let mut response =
            Response::builder().status(101).header("connection", "upgrade").header("upgrade", "websocket");
        response = response.header("sec-websocket-accept", "x").header("sec-websocket-protocol", "chat");
        let mut response = response.body(()).unwrap();
        switched_over_h2(&mut response);
        assert_eq!((response.status(), response.headers().len()), (StatusCode::OK, 1));
        let mut refused = Response::builder().status(404).header("connection", "close").body(()).unwrap();
        switched_over_h2(&mut refused);
        assert_eq!(refused.status(), 404, "a refusal passes as it is");
    }

    #[test]
    fn connection_cannot_strip_host() {
        let mut h = headers(&[("connection", "Host, x-a"), ("host", "app.localhost"), ("x-a", "1"), ("x-b", "2")]);
        strip_hop_by_hop(&mut h);
        assert_eq!((h["host"].as_bytes(), h.get("x-a"), h.len()), (&b"app.localhost"[..], None, 2));
    }

    #[test]
    fn te_trailers_survives() {
        let mut h = headers(&[("te", "trailers")]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h["te"], "trailers");
    }

    #[test]
    fn request_gets_forwarding_headers() {
        let mut h = headers(&[("x-forwarded-for", "10.0.0.1"), ("host", "app.localhost:8800")]);
        let host = h.get(http::header::HOST).cloned();
        assert!(rewrite_request(&mut h, host.as_ref(), &conn(false), None));
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-host"], "app.localhost:8800");
        assert_eq!(h["x-forwarded-proto"], "http");
        let mut h = headers(&[]);
        assert!(rewrite_request(&mut h, None, &conn(true), None));
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h[HOPS], "1");
    }

    #[test]
    fn upgrade_is_kept_for_the_upstream() {
        let mut h = headers(&[("connection", "keep-alive, Upgrade"), ("upgrade", "websocket")]);
        let upgrade = requested_upgrade(&h);
        assert!(rewrite_request(&mut h, None, &conn(false), upgrade));
        assert_eq!(h["connection"], "upgrade");
        assert_eq!(h["upgrade"], "websocket");
    }

    #[test]
    fn too_many_hops_is_a_loop() {
        let mut h = headers(&[("x-roundabout-hops", "7")]);
        assert!(rewrite_request(&mut h, None, &conn(false), None));
        assert_eq!(h[HOPS], "8");
        assert!(!rewrite_request(&mut h, None, &conn(false), None));
    }

    #[test]
    fn switching_response_keeps_upgrade() {
        let mut h = headers(&[("connection", "Upgrade"), ("upgrade", "websocket"), ("keep-alive", "x")]);
        rewrite_response(&mut h, StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(
            (h["connection"].as_bytes(), h["upgrade"].as_bytes(), h.len()),
            (&b"upgrade"[..], &b"websocket"[..], 2)
        );
        let mut h = headers(&[("connection", "close"), ("upgrade", "websocket")]);
        rewrite_response(&mut h, StatusCode::OK);
        assert!(h.is_empty());
        let mut h = headers(&[("content-length", "8"), ("etag", "x")]);
        rewrite_response(&mut h, StatusCode::NOT_MODIFIED);
        assert_eq!(h.len(), 1, "a 304 passes on no length: {h:?}");
    }
}
