//! Routing: the Mux (which Target a request goes to), matchers and the host index that makes a long list cheap,
//! Targets and their Balancers (which Upstream it tries first, then next), and Upstreams with their counters.
//!
//! A routing snapshot is immutable; the engine builds a new one for every config change, carrying over what the
//! previous one learned, and swaps it in atomically. Matching and selection take no lock and allocate nothing.

mod affinity;
mod balance;
mod candidates;
mod carry;
mod host_index;
mod live;
mod matcher;
mod mux;
mod target;
mod upstream;

pub(crate) use affinity::{CookieNames, UNPIN_PATH, UpstreamId, is_link, is_ours, link_url, pin_path, unpin_path};
pub(crate) use live::Live;
pub(crate) use matcher::RequestView;
pub(crate) use mux::Mux;
pub(crate) use target::{Asked, Target};
pub(crate) use upstream::{InFlight, OpenTunnel, Upstream};
