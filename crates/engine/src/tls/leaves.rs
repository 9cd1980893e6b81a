//! The certificate a TLS handshake gets: one leaf per local name the client asks for (SNI), minted from the local
//! CA on first use and kept for the next handshakes. No SNI gets `localhost`'s; a name that is not local gets
//! none, and the handshake fails.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::pki_types::PrivateKeyDer;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

use super::ca::{LEAF_LIFETIME, LocalCa};
use super::names::LocalName;

/// Leaves kept at most; past it the cache starts over (names come from clients, so it must not grow forever).
const MAX_LEAVES: usize = 1024;
/// A leaf this close to its end is minted again.
const RENEW_BEFORE: time::Duration = time::Duration::days(7);

/// Mints and keeps the leaves of one CA.
#[derive(Debug)]
pub struct Leaves {
    ca: Arc<LocalCa>,
    minted: RwLock<HashMap<LocalName, Minted>>,
}

#[derive(Debug, Clone)]
struct Minted {
    key: Arc<CertifiedKey>,
    renew_at: OffsetDateTime,
}

impl Leaves {
    /// Leaves signed by `ca`.
    pub fn new(ca: Arc<LocalCa>) -> Self {
        Leaves { ca, minted: RwLock::default() }
    }

    /// The certified key for `name`, minted now if there is none yet or it nears its end.
    pub fn for_name(&self, name: &LocalName) -> Option<Arc<CertifiedKey>> {
        let now = OffsetDateTime::now_utc();
        if let Some(minted) = self.minted.read().unwrap_or_else(PoisonError::into_inner).get(name)
            && now < minted.renew_at
        {
            return Some(Arc::clone(&minted.key));
        }
        let (cert, key) = self
            .ca
            .issue(name, now)
            .inspect_err(|e| tracing::warn!("no certificate for {}: {e}", name.as_san()))
            .ok()?;
        let signing =
            rustls::crypto::ring::sign::any_ecdsa_type(&PrivateKeyDer::Pkcs8(key.serialize_der().into())).ok()?;
        let key = Arc::new(CertifiedKey::new(vec![cert], signing));
        let mut minted = self.minted.write().unwrap_or_else(PoisonError::into_inner);
        if minted.len() >= MAX_LEAVES {
            minted.clear();
        }
        let renew_at = now + LEAF_LIFETIME - RENEW_BEFORE;
        minted.insert(name.clone(), Minted { key: Arc::clone(&key), renew_at });
        Some(key)
    }
}

impl ResolvesServerCert for Leaves {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = LocalName::parse(hello.server_name().unwrap_or("localhost"))?;
        self.for_name(&name)
    }
}
