//! Compaction: writing a snapshot of the table, switching the log to a new segment, and
//! removing the snapshots and segments the newest snapshots make unnecessary.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tracing::info;

use super::state::Inner;
use crate::change::{Change, Intent};
use crate::codec::SEG_HEADER_LEN;
use crate::error::OffsetError;
use crate::files::{self, segment_path};

impl Inner {
    /// Whether the active log segment has outgrown the latest snapshot enough for a new one.
    pub(super) fn compaction_due(&self) -> bool {
        let log = self.log.lock();
        let log_bytes = log.pos - SEG_HEADER_LEN;
        let threshold = self
            .tuning
            .compact_min_log_bytes
            .max((log.snapshot_bytes as f64 * self.tuning.compact_log_ratio) as u64);
        log_bytes > threshold
    }

    /// Writes a snapshot and removes files it makes unnecessary.
    ///
    /// 1. fsync the active segment; pre-create segment N+1 (header, fsync, dir fsync).
    /// 2. Under the log mutex: fsync N's last few writes, switch appends to N+1, and read the
    ///    data version of this cut.
    /// 3. Encode the table group by group, holding the read lock only per chunk. The image may
    ///    include changes made after the cut; this is harmless because every state record is an
    ///    idempotent last-writer-wins operation, and replay re-applies N+1 from its start.
    /// 4. Write `snapshot-(N+1)` via temp file + fsync + rename + dir fsync.
    /// 5. Keep the newest two snapshots and the segments the older of them needs.
    pub(super) fn compact(&self) -> Result<(), OffsetError> {
        let _c = self.compact_lock.lock();
        let started = Instant::now();
        self.sync_now()?;
        let new_seq = self.log.lock().seq + 1;
        let new_file = files::create_segment(&self.dir, new_seq)?;
        let (counter, ts, hint) = {
            let mut log = self.log.lock();
            if self.closed.load(Ordering::SeqCst) {
                return Err(OffsetError::Closed);
            }
            self.write_pending(&mut log)?;
            if let Err(e) = self.sync_file(&log.file) {
                let err = OffsetError::io("fdatasync", segment_path(&self.dir, log.seq), e);
                drop(log);
                self.roll_back_to_durable(&err);
                return Err(err);
            }
            self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
            let lsn = log.written_lsn;
            log.file = Arc::new(new_file);
            log.seq = new_seq;
            log.pos = SEG_HEADER_LEN;
            log.durable_pos = SEG_HEADER_LEN;
            let t = self.table.read();
            let hint = log.snapshot_bytes as usize + 4096;
            drop(log);
            self.synced.send_modify(|s| s.lsn = s.lsn.max(lsn));
            (t.counter, t.timestamp_ms, hint)
        };
        let groups = self.table.read().group_keys();
        let mut w = files::SnapshotWriter::new(new_seq, counter, ts, hint);
        for chunk in groups.chunks(self.tuning.snapshot_chunk_groups.max(1)) {
            let t = self.table.read();
            for g in chunk {
                t.for_each_of_group(g, |topic, pairs| w.section(g, topic, pairs));
            }
        }
        let (next_id, intents, history) = {
            let t = self.table.read();
            let c = &t.changes;
            let intents: Vec<Intent> = c.intents.values().cloned().collect();
            let history: Vec<Arc<Change>> = c.history.iter().cloned().collect();
            (c.next_id, intents, history)
        };
        let image = w
            .finish(next_id, &intents, &history)
            .map_err(|e| OffsetError::corrupt(files::snapshot_path(&self.dir, new_seq), 0, e))?;
        files::write_snapshot(&self.dir, new_seq, &image)?;
        self.log.lock().snapshot_bytes = image.len() as u64;
        self.stats.compactions.fetch_add(1, Ordering::Relaxed);
        self.cleanup()?;
        info!(base = new_seq, bytes = image.len(), elapsed = ?started.elapsed(), "offset snapshot written");
        Ok(())
    }

    /// Deletes snapshots older than the newest `keep_snapshots` and segments before the oldest
    /// kept snapshot's base. With a single snapshot every segment is kept (the fallback is a full
    /// replay).
    fn cleanup(&self) -> Result<(), OffsetError> {
        let l = files::list(&self.dir)?;
        let keep = self.tuning.keep_snapshots.max(1);
        let n = l.snapshots.len();
        if n <= 1 {
            return Ok(());
        }
        let kept = &l.snapshots[n.saturating_sub(keep)..];
        let oldest_kept = kept[0];
        for &s in &l.snapshots[..n - kept.len()] {
            let p = files::snapshot_path(&self.dir, s);
            std::fs::remove_file(&p).map_err(|e| OffsetError::io("remove snapshot", &p, e))?;
        }
        for &s in l.segments.iter().filter(|&&s| s < oldest_kept) {
            let p = segment_path(&self.dir, s);
            std::fs::remove_file(&p).map_err(|e| OffsetError::io("remove segment", &p, e))?;
        }
        files::fsync_dir(&self.dir)
    }
}
