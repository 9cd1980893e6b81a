//! A Listener's `bind` value: which socket addresses it means, and whether it exposes the machine.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The socket addresses one Listener binds. A bare port means both loopback families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAddress {
    /// Addresses to bind, in order. The second loopback family is optional (a machine may lack IPv6).
    pub addrs: Vec<SocketAddr>,
    /// True when an address is reachable from other machines, which the CLI warns about.
    pub exposed: bool,
}

impl BindAddress {
    /// Parses `8800`, `localhost:8800`, `127.0.0.1:8800`, `[::1]:8800` or `0.0.0.0:8800`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let loopback_pair = |port: u16| {
            let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
            // Two families on an ephemeral port would get two different ports; one address is clearer.
            let addrs =
                if port == 0 { vec![v4] } else { vec![v4, SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)] };
            BindAddress { addrs, exposed: false }
        };
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return parse_port(text).map(loopback_pair);
        }
        if let Some(port) = text.strip_prefix("localhost:") {
            return parse_port(port).map(loopback_pair);
        }
        match text.parse::<SocketAddr>() {
            Ok(addr) => Ok(BindAddress { addrs: vec![addr], exposed: !addr.ip().is_loopback() }),
            Err(_) => Err(format!(
                "\"{text}\" is not a bind address; write a port (8800), an address and port (127.0.0.1:8800) \
                 or an IPv6 address in brackets ([::1]:8800)"
            )),
        }
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.parse::<u16>().map_err(|_| format!("port \"{text}\" is out of range; use a number from 1 to 65535"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_port_means_both_loopbacks() {
        let b = BindAddress::parse("8800").unwrap();
        assert_eq!(b.addrs, vec!["127.0.0.1:8800".parse().unwrap(), "[::1]:8800".parse().unwrap()]);
        assert!(!b.exposed);
        assert_eq!(BindAddress::parse("localhost:9000").unwrap().addrs.len(), 2);
        assert_eq!(BindAddress::parse("0").unwrap().addrs.len(), 1);
    }

    #[test]
    fn explicit_addresses() {
        assert!(!BindAddress::parse("127.0.0.1:80").unwrap().exposed);
        assert!(!BindAddress::parse("[::1]:80").unwrap().exposed);
        assert!(BindAddress::parse("0.0.0.0:80").unwrap().exposed);
        assert!(BindAddress::parse("192.168.1.2:80").unwrap().exposed);
    }

    #[test]
    fn bad_binds_say_how_to_write_one() {
        assert!(BindAddress::parse("99999").unwrap_err().contains("1 to 65535"));
        assert!(BindAddress::parse("example.com:80").unwrap_err().contains("127.0.0.1:8800"));
        assert!(BindAddress::parse("").is_err());
        assert!(BindAddress::parse("::1:80").is_err());
    }
}
