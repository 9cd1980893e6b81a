//! `roundabout upstream add|remove|enable|disable TARGET URL`: through the running instance (applied at once and
//! saved), or straight to the config file (atomically) when nothing runs.

use std::path::PathBuf;
use std::process::ExitCode;

use roundabout_engine::ConfigStore;
use roundabout_engine::control::{Reply, Request, UpstreamAction, edit_upstream};

use crate::print;

/// Makes the change and says where it went.
pub async fn run(config: Option<PathBuf>, action: UpstreamAction, target: String, url: String) -> ExitCode {
    let path = match crate::config_path(config) {
        Ok((path, _)) => path,
        Err(e) => return crate::fail(&e),
    };
    let done = |how: &str| format!("{}: {} {url} ({how})", target, past(action));
    match super::connect(&path).await {
        Ok(Some((mut client, instance))) => {
            let request = Request::Upstream { action, target: target.clone(), url: url.clone() };
            match client.call(&request).await {
                Ok(Reply::Status { .. }) => {
                    print::out(&done(&format!("applied by {instance} and saved to {}", path.display())));
                    ExitCode::SUCCESS
                }
                Ok(other) => crate::fail(&format!("unexpected answer: {other:?}")),
                Err(e) => crate::fail(&e.to_string()),
            }
        }
        Ok(None) => {
            let store = ConfigStore::new(&path);
            let config = match store.load().await {
                Ok(Some(config)) => config,
                Ok(None) => {
                    return crate::fail(&format!(
                        "{} does not exist yet; run `roundabout serve` once to create it, or add a Target in the app",
                        path.display()
                    ));
                }
                Err(e) => return crate::fail(&e.to_string()),
            };
            let next = match edit_upstream(&config, action, &target, &url) {
                Ok(next) => next,
                Err(e) => return crate::fail(&e.to_string()),
            };
            if let Err(issues) = next.validate() {
                return crate::fail(&format!("that change would make the config invalid; nothing changed:\n{issues}"));
            }
            match store.save(&next).await {
                Ok(_) => {
                    print::out(&done(&format!(
                        "saved to {}; nothing is running, so it applies when Roundabout starts",
                        path.display()
                    )));
                    ExitCode::SUCCESS
                }
                Err(e) => crate::fail(&e.to_string()),
            }
        }
        Err(e) => crate::fail(&e),
    }
}

fn past(action: UpstreamAction) -> &'static str {
    match action {
        UpstreamAction::Add => "added",
        UpstreamAction::Remove => "removed",
        UpstreamAction::Enable => "enabled",
        UpstreamAction::Disable => "disabled",
    }
}
