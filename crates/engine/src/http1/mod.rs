//! HTTP/1.1 on the wire, both ways: request heads from clients, response heads from Upstreams, the fields that decide
//! framing, Host's grammar, chunked coding, and the heads Roundabout writes (RFC 9112).
//!
//! Pure functions over bytes: this folder imports nothing else of the crate, so the rules a proxy must get exactly
//! right sit in one place, are unit-tested byte by byte, and are what the fuzz targets exercise.

mod chunked;
mod fields;
mod framing;
mod host;
mod request;
mod response;
mod write;

pub(crate) use chunked::{ChunkError, ChunkedDecoder, Decoded};
pub(crate) use framing::{Framing, for_client, forbids_length};
pub(crate) use host::valid as valid_host;
pub(crate) use request::{MAX_REQUEST_HEAD, RequestError, RequestHead, parse_request};
pub(crate) use response::{ResponseError, ResponseHead, parse_response};
pub(crate) use write::{chunk_size_line, last_chunk, request_head, response_head};
