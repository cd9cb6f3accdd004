//! The append path: under the log mutex a record (encoded by the caller) is checked against
//! the table, queued, written to the active segment with `pwrite` (at once, or batched with
//! `Tuning::write_behind`) and applied to the table. A failed write is cut off the file again
//! (`write_pending`), and an append that could not be written is not applied.

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

use tracing::{debug, error, info};

#[cfg(test)]
use super::faults;
use super::state::{Inner, Log};
use crate::codec::{MAX_RECORD_LEN, REC_HEADER_LEN};
use crate::error::OffsetError;
use crate::files::segment_path;
use crate::table::Table;

/// Pending bytes that make an append write them out at once (with `Tuning::write_behind`).
const PENDING_WRITE_BYTES: usize = 256 * 1024;

/// `pwrite` of log bytes. Unit tests can make it fail like a full disk (after writing half).
fn write_log(file: &File, buf: &[u8], at: u64) -> std::io::Result<()> {
    #[cfg(test)]
    if faults::FULL.with(std::cell::Cell::get) {
        file.write_all_at(&buf[..buf.len() / 2], at)?;
        return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
    }
    file.write_all_at(buf, at)
}

/// Cuts the log file back to `len` bytes (removing a failed write). Unit tests can make it fail
/// like `ftruncate` on a full btrfs.
pub(super) fn cut_log(file: &File, len: u64) -> std::io::Result<()> {
    #[cfg(test)]
    if faults::CUT_FAILS.with(std::cell::Cell::get) {
        return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
    }
    file.set_len(len)
}

impl Inner {
    /// Appends one record and applies it to the table, in log order. `precheck` may decline the
    /// write (nothing to change). Returns the record's LSN.
    pub(super) fn append(
        &self,
        rec: &[u8],
        ts: u64,
        precheck: impl FnOnce(&Table) -> bool,
        apply: impl FnOnce(&mut Table),
    ) -> Result<u64, OffsetError> {
        self.append_with(
            ts,
            |t| Ok(precheck(t).then_some((Cow::Borrowed(rec), ()))),
            |t, ()| apply(t),
        )
    }

    /// Like [`append`](Self::append), but the record is built by `prepare` from the table as it
    /// is under the log mutex (no other write can intervene before `apply`). `prepare` returning
    /// `None` declines the write.
    pub(super) fn append_with<'r, R>(
        &self,
        ts: u64,
        prepare: impl FnOnce(&Table) -> Result<Option<(Cow<'r, [u8]>, R)>, OffsetError>,
        apply: impl FnOnce(&mut Table, R),
    ) -> Result<u64, OffsetError> {
        let mut log = self.log.lock();
        if self.closed.load(Ordering::SeqCst) {
            return Err(OffsetError::Closed);
        }
        if self.poison.get().is_some() {
            return Err(self.poisoned_error());
        }
        let prepared = prepare(&self.table.read())?;
        let Some((rec, value)) = prepared else {
            return Ok(log.written_lsn);
        };
        if rec.len() - REC_HEADER_LEN > MAX_RECORD_LEN {
            return Err(OffsetError::InvalidKey(format!(
                "record of {} bytes exceeds the {MAX_RECORD_LEN}-byte limit; split the batch",
                rec.len()
            )));
        }
        let before = log.pending.len();
        log.pending.extend_from_slice(&rec);
        log.pos += rec.len() as u64;
        if self.tuning.write_behind.is_none() || log.pending.len() >= PENDING_WRITE_BYTES {
            if let Err(e) = self.write_pending(&mut log) {
                // Not applied, not acknowledged: take the record back (records pending before
                // it, acknowledged with write-behind, stay queued and are retried).
                log.pending.truncate(before);
                log.pos -= rec.len() as u64;
                return Err(e);
            }
        }
        log.written_lsn += 1;
        let lsn = log.written_lsn;
        {
            let mut t = self.table.write();
            apply(&mut t, value);
            t.counter += 1;
            t.timestamp_ms = ts;
        }
        drop(log);
        self.stats.records.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes
            .fetch_add(rec.len() as u64, Ordering::Relaxed);
        Ok(lsn)
    }

    /// Writes the pending records to the file (under the log mutex).
    ///
    /// A failed write (typically a full disk) is cut off the file again and the records stay
    /// pending: the caller's own record is not applied (see `append_with`), and records already
    /// acknowledged with write-behind are written by a later call once there is room. When the
    /// cut fails too (btrfs needs space to truncate), it is retried before anything else is
    /// written, and until it succeeds every write fails; a crash meanwhile leaves a torn tail,
    /// which recovery cuts off (it holds no complete record that was not acknowledged: the
    /// write failed before the caller's record was complete).
    pub(super) fn write_pending(&self, log: &mut Log) -> Result<(), OffsetError> {
        let at = log.pos - log.pending.len() as u64;
        if log.cut_pending {
            if let Err(e) = cut_log(&log.file, at) {
                let err = OffsetError::io(
                    "cut off a failed write",
                    segment_path(&self.dir, log.seq),
                    e,
                );
                self.note_write_failure(&err);
                return Err(err);
            }
            log.cut_pending = false;
        }
        if log.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = write_log(&log.file, &log.pending, at) {
            let err = OffsetError::io("append", segment_path(&self.dir, log.seq), e);
            log.cut_pending = cut_log(&log.file, at).is_err();
            self.note_write_failure(&err);
            return Err(err);
        }
        if self.write_failing.swap(false, Ordering::AcqRel) {
            info!("offset log writes succeed again");
        }
        log.pending.clear();
        Ok(())
    }

    /// Logs a failed log write: the first of a run at error level, the next ones at debug.
    fn note_write_failure(&self, err: &OffsetError) {
        if !self.write_failing.swap(true, Ordering::AcqRel) {
            error!(error = %err, "offset log write failed; commits fail until it succeeds again (later failures are logged at debug level)");
        } else {
            debug!(error = %err, "offset log write failed");
        }
    }

    /// Writes pending records out without an fsync (the flusher's frequent tick).
    pub(super) fn write_out(&self) -> Result<(), OffsetError> {
        let mut log = self.log.lock();
        self.write_pending(&mut log)
    }
}
