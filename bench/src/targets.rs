//! The targets of issue 5, judged on one run's results: the same verdicts feed the printed report and `--json`.

use serde_json::{Value, json};

use crate::report::{mebibytes, micros};
use crate::results::{Results, ScenarioResults, ratio};
use crate::subject::Role;

/// Idle RSS target of the issue.
const IDLE_RSS_LIMIT_KIB: u64 = 15 * 1024;
/// "Memory flat while streaming": the peak may exceed the RSS before by at most this much.
const STREAM_GROWTH_LIMIT_KIB: u64 = 4 * 1024;
/// The request log may cost at most this fraction of throughput.
const LOG_COST_LIMIT: f64 = 0.05;

/// One target and how this run did against it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The target in words, e.g. `req/s >= 1.0x nginx, small`.
    pub target: String,
    /// Met or not, with the measured value; `None` when the run did not measure it (validly).
    pub judged: Option<(bool, String)>,
}

impl Verdict {
    fn new(target: String, judged: Option<(bool, String)>) -> Verdict {
        Verdict { target, judged }
    }

    /// The verdict as JSON for `--json`: `pass` is null when not measured.
    pub fn to_json(&self) -> Value {
        let (pass, value) = self.judged.clone().unzip();
        json!({ "target": self.target, "pass": pass, "value": value })
    }
}

/// Every target, judged on the headline Roundabout variant (see [`Results::headline`]).
pub fn verdicts(results: &Results) -> Vec<Verdict> {
    let headline = results.headline();
    let mut verdicts = Vec::new();
    for name in ["small", "64k", "https", "h2", "handshakes"] {
        let judged = results.scenario(name).and_then(|s| {
            ratio(s.summary(headline).map(|m| m.rps), s.summary(Role::Nginx).map(|m| m.rps))
                .map(|r| (r >= 1.0, format!("{r:.2}x")))
        });
        verdicts.push(Verdict::new(format!("req/s >= 1.0x nginx, {name}"), judged));
    }
    for s in &results.scenarios {
        let judged = s.summary(headline).zip(s.summary(Role::Nginx)).map(|(ours, nginx)| {
            (ours.p99_us <= nginx.p99_us, format!("{} vs nginx {}", micros(ours.p99_us), micros(nginx.p99_us)))
        });
        verdicts.push(Verdict::new(format!("p99 <= nginx's, {}", s.scenario.name), judged));
    }
    for m in results.memory.iter().filter(|m| matches!(m.role, Role::Roundabout | Role::RoundaboutQuiet)) {
        for (when, kib) in [("after start", m.idle_start_kib), ("after the load", m.idle_end_kib)] {
            let judged = (kib <= IDLE_RSS_LIMIT_KIB, mebibytes(kib));
            verdicts.push(Verdict::new(format!("idle RSS <= 15 MiB {when}, {}", m.role.label()), Some(judged)));
        }
        if results.https {
            let judged = (m.idle_warm_kib <= IDLE_RSS_LIMIT_KIB, mebibytes(m.idle_warm_kib));
            let target = format!("idle RSS <= 15 MiB after TLS warm-up, {}", m.role.label());
            verdicts.push(Verdict::new(target, Some(judged)));
        }
    }
    for s in &results.streams {
        let judged = (s.growth_kib() < STREAM_GROWTH_LIMIT_KIB, format!("+{}", mebibytes(s.growth_kib())));
        verdicts.push(Verdict::new(format!("memory flat (< +4 MiB), {}", s.what), Some(judged)));
    }
    for name in ["small", "64k"] {
        let judged = results
            .scenario(name)
            .and_then(ScenarioResults::log_cost)
            .map(|cost| (cost <= LOG_COST_LIMIT, format!("{:.1}%", cost * 100.0)));
        verdicts.push(Verdict::new(format!("request log costs <= 5% req/s, {name}"), judged));
    }
    verdicts
}

/// All verdicts as a JSON array.
pub fn to_json(results: &Results) -> Value {
    Value::Array(verdicts(results).iter().map(Verdict::to_json).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmeasured_targets_are_null_in_json() {
        let all = to_json(&Results::default());
        assert_eq!(all[0], json!({ "target": "req/s >= 1.0x nginx, small", "pass": null, "value": null }));
        let verdict = Verdict::new("x".into(), Some((true, "1.2x".into())));
        assert_eq!(verdict.to_json(), json!({ "target": "x", "pass": true, "value": "1.2x" }));
    }
}
