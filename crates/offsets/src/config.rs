//! Store configuration.

use std::path::PathBuf;
use std::time::Duration;

/// When a commit is acknowledged relative to `fdatasync`. See `docs/offsets.md` for what each
/// mode guarantees after SIGKILL and after power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Acknowledge after the record is written to the log file (page cache); the flusher thread
    /// fsyncs at least every `interval`. Survives SIGKILL; power loss may lose up to `interval`.
    Periodic { interval: Duration },
    /// Acknowledge only after an fsync covering the record (group commit). A commit not fsynced
    /// within `timeout` fails with `FlushTimeout`.
    Durable { timeout: Duration },
}

impl Default for Durability {
    fn default() -> Self {
        Durability::Periodic {
            interval: Duration::from_millis(200),
        }
    }
}

/// Where and how durably offsets are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetStoreConfig {
    pub dir: PathBuf,
    pub durability: Durability,
}

impl Default for OffsetStoreConfig {
    fn default() -> Self {
        OffsetStoreConfig {
            dir: PathBuf::from("./data/offsets"),
            durability: Durability::default(),
        }
    }
}

/// Compaction knobs (defaults suit production; tests shrink them).
#[derive(Clone, Debug, PartialEq)]
pub struct Tuning {
    /// Never snapshot while the active log segment is smaller than this.
    pub compact_min_log_bytes: u64,
    /// Snapshot when the active segment exceeds `ratio × snapshot size` (and the minimum).
    pub compact_log_ratio: f64,
    /// Snapshots kept (≥ 2 keeps a fallback if the newest is damaged).
    pub keep_snapshots: usize,
    /// Groups encoded per read-lock acquisition while writing a snapshot.
    pub snapshot_chunk_groups: usize,
    /// Newest changes kept in the change history (memory and snapshots). Change ids keep
    /// increasing regardless.
    pub history_limit: usize,
    /// `None` (the default): every record is written to the log file before its call returns,
    /// so a SIGKILL loses nothing acknowledged. `Some(d)`: records are buffered and written out
    /// by the flusher every `d` (and before every fsync), one `pwrite` for a whole burst; a
    /// SIGKILL may then lose up to `d` of commits acknowledged in periodic mode. Durable mode
    /// still acknowledges only after write + fsync.
    pub write_behind: Option<std::time::Duration>,
}

/// Default for [`Tuning::history_limit`].
pub(crate) const DEFAULT_HISTORY_LIMIT: usize = 100_000;

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            compact_min_log_bytes: 32 << 20,
            compact_log_ratio: 1.0,
            keep_snapshots: 2,
            snapshot_chunk_groups: 256,
            history_limit: DEFAULT_HISTORY_LIMIT,
            write_behind: None,
        }
    }
}
