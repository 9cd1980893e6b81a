//! Upgraded connections (WebSocket, dev servers' HMR): once the Upstream has answered 101, bytes are copied both
//! ways until either side closes.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;

use crate::routing::OpenTunnel;
use crate::server::ClientUpgrade;
use crate::upstream::Io;

/// Joins the client's upgraded connection to the Upstream's socket. `early` holds what the Upstream sent right
/// after its 101 (a first WebSocket frame), which goes to the client first; what the client sent right after its
/// request goes to the Upstream first. Runs in its own task; `open` keeps the tunnel counted in the Upstream's open
/// connections until it ends (so a disabled Upstream shows as draining).
pub(super) async fn tunnel(
    client: ClientUpgrade,
    mut upstream: Io,
    early: BytesMut,
    label: Arc<str>,
    open: OpenTunnel,
) {
    if let Some(mut client) = client.wait().await {
        let copied = async {
            if !client.early.is_empty() {
                upstream.write_all(&client.early).await?;
            }
            if !early.is_empty() {
                client.stream.write_all(&early).await?;
            }
            tokio::io::copy_bidirectional(&mut client.stream, &mut upstream).await
        };
        if let Err(e) = copied.await {
            tracing::debug!(upstream = %label, "upgraded connection ended: {e}");
        }
    } else {
        tracing::debug!(upstream = %label, "the client left before its upgrade was complete");
    }
    drop(open);
}
