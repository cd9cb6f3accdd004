//! Values passed in and out of [`crate::MessageStore`].

use bytes::Bytes;

/// One record to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendRecord {
    /// A record made by `ferromq_protocol::message::encode_record`; the store fills in queue
    /// offset, physical offset and store time, and overwrites the queue id with `queue_id`.
    pub bytes: Vec<u8>,
    /// Must equal the topic inside `bytes` (recovery rebuilds consume queues from it).
    pub topic: String,
    /// Consume queue to append to; must be ≥ 0.
    pub queue_id: i32,
    /// Written into the consume-queue entry; used by `get` filters.
    pub tags_code: i64,
}

/// Where one appended record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutResult {
    /// Commit-log offset of the record's first byte.
    pub physical_offset: i64,
    /// Index in its consume queue.
    pub queue_offset: i64,
    /// Store time, ms since the epoch.
    pub store_timestamp: i64,
    /// Record length in bytes.
    pub size: i32,
}

/// Outcome of [`crate::MessageStore::get`] (upstream `GetMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetStatus {
    /// At least one record; `next_begin_offset` = last scanned index + 1.
    Found,
    /// Entries were scanned but the filter rejected them all; next = last scanned + 1.
    NoMatchedMessage,
    /// `offset` < min offset; next = min.
    OffsetTooSmall,
    /// `offset` == max offset (nothing new yet); next = offset.
    OffsetOverflowOne,
    /// `offset` > max offset; next = max.
    OffsetOverflowBadly,
    /// The queue exists but max offset is 0; next = 0.
    NoMessageInQueue,
    /// The queue does not exist; next = 0.
    NoMatchedLogicQueue,
    /// The matching records were already deleted from the commit log; next = last scanned + 1.
    MessageWasRemoving,
}

impl GetStatus {
    /// The upstream name, used as the pull response remark.
    pub fn as_str(self) -> &'static str {
        match self {
            GetStatus::Found => "FOUND",
            GetStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
            GetStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
        }
    }
}

/// Records read by [`crate::MessageStore::get`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetResult {
    /// What happened.
    pub status: GetStatus,
    /// Where the consumer should read next.
    pub next_begin_offset: i64,
    /// The queue's min offset at the time of the read.
    pub min_offset: i64,
    /// The queue's max offset (next to be written) at the time of the read.
    pub max_offset: i64,
    /// The found records back to back, byte-identical to the commit log.
    pub body: Bytes,
    /// How many records `body` holds.
    pub count: usize,
}

impl GetResult {
    pub(crate) fn empty(status: GetStatus, next: i64, min: i64, max: i64) -> Self {
        GetResult {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            body: Bytes::new(),
            count: 0,
        }
    }
}

/// Which end of a run of equal timestamps [`crate::MessageStore::offset_by_time`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundaryType {
    /// The first entry stored at or after the time.
    Lower,
    /// The last entry stored at or before the time.
    Upper,
}

/// Counters for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Calls to `put` that appended at least one record.
    pub puts: u64,
    /// Records appended.
    pub messages: u64,
    /// Bytes appended to the commit log (records and BLANK padding).
    pub bytes: u64,
    /// fdatasync calls on commit-log segments.
    pub log_fsyncs: u64,
    /// fdatasync calls on consume-queue files and the checkpoint.
    pub cq_fsyncs: u64,
}
