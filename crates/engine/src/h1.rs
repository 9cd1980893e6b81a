//! HTTP/1.1 towards Upstreams, on the wire: the request head Roundabout writes and the response head it reads.
//!
//! The request has already been checked and rewritten by the time it leaves, so writing its head is one pass into
//! the connection's buffer. A response head is parsed in place and its header values point into the bytes read,
//! so nothing is copied. How the body that follows is delimited is decided here, once (RFC 9112 §6).

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, Method, Response, StatusCode, Uri, Version};

use crate::head_fields::{self, Seen};

/// The largest response head accepted from an Upstream.
pub const MAX_HEAD_BYTES: usize = 128 * 1024;
/// The most header fields accepted in one response head.
pub const MAX_HEADERS: usize = 128;

/// How the body after a head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: a HEAD answer, 204, 304, or a request without one.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the Upstream closes the connection (a response with neither length nor chunks).
    UntilClose,
    /// A 101: the connection now carries another protocol (WebSocket).
    Upgrade,
}

/// Why an Upstream's response could not be read. The texts follow the Upstream's name in the log.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// httparse refused the head.
    #[error("sent a response that is not valid HTTP ({0})")]
    Invalid(httparse::Error),
    /// The head did not end within [`MAX_HEAD_BYTES`].
    #[error("sent a response head larger than {} KiB", MAX_HEAD_BYTES / 1024)]
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] fields.
    #[error("sent more than {MAX_HEADERS} response headers")]
    TooManyHeaders,
    /// A status code outside 100..=999.
    #[error("sent status {0}, which is not a valid status code")]
    BadStatus(u16),
    /// Content-Length values that are not one number.
    #[error("sent a Content-Length that is not a single number")]
    BadContentLength,
    /// A malformed chunk size, chunk end or trailer section.
    #[error("sent a chunked body that is not valid HTTP")]
    BadChunk,
}

/// A parsed response head.
#[derive(Debug)]
pub struct ResponseHead {
    /// Status, version and headers, ready to become the client's response.
    pub parts: http::response::Parts,
    /// How its body is delimited.
    pub framing: Framing,
    /// False when the Upstream will close the connection after this response (`Connection: close`, HTTP/1.0
    /// without keep-alive, or a body delimited by the close).
    pub keep_alive: bool,
}

impl ResponseHead {
    /// True for an interim answer (100 Continue, 103 Early Hints): the final one follows on the same connection.
    pub fn is_interim(&self) -> bool {
        self.parts.status.is_informational() && self.parts.status != StatusCode::SWITCHING_PROTOCOLS
    }
}

/// Writes a request head into `out`. `length` is how the body will be sent: chunked adds
/// `Transfer-Encoding: chunked`; an empty body of a method that usually has one gets `Content-Length: 0`.
pub fn write_request_head(out: &mut Vec<u8>, method: &Method, uri: &Uri, headers: &HeaderMap, length: Framing) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(uri.path_and_query().map_or("/", |p| p.as_str()).as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match length {
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Empty
            if matches!(*method, Method::POST | Method::PUT | Method::PATCH)
                && !headers.contains_key(CONTENT_LENGTH) =>
        {
            out.extend_from_slice(b"content-length: 0\r\n");
        }
        _ => {}
    }
    out.extend_from_slice(b"\r\n");
}

/// Parses the response head at the start of `buf` and removes it from there; `None` while it is incomplete.
/// `method` is the request's (a HEAD answer has no body).
pub fn parse_response(buf: &mut BytesMut, method: &Method) -> Result<Option<ResponseHead>, ProtocolError> {
    // Where each name and value lies in `buf`, so the values can point into the bytes once they are frozen.
    let mut spans = [((0, 0), (0, 0)); MAX_HEADERS];
    let (len, code, version, count) = {
        // Uninitialised slots: httparse fills only those it uses (initialising 128 of them cost more than parsing).
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut []);
        let len =
            match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut parsed, buf, &mut slots) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD_BYTES => {
                    return Err(ProtocolError::HeadTooLarge);
                }
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(httparse::Error::TooManyHeaders) => return Err(ProtocolError::TooManyHeaders),
                Err(e) => return Err(ProtocolError::Invalid(e)),
            };
        let count = head_fields::note(buf.as_ptr() as usize, parsed.headers, &mut spans);
        (len, parsed.code.unwrap_or(0), parsed.version.unwrap_or(1), count)
    };
    if len > MAX_HEAD_BYTES {
        return Err(ProtocolError::HeadTooLarge);
    }
    let status = StatusCode::from_u16(code).map_err(|_| ProtocolError::BadStatus(code))?;
    let head: Bytes = buf.split_to(len).freeze();
    let (mut headers, seen) = head_fields::fields(&head, &spans[..count], 0)?;
    let version = if version == 0 { Version::HTTP_10 } else { Version::HTTP_11 };
    let (framing, delimited) = framing_of(status, method, &seen);
    if seen.chunked.is_some() && seen.length.is_some() {
        headers.remove(CONTENT_LENGTH);
    }
    let keep_alive = delimited && !seen.close && (version == Version::HTTP_11 || seen.keep_alive);
    let (mut parts, ()) = Response::new(()).into_parts();
    parts.status = status;
    parts.version = version;
    parts.headers = headers;
    Ok(Some(ResponseHead { parts, framing, keep_alive }))
}

/// True for a response that never has a body, whatever its headers say (RFC 9112 §6.3): the answer to a HEAD, a
/// 1xx, a 204 or a 304. Both sides of the proxy frame by it.
pub fn has_no_body(head_request: bool, status: StatusCode) -> bool {
    head_request || status.is_informational() || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED
}

/// The body's framing, and false when only the connection's close ends it. A `Transfer-Encoding` wins over a
/// `Content-Length` (which the caller then removes: the client gets the decoded body, whose length it does not give).
fn framing_of(status: StatusCode, method: &Method, seen: &Seen) -> (Framing, bool) {
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return (Framing::Upgrade, false);
    }
    if has_no_body(*method == Method::HEAD, status) {
        return (Framing::Empty, true);
    }
    match (seen.chunked, seen.length) {
        (Some(true), _) => (Framing::Chunked, true),
        (Some(false), _) | (None, None) => (Framing::UntilClose, false),
        (None, Some(0)) => (Framing::Empty, true),
        (None, Some(n)) => (Framing::Length(n), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn parse(raw: &str, method: &Method) -> Result<Option<ResponseHead>, ProtocolError> {
        parse_response(&mut BytesMut::from(raw), method)
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
        let endless = format!("HTTP/1.1 200 OK\r\nx: {}", "a".repeat(MAX_HEAD_BYTES));
        assert!(matches!(parse(&endless, &Method::GET), Err(ProtocolError::HeadTooLarge)));
        assert!(matches!(parse("HTTX/1.1 200 OK\r\n\r\n", &Method::GET), Err(ProtocolError::Invalid(_))));
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let framing = |raw: &str, method: &Method| parse(raw, method).unwrap().unwrap().framing;
        let get = &Method::GET;
        assert_eq!(framing("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", &Method::HEAD), Framing::Empty);
        assert_eq!(framing("HTTP/1.1 204 No Content\r\n\r\n", get), Framing::Empty);
        assert_eq!(framing("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", get), Framing::Empty);
        assert_eq!(framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", get), Framing::Chunked);
        assert_eq!(framing("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", get), Framing::Length(3));
        assert_eq!(framing("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", get), Framing::Upgrade);
        let close = parse("HTTP/1.1 200 OK\r\n\r\n", get).unwrap().unwrap();
        assert_eq!((close.framing, close.keep_alive), (Framing::UntilClose, false));
        let both = parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", get);
        let both = both.unwrap().unwrap();
        assert_eq!(both.framing, Framing::Chunked);
        assert!(!both.parts.headers.contains_key(CONTENT_LENGTH), "the chunked length wins and is not passed on");
        for bad in ["3, 4", "-1", "", "0x10"] {
            let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert!(matches!(parse(&raw, get), Err(ProtocolError::BadContentLength)), "{bad:?}");
        }
    }

    #[test]
    fn keep_alive_follows_version_and_connection() {
        let alive = |raw: &str| parse(raw, &Method::GET).unwrap().unwrap().keep_alive;
        assert!(!alive("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
        assert!(!alive("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(alive("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"));
        assert!(parse("HTTP/1.1 100 Continue\r\n\r\n", &Method::GET).unwrap().unwrap().is_interim());
    }

    #[test]
    fn the_request_head_carries_every_header_and_its_framing() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("app.localhost"));
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        let uri: Uri = "/p?q=1".parse().unwrap();
        let mut out = Vec::new();
        write_request_head(&mut out, &Method::POST, &uri, &headers, Framing::Chunked);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "POST /p?q=1 HTTP/1.1\r\nhost: app.localhost\r\nx-a: 1\r\nx-a: 2\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        let mut out = Vec::new();
        write_request_head(&mut out, &Method::PUT, &uri, &HeaderMap::new(), Framing::Empty);
        assert!(String::from_utf8(out).unwrap().ends_with("content-length: 0\r\n\r\n"));
    }
}
