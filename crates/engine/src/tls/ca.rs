//! Roundabout's own certificate authority: created on first need in the user's data directory, its private key
//! readable by the user alone and never copied anywhere, and **constrained to local names**. Its certificate
//! carries X.509 name constraints (RFC 5280 §4.2.1.10) that permit only `localhost`, names under it and the
//! loopback addresses, so even a stolen key cannot sign a certificate a browser would accept for any other site.

use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use time::OffsetDateTime;

use super::TlsError;
use super::names::LocalName;

/// The CA certificate's file in the CA's directory (PEM): what trust stores and `NODE_EXTRA_CA_CERTS` are given.
const CERT_FILE: &str = "roundabout-ca.pem";
/// The CA's private key (PEM, mode 0600 on Unix).
const KEY_FILE: &str = "roundabout-ca-key.pem";
/// How long the CA is valid.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a leaf is valid (well below the 825 days Apple platforms accept for a user-trusted root's leaves).
pub(super) const LEAF_LIFETIME: Duration = Duration::from_secs(180 * 24 * 3600);

/// The CA, loaded and ready to sign leaves.
pub struct LocalCa {
    dir: PathBuf,
    /// The certificate, as clients see it in a trust store.
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the tests of the name constraints"))]
    cert_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl LocalCa {
    /// Where the CA lives unless told otherwise: the user's data directory (`~/.local/share/roundabout` on Linux,
    /// `~/Library/Application Support/dev.Roundabout.roundabout` on macOS, `%APPDATA%\Roundabout\roundabout\data` on
    /// Windows).
    pub fn default_dir() -> Result<PathBuf, TlsError> {
        directories::ProjectDirs::from("dev", "Roundabout", "roundabout")
            .map(|dirs| dirs.data_dir().to_path_buf())
            .ok_or(TlsError::NoDataDir)
    }

    /// The path of the CA certificate (PEM) in `dir`.
    pub fn cert_path(dir: &Path) -> PathBuf {
        dir.join(CERT_FILE)
    }

    /// Loads the CA in `dir`, creating it (and the directory, readable by the user alone) when there is none. Two
    /// processes creating it at once end up with the same CA.
    pub fn load_or_create(dir: &Path) -> Result<LocalCa, TlsError> {
        if let Some(ca) = Self::load(dir)? {
            return Ok(ca);
        }
        Self::create(dir)?;
        Self::load(dir)?.ok_or_else(|| TlsError::Incomplete { dir: dir.to_path_buf() })
    }

    /// Loads the CA in `dir`; `None` when there is none yet.
    pub fn load(dir: &Path) -> Result<Option<LocalCa>, TlsError> {
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        let cert_pem = match fs::read_to_string(&cert_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return if key_path.exists() { Err(TlsError::Incomplete { dir: dir.to_path_buf() }) } else { Ok(None) };
            }
            Err(source) => return Err(TlsError::Io { path: cert_path, source }),
        };
        let key_pem = fs::read_to_string(&key_path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => TlsError::Incomplete { dir: dir.to_path_buf() },
            _ => TlsError::Io { path: key_path.clone(), source },
        })?;
        keep_private(&key_path)?;
        let corrupt = |path: &Path| TlsError::Corrupt { path: path.to_path_buf() };
        let key = KeyPair::from_pem(&key_pem).map_err(|_| corrupt(&key_path))?;
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|_| corrupt(&cert_path))?;
        let issuer = Issuer::from_ca_cert_der(&cert_der, key).map_err(|_| corrupt(&cert_path))?;
        Ok(Some(LocalCa { dir: dir.to_path_buf(), cert_der, issuer }))
    }

    /// Creates a CA in `dir` unless one is already there (another process may have won the race: it is kept).
    fn create(dir: &Path) -> Result<(), TlsError> {
        create_private_dir(dir)?;
        let key = KeyPair::generate().map_err(TlsError::Generate)?;
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::OrganizationName, "Roundabout");
        params.distinguished_name.push(DnType::CommonName, format!("Roundabout local CA ({})", describe_owner(now)));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: vec![
                GeneralSubtree::DnsName("localhost".into()),
                GeneralSubtree::DnsName(".localhost".into()),
                GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix(Ipv4Addr::LOCALHOST.octets(), 8)),
                GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(Ipv6Addr::LOCALHOST.octets(), 128)),
            ],
            excluded_subtrees: Vec::new(),
        });
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + CA_LIFETIME;
        let cert = params.self_signed(&key).map_err(TlsError::Generate)?;
        // The key first, never replacing one that is there: a CA is a key and its certificate, both or neither.
        if !write_new(&dir.join(KEY_FILE), key.serialize_pem().as_bytes())? {
            return Ok(());
        }
        write_new(&dir.join(CERT_FILE), cert.pem().as_bytes())?;
        Ok(())
    }

    /// The CA certificate's file.
    pub fn cert_file(&self) -> PathBuf {
        Self::cert_path(&self.dir)
    }

    /// The CA certificate, DER.
    #[cfg(test)]
    fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// Signs a leaf certificate for `name` alone (no wildcard), valid from a little before `now` for
    /// 180 days. Returns the certificate and its new key.
    pub fn issue(&self, name: &LocalName, now: OffsetDateTime) -> Result<(CertificateDer<'static>, KeyPair), TlsError> {
        let key = KeyPair::generate().map_err(TlsError::Generate)?;
        let mut params = CertificateParams::new(vec![name.as_san()]).map_err(TlsError::Generate)?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name.as_san());
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + LEAF_LIFETIME;
        let cert = params.signed_by(&key, &self.issuer).map_err(TlsError::Generate)?;
        Ok((cert.der().clone(), key))
    }
}

/// `user@host, created 2026-11-29`: tells this CA apart in a trust store listing.
fn describe_owner(now: OffsetDateTime) -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "user".into());
    let host = fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "this machine".into());
    format!("{user}@{host}, created {}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day())
}

/// Creates `dir` (and its parents), readable by the user alone on Unix.
fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    let io = |source| TlsError::Io { path: dir.to_path_buf(), source };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io)
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename) unless `path` exists; false when it did.
fn write_new(path: &Path, bytes: &[u8]) -> Result<bool, TlsError> {
    let io = |source| TlsError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    // tempfile creates the file readable by the user alone (0600 on Unix).
    let mut temp = tempfile::Builder::new().prefix(".roundabout-ca.").tempfile_in(dir).map_err(io)?;
    temp.write_all(bytes).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    match temp.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io(e.error)),
    }
}

/// Makes sure the key file is readable by the user alone (a copy restored from a backup may not be).
fn keep_private(path: &Path) -> Result<(), TlsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let io = |source| TlsError::Io { path: path.to_path_buf(), source };
        let mode = fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_created_once_private_and_loaded_back() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("data/roundabout");
        let first = LocalCa::load_or_create(&home).unwrap();
        let again = LocalCa::load_or_create(&home).unwrap();
        assert_eq!(first.cert_der(), again.cert_der(), "the same CA, not a new one");
        let pem = fs::read_to_string(first.cert_file()).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&home.join(KEY_FILE)), 0o600, "the key is the user's alone");
            assert_eq!(mode(&home), 0o700);
            fs::set_permissions(home.join(KEY_FILE), fs::Permissions::from_mode(0o644)).unwrap();
            LocalCa::load(&home).unwrap().unwrap();
            assert_eq!(mode(&home.join(KEY_FILE)), 0o600, "a loosened key is tightened again");
        }
    }

    #[test]
    fn half_a_ca_or_a_damaged_one_is_reported_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        LocalCa::load_or_create(dir.path()).unwrap();
        fs::remove_file(dir.path().join(CERT_FILE)).unwrap();
        assert!(matches!(LocalCa::load_or_create(dir.path()), Err(TlsError::Incomplete { .. })));
        assert!(dir.path().join(KEY_FILE).exists(), "the key is kept");
        fs::write(dir.path().join(CERT_FILE), "not a certificate").unwrap();
        let error = LocalCa::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(error, TlsError::Corrupt { .. }), "{error}");
        assert!(error.to_string().contains("move it aside"), "{error}");
        assert_eq!(fs::read_to_string(dir.path().join(CERT_FILE)).unwrap(), "not a certificate");
    }
}

#[cfg(test)]
mod constraints {
    use std::net::IpAddr;
    use std::sync::Arc;

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{ServerName, UnixTime};

    use super::*;

    /// Verifies a leaf the CA signed for `name` the way a TLS client trusting only this CA does.
    fn verify(ca: &LocalCa, name: &LocalName, server_name: &str) -> Result<(), rustls::Error> {
        let (leaf, _) = ca.issue(name, OffsetDateTime::now_utc()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.cert_der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
        let server_name = ServerName::try_from(server_name.to_owned()).unwrap();
        verifier.verify_server_cert(&leaf, &[], &server_name, &[], UnixTime::now()).map(|_| ())
    }

    #[test]
    fn leaves_for_local_names_verify() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path()).unwrap();
        for name in ["localhost", "app.localhost", "a.b.app.localhost"] {
            verify(&ca, &LocalName::parse(name).unwrap(), name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        verify(&ca, &LocalName::Ip(loopback), "127.0.0.1").unwrap();
        let other = verify(&ca, &LocalName::parse("app.localhost").unwrap(), "api.localhost");
        assert!(other.is_err(), "one name per leaf: {other:?}");
    }

    #[test]
    fn a_leaf_for_any_other_name_is_refused_even_when_the_key_signed_it() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path()).unwrap();
        // What a stolen key could sign: the CA's name constraints make every client refuse it.
        for name in ["example.com", "localhost.example.com", "evil-localhost"] {
            let refused = verify(&ca, &LocalName::Dns(name.into()), name);
            assert!(refused.is_err(), "{name} was accepted");
        }
        let refused = verify(&ca, &LocalName::Ip("10.0.0.1".parse().unwrap()), "10.0.0.1");
        assert!(refused.is_err(), "a non-loopback address was accepted");
    }
}
