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

/// What reading produced, compared across splits: the messages read, then how it ended.
type Reading = (Vec<Message>, End);

/// One message: its head (every field the proxy acts on, as text), its body and its trailers.
#[derive(Debug, PartialEq, Eq)]
struct Message {
    head: String,
    body: Vec<u8>,
    trailers: Vec<(String, Vec<u8>)>,
}

/// How reading ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Every byte was used.
    Clean,
    /// The bytes ended inside a message.
    Incomplete,
    /// A head or body was refused, with the reason.
    Refused(String),
    /// A body runs until the connection closes: the rest is its.
    UntilClose(Vec<u8>),
    /// Reading stopped after this many messages; the bytes left.
    Stopped(Vec<u8>),
}

/// At most this many pipelined messages are read from one input.
const MAX_MESSAGES: usize = 16;

/// The bytes of an input, fed as a reader gets them: in pieces whose sizes alternate between two values taken from
/// the first two bytes (1 to 256 each).
struct Feed<'a> {
    data: &'a [u8],
    fed: usize,
    sizes: [usize; 2],
    turn: usize,
}

impl<'a> Feed<'a> {
    /// The feed of an input in pieces chosen by its first two bytes.
    fn split(input: &'a [u8]) -> Self {
        let size = |i: usize| input.get(i).map_or(1, |b| usize::from(*b) + 1);
        Feed { data: input.get(2..).unwrap_or_default(), fed: 0, sizes: [size(0), size(1)], turn: 0 }
    }

    /// The same bytes in one piece.
    fn whole(input: &'a [u8]) -> Self {
        let data = input.get(2..).unwrap_or_default();
        Feed { data, fed: 0, sizes: [data.len().max(1); 2], turn: 0 }
    }

    /// Moves the next piece into `buf`; false when there is none.
    fn more(&mut self, buf: &mut BytesMut) -> bool {
        if self.fed >= self.data.len() {
            return false;
        }
        let next = (self.fed + self.sizes[self.turn % 2]).min(self.data.len());
        buf.extend_from_slice(&self.data[self.fed..next]);
        self.fed = next;
        self.turn += 1;
        true
    }

    /// Whatever is still unread, after `buf`.
    fn rest(&self, buf: &BytesMut) -> Vec<u8> {
        let mut rest = buf.to_vec();
        rest.extend_from_slice(&self.data[self.fed..]);
        rest
    }
}

/// Request heads: read whole and read in pieces must agree, and a head consumes nothing past itself.
pub fn request_head(data: &[u8]) {
    assert_eq!(read_requests(Feed::whole(data), false), read_requests(Feed::split(data), false), "request heads");
}

/// Request messages (head, then a body by Content-Length or chunks, then the next): read whole and in pieces must
/// agree.
pub fn request_message(data: &[u8]) {
    assert_eq!(read_requests(Feed::whole(data), true), read_requests(Feed::split(data), true), "requests");
}

/// Response heads for a GET and for a HEAD: read whole and in pieces must agree.
pub fn response_head(data: &[u8]) {
    for method in [Method::GET, Method::HEAD] {
        let whole = read_responses(Feed::whole(data), &method, false);
        assert_eq!(whole, read_responses(Feed::split(data), &method, false), "{method} response heads");
    }
}

/// Response messages (interim answers, a head, then its body by length or chunks, then the next): read whole and in
/// pieces must agree.
pub fn response_message(data: &[u8]) {
    let whole = read_responses(Feed::whole(data), &Method::GET, true);
    assert_eq!(whole, read_responses(Feed::split(data), &Method::GET, true), "responses");
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

fn read_requests(mut feed: Feed<'_>, with_body: bool) -> Reading {
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    let end = loop {
        if messages.len() == MAX_MESSAGES {
            break End::Stopped(feed.rest(&buf));
        }
        if buf.is_empty() && !feed.more(&mut buf) {
            break End::Clean;
        }
        let head = match http1::parse_request(&mut buf) {
            Ok(Some(head)) => head,
            Ok(None) if feed.more(&mut buf) => continue,
            Ok(None) => break End::Incomplete,
            Err(e) => break End::Refused(e.to_string()),
        };
        let parts = &head.parts;
        let text = format!(
            "{} {} {:?} {:?} body {:?} keep-alive {} expects 100 {}",
            parts.method, parts.uri, parts.version, parts.headers, head.body, head.keep_alive, head.expects_continue
        );
        let framing = if with_body { head.body } else { Framing::Empty };
        match read_body(framing, &mut buf, &mut feed) {
            Ok((body, trailers)) => messages.push(Message { head: text, body, trailers }),
            Err(end) => break end,
        }
    };
    (messages, end)
}

fn read_responses(mut feed: Feed<'_>, method: &Method, with_body: bool) -> Reading {
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    let end = loop {
        if messages.len() == MAX_MESSAGES {
            break End::Stopped(feed.rest(&buf));
        }
        if buf.is_empty() && !feed.more(&mut buf) {
            break End::Clean;
        }
        let head = match http1::parse_response(&mut buf, method) {
            Ok(Some(head)) => head,
            Ok(None) if feed.more(&mut buf) => continue,
            Ok(None) => break End::Incomplete,
            Err(e) => break End::Refused(e.to_string()),
        };
        let parts = &head.parts;
        let text = format!(
            "{} {:?} {:?} {:?} keep-alive {}",
            parts.status, parts.version, parts.headers, head.framing, head.keep_alive
        );
        if with_body && head.framing == Framing::UntilClose {
            messages.push(Message { head: text, body: Vec::new(), trailers: Vec::new() });
            break End::UntilClose(feed.rest(&buf));
        }
        let framing = if with_body { head.framing } else { Framing::Empty };
        match read_body(framing, &mut buf, &mut feed) {
            Ok((body, trailers)) => messages.push(Message { head: text, body, trailers }),
            Err(end) => break end,
        }
    };
    (messages, end)
}

/// Reads a body framed as `framing` from `buf` and the rest of the feed: its bytes and its trailers.
fn read_body(framing: Framing, buf: &mut BytesMut, feed: &mut Feed<'_>) -> Result<Body, End> {
    let mut body = Vec::new();
    match framing {
        Framing::Empty | Framing::UntilClose => Ok((body, Vec::new())),
        Framing::Length(n) => {
            let mut left = usize::try_from(n).unwrap_or(usize::MAX);
            while left > 0 {
                if buf.is_empty() && !feed.more(buf) {
                    return Err(End::Incomplete);
                }
                let take = left.min(buf.len());
                body.extend_from_slice(&buf.split_to(take));
                left -= take;
            }
            Ok((body, Vec::new()))
        }
        Framing::Chunked => {
            let mut decoder = ChunkedDecoder::default();
            loop {
                match decoder.decode(buf) {
                    Ok(Decoded::Data(d)) => body.extend_from_slice(&d),
                    Ok(Decoded::Trailers(t)) => {
                        let trailers = t.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
                        return Ok((body, trailers));
                    }
                    Ok(Decoded::End) => return Ok((body, Vec::new())),
                    Ok(Decoded::More) if feed.more(buf) => {}
                    Ok(Decoded::More) => return Err(End::Incomplete),
                    Err(e) => return Err(End::Refused(e.to_string())),
                }
            }
        }
    }
}

/// A body and its trailers.
type Body = (Vec<u8>, Vec<(String, Vec<u8>)>);

#[cfg(test)]
mod tests {
    use super::*;

    /// An input: two piece sizes (as their byte values, 0 meaning 1), then the message.
    fn entry(sizes: [u8; 2], message: &[u8]) -> Vec<u8> {
        let mut data = sizes.to_vec();
        data.extend_from_slice(message);
        data
    }

    #[test]
    fn the_targets_accept_what_the_seed_corpora_hold() {
        let requests =
            b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=\"y\"\r\nhello\r\n0\r\nx: 1\r\n\r\n\
                         GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for sizes in [[0, 0], [1, 6], [255, 3]] {
            request_head(&entry(sizes, requests));
            request_message(&entry(sizes, requests));
        }
        let responses =
            b"HTTP/1.1 103 Early\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 204 No\r\n\r\n";
        response_head(&entry([3, 0], responses));
        response_message(&entry([3, 0], responses));
        config(br#"{"version": 1, "listeners": [{"bind": "8800"}], "targets": [{"name": "a", "upstreams": [{"url": "http://localhost:3000"}]}]}"#);
        config(b"\xff");
        let (read, end) = read_requests(Feed::split(&entry([4, 9], requests)), true);
        assert_eq!((read.len(), end), (2, End::Clean));
        assert_eq!(read[0].body, b"hello");
        let (read, _) = read_responses(Feed::whole(&entry([0, 0], responses)), &Method::GET, true);
        assert_eq!(read.len(), 3, "interim answers are messages too");
    }
}
