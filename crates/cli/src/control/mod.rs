//! The commands that talk to the running instance over its control socket (`status`, `log`, `upstream`), or work
//! on the config file when nothing runs.

pub mod log;
pub mod status;
pub mod upstream;

use std::path::Path;

use roundabout_engine::control::{ControlClient, Instance, Reply, Request};

/// Connects to the instance serving `path` and asks who it is; `Ok(None)` when nothing runs for it.
pub async fn connect(path: &Path) -> Result<Option<(ControlClient, Instance)>, String> {
    let Some(mut client) = ControlClient::connect(path).await.map_err(|e| e.to_string())? else { return Ok(None) };
    match client.call(&Request::Hello).await.map_err(|e| e.to_string())? {
        Reply::Hello { instance } => Ok(Some((client, instance))),
        other => Err(format!("the running Roundabout answered {other:?} to hello; is it the same version?")),
    }
}

/// What to say when a command needs a running instance and there is none.
pub fn not_running(path: &Path) -> String {
    format!(
        "Roundabout is not running for {}; start it with `roundabout serve` (or open the app), then try again",
        path.display()
    )
}
