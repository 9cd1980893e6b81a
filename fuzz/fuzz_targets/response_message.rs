//! An Upstream's response with its body (length or chunked), interim 1xx heads skipped, whole and in pieces: same reading.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roundabout_engine::harness::fuzz::response_message(data));
