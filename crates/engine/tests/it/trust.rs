//! Trusting the local CA: `install`, `status` and `remove` against a temporary NSS database (with NSS's own
//! certutil, as Chromium and Firefox keep them) and a temporary system-store directory. The machine's real stores
//! are never touched.

use roundabout_engine::LocalCa;
use roundabout_engine::trust::{CaCertificate, Privilege, Store, SystemStore, TrustState, TrustStores};

/// A CA, and stores in temporary places: an NSS database that does not exist yet, and a system anchors directory.
fn fixture() -> (tempfile::TempDir, CaCertificate, TrustStores) {
    let dir = tempfile::tempdir().unwrap();
    let ca = LocalCa::load_or_create(&dir.path().join("ca")).unwrap();
    let ca = CaCertificate::read(&ca.cert_file()).unwrap();
    let anchors = dir.path().join("anchors");
    std::fs::create_dir_all(&anchors).unwrap();
    let stores = TrustStores {
        stores: vec![
            Store::System(SystemStore { anchors, update: None, privilege: Privilege::None }),
            Store::Nss { name: "Chromium, Chrome".into(), dir: dir.path().join("home/.pki/nssdb") },
        ],
    };
    (dir, ca, stores)
}

fn states(reports: &[roundabout_engine::trust::StoreReport]) -> Vec<TrustState> {
    reports.iter().map(|r| r.state.clone()).collect()
}

#[test]
fn the_ca_is_trusted_store_by_store_then_removed() {
    let (dir, ca, stores) = fixture();
    assert_eq!(states(&stores.status(&ca)), [TrustState::NotTrusted, TrustState::NotTrusted]);

    let installed = stores.install(&ca);
    assert_eq!(states(&installed), [TrustState::Trusted, TrustState::Trusted], "{installed:#?}");
    assert!(installed.iter().all(|r| r.note == "installed"), "{installed:#?}");
    let anchor = std::fs::read_to_string(dir.path().join(format!("anchors/roundabout-{}.crt", ca.id))).unwrap();
    assert_eq!(anchor, ca.pem);
    let db = format!("sql:{}", dir.path().join("home/.pki/nssdb").display());
    let listed = std::process::Command::new("certutil").args(["-d", &db, "-L"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains(&ca.nickname()) && listed.contains("C,,"), "trusted for TLS servers:\n{listed}");

    let again = stores.install(&ca);
    assert!(again.iter().all(|r| r.note == "already trusted"), "{again:#?}");

    let removed = stores.remove(&ca);
    assert_eq!(states(&removed), [TrustState::NotTrusted, TrustState::NotTrusted], "{removed:#?}");
    assert!(removed.iter().all(|r| r.note == "removed"), "{removed:#?}");
    let listed = std::process::Command::new("certutil").args(["-d", &db, "-L"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&ca.nickname()));
    assert!(stores.remove(&ca).iter().all(|r| r.note == "not there"));
}

#[test]
fn another_ca_in_the_store_is_not_taken_for_ours() {
    let (dir, ca, stores) = fixture();
    let other = LocalCa::load_or_create(&dir.path().join("other-ca")).unwrap();
    let other = CaCertificate::read(&other.cert_file()).unwrap();
    stores.install(&other);
    assert_eq!(states(&stores.status(&ca)), [TrustState::NotTrusted, TrustState::NotTrusted]);
    assert_ne!(ca.id, other.id);
}
