//! What a first run starts with, and what it tells the user: http and https Listeners on ports 80 and 443 when
//! this process may bind them, 8800 and 8443 otherwise (saying why and how to get the standard ports: never a
//! silent fallback), and the built-in demo behind them.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};

use crate::config::Config;
use crate::server::{self, ListenError};

/// The ports of a first run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstRun {
    /// The http Listener's port: 80, or 8800.
    pub http: u16,
    /// The https Listener's port: 443, or 8443.
    pub https: u16,
    /// Why the standard ports could not be used, with the fix; `None` when they are.
    pub why_not_standard: Option<String>,
}

impl FirstRun {
    /// Tries to bind 80 and 443 on loopback (releasing them at once) and picks the ports accordingly.
    pub fn probe() -> Self {
        let refused = [80, 443].into_iter().find_map(|port| {
            server::bindable(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).err().map(|e| match e {
                ListenError::InUse(addr) => format!("{addr} is used by another program; stop it to use port {port}"),
                other => other.to_string(),
            })
        });
        match refused {
            None => FirstRun { http: 80, https: 443, why_not_standard: None },
            Some(why) => FirstRun { http: 8800, https: 8443, why_not_standard: Some(why) },
        }
    }

    /// The first config: these ports, and the demo.
    pub fn config(&self) -> Config {
        Config::starter(self.http, self.https)
    }

    /// What to tell the user, once the config is saved at `path`: where to look, and why the ports are what they are.
    pub fn note(&self, path: &str) -> String {
        let port = |port: u16, standard: u16| if port == standard { String::new() } else { format!(":{port}") };
        let mut note = format!(
            "First run: created {path} with two Listeners and the built-in demo.\n\
             Open http://demo.localhost{} or https://demo.localhost{} and reload to watch round-robin over three demo \
             upstreams (https needs Roundabout's CA trusted once: roundabout trust).\n",
            port(self.http, 80),
            port(self.https, 443),
        );
        if let Some(why) = &self.why_not_standard {
            let _ = writeln!(
                note,
                "Ports 80 and 443 are not available ({why}), so 8800 and 8443 are used; change the ports in the config \
                 once they are."
            );
        }
        note.push_str("To remove the demo, delete the line \"demo\": true from that file (edits apply live).");
        note
    }
}
