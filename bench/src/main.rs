//! `roundabout-bench`: measures Roundabout against a direct connection and nginx in one interleaved run, so the
//! ratios compare like with like on the same machine at the same moment. `bench/run` installs the tools, builds,
//! and runs `roundabout-bench run`; the other subcommands are the pieces the driver starts as child processes.

mod h2load;
mod http_load;
mod interrupt;
mod lab;
mod machine;
mod measurement;
mod memory;
mod nginx;
mod others;
mod pace;
mod pin;
mod ports;
mod process;
mod quantile;
mod report;
mod results;
mod roundabout;
mod run;
mod scenario;
mod stream;
mod subject;
mod targets;
mod tls;
mod tls_load;
mod upstream;
mod wrk;
mod ws_load;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Benchmarks Roundabout vs direct vs nginx: requests/s, p50/p99 latency, RSS, in one interleaved run.
#[derive(Debug, Parser)]
#[command(name = "roundabout-bench", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Options of `run`, the default subcommand.
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole benchmark and print the report (the default).
    Run(RunArgs),
    /// Serve the benchmark's upstream endpoints on each given loopback port, in one single-threaded process.
    Upstream {
        /// A port to listen on (127.0.0.1); repeat for several upstream servers.
        #[arg(long = "port", required = true)]
        ports: Vec<u16>,
    },
    /// WebSocket echo load: each connection sends a message and waits for its echo, repeatedly.
    WsLoad(ws_load::WsLoadArgs),
    /// Paced HTTP load: GETs at a fixed rate over keep-alive connections; prints one JSON line (bench/app uses it).
    HttpLoad(http_load::HttpLoadArgs),
    /// Handshake load: a new connection and full TLS handshake per GET; prints one JSON line.
    TlsLoad(tls_load::TlsLoadArgs),
}

/// What `run` measures and for how long.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Measurement rounds; each round runs every subject once per scenario, interleaved.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Length of one measurement in seconds.
    #[arg(long, default_value_t = 5)]
    pub duration_secs: u64,
    /// Run only these scenarios (repeatable): small, 64k, one-connection, websocket, https, h2, handshakes.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Before each measurement, wait up to this many seconds for other processes (a compile, say) to go quiet;
    /// a measurement they disturb anyway is tried again, up to 3 times, then kept as invalid. 0 does not wait.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub wait_quiet_secs: u64,
    /// The `roundabout` binary under test; default: `roundabout` next to this binary.
    #[arg(long, value_name = "PATH")]
    pub roundabout: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Upstream { ports }) => upstream::serve(&ports),
        Some(Command::WsLoad(args)) => ws_load::run(&args),
        Some(Command::HttpLoad(args)) => http_load::run(&args),
        Some(Command::TlsLoad(args)) => tls_load::run(&args),
        Some(Command::Run(args)) => run::run(&args),
        None => run::run(&cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("roundabout-bench: error: {message}");
            ExitCode::FAILURE
        }
    }
}
