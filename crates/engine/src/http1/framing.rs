//! How a message's body is delimited on the wire (RFC 9112 §6), one type for every direction: requests read from
//! clients and written to Upstreams, responses read from Upstreams and written to clients.

use http::{StatusCode, Version};

/// How the body after a head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body follows: a request without one, or a response that never has one (see [`has_no_body`]).
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the connection closes (responses only: no length, no chunks).
    UntilClose,
}

/// True for a response that never has a body, whatever its fields say (RFC 9112 §6.3): the answer to a HEAD, a
/// 1xx, a 204 or a 304. Both sides of the proxy frame by it.
pub(crate) fn has_no_body(head_request: bool, status: StatusCode) -> bool {
    head_request || forbids_length(status)
}

/// True for a status whose response must not carry Content-Length or a body (RFC 9110 §8.6: 1xx and 204; a 304's
/// length would describe another response, so it is not passed on either).
pub(crate) fn forbids_length(status: StatusCode) -> bool {
    status.is_informational() || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED
}

/// The framing of a response to a client speaking `version`, for a request that was a HEAD or not, when the body's
/// length is `exact` (if known).
pub(crate) fn for_client(head_request: bool, status: StatusCode, exact: Option<u64>, version: Version) -> Framing {
    if has_no_body(head_request, status) {
        Framing::Empty
    } else if let Some(n) = exact {
        Framing::Length(n)
    } else if version == Version::HTTP_10 {
        Framing::UntilClose
    } else {
        Framing::Chunked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_response_is_framed_by_the_request_the_status_and_the_body() {
        let ok = StatusCode::OK;
        assert_eq!(for_client(true, ok, Some(5), Version::HTTP_11), Framing::Empty);
        assert_eq!(for_client(false, StatusCode::NOT_MODIFIED, Some(5), Version::HTTP_11), Framing::Empty);
        assert_eq!(for_client(false, StatusCode::NO_CONTENT, None, Version::HTTP_11), Framing::Empty);
        assert_eq!(for_client(false, StatusCode::CONTINUE, None, Version::HTTP_11), Framing::Empty);
        assert_eq!(for_client(false, ok, Some(5), Version::HTTP_11), Framing::Length(5));
        assert_eq!(for_client(false, ok, Some(0), Version::HTTP_10), Framing::Length(0));
        assert_eq!(for_client(false, ok, None, Version::HTTP_11), Framing::Chunked);
        assert_eq!(for_client(false, ok, None, Version::HTTP_10), Framing::UntilClose);
    }

    #[test]
    fn only_heads_1xx_204_and_304_have_no_body() {
        assert!(has_no_body(true, StatusCode::OK));
        assert!(!has_no_body(false, StatusCode::OK));
        assert!(!has_no_body(false, StatusCode::RESET_CONTENT));
        assert!(forbids_length(StatusCode::SWITCHING_PROTOCOLS));
        assert!(!forbids_length(StatusCode::OK));
    }
}
