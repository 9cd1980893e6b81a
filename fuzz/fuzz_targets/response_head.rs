//! An Upstream's response head, for a GET and for a HEAD, whole and in pieces: same head, framing and verdict.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roundabout_engine::harness::fuzz::response_head(data));
