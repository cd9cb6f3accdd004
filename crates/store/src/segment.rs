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
    pub fn record_at(&self, offset: i64, size: Option<i32>) -> Option<&[u8]> {
        let rel = u64::try_from(offset.checked_sub(self.start)?).ok()?;
        let total = record::be_i32(self.file.slice(rel, 8)?, 0)?;
        if size.is_some_and(|s| s != total)
            || (total as usize) < 60
            || record::is_blank(self.file.slice(rel, 8)?)
        {
            return None;
        }
        let rec = self.file.slice(rel, total as usize)?;
        let magic = record::be_i32(rec, 4)?;
        (magic == ferromq_protocol::message::MAGIC_V1
            || magic == ferromq_protocol::message::MAGIC_V2)
            .then_some(rec)
    }

    /// Store time of the first record, if the segment starts with one.
    pub fn first_store_time(&self) -> Option<i64> {
        record::parse(self.file.bytes())
            .ok()
            .map(|m| m.store_timestamp)
    }

    pub fn note_store_time(&self, ts: i64) {
        self.last_store_ts.fetch_max(ts, Ordering::Relaxed);
    }
}
