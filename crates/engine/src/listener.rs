//! A Listener: bound sockets, an accept loop per socket, and a graceful drain on stop.
//!
//! Each connection is served by [`h1_server::serve`] (HTTP/1.1, and h2c through hyper) with a header-read timeout
//! and a cap on header size, so slow or garbage clients cannot hold it up.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::bind::BindAddress;
use crate::h1_server;
use crate::proxy::{Connection, Proxy};

/// How long a client may take to send a request head, and how long an idle keep-alive connection is kept. One
/// timer per connection checks it, so a slow or idle client is closed after one to two times this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head accepted (request line and headers); bigger heads get 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Why a Listener could not bind. Messages name the address and what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ListenError {
    /// Another program holds the port.
    #[error("{0} is already in use; stop the program using it or choose another port")]
    InUse(SocketAddr),
    /// Low ports need privileges.
    #[error("binding {0} needs administrator rights; use a port above 1023")]
    Permission(SocketAddr),
    /// The address is not one of this machine's.
    #[error("{0} is not an address of this machine; use 127.0.0.1 or another local address")]
    NotAvailable(SocketAddr),
    /// Anything else the OS reported.
    #[error("cannot listen on {addr}: {reason}")]
    Other {
        /// The address.
        addr: SocketAddr,
        /// The OS's reason.
        reason: String,
    },
}

/// Binds every address of `bind`. For a loopback pair the IPv6 half is optional (the machine may lack ::1).
pub fn bind(bind: &BindAddress) -> Result<Vec<std::net::TcpListener>, ListenError> {
    let mut sockets = Vec::new();
    for (i, addr) in bind.addrs.iter().enumerate() {
        match bind_one(*addr) {
            Ok(s) => sockets.push(s),
            Err(ListenError::NotAvailable(_)) if i > 0 && !bind.exposed => {
                tracing::debug!("{addr} is not available here; serving on the other loopback address only");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(sockets)
}

fn bind_one(addr: SocketAddr) -> Result<std::net::TcpListener, ListenError> {
    let classify = |e: io::Error| match e.kind() {
        io::ErrorKind::AddrInUse => ListenError::InUse(addr),
        io::ErrorKind::PermissionDenied => ListenError::Permission(addr),
        io::ErrorKind::AddrNotAvailable | io::ErrorKind::Unsupported => ListenError::NotAvailable(addr),
        _ if e.raw_os_error() == Some(97) => ListenError::NotAvailable(addr), // EAFNOSUPPORT: no IPv6 here
        _ => ListenError::Other { addr, reason: e.to_string() },
    };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(classify)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(classify)?;
    }
    // Lets a restarted Roundabout rebind while old connections sit in TIME_WAIT (not port sharing).
    #[cfg(unix)]
    socket.set_reuse_address(true).map_err(classify)?;
    socket.bind(&addr.into()).map_err(classify)?;
    socket.listen(1024).map_err(classify)?;
    socket.set_nonblocking(true).map_err(classify)?;
    Ok(socket.into())
}

/// A started Listener's tasks; dropping it does not stop them, [`Running::stop`] does.
#[derive(Debug)]
pub struct Running {
    /// The addresses actually bound.
    pub addrs: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Starts accepting on already-bound sockets.
    pub fn start(
        name: &str,
        sockets: Vec<std::net::TcpListener>,
        proxy: &Arc<Proxy>,
        drain: Duration,
    ) -> io::Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let mut addrs = Vec::with_capacity(sockets.len());
        let mut tasks = Vec::with_capacity(sockets.len());
        let name: Arc<str> = name.into();
        for socket in sockets {
            let listener = TcpListener::from_std(socket)?;
            addrs.push(listener.local_addr()?);
            tasks.push(tokio::spawn(accept_loop(
                listener,
                Arc::clone(&name),
                Arc::clone(proxy),
                stopped.clone(),
                drain,
            )));
        }
        Ok(Running { addrs, stop, tasks })
    }

    /// Stops accepting, lets in-flight requests finish (up to the drain time), then returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    name: Arc<str>,
    proxy: Arc<Proxy>,
    mut stop: watch::Receiver<bool>,
    drain: Duration,
) {
    let local = listener.local_addr().ok();
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = stop.changed() => break,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment rather than spin, then keep serving.
                tracing::warn!(listener = %name, "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(Connection {
            listener: Arc::clone(&name),
            local: stream.local_addr().ok().or(local).unwrap_or(remote),
            remote,
            forwarded_for: crate::forward::forwarded_for(remote.ip()),
        });
        connections.spawn(h1_server::serve(stream, conn, Arc::clone(&proxy), stop.clone()));
    }
    drop(listener);
    // Idle connections close at once; busy ones finish their response (told `Connection: close`).
    let drained = tokio::time::timeout(drain, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::info!(listener = %name, "connections still busy after {drain:?} were closed");
    }
    connections.shutdown().await;
}
