//! Offset sync: reads the source's group offsets, translates those that changed through the
//! queue maps, and writes them to the target, remembering what was written.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_client::ClientError;

use super::{Mirror, Problems};
use crate::map::Kind;
use crate::remote::SyncEntry;
use crate::report::GroupStatus;
use crate::state::{Applied, GroupQueueKey, QueueKey};

/// How often every translated offset is written again, changed or not.
const FULL_RESYNC_EVERY: Duration = Duration::from_secs(60);

/// Why one offset sync pass did not write every offset (the next pass tries again).
pub(crate) type SyncError = Problems<SyncProblem>;

/// One broker that failed during an offset sync pass.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncProblem {
    /// A source broker's offsets could not be read.
    #[error("source broker {broker}: {error}")]
    Source {
        broker: String,
        #[source]
        error: ClientError,
    },
    /// Offsets are due on a target broker that discovery has not seen.
    #[error("target broker {broker} is unknown")]
    UnknownTarget { broker: String },
    /// A target broker did not take the offsets.
    #[error("target broker {broker}: {error}")]
    Target {
        broker: String,
        #[source]
        error: ClientError,
    },
}

impl Mirror {
    pub(super) async fn sync_loop(self: Arc<Self>) {
        let mut last_poll = Instant::now();
        let mut last_full = Instant::now();
        loop {
            let polled = Instant::now();
            // Now and then (and after any failure) forget what was written, so every offset is
            // written again: a target that restarted or was restored gets them back.
            if last_full.elapsed() >= FULL_RESYNC_EVERY {
                last_full = Instant::now();
                self.state.lock().applied.clear();
            }
            if let Err(e) = self.sync_once(last_poll).await {
                last_full = Instant::now() - FULL_RESYNC_EVERY;
                self.metrics.add_error("offsets");
                let e = e.to_string();
                let mut rt = self.rt.lock();
                if rt.errors.get("offsets") != Some(&e) {
                    tracing::warn!("offset sync: {e}");
                }
                rt.errors.insert("offsets", e);
            } else {
                self.rt.lock().errors.remove("offsets");
            }
            last_poll = polled;
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.offset_interval) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }

    /// Reads every source broker's offsets, translates those that changed since they were
    /// last written, and writes them per target broker. `since`: the previous poll (a change
    /// seen now happened after it).
    pub(crate) async fn sync_once(&self, since: Instant) -> Result<(), SyncError> {
        let sources = self.rt.lock().source_brokers.clone();
        let mut batches: BTreeMap<String, Vec<(GroupQueueKey, i64, i64, Kind)>> = BTreeMap::new();
        let mut problems = Problems::new();
        for (name, addr) in &sources {
            let offsets = match self.source.all_offsets(addr).await {
                Ok(o) => o,
                Err(error) => {
                    problems.push(SyncProblem::Source {
                        broker: name.clone(),
                        error,
                    });
                    continue;
                }
            };
            let state = self.state.lock();
            let mut rt = self.rt.lock();
            for (group, topic, queue_id, off) in offsets {
                if !self.wanted_group(&group) {
                    continue;
                }
                let key = GroupQueueKey {
                    group,
                    queue: QueueKey {
                        topic,
                        broker: name.clone(),
                        queue_id,
                    },
                };
                let Some(q) = state.queues.get(&key.queue) else {
                    continue;
                };
                let Some(tr) = q.translate(off) else {
                    continue;
                };
                if state.applied.get(&key)
                    == Some(&Applied {
                        src: off,
                        tgt: tr.tgt,
                    })
                {
                    rt.pending.remove(&key);
                    continue;
                }
                match rt.pending.get(&key) {
                    Some((o, _)) if *o == off => {}
                    _ => {
                        rt.pending.insert(key.clone(), (off, since));
                    }
                }
                batches
                    .entry(q.target_broker.clone())
                    .or_default()
                    .push((key, off, tr.tgt, tr.kind));
            }
        }
        let targets = self.rt.lock().target_brokers.clone();
        for (broker, items) in batches {
            let Some(addr) = targets.get(&broker) else {
                problems.push(SyncProblem::UnknownTarget {
                    broker: broker.clone(),
                });
                continue;
            };
            for chunk in items.chunks(2000) {
                let entries: Vec<SyncEntry> = chunk
                    .iter()
                    .map(|(k, _, tgt, _)| SyncEntry {
                        group: k.group.clone(),
                        topic: k.queue.topic.clone(),
                        queue_id: k.queue.queue_id,
                        offset: *tgt,
                    })
                    .collect();
                match self
                    .target
                    .sync_offsets(addr, &entries, !self.cfg.force_groups)
                    .await
                {
                    Ok(res) => self.note_synced(chunk, &res),
                    Err(error) => problems.push(SyncProblem::Target {
                        broker: broker.clone(),
                        error,
                    }),
                }
            }
        }
        problems.into_result()
    }

    fn note_synced(
        &self,
        chunk: &[(GroupQueueKey, i64, i64, Kind)],
        res: &crate::remote::SyncResult,
    ) {
        let skipped: HashSet<&str> = res
            .skipped_online_groups
            .iter()
            .map(String::as_str)
            .collect();
        let rejected: HashSet<(String, String, i64)> = res
            .rejected
            .iter()
            .map(|r| {
                (
                    r.entry.group.clone(),
                    r.entry.topic.clone(),
                    i64::from(r.entry.queue_id),
                )
            })
            .collect();
        let mut state = self.state.lock();
        let mut rt = self.rt.lock();
        let now = Instant::now();
        for (key, src, tgt, kind) in chunk {
            let g = rt
                .groups
                .entry(key.group.clone())
                .or_insert_with(|| GroupStatus::new(&key.group));
            if skipped.contains(key.group.as_str()) {
                g.skipped_online = true;
                continue;
            }
            g.skipped_online = false;
            if rejected.contains(&(
                key.group.clone(),
                key.queue.topic.clone(),
                key.queue.queue_id as i64,
            )) {
                g.last_error = Some(format!(
                    "target refused the offset of {}:{}",
                    key.queue.topic, key.queue.queue_id
                ));
                continue;
            }
            state.applied.insert(
                key.clone(),
                Applied {
                    src: *src,
                    tgt: *tgt,
                },
            );
            self.metrics.add_offsets_applied(1);
            if *kind != Kind::Held {
                if let Some((_, seen)) = rt.pending.remove(key) {
                    self.metrics.record_offset_sync_lag(now - seen);
                }
            }
        }
    }
}
