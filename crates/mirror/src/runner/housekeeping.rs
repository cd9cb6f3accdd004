//! Housekeeping: once a second, saves the state, writes the status file and progress, and
//! watches for a failover request, which it then carries out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Mirror;
use crate::report::{self, FailoverReport, FAILOVER_REPORT, FAILOVER_REQUEST, STATUS_FILE};
use crate::state::QueueKey;
use crate::MirrorError;

impl Mirror {
    pub(super) async fn housekeeping_loop(self: Arc<Self>) {
        let mut failing_over = false;
        let mut last_log = Instant::now();
        let bar = report::ProgressBar::on_terminal();
        loop {
            self.metrics.tick();
            let status = self.status("running");
            if let Some(bar) = &bar {
                bar.show(&status);
            }
            if let Err(e) = self.save() {
                tracing::error!("saving the mirror state: {e}");
            }
            if let Err(e) = self.dir.write_json(STATUS_FILE, &status) {
                tracing::warn!("writing {STATUS_FILE}: {e}");
            }
            if bar.is_none() && last_log.elapsed() >= Duration::from_secs(10) {
                last_log = Instant::now();
                report::log_progress(&status);
            }
            if !failing_over && self.dir.path().join(FAILOVER_REQUEST).exists() {
                failing_over = true;
                tokio::spawn(self.clone().failover());
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }

    /// Copies every queue up to what the source holds now (if it answers), syncs offsets once
    /// more, writes the failover report and stops the mirror.
    async fn failover(self: Arc<Self>) {
        tracing::warn!("failover requested: draining");
        let all: Vec<QueueKey> = self.state.lock().queues.keys().cloned().collect();
        let keys: Vec<(QueueKey, String)> = {
            let rt = self.rt.lock();
            all.into_iter()
                .filter_map(|k| {
                    let addr = rt.source_brokers.get(&k.broker)?.clone();
                    Some((k, addr))
                })
                .collect()
        };
        let mut drain_to = HashMap::new();
        let mut source_reachable = true;
        for (k, addr) in &keys {
            let max = if source_reachable {
                match tokio::time::timeout(
                    Duration::from_secs(2),
                    self.source.max_offset(addr, &k.topic, k.queue_id),
                )
                .await
                {
                    Ok(Ok(m)) => Some(m),
                    _ => {
                        source_reachable = false;
                        None
                    }
                }
            } else {
                None
            };
            let here = self.map_of(k).and_then(|m| m.src_next()).unwrap_or(0);
            drain_to.insert(k.clone(), max.unwrap_or(here).max(here));
        }
        if !source_reachable {
            // Whatever was copied is all there is: stop every queue where it is.
            for (k, v) in drain_to.iter_mut() {
                *v = self.map_of(k).and_then(|m| m.src_next()).unwrap_or(*v);
            }
        }
        self.rt.lock().drain_to = Some(drain_to.clone());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && !keys.iter().all(|(k, _)| self.drained(k)) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if source_reachable {
            let _ = self.sync_once(Instant::now()).await;
        }
        let now = crate::now_ms();
        self.state.lock().failed_over_at = Some(now);
        let status = self.status("failed-over");
        let rep = FailoverReport::new(&status, source_reachable, &self.cfg);
        if let Err(e) = self.dir.write_json(STATUS_FILE, &status) {
            tracing::warn!("writing {STATUS_FILE}: {e}");
        }
        if let Err(e) = self.save() {
            tracing::error!("saving the mirror state: {e}");
        }
        if let Err(e) = self.dir.write_json(FAILOVER_REPORT, &rep) {
            tracing::error!("writing {FAILOVER_REPORT}: {e}");
        }
        tracing::warn!("failover complete: the mirror stops");
        self.stop.cancel();
    }

    pub(super) fn save(&self) -> Result<(), MirrorError> {
        let snapshot = self.state.lock().clone();
        self.dir.save(&snapshot).map_err(MirrorError::from)
    }
}
