//! Loopback ports for the run: picked free by the kernel, and waited on until something accepts there.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// `count` distinct free ports on 127.0.0.1. They are released before use, which is racy in general but fine on
/// a benchmark machine: all of them are held at once, so at least they differ from each other.
pub fn free_ports(count: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    listeners.iter().map(|l| l.local_addr().map(|a| a.port()).map_err(|e| format!("cannot read a port: {e}"))).collect()
}

/// Polls a TCP connect to `127.0.0.1:port` until it succeeds, `alive` says the process died, or the deadline.
pub fn wait_listening(
    port: u16,
    within: Duration,
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + within;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        alive()?;
        if Instant::now() >= deadline {
            return Err(format!("nothing accepted on {addr} within {within:?}"));
        }
        // A poll interval, not a synchronisation: the loop ends as soon as the port accepts.
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_a_listening_port_is_found() {
        let ports = free_ports(6).unwrap();
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 6);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(wait_listening(port, Duration::from_secs(1), || Ok(())).is_ok());
    }

    #[test]
    fn a_dead_process_ends_the_wait_early() {
        let port = free_ports(1).unwrap()[0];
        let result = wait_listening(port, Duration::from_secs(30), || Err("exited".into()));
        assert_eq!(result, Err("exited".into()));
    }
}
