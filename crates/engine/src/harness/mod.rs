//! Entry points for what measures and attacks the engine from outside its public API: the criterion
//! micro-benchmarks in `benches/` ([`bench`]) and the fuzz targets in `fuzz/` (`fuzz`, with the `fuzzing`
//! feature). Not part of the engine's API; hidden from its documentation.

pub mod bench;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
