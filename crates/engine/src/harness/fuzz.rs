//! Entry points for the fuzz targets in `fuzz/`: the wire parsers and the config decoder on
//! arbitrary bytes, each with the properties that must hold for every input. A violated property panics, which the
//! fuzzer reports as a crash; any other panic is a bug too.
//!
//! The main property of the wire code: **however the bytes arrive, the reading is the same.** A message read in one
//! piece and the same bytes dribbled in at any split must give the same head, the same body, the same rest (the
//! next pipelined message) and the same verdict; a proxy that reads a stream two ways is how requests get smuggled.

use bytes::BytesMut;
use http::Method;

use crate::config::Config;
use crate::http1::{self, ChunkedDecoder, Decoded, Framing};

/// What reading one message produced, compared across splits.
#[derive(Debug, PartialEq, Eq)]
enum Reading {
    /// A head (as text), its body and trailers, and the bytes left after the message.
    Message { head: String, body: Vec<u8>, trailers: Vec<(String, Vec<u8>)>, rest: Vec<u8> },
    /// The head or body was refused, with the reason.
    Refused(String),
    /// The bytes ended before the message did.
    Incomplete,
}

/// Splits `data` into the pieces a reader would get: the first byte picks the piece size (1 to 256 bytes).
fn pieces(data: &[u8]) -> (usize, &[u8]) {
    match data.split_first() {
        Some((size, rest)) => (usize::from(*size) + 1, rest),
        None => (1, data),
    }
}

/// A request head: read whole and read piece by piece must agree, and nothing past the head is consumed.
pub fn request_head(data: &[u8]) {
    let (step, data) = pieces(data);
    let whole = read_request(data, data.len(), false);
    let split = read_request(data, step, false);
    assert_eq!(whole, split, "a request head read in pieces of {step} differs");
}

/// A request message (head, then a body by Content-Length or chunks, then whatever follows): read whole and piece
/// by piece must agree.
pub fn request_message(data: &[u8]) {
    let (step, data) = pieces(data);
    assert_eq!(read_request(data, data.len(), true), read_request(data, step, true), "split {step}");
}

/// A response head for a GET and for a HEAD: read whole and piece by piece must agree.
pub fn response_head(data: &[u8]) {
    let (step, data) = pieces(data);
    for method in [Method::GET, Method::HEAD] {
        let whole = read_response(data, data.len(), &method, false);
        assert_eq!(whole, read_response(data, step, &method, false), "{method} split {step}");
    }
}

/// A response message (head, then its body by length or chunks): read whole and piece by piece must agree.
pub fn response_message(data: &[u8]) {
    let (step, data) = pieces(data);
    let whole = read_response(data, data.len(), &Method::GET, true);
    assert_eq!(whole, read_response(data, step, &Method::GET, true), "split {step}");
}

/// The config decoder: never panics; whatever it accepts is valid, and survives a save and a reload unchanged.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = Config::from_json(text) else { return };
    assert!(config.validate().is_ok(), "an accepted config fails validation: {text}");
    let saved = config.to_json();
    let reloaded = Config::from_json(&saved).unwrap_or_else(|e| panic!("a saved config does not load: {e}\n{saved}"));
    assert_eq!(reloaded, config, "a config changed through a save and a reload");
}

fn read_request(data: &[u8], step: usize, with_body: bool) -> Reading {
    let mut buf = BytesMut::new();
    let mut fed = 0;
    let head = loop {
        match http1::parse_request(&mut buf) {
            Ok(Some(head)) => break head,
            Ok(None) if fed >= data.len() => return Reading::Incomplete,
            Ok(None) => feed(&mut buf, data, &mut fed, step),
            Err(e) => return Reading::Refused(e.to_string()),
        }
    };
    let text = format!(
        "{:?} {} {:?} {:?} {:?}",
        head.parts.method, head.parts.uri, head.parts.headers, head.body, head.keep_alive
    );
    if !with_body {
        buf.extend_from_slice(&data[fed..]);
        return Reading::Message { head: text, body: Vec::new(), trailers: Vec::new(), rest: buf.to_vec() };
    }
    read_body(text, head.body, buf, data, fed, step)
}

fn read_response(data: &[u8], step: usize, method: &Method, with_body: bool) -> Reading {
    let mut buf = BytesMut::new();
    let mut fed = 0;
    let head = loop {
        match http1::parse_response(&mut buf, method) {
            Ok(Some(head)) if head.is_interim() => {}
            Ok(Some(head)) => break head,
            Ok(None) if fed >= data.len() => return Reading::Incomplete,
            Ok(None) => feed(&mut buf, data, &mut fed, step),
            Err(e) => return Reading::Refused(e.to_string()),
        }
    };
    let text = format!("{} {:?} {:?} {:?}", head.parts.status, head.parts.headers, head.framing, head.keep_alive);
    if !with_body || head.framing == Framing::UntilClose {
        buf.extend_from_slice(&data[fed..]);
        return Reading::Message { head: text, body: Vec::new(), trailers: Vec::new(), rest: buf.to_vec() };
    }
    read_body(text, head.framing, buf, data, fed, step)
}

/// Reads the body framed as `framing` from `buf` and the rest of `data`, `step` bytes at a time.
fn read_body(head: String, framing: Framing, mut buf: BytesMut, data: &[u8], mut fed: usize, step: usize) -> Reading {
    let mut body = Vec::new();
    let mut trailers = Vec::new();
    match framing {
        Framing::Empty | Framing::UntilClose => {}
        Framing::Length(n) => {
            let mut left = usize::try_from(n).unwrap_or(usize::MAX);
            while left > 0 {
                if buf.is_empty() {
                    if fed >= data.len() {
                        return Reading::Incomplete;
                    }
                    feed(&mut buf, data, &mut fed, step);
                }
                let take = left.min(buf.len());
                body.extend_from_slice(&buf.split_to(take));
                left -= take;
            }
        }
        Framing::Chunked => {
            let mut decoder = ChunkedDecoder::default();
            loop {
                match decoder.decode(&mut buf) {
                    Ok(Decoded::Data(d)) => body.extend_from_slice(&d),
                    Ok(Decoded::Trailers(t)) => {
                        trailers = t.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
                        break;
                    }
                    Ok(Decoded::End) => break,
                    Ok(Decoded::More) if fed >= data.len() => return Reading::Incomplete,
                    Ok(Decoded::More) => feed(&mut buf, data, &mut fed, step),
                    Err(e) => return Reading::Refused(e.to_string()),
                }
            }
        }
    }
    buf.extend_from_slice(&data[fed..]);
    Reading::Message { head, body, trailers, rest: buf.to_vec() }
}

fn feed(buf: &mut BytesMut, data: &[u8], fed: &mut usize, step: usize) {
    let next = (*fed + step).min(data.len());
    buf.extend_from_slice(&data[*fed..next]);
    *fed = next;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes as a fuzz corpus entry holds them: a split size, then the message.
    fn entry(step: u8, message: &[u8]) -> Vec<u8> {
        let mut data = vec![step];
        data.extend_from_slice(message);
        data
    }

    #[test]
    fn the_targets_accept_what_the_seed_corpora_hold() {
        let request = b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=\"y\"\r\nhello\r\n0\r\nx: 1\r\n\r\nGET / HTTP/1.1\r\n";
        for step in [0, 1, 6, 255] {
            request_head(&entry(step, request));
            request_message(&entry(step, request));
        }
        let response = b"HTTP/1.1 103 Early\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1";
        response_head(&entry(3, response));
        response_message(&entry(3, response));
        config(br#"{"version": 1, "listeners": [{"bind": "8800"}], "targets": [{"name": "a", "upstreams": [{"url": "http://localhost:3000"}]}]}"#);
        config(b"\xff");
        assert!(
            matches!(read_request(request, request.len(), true), Reading::Message { ref body, .. } if body == b"hello")
        );
    }
}
