//! The client's side of an upgraded connection (WebSocket, dev servers' HMR). The connection's loop hands the socket
//! over once the 101 has been written; the tunnel waits for it.

use bytes::BytesMut;

use super::io::ClientIo;
use tokio::sync::oneshot;

/// The client's socket after the 101, and what the client sent after its request head (a first WebSocket frame),
/// which goes to the Upstream first.
#[derive(Debug)]
pub(crate) struct Upgraded {
    /// The client's connection.
    pub(crate) stream: ClientIo,
    /// Bytes already read from the client.
    pub(crate) early: BytesMut,
}

/// Resolves to the client's side once the connection's loop has written the 101.
#[derive(Debug)]
pub(crate) struct ClientUpgrade(oneshot::Receiver<Upgraded>);

/// Where the connection's loop hands the socket over.
pub(super) type Handover = oneshot::Sender<Upgraded>;

impl ClientUpgrade {
    /// A handover and the upgrade it completes.
    pub(super) fn pair() -> (Handover, ClientUpgrade) {
        let (tx, rx) = oneshot::channel();
        (tx, ClientUpgrade(rx))
    }

    /// The client's side; `None` when the connection ended before the 101 was written.
    pub(crate) async fn wait(self) -> Option<Upgraded> {
        self.0.await.ok()
    }
}
