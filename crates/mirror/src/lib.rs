//! `ferromq mirror`: a long-running process that copies messages queue by queue from a source
//! cluster to a target cluster and keeps consumer-group offsets in sync.
//!
//! Offsets cannot simply be copied: a target queue may already hold messages, the mirror may
//! start after the source's retention deleted the head of a queue, and filtered or refused
//! messages leave holes. The mirror therefore records, per source queue, exactly where every
//! copied run of messages landed and translates group offsets through that record.
//!
//! Map of the crate:
//! - [`map`]: [`map::QueueMap`] — exact source → target offset translation for one queue.
//! - [`state`]: [`state::StateDir`] — the locked, CRC-checked, atomically replaced state
//!   directory that lets translation survive restarts.
//! - [`metrics`]: [`metrics::Metrics`] — counters, gauges and lag figures, exported through a
//!   `prometheus-client` registry and copied, with rates and lag quantiles, into a JSON snapshot.

pub mod args;
mod copier;
mod error;
mod http;
pub mod map;
pub mod metrics;
mod remote;
pub mod report;
mod runner;
pub mod state;

pub use args::{ArgsError, MirrorArgs, MirrorCommand, RunArgs, RunConfig};
pub use error::{MirrorError, UsageError};
pub use runner::Mirror;

use std::time::Duration;

pub(crate) use ferromq_protocol::time::now_ms;

/// `ferromq mirror …`: runs the mirror until SIGINT/SIGTERM or a failover, or one of the
/// `status` / `failover` commands. Returns the exit code.
///
/// # Errors
/// Bad flags, a locked/corrupt/foreign state dir, an HTTP port in use.
pub async fn main(args: MirrorArgs) -> Result<i32, MirrorError> {
    match args.command {
        Some(MirrorCommand::Status { state_dir, output }) => {
            report::status_command(&state_dir, &output)
        }
        Some(MirrorCommand::Failover {
            state_dir,
            wait_secs,
        }) => tokio::task::spawn_blocking(move || {
            report::failover_command(&state_dir, Duration::from_secs(wait_secs))
        })
        .await
        .map_err(|e| MirrorError::Io(e.to_string()))?,
        None => {
            let cfg = args.run.validate()?;
            let mirror = Mirror::open(cfg)?;
            if let Some(addr) = mirror.cfg.metrics_addr {
                http::serve(mirror.clone(), addr).await?;
            }
            let stop = mirror.stop_token();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("signal received: stopping the mirror");
                stop.cancel();
            });
            mirror.run().await?;
            Ok(0)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
