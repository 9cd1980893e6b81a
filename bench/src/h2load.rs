//! HTTP/2 load with h2load (nghttp2-client), pinned to the load CPU. h2load prints requests/s and, for latency,
//! only min/max/mean/sd of "time for request"; the percentiles come from its per-request log (`--log-file`: start,
//! status, microseconds from the request's start to the end of its response), so p50 and p99 mean the same as
//! wrk's and compare across scenarios.

use std::path::Path;
use std::process::Stdio;

use crate::measurement::Measurement;
use crate::pin::Pinning;
use crate::quantile::nearest_rank;

/// Runs `h2load -t1 -c<clients> -m<streams> -D<secs> --connect-to=<connect_to> --log-file=<log> <url>` on the load
/// CPU; requests/s and errors from its output, p50 and p99 from the log.
pub fn run(
    pinning: &Pinning,
    url: &str,
    connect_to: &str,
    (clients, streams): (u32, u32),
    secs: u64,
    log: &Path,
) -> Result<Measurement, String> {
    let _ = std::fs::remove_file(log);
    let output = pinning
        .load_command("h2load")
        .args(["-t1", &format!("-c{clients}"), &format!("-m{streams}"), &format!("-D{secs}")])
        .arg(format!("--connect-to={connect_to}"))
        .arg(format!("--log-file={}", log.display()))
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run h2load (apt-get install nghttp2-client): {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("h2load against {url} failed ({}): {}{}", output.status, stdout.trim(), stderr.trim()));
    }
    let (rps, problems) = parse(&stdout).map_err(|e| format!("{e} in h2load's output against {url}:\n{stdout}"))?;
    let log_text = std::fs::read_to_string(log).map_err(|e| format!("cannot read {}: {e}", log.display()))?;
    let latencies = latencies_us(&log_text);
    if latencies.is_empty() && problems.is_empty() {
        return Err(format!("h2load logged no request in {}", log.display()));
    }
    Ok(Measurement {
        rps,
        p50_us: f64::from(nearest_rank(&latencies, 0.50)),
        p99_us: f64::from(nearest_rank(&latencies, 0.99)),
        problems,
    })
}

/// `h2load --version`, e.g. `h2load nghttp2/1.52.0`.
pub fn version() -> String {
    std::process::Command::new("h2load").arg("--version").output().ok().map_or_else(
        || "h2load: not found".to_string(),
        |o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or_default().trim().to_string(),
    )
}

/// Requests/s from `finished in 2.00s, 51390.00 req/s, 6.13MB/s`, and as problems: failed, errored or timed-out
/// requests (`requests: … 0 failed, 0 errored, 0 timeout`) and 4xx/5xx answers (`status codes: …`). Requests
/// still in flight when the time is up (started but not done) are not failures.
fn parse(output: &str) -> Result<(f64, Vec<String>), String> {
    let mut rps = None;
    let mut problems = Vec::new();
    for line in output.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("finished in ") {
            rps = rest.split(", ").find_map(|part| part.strip_suffix(" req/s")?.parse::<f64>().ok());
        } else {
            // Failed, errored or timed-out requests; 4xx and 5xx answers.
            let bad = match line.split_once(": ") {
                Some(("requests", counts)) => {
                    ["failed", "errored", "timeout"].iter().map(|w| count_of(counts, w)).sum()
                }
                Some(("status codes", codes)) => ["4xx", "5xx"].iter().map(|class| count_of(codes, class)).sum(),
                _ => 0,
            };
            if bad > 0 {
                problems.push(line.to_string());
            }
        }
    }
    rps.map(|rps| (rps, problems)).ok_or_else(|| "no `finished in …, N req/s` line".to_string())
}

/// The number before `what` in `102780 total, 0 failed, …`; 0 when absent.
fn count_of(list: &str, what: &str) -> u64 {
    list.split(", ").find_map(|item| item.strip_suffix(what)?.trim().parse().ok()).unwrap_or(0)
}

/// The third column of h2load's log (microseconds until the end of the response), ascending.
fn latencies_us(log: &str) -> Vec<u32> {
    let mut latencies: Vec<u32> = log.lines().filter_map(|l| l.split('\t').nth(2)?.trim().parse().ok()).collect();
    latencies.sort_unstable();
    latencies
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real output of h2load 1.52.0 (Debian 12) against Roundabout's HTTPS Listener: -c4 -m64 -D2.
    const OUTPUT: &str = "starting benchmark...
spawning thread #0: 4 total client(s). Timing-based test with 0s of warm-up time and 2s of main duration for measurements.
Warm-up started for thread #0.
Main benchmark duration is started for thread #0.
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: h2
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 2.01s, 51390.00 req/s, 6.13MB/s
requests: 102780 total, 103036 started, 102780 done, 102780 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 102780 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 12.25MB (12848024) total, 702.87KB (719740) headers (space savings 88.33%), 9.80MB (10278000) data
                     min         max         mean         sd        +/- sd
time for request:      217us       1.03s      4.52ms     30.51ms    99.43%
time for connect:     2.79ms      4.60ms      3.74ms       781us    50.00%
time to 1st byte:     7.83ms     28.17ms     21.54ms      9.26ms    75.00%
req/s           :    9124.62    16520.29    12827.38     4094.07   100.00%
";

    #[test]
    fn requests_per_second_and_no_problems() {
        let (rps, problems) = parse(OUTPUT).unwrap();
        assert!((rps - 51390.0).abs() < 1e-9);
        assert!(problems.is_empty());
    }

    #[test]
    fn failures_and_error_statuses_are_problems() {
        let bad = OUTPUT.replace("0 failed, 0 errored", "3 failed, 2 errored").replace("0 4xx, 0 5xx", "0 4xx, 7 5xx");
        let (_, problems) = parse(&bad).unwrap();
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("3 failed"));
        assert!(problems[1].contains("7 5xx"));
        assert!(parse("starting benchmark...\n").is_err());
    }

    #[test]
    fn the_log_gives_sorted_latencies() {
        let log = "1795972019714875\t200\t3130\n1795972019714875\t200\t81\n1795972019714876\t200\t8236\nbroken\n";
        assert_eq!(latencies_us(log), [81, 3130, 8236]);
    }
}
