//! Response heads from Upstreams: parsed in place (field values point into the bytes read, nothing is copied), and
//! the framing of the body that follows decided once (RFC 9112 §6.3).

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Method, Response, StatusCode, Version};

use super::chunked::ChunkError;
use super::fields::{self, Coding, FieldError, Kind, LocateError};
use super::framing::{Framing, has_no_body};

/// The largest response head accepted from an Upstream. Small with the `fuzzing` feature, so the fuzzer reaches
/// the limit.
pub(crate) const MAX_RESPONSE_HEAD: usize = if cfg!(feature = "fuzzing") { 1024 } else { 128 * 1024 };
/// The most fields accepted in one response head.
pub(crate) const MAX_RESPONSE_FIELDS: usize = 128;

/// Why an Upstream's response could not be read. The texts follow the Upstream's name in the log.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResponseError {
    /// httparse refused the head.
    #[error("sent a response that is not valid HTTP ({0})")]
    Invalid(httparse::Error),
    /// The head did not end within [`MAX_RESPONSE_HEAD`].
    #[error("sent a response head larger than {} KiB", MAX_RESPONSE_HEAD / 1024)]
    HeadTooLarge,
    /// More than [`MAX_RESPONSE_FIELDS`] fields.
    #[error("sent more than {MAX_RESPONSE_FIELDS} response headers")]
    TooManyFields,
    /// A status code outside 100..=999.
    #[error("sent status {0}, which is not a valid status code")]
    BadStatus(u16),
    /// Content-Length values that are not one number.
    #[error("sent a Content-Length that is not a single number")]
    BadContentLength,
    /// A transfer coding other than chunked: passed on without its name, the client would get bytes it cannot
    /// decode; HTTP/2 and HTTP/1.0 clients have no way to receive it at all.
    #[error(
        "sent Transfer-Encoding: {0}, which Roundabout cannot pass on; turn transfer compression off in the dev \
         server (Content-Encoding works)"
    )]
    UnsupportedCoding(String),
    /// A malformed chunked body.
    #[error("sent a chunked body that is not valid HTTP: {0}")]
    BadChunk(#[from] ChunkError),
}

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    /// Status, version and fields, ready to become the client's response.
    pub(crate) parts: http::response::Parts,
    /// How its body is delimited ([`Framing::Empty`] for a 101, whose connection carries another protocol next).
    pub(crate) framing: Framing,
    /// False when the Upstream will close the connection after this response (`Connection: close`, HTTP/1.0
    /// without keep-alive, or a body delimited by the close).
    pub(crate) keep_alive: bool,
}

impl ResponseHead {
    /// True for an interim answer (100 Continue, 103 Early Hints): the final one follows on the same connection.
    pub(crate) fn is_interim(&self) -> bool {
        self.parts.status.is_informational() && self.parts.status != StatusCode::SWITCHING_PROTOCOLS
    }
}

/// Parses the response head at the start of `buf` and removes it from there; `None` while it is incomplete.
/// `method` is the request's (a HEAD answer has no body).
pub(crate) fn parse_response(buf: &mut BytesMut, method: &Method) -> Result<Option<ResponseHead>, ResponseError> {
    let located = match fields::locate::<MAX_RESPONSE_FIELDS>(buf, Kind::Response, MAX_RESPONSE_HEAD) {
        Ok(Some(located)) => located,
        Ok(None) => return Ok(None),
        Err(LocateError::TooLarge) => return Err(ResponseError::HeadTooLarge),
        Err(LocateError::TooManyFields) => return Err(ResponseError::TooManyFields),
        Err(LocateError::Invalid(e)) => return Err(ResponseError::Invalid(e)),
    };
    let status = StatusCode::from_u16(located.code).map_err(|_| ResponseError::BadStatus(located.code))?;
    let head: Bytes = buf.split_to(located.len).freeze();
    let (mut headers, seen) = fields::fields(&head, &located, 0).map_err(|e| match e {
        FieldError::BadContentLength => ResponseError::BadContentLength,
        FieldError::Invalid(e) => ResponseError::Invalid(e),
    })?;
    let version = if located.minor == 0 { Version::HTTP_10 } else { Version::HTTP_11 };
    let no_body = status == StatusCode::SWITCHING_PROTOCOLS || has_no_body(*method == Method::HEAD, status);
    let framing = match (seen.coding, seen.length) {
        _ if no_body => Framing::Empty,
        (Coding::Chunked, _) => Framing::Chunked,
        (Coding::ChunkedAfterOthers | Coding::Other | Coding::Unframed, _) => {
            let codings = headers.get_all(TRANSFER_ENCODING).iter().filter_map(|v| v.to_str().ok());
            return Err(ResponseError::UnsupportedCoding(codings.collect::<Vec<_>>().join(", ")));
        }
        (Coding::None, None) => Framing::UntilClose,
        (Coding::None, Some(0)) => Framing::Empty,
        (Coding::None, Some(n)) => Framing::Length(n),
    };
    if seen.coding != Coding::None {
        // The client gets the decoded body, whose length the Upstream did not give.
        headers.remove(CONTENT_LENGTH);
    }
    let delimited = framing != Framing::UntilClose && status != StatusCode::SWITCHING_PROTOCOLS;
    let keep_alive = delimited && !seen.close && (version == Version::HTTP_11 || seen.keep_alive);
    let (mut parts, ()) = Response::new(()).into_parts();
    parts.status = status;
    parts.version = version;
    parts.headers = headers;
    Ok(Some(ResponseHead { parts, framing, keep_alive }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str, method: &Method) -> Result<Option<ResponseHead>, ResponseError> {
        parse_response(&mut BytesMut::from(raw), method)
    }

    fn framing(raw: &str, method: &Method) -> Framing {
        parse(raw, method).unwrap().unwrap().framing
    }

    #[test]
    fn a_head_is_parsed_and_removed_leaving_the_body() {
        let mut buf = BytesMut::from("HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello");
        let head = parse_response(&mut buf, &Method::GET).unwrap().unwrap();
        assert_eq!(head.parts.status, 201);
        assert_eq!(head.framing, Framing::Length(5));
        assert!(head.keep_alive);
        let all: Vec<_> = head.parts.headers.get_all("x-a").iter().collect();
        assert_eq!(all, ["1", "2"]);
        assert_eq!(&buf[..], b"hello");
    }

    #[test]
    fn an_incomplete_head_waits_for_more_and_an_endless_one_is_refused() {
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Le", &Method::GET).unwrap().is_none());
        let endless = format!("HTTP/1.1 200 OK\r\nx: {}", "a".repeat(MAX_RESPONSE_HEAD));
        assert!(matches!(parse(&endless, &Method::GET), Err(ResponseError::HeadTooLarge)));
        assert!(matches!(parse("HTTX/1.1 200 OK\r\n\r\n", &Method::GET), Err(ResponseError::Invalid(_))));
        assert!(matches!(parse("HTTP/1.1 099 Low\r\n\r\n", &Method::GET), Err(ResponseError::BadStatus(99))));
    }

    #[test]
    fn a_head_over_the_limit_is_too_large_whatever_lies_past_the_limit() {
        let head = format!("HTTP/1.1 200 OK\r\nx: {}\x01\r\n\r\n", "a".repeat(MAX_RESPONSE_HEAD));
        assert!(matches!(parse(&head, &Method::GET), Err(ResponseError::HeadTooLarge)));
        let big = format!("HTTP/1.1 200 OK\r\nx: {}\r\n\r\n", "a".repeat(MAX_RESPONSE_HEAD / 2));
        assert!(parse(&big, &Method::GET).unwrap().is_some(), "a head within the limit is read");
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let get = &Method::GET;
        assert_eq!(framing("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", &Method::HEAD), Framing::Empty);
        assert_eq!(framing("HTTP/1.1 204 No Content\r\nContent-Length: 8\r\n\r\n", get), Framing::Empty);
        assert_eq!(framing("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", get), Framing::Empty);
        assert_eq!(framing("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", get), Framing::Length(3));
        assert_eq!(framing("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", get), Framing::Empty);
        let upgrade = parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", get).unwrap().unwrap();
        assert_eq!((upgrade.framing, upgrade.keep_alive), (Framing::Empty, false));
        let close = parse("HTTP/1.1 200 OK\r\n\r\n", get).unwrap().unwrap();
        assert_eq!((close.framing, close.keep_alive), (Framing::UntilClose, false));
        let both = parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", get);
        let both = both.unwrap().unwrap();
        assert_eq!(both.framing, Framing::Chunked);
        assert!(!both.parts.headers.contains_key(CONTENT_LENGTH), "the chunked length wins and is not passed on");
        for bad in ["3, 4", "-1", "", "0x10"] {
            let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert!(matches!(parse(&raw, get), Err(ResponseError::BadContentLength)), "{bad:?}");
        }
    }

    #[test]
    fn a_coding_other_than_chunked_is_refused_with_its_name() {
        for coding in ["gzip, chunked", "gzip", "chunked, chunked"] {
            let raw = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {coding}\r\n\r\n");
            let error = parse(&raw, &Method::GET).unwrap_err();
            assert!(matches!(&error, ResponseError::UnsupportedCoding(c) if c == coding), "{error:?}");
            assert!(error.to_string().contains(coding), "{error}");
        }
        let head = parse("HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\n\r\n", &Method::GET);
        assert_eq!(head.unwrap().unwrap().framing, Framing::Empty, "no body, nothing to decode");
    }

    #[test]
    fn keep_alive_follows_version_and_connection() {
        let alive = |raw: &str| parse(raw, &Method::GET).unwrap().unwrap().keep_alive;
        assert!(!alive("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
        assert!(!alive("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(alive("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"));
        assert!(parse("HTTP/1.1 100 Continue\r\n\r\n", &Method::GET).unwrap().unwrap().is_interim());
    }
}
