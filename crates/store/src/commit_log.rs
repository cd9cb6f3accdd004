//! The commit log: an ordered list of segments and the published end of valid data.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::{io_err, StoreError};
use crate::segment::Segment;

pub(crate) struct CommitLog {
    dir: PathBuf,
    segment_size: u64,
    segments: RwLock<Vec<Arc<Segment>>>,
    /// End of the records readers may see (Release after the bytes are written).
    written: AtomicI64,
}

impl CommitLog {
    /// `segments` must be sorted, contiguous and non-empty.
    pub fn new(dir: PathBuf, segment_size: u64, segments: Vec<Arc<Segment>>, written: i64) -> Self {
        CommitLog {
            dir,
            segment_size,
            segments: RwLock::new(segments),
            written: AtomicI64::new(written),
        }
    }

    pub fn written(&self) -> i64 {
        self.written.load(Ordering::Acquire)
    }

    pub fn publish(&self, end: i64) {
        self.written.store(end, Ordering::Release);
    }

    /// Offset of the first byte still on disk.
    pub fn min_offset(&self) -> i64 {
        self.segments.read().first().map_or(0, |s| s.start)
    }

    pub fn last(&self) -> Option<Arc<Segment>> {
        self.segments.read().last().cloned()
    }

    pub fn snapshot(&self) -> Vec<Arc<Segment>> {
        self.segments.read().clone()
    }

    /// The segment holding `offset`.
    pub fn segment_for(&self, offset: i64) -> Option<Arc<Segment>> {
        let segs = self.segments.read();
        let i = segs.partition_point(|s| s.end() <= offset);
        segs.get(i).filter(|s| s.contains(offset)).cloned()
    }

    /// Segments overlapping `[from, to)`.
    pub fn segments_between(&self, from: i64, to: i64) -> Vec<Arc<Segment>> {
        let segs = self.segments.read();
        segs.iter()
            .filter(|s| s.end() > from && s.start < to)
            .cloned()
            .collect()
    }

    /// Creates the segment starting at `start` and appends it. Only the writer calls this.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the segment file cannot be created or its blocks reserved (a full
    /// disk); nothing is appended to the list then.
    pub fn roll(&self, start: i64) -> Result<Arc<Segment>, StoreError> {
        let seg = Arc::new(Segment::create(&self.dir, start, self.segment_size)?);
        self.segments.write().push(seg.clone());
        tracing::debug!(start, "commit log rolled to a new segment");
        Ok(seg)
    }

    /// Forgets and deletes every segment after the one starting at `start`: an append that
    /// failed takes back the segments it created (nothing in them was published).
    pub fn remove_after(&self, start: i64) {
        let removed: Vec<Arc<Segment>> = {
            let mut segs = self.segments.write();
            let i = segs.partition_point(|s| s.start <= start);
            segs.drain(i..).collect()
        };
        for s in &removed {
            match std::fs::remove_file(s.file.path()) {
                Ok(()) => {
                    tracing::debug!(start = s.start, "removed the segment of a failed append")
                }
                Err(e) => {
                    tracing::warn!(path = %s.file.path().display(), "cannot remove the segment of a failed append: {e}")
                }
            }
        }
    }

    /// Deletes the first `n` segments (never the last one); returns how many went.
    ///
    /// # Errors
    /// [`StoreError::Io`] when a segment file cannot be deleted (the segments are already
    /// forgotten by then).
    pub fn remove_front(&self, n: usize) -> Result<usize, StoreError> {
        let removed: Vec<Arc<Segment>> = {
            let mut segs = self.segments.write();
            let n = n.min(segs.len().saturating_sub(1));
            segs.drain(..n).collect()
        };
        for s in &removed {
            std::fs::remove_file(s.file.path()).map_err(io_err(s.file.path()))?;
            tracing::info!(start = s.start, "retention deleted commit-log segment");
        }
        Ok(removed.len())
    }

    /// One whole record at `offset` below the written end, checked for a plausible header.
    pub fn with_record<R>(&self, offset: i64, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let seg = self.segment_for(offset)?;
        // The published end is read before the record: every byte below it is written and
        // stays as it is (appends only write above it).
        let rec = seg.record_at(offset, None, self.written())?;
        Some(f(rec))
    }
}

/// Caches the last segment used, so reading many nearby records takes the lock once.
#[derive(Default)]
pub(crate) struct SegmentCursor {
    seg: Option<Arc<Segment>>,
}

impl SegmentCursor {
    /// The record of `size` bytes at `offset`, if it lies below `written` and looks valid.
    pub fn record<'a>(
        &'a mut self,
        log: &CommitLog,
        offset: i64,
        size: i32,
        written: i64,
    ) -> Option<&'a [u8]> {
        if offset < 0 || offset.checked_add(size as i64)? > written {
            return None;
        }
        if !self.seg.as_ref().is_some_and(|s| s.contains(offset)) {
            self.seg = log.segment_for(offset);
        }
        self.seg.as_ref()?.record_at(offset, Some(size), written)
    }
}
