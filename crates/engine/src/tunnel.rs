//! Upgraded connections (WebSocket, dev servers' HMR): once the Upstream has answered 101, bytes are copied both
//! ways until either side closes.

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::upstream::OpenTunnel;

/// Joins the client's and the Upstream's upgraded connections. Runs in its own task; `open` keeps the tunnel counted
/// in the Upstream's open connections until it ends (so a disabled Upstream shows as draining).
pub async fn tunnel(client: OnUpgrade, upstream: OnUpgrade, label: std::sync::Arc<str>, open: OpenTunnel) {
    let (client, upstream) = tokio::join!(client, upstream);
    match (client, upstream) {
        (Ok(client), Ok(upstream)) => {
            let mut client = TokioIo::new(client);
            let mut upstream = TokioIo::new(upstream);
            if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                tracing::debug!(upstream = %label, "upgraded connection ended: {e}");
            }
        }
        (Err(e), _) | (_, Err(e)) => tracing::debug!(upstream = %label, "upgrade failed: {e}"),
    }
    drop(open);
}
