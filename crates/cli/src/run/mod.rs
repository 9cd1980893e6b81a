//! `roundabout run [--name NAME] -- CMD ARGS…`: starts a dev server on a free loopback port and, once it accepts
//! connections, makes it a live Upstream of Target NAME (`NAME.localhost`) on the running instance, for as long as
//! it runs. The command owns the terminal (stdin, colours and Ctrl-C pass through). Stopping `run` (Ctrl-C, SIGTERM)
//! first takes the Upstream out of rotation and lets its open requests finish, then passes the signal on; when the
//! command exits by itself the Upstream leaves the same way. If `run` is killed outright, the instance sees its
//! connection close and removes the Upstream. If the instance stops, the dev server keeps running and joins again
//! when an instance comes back.

mod command;
mod signals;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use roundabout_engine::control::{ControlClient, ControlError, Reply, Request};
use roundabout_engine::{ListenerState, LiveUpstream, Serves, Status};
use tokio::process::{Child, Command};

use self::command::Plan;
use self::signals::{Signals, Stop};
use crate::print;

/// How often `run` looks for the dev server's port to open, and for an instance to join after one stopped.
const POLL: Duration = Duration::from_millis(50);
const REJOIN: Duration = Duration::from_secs(1);
/// How long `run` waits for the port before saying how to pass it.
const HINT_AFTER: Duration = Duration::from_secs(20);

/// Runs `argv` until it exits; returns its exit code.
pub async fn run(config: Option<PathBuf>, name: Option<String>, argv: Vec<String>) -> ExitCode {
    match start(config, name, argv).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => crate::fail(&e),
    }
}

async fn start(config: Option<PathBuf>, name: Option<String>, argv: Vec<String>) -> Result<u8, String> {
    let (path, _) = crate::config_path(config)?;
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let project = roundabout_engine::project_of(&cwd);
    let name = name.unwrap_or_else(|| project.name.clone());
    let label = roundabout_engine::host_label(&name);
    if label != name {
        return Err(format!(
            "--name {name:?} cannot be a host name; use lowercase letters, digits and dashes, e.g. --name {label}"
        ));
    }
    let Some((client, _)) = crate::control::connect(&path).await? else {
        return Err(crate::control::not_running(&path));
    };
    let plan = Plan::of(&argv, &cwd);
    let port = match plan.port {
        Some(port) => port,
        None => free_port().map_err(|e| format!("no free port on 127.0.0.1: {e}"))?,
    };
    let argv = plan.argv(&argv, port);
    let mut signals = Signals::new().map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let pid = child.id().unwrap_or_default();
    let how = match (plan.framework, plan.port) {
        (_, Some(_)) => " (the port your command names)".to_owned(),
        (Some(f), None) => format!(" ({} flags added)", f.name),
        (None, None) => String::new(),
    };
    print::err(&format!("roundabout: started `{}` on port {port}{how}; waiting for it to listen…", argv.join(" ")));
    let upstream = LiveUpstream {
        target: name,
        url: format!("http://localhost:{port}"),
        command: argv.join(" "),
        pid,
        cwd: cwd.display().to_string(),
        branch: project.branch,
    };
    let mut session = Session { path, upstream, client: Some(client), refused: false };
    tokio::select! {
        status = child.wait() => {
            let status = status.map_err(|e| e.to_string())?;
            print::err(&format!("roundabout: the command exited before listening on port {port} ({status})"));
            return Ok(signals::exit_code(status));
        }
        stop = signals.recv() => return Ok(session.stop_child(&mut child, stop).await),
        () = listening(port, &argv) => {}
    }
    session.join().await;
    loop {
        tokio::select! {
            status = child.wait() => {
                let status = status.map_err(|e| e.to_string())?;
                session.leave(&format!("the command exited ({status})")).await;
                return Ok(signals::exit_code(status));
            }
            stop = signals.recv() => {
                session.leave(stop.reason()).await;
                return Ok(session.stop_child(&mut child, stop).await);
            }
            () = session.lost() => {}
        }
    }
}

/// The live Upstream and the connection that keeps it joined.
struct Session {
    path: PathBuf,
    upstream: LiveUpstream,
    /// Joined while this is `Some`.
    client: Option<ControlClient>,
    /// The instance refused the join (it would refuse again): the dev server runs on without a name.
    refused: bool,
}

impl Session {
    /// Joins (connecting again if needed) and says where the dev server can be reached.
    async fn join(&mut self) {
        let client = match self.client.take() {
            Some(client) => Some(client),
            None => ControlClient::connect(&self.path).await.ok().flatten(),
        };
        let Some(mut client) = client else { return };
        let status = match client.call(&Request::Status).await {
            Ok(Reply::Status { status }) => Some(status),
            _ => None,
        };
        match client.call(&Request::Join { upstream: self.upstream.clone() }).await {
            Ok(Reply::Joined { label, shadowed_by }) => {
                let urls = status.as_ref().map(|s| urls(s, &self.upstream.target)).unwrap_or_default();
                print::err(&format!(
                    "roundabout: {label} joined {}; open {}",
                    self.upstream.target,
                    if urls.is_empty() { "nothing yet: no Listener is running".to_owned() } else { urls.join(" or ") }
                ));
                if let Some(first) = shadowed_by {
                    print::err(&format!(
                        "roundabout: warning: Target {first} comes first for {}.localhost, so requests there do not \
                         reach this server; name a Target {} in the config, or move {first} down",
                        self.upstream.target, self.upstream.target
                    ));
                }
                self.client = Some(client);
            }
            Ok(other) => print::err(&format!("roundabout: unexpected answer to join: {other:?}")),
            Err(e @ (ControlError::Io { .. } | ControlError::Closed | ControlError::NoHome)) => {
                print::err(&format!("roundabout: could not join {}: {e}", self.upstream.target));
            }
            Err(e) => {
                self.refused = true;
                print::err(&format!(
                    "roundabout: could not join {}: {e}; the dev server keeps running on port {} without a name",
                    self.upstream.target,
                    self.upstream.url.rsplit(':').next().unwrap_or_default()
                ));
            }
        }
    }

    /// Leaves (waiting until open requests to the dev server finished).
    async fn leave(&mut self, reason: &str) {
        if let Some(mut client) = self.client.take() {
            let _ = client.call(&Request::Leave { reason: reason.to_owned() }).await;
        }
    }

    /// Returns when the instance went away (then tries to join a new one, once a second, until it does).
    async fn lost(&mut self) {
        if self.refused {
            return std::future::pending().await;
        }
        if let Some(client) = self.client.as_mut() {
            // Nothing is sent to a joined connection: any answer (or the end) means the instance stopped.
            let _ = client.next().await;
            self.client = None;
            print::err(&format!(
                "roundabout: Roundabout stopped, so {}.localhost no longer reaches this server; it joins again when \
                 Roundabout starts (for {})",
                self.upstream.target,
                self.path.display()
            ));
        }
        loop {
            tokio::time::sleep(REJOIN).await;
            self.join().await;
            if self.client.is_some() {
                return;
            }
        }
    }

    /// Passes `stop` on to the dev server unless it already exited, and waits for it.
    async fn stop_child(&self, child: &mut Child, stop: Stop) -> u8 {
        if let Ok(Some(status)) = child.try_wait() {
            return signals::exit_code(status);
        }
        if let Some(pid) = child.id() {
            signals::forward(pid, stop);
        }
        match child.wait().await {
            Ok(status) => signals::exit_code(status),
            Err(_) => 1,
        }
    }
}

/// A port nothing listens on right now (bound and released).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Returns once `port` accepts connections on 127.0.0.1 or ::1. Says once, after a while, what to do when the
/// command does not read `PORT`.
async fn listening(port: u16, argv: &[String]) {
    let addrs = [SocketAddr::from((Ipv4Addr::LOCALHOST, port)), SocketAddr::from((Ipv6Addr::LOCALHOST, port))];
    let hint_at = tokio::time::Instant::now() + HINT_AFTER;
    let mut hinted = false;
    loop {
        if !hinted && tokio::time::Instant::now() >= hint_at {
            hinted = true;
            print::err(&format!(
                "roundabout: still waiting for port {port} after {} s. If `{}` does not read PORT, give it the port \
                 yourself, e.g. roundabout run -- {} --port {port} (or sh -c '… $PORT')",
                HINT_AFTER.as_secs(),
                argv.join(" "),
                argv.join(" ")
            ));
        }
        for addr in addrs {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `http://NAME.localhost` and `https://NAME.localhost:8443` for each running Listener (no port when standard).
fn urls(status: &Status, name: &str) -> Vec<String> {
    status
        .listeners
        .iter()
        .filter(|l| l.enabled && l.state == ListenerState::Running && l.serves != Serves::RedirectToHttps)
        .filter_map(|l| {
            let port = l.addresses.first()?.parse::<SocketAddr>().ok()?.port();
            let (scheme, standard) = if l.serves == Serves::Https { ("https", 443) } else { ("http", 80) };
            let port = if port == standard { String::new() } else { format!(":{port}") };
            Some(format!("{scheme}://{name}.localhost{port}"))
        })
        .collect()
}
