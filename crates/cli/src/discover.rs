//! `roundabout discover`: the dev servers listening on loopback that no Target uses yet, with the command that
//! makes each one reachable by name.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use roundabout_engine::control::{Reply, Request};
use roundabout_engine::{ConfigStore, DevServer, InUse};

use crate::print;

/// Prints what discovery finds (one JSON array with `--json`).
pub async fn run(config: Option<PathBuf>, json: bool) -> ExitCode {
    let path = match crate::config_path(config) {
        Ok((path, _)) => path,
        Err(e) => return crate::fail(&e),
    };
    let in_use = match in_use(&path).await {
        Ok(in_use) => in_use,
        Err(e) => return crate::fail(&e),
    };
    let found = tokio::task::spawn_blocking(move || roundabout_engine::discover(&in_use)).await;
    let servers = match found {
        Ok(Ok(servers)) => servers,
        Ok(Err(e)) => return crate::fail(&e.to_string()),
        Err(e) => return crate::fail(&format!("discovery stopped unexpectedly: {e}")),
    };
    if json {
        print::out(&serde_json::to_string(&servers).unwrap_or_default());
    } else {
        print::out(&text(&servers));
    }
    ExitCode::SUCCESS
}

/// What Roundabout already uses: from the running instance (live Upstreams included), else from the config file.
async fn in_use(path: &std::path::Path) -> Result<InUse, String> {
    if let Some((mut client, _)) = crate::control::connect(path).await? {
        return match client.call(&Request::Status).await {
            Ok(Reply::Status { status }) => Ok(InUse::of_status(&status)),
            Ok(other) => Err(format!("unexpected answer to status: {other:?}")),
            Err(e) => Err(e.to_string()),
        };
    }
    let config = ConfigStore::new(path).load().await.map_err(|e| e.to_string())?;
    Ok(config.as_ref().map(InUse::of_config).unwrap_or_default())
}

/// One block per dev server, and what to do with it.
fn text(servers: &[DevServer]) -> String {
    if servers.is_empty() {
        return "No dev server listens on loopback outside your Targets. Start one, or start it with \
                `roundabout run -- <command>` to give it a name right away."
            .to_owned();
    }
    let mut out = String::from("Dev servers on loopback that no Target uses:");
    for s in servers {
        let _ = write!(out, "\n  {}  {} (pid {})", s.address, s.process, s.pid);
        if let Some(command) = &s.command {
            let _ = write!(out, "\n      command: {command}");
        }
        if let Some(cwd) = &s.cwd {
            let _ = write!(out, "\n      in: {cwd}");
        }
        let _ = write!(out, "\n      add it: roundabout upstream add {} {}", s.suggested_name, s.url);
    }
    out
}
