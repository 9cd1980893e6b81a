//! `roundabout trust [--status | --remove]`: installs Roundabout's local CA where browsers and tools look, store by
//! store, and says what it did in each; prints the line Node.js tools need. Only the system store's step asks for
//! privilege (through sudo).

use std::path::PathBuf;
use std::process::ExitCode;

use roundabout_engine::LocalCa;
use roundabout_engine::trust::{
    CaCertificate, Privilege, Store, StoreReport, SystemStore, TrustState, TrustStores, node_line,
};

use crate::print;

/// What `trust` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Install the CA where it is missing.
    Install,
    /// Only report where it is and is not trusted.
    Status,
    /// Remove it everywhere.
    Remove,
}

/// Stores named on the command line instead of the ones found on this machine.
#[derive(Debug, Default)]
pub struct Only {
    /// NSS databases (`--nss-db DIR`).
    pub nss: Vec<PathBuf>,
    /// An anchors directory written without privilege or bundle update (`--anchors DIR`).
    pub anchors: Option<PathBuf>,
}

/// Exit 0 when every store ends as asked (or, for `--status`, when the report could be made).
pub fn run(action: Action, only: Only) -> ExitCode {
    let ca = LocalCa::default_dir().and_then(|dir| LocalCa::load_or_create(&dir));
    let ca = match ca.map(|ca| CaCertificate::read(&ca.cert_file())) {
        Ok(Ok(ca)) => ca,
        Ok(Err(e)) => return crate::fail(&format!("cannot read the CA certificate: {e}")),
        Err(e) => return crate::fail(&e.to_string()),
    };
    let stores = stores(only);
    if stores.stores.is_empty() {
        return crate::fail("no trust store found on this machine; give the CA certificate to your browser by hand");
    }
    print::out(&format!("Roundabout's local CA: {}", ca.path.display()));
    let reports = match action {
        Action::Install => stores.install(&ca),
        Action::Status => stores.status(&ca),
        Action::Remove => stores.remove(&ca),
    };
    let wanted = if action == Action::Remove { TrustState::NotTrusted } else { TrustState::Trusted };
    let mut all_done = true;
    for report in &reports {
        all_done &= report.state == wanted;
        print::out(&line(report, &wanted));
    }
    if action != Action::Remove {
        print::out("Node.js tools read no trust store; give them the CA with:");
        print::out(&format!("  {}", node_line(&ca)));
    }
    if action == Action::Status || all_done { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The stores to act on: the ones named, or the ones found.
fn stores(only: Only) -> TrustStores {
    if only.nss.is_empty() && only.anchors.is_none() {
        return TrustStores::discover(if is_root() { Privilege::None } else { Privilege::Sudo });
    }
    let system =
        only.anchors.map(|anchors| Store::System(SystemStore { anchors, update: None, privilege: Privilege::None }));
    let nss = only.nss.into_iter().map(|dir| Store::Nss { name: "NSS database".into(), dir });
    TrustStores { stores: system.into_iter().chain(nss).collect() }
}

/// `  ✓ store: note` (or `✗`, `·`), the mark saying whether the store ended as wanted.
fn line(report: &StoreReport, wanted: &TrustState) -> String {
    let mark = match &report.state {
        state if state == wanted => "✓",
        TrustState::Unavailable(_) => "✗",
        _ => "·",
    };
    let state = match &report.state {
        TrustState::Trusted => "trusted",
        TrustState::NotTrusted => "not trusted",
        TrustState::Unavailable(_) => "unavailable",
    };
    if report.note.is_empty() || report.note == state {
        format!("  {mark} {}: {state}", report.store)
    } else {
        format!("  {mark} {}: {state} ({})", report.store, report.note)
    }
}

/// True when running as root (the system store needs no sudo then).
fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
