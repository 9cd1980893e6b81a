//! A client's request with its body (Content-Length or chunked) and what follows, whole and in pieces: same reading.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roundabout_engine::harness::fuzz::request_message(data));
