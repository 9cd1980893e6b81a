//! The heads Roundabout writes, each in one pass into a connection's buffer: requests to Upstreams, responses to
//! clients, and trailer sections, all through one field-line writer.
//!
//! Framing fields are never copied from a header map: `Content-Length` and `Transfer-Encoding` are written from the
//! message's [`Framing`], so what a head says and how its body is sent cannot disagree. The one exception is the
//! answer to a HEAD, whose Content-Length tells the size a GET would get.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, Version, response};

use super::framing::{Framing, forbids_length};

/// Writes one `name: value` line.
pub(crate) fn field_line(out: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    out.extend_from_slice(name.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes every field of `headers` but the framing ones (Content-Length only when `keep_length`); true when a
/// Date was among them.
fn field_lines(out: &mut Vec<u8>, headers: &HeaderMap, keep_length: bool) -> bool {
    let mut dated = false;
    for (name, value) in headers {
        if name == TRANSFER_ENCODING || (name == CONTENT_LENGTH && !keep_length) {
            continue;
        }
        dated |= name == DATE;
        field_line(out, name, value);
    }
    dated
}

/// Writes the framing field of a body framed as `framing`.
fn framing_line(out: &mut Vec<u8>, framing: Framing) {
    match framing {
        Framing::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Empty | Framing::UntilClose => {}
    }
}

/// Writes a request head for an Upstream. A method that usually carries a body gets `Content-Length: 0` when it
/// has none, so the Upstream does not wait for one.
pub(crate) fn request_head(out: &mut Vec<u8>, method: &Method, uri: &Uri, headers: &HeaderMap, framing: Framing) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(uri.path_and_query().map_or("/", |p| p.as_str()).as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    field_lines(out, headers, false);
    match framing {
        Framing::Empty if matches!(*method, Method::POST | Method::PUT | Method::PATCH) => {
            out.extend_from_slice(b"content-length: 0\r\n");
        }
        framing => framing_line(out, framing),
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a response head for a client speaking `version`. A response without a Date gets one (RFC 9110 §6.6.1);
/// `keep_alive` false adds `Connection: close`, and HTTP/1.0 clients are told when the connection stays open.
pub(crate) fn response_head(
    out: &mut Vec<u8>,
    parts: &response::Parts,
    framing: Framing,
    version: Version,
    keep_alive: bool,
) {
    out.extend_from_slice(if version == Version::HTTP_10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    // Only the answer to a HEAD has no body and may still tell a length.
    let head_answer = framing == Framing::Empty && !forbids_length(parts.status);
    let dated = field_lines(out, &parts.headers, head_answer);
    framing_line(out, framing);
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

/// Writes the end of a chunked body: the last chunk, the trailer fields (if any) and the empty line.
pub(crate) fn last_chunk(out: &mut Vec<u8>, trailers: Option<&HeaderMap>) {
    out.extend_from_slice(b"0\r\n");
    if let Some(trailers) = trailers {
        for (name, value) in trailers {
            field_line(out, name, value);
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes the line that opens a chunk of `len` bytes (`1a2b\r\n`).
pub(crate) fn chunk_size_line(out: &mut Vec<u8>, len: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = len;
    loop {
        at -= 1;
        digits[at] = HEX[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
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

    fn head(response: Response<()>, framing: Framing, version: Version, keep_alive: bool) -> String {
        let mut out = Vec::new();
        response_head(&mut out, &response.into_parts().0, framing, version, keep_alive);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_response_head_carries_its_own_framing_a_date_and_the_connection_state() {
        let response = Response::builder()
            .status(404)
            .header("content-length", "999")
            .header("transfer-encoding", "chunked")
            .header("x-a", "1")
            .body(())
            .unwrap();
        let text = head(response, Framing::Length(12), Version::HTTP_11, false);
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\nx-a: 1\r\ncontent-length: 12\r\ndate: "), "{text}");
        assert!(text.ends_with(" GMT\r\nconnection: close\r\n\r\n"), "{text}");

        let dated = Response::builder().header("date", "Tue, 01 Dec 2026 00:00:00 GMT").body(()).unwrap();
        let text = head(dated, Framing::Chunked, Version::HTTP_10, true);
        assert_eq!(
            text,
            "HTTP/1.0 200 OK\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\ntransfer-encoding: chunked\r\n\
             connection: keep-alive\r\n\r\n"
        );
        let until_close = Response::builder().header("content-length", "3").body(()).unwrap();
        let text = head(until_close, Framing::UntilClose, Version::HTTP_10, false);
        assert!(!text.contains("content-length") && !text.contains("transfer-encoding"), "{text}");
    }

    #[test]
    fn only_a_head_answer_passes_its_length_on() {
        let with_length = |status: u16| {
            Response::builder().status(status).header("content-length", "8").header("etag", "x").body(()).unwrap()
        };
        let text = head(with_length(200), Framing::Empty, Version::HTTP_11, true);
        assert!(text.contains("content-length: 8\r\n"), "a HEAD answer keeps the length of what GET would send");
        for status in [204, 304, 101, 103] {
            let text = head(with_length(status), Framing::Empty, Version::HTTP_11, true);
            assert!(!text.contains("content-length"), "{status}: {text}");
            assert!(text.contains("etag: x\r\n"), "{text}");
        }
    }

    #[test]
    fn the_request_head_carries_every_field_and_its_own_framing() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("app.localhost"));
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        headers.insert("content-length", HeaderValue::from_static("5, 5"));
        headers.insert("transfer-encoding", HeaderValue::from_static("gzip, chunked"));
        let uri: Uri = "/p?q=1".parse().unwrap();
        let mut out = Vec::new();
        request_head(&mut out, &Method::POST, &uri, &headers, Framing::Chunked);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /p?q=1 HTTP/1.1\r\nhost: app.localhost\r\nx-a: 1\r\nx-a: 2\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        let mut out = Vec::new();
        request_head(&mut out, &Method::PUT, &uri, &headers, Framing::Length(5));
        assert!(String::from_utf8(out).unwrap().ends_with("x-a: 2\r\ncontent-length: 5\r\n\r\n"));
        let mut out = Vec::new();
        request_head(&mut out, &Method::PUT, &uri, &HeaderMap::new(), Framing::Empty);
        assert!(String::from_utf8(out).unwrap().ends_with("content-length: 0\r\n\r\n"));
        let mut out = Vec::new();
        request_head(&mut out, &Method::GET, &uri, &HeaderMap::new(), Framing::Empty);
        assert_eq!(String::from_utf8(out).unwrap(), "GET /p?q=1 HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn chunks_are_framed_in_hex() {
        let mut out = Vec::new();
        for len in [0, 9, 10, 255, 0x1a2b, usize::MAX] {
            chunk_size_line(&mut out, len);
        }
        assert_eq!(String::from_utf8(out).unwrap(), "0\r\n9\r\na\r\nff\r\n1a2b\r\nffffffffffffffff\r\n");
        let mut out = Vec::new();
        let mut trailers = HeaderMap::new();
        trailers.insert("x-sum", HeaderValue::from_static("1"));
        last_chunk(&mut out, Some(&trailers));
        last_chunk(&mut out, None);
        assert_eq!(String::from_utf8(out).unwrap(), "0\r\nx-sum: 1\r\n\r\n0\r\n\r\n");
    }
}
