//! `roundabout doctor`: what stands between you and `https://app.localhost` working, line by line, each with the
//! fix. Changes nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use roundabout_engine::trust::{Privilege, TrustStores};
use roundabout_engine::{ConfigStore, LocalCa, diagnose};

use crate::print;

/// Exit 0 when every check passes, 1 otherwise.
pub async fn run(explicit: Option<PathBuf>) -> ExitCode {
    let path = match crate::config_path(explicit) {
        Ok((path, _)) => path,
        Err(e) => return crate::fail(&e),
    };
    let config = match ConfigStore::new(&path).load().await {
        Ok(Some(config)) => config,
        Ok(None) => {
            return crate::fail(&format!(
                "{} does not exist yet; `roundabout serve` (or the app) creates it on its first run",
                path.display()
            ));
        }
        Err(e) => return crate::fail(&format!("{e}\n(`roundabout check` lists every problem)")),
    };
    let ca_dir = match LocalCa::default_dir() {
        Ok(dir) => dir,
        Err(e) => return crate::fail(&e.to_string()),
    };
    print::out(&format!("Checking {} …", path.display()));
    let checks =
        tokio::task::spawn_blocking(move || diagnose(&config, &ca_dir, &TrustStores::discover(Privilege::None)))
            .await
            .unwrap_or_default();
    let problems = checks.iter().filter(|c| !c.ok).count();
    for check in &checks {
        print::out(&format!("  {} {}: {}", if check.ok { "✓" } else { "✗" }, check.subject, check.finding));
    }
    if problems == 0 {
        print::out("All good.");
        ExitCode::SUCCESS
    } else {
        print::out(&format!("{problems} problem{} found.", if problems == 1 { "" } else { "s" }));
        ExitCode::FAILURE
    }
}
