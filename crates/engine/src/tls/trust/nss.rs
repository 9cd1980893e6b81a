//! NSS databases (Chromium and Chrome on Linux read `~/.pki/nssdb`; each Firefox profile has its own), through
//! NSS's own `certutil` (Debian's `libnss3-tools`), the one tool that writes them safely while a browser runs.

use std::path::Path;

use super::command::run;
use super::{CaCertificate, TrustState};

/// How to get `certutil` when it is missing.
const MISSING: &str = "install it with: sudo apt install libnss3-tools (Debian, Ubuntu) or sudo dnf install nss-tools \
                       (Fedora)";

/// `sql:DIR`, how certutil names a database in the current format.
fn database(dir: &Path) -> String {
    format!("sql:{}", dir.display())
}

/// Whether the database in `dir` holds the CA as a trusted issuer of server certificates.
pub(super) fn state(dir: &Path, ca: &CaCertificate) -> TrustState {
    if !super::command::exists("certutil") {
        return TrustState::Unavailable(format!("certutil is not installed; {MISSING}"));
    }
    if !dir.join("cert9.db").exists() {
        return TrustState::NotTrusted;
    }
    match run("certutil", &["-d", &database(dir), "-L", "-n", &ca.nickname(), "-a"], MISSING) {
        Ok(listed) if ca.is(&listed.stdout) => TrustState::Trusted,
        _ => TrustState::NotTrusted,
    }
}

/// Adds the CA, trusted for TLS servers, creating the database (empty password) when there is none yet.
pub(super) fn add(dir: &Path, ca: &CaCertificate) -> Result<(), String> {
    if !dir.join("cert9.db").exists() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        run("certutil", &["-d", &database(dir), "-N", "--empty-password"], MISSING)?;
    }
    let path = ca.path.to_string_lossy();
    run("certutil", &["-d", &database(dir), "-A", "-t", "C,,", "-n", &ca.nickname(), "-i", &path], MISSING).map(drop)
}

/// Removes the CA (every copy under its nickname).
pub(super) fn remove(dir: &Path, ca: &CaCertificate) -> Result<(), String> {
    for _ in 0..8 {
        if state(dir, ca) != TrustState::Trusted {
            return Ok(());
        }
        run("certutil", &["-d", &database(dir), "-D", "-n", &ca.nickname()], MISSING)?;
    }
    Err(format!("{} is still listed after removing it; remove it with certutil by hand", ca.nickname()))
}
