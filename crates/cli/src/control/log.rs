//! `roundabout log`: the running instance's recent changes, and with `--follow` every event as it happens
//! (requests included), printed like `roundabout serve` prints them; also while the app is the one running.

use std::path::PathBuf;
use std::process::ExitCode;

use roundabout_engine::Received;
use roundabout_engine::control::{Reply, Request};

use crate::print::{self, Lines, Printer};

/// Prints the log until it ends (`--follow`: until Ctrl-C or the instance stops).
pub async fn run(config: Option<PathBuf>, follow: bool, target: Option<String>, printer: Printer) -> ExitCode {
    let path = match crate::config_path(config) {
        Ok((path, _)) => path,
        Err(e) => return crate::fail(&e),
    };
    let mut client = match super::connect(&path).await {
        Ok(Some((client, _))) => client,
        Ok(None) => return crate::fail(&super::not_running(&path)),
        Err(e) => return crate::fail(&e),
    };
    if let Err(e) = client.send(&Request::Log { follow, target }).await {
        return crate::fail(&e.to_string());
    }
    let mut lines = Lines::default();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let next = tokio::select! {
            next = client.next() => next,
            _ = &mut interrupted => break,
        };
        match next {
            Ok(Some(Reply::Event { event })) => printer.received(&Received::Event(event.into()), &mut lines),
            Ok(Some(Reply::Missed { count })) => printer.received(&Received::Missed(count), &mut lines),
            Ok(Some(Reply::Done)) => break,
            Ok(Some(Reply::Error { message, .. })) => return crate::fail(&message),
            Ok(Some(_)) => {}
            Ok(None) => {
                lines.flush();
                print::err("The running Roundabout stopped; the log ends here.");
                return ExitCode::SUCCESS;
            }
            Err(e) => return crate::fail(&e.to_string()),
        }
        lines.flush();
    }
    lines.flush();
    if !follow {
        print::err("(requests show as they happen with: roundabout log --follow)");
    }
    ExitCode::SUCCESS
}
