//! The accept loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_tls::Acceptor;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::connection::{ConnConfig, Connection, Handler};
use crate::slot::ConnectionSlot;

/// Refused connections are logged at most this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` until `shutdown` is cancelled; each connection is served
/// by `handler` and is closed when `shutdown` is cancelled. `tls` decides, per connection,
/// between plaintext, TLS and refusal; its handshakes run in their own tasks, so a slow client
/// never holds up the next accept.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    cfg: ConnConfig,
    tls: Acceptor,
    shutdown: CancellationToken,
) {
    let local = listener.local_addr().ok();
    let mut refused = 0u64;
    let mut last_warning = Instant::now() - WARN_EVERY;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let Some(slot) = cfg.take_slot() else {
                    handler.on_limit("max-connections");
                    refused += 1;
                    if last_warning.elapsed() >= WARN_EVERY {
                        warn!(%peer, refused, max = cfg.max_connections, "connections refused: max-connections reached");
                        last_warning = Instant::now();
                        refused = 0;
                    }
                    drop(stream);
                    continue;
                };
                if tls.is_plaintext() {
                    start(
                        Connection::spawn(stream, handler.clone(), &cfg, &shutdown),
                        slot,
                    );
                    continue;
                }
                let (tls, handler, cfg, shutdown) =
                    (tls.clone(), handler.clone(), cfg.clone(), shutdown.clone());
                tokio::spawn(async move {
                    match tls.accept(stream).await {
                        Ok(s) => start(
                            Connection::spawn_accepted(s, handler, &cfg, &shutdown),
                            slot,
                        ),
                        // Dropping the slot gives the place back.
                        Err(e) => debug!(%peer, "connection refused: {e}"),
                    }
                });
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    info!(?local, "listener stopped");
}

/// Holds a started connection's slot (taken at accept) until it closes.
fn start(conn: std::io::Result<Connection>, slot: ConnectionSlot) {
    match conn {
        Ok(conn) => {
            tokio::spawn(async move {
                conn.closed().await;
                drop(slot);
            });
        }
        Err(e) => warn!("failed to set up connection: {e}"),
    }
}
