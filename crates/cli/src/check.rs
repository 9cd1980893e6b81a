//! `roundabout check`: validate the config and list every problem with its JSON path and the fix.

use std::path::PathBuf;
use std::process::ExitCode;

use roundabout_engine::config::Strategy;
use roundabout_engine::{Config, ConfigStore, StoreError};

use crate::print;

/// Exit 0 when the file is valid, 1 when it has problems or cannot be read.
pub async fn run(explicit: Option<PathBuf>) -> ExitCode {
    let path = match crate::config_path(explicit) {
        Ok((path, _)) => path,
        Err(e) => return crate::fail(&e),
    };
    let shown = path.display();
    match ConfigStore::new(&path).load().await {
        Ok(Some(config)) => {
            print::out(&format!(
                "{shown} is valid: {} listener(s), {} target(s){}",
                config.listeners.len(),
                config.targets.len(),
                if config.demo { ", demo on" } else { "" }
            ));
            for warning in warnings(&config) {
                print::err(&format!("warning: {warning}"));
            }
            ExitCode::SUCCESS
        }
        Ok(None) => crate::fail(&format!(
            "{shown} does not exist; `roundabout serve` creates a starter config there on its first run"
        )),
        Err(StoreError::Invalid { issues, .. }) => {
            let count = issues.0.len();
            print::err(&format!("{shown} has {count} problem{}:", if count == 1 { "" } else { "s" }));
            for issue in issues.iter() {
                print::err(&format!("  {issue}"));
            }
            ExitCode::FAILURE
        }
        Err(e) => crate::fail(&e.to_string()),
    }
}

/// Valid but risky or ineffective settings: Listeners reachable from other machines, weights a Target's strategy
/// ignores.
pub fn warnings(config: &Config) -> Vec<String> {
    let ignored_weights = config
        .targets
        .iter()
        .filter(|t| t.strategy != Strategy::WeightedRoundRobin && t.upstreams.iter().any(|u| u.weight != 1))
        .map(|t| {
            format!(
                "target {} gives its upstreams weights, which only \"strategy\": \"weighted_round_robin\" uses",
                t.name
            )
        });
    config
        .listeners
        .iter()
        .filter(|l| l.is_exposed())
        .map(|l| {
            format!(
                "listener {} binds {}, which exposes your upstreams to the network; use 127.0.0.1 to keep them local",
                Config::listener_name(l),
                l.bind
            )
        })
        .chain(ignored_weights)
        .collect()
}
