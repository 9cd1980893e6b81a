//! Chunked transfer coding (RFC 9112 §7.1), decoded as the bytes arrive, each chunk handed on without copying. One
//! decoder for both sides: request bodies from clients and response bodies from Upstreams.
//!
//! It is strict where laxness lets one message hide another: a size line must be hex digits and well-formed
//! extensions ended by CRLF (a quoted extension cannot hide a line break), chunk data must be followed by CRLF, and
//! trailer fields that would change how a message is framed, routed or authorised are dropped (RFC 9110 §6.5.1).
//! (The framing of what is *sent* is written by [`super::write`].)

use bytes::{Buf, Bytes, BytesMut};
use http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, COOKIE,
    EXPECT, HOST, MAX_FORWARDS, PRAGMA, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, RANGE, SET_COOKIE, TE, TRAILER,
    TRANSFER_ENCODING, UPGRADE, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderName};

use super::fields::{self, Kind, LocateError};

/// The longest chunk-size line accepted (the size plus any extensions). Small with the `fuzzing` feature, so the
/// fuzzer reaches the limit.
const MAX_SIZE_LINE: usize = if cfg!(feature = "fuzzing") { 64 } else { 4096 };
/// The largest trailer section accepted.
const MAX_TRAILERS: usize = if cfg!(feature = "fuzzing") { 256 } else { 16 * 1024 };
/// The most trailer fields accepted.
const MAX_TRAILER_FIELDS: usize = 32;

/// Fields a trailer must not carry: they are needed before the content (framing, routing, authentication, request
/// modifiers, response controls, content format) or belong to one connection, so a recipient acting on them in a
/// trailer would be misled.
const NOT_IN_TRAILERS: [HeaderName; 22] = [
    AUTHORIZATION,
    CACHE_CONTROL,
    CONNECTION,
    CONTENT_ENCODING,
    CONTENT_LENGTH,
    CONTENT_RANGE,
    CONTENT_TYPE,
    COOKIE,
    EXPECT,
    HOST,
    HeaderName::from_static("keep-alive"),
    MAX_FORWARDS,
    PRAGMA,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    RANGE,
    SET_COOKIE,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
    WWW_AUTHENTICATE,
];

/// Why a chunked body is malformed. The texts follow "… sent a chunked body that is not valid HTTP: ".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChunkError {
    /// The size is not 1 to 16 hex digits.
    #[error("bad chunk size")]
    Size,
    /// A chunk extension is not `;name` or `;name=value` (token or quoted string).
    #[error("bad chunk extension")]
    Extension,
    /// The size line did not end within [`MAX_SIZE_LINE`] bytes.
    #[error("chunk size line too long")]
    LineTooLong,
    /// Chunk data not followed by CRLF.
    #[error("no line break after chunk data")]
    DataEnd,
    /// The trailer section is malformed or too large.
    #[error("bad trailer section")]
    Trailers,
}

/// What the decoder found in the bytes it was given.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// A piece of chunk data.
    Data(Bytes),
    /// The trailer fields after the last chunk (those allowed in a trailer); the body has ended.
    Trailers(HeaderMap),
    /// The last chunk and an empty trailer section: the body has ended.
    End,
    /// More bytes are needed.
    More,
}

/// Where a chunked body is, between reads.
#[derive(Debug, Default)]
pub(crate) struct ChunkedDecoder {
    state: State,
    /// How much of the buffer was already searched for the end of a line or section, so bytes that dribble in
    /// are not searched again.
    searched: usize,
}

#[derive(Debug, Default, Clone, Copy)]
enum State {
    /// Expecting a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer fields, then an empty line.
    Trailers,
    /// The body has ended.
    Done,
}

impl ChunkedDecoder {
    /// Decodes from the start of `buf`, removing what it used: at most one piece of data per call.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, ChunkError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(end) = self.find(buf, b"\r\n") else {
                        return if buf.len() > MAX_SIZE_LINE {
                            Err(ChunkError::LineTooLong)
                        } else {
                            Ok(Decoded::More)
                        };
                    };
                    // Judged by its length whether it arrived whole or in pieces.
                    if end > MAX_SIZE_LINE {
                        return Err(ChunkError::LineTooLong);
                    }
                    let size = size_line(&buf[..end])?;
                    buf.advance(end + 2);
                    self.state = if size == 0 { State::Trailers } else { State::Data(size) };
                }
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Decoded::More);
                    }
                    let take = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
                    let rest = left - take as u64;
                    self.state = if rest == 0 { State::DataEnd } else { State::Data(rest) };
                    return Ok(Decoded::Data(buf.split_to(take).freeze()));
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Decoded::More);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(ChunkError::DataEnd);
                    }
                    buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers => {
                    if buf.starts_with(b"\r\n") {
                        buf.advance(2);
                        self.state = State::Done;
                        return Ok(Decoded::End);
                    }
                    let Some(end) = self.find(buf, b"\r\n\r\n") else {
                        return if buf.len() > MAX_TRAILERS { Err(ChunkError::Trailers) } else { Ok(Decoded::More) };
                    };
                    if end + 4 > MAX_TRAILERS {
                        return Err(ChunkError::Trailers);
                    }
                    let section = buf.split_to(end + 4).freeze();
                    self.state = State::Done;
                    return Ok(Decoded::Trailers(trailer_fields(&section)?));
                }
                State::Done => return Ok(Decoded::End),
            }
        }
    }

    /// Where `needle` starts in `buf`, searching only what was not searched before; resets the mark when found.
    fn find(&mut self, buf: &[u8], needle: &[u8]) -> Option<usize> {
        let from = self.searched.min(buf.len().saturating_sub(needle.len() - 1));
        if let Some(at) = buf[from..].windows(needle.len()).position(|w| w == needle) {
            self.searched = 0;
            Some(from + at)
        } else {
            self.searched = buf.len().saturating_sub(needle.len() - 1);
            None
        }
    }
}

/// The size on a chunk-size line (without its CRLF): `1*HEXDIG *( BWS ";" BWS name [ BWS "=" BWS value ] )`.
fn size_line(line: &[u8]) -> Result<u64, ChunkError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(ChunkError::Size);
    }
    let size = line[..digits].iter().fold(0u64, |n, d| n * 16 + u64::from(hex_value(*d)));
    let mut rest = skip_whitespace(&line[digits..]);
    while !rest.is_empty() {
        rest = extension(rest).ok_or(if rest[0] == b';' { ChunkError::Extension } else { ChunkError::Size })?;
    }
    Ok(size)
}

/// Consumes one `; name [= value]` extension and the whitespace after it; `None` when it is malformed.
fn extension(text: &[u8]) -> Option<&[u8]> {
    let text = skip_whitespace(text.strip_prefix(b";")?);
    let name = text.iter().take_while(|b| token_char(**b)).count();
    if name == 0 {
        return None;
    }
    let text = skip_whitespace(&text[name..]);
    let Some(value) = text.strip_prefix(b"=") else { return Some(text) };
    let value = skip_whitespace(value);
    let used = if value.first() == Some(&b'"') {
        quoted_string(value)?
    } else {
        value.iter().take_while(|b| token_char(**b)).count()
    };
    if used == 0 {
        return None;
    }
    Some(skip_whitespace(&value[used..]))
}

/// The length of the quoted string at the start of `text` (quotes included); `None` when it never closes or holds
/// a byte a quoted string cannot (a control character such as CR or LF).
fn quoted_string(text: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < text.len() {
        match text[i] {
            b'"' => return Some(i + 1),
            b'\\' => {
                let escaped = *text.get(i + 1)?;
                if escaped != b'\t' && !(b' '..=b'~').contains(&escaped) && escaped < 0x80 {
                    return None;
                }
                i += 2;
            }
            b if b == b'\t' || b == b' ' || (b'!'..=b'~').contains(&b) || b >= 0x80 => i += 1,
            _ => return None,
        }
    }
    None
}

fn skip_whitespace(text: &[u8]) -> &[u8] {
    let n = text.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    &text[n..]
}

/// `tchar` (RFC 9110 §5.6.2).
fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn hex_value(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d - b'A' + 10,
    }
}

/// The fields of a trailer section (ending with its empty line) that a trailer may carry.
fn trailer_fields(section: &Bytes) -> Result<HeaderMap, ChunkError> {
    let located = match fields::locate::<MAX_TRAILER_FIELDS>(section, Kind::Trailers, MAX_TRAILERS) {
        Ok(Some(located)) if located.len == section.len() => located,
        Ok(_) | Err(LocateError::TooLarge | LocateError::TooManyFields | LocateError::Invalid(_)) => {
            return Err(ChunkError::Trailers);
        }
    };
    let (mut trailers, _) = fields::fields(section, &located, 0).map_err(|_| ChunkError::Trailers)?;
    for name in &NOT_IN_TRAILERS {
        trailers.remove(name);
    }
    Ok(trailers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::write;

    /// Feeds `wire` to a decoder `step` bytes at a time, collecting the data and any trailers.
    fn decode_in_steps(wire: &[u8], step: usize) -> Result<(Vec<u8>, Option<HeaderMap>), ChunkError> {
        let mut decoder = ChunkedDecoder::default();
        let mut buf = BytesMut::new();
        let mut data = Vec::new();
        let mut fed = 0;
        loop {
            match decoder.decode(&mut buf)? {
                Decoded::Data(d) => data.extend_from_slice(&d),
                Decoded::Trailers(t) => return Ok((data, Some(t))),
                Decoded::End => return Ok((data, None)),
                Decoded::More if fed >= wire.len() => panic!("ran out of input: {data:?}"),
                Decoded::More => {
                    let next = (fed + step).min(wire.len());
                    buf.extend_from_slice(&wire[fed..next]);
                    fed = next;
                }
            }
        }
    }

    fn refused(wire: &[u8]) -> ChunkError {
        let mut buf = BytesMut::from(wire);
        let mut decoder = ChunkedDecoder::default();
        loop {
            match decoder.decode(&mut buf) {
                Ok(Decoded::Data(_)) => {}
                Err(e) => return e,
                Ok(other) => panic!("{:?} was accepted: {other:?}", String::from_utf8_lossy(wire)),
            }
        }
    }

    #[test]
    fn chunks_are_decoded_however_the_bytes_arrive() {
        let wire = b"5\r\nhello\r\n1;ext=1\r\n \r\nB ; a ; b = \"q \\\" ;\" \r\nfrom chunks\r\n000\r\n\r\n";
        for step in [1, 2, 3, 7, wire.len()] {
            let (data, trailers) = decode_in_steps(wire, step).unwrap();
            assert_eq!(data, b"hello from chunks", "step {step}");
            assert!(trailers.is_none());
        }
    }

    #[test]
    fn trailers_end_the_body_without_the_fields_a_trailer_must_not_carry() {
        let wire = b"2\r\nok\r\n0\r\nx-sum: 12\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nHost: evil\r\n\
                     Set-Cookie: a=b\r\nAuthorization: x\r\nx-b: 2\r\n\r\n";
        let (data, trailers) = decode_in_steps(wire, 4).unwrap();
        assert_eq!(data, b"ok");
        let trailers = trailers.unwrap();
        let names: Vec<&str> = trailers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-sum", "x-b"]);
    }

    #[test]
    fn malformed_chunks_are_refused() {
        assert_eq!(refused(b"zz\r\n"), ChunkError::Size);
        assert_eq!(refused(b"-1\r\n"), ChunkError::Size);
        assert_eq!(refused(b"11111111111111111\r\n"), ChunkError::Size);
        assert_eq!(refused(b"5x\r\n"), ChunkError::Size);
        assert_eq!(refused(b"5\r\nhelloXX"), ChunkError::DataEnd);
        assert_eq!(refused(b"0\r\nbad header\r\n\r\n"), ChunkError::Trailers);
        assert_eq!(refused(&[b'1'; MAX_SIZE_LINE + 1]), ChunkError::LineTooLong);
    }

    #[test]
    fn extensions_must_be_well_formed_so_a_quoted_line_break_cannot_hide_a_request() {
        // A lenient parser reads the quoted part to its closing quote, past the CRLF; a strict one sees an unclosed
        // string. Either way the two readings differ, so the body is refused.
        let smuggle = b"1;ext=\"\r\nX\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n\"\r\nX\r\n0\r\n\r\n";
        assert_eq!(refused(smuggle), ChunkError::Extension);
        for bad in
            [&b"1;\r\n"[..], b"1;=x\r\n", b"1;a=\r\n", b"1;a=\"x\r\n", b"1;a b\r\n", b"1;a=\"\x01\"\r\n", b"1 x\r\n"]
        {
            assert!(
                matches!(refused(bad), ChunkError::Extension | ChunkError::Size),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn limits_hold_however_the_bytes_arrive() {
        // Found by reading for the fuzz targets: a size line longer than the limit was refused only when it
        // arrived in pieces, and accepted when its CRLF came in the same read.
        let mut long_line = b"1;a=".to_vec();
        long_line.extend(std::iter::repeat_n(b'b', MAX_SIZE_LINE));
        long_line.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        for step in [long_line.len(), 256, 7] {
            assert_eq!(decode_in_steps_error(&long_line, step), Some(ChunkError::LineTooLong), "step {step}");
        }
        let mut long_trailers = b"0\r\n".to_vec();
        for i in 0..MAX_TRAILERS / 8 {
            long_trailers.extend_from_slice(format!("x{i:04}: 1\r\n").as_bytes());
        }
        long_trailers.extend_from_slice(b"\r\n");
        for step in [long_trailers.len(), 100] {
            assert_eq!(decode_in_steps_error(&long_trailers, step), Some(ChunkError::Trailers), "step {step}");
        }
    }

    #[test]
    fn a_line_or_section_found_whole_is_held_to_the_limit_to_the_byte() {
        let line = |len: usize| {
            let mut wire = b"1;a=".to_vec();
            wire.extend(std::iter::repeat_n(b'b', len - 4));
            wire.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
            decode_in_steps_error(&wire, wire.len())
        };
        assert_eq!(line(MAX_SIZE_LINE), None, "a line of exactly the limit");
        assert_eq!(line(MAX_SIZE_LINE + 1), Some(ChunkError::LineTooLong));
        let section = |len: usize| {
            let mut wire = b"0\r\nx: ".to_vec();
            wire.extend(std::iter::repeat_n(b'v', len - 7));
            wire.extend_from_slice(b"\r\n\r\n");
            decode_in_steps_error(&wire, wire.len())
        };
        assert_eq!(section(MAX_TRAILERS), None, "a section of exactly the limit");
        assert_eq!(section(MAX_TRAILERS + 1), Some(ChunkError::Trailers));
        // The limit itself, stated in bytes: a 16 KiB section (a large gRPC status detail) gets through.
        assert_eq!(section(16 * 1024), None);
        assert_eq!(section(16 * 1024 + 1), Some(ChunkError::Trailers));
    }

    /// The error decoding `wire` in steps of `step` ends with, if any.
    fn decode_in_steps_error(wire: &[u8], step: usize) -> Option<ChunkError> {
        let mut decoder = ChunkedDecoder::default();
        let mut buf = BytesMut::new();
        let mut fed = 0;
        loop {
            match decoder.decode(&mut buf) {
                Err(e) => return Some(e),
                Ok(Decoded::Trailers(_) | Decoded::End) => return None,
                Ok(Decoded::Data(_)) => {}
                Ok(Decoded::More) if fed >= wire.len() => return None,
                Ok(Decoded::More) => {
                    let next = (fed + step).min(wire.len());
                    buf.extend_from_slice(&wire[fed..next]);
                    fed = next;
                }
            }
        }
    }

    #[test]
    fn sizes_are_hex_in_either_case_up_to_sixteen_digits() {
        assert_eq!(size_line(b"b"), Ok(11));
        assert_eq!(size_line(b"fF"), Ok(255));
        assert_eq!(size_line(b"0000000000000010"), Ok(16), "sixteen digits");
        assert_eq!(size_line(b"ffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(size_line(b"00000000000000010"), Err(ChunkError::Size), "seventeen digits");
    }

    #[test]
    fn quoted_strings_follow_rfc_9110() {
        for good in [&b"1;a=\"\""[..], b"1;a=\"x\\\ty\"", b"1;a=\"\\\x80\"", b"1;a=\"\x80\xff\"", b"1;a=\"\\\"\""] {
            assert_eq!(size_line(good), Ok(1), "{:?}", String::from_utf8_lossy(good));
        }
        for bad in
            [&b"1;a=\"\\\x7f\""[..], b"1;a=\"\\\x01\"", b"1;a=\"\\\"x", b"1;a=\"\\", b"1;a=\"\x7f\"", b"1;a=\"x\\"]
        {
            assert_eq!(size_line(bad), Err(ChunkError::Extension), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn lines_and_sections_up_to_the_limit_wait_for_more() {
        let mut decoder = ChunkedDecoder::default();
        let mut line = BytesMut::from(&b"1;a="[..]);
        line.extend(std::iter::repeat_n(b'b', MAX_SIZE_LINE - 4));
        assert!(matches!(decoder.decode(&mut line), Ok(Decoded::More)), "exactly the limit, no line end yet");
        line.extend_from_slice(b"\r\nx");
        assert!(matches!(decoder.decode(&mut line), Ok(Decoded::Data(_))));
        let mut decoder = ChunkedDecoder { state: State::Trailers, searched: 0 };
        let mut section = BytesMut::from(&b"x-a: "[..]);
        section.extend(std::iter::repeat_n(b'v', MAX_TRAILERS - 5));
        assert!(matches!(decoder.decode(&mut section), Ok(Decoded::More)), "exactly the limit, no end yet");
        let mut decoder = ChunkedDecoder { state: State::Trailers, searched: 0 };
        let mut section = BytesMut::from(&b"x-a: "[..]);
        section.extend(std::iter::repeat_n(b'v', MAX_TRAILERS / 2));
        section.extend_from_slice(b"\r\n\r\n");
        assert!(matches!(decoder.decode(&mut section), Ok(Decoded::Trailers(_))), "a section within the limit");
    }

    #[test]
    fn a_body_framed_here_decodes_back() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-t", http::HeaderValue::from_static("1"));
        let mut wire = Vec::new();
        for piece in [&b"abc"[..], &[b'z'; 300][..]] {
            write::chunk_size_line(&mut wire, piece.len());
            wire.extend_from_slice(piece);
            wire.extend_from_slice(b"\r\n");
        }
        write::last_chunk(&mut wire, Some(&trailers));
        let (data, back) = decode_in_steps(&wire, 5).unwrap();
        assert_eq!(data.len(), 303);
        assert_eq!(back.unwrap()["x-t"], "1");
    }

    #[test]
    fn a_section_dribbling_in_is_not_searched_again_from_the_start() {
        let mut decoder = ChunkedDecoder { state: State::Trailers, searched: 0 };
        let mut buf = BytesMut::from(&b"x-a: 1\r\n"[..]);
        assert!(matches!(decoder.decode(&mut buf), Ok(Decoded::More)));
        assert_eq!(decoder.searched, buf.len() - 3);
        buf.extend_from_slice(b"\r\n");
        assert!(matches!(decoder.decode(&mut buf), Ok(Decoded::Trailers(_))));
        assert!(buf.is_empty());
    }
}
