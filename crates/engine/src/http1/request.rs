//! Request heads from clients: parsed in place (field values point into the bytes read, nothing is copied), checked
//! against RFC 9112 where a lax reading would let one request hide another or reach the wrong place, and the framing
//! of the body that follows decided once (§6.3).

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::uri::Scheme;
use http::{Method, Request, StatusCode, Uri, Version};

use super::fields::{self, Coding, FieldError, Kind, LocateError};
use super::framing::Framing;

/// The largest request head accepted (request line and fields); a larger one gets 431. Small with the `fuzzing`
/// feature, so the fuzzer reaches the limit.
pub(crate) const MAX_REQUEST_HEAD: usize = if cfg!(feature = "fuzzing") { 512 } else { 64 * 1024 };
/// The most fields accepted in one request head (what browsers send is far below it).
pub(crate) const MAX_REQUEST_FIELDS: usize = 100;

/// Why a client's request could not be read. The client gets the text in the answer, after "Roundabout could not
/// read this request: ".
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    /// httparse refused the head.
    #[error("it is not valid HTTP/1.1 ({0})")]
    Invalid(httparse::Error),
    /// The head did not end within [`MAX_REQUEST_HEAD`].
    #[error("its head is larger than {} KiB; send smaller headers (cookies, tokens)", MAX_REQUEST_HEAD / 1024)]
    HeadTooLarge,
    /// More than [`MAX_REQUEST_FIELDS`] fields.
    #[error("it has more than {MAX_REQUEST_FIELDS} header fields")]
    TooManyFields,
    /// The request target is not an origin-form path, an http(s) URI, `*` for OPTIONS, or `host:port` for CONNECT.
    #[error("its target is not a path or an http URL")]
    BadTarget,
    /// Content-Length values that are not one number.
    #[error("its Content-Length is not a single number")]
    BadContentLength,
    /// A Transfer-Encoding whose final coding is not chunked, or with chunked twice: the body's end is unknown.
    #[error("its Transfer-Encoding does not end with chunked, so its length cannot be known")]
    BadTransferEncoding,
    /// A coding other than chunked (`gzip, chunked`): Roundabout cannot pass it on.
    #[error("its Transfer-Encoding uses a coding other than chunked; send the body with Content-Encoding instead")]
    UnsupportedCoding,
    /// HTTP/1.0 has no Transfer-Encoding: such a message's framing cannot be trusted (§6.1).
    #[error("Transfer-Encoding is not part of HTTP/1.0; send the request as HTTP/1.1 or with Content-Length")]
    CodingInHttp10,
    /// An HTTP/1.1 request without Host.
    #[error("it has no Host header, which HTTP/1.1 requires")]
    MissingHost,
    /// More than one Host line.
    #[error("it has more than one Host header")]
    DuplicateHost,
    /// A Host that is not `host[:port]`, or an absolute URL with user info.
    #[error("its Host is not a host name with an optional port")]
    InvalidHost,
    /// A well-formed request line naming another major version (`HTTP/2.0`, `HTTP/3.0`).
    #[error("it asks for an HTTP version other than 1.x; send HTTP/1.1 (or HTTP/2 through TLS or h2c)")]
    OtherVersion,
}

impl RequestError {
    /// The status answering this error.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            RequestError::HeadTooLarge | RequestError::TooManyFields => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            RequestError::UnsupportedCoding => StatusCode::NOT_IMPLEMENTED,
            // RFC 9110 §15.6.6: the major version is not supported (a line that is not HTTP at all is a 400).
            RequestError::OtherVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct RequestHead {
    /// Method, URI, version and fields, ready to become the proxied request. Content-Length, when it came as a
    /// repeated value, is left as one.
    pub(crate) parts: http::request::Parts,
    /// How the body is delimited ([`Framing::Empty`], [`Framing::Length`] or [`Framing::Chunked`]).
    pub(crate) body: Framing,
    /// The client lets the connection stay open after the response (HTTP/1.1 without `Connection: close`, or
    /// HTTP/1.0 with `Connection: keep-alive`), and nothing about the framing requires closing it.
    pub(crate) keep_alive: bool,
    /// The client waits for `100 Continue` before sending its body.
    pub(crate) expects_continue: bool,
}

/// Parses the request head at the start of `buf` and removes it from there; `None` while it is incomplete.
pub(crate) fn parse_request(buf: &mut BytesMut) -> Result<Option<RequestHead>, RequestError> {
    let located = match fields::locate::<MAX_REQUEST_FIELDS>(buf, Kind::Request, MAX_REQUEST_HEAD) {
        Ok(Some(located)) => located,
        Ok(None) => return Ok(None),
        Err(LocateError::TooLarge) => return Err(RequestError::HeadTooLarge),
        Err(LocateError::TooManyFields) => return Err(RequestError::TooManyFields),
        Err(LocateError::Invalid(httparse::Error::Version)) if names_other_version(buf) => {
            return Err(RequestError::OtherVersion);
        }
        Err(LocateError::Invalid(e)) => return Err(RequestError::Invalid(e)),
    };
    let head: Bytes = buf.split_to(located.len).freeze();
    let method = fields::piece(&head, located.method)
        .and_then(|m| Method::from_bytes(&m).ok())
        .ok_or(RequestError::Invalid(httparse::Error::Token))?;
    let uri = fields::piece(&head, located.target)
        .and_then(|t| Uri::from_maybe_shared(t).ok())
        .ok_or(RequestError::BadTarget)?;
    check_target(&method, &uri)?;
    // Room for what the proxy adds (Host, X-Forwarded-*, the hop count) without growing the map.
    let (headers, seen) = fields::fields(&head, &located, 6).map_err(|e| match e {
        FieldError::BadContentLength => RequestError::BadContentLength,
        FieldError::Invalid(e) => RequestError::Invalid(e),
    })?;
    let version = if located.minor == 0 { Version::HTTP_10 } else { Version::HTTP_11 };
    match seen.hosts {
        0 if version == Version::HTTP_11 => return Err(RequestError::MissingHost),
        0 | 1 => {}
        _ => return Err(RequestError::DuplicateHost),
    }
    if seen.host_invalid {
        return Err(RequestError::InvalidHost);
    }
    let mut keep_alive = !seen.close && (version == Version::HTTP_11 || seen.keep_alive);
    let body = match seen.coding {
        Coding::None => match seen.length {
            None | Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
        },
        _ if version == Version::HTTP_10 => return Err(RequestError::CodingInHttp10),
        Coding::Chunked => {
            // Both: the chunks decide, and the connection closes after the answer (§6.1).
            if seen.length.is_some() {
                keep_alive = false;
            }
            Framing::Chunked
        }
        Coding::ChunkedAfterOthers => return Err(RequestError::UnsupportedCoding),
        Coding::Other | Coding::Unframed => return Err(RequestError::BadTransferEncoding),
    };
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = method;
    parts.uri = uri;
    parts.version = version;
    parts.headers = headers;
    if body == Framing::Chunked {
        parts.headers.remove(CONTENT_LENGTH);
    }
    Ok(Some(RequestHead {
        parts,
        body,
        keep_alive,
        expects_continue: seen.expects_continue && version == Version::HTTP_11 && body != Framing::Empty,
    }))
}

/// Accepts the four forms of request target (RFC 9112 §3.2): a path; an `http`/`https` URL without user info; `*`
/// for OPTIONS; `host:port` for CONNECT.
fn check_target(method: &Method, uri: &Uri) -> Result<(), RequestError> {
    match (uri.scheme(), uri.authority()) {
        (None, None) if uri.path().starts_with('/') => Ok(()),
        (None, None) if uri.path() == "*" && method == Method::OPTIONS => Ok(()),
        (None, Some(_)) if method == Method::CONNECT => Ok(()),
        (Some(scheme), Some(authority)) if *scheme == Scheme::HTTP || *scheme == Scheme::HTTPS => {
            if authority.as_str().contains('@') || !super::host::valid(authority.as_str().as_bytes()) {
                Err(RequestError::InvalidHost)
            } else {
                Ok(())
            }
        }
        _ => Err(RequestError::BadTarget),
    }
}

/// True when the request line ends in a well-formed `HTTP/D.D` whose major version is not 1 (RFC 9112 §2.3).
fn names_other_version(buf: &[u8]) -> bool {
    let line = buf.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version = line.rsplit(|b| *b == b' ').next().unwrap_or_default();
    matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit() && *major != b'1')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Option<RequestHead>, RequestError> {
        parse_request(&mut BytesMut::from(raw))
    }

    fn head(raw: &str) -> RequestHead {
        parse(raw).unwrap().unwrap()
    }

    #[test]
    fn a_head_is_parsed_and_removed_leaving_the_body_and_the_next_request() {
        let mut buf = BytesMut::from("POST /a?b=1 HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 2\r\n\r\nhiGET /");
        let head = parse_request(&mut buf).unwrap().unwrap();
        assert_eq!((head.parts.method, head.parts.uri.to_string()), (Method::POST, "/a?b=1".to_owned()));
        assert_eq!(head.parts.headers["host"], "app.localhost");
        assert_eq!(head.body, Framing::Length(2));
        assert!(head.keep_alive && !head.expects_continue);
        assert_eq!(&buf[..], b"hiGET /");
    }

    #[test]
    fn an_incomplete_head_waits_and_an_endless_or_crowded_one_is_refused() {
        assert!(parse("GET / HTTP/1.1\r\nHost: a").unwrap().is_none());
        let endless = format!("GET / HTTP/1.1\r\nx: {}", "a".repeat(MAX_REQUEST_HEAD));
        assert!(matches!(parse(&endless), Err(RequestError::HeadTooLarge)));
        let crowded = "x: 1\r\n".repeat(MAX_REQUEST_FIELDS + 1);
        let crowded = parse(&format!("GET / HTTP/1.1\r\n{crowded}\r\n")).unwrap_err();
        assert_eq!(crowded.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let garbage = parse_request(&mut BytesMut::from(&b"\x16\x03\x01\x00\xa5garbage\r\n\r\n"[..])).unwrap_err();
        assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
        for line in ["GET / HTTP/2.0", "GET / HTTP/3.0", "GET / HTTP/0.9"] {
            let other_version = parse(&format!("{line}\r\nHost: a\r\n\r\n")).unwrap_err();
            assert_eq!(other_version.status(), StatusCode::HTTP_VERSION_NOT_SUPPORTED, "{line}");
        }
        for line in ["NOT HTTP AT ALL", "GET / HTTP/2", "GET / HTTP/22.0", "GET / http/2.0", "GET / HTTP/1.x"] {
            let garbage = parse(&format!("{line}\r\nHost: a\r\n\r\n")).unwrap_err();
            assert_eq!(garbage.status(), StatusCode::BAD_REQUEST, "{line}");
        }
    }

    #[test]
    fn a_head_over_the_limit_is_too_large_whatever_lies_past_the_limit() {
        // Found by reading for the fuzz targets: a bad byte past the limit made a whole head "invalid" (400) and the
        // same bytes in pieces "too large" (431).
        let head = format!("GET / HTTP/1.1\r\nHost: a\r\nx: {}\x01\r\n\r\n", "a".repeat(MAX_REQUEST_HEAD));
        assert!(matches!(parse(&head), Err(RequestError::HeadTooLarge)));
        assert!(matches!(parse(&head[..MAX_REQUEST_HEAD - 10]), Ok(None)), "shorter, it waits for more");
        let big = format!("GET / HTTP/1.1\r\nHost: a\r\nx: {}\r\n\r\n", "a".repeat(MAX_REQUEST_HEAD / 2));
        assert!(parse(&big).unwrap().is_some(), "a head within the limit is read");
    }

    #[test]
    fn framing_and_keep_alive_follow_rfc_9112() {
        let both = head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(both.body, Framing::Chunked);
        assert!(!both.parts.headers.contains_key(CONTENT_LENGTH), "the length is not passed on");
        assert!(!both.keep_alive, "the connection closes after such a request");
        assert_eq!(head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").body, Framing::Empty);
        assert_eq!(head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n").body, Framing::Length(3));
        assert!(!head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        let expecting = head("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
        assert!(expecting.expects_continue);
        assert!(!head("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n").expects_continue);
    }

    #[test]
    fn framing_a_proxy_cannot_trust_is_refused() {
        let refused = |raw: &str| parse(raw).unwrap_err();
        assert!(matches!(
            refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
            RequestError::BadTransferEncoding
        ));
        assert!(matches!(
            refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
            RequestError::BadTransferEncoding
        ));
        let gzip = refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(gzip.status(), StatusCode::NOT_IMPLEMENTED);
        assert!(matches!(
            refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            RequestError::BadContentLength
        ));
        assert!(matches!(
            refused("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"),
            RequestError::CodingInHttp10
        ));
    }

    #[test]
    fn host_follows_rfc_9112_section_3_2() {
        let refused = |raw: &str| parse(raw).unwrap_err();
        assert!(matches!(refused("GET / HTTP/1.1\r\n\r\n"), RequestError::MissingHost));
        assert!(matches!(refused("GET http://a.localhost/ HTTP/1.1\r\n\r\n"), RequestError::MissingHost));
        assert!(matches!(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), RequestError::DuplicateHost));
        assert!(matches!(refused("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), RequestError::DuplicateHost));
        for bad in ["app.localhost/evil", "app localhost", ":80:80", "@evil"] {
            let error = refused(&format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n"));
            assert!(matches!(error, RequestError::InvalidHost), "{bad:?}: {error:?}");
        }
        assert!(matches!(refused("GET http://u@a.localhost/ HTTP/1.1\r\nHost: a\r\n\r\n"), RequestError::InvalidHost));
        assert_eq!(head("GET / HTTP/1.0\r\n\r\n").parts.headers.len(), 0, "HTTP/1.0 may leave Host out");
    }

    #[test]
    fn only_the_four_target_forms_are_accepted() {
        let absolute = head("GET http://app.localhost:8800/x HTTP/1.1\r\nHost: other\r\n\r\n");
        assert_eq!(absolute.parts.uri.authority().map(http::uri::Authority::as_str), Some("app.localhost:8800"));
        assert_eq!(head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").parts.uri, "*");
        assert_eq!(
            head("GET https://app.localhost/x HTTP/1.1\r\nHost: a\r\n\r\n").parts.uri,
            "https://app.localhost/x"
        );
        assert_eq!(head("CONNECT a.localhost:443 HTTP/1.1\r\nHost: a\r\n\r\n").parts.method, Method::CONNECT);
        for bad in ["GET a.localhost:80", "GET *", "GET ftp://a/x", "GET a/b"] {
            assert!(
                matches!(parse(&format!("{bad} HTTP/1.1\r\nHost: a\r\n\r\n")), Err(RequestError::BadTarget)),
                "{bad}"
            );
        }
        assert!(matches!(parse("GET /a b HTTP/1.1\r\n\r\n"), Err(RequestError::Invalid(_))));
    }
}
