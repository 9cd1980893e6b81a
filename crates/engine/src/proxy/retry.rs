//! When a request whose attempt failed may go to another Upstream. A pure rule, so it can be read and tested on
//! its own:
//!
//! - connecting failed: nothing was sent, so the request moves on, whatever its method, as long as its body is
//!   still unsent;
//! - a GET or HEAD whose connection was closed or reset before any response byte moves on once (such requests are
//!   safe to send again, and a dev server restarting drops connections);
//! - anything else stays failed: a request whose body was sent is never replayed, and a client's own fault is the
//!   client's.

use http::Method;

use crate::upstream::UpstreamError;

/// What is left of one request's right to move on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Retry {
    /// Moves left after a connection closed before answering.
    resets_left: u8,
}

impl Retry {
    /// The allowance of a request with `method`: one move after a reset for GET and HEAD, none for the others.
    pub(super) fn for_method(method: &Method) -> Self {
        Retry { resets_left: u8::from(*method == Method::GET || *method == Method::HEAD) }
    }

    /// True when the request may go to the next Upstream after `error`; `body_unsent` says no attempt has started
    /// sending the request body yet. Uses up the allowance it grants.
    pub(super) fn allows(&mut self, error: &UpstreamError, body_unsent: bool) -> bool {
        if error.is_client_fault() || !body_unsent {
            return false;
        }
        if error.is_connect() {
            return true;
        }
        if self.resets_left > 0 && error.closed_before_response() {
            self.resets_left -= 1;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::http1::ResponseError;

    fn refused() -> UpstreamError {
        UpstreamError::Connect(Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)))
    }

    fn reset() -> UpstreamError {
        UpstreamError::Io(io::Error::from(io::ErrorKind::ConnectionReset))
    }

    #[test]
    fn a_refused_connect_moves_on_for_every_method_while_the_body_is_unsent() {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let mut retry = Retry::for_method(&method);
            assert!(retry.allows(&refused(), true), "{method}");
            assert!(retry.allows(&refused(), true), "{method}: connect failures do not use the allowance");
            assert!(!retry.allows(&refused(), false), "{method}: a body that went out is never replayed");
        }
    }

    #[test]
    fn a_reset_before_answering_moves_a_get_or_head_on_once() {
        for method in [Method::GET, Method::HEAD] {
            let mut retry = Retry::for_method(&method);
            assert!(retry.allows(&reset(), true), "{method}");
            assert!(!retry.allows(&UpstreamError::Closed, true), "{method}: only once");
        }
        let mut post = Retry::for_method(&Method::POST);
        assert!(!post.allows(&reset(), true), "a POST may have had effects");
        let mut get = Retry::for_method(&Method::GET);
        assert!(!get.allows(&reset(), false));
    }

    #[test]
    fn other_failures_and_client_faults_stay_failed() {
        let mut retry = Retry::for_method(&Method::GET);
        assert!(!retry.allows(&UpstreamError::Truncated, true));
        assert!(!retry.allows(&UpstreamError::Response(ResponseError::HeadTooLarge), true));
        assert!(!retry.allows(&UpstreamError::ClientBody("the client left".into()), true));
        assert!(!retry.allows(&UpstreamError::Io(io::Error::from(io::ErrorKind::TimedOut)), true));
        assert!(retry.allows(&UpstreamError::Closed, true), "the allowance is still there");
    }
}
