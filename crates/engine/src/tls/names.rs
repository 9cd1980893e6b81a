//! Which names Roundabout will hold a certificate for: `localhost`, any `*.localhost` name, and the loopback
//! addresses. Browsers resolve all of them to this machine (RFC 6761), so a certificate for one of them can never
//! stand for another site, and Roundabout's CA is constrained to exactly these.

use std::net::IpAddr;

/// A name a leaf certificate may be minted for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LocalName {
    /// `localhost` or a name under it, lowercase, without a trailing dot.
    Dns(String),
    /// A loopback address.
    Ip(IpAddr),
}

impl LocalName {
    /// The local name `text` stands for, or `None` when it is not local (or not a name at all).
    pub fn parse(text: &str) -> Option<LocalName> {
        let text = text.trim_end_matches('.');
        if let Ok(ip) = text.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return ip.is_loopback().then_some(LocalName::Ip(ip));
        }
        let lower = text.to_ascii_lowercase();
        let labels_valid = lower.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        let local = lower == "localhost" || lower.ends_with(".localhost");
        (local && labels_valid && lower.len() <= 253).then_some(LocalName::Dns(lower))
    }

    /// The name as it appears in a certificate's subject alternative name.
    pub fn as_san(&self) -> String {
        match self {
            LocalName::Dns(name) => name.clone(),
            LocalName::Ip(ip) => ip.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_its_subdomains_and_loopback_addresses_are_local() {
        assert_eq!(LocalName::parse("localhost"), Some(LocalName::Dns("localhost".into())));
        assert_eq!(LocalName::parse("App.LocalHost."), Some(LocalName::Dns("app.localhost".into())));
        assert_eq!(LocalName::parse("a.b-c.localhost"), Some(LocalName::Dns("a.b-c.localhost".into())));
        assert_eq!(LocalName::parse("127.0.0.1"), Some(LocalName::Ip("127.0.0.1".parse().unwrap())));
        assert_eq!(LocalName::parse("127.9.9.9"), Some(LocalName::Ip("127.9.9.9".parse().unwrap())));
        assert_eq!(LocalName::parse("[::1]"), Some(LocalName::Ip("::1".parse().unwrap())));
    }

    #[test]
    fn other_names_get_no_certificate() {
        for name in [
            "example.com",
            "localhost.example.com",
            "notlocalhost",
            "evil-localhost",
            "a..localhost",
            "-a.localhost",
            "a_b.localhost",
            "*.localhost",
            "10.0.0.1",
            "::2",
            "",
        ] {
            assert_eq!(LocalName::parse(name), None, "{name:?}");
        }
        assert_eq!(LocalName::parse(&format!("{}.localhost", "a".repeat(64))), None);
    }
}
