//! Periodic chores: dropping consumers and producers silent for 120 s (and telling their
//! groups), deleting expired commit-log segments, and sampling the put/get totals each second
//! for the runtime-info rates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::Broker;

/// A client is gone after this long without a heartbeat (upstream `channelExpiredTimeout`).
pub const CLIENT_EXPIRY: Duration = Duration::from_secs(120);
const SCAN_EVERY: Duration = Duration::from_secs(10);
const RETENTION_EVERY: Duration = Duration::from_secs(600);

pub async fn run(b: Arc<Broker>) {
    let mut scan = tokio::time::interval(SCAN_EVERY);
    let mut retention = tokio::time::interval(RETENTION_EVERY);
    let mut sample = tokio::time::interval(crate::stats::SAMPLE_EVERY);
    sample.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = sample.tick() => b.stats.sample(Instant::now()),
            _ = scan.tick() => {
                b.locks.expire(Instant::now());
                b.grpc_clients.expire(Instant::now(), CLIENT_EXPIRY);
                for group in b.clients.expire(Instant::now(), CLIENT_EXPIRY) {
                    info!(%group, "consumer expired: no heartbeat for 120 s");
                    b.clients.notify_ids_changed(&group);
                }
            }
            _ = retention.tick() => {
                let store = b.store.clone();
                match tokio::task::spawn_blocking(move || store.run_retention()).await {
                    Ok(Ok(n)) if n > 0 => info!(segments = n, "retention deleted expired commit-log segments"),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => warn!("retention failed: {e}"),
                    Err(e) => warn!("retention task failed: {e}"),
                }
            }
            _ = b.shutdown.cancelled() => break,
        }
    }
}
