//! How a request and its response are rewritten on the way through: hop-by-hop headers stripped both ways
//! (including those a `Connection` header names), X-Forwarded-* added, Host kept or replaced, upgrades kept intact.

use std::net::IpAddr;

use http::header::{CONNECTION, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue};

/// Counts passes through Roundabout so an indirect loop (through another proxy) ends instead of spinning.
pub const HOPS: HeaderName = HeaderName::from_static("x-roundabout-hops");
/// More passes than this are treated as a loop.
pub const MAX_HOPS: u8 = 8;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Headers meaningful only for one connection (RFC 9110 7.6.1 plus the legacy ones proxies still see).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The protocol the client asked to switch to, when it asked (`Connection: upgrade` plus `Upgrade`).
pub fn requested_upgrade(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    if asks { headers.get(UPGRADE).cloned() } else { None }
}

/// Removes hop-by-hop headers, including every header named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    let keep_te_trailers = headers.get(TE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if keep_te_trailers {
        headers.insert(TE, HeaderValue::from_static("trailers"));
    }
}

/// Rewrites a request's headers for the Upstream. `host` is the authority the client addressed (Host header or
/// absolute URI); `upgrade` is what [`requested_upgrade`] found. Returns false when the request has looped.
pub fn rewrite_request(
    headers: &mut HeaderMap,
    host: Option<&HeaderValue>,
    client_ip: IpAddr,
    upgrade: Option<HeaderValue>,
) -> bool {
    let hops = headers.get(&HOPS).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u8>().ok()).unwrap_or(0);
    if hops >= MAX_HOPS {
        return false;
    }
    strip_hop_by_hop(headers);
    headers.remove(TRAILER);
    headers.remove(TRANSFER_ENCODING);
    if let Some(protocol) = upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, protocol);
    }
    let ip = client_ip.to_canonical().to_string();
    let forwarded_for = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {ip}"),
        None => ip,
    };
    if let Ok(value) = HeaderValue::try_from(forwarded_for) {
        headers.insert(X_FORWARDED_FOR, value);
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    if let Some(host) = host {
        headers.insert(X_FORWARDED_HOST, host.clone());
        headers.insert(HOST, host.clone());
    }
    headers.insert(HOPS, HeaderValue::from(u16::from(hops) + 1));
    true
}

/// Rewrites a response's headers for the client. A 101 keeps its `Connection`/`Upgrade` pair.
pub fn rewrite_response(headers: &mut HeaderMap, switching: bool) {
    let upgrade = if switching { headers.get(UPGRADE).cloned() } else { None };
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, protocol);
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

    #[test]
    fn te_trailers_survives() {
        let mut h = headers(&[("te", "trailers")]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h["te"], "trailers");
    }

    #[test]
    fn request_gets_forwarding_headers() {
        let mut h = headers(&[("x-forwarded-for", "10.0.0.1"), ("host", "app.localhost:8800")]);
        let host = h.get(HOST).cloned();
        assert!(rewrite_request(&mut h, host.as_ref(), "::ffff:127.0.0.1".parse().unwrap(), None));
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-host"], "app.localhost:8800");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h[HOPS], "1");
    }

    #[test]
    fn upgrade_is_kept_for_the_upstream() {
        let mut h = headers(&[("connection", "keep-alive, Upgrade"), ("upgrade", "websocket")]);
        let upgrade = requested_upgrade(&h);
        assert!(rewrite_request(&mut h, None, "127.0.0.1".parse().unwrap(), upgrade));
        assert_eq!(h["connection"], "upgrade");
        assert_eq!(h["upgrade"], "websocket");
    }

    #[test]
    fn too_many_hops_is_a_loop() {
        let mut h = headers(&[("x-roundabout-hops", "8")]);
        assert!(!rewrite_request(&mut h, None, "127.0.0.1".parse().unwrap(), None));
    }

    #[test]
    fn switching_response_keeps_upgrade() {
        let mut h = headers(&[("connection", "Upgrade"), ("upgrade", "websocket"), ("keep-alive", "x")]);
        rewrite_response(&mut h, true);
        assert_eq!(
            (h["connection"].as_bytes(), h["upgrade"].as_bytes(), h.len()),
            (&b"upgrade"[..], &b"websocket"[..], 2)
        );
        let mut h = headers(&[("connection", "close"), ("upgrade", "websocket")]);
        rewrite_response(&mut h, false);
        assert!(h.is_empty());
    }
}
