//! HTTP load with wrk (pinned to the load CPU) and the parsing of its `--latency` report.

use std::path::Path;
use std::process::Stdio;

use crate::measurement::Measurement;
use crate::pin::Pinning;

/// Runs `wrk -t1 -c<connections> -d<secs>s --latency [-s <script>] <url>` on the load CPU and parses what it
/// prints. wrk speaks TLS for an `https` URL (Debian's links OpenSSL) and verifies no certificate
/// (`SSL_VERIFY_NONE`).
pub fn run(
    pinning: &Pinning,
    url: &str,
    connections: u32,
    secs: u64,
    script: Option<&Path>,
) -> Result<Measurement, String> {
    let mut command = pinning.load_command("wrk");
    command.args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s"), "--latency"]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(url).stdin(Stdio::null()).output().map_err(|e| format!("cannot run wrk: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("wrk against {url} failed ({}): {}{}", output.status, stdout.trim(), stderr.trim()));
    }
    parse(&stdout).map_err(|e| format!("{e} in wrk's output against {url}:\n{stdout}"))
}

/// wrk's version line, e.g. `wrk debian/4.1.0-3+b2 [epoll]`.
pub fn version(pinning: &Pinning) -> String {
    // `wrk -v` prints its version and usage and exits 1.
    let output = pinning.load_command("wrk").arg("-v").output();
    output.ok().and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string)).map_or_else(
        || "wrk: not found".to_string(),
        |line| line.split(" Copyright").next().unwrap_or(&line).trim().to_string(),
    )
}

/// Parses `Requests/sec:`, the 50% and 99% lines of the latency distribution, and any error lines.
pub fn parse(output: &str) -> Result<Measurement, String> {
    let mut rps = None;
    let (mut p50, mut p99) = (None, None);
    let mut problems = Vec::new();
    for line in output.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Requests/sec:") {
            rps = value.trim().parse::<f64>().ok();
        } else if let Some(value) = line.strip_prefix("50%") {
            p50 = duration_us(value.trim());
        } else if let Some(value) = line.strip_prefix("99%") {
            p99 = duration_us(value.trim());
        } else if line.starts_with("Socket errors:") || line.starts_with("Non-2xx or 3xx responses:") {
            problems.push(line.to_string());
        }
    }
    match (rps, p50, p99) {
        (Some(rps), Some(p50_us), Some(p99_us)) => Ok(Measurement { rps, p50_us, p99_us, problems }),
        (None, ..) => Err("no Requests/sec line".to_string()),
        _ => Err("no latency distribution (was --latency given?)".to_string()),
    }
}

/// `610.47us`, `1.20ms`, `2.00s`, `1.50m` in microseconds.
fn duration_us(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real output of wrk 4.1.0 (Debian 12) against a slow server.
    const MILLISECONDS: &str = "Running 1s test @ http://127.0.0.1:18777/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.76ms    3.47ms  21.67ms   73.37%
    Req/Sec   369.50     38.18   450.00     80.00%
  Latency Distribution
     50%   10.74ms
     75%   12.99ms
     90%   14.98ms
     99%   18.25ms
  368 requests in 1.00s, 2.15MB read
Requests/sec:    367.68
Transfer/sec:      2.15MB
";

    /// Real output of wrk 4.1.0 against a server answering 404.
    const NON_2XX: &str = "Running 1s test @ http://127.0.0.1:18777/nonexistent
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.91ms    1.06ms  13.61ms   90.95%
    Req/Sec     2.12k   204.94     2.33k    80.00%
  Latency Distribution
     50%    1.72ms
     75%    2.10ms
     90%    2.69ms
     99%    6.39ms
  2113 requests in 1.00s, 1.05MB read
  Non-2xx or 3xx responses: 2113
Requests/sec:   2112.22
Transfer/sec:      1.05MB
";

    /// Real output of wrk 4.1.0 against the bench upstream, killed halfway: microseconds and socket errors.
    const MICROSECONDS_WITH_ERRORS: &str = "Running 2s test @ http://127.0.0.1:18901/small
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   658.55us  505.03us   5.75ms   72.82%
    Req/Sec    79.68k    21.77k  111.46k    60.00%
  Latency Distribution
     50%  408.00us
     75%    1.27ms
     90%    1.36ms
     99%    1.74ms
  79033 requests in 2.00s, 13.34MB read
  Socket errors: connect 0, read 128, write 51518, timeout 0
Requests/sec:  39440.69
Transfer/sec:      6.66MB
";

    #[test]
    fn milliseconds_parse() {
        let m = parse(MILLISECONDS).unwrap();
        assert!((m.rps - 367.68).abs() < 1e-9);
        assert!((m.p50_us - 10_740.0).abs() < 1e-6);
        assert!((m.p99_us - 18_250.0).abs() < 1e-6);
        assert!(m.is_valid());
    }

    #[test]
    fn error_lines_make_a_measurement_invalid() {
        let m = parse(NON_2XX).unwrap();
        assert_eq!(m.problems, ["Non-2xx or 3xx responses: 2113"]);
        let m = parse(MICROSECONDS_WITH_ERRORS).unwrap();
        assert!((m.p50_us - 408.0).abs() < 1e-6);
        assert!((m.p99_us - 1740.0).abs() < 1e-6);
        assert_eq!(m.problems, ["Socket errors: connect 0, read 128, write 51518, timeout 0"]);
        assert!(!m.is_valid());
    }

    #[test]
    fn units_and_missing_lines() {
        assert_eq!(duration_us("2.00s"), Some(2e6));
        assert_eq!(duration_us("1.50m"), Some(90e6));
        assert_eq!(duration_us("12"), None);
        assert!(parse("Running 1s test\n").is_err());
        assert!(parse("Requests/sec: 1.0\n").is_err());
    }
}
