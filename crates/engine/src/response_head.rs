//! HTTP/1 responses to clients, on the wire: how the body is delimited, and the head written in one pass into the
//! connection's buffer.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{StatusCode, Version, response};
use http_body::SizeHint;

use crate::decimal::Decimal;
use crate::h1::has_no_body;

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body follows (a HEAD answer, 1xx, 204, 304); the headers go out as they are, Content-Length included.
    Bodiless,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding (HTTP/1.1 clients, length unknown).
    Chunked,
    /// The close ends the body (HTTP/1.0 clients, length unknown).
    UntilClose,
}

/// Decides the framing of a response to a request with `head_request` (HEAD) from a client speaking `version`.
pub fn framing(head_request: bool, status: StatusCode, hint: &SizeHint, version: Version) -> ResponseFraming {
    if has_no_body(head_request, status) {
        ResponseFraming::Bodiless
    } else if let Some(n) = hint.exact() {
        ResponseFraming::Length(n)
    } else if version == Version::HTTP_10 {
        ResponseFraming::UntilClose
    } else {
        ResponseFraming::Chunked
    }
}

/// Writes the response head into `out`. The body's own Content-Length and Transfer-Encoding give way to
/// `framing`'s; a response without a Date gets one (RFC 9110 §6.6.1); `keep_alive` false adds `Connection: close`,
/// and HTTP/1.0 clients are told when the connection stays open.
pub fn write_head(
    out: &mut Vec<u8>,
    parts: &response::Parts,
    framing: ResponseFraming,
    version: Version,
    keep_alive: bool,
) {
    out.extend_from_slice(if version == Version::HTTP_10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut dated = false;
    for (name, value) in &parts.headers {
        if framing != ResponseFraming::Bodiless && (name == CONTENT_LENGTH || name == TRANSFER_ENCODING) {
            continue;
        }
        dated |= name == DATE;
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        ResponseFraming::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(Decimal::new(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        ResponseFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        ResponseFraming::Bodiless | ResponseFraming::UntilClose => {}
    }
    if !dated {
        out.extend_from_slice(b"date: ");
        push_date(out);
        out.extend_from_slice(b"\r\n");
    }
    if !keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    } else if version == Version::HTTP_10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes the current time as an HTTP date, formatted once a second per thread.
fn push_date(out: &mut Vec<u8>) {
    thread_local! {
        static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHED.with_borrow_mut(|(at, text)| {
        if *at != second {
            *at = second;
            *text = httpdate::fmt_http_date(now);
        }
        out.extend_from_slice(text.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Response;

    fn head(response: Response<()>, framing: ResponseFraming, version: Version, keep_alive: bool) -> String {
        let mut out = Vec::new();
        write_head(&mut out, &response.into_parts().0, framing, version, keep_alive);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn framing_follows_the_request_the_status_and_the_body() {
        let exact = SizeHint::with_exact(5);
        let unknown = SizeHint::default();
        let ok = StatusCode::OK;
        assert_eq!(framing(true, ok, &exact, Version::HTTP_11), ResponseFraming::Bodiless);
        assert_eq!(framing(false, StatusCode::NOT_MODIFIED, &exact, Version::HTTP_11), ResponseFraming::Bodiless);
        assert_eq!(framing(false, ok, &exact, Version::HTTP_11), ResponseFraming::Length(5));
        assert_eq!(framing(false, ok, &unknown, Version::HTTP_11), ResponseFraming::Chunked);
        assert_eq!(framing(false, ok, &unknown, Version::HTTP_10), ResponseFraming::UntilClose);
    }

    #[test]
    fn the_head_carries_the_framing_a_date_and_the_connection_state() {
        let response = Response::builder()
            .status(404)
            .header("content-length", "999")
            .header("transfer-encoding", "chunked")
            .header("x-a", "1")
            .body(())
            .unwrap();
        let text = head(response, ResponseFraming::Length(12), Version::HTTP_11, false);
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\nx-a: 1\r\ncontent-length: 12\r\ndate: "), "{text}");
        assert!(text.ends_with(" GMT\r\nconnection: close\r\n\r\n"), "{text}");

        let dated = Response::builder().header("date", "Tue, 01 Dec 2026 00:00:00 GMT").body(()).unwrap();
        let text = head(dated, ResponseFraming::Chunked, Version::HTTP_10, true);
        assert_eq!(
            text,
            "HTTP/1.0 200 OK\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\ntransfer-encoding: chunked\r\n\
             connection: keep-alive\r\n\r\n"
        );

        let head_answer = Response::builder().header("content-length", "42").body(()).unwrap();
        let text = head(head_answer, ResponseFraming::Bodiless, Version::HTTP_11, true);
        assert!(text.contains("content-length: 42\r\n"), "a HEAD answer keeps the length of what GET would send");
    }
}
