//! Everything one run measured, and the arithmetic on it: medians over rounds and ratios between subjects.

use serde_json::{Value, json};

use crate::measurement::Measurement;
use crate::scenario::Scenario;
use crate::stream::StreamResult;
use crate::subject::Role;

/// The whole run.
#[derive(Debug, Default)]
pub struct Results {
    /// Pinning, versions and setup lines printed above the tables.
    pub header: Vec<String>,
    /// Per scenario, every subject's measurements over the rounds.
    pub scenarios: Vec<ScenarioResults>,
    /// RSS of each proxy at the points of the run.
    pub memory: Vec<MemoryRow>,
    /// The 64 MiB streaming measurements through Roundabout.
    pub streams: Vec<StreamResult>,
    /// Request-log lines the driver read from Roundabout, and lines Roundabout said it skipped.
    pub log_lines: (u64, u64),
    /// Observations that explain numbers, printed before the targets.
    pub notes: Vec<String>,
    /// Whether the proxies had TLS Listeners (and the warm-up went over HTTPS too).
    pub https: bool,
}

/// One scenario's measurements.
#[derive(Debug)]
pub struct ScenarioResults {
    /// Which scenario.
    pub scenario: Scenario,
    /// Each subject's measurements, one per round, in subject order.
    pub runs: Vec<(Role, Vec<Measurement>)>,
}

/// A proxy's resident memory at the points of the run, in KiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryRow {
    /// Which proxy.
    pub role: Role,
    /// Right after it started accepting.
    pub idle_start_kib: u64,
    /// After the warm-up, before the rounds.
    pub idle_warm_kib: u64,
    /// The highest value sampled during any measurement.
    pub peak_load_kib: u64,
    /// After all rounds (and the streaming measurements, for Roundabout).
    pub idle_end_kib: u64,
}

/// The medians of one subject in one scenario, over its valid rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Median requests per second.
    pub rps: f64,
    /// Lowest and highest requests per second, to show the noise between rounds.
    pub rps_range: (f64, f64),
    /// Median of the per-round medians.
    pub p50_us: f64,
    /// Median of the per-round 99th percentiles.
    pub p99_us: f64,
    /// Rounds without errors.
    pub valid: usize,
    /// Rounds run.
    pub total: usize,
}

/// The median; the mean of the middle two for an even count; `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(f64::midpoint(sorted[n / 2 - 1], sorted[n / 2])),
    }
}

/// `a / b` when both exist and `b` is not zero.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

/// Medians over the valid measurements; `None` when no round was valid.
pub fn summarize(measurements: &[Measurement]) -> Option<Summary> {
    summarize_rounds(measurements, &measurements.iter().filter(|m| m.is_valid()).collect::<Vec<_>>())
}

/// Medians over every round, valid or not: shown (marked) when no round was valid, never judged.
pub fn summarize_unchecked(measurements: &[Measurement]) -> Option<Summary> {
    summarize_rounds(measurements, &measurements.iter().collect::<Vec<_>>())
}

fn summarize_rounds(measurements: &[Measurement], valid: &[&Measurement]) -> Option<Summary> {
    let pick = |f: fn(&Measurement) -> f64| valid.iter().map(|m| f(m)).collect::<Vec<f64>>();
    let rps = pick(|m| m.rps);
    let low = rps.iter().copied().reduce(f64::min)?;
    let high = rps.iter().copied().reduce(f64::max)?;
    Some(Summary {
        rps: median(&rps)?,
        rps_range: (low, high),
        p50_us: median(&pick(|m| m.p50_us))?,
        p99_us: median(&pick(|m| m.p99_us))?,
        valid: measurements.iter().filter(|m| m.is_valid()).count(),
        total: measurements.len(),
    })
}

impl ScenarioResults {
    /// The summary of one subject, if it ran and had a valid round.
    pub fn summary(&self, role: Role) -> Option<Summary> {
        self.runs.iter().find(|(r, _)| *r == role).and_then(|(_, m)| summarize(m))
    }

    /// Throughput lost to the request log: 1 - (log on / --quiet), as a fraction.
    pub fn log_cost(&self) -> Option<f64> {
        let on = self.summary(Role::Roundabout).map(|s| s.rps);
        let off = self.summary(Role::RoundaboutQuiet).map(|s| s.rps);
        ratio(on, off).map(|r| 1.0 - r)
    }
}

impl Results {
    /// The Roundabout variant the targets judge: `--quiet` when it was measured (nginx logs nothing either).
    pub fn headline(&self) -> Role {
        let quiet_ran = self.scenarios.iter().any(|s| s.runs.iter().any(|(r, _)| *r == Role::RoundaboutQuiet));
        if quiet_ran { Role::RoundaboutQuiet } else { Role::Roundabout }
    }

    /// One scenario's results by name.
    pub fn scenario(&self, name: &str) -> Option<&ScenarioResults> {
        self.scenarios.iter().find(|s| s.scenario.name == name)
    }

    /// Everything as JSON for `--json`: raw rounds, medians and ratios.
    pub fn to_json(&self) -> Value {
        let headline = self.headline();
        let scenarios: Vec<Value> = self
            .scenarios
            .iter()
            .map(|s| {
                let subjects: serde_json::Map<String, Value> = s
                    .runs
                    .iter()
                    .map(|(role, runs)| {
                        let summary = summarize(runs).map(|m| {
                            json!({ "rps": m.rps, "p50_us": m.p50_us, "p99_us": m.p99_us, "valid_rounds": m.valid })
                        });
                        let rounds: Vec<Value> = runs.iter().map(Measurement::to_json).collect();
                        (role.key().to_string(), json!({ "median": summary, "rounds": rounds }))
                    })
                    .collect();
                let rps = |role| s.summary(role).map(|m| m.rps);
                json!({
                    "name": s.scenario.name,
                    "title": s.scenario.title,
                    "subjects": subjects,
                    "roundabout_over_direct": ratio(rps(headline), rps(Role::Direct)),
                    "roundabout_over_nginx": ratio(rps(headline), rps(Role::Nginx)),
                    "log_cost": s.log_cost(),
                })
            })
            .collect();
        let memory: Vec<Value> = self
            .memory
            .iter()
            .map(|m| {
                json!({ "subject": m.role.key(), "idle_start_kib": m.idle_start_kib, "idle_warm_kib": m.idle_warm_kib,
                        "peak_load_kib": m.peak_load_kib, "idle_end_kib": m.idle_end_kib })
            })
            .collect();
        json!({
            "header": self.header,
            "headline": headline.key(),
            "scenarios": scenarios,
            "memory": memory,
            "streaming": self.streams.iter().map(StreamResult::to_json).collect::<Vec<_>>(),
            "log_lines": { "read": self.log_lines.0, "skipped": self.log_lines.1 },
            "notes": self.notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rps: f64, p99_us: f64, problems: &[&str]) -> Measurement {
        Measurement { rps, p50_us: p99_us / 2.0, p99_us, problems: problems.iter().map(ToString::to_string).collect() }
    }

    #[test]
    fn medians_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn ratios_need_both_sides() {
        assert_eq!(ratio(Some(50.0), Some(100.0)), Some(0.5));
        assert_eq!(ratio(Some(50.0), None), None);
        assert_eq!(ratio(Some(50.0), Some(0.0)), None);
    }

    #[test]
    fn invalid_rounds_are_left_out_of_the_medians() {
        let s =
            summarize(&[m(100.0, 10.0, &[]), m(900.0, 1.0, &["Socket errors: read 3"]), m(300.0, 30.0, &[])]).unwrap();
        assert_eq!((s.rps, s.p99_us, s.valid, s.total), (200.0, 20.0, 2, 3));
        assert_eq!(s.rps_range, (100.0, 300.0));
        assert_eq!(summarize(&[m(1.0, 1.0, &["x"])]), None);
    }

    #[test]
    fn log_cost_compares_log_on_with_quiet() {
        let scenario = crate::scenario::ALL[0];
        let results = ScenarioResults {
            scenario,
            runs: vec![(Role::Roundabout, vec![m(95.0, 1.0, &[])]), (Role::RoundaboutQuiet, vec![m(100.0, 1.0, &[])])],
        };
        assert!((results.log_cost().unwrap() - 0.05).abs() < 1e-12);
        let all = Results { scenarios: vec![results], ..Results::default() };
        assert_eq!(all.headline(), Role::RoundaboutQuiet);
        assert_eq!(Results::default().headline(), Role::Roundabout);
    }
}
