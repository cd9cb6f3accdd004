//! The accept loop.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::connection::{ConnConfig, Connection, Handler};

/// Accepts connections on `listener` until `shutdown` is cancelled; each connection is served
/// by `handler` and is closed when `shutdown` is cancelled.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    cfg: ConnConfig,
    shutdown: CancellationToken,
) {
    let local = listener.local_addr().ok();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, _)) => {
                if let Err(e) = Connection::spawn(stream, handler.clone(), &cfg, &shutdown) {
                    warn!("failed to set up connection: {e}");
                }
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    info!(?local, "listener stopped");
}
