//! Entry points for the criterion micro-benchmarks in `benches/` (`cargo bench -p roundabout-engine`): routing and
//! selection are internals no public API exposes, so they are reached through this small, opaque surface.

use http::{HeaderMap, Method};
use tokio::time::Instant;

use crate::config::Config;
use crate::routing::{Mux, RequestView};

/// A routing snapshot of a config, built as the engine builds one.
#[derive(Debug)]
pub struct Routes(Mux);

impl Routes {
    /// The snapshot of `config`'s Targets.
    pub fn new(config: &Config) -> Self {
        Routes(Mux::build(&config.targets, None, &[], &Mux::default(), &[]))
    }

    /// The name of the Target a request goes to, as on the request path.
    pub fn route(&self, host: &str, path: &str, method: &Method, headers: &HeaderMap) -> Option<&str> {
        let view = RequestView { host, path, port: 8800, method, headers };
        self.0.route(&view).map(|t| &*t.name)
    }

    /// The port of the first Upstream the first Target's Balancer offers at `now`, health applied as on the
    /// request path.
    pub fn pick(&self, now: Instant) -> Option<u16> {
        let target = self.0.targets().first()?;
        target.candidates(now).next_candidate().map(|(u, _)| u.address.port)
    }
}
