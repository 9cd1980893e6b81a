//! Chunked transfer coding (RFC 9112 §7.1) both ways: a response body decoded as it arrives, each chunk handed on
//! without copying; a request body of unknown length framed chunk by chunk.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::h1::ProtocolError;

/// The longest chunk-size line accepted (the size plus any extensions).
const MAX_SIZE_LINE: usize = 4096;
/// The largest trailer section accepted.
const MAX_TRAILERS: usize = 16 * 1024;
/// The most trailer fields accepted.
const MAX_TRAILER_FIELDS: usize = 32;

/// What the decoder found in the bytes it was given.
#[derive(Debug)]
pub enum Decoded {
    /// A piece of chunk data.
    Data(Bytes),
    /// The trailer fields after the last chunk; the body has ended.
    Trailers(HeaderMap),
    /// The last chunk and an empty trailer section: the body has ended.
    End,
    /// More bytes are needed.
    More,
}

/// Where a chunked body is, between reads.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: State,
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
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, ProtocolError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(end) = find(buf, b"\r\n") else {
                        return if buf.len() > MAX_SIZE_LINE {
                            Err(ProtocolError::BadChunk)
                        } else {
                            Ok(Decoded::More)
                        };
                    };
                    let size = chunk_size(&buf[..end])?;
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
                        return Err(ProtocolError::BadChunk);
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
                    let Some(end) = find(buf, b"\r\n\r\n") else {
                        return if buf.len() > MAX_TRAILERS { Err(ProtocolError::BadChunk) } else { Ok(Decoded::More) };
                    };
                    let trailers = trailer_fields(&buf[..end + 4])?;
                    buf.advance(end + 4);
                    self.state = State::Done;
                    return Ok(Decoded::Trailers(trailers));
                }
                State::Done => return Ok(Decoded::End),
            }
        }
    }
}

/// The chunk-size line's size: hex digits, then optional whitespace and `;extensions`, which are ignored.
fn chunk_size(line: &[u8]) -> Result<u64, ProtocolError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let rest = &line[digits..];
    if digits == 0 || digits > 16 || !(rest.is_empty() || matches!(rest[0], b';' | b' ' | b'\t')) {
        return Err(ProtocolError::BadChunk);
    }
    let text = std::str::from_utf8(&line[..digits]).map_err(|_| ProtocolError::BadChunk)?;
    u64::from_str_radix(text, 16).map_err(|_| ProtocolError::BadChunk)
}

fn trailer_fields(section: &[u8]) -> Result<HeaderMap, ProtocolError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_TRAILER_FIELDS];
    let Ok(httparse::Status::Complete((_, fields))) = httparse::parse_headers(section, &mut slots) else {
        return Err(ProtocolError::BadChunk);
    };
    let mut trailers = HeaderMap::with_capacity(fields.len());
    for field in fields {
        let name = HeaderName::from_bytes(field.name.as_bytes()).map_err(|_| ProtocolError::BadChunk)?;
        let value = HeaderValue::from_bytes(field.value).map_err(|_| ProtocolError::BadChunk)?;
        trailers.append(name, value);
    }
    Ok(trailers)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The line that opens a chunk of `len` bytes (`1a2b\r\n`).
pub fn chunk_header(len: usize) -> Bytes {
    Bytes::from(format!("{len:x}\r\n"))
}

/// Ends a chunked body: the last chunk, then the trailer fields (if any) and the empty line.
pub fn last_chunk(trailers: Option<&HeaderMap>) -> Bytes {
    let Some(trailers) = trailers.filter(|t| !t.is_empty()) else {
        return Bytes::from_static(b"0\r\n\r\n");
    };
    let mut out = b"0\r\n".to_vec();
    for (name, value) in trailers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` to a decoder `step` bytes at a time, collecting the data and any trailers.
    fn decode_in_steps(wire: &[u8], step: usize) -> Result<(Vec<u8>, Option<HeaderMap>), ProtocolError> {
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

    #[test]
    fn chunks_are_decoded_however_the_bytes_arrive() {
        let wire = b"5\r\nhello\r\n1;ext=1\r\n \r\nB \r\nfrom chunks\r\n0\r\n\r\n";
        for step in [1, 2, 3, 7, wire.len()] {
            let (data, trailers) = decode_in_steps(wire, step).unwrap();
            assert_eq!(data, b"hello from chunks", "step {step}");
            assert!(trailers.is_none());
        }
    }

    #[test]
    fn trailers_end_the_body() {
        let (data, trailers) = decode_in_steps(b"2\r\nok\r\n0\r\nx-sum: 12\r\nx-b: 2\r\n\r\n", 4).unwrap();
        assert_eq!(data, b"ok");
        let trailers = trailers.unwrap();
        assert_eq!((trailers["x-sum"].as_bytes(), trailers["x-b"].as_bytes()), (&b"12"[..], &b"2"[..]));
    }

    #[test]
    fn malformed_chunks_are_refused() {
        for wire in [&b"zz\r\n"[..], b"5\r\nhelloXX", b"-1\r\n", b"11111111111111111\r\n", b"5x\r\n"] {
            let mut buf = BytesMut::from(wire);
            let mut decoder = ChunkedDecoder::default();
            let mut result = decoder.decode(&mut buf);
            while let Ok(Decoded::Data(_)) = result {
                result = decoder.decode(&mut buf);
            }
            assert!(matches!(result, Err(ProtocolError::BadChunk)), "{:?}: {result:?}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn a_body_framed_here_decodes_back() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-t", HeaderValue::from_static("1"));
        let mut wire = Vec::new();
        for piece in [&b"abc"[..], &[b'z'; 300][..]] {
            wire.extend_from_slice(&chunk_header(piece.len()));
            wire.extend_from_slice(piece);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(&last_chunk(Some(&trailers)));
        let (data, back) = decode_in_steps(&wire, 5).unwrap();
        assert_eq!(data.len(), 303);
        assert_eq!(back.unwrap()["x-t"], "1");
        assert_eq!(&last_chunk(None)[..], b"0\r\n\r\n");
    }
}
