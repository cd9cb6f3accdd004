//! Following files that an operator replaces in place (certificates, a copy of the users and
//! ACLs): polled, since every file system supports it and a few seconds' delay is fine.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

/// What identifies one version of a file: its modification time and length.
fn stamp(paths: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

/// Checks `paths` every `every` until `stop` and calls `reload` when any of them changed. A
/// reload that fails is reported (`what` names the files) and tried again at the next change;
/// whatever `reload` swaps in stays in force until then.
pub fn on_change(
    paths: Vec<PathBuf>,
    what: &'static str,
    every: Duration,
    stop: CancellationToken,
    mut reload: impl FnMut() -> Result<(), String> + Send + 'static,
) {
    tokio::spawn(async move {
        let mut seen = stamp(&paths);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            let now = stamp(&paths);
            if now == seen {
                continue;
            }
            seen = now;
            match reload() {
                Ok(()) => tracing::info!(file = %paths[0].display(), "{what} reloaded"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "{what}: the files changed but did not load; the previous version stays in force"
                ),
            }
        }
    });
}
