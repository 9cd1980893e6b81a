//! The app's HTTPS commands' work: the local CA's state store by store, and trusting it with the same code as
//! `roundabout trust` (the system store's privileged step through pkexec, which asks in a desktop dialog).

use roundabout_engine::LocalCa;
use roundabout_engine::trust::{CaCertificate, Privilege, StoreReport, TrustState, TrustStores, node_line};

use crate::wire::{HttpsState, TrustRow};

/// Where the CA is trusted (`install` false) or, after trusting it everywhere it is not (`install` true). Runs the
/// stores' tools: call it off the async threads.
pub fn state(install: bool) -> HttpsState {
    let ca = LocalCa::default_dir().and_then(|dir| LocalCa::load_or_create(&dir));
    let ca = match ca.map(|ca| CaCertificate::read(&ca.cert_file())) {
        Ok(Ok(ca)) => ca,
        Ok(Err(e)) => return failed(format!("cannot read the CA certificate: {e}")),
        Err(e) => return failed(e.to_string()),
    };
    let stores = TrustStores::discover(if is_root() { Privilege::None } else { Privilege::Pkexec });
    let reports = if install { stores.install(&ca) } else { stores.status(&ca) };
    HttpsState {
        ca_path: Some(ca.path.display().to_string()),
        error: None,
        stores: reports.iter().map(row).collect(),
        node_line: Some(node_line(&ca)),
    }
}

fn failed(error: String) -> HttpsState {
    HttpsState { ca_path: None, error: Some(error), stores: Vec::new(), node_line: None }
}

fn row(report: &StoreReport) -> TrustRow {
    let state = match report.state {
        TrustState::Trusted => "trusted",
        TrustState::NotTrusted => "not_trusted",
        TrustState::Unavailable(_) => "unavailable",
    };
    TrustRow { store: report.store.clone(), state: state.into(), note: report.note.clone() }
}

/// True when the app runs as root (then no privilege needs asking for).
fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
