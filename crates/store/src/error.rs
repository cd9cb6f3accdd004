//! The store's error type.

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

/// Everything the store can fail with. Bad data found on disk is repaired and logged during
/// recovery where possible; what cannot be repaired surfaces as [`StoreError::Corrupt`].
#[derive(Debug, Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// [`crate::StoreConfig::validate`] refused a value.
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// A record longer than `max_message_size` (or than a segment can hold).
    #[error("record of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// The record's length.
        size: usize,
        /// The effective limit.
        limit: usize,
    },
    /// Bytes that are not a well-formed record, or whose topic differs from the append's.
    #[error("invalid record: {0}")]
    InvalidRecord(&'static str),
    /// A topic that cannot be a directory name (allowed: ASCII letters, digits, `-_%|.`).
    #[error("invalid topic name {0:?}")]
    InvalidTopic(String),
    /// A negative queue id.
    #[error("invalid queue id {0}")]
    InvalidQueueId(i32),
    /// Sync mode: the fdatasync did not complete in time.
    #[error("flush did not complete within {0:?}; the data is written but may not be durable")]
    FlushTimeout(Duration),
    /// `put` after `shutdown`.
    #[error("the store is shut down")]
    ShutDown,
    /// A write or fsync failed earlier; reopen the store to recover.
    #[error("the store refuses writes after an earlier failure: {0}")]
    Poisoned(String),
    /// [`crate::MessageStore::put_expecting`]: the queue's next offset is not the expected one
    /// (another writer appended, or the caller's view is stale). Nothing was written.
    #[error("queue {topic}:{queue_id} is at offset {actual}, not at the expected {expected}")]
    UnexpectedQueueOffset {
        /// The queue's topic.
        topic: String,
        /// The queue id.
        queue_id: i32,
        /// The offset the caller expected the first record to get.
        expected: i64,
        /// The queue's real next offset.
        actual: i64,
    },
    /// Data on disk that recovery could not repair.
    #[error("corrupt store data in {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Maps an `io::Error` to [`StoreError::Io`] naming `path`.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}
