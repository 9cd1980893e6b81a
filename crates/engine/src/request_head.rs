//! HTTP/1 requests from clients, on the wire: the head parsed in place (header values point into the bytes read,
//! nothing is copied), and how the body that follows is delimited (RFC 9112 §6.3).

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::{Method, Request, StatusCode, Uri, Version};

use crate::h1::ProtocolError;
use crate::head_fields;
use crate::listener::MAX_HEADER_BYTES;

/// The most header fields accepted in one request head (what browsers send is far below it).
pub const MAX_REQUEST_HEADERS: usize = 100;

/// Why a client's request could not be read. The client gets the text in a 400 or 431 answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// httparse refused the head.
    #[error("the request is not valid HTTP/1.1 ({0})")]
    Invalid(httparse::Error),
    /// The head did not end within [`MAX_HEADER_BYTES`].
    #[error("the request head is larger than {} KiB; send smaller headers (cookies, tokens)", MAX_HEADER_BYTES / 1024)]
    HeadTooLarge,
    /// More than [`MAX_REQUEST_HEADERS`] fields.
    #[error("the request has more than {MAX_REQUEST_HEADERS} header fields")]
    TooManyHeaders,
    /// The request target does not parse as a URI.
    #[error("the request target is not a valid URI")]
    BadTarget,
    /// Content-Length values that are not one number.
    #[error("the request's Content-Length is not a single number")]
    BadContentLength,
    /// A Transfer-Encoding whose last coding is not chunked: the body's end cannot be known.
    #[error("the request's Transfer-Encoding does not end with chunked, so its length cannot be known")]
    BadTransferEncoding,
}

impl RequestError {
    /// The status answering this error.
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::HeadTooLarge | RequestError::TooManyHeaders => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// A parsed request head.
#[derive(Debug)]
pub struct RequestHead {
    /// Method, URI, version and headers, ready to become the proxied request.
    pub parts: http::request::Parts,
    /// How the body is delimited.
    pub body: BodyFraming,
    /// The client lets the connection stay open after the response (HTTP/1.1 without `Connection: close`, or
    /// HTTP/1.0 with `Connection: keep-alive`), and nothing about the framing requires closing it.
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before sending its body.
    pub expects_continue: bool,
}

/// Parses the request head at the start of `buf` and removes it from there; `None` while it is incomplete.
pub fn parse_request(buf: &mut BytesMut) -> Result<Option<RequestHead>, RequestError> {
    // Where each piece lies in `buf`, so that they can point into the bytes once they are frozen.
    let mut spans = [((0, 0), (0, 0)); MAX_REQUEST_HEADERS];
    let (len, method, target, version, count) = {
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_REQUEST_HEADERS];
        let mut parsed = httparse::Request::new(&mut []);
        let len =
            match httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut parsed, buf, &mut slots) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) if buf.len() >= MAX_HEADER_BYTES => {
                    return Err(RequestError::HeadTooLarge);
                }
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooManyHeaders),
                Err(e) => return Err(RequestError::Invalid(e)),
            };
        let start = buf.as_ptr() as usize;
        let count = head_fields::note(start, parsed.headers, &mut spans);
        let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
            .map_err(|_| RequestError::Invalid(httparse::Error::Token))?;
        let target = parsed.path.map(|p| head_fields::span(start, p.as_bytes())).unwrap_or_default();
        (len, method, target, parsed.version.unwrap_or(1), count)
    };
    if len > MAX_HEADER_BYTES {
        return Err(RequestError::HeadTooLarge);
    }
    let head: Bytes = buf.split_to(len).freeze();
    let uri = head_fields::piece(&head, target)
        .and_then(|t| Uri::from_maybe_shared(t).ok())
        .ok_or(RequestError::BadTarget)?;
    // Room for what the proxy adds (Host, X-Forwarded-*, the hop count) without growing the map.
    let (mut headers, seen) = head_fields::fields(&head, &spans[..count], 6).map_err(|e| match e {
        ProtocolError::BadContentLength => RequestError::BadContentLength,
        ProtocolError::Invalid(e) => RequestError::Invalid(e),
        _ => RequestError::Invalid(httparse::Error::HeaderName),
    })?;
    let version = if version == 0 { Version::HTTP_10 } else { Version::HTTP_11 };
    let mut keep_alive = !seen.close && (version == Version::HTTP_11 || seen.keep_alive);
    let body = match (seen.chunked, seen.length) {
        (Some(true), length) => {
            // Both: the chunks decide, and the connection closes after the answer (RFC 9112 §6.1).
            if length.is_some() {
                headers.remove(CONTENT_LENGTH);
                keep_alive = false;
            }
            BodyFraming::Chunked
        }
        (Some(false), _) => return Err(RequestError::BadTransferEncoding),
        (None, None | Some(0)) => BodyFraming::Empty,
        (None, Some(n)) => BodyFraming::Length(n),
    };
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = method;
    parts.uri = uri;
    parts.version = version;
    parts.headers = headers;
    Ok(Some(RequestHead {
        parts,
        body,
        keep_alive,
        expects_continue: seen.expects_continue && version == Version::HTTP_11 && body != BodyFraming::Empty,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Option<RequestHead>, RequestError> {
        parse_request(&mut BytesMut::from(raw))
    }

    #[test]
    fn a_head_is_parsed_and_removed_leaving_the_body_and_the_next_request() {
        let mut buf = BytesMut::from("POST /a?b=1 HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 2\r\n\r\nhiGET /");
        let head = parse_request(&mut buf).unwrap().unwrap();
        assert_eq!((head.parts.method, head.parts.uri.to_string()), (Method::POST, "/a?b=1".to_owned()));
        assert_eq!(head.parts.headers["host"], "app.localhost");
        assert_eq!(head.body, BodyFraming::Length(2));
        assert!(head.keep_alive && !head.expects_continue);
        assert_eq!(&buf[..], b"hiGET /");
    }

    #[test]
    fn an_incomplete_head_waits_and_an_endless_or_crowded_one_is_refused() {
        assert!(parse("GET / HTTP/1.1\r\nHost: a").unwrap().is_none());
        let endless = format!("GET / HTTP/1.1\r\nx: {}", "a".repeat(MAX_HEADER_BYTES));
        assert!(matches!(parse(&endless), Err(RequestError::HeadTooLarge)));
        let crowded = "x: 1\r\n".repeat(MAX_REQUEST_HEADERS + 1);
        let crowded = parse(&format!("GET / HTTP/1.1\r\n{crowded}\r\n")).unwrap_err();
        assert_eq!(crowded.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let garbage = parse_request(&mut BytesMut::from(&b"\x16\x03\x01\x00\xa5garbage\r\n\r\n"[..])).unwrap_err();
        assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn framing_and_keep_alive_follow_rfc_9112() {
        let head = |raw: &str| parse(raw).unwrap().unwrap();
        let chunked_and_length = head("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(chunked_and_length.body, BodyFraming::Chunked);
        assert!(!chunked_and_length.parts.headers.contains_key(CONTENT_LENGTH), "the length is not passed on");
        assert!(!chunked_and_length.keep_alive, "the connection closes after such a request");
        assert!(matches!(
            parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
            Err(RequestError::BadTransferEncoding)
        ));
        assert!(matches!(
            parse("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(RequestError::BadContentLength)
        ));
        assert_eq!(head("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").body, BodyFraming::Empty);
        assert!(!head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        let expecting = head("PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
        assert!(expecting.expects_continue);
        assert!(!head("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n").expects_continue, "no body, no wait");
    }

    #[test]
    fn absolute_form_targets_keep_their_authority() {
        let head = parse("GET http://app.localhost:8800/x HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!(head.parts.uri.authority().map(http::uri::Authority::as_str), Some("app.localhost:8800"));
        assert!(matches!(parse("GET /a b HTTP/1.1\r\n\r\n"), Err(RequestError::Invalid(_))));
    }
}
