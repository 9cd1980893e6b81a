//! A Listener: bound sockets, an accept loop per socket, and a graceful drain on stop.
//!
//! Each connection is served by [`super::serve::serve`] (HTTP/1.1, and h2c through hyper) with a header-read
//! timeout and a cap on header size, so slow or garbage clients cannot hold it up.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use super::{Connection, Handler, serve};

/// Why a Listener could not bind. Messages name the address and what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum ListenError {
    /// Another program holds the port.
    #[error("{0} is already in use; stop the program using it or choose another port")]
    InUse(SocketAddr),
    /// Low ports need privileges.
    #[error("binding {0} needs privilege (a port below 1024): {fix}", fix = privilege_fix())]
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

/// What to do when a port below 1024 may not be bound, for this platform and this binary.
pub(crate) fn privilege_fix() -> String {
    if cfg!(target_os = "linux") {
        let exe = std::env::current_exe().map_or_else(|_| "/path/to/roundabout".into(), |p| p.display().to_string());
        format!(
            "grant it to Roundabout once with `sudo setcap cap_net_bind_service=+ep {exe}`, or let every program bind \
             low ports with `sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80` (add the setting to /etc/sysctl.d/ \
             to keep it), or use a port above 1023"
        )
    } else {
        "run Roundabout with administrator rights, or use a port above 1023".into()
    }
}

/// `Ok` when this process may listen on `addr` now (the socket is closed again at once).
pub(crate) fn bindable(addr: SocketAddr) -> Result<(), ListenError> {
    bind_one(addr).map(drop)
}

/// Binds every address of a Listener. For a loopback pair (not `exposed`) the IPv6 half is optional: the machine
/// may lack ::1.
pub(crate) fn bind(addrs: &[SocketAddr], exposed: bool) -> Result<Vec<std::net::TcpListener>, ListenError> {
    let mut sockets = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        match bind_one(*addr) {
            Ok(s) => sockets.push(s),
            Err(ListenError::NotAvailable(_)) if i > 0 && !exposed => {
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
pub(crate) struct Running {
    /// The addresses actually bound.
    pub(crate) addrs: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    /// One per socket: fires once its accept loop has closed the socket.
    closed: Vec<oneshot::Receiver<()>>,
    tasks: Vec<JoinHandle<()>>,
}

/// A stopped Listener whose connections are still finishing their requests.
#[derive(Debug)]
#[must_use = "a drain does nothing unless awaited"]
pub(crate) struct Draining {
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Starts accepting on already-bound sockets; each connection's requests go to `handler`. With `tls`, the
    /// Listener speaks HTTPS.
    pub(crate) fn start<H: Handler>(
        name: &str,
        sockets: Vec<std::net::TcpListener>,
        handler: &Arc<H>,
        tls: Option<Arc<rustls::ServerConfig>>,
        drain: Duration,
    ) -> io::Result<Self> {
        let tls = tls.map(TlsAcceptor::from);
        let (stop, stopped) = watch::channel(false);
        let mut running = Running { addrs: Vec::new(), stop, closed: Vec::new(), tasks: Vec::new() };
        let name: Arc<str> = name.into();
        for socket in sockets {
            let listener = TcpListener::from_std(socket)?;
            running.addrs.push(listener.local_addr()?);
            let (closed, on_closed) = oneshot::channel();
            running.closed.push(on_closed);
            let accepting = Accepting {
                name: Arc::clone(&name),
                handler: Arc::clone(handler),
                stop: stopped.clone(),
                tls: tls.clone(),
            };
            running.tasks.push(tokio::spawn(accepting.run(listener, closed, drain)));
        }
        Ok(running)
    }

    /// Stops accepting. Returns once every socket is closed (so the address can be bound again), with the drain of
    /// the connections still open: they finish their responses, up to the drain time.
    pub(crate) async fn stop(self) -> Draining {
        let _ = self.stop.send(true);
        for closed in self.closed {
            let _ = closed.await;
        }
        Draining { tasks: self.tasks }
    }
}

impl Draining {
    /// Waits until every connection has finished (or was closed at the end of the drain time).
    pub(crate) async fn finish(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// One socket's accept loop and what it needs.
struct Accepting<H> {
    name: Arc<str>,
    handler: Arc<H>,
    stop: watch::Receiver<bool>,
    /// Set for an HTTPS Listener.
    tls: Option<TlsAcceptor>,
}

impl<H: Handler> Accepting<H> {
    async fn run(mut self, listener: TcpListener, closed: oneshot::Sender<()>, drain: Duration) {
        let local = listener.local_addr().ok();
        let mut connections = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                _ = self.stop.changed() => break,
            };
            let (stream, remote) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin, then keep serving.
                    tracing::warn!(listener = %self.name, "accept failed: {e}");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                        _ = self.stop.changed() => break,
                    }
                }
            };
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().ok().or(local).unwrap_or(remote);
            let conn = Arc::new(Connection::new(Arc::clone(&self.name), local, remote, self.tls.is_some()));
            let (handler, stop, tls) = (Arc::clone(&self.handler), self.stop.clone(), self.tls.clone());
            connections.spawn(serve::connection(stream, conn, handler, stop, tls));
        }
        drop(listener);
        let _ = closed.send(());
        // Idle connections close at once; busy ones finish their response (told `Connection: close`).
        let drained = tokio::time::timeout(drain, async { while connections.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::info!(listener = %self.name, "connections still busy after {drain:?} were closed");
        }
        connections.shutdown().await;
    }
}
