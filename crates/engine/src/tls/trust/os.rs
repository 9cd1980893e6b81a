//! The stores of the platform this build runs on, and the ones only macOS and Windows have (the login keychain
//! through `security`; the current user's Root store through `certutil.exe`).

use std::path::PathBuf;

use super::command::run;
use super::{CaCertificate, Privilege, Store, SystemStore, TrustState};

/// The stores found for the current user.
pub(super) fn discover(privilege: Privilege) -> Vec<Store> {
    if cfg!(target_os = "macos") {
        return vec![Store::Keychain];
    }
    if cfg!(windows) {
        return vec![Store::WindowsUser];
    }
    let mut stores: Vec<Store> = SystemStore::detect(privilege).map(Store::System).into_iter().collect();
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else { return stores };
    stores.push(Store::Nss { name: "Chromium, Chrome".into(), dir: home.join(".pki/nssdb") });
    for profiles in [home.join(".mozilla/firefox"), home.join("snap/firefox/common/.mozilla/firefox")] {
        let Ok(entries) = std::fs::read_dir(&profiles) else { continue };
        let mut found: Vec<PathBuf> =
            entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("cert9.db").is_file()).collect();
        found.sort();
        for dir in found {
            let profile = dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            stores.push(Store::Nss { name: format!("Firefox ({profile})"), dir });
        }
    }
    stores
}

/// The SHA-1 fingerprint (hex, upper case), which `security` and `certutil.exe` find certificates by.
fn sha1(ca: &CaCertificate) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &ca.der);
    super::hex(digest.as_ref()).to_ascii_uppercase()
}

/// The login keychain's file.
fn login_keychain() -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    format!("{home}/Library/Keychains/login.keychain-db")
}

pub(super) fn state(store: &Store, ca: &CaCertificate) -> TrustState {
    match store {
        Store::Keychain => {
            match run("security", &["find-certificate", "-a", "-Z", &login_keychain()], "it is part of macOS") {
                Ok(listed) if String::from_utf8_lossy(&listed.stdout).contains(&sha1(ca)) => TrustState::Trusted,
                Ok(_) => TrustState::NotTrusted,
                Err(why) => TrustState::Unavailable(why),
            }
        }
        Store::WindowsUser => {
            match run("certutil", &["-user", "-verifystore", "Root", &sha1(ca)], "it is part of Windows") {
                Ok(_) => TrustState::Trusted,
                Err(_) => TrustState::NotTrusted,
            }
        }
        Store::System(_) | Store::Nss { .. } => TrustState::Unavailable("not a store of this platform".into()),
    }
}

pub(super) fn add(store: &Store, ca: &CaCertificate) -> Result<(), String> {
    let path = ca.path.to_string_lossy();
    match store {
        Store::Keychain => {
            let args = ["add-trusted-cert", "-r", "trustRoot", "-k", &login_keychain(), &path];
            run("security", &args, "it is part of macOS").map(drop)
        }
        Store::WindowsUser => {
            run("certutil", &["-user", "-addstore", "Root", &path], "it is part of Windows").map(drop)
        }
        Store::System(_) | Store::Nss { .. } => Err("not a store of this platform".into()),
    }
}

pub(super) fn remove(store: &Store, ca: &CaCertificate) -> Result<(), String> {
    let path = ca.path.to_string_lossy();
    match store {
        Store::Keychain => {
            // The trust setting first, then the certificate itself.
            let _ = run("security", &["remove-trusted-cert", &path], "it is part of macOS");
            run("security", &["delete-certificate", "-Z", &sha1(ca), &login_keychain()], "it is part of macOS")
                .map(drop)
        }
        Store::WindowsUser => {
            run("certutil", &["-user", "-delstore", "Root", &sha1(ca)], "it is part of Windows").map(drop)
        }
        Store::System(_) | Store::Nss { .. } => Err("not a store of this platform".into()),
    }
}
