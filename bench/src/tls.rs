//! The HTTPS side of the run: Roundabout's local CA created in the run's temp directory (`roundabout ca` with
//! `XDG_DATA_HOME` pointed there), a leaf for nginx minted from that same CA the way Roundabout mints its own (ECDSA
//! P-256, the name alone, server auth), the wrk script that sends `bench.localhost` as TLS server name and Host
//! while connecting to 127.0.0.1, and what a TLS client actually negotiates with each subject.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use time::OffsetDateTime;

/// The TLS server name (SNI) and Host of every HTTPS request: a local name Roundabout mints a leaf for. It need
/// not resolve: the load generators are told to connect to 127.0.0.1.
pub const NAME: &str = "bench.localhost";

/// How long the nginx leaf is valid, like the leaves Roundabout mints.
const LEAF_LIFETIME: Duration = Duration::from_secs(180 * 24 * 3600);

/// wrk resolves the URL's host itself and has no "connect to" option; this script replaces its resolver, so the
/// URL's host (`bench.localhost`) stays the SNI and the Host header while the connections go to 127.0.0.1. It
/// defines no `request` function, so wrk keeps sending one prebuilt request (no per-request Lua).
const WRK_SCRIPT: &str = "-- Connect to 127.0.0.1 whatever the URL's host, which stays the TLS server name and Host.
function wrk.resolve(host, service)
   wrk.addrs = wrk.lookup(\"127.0.0.1\", service)
end
";

/// The files of the HTTPS setup, all in the run's temp directory.
#[derive(Debug, Clone)]
pub struct Files {
    /// `XDG_DATA_HOME` of every `roundabout` process: the CA is in `roundabout/` below it.
    pub data_home: PathBuf,
    /// nginx's leaf certificate (PEM, the leaf alone: Roundabout sends no chain either).
    pub leaf_cert: PathBuf,
    /// nginx's leaf key (PEM, PKCS#8).
    pub leaf_key: PathBuf,
    /// The wrk script connecting `bench.localhost` to 127.0.0.1.
    pub wrk_script: PathBuf,
    /// Where h2load writes its per-request log, rewritten by every h2load run.
    pub h2load_log: PathBuf,
}

/// Creates the CA with `roundabout ca` under `dir`, mints nginx's leaf from it and writes the wrk script.
pub fn prepare(roundabout: &Path, dir: &Path) -> Result<Files, String> {
    let data_home = dir.join("data");
    let output = Command::new(roundabout)
        .arg("ca")
        .env("XDG_DATA_HOME", &data_home)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run roundabout ca: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "roundabout ca failed ({}), so HTTPS cannot be measured: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let ca_cert = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let ca_key = ca_cert.with_file_name("roundabout-ca-key.pem");
    let read = |path: &Path| std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
    let (cert_pem, key_pem) = mint_leaf(&read(&ca_cert)?, &read(&ca_key)?, OffsetDateTime::now_utc())?;
    let files = Files {
        data_home,
        leaf_cert: dir.join("nginx-leaf.pem"),
        leaf_key: dir.join("nginx-leaf-key.pem"),
        wrk_script: dir.join("wrk-https.lua"),
        h2load_log: dir.join("h2load.log"),
    };
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(&files.leaf_cert, &cert_pem)?;
    write(&files.leaf_key, &key_pem)?;
    write(&files.wrk_script, WRK_SCRIPT)?;
    Ok(files)
}

/// A leaf for [`NAME`] signed by the CA given as PEM: a new ECDSA P-256 key, the name as its only SAN and CN,
/// server auth, digital signature, the CA's key identifier; valid from an hour ago for 180 days. That is how the
/// engine mints its leaves (`tls/ca.rs`), so both servers present the same kind of certificate. Returns the
/// certificate and the key, PEM.
fn mint_leaf(ca_cert_pem: &str, ca_key_pem: &str, now: OffsetDateTime) -> Result<(String, String), String> {
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(|e| format!("cannot read the CA key: {e}"))?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).map_err(|e| format!("cannot read the CA: {e}"))?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| format!("cannot make a key: {e}"))?;
    let mut params =
        CertificateParams::new(vec![NAME.to_string()]).map_err(|e| format!("cannot make a certificate: {e}"))?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, NAME);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + LEAF_LIFETIME;
    let cert = params.signed_by(&key, &issuer).map_err(|e| format!("cannot sign the leaf: {e}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// What an OpenSSL client offering ALPN `h2,http/1.1` with SNI [`NAME`] negotiates on `port`, in one line, e.g.
/// `TLSv1.3, TLS_AES_256_GCM_SHA384, X25519, ALPN h2, ECDSA P-256 leaf CN = bench.localhost`. Says so when
/// `openssl` is missing or the handshake failed; that is for the reader, never an error of the run.
pub fn negotiated(port: u16) -> String {
    let output = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", NAME, "-alpn", "h2,http/1.1"])
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(output) => summarize_s_client(&String::from_utf8_lossy(&output.stdout))
            .unwrap_or_else(|| format!("no TLS session ({})", String::from_utf8_lossy(&output.stderr).trim())),
        Err(e) => format!("not checked: cannot run openssl ({e})"),
    }
}

/// The lines of `openssl s_client`'s summary that matter here, in one line; `None` without a session.
fn summarize_s_client(output: &str) -> Option<String> {
    let value = |prefix: &str| output.lines().find_map(|l| l.trim().strip_prefix(prefix)).map(str::trim);
    let session = value("New, ").or_else(|| value("Reused, "))?;
    let (protocol, cipher) = session.split_once(", Cipher is ")?;
    if cipher == "(NONE)" {
        return None;
    }
    let kx = value("Server Temp Key:").map_or("?", |k| k.split(',').next().unwrap_or(k));
    let alpn = value("ALPN protocol:").unwrap_or("none");
    let signature = value("Peer signature type:").unwrap_or("?");
    let bits = value("Server public key is ").map_or("?", |b| b.trim_end_matches(" bit"));
    let subject = value("subject=").unwrap_or("?");
    Some(format!("{protocol}, {cipher}, {kx}, ALPN {alpn}, {signature} {bits}-bit leaf {subject}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::ServerCertVerifier as _;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use tokio_rustls::rustls::{self, RootCertStore};

    use super::*;

    /// The CA as the engine makes it, in short: a self-signed ECDSA P-256 CA certificate.
    fn ca() -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.distinguished_name.push(DnType::CommonName, "test CA");
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    #[test]
    fn the_leaf_is_ecdsa_p256_for_the_name_and_signed_by_the_ca() {
        let (ca_pem, ca_key) = ca();
        let (cert_pem, key_pem) = mint_leaf(&ca_pem, &ca_key, OffsetDateTime::now_utc()).unwrap();
        assert!(cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(KeyPair::from_pem(&key_pem).unwrap().is_compatible(&PKCS_ECDSA_P256_SHA256));
        // What a client trusting the CA checks: chain, name, validity, server auth.
        let der = |pem: &str| CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(der(&ca_pem)).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
        let name = ServerName::try_from(NAME).unwrap();
        assert!(verifier.verify_server_cert(&der(&cert_pem), &[], &name, &[], UnixTime::now()).is_ok());
        let other = ServerName::try_from("other.localhost").unwrap();
        assert!(verifier.verify_server_cert(&der(&cert_pem), &[], &other, &[], UnixTime::now()).is_err());
        assert!(mint_leaf(&ca_pem, "not a key", OffsetDateTime::now_utc()).is_err());
    }

    #[test]
    fn an_s_client_summary_reads_as_one_line() {
        let output = "---\nServer certificate\nsubject=CN = bench.localhost\nissuer=O = Roundabout\n---\n\
                      Peer signing digest: SHA256\nPeer signature type: ECDSA\nServer Temp Key: X25519, 253 bits\n\
                      ---\nNew, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384\nServer public key is 256 bit\n\
                      ALPN protocol: h2\n";
        assert_eq!(
            summarize_s_client(output).as_deref(),
            Some("TLSv1.3, TLS_AES_256_GCM_SHA384, X25519, ALPN h2, ECDSA 256-bit leaf CN = bench.localhost")
        );
        assert_eq!(summarize_s_client("New, (NONE), Cipher is (NONE)\n"), None);
        assert_eq!(summarize_s_client(""), None);
    }
}
