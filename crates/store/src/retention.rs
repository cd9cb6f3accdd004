//! Retention: delete whole commit-log segments whose newest record is older than the
//! retention period (never the current segment), then move consume-queue min offsets past
//! entries whose record is gone and delete consume-queue files wholly below them.

use std::sync::atomic::Ordering;

use crate::error::StoreError;
use crate::search::first_true;
use crate::shared::Shared;

/// Deletes expired segments as of `now_ms` and moves consume-queue min offsets past them;
/// returns how many segments went.
///
/// # Errors
/// [`StoreError::Io`] when a segment or consume-queue file cannot be deleted.
pub(crate) fn run(shared: &Shared, now_ms: i64) -> Result<usize, StoreError> {
    let deadline = now_ms.saturating_sub(shared.config.retention.as_millis() as i64);
    // Read before the segments: bytes below it are written and are never written again.
    let written = shared.log.written();
    let segs = shared.log.snapshot();
    let mut n = 0;
    for pair in segs.windows(2) {
        let [seg, next] = pair else { break };
        // Newest store time: known if the segment was written or scanned since start; else
        // bounded by the first record of the next segment (store times only grow).
        let known = seg.last_store_ts.load(Ordering::Relaxed);
        let newest = if known >= 0 {
            Some(known)
        } else {
            next.first_store_time(written)
        };
        match newest {
            Some(t) if t < deadline => n += 1,
            _ => break,
        }
    }
    if n == 0 {
        return Ok(0);
    }
    let removed = shared.log.remove_front(n)?;
    let log_min = shared.log.min_offset();
    for cq in shared.queues.all() {
        let min = first_true(cq.min(), cq.max(), |i| {
            cq.entry(i).is_some_and(|e| e.size > 0 && e.phys >= log_min)
        });
        if min != cq.min() {
            cq.set_min(min);
        }
        cq.delete_files_below(min)?;
    }
    Ok(removed)
}
