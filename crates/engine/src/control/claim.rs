//! One instance per config file: the instance holds an exclusive lock on the file's lock file for as long as it
//! runs (the OS releases it however the process ends, so a crash leaves nothing to clean up). A second instance
//! finds it held and asks the first who it is, to say so instead of failing on a busy port.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::address::Address;
use super::client::ControlClient;
use super::protocol::{Instance, InstanceKind, Reply, Request};
use super::server::ControlServer;
use super::{ControlError, local};
use crate::config::ConfigStore;
use crate::engine::EngineHandle;

/// How long a second instance waits for the first to say who it is.
const ASK: Duration = Duration::from_secs(2);

/// The right to serve one config file, held until dropped.
#[derive(Debug)]
pub struct Claim {
    lock: File,
    address: Address,
    config: PathBuf,
}

impl Claim {
    /// Claims `config` (at its [`Address`]): fails with [`ControlError::AlreadyRunning`] when an instance owns it.
    pub async fn take(config: &Path) -> Result<Claim, ControlError> {
        Self::take_at(Address::of(config)?, config).await
    }

    /// Like [`take`](Self::take) at a given address.
    pub async fn take_at(address: Address, config: &Path) -> Result<Claim, ControlError> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&address.lock)
            .map_err(ControlError::io(format!("opening {}", address.lock.display())))?;
        match lock.try_lock() {
            Ok(()) => Ok(Claim { lock, address, config: config.to_path_buf() }),
            Err(TryLockError::WouldBlock) => {
                let instance = tokio::time::timeout(ASK, who(&address)).await.ok().flatten();
                Err(ControlError::AlreadyRunning { config: config.to_path_buf(), instance })
            }
            Err(TryLockError::Error(e)) => {
                Err(ControlError::Io { what: format!("locking {}", address.lock.display()), e })
            }
        }
    }

    /// Starts answering on the control socket for `handle`, whose config lives in `store`.
    pub fn serve(
        self,
        handle: EngineHandle,
        store: ConfigStore,
        kind: InstanceKind,
    ) -> Result<ControlServer, ControlError> {
        let listener = local::listen(&self.address)
            .map_err(ControlError::io(format!("listening on {}", self.address.socket.display())))?;
        let instance = Instance {
            kind,
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            config: self.config.clone(),
        };
        Ok(ControlServer::start(listener, self, instance, handle, store))
    }

    /// Where this claim's socket is.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Releases the lock now rather than at drop.
    pub(super) fn release(&self) {
        let _ = self.lock.unlock();
    }
}

/// The instance at `address`, if it answers.
async fn who(address: &Address) -> Option<Instance> {
    let mut client = ControlClient::connect_at(address).await.ok()??;
    match client.call(&Request::Hello).await {
        Ok(Reply::Hello { instance }) => Some(instance),
        _ => None,
    }
}
