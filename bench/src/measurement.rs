//! One measurement of one subject in one scenario: throughput and latency, whichever load generator produced it.

use serde_json::{Value, json};

/// How a problem saying that other processes disturbed the measurement starts.
pub const DISTURBED: &str = "disturbed:";

/// Throughput and latency of one load run, plus anything that makes it untrustworthy.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Requests (or WebSocket round trips) per second.
    pub rps: f64,
    /// Median latency in microseconds.
    pub p50_us: f64,
    /// 99th percentile latency in microseconds.
    pub p99_us: f64,
    /// Socket errors, non-2xx answers, failed connections: a measurement with any is invalid.
    pub problems: Vec<String>,
}

impl Measurement {
    /// Whether the numbers can be trusted: no errors of any kind during the run.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// Whether other processes were busy during the run (see `others.rs`): worth measuring again.
    pub fn is_disturbed(&self) -> bool {
        self.problems.iter().any(|p| p.starts_with(DISTURBED))
    }

    /// A load run that could not be completed: counted as an invalid round, with the reason shown.
    pub fn failed(reason: String) -> Measurement {
        Measurement { rps: 0.0, p50_us: 0.0, p99_us: 0.0, problems: vec![reason] }
    }

    /// The measurement as JSON for `--json`.
    pub fn to_json(&self) -> Value {
        json!({ "rps": self.rps, "p50_us": self.p50_us, "p99_us": self.p99_us, "problems": self.problems })
    }

    /// Reads back what [`Measurement::to_json`] wrote (the `ws-load` child's output line).
    pub fn from_json(text: &str) -> Result<Measurement, String> {
        let value: Value = serde_json::from_str(text.trim()).map_err(|e| format!("not a measurement ({e}): {text}"))?;
        let number = |key: &str| value[key].as_f64().ok_or_else(|| format!("no {key} in {text}"));
        let problems = value["problems"].as_array().map_or_else(Vec::new, |list| {
            list.iter().map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string)).collect()
        });
        Ok(Measurement { rps: number("rps")?, p50_us: number("p50_us")?, p99_us: number("p99_us")?, problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips() {
        let m = Measurement { rps: 1234.5, p50_us: 51.0, p99_us: 230.0, problems: vec!["send failed".into()] };
        assert_eq!(Measurement::from_json(&m.to_json().to_string()), Ok(m));
        assert!(Measurement::from_json("{\"rps\": 1}").is_err());
    }
}
