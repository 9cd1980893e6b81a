//! Which Targets could accept a request's host, so the Mux tries only those.
//!
//! Targets with an exact host are found with one hash lookup; the others (a `*.suffix` host, or no host rule) are
//! always tried. Candidates come out in the user's order, so "the first Target that accepts wins" is unchanged:
//! with 1000 host-per-Target Targets a request tries one or two matchers instead of all of them.

use std::collections::HashMap;
use std::iter::Peekable;
use std::slice::Iter;

use crate::config::HostPattern;

/// Target positions by exact host, plus the positions of Targets any host might reach.
#[derive(Debug, Default)]
pub struct HostIndex {
    /// Lowercase host → positions of the Targets with exactly that host, ascending.
    exact: HashMap<Box<str>, Vec<usize>>,
    /// Positions of the Targets without an exact host, ascending.
    others: Vec<usize>,
}

impl HostIndex {
    /// Indexes Targets by their host patterns, in order.
    pub fn build<'a>(hosts: impl IntoIterator<Item = Option<&'a HostPattern>>) -> Self {
        let mut index = HostIndex::default();
        for (position, host) in hosts.into_iter().enumerate() {
            match host {
                Some(HostPattern::Exact(name)) => index.exact.entry(name.as_str().into()).or_default().push(position),
                _ => index.others.push(position),
            }
        }
        index
    }

    /// Positions of the Targets that could accept `host` (without port or trailing dot), ascending.
    pub fn candidates(&self, host: &str) -> Candidates<'_> {
        let exact = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            self.exact.get(host.to_ascii_lowercase().as_str())
        } else {
            self.exact.get(host)
        };
        Candidates {
            exact: exact.map_or(&[][..], Vec::as_slice).iter().peekable(),
            others: self.others.iter().peekable(),
        }
    }
}

/// Two ascending lists of positions merged into one ascending sequence.
#[derive(Debug)]
pub struct Candidates<'a> {
    exact: Peekable<Iter<'a, usize>>,
    others: Peekable<Iter<'a, usize>>,
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match (self.exact.peek(), self.others.peek()) {
            (Some(a), Some(b)) if a < b => self.exact.next().copied(),
            (Some(_), None) => self.exact.next().copied(),
            _ => self.others.next().copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_hosts_and_the_rest_merge_in_order() {
        let patterns: Vec<Option<HostPattern>> =
            ["app.localhost", "*.app.localhost", "", "api.localhost", "app.localhost"]
                .iter()
                .map(|h| (!h.is_empty()).then(|| HostPattern::parse(h).unwrap()))
                .collect();
        let index = HostIndex::build(patterns.iter().map(Option::as_ref));
        assert_eq!(index.candidates("app.localhost").collect::<Vec<_>>(), [0, 1, 2, 4]);
        assert_eq!(index.candidates("APP.localhost").collect::<Vec<_>>(), [0, 1, 2, 4], "hosts are case-insensitive");
        assert_eq!(index.candidates("api.localhost").collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(index.candidates("other").collect::<Vec<_>>(), [1, 2]);
    }
}
