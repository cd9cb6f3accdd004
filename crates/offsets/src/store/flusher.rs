//! The flusher thread and the fsync path: group commit (`sync_now`), write-behind ticks,
//! periodic compaction, and the rollback to the last durable state after a failed fsync
//! (`roll_back_to_durable`, which poisons the store).

use std::fs::File;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, error};

use super::append::cut_log;
use super::state::Inner;
use crate::config::Durability;
use crate::error::OffsetError;
use crate::files::segment_path;
use crate::recovery;

impl Inner {
    /// Wakes the flusher thread for an fsync (a durable write is waiting for one).
    pub(super) fn request_sync(&self) {
        let mut c = self.ctl.lock();
        if !c.requested {
            c.requested = true;
            self.cv.notify_one();
        }
    }

    /// Fsyncs the active segment if anything was written since the last fsync. The table and
    /// log locks are not held during the fsync.
    pub(super) fn sync_now(&self) -> Result<(), OffsetError> {
        let _g = self.sync_lock.lock();
        if self.poison.get().is_some() {
            return Err(self.poisoned_error());
        }
        let (file, target, seq, end) = {
            let mut log = self.log.lock();
            self.write_pending(&mut log)?;
            (log.file.clone(), log.written_lsn, log.seq, log.pos)
        };
        if target <= self.synced.borrow().lsn {
            return Ok(());
        }
        if let Err(e) = self.sync_file(&file) {
            let err = OffsetError::io("fdatasync", segment_path(&self.dir, seq), e);
            self.roll_back_to_durable(&err);
            return Err(err);
        }
        self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        {
            let mut log = self.log.lock();
            if log.seq == seq {
                log.durable_pos = log.durable_pos.max(end);
            }
        }
        self.synced.send_modify(|s| s.lsn = s.lsn.max(target));
        Ok(())
    }

    /// `fdatasync` of a log segment. Unit tests can make it fail like a failing disk.
    pub(super) fn sync_file(&self, file: &File) -> std::io::Result<()> {
        #[cfg(test)]
        if self.fail_sync.load(Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        file.sync_data()
    }

    /// After a failed fsync nothing written since the last good one is known to be on disk, and
    /// Linux may already have dropped those pages. The store refuses writes from now on
    /// (poisoned), cuts the log back to what the last good fsync covered and reloads its table
    /// from the files, so that what it answers until the restart is what a restart will find:
    /// a durable reset or commit waiting for this fsync is reported failed *and* is not visible.
    /// (With periodic durability, commits acknowledged since the last fsync are rolled back too:
    /// that mode never promised them past a failing disk.) If the log cannot be cut, the records
    /// may come back at restart; that is logged, and the table keeps them so memory still
    /// matches the files.
    pub(super) fn roll_back_to_durable(&self, err: &OffsetError) {
        let why = format!(
            "{err}; writes after the last successful fsync were rolled back; \
             restart the broker once the disk is healthy"
        );
        error!(reason = %why, "offset store poisoned; writes refused until reopen");
        {
            let mut log = self.log.lock();
            // Appends check the poison under the log mutex: none follows this point.
            let _ = self.poison.set(why);
            log.pending.clear();
            log.pos = log.durable_pos;
            if let Err(e) = cut_log(&log.file, log.durable_pos) {
                error!(error = %e, "could not cut records that are not durable off the offset log; they may reappear after a restart");
            }
            match recovery::recover(&self.dir, self.tuning.history_limit) {
                Ok(r) => *self.table.write() = r.table,
                Err(e) => {
                    error!(error = %e, "could not reload the offset table after a failed fsync; it keeps writes that may not be durable")
                }
            }
        }
        self.synced.send_modify(|s| s.poisoned = true);
    }

    /// The flusher thread: writes pending records out on every tick, fsyncs when asked to (or
    /// every `Periodic` interval), compacts when the log has outgrown the snapshot, and does a
    /// last fsync when stopped.
    pub(super) fn flusher_loop(self: Arc<Self>) {
        let sync_every = match self.durability {
            Durability::Periodic { interval } => interval,
            // Durable writers request a sync; the timer is only a safety net.
            Durability::Durable { .. } => Duration::from_secs(1),
        };
        let mut last_sync = Instant::now();
        let mut compact_failing = false;
        loop {
            let (stop, requested) = {
                let mut c = self.ctl.lock();
                if !c.stop && !c.requested {
                    let tick = self
                        .tuning
                        .write_behind
                        .map_or(sync_every, |w| w.min(sync_every));
                    self.cv.wait_for(&mut c, tick);
                }
                let r = (c.stop, c.requested);
                c.requested = false;
                r
            };
            // Failures are logged where they happen (a write failure once until writes succeed
            // again, an fsync failure when it poisons the store): a full disk would otherwise
            // log here on every tick.
            if !(stop || requested || last_sync.elapsed() >= sync_every) {
                if let Err(e) = self.write_out() {
                    debug!(error = %e, "offset log write failed");
                }
                continue;
            }
            last_sync = Instant::now();
            if let Err(e) = self.sync_now() {
                debug!(error = %e, "offset log sync failed");
            }
            if stop {
                break;
            }
            if self.compaction_due() {
                match self.compact() {
                    Ok(()) => compact_failing = false,
                    Err(e) if !compact_failing => {
                        compact_failing = true;
                        error!(error = %e, "offset snapshot failed; will retry (further failures are logged at debug level)");
                    }
                    Err(e) => debug!(error = %e, "offset snapshot failed; will retry"),
                }
            }
        }
        debug!("offset flusher stopped");
    }
}
