//! The platform part of the control socket, through `interprocess`: a Unix domain socket of mode 0600 in a 0700
//! directory (and a check that each peer runs as the same user) on Unix; a named pipe whose security descriptor
//! admits the user alone (and the system) on Windows. Everything above this file is the same on every platform.

use std::io;
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::{ListenerOptions, Name};

use super::address::Address;

/// The socket of config id `id` in `dir`; on Windows the pipe's name (`\\.\pipe\ID`).
pub(super) fn socket_path(dir: &Path, id: &str) -> PathBuf {
    if cfg!(windows) { PathBuf::from(id) } else { dir.join(format!("{id}.sock")) }
}

/// Creates `dir` (and its parents) and makes it the user's alone.
pub(super) fn private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Starts listening at `address`. The caller holds the lock, so a socket file left there is a crashed instance's
/// and is replaced.
pub(super) fn listen(address: &Address) -> io::Result<Listener> {
    #[cfg(unix)]
    {
        use interprocess::os::unix::local_socket::ListenerOptionsExt;
        match std::fs::remove_file(&address.socket) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        ListenerOptions::new().name(name(address)?).mode(0o600).create_tokio()
    }
    #[cfg(windows)]
    {
        use interprocess::os::windows::local_socket::ListenerOptionsExt;
        use interprocess::os::windows::security_descriptor::SecurityDescriptor;
        // Protected DACL: full access for the pipe's owner (the user) and the system; nobody else.
        let sddl = widestring::U16CString::from_str("D:P(A;;GA;;;OW)(A;;GA;;;SY)")
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let descriptor = SecurityDescriptor::deserialize(&sddl)?;
        ListenerOptions::new().name(name(address)?).security_descriptor(descriptor).create_tokio()
    }
}

/// Connects to the instance at `address`.
pub(super) async fn connect(address: &Address) -> io::Result<Stream> {
    Stream::connect(name(address)?).await
}

/// True when the peer on `stream` is the user this instance runs as (the owner of the socket's directory). On
/// Windows the pipe's security descriptor already admits nobody else.
pub(super) fn same_user(stream: &Stream, address: &Address) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let owner = address.socket.parent().and_then(|dir| std::fs::metadata(dir).ok()).map(|m| m.uid());
        let peer = stream.peer_creds().ok().and_then(|c| c.euid());
        matches!((owner, peer), (Some(owner), Some(peer)) if owner == peer)
    }
    #[cfg(not(unix))]
    {
        let _ = (stream, address);
        true
    }
}

fn name(address: &Address) -> io::Result<Name<'_>> {
    #[cfg(unix)]
    {
        use interprocess::local_socket::GenericFilePath;
        address.socket.as_path().to_fs_name::<GenericFilePath>()
    }
    #[cfg(windows)]
    {
        use interprocess::local_socket::GenericNamespaced;
        address.socket.as_os_str().to_ns_name::<GenericNamespaced>()
    }
}
