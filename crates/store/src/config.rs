//! Store configuration: typed, defaulted here and validated by [`StoreConfig::validate`].

use std::path::PathBuf;
use std::time::Duration;

use crate::error::StoreError;

/// When appended bytes are made durable, and what a successful `put` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushMode {
    /// `put` returns once the bytes are in the OS page cache; a flusher thread fdatasyncs every
    /// `interval`. Survives a process kill; a power loss may lose up to `interval` of writes.
    Async {
        /// Time between fdatasyncs.
        interval: Duration,
    },
    /// `put` returns once the bytes are fdatasynced (group commit). If that takes longer than
    /// `timeout`, `put` fails with [`StoreError::FlushTimeout`] but the data stays written.
    Sync {
        /// Longest a put waits for its fdatasync.
        timeout: Duration,
    },
}

impl Default for FlushMode {
    fn default() -> Self {
        FlushMode::Async {
            interval: Duration::from_millis(500),
        }
    }
}

impl FlushMode {
    /// The default synchronous mode (5 s timeout).
    pub fn sync() -> Self {
        FlushMode::Sync {
            timeout: Duration::from_secs(5),
        }
    }
}

/// How appended bytes reach the commit-log and consume-queue files. Reads always go through
/// the shared mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// [`WriteMode::Pwrite`] on a copy-on-write file system (btrfs, bcachefs, ZFS; detected
    /// with `statfs` when the store opens), else [`WriteMode::Mapped`]. The environment variable
    /// `FERROMQ_STORE_WRITE_MODE` (`mapped`, `pwrite` or `auto`) overrides the detection, for
    /// file systems it does not know.
    #[default]
    Auto,
    /// A `memcpy` into the shared mapping of a file whose blocks `fallocate` reserved (fastest;
    /// a file whose blocks could not be reserved is still written with `pwrite`). Safe only
    /// where `fallocate` really reserves the space for later overwrites, i.e. not on a
    /// copy-on-write file system, where a full disk would make a mapped store fault (SIGBUS).
    Mapped,
    /// One positioned `write` per append: a full disk is an error returned by the write, never
    /// a fault.
    Pwrite,
}

impl WriteMode {
    /// Parses `mapped`, `pwrite` or `auto` (any case).
    pub fn parse(s: &str) -> Option<WriteMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(WriteMode::Auto),
            "mapped" | "mmap" => Some(WriteMode::Mapped),
            "pwrite" => Some(WriteMode::Pwrite),
            _ => None,
        }
    }
}

/// Where and how the store keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Holds `commitlog/`, `consumequeue/<topic>/<queueId>/`, `checkpoint` and `abort`.
    pub root: PathBuf,
    /// Size of each commit-log segment file; default 1 GiB. At most `i32::MAX`.
    pub segment_size: u64,
    /// Entries per consume-queue file; default 300 000 (6 000 000-byte files).
    pub cq_entries_per_file: u64,
    /// Durability policy of `put`.
    pub flush: FlushMode,
    /// Commit-log segments whose newest message is older than this are deleted; default 72 h.
    pub retention: Duration,
    /// Largest accepted record, in bytes; default 4 MiB.
    pub max_message_size: usize,
    /// How appends are written; default [`WriteMode::Auto`].
    pub write_mode: WriteMode,
    /// Most entries of the in-memory message index (one per key and per unique key of each
    /// message; at most about 70 bytes each); the oldest are evicted beyond it. Default
    /// 1 000 000 (at most about 70 MiB); 0 disables the index (QUERY_MESSAGE then finds nothing).
    pub index_max_entries: usize,
    /// How far ahead of the write position a background thread faults in the commit log's
    /// pages (module `prefault`), so appends through the mapping do not take those faults
    /// under the writer lock; default [`DEFAULT_PREFAULT_AHEAD`], 0 disables it. Rounded to
    /// whole pages; at most [`MAX_PREFAULT_AHEAD`].
    pub prefault_ahead: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            root: PathBuf::from("./data/store"),
            segment_size: 1 << 30,
            cq_entries_per_file: 300_000,
            flush: FlushMode::default(),
            retention: Duration::from_secs(72 * 3600),
            max_message_size: 4 << 20,
            write_mode: WriteMode::Auto,
            index_max_entries: DEFAULT_INDEX_MAX_ENTRIES,
            prefault_ahead: DEFAULT_PREFAULT_AHEAD,
        }
    }
}

/// Default of [`StoreConfig::index_max_entries`].
pub const DEFAULT_INDEX_MAX_ENTRIES: usize = 1_000_000;
/// Largest [`StoreConfig::index_max_entries`] accepted (about 6.4 GiB of index).
pub const MAX_INDEX_ENTRIES: usize = 100_000_000;

/// Default of [`StoreConfig::prefault_ahead`]: about 20 ms of appends at 100 MB/s.
pub const DEFAULT_PREFAULT_AHEAD: u64 = 2 << 20;
/// Largest [`StoreConfig::prefault_ahead`] accepted.
pub const MAX_PREFAULT_AHEAD: u64 = 256 << 20;

/// Smallest segment the store accepts.
pub const MIN_SEGMENT_SIZE: u64 = 4096;

impl StoreConfig {
    /// Checks the values before anything touches the disk.
    ///
    /// # Errors
    /// [`StoreError::Config`] naming the first bad field.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.segment_size < MIN_SEGMENT_SIZE || self.segment_size > i32::MAX as u64 {
            return Err(StoreError::Config(format!(
                "segment_size must be in {MIN_SEGMENT_SIZE}..={}, got {}",
                i32::MAX,
                self.segment_size
            )));
        }
        if self.cq_entries_per_file == 0 || self.cq_entries_per_file > 50_000_000 {
            return Err(StoreError::Config(format!(
                "cq_entries_per_file must be in 1..=50000000, got {}",
                self.cq_entries_per_file
            )));
        }
        if self.index_max_entries > MAX_INDEX_ENTRIES {
            return Err(StoreError::Config(format!(
                "index_max_entries must be at most {MAX_INDEX_ENTRIES}, got {}",
                self.index_max_entries
            )));
        }
        if self.prefault_ahead > MAX_PREFAULT_AHEAD {
            return Err(StoreError::Config(format!(
                "prefault_ahead must be at most {MAX_PREFAULT_AHEAD} bytes, got {}",
                self.prefault_ahead
            )));
        }
        if self.max_message_size < 64 {
            return Err(StoreError::Config(
                "max_message_size must be at least 64".into(),
            ));
        }
        let zero = match self.flush {
            FlushMode::Async { interval } => interval.is_zero(),
            FlushMode::Sync { timeout } => timeout.is_zero(),
        };
        if zero {
            return Err(StoreError::Config(
                "flush interval/timeout must be > 0".into(),
            ));
        }
        Ok(())
    }

    /// The largest record that fits: `max_message_size`, but never more than a segment minus
    /// the 8 bytes always kept free for a BLANK end marker.
    pub(crate) fn record_limit(&self) -> usize {
        self.max_message_size.min((self.segment_size - 8) as usize)
    }
}
