//! `roundabout-bench`: the pieces of a benchmark of Roundabout against a direct connection and nginx: small, fast
//! upstream servers and a WebSocket echo load generator.

mod measurement;
mod pace;
mod pin;
mod upstream;
mod ws_load;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The upstreams and load generators of the Roundabout benchmark.
#[derive(Debug, Parser)]
#[command(name = "roundabout-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the benchmark's upstream endpoints on each given loopback port, in one single-threaded process.
    Upstream {
        /// A port to listen on (127.0.0.1); repeat for several upstream servers.
        #[arg(long = "port", required = true)]
        ports: Vec<u16>,
    },
    /// WebSocket echo load: each connection sends a message and waits for its echo, repeatedly.
    WsLoad(ws_load::WsLoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Upstream { ports } => upstream::serve(&ports),
        Command::WsLoad(args) => ws_load::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("roundabout-bench: error: {message}");
            ExitCode::FAILURE
        }
    }
}
