//! HTTPS for Listeners: Roundabout's own CA, constrained to local names ([`LocalCa`]); a leaf per name the
//! browser asks for ([`Leaves`]); and the TLS settings a Listener serves with (ALPN `h2` and `http/1.1`).

mod ca;
mod leaves;
mod names;
pub mod trust;

use std::path::PathBuf;
use std::sync::Arc;

pub use ca::LocalCa;
pub use leaves::Leaves;

/// What a TLS Listener negotiates, in order of preference.
pub(crate) const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Why the local CA could not be made, read or used. Messages name the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// No data directory could be determined.
    #[error("cannot find your data directory for the local CA (is $HOME set?)")]
    NoDataDir,
    /// Reading or writing a CA file failed.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A CA file exists but is not what it should be.
    #[error(
        "{path} is not a certificate or key Roundabout can read; move it aside and Roundabout will create a new CA"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
    },
    /// Only one of the CA's two files is there.
    #[error(
        "the local CA in {dir} is incomplete (its certificate or its key is missing); move the directory aside and \
         Roundabout will create a new CA"
    )]
    Incomplete {
        /// The CA's directory.
        dir: PathBuf,
    },
    /// Generating or signing a key or certificate failed.
    #[error("cannot make a certificate: {0}")]
    Generate(#[source] rcgen::Error),
}

/// The TLS settings of a Listener: certificates from `leaves`, ALPN `h2` then `http/1.1`, TLS 1.2 and 1.3.
pub(crate) fn server_config(leaves: Arc<Leaves>) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(leaves);
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}
