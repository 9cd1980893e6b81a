//! Affinity names: how a browser's cookies name a Target and one of its Upstreams, and the pin and unpin links
//! that set them.
//!
//! An Upstream's id is the first 8 hex digits of SHA-256 of its URL as configured, a Target's cookie names end in
//! the first 8 hex digits of SHA-256 of its name: stable across restarts and reloads (a pinned browser stays pinned
//! while the config is edited), short, and free of characters a cookie or a query cannot carry. They are computed
//! once per routing snapshot, never per request.

use std::fmt::Write;

/// The pin cookie of a Target is this plus its hash.
const PIN_COOKIE: &str = "roundabout_pin_";
/// The sticky cookie of a Target is this plus its hash.
const STICKY_COOKIE: &str = "roundabout_sticky_";
/// The link that pins a browser: `?target=NAME&upstream=ID` (under [`crate::config::RESERVED_PATH_PREFIX`]).
pub const PIN_PATH: &str = "/.roundabout/pin";
/// The link that unpins a browser: `?target=NAME`.
pub const UNPIN_PATH: &str = "/.roundabout/unpin";
/// Hex digits kept of a hash.
const ID_LEN: usize = 8;

/// An Upstream's name in cookies and pin links: 8 lowercase hex digits, stored inline (no allocation to compare).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamId([u8; ID_LEN]);

impl UpstreamId {
    /// The id of the Upstream configured as `url`.
    pub fn of(url: &str) -> Self {
        UpstreamId(short_hash(url))
    }

    /// The id a cookie or query value spells (8 hex digits, either case), if it is one.
    pub fn parse(text: &[u8]) -> Option<Self> {
        let digits: [u8; ID_LEN] = text.try_into().ok()?;
        digits.iter().all(u8::is_ascii_hexdigit).then(|| UpstreamId(digits.map(|d| d.to_ascii_lowercase())))
    }

    /// The 8 hex digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl std::fmt::Display for UpstreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The names of one Target's cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieNames {
    /// `roundabout_pin_<hash>`: the Upstream this browser is pinned to (set by the pin link).
    pub pin: Box<str>,
    /// `roundabout_sticky_<hash>`: the Upstream a sticky Target sent this browser to last; `None` when the Target
    /// is not sticky (its sticky cookie is then ignored, and never set).
    pub sticky: Option<Box<str>>,
}

impl CookieNames {
    /// The cookie names of the Target named `target`, sticky or not.
    pub fn of(target: &str, sticky: bool) -> Self {
        let hash = UpstreamId(short_hash(target));
        CookieNames {
            pin: format!("{PIN_COOKIE}{hash}").into(),
            sticky: sticky.then(|| format!("{STICKY_COOKIE}{hash}").into()),
        }
    }
}

/// True for the name of a cookie of Roundabout's (any Target's pin or sticky cookie), which Upstreams never see.
/// Only the exact shape counts: `roundabout_pin` or `roundabout_pin_abc` belong to the application.
pub fn is_ours(name: &[u8]) -> bool {
    [PIN_COOKIE, STICKY_COOKIE]
        .iter()
        .any(|p| name.strip_prefix(p.as_bytes()).is_some_and(|hash| UpstreamId::parse(hash).is_some()))
}

/// `/.roundabout/pin?target=NAME&upstream=ID`, the name percent-encoded.
pub fn pin_path(target: &str, upstream: UpstreamId) -> String {
    let mut path = format!("{PIN_PATH}?target=");
    encode_into(&mut path, target);
    let _ = write!(path, "&upstream={upstream}");
    path
}

/// `/.roundabout/unpin?target=NAME`, the name percent-encoded.
pub fn unpin_path(target: &str) -> String {
    let mut path = format!("{UNPIN_PATH}?target=");
    encode_into(&mut path, target);
    path
}

/// `scheme://host[:port]path` for a link to open in a browser: `https` when `secure`, the port left out when it is
/// the scheme's default (443, 80).
pub fn link_url(secure: bool, host: &str, port: u16, path: &str) -> String {
    let (scheme, default) = if secure { ("https", 443) } else { ("http", 80) };
    if port == default { format!("{scheme}://{host}{path}") } else { format!("{scheme}://{host}:{port}{path}") }
}

/// True when `path` is one of the links Roundabout answers itself. Checked on every request: two comparisons that
/// stop at the length for almost every other path.
pub fn is_link(path: &str) -> bool {
    path == PIN_PATH || path == UNPIN_PATH
}

/// Appends `text` percent-encoded: everything but RFC 3986's unreserved characters.
fn encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// The first 8 lowercase hex digits of SHA-256 of `text`.
fn short_hash(text: &str) -> [u8; ID_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut out = [0u8; ID_LEN];
    for (i, byte) in digest.as_ref().iter().take(ID_LEN / 2).enumerate() {
        out[2 * i] = HEX[usize::from(byte >> 4)];
        out[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_first_eight_hex_digits_of_sha256() {
        // sha256("abc") = ba7816bf 8f01cfea…, sha256("") = e3b0c442 98fc1c14… (FIPS 180-2 test vectors).
        assert_eq!(UpstreamId::of("abc").as_str(), "ba7816bf");
        assert_eq!(UpstreamId::of("").to_string(), "e3b0c442");
        let names = CookieNames::of("abc", true);
        assert_eq!(
            (&*names.pin, names.sticky.as_deref()),
            ("roundabout_pin_ba7816bf", Some("roundabout_sticky_ba7816bf"))
        );
        assert_eq!(CookieNames::of("abc", false).sticky, None);
    }

    #[test]
    fn an_id_is_parsed_from_eight_hex_digits_only() {
        assert_eq!(UpstreamId::parse(b"BA7816BF"), Some(UpstreamId::of("abc")), "either case");
        for bad in [&b"ba7816b"[..], b"ba7816bf0", b"ba7816bg", b"", b"\"ba7816bf\""] {
            assert_eq!(UpstreamId::parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn only_the_exact_shape_of_our_names_is_ours() {
        assert!(is_ours(b"roundabout_pin_ba7816bf"));
        assert!(is_ours(b"roundabout_sticky_0123abcd"));
        for theirs in [
            &b"roundabout_pin"[..],
            b"roundabout_pin_",
            b"roundabout_pin_ba7816b",
            b"roundabout_pin_ba7816bf0",
            b"roundabout_sticky_ba7816bz",
            b"roundabout_other_ba7816bf",
            b"xroundabout_pin_ba7816bf",
        ] {
            assert!(!is_ours(theirs), "{}", String::from_utf8_lossy(theirs));
        }
    }

    #[test]
    fn links_encode_the_target_name() {
        let id = UpstreamId::of("abc");
        assert_eq!(pin_path("app", id), "/.roundabout/pin?target=app&upstream=ba7816bf");
        assert_eq!(unpin_path("my app/ü&x=1"), "/.roundabout/unpin?target=my%20app%2F%C3%BC%26x%3D1");
        assert_eq!(unpin_path("a-b_c.d~e"), "/.roundabout/unpin?target=a-b_c.d~e");
        assert!(is_link(PIN_PATH) && is_link(UNPIN_PATH));
        assert_eq!(link_url(true, "app.localhost", 443, "/x"), "https://app.localhost/x");
        assert_eq!(link_url(true, "app.localhost", 80, "/x"), "https://app.localhost:80/x");
        assert_eq!(link_url(false, "localhost", 80, "/"), "http://localhost/");
        assert_eq!(link_url(false, "localhost", 443, "/"), "http://localhost:443/");
        assert_eq!(link_url(false, "localhost", 8800, "/"), "http://localhost:8800/");
        for other in ["/.roundabout/pins", "/.roundabout/", "/pin", "/.roundabout/unpin/", "/x/.roundabout/pin"] {
            assert!(!is_link(other), "{other}");
        }
    }
}
