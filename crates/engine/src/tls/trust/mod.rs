//! Trusting the local CA where browsers and tools look, store by store, and undoing it: on Linux the system store
//! (what curl, Node with `--use-openssl-ca` and most tools read) and every NSS database (Chromium, Chrome, each
//! Firefox profile); on macOS the login keychain; on Windows the current user's Root store.
//!
//! Every store is a value with its location, so tests point them at temporary directories and never touch the
//! machine's real stores. Each store reports what it did, or why it could not and what to do about it.

mod command;
mod nss;
mod os;
mod system;

use std::fmt;
use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub use system::{Privilege, SystemStore};

/// A place the CA can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// The operating system's store on Linux: a directory of anchors and the command that rebuilds the bundle.
    System(SystemStore),
    /// An NSS database: Chromium and Chrome (`~/.pki/nssdb`) or a Firefox profile.
    Nss {
        /// Who reads it, e.g. `Chromium, Chrome` or `Firefox (default-release)`.
        name: String,
        /// The database's directory (it holds `cert9.db`).
        dir: PathBuf,
    },
    /// The login keychain (macOS).
    Keychain,
    /// The current user's Root store (Windows).
    WindowsUser,
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Store::System(system) => write!(f, "system store ({})", system.anchors.display()),
            Store::Nss { name, dir } => write!(f, "{name} ({})", dir.display()),
            Store::Keychain => write!(f, "macOS login keychain"),
            Store::WindowsUser => write!(f, "Windows certificate store (current user, Root)"),
        }
    }
}

/// Whether a store trusts the CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustState {
    /// The CA is in the store.
    Trusted,
    /// It is not.
    NotTrusted,
    /// The store cannot be read: why, and what to do.
    Unavailable(String),
}

/// What one store's `trust`, `--status` or `--remove` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreReport {
    /// The store, as a person reads it.
    pub store: String,
    /// Its state afterwards.
    pub state: TrustState,
    /// What was done: `installed`, `already trusted`, `removed`, `not there`…; or why nothing could be, with the fix.
    pub note: String,
}

/// The CA certificate to trust, as the stores need it.
#[derive(Debug, Clone)]
pub struct CaCertificate {
    /// Its file (PEM).
    pub path: PathBuf,
    /// Its PEM text.
    pub pem: String,
    /// Its DER bytes, to compare with what a store holds.
    pub der: Vec<u8>,
    /// A short name unique to this CA (its SHA-256 fingerprint's first 8 hex digits), so removing it finds ours.
    pub id: String,
}

impl CaCertificate {
    /// Reads the certificate at `path`.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        let pem = std::fs::read_to_string(path)?;
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(std::io::Error::other)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &der);
        let id = hex(&digest.as_ref()[..4]);
        Ok(CaCertificate { path: path.to_path_buf(), pem, der: der.to_vec(), id })
    }

    /// The name the CA is listed under in NSS databases and keychains.
    pub fn nickname(&self) -> String {
        format!("Roundabout local CA {}", self.id)
    }

    /// True when `pem` (as a store lists it) is this certificate.
    pub(crate) fn is(&self, pem: &[u8]) -> bool {
        CertificateDer::from_pem_slice(pem).is_ok_and(|der| *der == *self.der)
    }
}

/// The stores of this machine and user, where `trust` acts.
#[derive(Debug, Clone)]
pub struct TrustStores {
    /// In the order they are reported.
    pub stores: Vec<Store>,
}

impl TrustStores {
    /// The stores found for the current user: the system store and every NSS database on Linux, the login keychain
    /// on macOS, the user's Root store on Windows. `privilege` is how the system store's privileged step runs.
    pub fn discover(privilege: Privilege) -> Self {
        TrustStores { stores: os::discover(privilege) }
    }

    /// Whether each store trusts `ca`.
    pub fn status(&self, ca: &CaCertificate) -> Vec<StoreReport> {
        self.stores.iter().map(|store| report(store, "", state(store, ca))).collect()
    }

    /// Adds `ca` to every store that does not trust it yet.
    pub fn install(&self, ca: &CaCertificate) -> Vec<StoreReport> {
        self.stores.iter().map(|store| act(store, ca, true)).collect()
    }

    /// Removes `ca` from every store that trusts it.
    pub fn remove(&self, ca: &CaCertificate) -> Vec<StoreReport> {
        self.stores.iter().map(|store| act(store, ca, false)).collect()
    }
}

/// `bytes` as lowercase hex digits.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes.iter().flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]).map(char::from).collect()
}

/// The line that makes Node.js tools (which ignore the system store) trust the CA.
pub fn node_line(ca: &CaCertificate) -> String {
    format!("export NODE_EXTRA_CA_CERTS=\"{}\"", ca.path.display())
}

fn state(store: &Store, ca: &CaCertificate) -> TrustState {
    match store {
        Store::System(system) => system.state(ca),
        Store::Nss { dir, .. } => nss::state(dir, ca),
        Store::Keychain | Store::WindowsUser => os::state(store, ca),
    }
}

/// Installs (`add`) or removes the CA in one store, unless it is already as wanted.
fn act(store: &Store, ca: &CaCertificate, add: bool) -> StoreReport {
    let before = state(store, ca);
    let result = match (&before, add) {
        (TrustState::Unavailable(_), _) => return report(store, "", before),
        (TrustState::Trusted, true) => return report(store, "already trusted", before),
        (TrustState::NotTrusted, false) => return report(store, "not there", before),
        (_, true) => add_to(store, ca),
        (_, false) => remove_from(store, ca),
    };
    match result {
        Ok(()) => report(store, if add { "installed" } else { "removed" }, state(store, ca)),
        Err(why) => report(store, &why, state(store, ca)),
    }
}

fn add_to(store: &Store, ca: &CaCertificate) -> Result<(), String> {
    match store {
        Store::System(system) => system.add(ca),
        Store::Nss { dir, .. } => nss::add(dir, ca),
        Store::Keychain | Store::WindowsUser => os::add(store, ca),
    }
}

fn remove_from(store: &Store, ca: &CaCertificate) -> Result<(), String> {
    match store {
        Store::System(system) => system.remove(ca),
        Store::Nss { dir, .. } => nss::remove(dir, ca),
        Store::Keychain | Store::WindowsUser => os::remove(store, ca),
    }
}

fn report(store: &Store, note: &str, state: TrustState) -> StoreReport {
    let note = match (&state, note) {
        (TrustState::Unavailable(why), "") => why.clone(),
        _ => note.to_owned(),
    };
    StoreReport { store: store.to_string(), state, note }
}
