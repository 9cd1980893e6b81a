//! The printed report: a table per scenario with ratios, the memory figures, and one PASS/FAIL line per target of
//! the issue (judged in targets.rs), so a reader sees at a glance where Roundabout stands against nginx.

use std::fmt::Write as _;

use crate::memory::mib;
use crate::results::{Results, ScenarioResults, ratio, summarize_unchecked};
use crate::subject::Role;
use crate::targets::verdicts;

/// The whole report as text.
pub fn render(results: &Results) -> String {
    let mut text = String::new();
    for line in &results.header {
        let _ = writeln!(text, "{line}");
    }
    for scenario in &results.scenarios {
        text.push('\n');
        scenario_table(&mut text, scenario, results.headline());
    }
    text.push('\n');
    memory_table(&mut text, results);
    text.push('\n');
    targets(&mut text, results);
    text
}

fn scenario_table(text: &mut String, s: &ScenarioResults, headline: Role) {
    let _ = writeln!(text, "== {}: {} ==", s.scenario.name, s.scenario.title);
    let _ = writeln!(
        text,
        "{:<29} {:>10} {:>21} {:>9} {:>9} {:>6} {:>7}",
        "subject", "req/s", "min..max", "p50", "p99", "valid", "problems"
    );
    for (role, runs) in &s.runs {
        let problems: Vec<&str> = runs.iter().flat_map(|m| m.problems.iter().map(String::as_str)).collect();
        let problems = problems.first().map_or(String::new(), |first| format!(" {first}"));
        let (summary, label) = match s.summary(*role) {
            Some(summary) => (Some(summary), role.label().to_string()),
            None => (summarize_unchecked(runs), format!("{} (INVALID)", role.label())),
        };
        match summary {
            Some(m) => {
                let range = format!("{}..{}", count(m.rps_range.0), count(m.rps_range.1));
                let _ = writeln!(
                    text,
                    "{label:<29} {:>10} {:>21} {:>9} {:>9} {:>6}{problems}",
                    count(m.rps),
                    range,
                    micros(m.p50_us),
                    micros(m.p99_us),
                    format!("{}/{}", m.valid, m.total),
                );
            }
            None => {
                let _ = writeln!(text, "{label:<29} {:>10} {:>50}{problems}", "no rounds", "");
            }
        }
    }
    let rps = |role| s.summary(role).map(|m| m.rps);
    let p99 = |role| s.summary(role).map(|m| m.p99_us);
    for role in [Role::RoundaboutQuiet, Role::Roundabout] {
        if !s.runs.iter().any(|(r, _)| *r == role) {
            continue;
        }
        let star = if role == headline { " (judged)" } else { "" };
        // The HTTPS scenarios have no direct run (the upstreams speak plain HTTP).
        let direct = if s.runs.iter().any(|(r, _)| *r == Role::Direct) {
            format!("{} direct's req/s, ", times(ratio(rps(role), rps(Role::Direct))))
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "{}{star}: {direct}{} nginx's req/s, p99 {} nginx's",
            role.label(),
            times(ratio(rps(role), rps(Role::Nginx))),
            times(ratio(p99(role), p99(Role::Nginx))),
        );
    }
    if let Some(cost) = s.log_cost() {
        let _ = writeln!(text, "request log cost: {:.1}% of throughput (log on vs --quiet)", cost * 100.0);
    }
}

fn memory_table(text: &mut String, results: &Results) {
    let _ = writeln!(text, "== memory (VmRSS; nginx: master + worker) ==");
    let _ = writeln!(
        text,
        "{:<21} {:>12} {:>14} {:>16} {:>14}",
        "subject", "idle start", "after warm-up", "peak under load", "idle at end"
    );
    for m in &results.memory {
        let _ = writeln!(
            text,
            "{:<21} {:>12} {:>14} {:>16} {:>14}",
            m.role.label(),
            mebibytes(m.idle_start_kib),
            mebibytes(m.idle_warm_kib),
            mebibytes(m.peak_load_kib),
            mebibytes(m.idle_end_kib)
        );
    }
    for s in &results.streams {
        #[allow(clippy::cast_precision_loss)] // display only
        let rate = s.bytes as f64 / s.secs / (1024.0 * 1024.0);
        let _ = writeln!(
            text,
            "roundabout, {} in {:.2}s ({rate:.0} MiB/s): RSS {} before, {} peak (+{}), {} after",
            s.what,
            s.secs,
            mebibytes(s.before_kib),
            mebibytes(s.peak_kib),
            mebibytes(s.growth_kib()),
            mebibytes(s.after_kib)
        );
    }
    let (read, skipped) = results.log_lines;
    let _ = writeln!(text, "request-log lines read from roundabout (log on): {read}, reported skipped: {skipped}");
    for note in &results.notes {
        let _ = writeln!(text, "{note}");
    }
}

fn targets(text: &mut String, results: &Results) {
    let _ = writeln!(text, "== targets (issue 5; Roundabout = {}) ==", results.headline().label());
    for verdict in verdicts(results) {
        let (word, value) = match verdict.judged {
            Some((true, value)) => ("PASS", value),
            Some((false, value)) => ("FAIL", value),
            None => ("n/a ", "not measured".to_string()),
        };
        let _ = writeln!(text, "{word}  {:<58} {value}", verdict.target);
    }
}

/// `123,456` style counts.
fn count(value: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // display of a non-negative rate
    let digits = (value.round() as u64).to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// Microseconds as `612us`, `1.23ms` or `1.20s`.
pub fn micros(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0}us")
    } else if us < 1e6 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

/// KiB as `12.3 MiB`.
pub fn mebibytes(kib: u64) -> String {
    format!("{:.1} MiB", mib(kib))
}

fn times(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}x"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::Measurement;
    use crate::results::{MemoryRow, ScenarioResults};

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(1_234_567.4), "1,234,567");
        assert_eq!(count(999.0), "999");
        assert_eq!(micros(612.4), "612us");
        assert_eq!(micros(1234.0), "1.23ms");
        assert_eq!(micros(2_000_000.0), "2.00s");
        assert_eq!(times(Some(0.5)), "0.50x");
    }

    #[test]
    fn a_report_judges_the_targets() {
        let m = |rps: f64, p99_us: f64| Measurement { rps, p50_us: 1.0, p99_us, problems: vec![] };
        let results = Results {
            header: vec!["proxy pinned to CPU 0".into()],
            scenarios: vec![ScenarioResults {
                scenario: crate::scenario::ALL[0],
                runs: vec![
                    (Role::Direct, vec![m(200.0, 50.0)]),
                    (Role::Roundabout, vec![m(50.0, 90.0)]),
                    (Role::Nginx, vec![m(100.0, 100.0)]),
                ],
            }],
            memory: vec![MemoryRow {
                role: Role::Roundabout,
                idle_start_kib: 8 * 1024,
                idle_warm_kib: 9 * 1024,
                peak_load_kib: 20 * 1024,
                idle_end_kib: 10 * 1024,
            }],
            ..Results::default()
        };
        let text = render(&results);
        assert!(text.starts_with("proxy pinned to CPU 0\n"));
        assert!(text.contains("roundabout (log on) (judged): 0.25x direct's req/s, 0.50x nginx's req/s, p99 0.90x"));
        assert!(text.contains("FAIL  req/s >= 1.0x nginx, small"));
        assert!(text.contains("PASS  p99 <= nginx's, small"));
        assert!(text.contains("PASS  idle RSS <= 15 MiB after start, roundabout (log on)"));
        assert!(text.contains("n/a   req/s >= 1.0x nginx, 64k"));
        assert!(text.contains("n/a   req/s >= 1.0x nginx, handshakes"));
        assert!(!text.contains("TLS warm-up"));
    }

    #[test]
    fn an_https_scenario_has_no_direct_ratio_and_tls_memory_is_judged() {
        let m = |rps: f64, p99_us: f64| Measurement { rps, p50_us: 1.0, p99_us, problems: vec![] };
        let h2 = crate::scenario::ALL.into_iter().find(|s| s.name == "h2").unwrap();
        let results = Results {
            scenarios: vec![ScenarioResults {
                scenario: h2,
                runs: vec![(Role::Roundabout, vec![m(300.0, 90.0)]), (Role::Nginx, vec![m(100.0, 100.0)])],
            }],
            memory: vec![MemoryRow {
                role: Role::Roundabout,
                idle_start_kib: 8 * 1024,
                idle_warm_kib: 16 * 1024,
                peak_load_kib: 20 * 1024,
                idle_end_kib: 10 * 1024,
            }],
            https: true,
            ..Results::default()
        };
        let text = render(&results);
        assert!(text.contains("roundabout (log on) (judged): 3.00x nginx's req/s, p99 0.90x nginx's\n"));
        assert!(text.contains("PASS  req/s >= 1.0x nginx, h2"));
        assert!(text.contains("PASS  p99 <= nginx's, h2"));
        assert!(text.contains("FAIL  idle RSS <= 15 MiB after TLS warm-up, roundabout (log on)"));
    }
}
