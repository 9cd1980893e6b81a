//! The Host field's grammar (RFC 9112 §3.2, RFC 3986 §3.2.2): `uri-host [":" port]`. A value outside it is a
//! client's mistake (400), and must never reach an Upstream or `X-Forwarded-Host`.

use std::net::Ipv6Addr;

/// True when `value` is a valid Host field value. The empty value is valid (a target URI without authority).
pub(crate) fn valid(value: &[u8]) -> bool {
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(end) = value.iter().position(|b| *b == b']') else { return false };
        if !ip_literal(&value[1..end]) {
            return false;
        }
        (&[][..], &value[end + 1..])
    } else {
        match value.iter().position(|b| *b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &[][..]),
        }
    };
    reg_name(host) && (port.is_empty() || (port[0] == b':' && port[1..].iter().all(u8::is_ascii_digit)))
}

/// `IPv6address / IPvFuture`, the inside of `[…]`.
fn ip_literal(inside: &[u8]) -> bool {
    if let Some(future) = inside.strip_prefix(b"v").or_else(|| inside.strip_prefix(b"V")) {
        let Some(dot) = future.iter().position(|b| *b == b'.') else { return false };
        let (version, rest) = (&future[..dot], &future[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !rest.is_empty()
            && rest.iter().all(|b| unreserved(*b) || sub_delim(*b) || *b == b':');
    }
    std::str::from_utf8(inside).is_ok_and(|text| text.parse::<Ipv6Addr>().is_ok())
}

/// `*( unreserved / pct-encoded / sub-delims )`, which also covers IPv4 addresses.
fn reg_name(name: &[u8]) -> bool {
    let mut i = 0;
    while i < name.len() {
        match name[i] {
            b'%' if name.len() > i + 2 && name[i + 1].is_ascii_hexdigit() && name[i + 2].is_ascii_hexdigit() => i += 3,
            b if unreserved(b) || sub_delim(b) => i += 1,
            _ => return false,
        }
    }
    true
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn sub_delim(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_people_use_are_valid() {
        for host in [
            "app.localhost",
            "APP.localhost:8800",
            "app.localhost.",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8800",
            "[v1.fe80::a+en1]",
            "xn--bcher-kva.localhost",
            "a%2Db.localhost",
            "%41pp.localhost",
            "a%41%42.localhost",
            "",
            "app.localhost:",
        ] {
            assert!(valid(host.as_bytes()), "{host:?}");
        }
    }

    #[test]
    fn anything_outside_the_grammar_is_refused() {
        for host in [
            "app.localhost/evil",
            "app localhost",
            ":80:80",
            "@evil",
            "user@app.localhost",
            "app.localhost:80a",
            "[::1",
            "[::1]x",
            "[::g]",
            "[v.x]",
            "a%zz",
            "a%2",
            "app.localhost\t",
            "[v1.]",
            "a%41%zz",
            "%4",
            "a%4",
            "a\"b",
            "é.localhost",
        ] {
            assert!(!valid(host.as_bytes()), "{host:?}");
        }
    }
}
