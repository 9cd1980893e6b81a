//! The header fields of a parsed HTTP/1 head, both ways (requests from clients, responses from Upstreams). httparse
//! borrows the read buffer, so where each piece lies is noted first; once the head's bytes are frozen, names and
//! values are made from them without copying, and what decides the body's framing is noted on the way instead of
//! looked up afterwards.

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::h1::ProtocolError;

/// Where a piece of a head lies in its buffer: start and end offsets.
pub(crate) type Span = (u32, u32);

/// The span of `part`, a slice of the buffer starting at address `start`.
pub(crate) fn span(start: usize, part: &[u8]) -> Span {
    let from = u32::try_from((part.as_ptr() as usize).wrapping_sub(start)).unwrap_or(u32::MAX);
    (from, from.saturating_add(u32::try_from(part.len()).unwrap_or(u32::MAX)))
}

/// Notes the name and value spans of each parsed header into `out`; returns how many there are.
pub(crate) fn note(start: usize, headers: &[httparse::Header<'_>], out: &mut [(Span, Span)]) -> usize {
    for (slot, header) in out.iter_mut().zip(headers) {
        *slot = (span(start, header.name.as_bytes()), span(start, header.value));
    }
    headers.len().min(out.len())
}

/// The bytes of `head` in `span`, sharing its allocation.
pub(crate) fn piece(head: &Bytes, span: Span) -> Option<Bytes> {
    let range = usize::try_from(span.0).ok()?..usize::try_from(span.1).ok()?;
    head.get(range).map(|part| head.slice_ref(part))
}

/// The header map of the fields at `spans` in `head` (with room for `extra` more), and what they say about
/// framing and keep-alive.
pub(crate) fn fields(head: &Bytes, spans: &[(Span, Span)], extra: usize) -> Result<(HeaderMap, Seen), ProtocolError> {
    let mut headers = HeaderMap::with_capacity(spans.len() + extra);
    let mut seen = Seen::default();
    for &(name, value) in spans {
        let name = head
            .get(usize::try_from(name.0).unwrap_or(usize::MAX)..usize::try_from(name.1).unwrap_or(usize::MAX))
            .and_then(|n| HeaderName::from_bytes(n).ok())
            .ok_or(ProtocolError::Invalid(httparse::Error::HeaderName))?;
        let value = piece(head, value)
            .and_then(|v| HeaderValue::from_maybe_shared(v).ok())
            .ok_or(ProtocolError::Invalid(httparse::Error::HeaderValue))?;
        seen.note(&name, &value)?;
        headers.append(name, value);
    }
    Ok((headers, seen))
}

/// The headers that decide how a message's body is delimited and whether the connection stays open.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// The `Content-Length`, all values agreeing.
    pub(crate) length: Option<u64>,
    /// Whether the last `Transfer-Encoding` coding is chunked, when there is one.
    pub(crate) chunked: Option<bool>,
    /// `Connection: close`.
    pub(crate) close: bool,
    /// `Connection: keep-alive` (what keeps an HTTP/1.0 connection open).
    pub(crate) keep_alive: bool,
    /// `Expect: 100-continue` (requests only).
    pub(crate) expects_continue: bool,
}

impl Seen {
    fn note(&mut self, name: &HeaderName, value: &HeaderValue) -> Result<(), ProtocolError> {
        if *name == CONTENT_LENGTH {
            for part in value.to_str().map_err(|_| ProtocolError::BadContentLength)?.split(',') {
                let part = part.trim();
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ProtocolError::BadContentLength);
                }
                let n: u64 = part.parse().map_err(|_| ProtocolError::BadContentLength)?;
                if self.length.is_some_and(|l| l != n) {
                    return Err(ProtocolError::BadContentLength);
                }
                self.length = Some(n);
            }
        } else if *name == TRANSFER_ENCODING {
            let last = value.to_str().ok().and_then(|v| v.rsplit(',').next()).map(str::trim);
            self.chunked = Some(last.is_some_and(|c| c.eq_ignore_ascii_case("chunked")));
        } else if *name == CONNECTION {
            for option in value.to_str().unwrap_or_default().split(',') {
                let option = option.trim();
                self.close |= option.eq_ignore_ascii_case("close");
                self.keep_alive |= option.eq_ignore_ascii_case("keep-alive");
            }
        } else if *name == EXPECT {
            self.expects_continue |= value.as_bytes().eq_ignore_ascii_case(b"100-continue");
        }
        Ok(())
    }
}
