//! A client's request head, whole and dribbled in pieces: same head, same verdict, nothing past the head consumed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roundabout_engine::harness::fuzz::request_head(data));
