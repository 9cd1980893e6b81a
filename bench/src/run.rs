//! The driver: starts the upstreams and every proxy once, then runs each scenario round by round with the
//! subjects interleaved (direct, Roundabout, Roundabout --quiet, nginx, again…), so a slow moment of the machine
//! hits all of them alike; then measures streaming memory and prints the report.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::RunArgs;
use crate::interrupt::Interrupt;
use crate::lab::Lab;
use crate::measurement::Measurement;
use crate::pin::Pinning;
use crate::process::Running;
use crate::report::render;
use crate::results::{Results, ScenarioResults};
use crate::roundabout::{self, ServeOutput};
use crate::scenario::{self, Load, Scenario};
use crate::subject::{Role, Subject};
use crate::{h2load, machine, nginx, stream, targets, tls, tls_load, wrk, ws_load};

/// Warm-up length per subject before the first round.
const WARM_UP_SECS: u64 = 1;
/// How often a measurement disturbed by other processes is tried before it is kept as invalid.
const ATTEMPTS: u32 = 3;

/// Runs the benchmark and prints the report; `Err` only when the harness itself failed.
pub fn run(args: &RunArgs) -> Result<(), String> {
    let scenarios = scenario::select(&args.scenarios)?;
    if args.rounds == 0 || args.duration_secs == 0 {
        return Err("--rounds and --duration-secs must be at least 1".to_string());
    }
    let pinning = Pinning::detect();
    pinning.pin_self()?;
    let interrupt = Interrupt::watch()?;
    let roundabout_binary = roundabout::locate(args.roundabout.as_deref())?;
    let nginx_binary = nginx::binary()?;
    let quiet = roundabout::supports_quiet(&roundabout_binary);
    let https = scenario::any_tls(&scenarios);
    let mut results = Results {
        header: header(&pinning, &roundabout_binary, &nginx_binary, quiet, https),
        https,
        ..Results::default()
    };
    results.header.push(format!(
        "{} round(s) x {}s per subject and scenario, after a {WARM_UP_SECS}s warm-up per subject",
        args.rounds, args.duration_secs
    ));
    for line in &results.header {
        eprintln!("{line}");
    }
    let mut lab = Lab::start(&pinning, (&roundabout_binary, &nginx_binary), quiet, https)?;
    let idle_start = lab.rss_kib();
    for (role, port) in lab.subjects.iter().filter_map(|s| Some((s.role, s.tls_port?))) {
        let line = format!("TLS negotiated with {}: {}", role.label(), tls::negotiated(port));
        eprintln!("{line}");
        results.header.push(line);
    }
    for subject in &lab.subjects {
        interrupt.check()?;
        eprintln!("warm-up: {} ({WARM_UP_SECS}s)", subject.role.label());
        wrk::run(&pinning, &format!("http://127.0.0.1:{}/small", subject.port), 64, WARM_UP_SECS, None)?;
        if let (Some(port), Some(files)) = (subject.tls_port, &lab.tls) {
            eprintln!("warm-up over HTTPS: {} ({WARM_UP_SECS}s)", subject.role.label());
            wrk::run(&pinning, &https_url(port, "/small"), 64, WARM_UP_SECS, Some(&files.wrk_script))?;
        }
    }
    let idle_warm = lab.rss_kib();
    for scenario in &scenarios {
        results.scenarios.push(rounds(&mut lab, &pinning, &interrupt, scenario, args)?);
    }
    results.memory = lab.memory_rows(&idle_start, &idle_warm);
    if let Some(subject) = lab.subject(Role::Roundabout) {
        let pid = subject.process.as_ref().map_or(0, Running::pid);
        interrupt.check()?;
        eprintln!("streaming 64 MiB down and up through roundabout");
        results.streams.push(stream::download(subject.port, pid)?);
        results.streams.push(stream::upload(subject.port, pid)?);
    }
    let skipped = lab.log.skipped_lines() + lab.quiet_log.as_ref().map_or(0, ServeOutput::skipped_lines);
    results.log_lines = (lab.log.lines(), skipped);
    results.notes.push(format!(
        "nginx spilled {} upstream responses to temp files (its error log; proxy_buffering on is its default)",
        nginx::temp_file_spills(lab.dir())
    ));
    drop(lab);

    let text = render(&results);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(|e| format!("cannot print: {e}"))?;
    if let Some(path) = &args.json {
        let mut json = results.to_json();
        json["targets"] = targets::to_json(&results);
        let json = serde_json::to_string_pretty(&json).map_err(|e| format!("cannot encode: {e}"))?;
        std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Every round of one scenario, the subjects interleaved within each round.
fn rounds(
    lab: &mut Lab,
    pinning: &Pinning,
    interrupt: &Interrupt,
    scenario: &Scenario,
    args: &RunArgs,
) -> Result<ScenarioResults, String> {
    // The HTTPS scenarios leave out direct: the upstreams have no TLS.
    let mut runs: Vec<(usize, Role, Vec<Measurement>)> = (lab.subjects.iter().enumerate())
        .filter(|(_, s)| !scenario.load.tls() || s.tls_port.is_some())
        .map(|(i, s)| (i, s.role, Vec::new()))
        .collect();
    let tls_files = lab.tls.clone();
    for round in 1..=args.rounds {
        for (i, role, measurements) in &mut runs {
            interrupt.check()?;
            let wait = Duration::from_secs(args.wait_quiet_secs);
            let mut attempt = 1;
            let measured = loop {
                let measured = lab.measure(*i, wait, |subject| {
                    measure(pinning, scenario, subject, tls_files.as_ref(), args.duration_secs)
                })?;
                if !measured.is_disturbed() || attempt == ATTEMPTS {
                    break measured;
                }
                eprintln!("{} round {round}: {}: {}; measuring again", scenario.name, role.label(), brief(&measured));
                attempt += 1;
            };
            interrupt.check()?;
            eprintln!("{} round {round}/{}: {}: {}", scenario.name, args.rounds, role.label(), brief(&measured));
            measurements.push(measured);
        }
    }
    Ok(ScenarioResults { scenario: *scenario, runs: runs.into_iter().map(|(_, role, m)| (role, m)).collect() })
}

/// One measurement of one subject.
fn measure(
    pinning: &Pinning,
    scenario: &Scenario,
    subject: &Subject,
    tls: Option<&tls::Files>,
    secs: u64,
) -> Result<Measurement, String> {
    let port = subject.port;
    let tls = || subject.tls_port.zip(tls).ok_or_else(|| format!("{} has no TLS Listener", subject.role.label()));
    match scenario.load {
        Load::Http { path, connections } => {
            wrk::run(pinning, &format!("http://127.0.0.1:{port}{path}"), connections, secs, None)
        }
        Load::WebSocket { connections } => {
            ws_load::spawn(pinning, &format!("ws://127.0.0.1:{port}/ws"), connections, secs)
        }
        Load::Https { path, connections } => {
            let (port, files) = tls()?;
            wrk::run(pinning, &https_url(port, path), connections, secs, Some(&files.wrk_script))
        }
        Load::H2 { path, clients, streams } => {
            let (port, files) = tls()?;
            let connect_to = format!("127.0.0.1:{port}");
            h2load::run(pinning, &https_url(port, path), &connect_to, (clients, streams), secs, &files.h2load_log)
        }
        Load::Handshakes { path, connections } => {
            let (port, _) = tls()?;
            tls_load::spawn(pinning, &https_url(port, path), &format!("127.0.0.1:{port}"), connections, secs)
        }
    }
}

/// `https://bench.localhost:<port><path>`: the name is the SNI and Host; the load generators connect to 127.0.0.1.
fn https_url(port: u16, path: &str) -> String {
    format!("https://{}:{port}{path}", tls::NAME)
}

/// The lines above the tables: pinning, versions, and what exactly is compared.
fn header(pinning: &Pinning, roundabout: &Path, nginx: &Path, quiet: bool, https: bool) -> Vec<String> {
    let quiet_line = if quiet {
        "roundabout --quiet: no request log and no request events; judged against nginx (access_log off)"
    } else {
        "roundabout --quiet: not in this build; only the log-on variant is measured and judged"
    };
    let mut lines = vec![
        pinning.describe(),
        format!("{}; {}; {}", crate::roundabout::version(roundabout), nginx::version(nginx), wrk::version(pinning)),
        machine::describe(),
        machine::busy_before_start(),
        "upstreams: 3 ports served by one single-threaded roundabout-bench process; direct = the first upstream"
            .to_string(),
        "roundabout serve: round_robin over the 3 upstreams; log on = its stdout read and discarded by the driver"
            .to_string(),
        quiet_line.to_string(),
        nginx::SETUP.to_string(),
        "load: wrk -t1 (HTTP) and roundabout-bench ws-load (WebSocket), one thread each; subjects interleaved \
         per round; medians over rounds"
            .to_string(),
    ];
    if https {
        lines.extend([
            format!(
                "roundabout TLS: a second Listener with \"tls\": true in the same process (rustls, ALPN h2 and \
                 http/1.1), its leaf for {} minted from its CA in the run's XDG_DATA_HOME",
                tls::NAME
            ),
            nginx::TLS_SETUP.to_string(),
            format!(
                "HTTPS load ({}): SNI and Host {}, connecting to 127.0.0.1, no certificate verification; https: wrk -t1 \
                 with a Lua resolver; h2: h2load -t1 -c4 -m64 --connect-to, p50/p99 from its --log-file (request \
                 start to end of response; h2load prints only min/mean/max/sd); handshakes: roundabout-bench \
                 tls-load (rustls client, resumption off: a full handshake per request; latency from TCP connect to \
                 end of response)",
                h2load::version(),
                tls::NAME
            ),
        ]);
    }
    lines
}

/// A measurement in a few words for the progress lines.
fn brief(m: &Measurement) -> String {
    let problems = if m.is_valid() { String::new() } else { format!(" INVALID: {}", m.problems.join("; ")) };
    format!("{:.0} req/s, p50 {:.0}us, p99 {:.0}us{problems}", m.rps, m.p50_us, m.p99_us)
}
