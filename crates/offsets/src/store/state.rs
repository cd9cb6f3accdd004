//! The store's shared state: [`Inner`] (table, log, flusher control, counters) and the
//! active log segment ([`Log`]), used by the append path, the flusher and compaction.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::watch;

use crate::config::{Durability, Tuning};
use crate::error::OffsetError;
use crate::table::Table;

#[derive(Default)]
pub(super) struct Counters {
    pub(super) records: AtomicU64,
    pub(super) bytes: AtomicU64,
    pub(super) fsyncs: AtomicU64,
    pub(super) compactions: AtomicU64,
}

/// The segment being appended to.
pub(super) struct Log {
    pub(super) file: Arc<File>,
    pub(super) seq: u64,
    /// End of the log, including `pending` bytes not yet written to the file.
    pub(super) pos: u64,
    /// Records appended but not yet written to the file. Empty after every append unless
    /// `Tuning::write_behind` is set: then the flusher writes them out on its tick (and before
    /// every fsync), so a burst of commits costs one `pwrite` instead of one each.
    pub(super) pending: Vec<u8>,
    /// Sequence number of the last appended record (the log sequence number, LSN).
    pub(super) written_lsn: u64,
    pub(super) snapshot_bytes: u64,
    /// A failed write left bytes past the end of the log that could not be cut off yet (on a
    /// full btrfs even `ftruncate` fails): nothing is written, and the segment is not sealed,
    /// until they are.
    pub(super) cut_pending: bool,
    /// Length of the active segment covered by the last successful fsync: what a failed fsync
    /// rolls the log back to (every earlier segment is fsynced before appends move on).
    pub(super) durable_pos: u64,
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Synced {
    pub(super) lsn: u64,
    pub(super) poisoned: bool,
}

#[derive(Default)]
pub(super) struct FlushCtl {
    pub(super) requested: bool,
    pub(super) stop: bool,
}

pub(crate) struct Inner {
    pub(super) dir: PathBuf,
    pub(super) durability: Durability,
    pub(super) tuning: Tuning,
    pub(super) table: RwLock<Table>,
    pub(super) log: Mutex<Log>,
    pub(super) ctl: Mutex<FlushCtl>,
    pub(super) cv: Condvar,
    pub(super) synced: watch::Sender<Synced>,
    pub(super) sync_lock: Mutex<()>,
    pub(super) compact_lock: Mutex<()>,
    pub(super) closed: AtomicBool,
    pub(super) poison: OnceLock<String>,
    /// Unit tests: the next fsyncs fail like a failing disk.
    #[cfg(test)]
    pub(super) fail_sync: AtomicBool,
    /// The last log write failed (logged once until a write succeeds again).
    pub(super) write_failing: AtomicBool,
    pub(super) stats: Counters,
    pub(super) records_replayed: u64,
    pub(super) truncated_bytes: u64,
}

impl Inner {
    pub(super) fn poisoned_error(&self) -> OffsetError {
        OffsetError::Poisoned(self.poison.get().cloned().unwrap_or_default())
    }
}
