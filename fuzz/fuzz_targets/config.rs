//! The config decoder on arbitrary bytes: no panic; what it accepts validates and survives a save and a reload unchanged.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| roundabout_engine::harness::fuzz::config(data));
