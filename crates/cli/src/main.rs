//! `roundabout`: run the proxy from a terminal with the same config file the desktop app edits.
//! This binary only parses arguments and prints; the engine does the work.

mod check;
mod control;
mod demo;
mod discover;
mod doctor;
mod print;
mod run;
mod serve;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use roundabout_engine::{ConfigStore, LocalCa};

use crate::print::Printer;

/// Roundabout routes *.localhost names to your local dev servers, round-robin over their upstreams.
#[derive(Debug, Parser)]
#[command(name = "roundabout", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the proxy from the config file and apply edits to it live.
    Serve {
        /// Config file to use instead of the one in your config directory.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// Print one JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Leave out the line per request; Listener, health and config changes are still printed.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Validate the config file and list every problem with where it is and how to fix it.
    Check {
        /// Config file to check instead of the one in your config directory.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
    /// Run the built-in demo (three upstreams behind http://demo.localhost:8800) without touching any config.
    Demo {
        /// Where to listen; port 0 picks a free port.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8800")]
        bind: String,
        /// Print one JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Leave out the line per request; Listener and health changes are still printed.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check what stands between you and your URLs working: Listeners running, ports 80 and 443, the local CA and
    /// where it is trusted, *.localhost resolving, each Upstream answering; every problem with its fix.
    Doctor {
        /// Config file to check instead of the one in your config directory.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
    /// Show the running Roundabout's Listeners, Targets and Upstreams with health and request counts (or, when
    /// nothing runs, what the config file holds).
    Status {
        /// The config whose instance to ask, instead of your default one.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the running Roundabout's recent changes; with --follow, then every request and change as it happens.
    Log {
        /// The config whose instance to ask, instead of your default one.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// Keep printing until Ctrl-C.
        #[arg(long, short)]
        follow: bool,
        /// Only what concerns this Target.
        #[arg(long, value_name = "TARGET")]
        target: Option<String>,
        /// Print one JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Add, remove, enable or disable an Upstream of a Target: applied by the running Roundabout and saved, or
    /// saved to the config file when nothing runs. Adding to a Target that does not exist creates it as
    /// TARGET.localhost.
    Upstream {
        /// What to do.
        action: UpstreamVerb,
        /// The Target's name.
        target: String,
        /// The Upstream's URL, e.g. http://localhost:3000.
        url: String,
        /// The config to change, instead of your default one.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
    /// Run a dev server on a free port and make it an Upstream of NAME.localhost while it runs: PORT and
    /// HOST=127.0.0.1 are set, and the port flags of Vite, Next, Astro, Nuxt, SvelteKit, Angular, webpack-dev-server,
    /// Rails, Django, Flask and Hugo are added. Needs a running Roundabout (the app, or roundabout serve).
    Run {
        /// The Target to join (created as NAME.localhost when the config has none); defaults to package.json's name
        /// or the directory's.
        #[arg(long, short)]
        name: Option<String>,
        /// The config whose instance to join, instead of your default one.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// The dev server's command and its arguments, after `--`.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Print where the config file lives.
    ConfigPath,
    /// Print the path of Roundabout's local CA certificate (PEM), creating the CA on first use. It signs
    /// certificates for local names only (localhost, *.localhost, loopback addresses); give it to tools that do not
    /// read the system's trust store, e.g. `NODE_EXTRA_CA_CERTS="$(roundabout ca)"`.
    Ca,
    /// Install the local CA where browsers and tools look (the system store, Chromium's and every Firefox profile's
    /// NSS database; the login keychain on macOS; the user's Root store on Windows), saying what it did in each.
    /// Only the system store's step asks for privilege (sudo).
    Trust {
        /// Only show where the CA is and is not trusted.
        #[arg(long, conflicts_with = "remove")]
        status: bool,
        /// Remove the CA from every store.
        #[arg(long)]
        remove: bool,
        /// Act on this NSS database only (repeatable) instead of the ones found.
        #[arg(long = "nss-db", value_name = "DIR")]
        nss_db: Vec<PathBuf>,
        /// Act on this anchors directory only, written without privilege or bundle update.
        #[arg(long, value_name = "DIR")]
        anchors: Option<PathBuf>,
    },
    /// List the dev servers listening on loopback (127.0.0.1, ::1 or every address) that no Target uses yet: port,
    /// process, command and directory, and the command that adds each one.
    Discover {
        /// The config whose Targets count as in use, instead of your default one.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// Print one JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the config file (for editor validation and completion).
    Schema,
}

/// What `roundabout upstream` does.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum UpstreamVerb {
    /// Append it to the Target.
    Add,
    /// Remove it from the Target.
    Remove,
    /// Let it take requests again.
    Enable,
    /// Stop sending it requests (open ones finish).
    Disable,
}

impl From<UpstreamVerb> for roundabout_engine::control::UpstreamAction {
    fn from(verb: UpstreamVerb) -> Self {
        match verb {
            UpstreamVerb::Add => Self::Add,
            UpstreamVerb::Remove => Self::Remove,
            UpstreamVerb::Enable => Self::Enable,
            UpstreamVerb::Disable => Self::Disable,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROUNDABOUT_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            print::err(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    // Everything runs as a task on the workers: the event printer then shares their threads instead of waking the
    // main thread once per request.
    let work = runtime.spawn(async move {
        match cli.command {
            Command::Serve { config, json, quiet } => serve::run(config, Printer::new(json, quiet)).await,
            Command::Check { config } => check::run(config).await,
            Command::Demo { bind, json, quiet } => demo::run(&bind, Printer::new(json, quiet)).await,
            Command::Ca => ca(),
            Command::Doctor { config } => doctor::run(config).await,
            Command::Trust { status, remove, nss_db, anchors } => {
                let action = match (status, remove) {
                    (true, _) => trust::Action::Status,
                    (_, true) => trust::Action::Remove,
                    _ => trust::Action::Install,
                };
                trust::run(action, trust::Only { nss: nss_db, anchors })
            }
            Command::Status { config, json } => control::status::run(config, json).await,
            Command::Log { config, follow, target, json } => {
                control::log::run(config, follow, target, Printer::new(json, false)).await
            }
            Command::Upstream { action, target, url, config } => {
                control::upstream::run(config, action.into(), target, url).await
            }
            Command::Run { name, config, command } => run::run(config, name, command).await,
            Command::Discover { config, json } => discover::run(config, json).await,
            Command::ConfigPath => match ConfigStore::default_path() {
                Ok(path) => {
                    print::out(&path.display().to_string());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            },
            Command::Schema => {
                let schema = roundabout_engine::Config::json_schema();
                print::out(&serde_json::to_string_pretty(&schema).unwrap_or_default());
                ExitCode::SUCCESS
            }
        }
    });
    runtime.block_on(work).unwrap_or_else(|e| fail(&format!("stopped unexpectedly: {e}")))
}

/// The config file to use: `--config`, or the per-user default.
fn config_path(explicit: Option<PathBuf>) -> Result<(PathBuf, bool), String> {
    match explicit {
        Some(path) => Ok((path, true)),
        None => ConfigStore::default_path().map(|p| (p, false)).map_err(|e| e.to_string()),
    }
}

/// `roundabout ca`: the CA certificate's path, the CA created if there is none yet.
fn ca() -> ExitCode {
    let ca = LocalCa::default_dir().and_then(|dir| LocalCa::load_or_create(&dir));
    match ca {
        Ok(ca) => {
            print::out(&ca.cert_file().display().to_string());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Prints `error: …` and returns the failure exit code.
fn fail(message: &str) -> ExitCode {
    print::err(&format!("error: {message}"));
    ExitCode::FAILURE
}

/// The async runtime: one thread per CPU this process may use. On a single CPU (e.g. `taskset -c 0`) a
/// current-thread runtime does the same work without the cross-thread scheduling machinery.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if cpus == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(cpus).enable_all().build()
    }
}
