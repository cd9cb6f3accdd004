//! State shared by the store handle and its threads (flusher, indexer, pre-faulter).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::checkpoint::CheckpointFile;
use crate::commit_log::CommitLog;
use crate::config::StoreConfig;
use crate::flusher::FlushCtl;
use crate::indexer::Index;
use crate::mapped::WritePath;
use crate::prefault::Prefault;
use crate::queues::QueueTable;
use crate::types::StoreStats;

pub(crate) struct Shared {
    pub config: StoreConfig,
    pub log: CommitLog,
    pub queues: QueueTable,
    /// Every record below this commit-log offset has its consume-queue entry written.
    pub dispatched: AtomicI64,
    pub flush: FlushCtl,
    pub checkpoint: CheckpointFile,
    pub counters: Counters,
    /// Set after an fsync failure: the page cache may no longer match the disk, so the store
    /// refuses further writes until it is reopened (and recovered). A failed append does not
    /// poison: it is undone, and the next one may succeed (a full disk that got room again).
    pub poison: Mutex<Option<String>>,
    /// How appends write (resolved from [`StoreConfig::write_mode`] when the store opened).
    pub write_path: WritePath,
    /// The last append failed (its error was logged; the next failures are only counted).
    pub append_failing: AtomicBool,
    /// Appends that failed since open.
    pub failed_appends: AtomicU64,
    /// The message index (by key and unique key); never locked by the writer.
    pub index: Index,
    /// The pre-faulter's stop flag and progress.
    pub prefault: Prefault,
}

impl Shared {
    pub fn poison(&self, reason: String) {
        tracing::error!(%reason, "message store stops accepting writes");
        self.poison.lock().get_or_insert(reason);
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub puts: AtomicU64,
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    pub log_fsyncs: AtomicU64,
    pub cq_fsyncs: AtomicU64,
    /// Commit-log fsync durations (seconds) not yet taken by the metrics exporter; at most
    /// [`FSYNC_SAMPLES`], newer ones are dropped until the next scrape.
    pub fsync_samples: parking_lot::Mutex<Vec<f64>>,
}

/// Most fsync durations kept between two metrics scrapes.
pub(crate) const FSYNC_SAMPLES: usize = 8192;

impl Counters {
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    pub fn fsync_took(&self, seconds: f64) {
        let mut s = self.fsync_samples.lock();
        if s.len() < FSYNC_SAMPLES {
            s.push(seconds);
        }
    }

    pub fn snapshot(&self) -> StoreStats {
        StoreStats {
            puts: self.puts.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            log_fsyncs: self.log_fsyncs.load(Ordering::Relaxed),
            cq_fsyncs: self.cq_fsyncs.load(Ordering::Relaxed),
        }
    }
}
