//! The client side of the control socket: connect to the instance serving a config file (or learn that none is
//! running), send requests, read replies.

use std::path::Path;

use interprocess::local_socket::tokio::Stream;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::address::Address;
use super::protocol::{Reply, Request};
use super::{ControlError, local};

/// A connection to a running instance.
#[derive(Debug)]
pub struct ControlClient {
    io: BufReader<Stream>,
    line: String,
}

impl ControlClient {
    /// Connects to the instance serving `config`; `Ok(None)` when none is running.
    pub async fn connect(config: &Path) -> Result<Option<ControlClient>, ControlError> {
        Self::connect_at(&Address::of(config)?).await
    }

    /// Connects to the instance at `address`; `Ok(None)` when none is running there.
    pub async fn connect_at(address: &Address) -> Result<Option<ControlClient>, ControlError> {
        match local::connect(address).await {
            Ok(stream) => Ok(Some(ControlClient { io: BufReader::new(stream), line: String::new() })),
            // No socket, or a socket nobody listens on (left by an instance that crashed).
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {
                Ok(None)
            }
            Err(e) => Err(ControlError::Io { what: format!("connecting to {}", address.socket.display()), e }),
        }
    }

    /// Sends one request.
    pub async fn send(&mut self, request: &Request) -> Result<(), ControlError> {
        let mut line = serde_json::to_vec(request).map_err(|e| ControlError::Protocol(e.to_string()))?;
        line.push(b'\n');
        self.io.get_mut().write_all(&line).await.map_err(|_| ControlError::Closed)
    }

    /// The next reply; `None` when the instance closed the connection.
    pub async fn next(&mut self) -> Result<Option<Reply>, ControlError> {
        self.line.clear();
        match self.io.read_line(&mut self.line).await {
            Ok(0) => Ok(None),
            Ok(_) => serde_json::from_str(&self.line).map(Some).map_err(|e| ControlError::Protocol(e.to_string())),
            Err(_) => Err(ControlError::Closed),
        }
    }

    /// Sends `request` and returns its reply; an error reply becomes [`ControlError::Refused`].
    pub async fn call(&mut self, request: &Request) -> Result<Reply, ControlError> {
        self.send(request).await?;
        match self.next().await? {
            Some(Reply::Error { code, message, issues }) => Err(ControlError::Refused { code, message, issues }),
            Some(reply) => Ok(reply),
            None => Err(ControlError::Closed),
        }
    }
}
