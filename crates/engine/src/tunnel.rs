//! Upgraded connections (WebSocket, dev servers' HMR): once the Upstream has answered 101, bytes are copied both
//! ways until either side closes.

use std::sync::Arc;

use bytes::BytesMut;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

use crate::upstream::OpenTunnel;
use crate::upstream_conn::Io;

/// Joins the client's upgraded connection to the Upstream's socket. `early` holds what the Upstream sent right
/// after its 101 (a first WebSocket frame), which goes to the client first. Runs in its own task; `open` keeps the
/// tunnel counted in the Upstream's open connections until it ends (so a disabled Upstream shows as draining).
pub async fn tunnel(client: OnUpgrade, mut upstream: Io, early: BytesMut, label: Arc<str>, open: OpenTunnel) {
    match client.await {
        Ok(client) => {
            let mut client = TokioIo::new(client);
            let copied = async {
                if !early.is_empty() {
                    client.write_all(&early).await?;
                }
                tokio::io::copy_bidirectional(&mut client, &mut upstream).await
            };
            if let Err(e) = copied.await {
                tracing::debug!(upstream = %label, "upgraded connection ended: {e}");
            }
        }
        Err(e) => tracing::debug!(upstream = %label, "upgrade failed: {e}"),
    }
    drop(open);
}
