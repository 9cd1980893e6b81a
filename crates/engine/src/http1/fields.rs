//! The one httparse wrapper, for request heads, response heads and trailer sections alike.
//!
//! httparse borrows the read buffer, so a head is first *located*: its length and where each piece lies. Once the
//! head's bytes are frozen, header names and values are made from them without copying, and what decides the
//! message's framing, connection and Host is noted on the way instead of looked up afterwards.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::host;

/// Where a piece of a head lies in its buffer: start and end offsets.
pub(super) type Span = (u32, u32);

/// Which kind of head to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `method target version`, then fields.
    Request,
    /// `version status reason`, then fields.
    Response,
    /// Fields only (the trailer section after a last chunk).
    Trailers,
}

/// Why a head could not be located.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LocateError {
    /// It did not end within the limit.
    TooLarge,
    /// It has more fields than there are slots.
    TooManyFields,
    /// httparse refused it.
    Invalid(httparse::Error),
}

/// A head found at the start of a buffer, before its bytes are frozen.
#[derive(Debug)]
pub(super) struct Located<const N: usize> {
    /// Bytes the head takes, its final empty line included.
    pub(super) len: usize,
    /// Requests: the method.
    pub(super) method: Span,
    /// Requests: the request target.
    pub(super) target: Span,
    /// Responses: the status code.
    pub(super) code: u16,
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub(super) minor: u8,
    fields: [(Span, Span); N],
    count: usize,
}

/// Locates the head of `kind` at the start of `buf`; `None` while it is incomplete and shorter than `max` bytes.
pub(super) fn locate<const N: usize>(buf: &[u8], kind: Kind, max: usize) -> Result<Option<Located<N>>, LocateError> {
    // Never more than `max` bytes are parsed: a head is judged by what it holds within the limit, so the verdict
    // does not depend on how the bytes arrive (a flaw past the limit is a head too large, however it is read).
    let buf = &buf[..buf.len().min(max)];
    let start = buf.as_ptr() as usize;
    let mut located =
        Located { len: 0, method: (0, 0), target: (0, 0), code: 0, minor: 1, fields: [((0, 0), (0, 0)); N], count: 0 };
    // Uninitialised slots: httparse fills only those it uses (initialising them all cost more than parsing).
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; N];
    let status = match kind {
        Kind::Request => {
            let mut head = httparse::Request::new(&mut []);
            let status =
                httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut head, buf, &mut slots);
            if let Ok(httparse::Status::Complete(_)) = status {
                located.method = span(start, head.method.unwrap_or_default().as_bytes());
                located.target = span(start, head.path.unwrap_or_default().as_bytes());
                located.minor = head.version.unwrap_or(1);
                located.count = note(start, head.headers, &mut located.fields);
            }
            status
        }
        Kind::Response => {
            let mut head = httparse::Response::new(&mut []);
            let status =
                httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut head, buf, &mut slots);
            if let Ok(httparse::Status::Complete(_)) = status {
                located.code = head.code.unwrap_or(0);
                located.minor = head.version.unwrap_or(1);
                located.count = note(start, head.headers, &mut located.fields);
            }
            status
        }
        Kind::Trailers => {
            let mut fields = [httparse::EMPTY_HEADER; N];
            match httparse::parse_headers(buf, &mut fields) {
                Ok(httparse::Status::Complete((len, parsed))) => {
                    located.count = note(start, parsed, &mut located.fields);
                    Ok(httparse::Status::Complete(len))
                }
                Ok(httparse::Status::Partial) => Ok(httparse::Status::Partial),
                Err(e) => Err(e),
            }
        }
    };
    match status {
        Ok(httparse::Status::Complete(len)) => {
            located.len = len;
            Ok(Some(located))
        }
        Ok(httparse::Status::Partial) if buf.len() >= max => Err(LocateError::TooLarge),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(LocateError::TooManyFields),
        Err(e) => Err(LocateError::Invalid(e)),
    }
}

/// The span of `part`, a slice of the buffer starting at address `start`.
fn span(start: usize, part: &[u8]) -> Span {
    let from = u32::try_from((part.as_ptr() as usize).wrapping_sub(start)).unwrap_or(u32::MAX);
    (from, from.saturating_add(u32::try_from(part.len()).unwrap_or(u32::MAX)))
}

/// Notes the name and value spans of each parsed field into `out`; returns how many there are.
fn note(start: usize, fields: &[httparse::Header<'_>], out: &mut [(Span, Span)]) -> usize {
    for (slot, field) in out.iter_mut().zip(fields) {
        *slot = (span(start, field.name.as_bytes()), span(start, field.value));
    }
    fields.len().min(out.len())
}

/// The bytes of `head` in `span`, sharing its allocation.
pub(super) fn piece(head: &Bytes, span: Span) -> Option<Bytes> {
    let range = usize::try_from(span.0).ok()?..usize::try_from(span.1).ok()?;
    head.get(range).map(|part| head.slice_ref(part))
}

/// Why a field of a located head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldError {
    /// A name that is not a token, or a value with forbidden bytes.
    Invalid(httparse::Error),
    /// Content-Length values that are not one decimal number.
    BadContentLength,
}

/// The fields of `located` in `head` (its bytes, frozen) as a header map with room for `extra` more, and what they
/// say. A Content-Length sent as a repeated value (`5, 5`, or on two lines) is left as one value.
pub(super) fn fields<const N: usize>(
    head: &Bytes,
    located: &Located<N>,
    extra: usize,
) -> Result<(HeaderMap, Seen), FieldError> {
    let mut headers = HeaderMap::with_capacity(located.count + extra);
    let mut seen = Seen::default();
    for &(name, value) in &located.fields[..located.count] {
        let name = piece(head, name)
            .and_then(|n| HeaderName::from_bytes(&n).ok())
            .ok_or(FieldError::Invalid(httparse::Error::HeaderName))?;
        let value = piece(head, value)
            .and_then(|v| HeaderValue::from_maybe_shared(v).ok())
            .ok_or(FieldError::Invalid(httparse::Error::HeaderValue))?;
        seen.note(&name, &value)?;
        headers.append(name, value);
    }
    if seen.length_repeated
        && let Some(length) = seen.length
    {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    Ok((headers, seen))
}

/// What a message's `Transfer-Encoding` asks for (RFC 9112 §6.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Coding {
    /// No Transfer-Encoding.
    #[default]
    None,
    /// Exactly `chunked`.
    Chunked,
    /// Other codings before a final `chunked` (`gzip, chunked`): the body's end is known, its coding is not ours.
    ChunkedAfterOthers,
    /// Codings without `chunked` (`gzip`): the body's end cannot be known from them.
    Other,
    /// `chunked` followed by another coding, or `chunked` twice: the body's end cannot be known, and a sender broke
    /// the rules to get here.
    Unframed,
}

impl Coding {
    /// The codings after one more, `coding`.
    fn then(self, coding: &[u8]) -> Coding {
        let chunked = coding.eq_ignore_ascii_case(b"chunked");
        match self {
            Coding::None if chunked => Coding::Chunked,
            Coding::Other if chunked => Coding::ChunkedAfterOthers,
            Coding::None | Coding::Other => Coding::Other,
            Coding::Chunked | Coding::ChunkedAfterOthers | Coding::Unframed => Coding::Unframed,
        }
    }
}

/// The fields that decide how a message's body is delimited, whether the connection stays open, and its Host.
#[derive(Debug, Default)]
#[allow(clippy::struct_excessive_bools, reason = "independent facts about one head, each read once")]
pub(super) struct Seen {
    /// The `Content-Length`, all values agreeing.
    pub(super) length: Option<u64>,
    /// More than one Content-Length value was sent (all equal).
    length_repeated: bool,
    /// The transfer codings, every Transfer-Encoding line taken together.
    pub(super) coding: Coding,
    /// `Connection: close`.
    pub(super) close: bool,
    /// `Connection: keep-alive` (what keeps an HTTP/1.0 connection open).
    pub(super) keep_alive: bool,
    /// `Expect: 100-continue`.
    pub(super) expects_continue: bool,
    /// How many Host lines there are.
    pub(super) hosts: u8,
    /// Some Host value is not a valid `uri-host [":" port]`.
    pub(super) host_invalid: bool,
}

impl Seen {
    fn note(&mut self, name: &HeaderName, value: &HeaderValue) -> Result<(), FieldError> {
        if *name == CONTENT_LENGTH {
            self.note_length(value)?;
        } else if *name == TRANSFER_ENCODING {
            self.note_codings(value);
        } else if *name == HOST {
            self.hosts = self.hosts.saturating_add(1);
            self.host_invalid |= !host::valid(value.as_bytes());
        } else if *name == CONNECTION {
            for option in options(value) {
                self.close |= option.eq_ignore_ascii_case(b"close");
                self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if *name == EXPECT {
            self.expects_continue |= value.as_bytes().eq_ignore_ascii_case(b"100-continue");
        }
        Ok(())
    }

    fn note_length(&mut self, value: &HeaderValue) -> Result<(), FieldError> {
        for part in value.as_bytes().split(|b| *b == b',') {
            let part = part.trim_ascii();
            if part.is_empty() || part.len() > 19 || !part.iter().all(u8::is_ascii_digit) {
                return Err(FieldError::BadContentLength);
            }
            let n = part.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            match self.length {
                Some(l) if l != n => return Err(FieldError::BadContentLength),
                Some(_) => self.length_repeated = true,
                None => self.length = Some(n),
            }
        }
        Ok(())
    }

    fn note_codings(&mut self, value: &HeaderValue) {
        for coding in options(value).filter(|c| !c.is_empty()) {
            self.coding = self.coding.then(coding);
        }
    }
}

/// The comma-separated elements of a list-based field value, trimmed; parameters (`;q=1`) stay attached.
fn options(value: &HeaderValue) -> impl Iterator<Item = &[u8]> {
    value.as_bytes().split(|b| *b == b',').map(<[u8]>::trim_ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(lines: &[(&str, &str)]) -> Result<(HeaderMap, Seen), FieldError> {
        let lines: String = lines.iter().map(|(name, value)| [*name, ": ", value, "\r\n"].concat()).collect();
        let raw = format!("GET / HTTP/1.1\r\n{lines}\r\n");
        let head = Bytes::from(raw);
        let located = locate::<16>(&head, Kind::Request, 1024).unwrap().unwrap();
        fields(&head, &located, 0)
    }

    #[test]
    fn a_repeated_content_length_is_passed_on_once() {
        for lines in [&[("Content-Length", "5, 5")][..], &[("Content-Length", "5"), ("content-length", "5")]] {
            let (headers, seen) = seen(lines).unwrap();
            assert_eq!(seen.length, Some(5));
            assert_eq!(headers.get_all(CONTENT_LENGTH).iter().collect::<Vec<_>>(), ["5"], "{lines:?}");
        }
        let (headers, _) = seen(&[("Content-Length", "007")]).unwrap();
        assert_eq!(headers[CONTENT_LENGTH], "007", "a single value is left as sent");
        let (_, nineteen) = seen(&[("Content-Length", "1000000000000000000")]).unwrap();
        assert_eq!(nineteen.length, Some(1_000_000_000_000_000_000), "19 digits fit");
        for bad in ["5, 6", "-1", "", "0x10", "1 2", "99999999999999999999"] {
            assert_eq!(seen(&[("Content-Length", bad)]).unwrap_err(), FieldError::BadContentLength, "{bad:?}");
        }
    }

    #[test]
    fn transfer_codings_are_read_across_lines() {
        let coding = |lines: &[(&str, &str)]| seen(lines).unwrap().1.coding;
        assert_eq!(coding(&[]), Coding::None);
        assert_eq!(coding(&[("Transfer-Encoding", "Chunked")]), Coding::Chunked);
        assert_eq!(coding(&[("Transfer-Encoding", "gzip, chunked")]), Coding::ChunkedAfterOthers);
        assert_eq!(
            coding(&[("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]),
            Coding::ChunkedAfterOthers
        );
        assert_eq!(coding(&[("Transfer-Encoding", "chunked, gzip")]), Coding::Unframed);
        assert_eq!(coding(&[("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")]), Coding::Unframed);
        assert_eq!(coding(&[("Transfer-Encoding", "gzip")]), Coding::Other);
        assert_eq!(coding(&[("Transfer-Encoding", "gzip, deflate")]), Coding::Other, "no chunked at all");
        assert_eq!(coding(&[("Transfer-Encoding", "chunked, gzip, chunked")]), Coding::Unframed);
    }

    #[test]
    fn host_lines_are_counted_and_checked() {
        let (_, one) = seen(&[("Host", "app.localhost:8800")]).unwrap();
        assert_eq!((one.hosts, one.host_invalid), (1, false));
        let (_, two) = seen(&[("Host", "a.localhost"), ("Host", "a.localhost")]).unwrap();
        assert_eq!(two.hosts, 2);
        let (_, bad) = seen(&[("Host", "app.localhost/evil")]).unwrap();
        assert!(bad.host_invalid);
    }

    #[test]
    fn connection_options_and_expect_are_noted() {
        let (_, s) = seen(&[("Connection", "Keep-Alive, Upgrade"), ("Expect", "100-Continue")]).unwrap();
        assert!(s.keep_alive && !s.close && s.expects_continue);
        let (_, s) = seen(&[("Connection", "close")]).unwrap();
        assert!(s.close);
    }

    #[test]
    fn heads_are_located_or_refused() {
        assert!(locate::<4>(b"GET / HTTP/1.1\r\nHost: a", Kind::Request, 64).unwrap().is_none());
        assert_eq!(
            locate::<4>(b"GET / HTTP/1.1\r\nHost: aaaaaaaa", Kind::Request, 16).unwrap_err(),
            LocateError::TooLarge
        );
        assert_eq!(locate::<4>(b"GET / HTTP/1.1\r\n\r\n", Kind::Request, 8).unwrap_err(), LocateError::TooLarge);
        let many = "GET / HTTP/1.1\r\na: 1\r\na: 1\r\n\r\n";
        assert_eq!(locate::<1>(many.as_bytes(), Kind::Request, 64).unwrap_err(), LocateError::TooManyFields);
        let response =
            locate::<4>(b"HTTP/1.0 204 No Content\r\nX: y\r\n\r\nbody", Kind::Response, 64).unwrap().unwrap();
        assert_eq!((response.code, response.minor, response.len, response.count), (204, 0, 33, 1));
        let trailers = locate::<4>(b"x-sum: 1\r\n\r\n", Kind::Trailers, 64).unwrap().unwrap();
        assert_eq!((trailers.len, trailers.count), (12, 1));
    }
}
