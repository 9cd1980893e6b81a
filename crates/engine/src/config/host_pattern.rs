//! A `host` matcher as the config spells it: an exact name or a `*.suffix` wildcard, checked once when the config
//! is read and compared without allocating when a request is routed.

/// Exact host or `*.suffix` wildcard, stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `app.localhost`
    Exact(String),
    /// `*.app.localhost`, stored as `.app.localhost`: one or more labels before it.
    Suffix(String),
}

impl HostPattern {
    /// Parses a `host` matcher; the error says what a valid one looks like.
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.trim().trim_end_matches('.').to_ascii_lowercase();
        let (wild, name) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        if lower == "*" {
            return Err("\"*\" would match every host; leave \"host\" out instead".into());
        }
        let valid_label =
            |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if name.is_empty() || !name.split('.').all(valid_label) {
            return Err(format!(
                "\"{text}\" is not a host name; write one like app.localhost, or *.app.localhost for its subdomains"
            ));
        }
        Ok(if wild { HostPattern::Suffix(format!(".{name}")) } else { HostPattern::Exact(name.to_owned()) })
    }

    /// True when `host` (port and trailing dot already removed) is accepted.
    pub fn accepts(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => host.eq_ignore_ascii_case(name),
            HostPattern::Suffix(suffix) => {
                host.len() > suffix.len()
                    && host.is_char_boundary(host.len() - suffix.len())
                    && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            }
        }
    }

    /// The pattern as a user writes it.
    pub fn display(&self) -> String {
        match self {
            HostPattern::Exact(name) => name.clone(),
            HostPattern::Suffix(suffix) => format!("*{suffix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns_are_checked() {
        assert!(HostPattern::parse("*").is_err());
        assert!(HostPattern::parse("a b").is_err());
        assert!(HostPattern::parse("*.").is_err());
        assert!(HostPattern::parse("a..b").is_err());
        assert_eq!(HostPattern::parse("*.X.localhost").unwrap().display(), "*.x.localhost");
    }
}
