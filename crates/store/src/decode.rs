//! The store's decoders of on-disk bytes, callable on plain byte slices (for the fuzz targets
//! in `fuzz/` and for tools). The store itself calls the same functions on its mapped files.
//! Not a stable API.

use crate::consume_queue::CqEntry;

/// What the store reads from a structurally valid commit-log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordInfo {
    /// `totalSize`: the bytes the record takes.
    pub total: usize,
    /// Queue id.
    pub queue_id: i32,
    /// Logical offset in its consume queue.
    pub queue_offset: i64,
    /// Commit-log offset the record says it was written at.
    pub physical_offset: i64,
    /// Store time, ms since the epoch.
    pub store_timestamp: i64,
    /// Whether the stored body CRC matches the body.
    pub crc_ok: bool,
    /// Consume-queue tag code derived from the `TAGS` property.
    pub tags_code: i64,
    /// Length of the body.
    pub body_len: usize,
    /// The topic, if it is one the store accepts as a directory name.
    pub valid_topic: bool,
}

/// Parses the commit-log record at the front of `buf` as recovery and reads do.
///
/// # Errors
/// The reason the record is not valid (bad magic, a length running past `totalSize`, ...).
pub fn record(buf: &[u8]) -> Result<RecordInfo, &'static str> {
    let m = crate::record::parse(buf)?;
    Ok(RecordInfo {
        total: m.total,
        queue_id: m.queue_id,
        queue_offset: m.queue_offset,
        physical_offset: m.physical_offset,
        store_timestamp: m.store_timestamp,
        crc_ok: crate::record::crc_ok(&m),
        tags_code: crate::record::tags_code(m.properties),
        body_len: m.body.len(),
        valid_topic: std::str::from_utf8(m.topic).is_ok_and(crate::record::valid_topic),
    })
}

/// The store timestamp of the record whose header is at the front of `buf`.
pub fn store_time(buf: &[u8]) -> Option<i64> {
    crate::record::store_time(buf)
}

/// Whether `buf` starts with the BLANK end-of-segment marker.
pub fn is_blank(buf: &[u8]) -> bool {
    crate::record::is_blank(buf)
}

/// One 20-byte consume-queue entry: `(physical offset, size, tags code)`.
pub fn cq_entry(b: &[u8]) -> Option<(i64, i32, i64)> {
    CqEntry::decode(b).map(|e| (e.phys, e.size, e.tags))
}

/// The `checkpoint` file: `(log flushed offset, dispatched offset)` if valid.
pub fn checkpoint(b: &[u8]) -> Option<(i64, i64)> {
    crate::checkpoint::decode(b).map(|c| (c.log_flushed, c.dispatched))
}
