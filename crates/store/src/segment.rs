//! One commit-log segment: a preallocated file named by its 20-digit start offset.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::StoreError;
use crate::mapped::MappedFile;
use crate::record;

/// A segment of the commit log. Records never span two segments.
pub(crate) struct Segment {
    pub start: i64,
    pub file: MappedFile,
    /// Store time of the newest record, or -1 when not known (segment not read since start).
    pub last_store_ts: AtomicI64,
}

/// `dir/<20-digit offset>`.
pub(crate) fn file_name(dir: &Path, offset: u64) -> PathBuf {
    dir.join(format!("{offset:020}"))
}

/// The offset a file is named by, if its name is 20 digits.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) {
        name.parse().ok()
    } else {
        None
    }
}

impl Segment {
    pub fn new(start: i64, file: MappedFile) -> Self {
        Segment {
            start,
            file,
            last_store_ts: AtomicI64::new(-1),
        }
    }

    /// Creates a fresh zero-filled segment.
    ///
    /// # Errors
    /// As [`MappedFile::create`].
    pub fn create(dir: &Path, start: i64, size: u64) -> Result<Self, StoreError> {
        let path = file_name(dir, start as u64);
        Ok(Segment::new(start, MappedFile::create(&path, size)?))
    }

    pub fn len(&self) -> i64 {
        self.file.len() as i64
    }

    /// One past the last byte.
    pub fn end(&self) -> i64 {
        self.start + self.len()
    }

    pub fn contains(&self, offset: i64) -> bool {
        offset >= self.start && offset < self.end()
    }

    /// The record of `size` bytes at commit-log `offset`, checked for a plausible header:
    /// inside this segment, record magic, and totalSize equal to `size` when given.
    ///
    /// Only bytes below `written`, the commit log's published end, are read (first the 8-byte
    /// header, then the record it announces): the writer never writes below it, so a reader
    /// racing with appends never borrows bytes that are being written.
    pub fn record_at(&self, offset: i64, size: Option<i32>, written: i64) -> Option<&[u8]> {
        let rel = u64::try_from(offset.checked_sub(self.start)?).ok()?;
        if offset.checked_add(record::BLANK_LEN as i64)? > written {
            return None;
        }
        let header = self.file.slice(rel, record::BLANK_LEN)?;
        let total = record::be_i32(header, 0)?;
        if size.is_some_and(|s| s != total) || (total as usize) < 60 || record::is_blank(header) {
            return None;
        }
        if offset.checked_add(i64::from(total))? > written {
            return None;
        }
        let rec = self.file.slice(rel, total as usize)?;
        let magic = record::be_i32(rec, 4)?;
        (magic == ferromq_protocol::message::MAGIC_V1
            || magic == ferromq_protocol::message::MAGIC_V2)
            .then_some(rec)
    }

    /// Store time of the first record, if the segment starts with one that lies below
    /// `written` (the commit log's published end). Reads only published bytes (through
    /// [`record_at`](Self::record_at)), so it is sound on live segments, the one being appended
    /// to included.
    pub fn first_store_time(&self, written: i64) -> Option<i64> {
        let rec = self.record_at(self.start, None, written)?;
        record::parse(rec).ok().map(|m| m.store_timestamp)
    }

    pub fn note_store_time(&self, ts: i64) {
        self.last_store_ts.fetch_max(ts, Ordering::Relaxed);
    }
}
