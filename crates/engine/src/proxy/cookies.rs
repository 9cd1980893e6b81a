//! Roundabout's own cookies in a request: read what they ask of the matched Target, and remove them before the
//! request goes on, so an Upstream never sees them (its own cookies pass byte for byte).
//!
//! A Cookie header is `name=value` pairs separated by `; ` (RFC 6265 §4.2.1); browsers send one, HTTP/2 clients
//! may split it into several fields (RFC 9113 §8.2.3). Parsing borrows from the header and allocates nothing;
//! a request without a cookie of ours is never rewritten.

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

use crate::routing::{Asked, CookieNames, UpstreamId, is_ours};

/// One `name=value` pair of a Cookie header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pair<'a> {
    /// The name, trimmed.
    name: &'a [u8],
    /// The value, trimmed, without the double quotes RFC 6265 allows around it.
    value: &'a [u8],
}

/// The pair in one `;`-separated piece of a Cookie header; `None` for a piece without `=` or with an empty name (no
/// browser sends them, and they cannot be ours).
fn pair(piece: &[u8]) -> Option<Pair<'_>> {
    let at = piece.iter().position(|b| *b == b'=')?;
    let name = piece[..at].trim_ascii();
    let value = match piece[at + 1..].trim_ascii() {
        [b'"', inner @ .., b'"'] => inner,
        value => value,
    };
    (!name.is_empty()).then_some(Pair { name, value })
}

/// The pieces of one Cookie header value, as sent (with the whitespace after each `;`).
fn pieces(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    header.split(|b| *b == b';')
}

/// The pairs of one Cookie header value, in order.
fn pairs(header: &[u8]) -> impl Iterator<Item = Pair<'_>> {
    pieces(header).filter_map(pair)
}

/// True for a piece holding a cookie of Roundabout's.
fn ours(piece: &[u8]) -> bool {
    pair(piece).is_some_and(|p| is_ours(p.name))
}

/// What the request's cookies ask of the Target with cookie names `names`, and whether it carries any cookie of
/// Roundabout's (for any Target) that must be removed. The first pair of a name counts (browsers send the most
/// specific first). A request without a Cookie header does nothing but one header lookup.
pub(super) fn read(headers: &HeaderMap, names: &CookieNames) -> (Asked, bool) {
    let mut asked = Asked::default();
    let mut ours = false;
    for header in headers.get_all(COOKIE) {
        for pair in pairs(header.as_bytes()).filter(|p| is_ours(p.name)) {
            ours = true;
            let slot = if pair.name == names.pin.as_bytes() {
                &mut asked.pin
            } else if names.sticky.as_deref().is_some_and(|sticky| pair.name == sticky.as_bytes()) {
                &mut asked.sticky
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = UpstreamId::parse(pair.value);
            }
        }
    }
    (asked, ours)
}

/// Removes every cookie of Roundabout's from the Cookie headers. A header that carries none is kept as it is; from
/// one that does, only those pairs are cut out (with the `;` before them), so every other byte stays as it was sent;
/// a header left with nothing but separators is dropped. Allocates only for a header that carries one of ours.
pub(super) fn strip(headers: &mut HeaderMap) {
    let kept: Vec<HeaderValue> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| {
            if !pieces(header.as_bytes()).any(ours) {
                return Some(header.clone());
            }
            let mut rebuilt = Vec::with_capacity(header.len());
            for (i, piece) in pieces(header.as_bytes()).filter(|p| !ours(p)).enumerate() {
                if i > 0 {
                    rebuilt.push(b';');
                }
                rebuilt.extend_from_slice(piece);
            }
            let rest = rebuilt.trim_ascii();
            if rest.iter().all(|b| *b == b';' || b.is_ascii_whitespace()) {
                return None;
            }
            // Cut from a valid header value, so it is one too.
            HeaderValue::from_bytes(rest).ok()
        })
        .collect();
    headers.remove(COOKIE);
    for value in kept {
        headers.append(COOKIE, value);
    }
}

/// The `Set-Cookie` that keeps a browser on `upstream` of the sticky Target with cookie names `names` (a session
/// cookie: a new browser session balances afresh).
pub(super) fn sticky(names: &CookieNames, upstream: UpstreamId) -> Option<HeaderValue> {
    let name = names.sticky.as_deref()?;
    HeaderValue::try_from(format!("{name}={upstream}; Path=/; HttpOnly; SameSite=Lax")).ok()
}

/// The `Set-Cookie` that pins a browser to `upstream` of the Target with cookie names `names` (400 days, the
/// longest a browser keeps a cookie).
pub(super) fn pin(names: &CookieNames, upstream: UpstreamId) -> Option<HeaderValue> {
    HeaderValue::try_from(format!("{}={upstream}; Path=/; Max-Age=34560000; HttpOnly; SameSite=Lax", names.pin)).ok()
}

/// The `Set-Cookie` that removes the pin cookie of the Target with cookie names `names`.
pub(super) fn unpin(names: &CookieNames) -> Option<HeaderValue> {
    HeaderValue::try_from(format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax", names.pin)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs_of(header: &str) -> Vec<(String, String)> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        pairs(header.as_bytes()).map(|p| (text(p.name), text(p.value))).collect()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(COOKIE, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn cookies(map: &HeaderMap) -> Vec<&str> {
        map.get_all(COOKIE).iter().map(|v| v.to_str().unwrap()).collect()
    }

    /// The cookie names of a sticky Target named `abc`: `roundabout_pin_ba7816bf` and `roundabout_sticky_ba7816bf`.
    fn names() -> CookieNames {
        CookieNames::of("abc", true)
    }

    const A: &str = "0123abcd";
    const B: &str = "89ef4567";

    fn id(text: &str) -> Option<UpstreamId> {
        UpstreamId::parse(text.as_bytes())
    }

    #[test]
    fn pairs_are_split_on_semicolons_and_trimmed() {
        let want = |v: &[(&str, &str)]| v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<Vec<_>>();
        assert_eq!(pairs_of("a=1; b=2"), want(&[("a", "1"), ("b", "2")]));
        assert_eq!(pairs_of("  a = 1 ;b=2;\tc=3  "), want(&[("a", "1"), ("b", "2"), ("c", "3")]));
        assert_eq!(
            pairs_of("a=\"quoted value\"; b=\"\"; c=\""),
            want(&[("a", "quoted value"), ("b", ""), ("c", "\"")])
        );
        assert_eq!(pairs_of("a=b=c; ;; flag; =x; d="), want(&[("a", "b=c"), ("d", "")]));
        assert_eq!(pairs_of(""), want(&[]));
    }

    #[test]
    fn the_targets_pin_and_sticky_cookies_are_read_from_every_cookie_header() {
        let n = names();
        let map = headers(&[
            "theme=dark",
            &format!("roundabout_sticky_ba7816bf={B}"),
            &format!("x=1; roundabout_pin_ba7816bf=\"{A}\""),
        ]);
        assert_eq!(read(&map, &n), (Asked { pin: id(A), sticky: id(B) }, true));
        assert_eq!(read(&HeaderMap::new(), &n), (Asked::default(), false));
        let not_sticky = CookieNames::of("abc", false);
        assert_eq!(read(&map, &not_sticky), (Asked { pin: id(A), sticky: None }, true), "its sticky cookie is ignored");
        assert_eq!(read(&headers(&["a=1; b=2"]), &n), (Asked::default(), false));
    }

    #[test]
    fn the_first_of_a_name_counts_and_a_bad_value_asks_nothing() {
        let n = names();
        let twice = headers(&[&format!("roundabout_pin_ba7816bf={A}; roundabout_pin_ba7816bf={B}")]);
        assert_eq!(read(&twice, &n).0.pin, id(A));
        let bad = headers(&["roundabout_pin_ba7816bf=nothex!!; roundabout_sticky_ba7816bf=0123abc"]);
        assert_eq!(read(&bad, &n), (Asked::default(), true), "still ours, so still removed");
    }

    #[test]
    fn other_targets_cookies_are_ours_but_ask_nothing_here() {
        let other = headers(&[&format!("roundabout_pin_00000000={A}; roundabout_sticky_11111111={B}")]);
        assert_eq!(read(&other, &names()), (Asked::default(), true));
    }

    #[test]
    fn names_that_only_look_like_ours_are_the_applications() {
        let lookalikes = headers(&[&format!(
            "roundabout_pin_ba7816b={A}; roundabout_pin_ba7816bf0={A}; roundabout_pin={A}; roundabout_={A}; \
             xroundabout_pin_ba7816bf={A}; roundabout_sticky_ba7816bf_={A}"
        )]);
        assert_eq!(read(&lookalikes, &names()), (Asked::default(), false));
        let mut stripped = lookalikes.clone();
        strip(&mut stripped);
        assert_eq!(stripped, lookalikes);
    }

    #[test]
    fn stripping_keeps_every_other_pair_byte_for_byte() {
        let mut map = headers(&[
            "theme=dark;  session=\"a b\"",
            &format!("roundabout_pin_ba7816bf={A}; id = 7 ;roundabout_sticky_00000000={B}; last=x=y"),
            &format!("roundabout_sticky_ba7816bf={B}"),
            "z=1",
        ]);
        strip(&mut map);
        assert_eq!(cookies(&map), ["theme=dark;  session=\"a b\"", "id = 7 ; last=x=y", "z=1"]);
        let mut edges = headers(&[
            &format!(" roundabout_pin_ba7816bf={A};a=1;\tb=2 ;"),
            &format!("a=1 ;roundabout_pin_ba7816bf={A}"),
            &format!("roundabout_pin_ba7816bf={A}; ;"),
            &format!("roundabout_pin_ba7816bf={A}"),
        ]);
        strip(&mut edges);
        assert_eq!(cookies(&edges), ["a=1;\tb=2 ;", "a=1"], "headers left with nothing but separators are dropped");
    }

    #[test]
    fn set_cookie_values_follow_the_documented_shape() {
        let n = names();
        let a = id(A).unwrap();
        let pin = pin(&n, a).unwrap();
        assert_eq!(pin, "roundabout_pin_ba7816bf=0123abcd; Path=/; Max-Age=34560000; HttpOnly; SameSite=Lax");
        assert_eq!(unpin(&n).unwrap(), "roundabout_pin_ba7816bf=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
        assert_eq!(sticky(&n, a).unwrap(), "roundabout_sticky_ba7816bf=0123abcd; Path=/; HttpOnly; SameSite=Lax");
        assert_eq!(sticky(&CookieNames::of("abc", false), a), None, "a Target that is not sticky sets none");
    }
}
