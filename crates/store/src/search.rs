//! Binary searches over a consume queue: by store time ([`offset_by_time`]) and for the first
//! entry still backed by the log.

use crate::commit_log::CommitLog;
use crate::consume_queue::ConsumeQueue;
use crate::record;
use crate::types::BoundaryType;

/// The first index in `[lo, hi)` for which `pred` holds, `hi` if none; `pred` must be false
/// then true over the range. O(log n) calls.
pub(crate) fn first_true(mut lo: i64, mut hi: i64, mut pred: impl FnMut(i64) -> bool) -> i64 {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Store time of the message at queue index `idx`, read from its commit-log record.
pub(crate) fn store_time(cq: &ConsumeQueue, log: &CommitLog, idx: i64) -> Option<i64> {
    let e = cq.entry(idx)?;
    if e.size <= 0 {
        return None;
    }
    log.with_record(e.phys, |rec| {
        (rec.len() == e.size as usize)
            .then(|| record::store_time(rec))
            .flatten()
    })
    .flatten()
}

/// Upstream 5.x `getOffsetInQueueByTime`: `Lower` gives the first entry stored at or after
/// `ts` (max offset if all are older); `Upper` the last entry stored at or before `ts` (0 if
/// all are newer). Entries whose record is gone count as older than everything.
pub(crate) fn offset_by_time(
    cq: &ConsumeQueue,
    log: &CommitLog,
    ts: i64,
    boundary: BoundaryType,
) -> i64 {
    let (lo, hi) = (cq.min(), cq.max());
    if lo >= hi {
        return hi;
    }
    let time = |i| store_time(cq, log, i).unwrap_or(i64::MIN);
    match boundary {
        BoundaryType::Lower => first_true(lo, hi, |i| time(i) >= ts),
        BoundaryType::Upper => {
            let p = first_true(lo, hi, |i| time(i) > ts);
            if p == lo {
                0
            } else {
                p - 1
            }
        }
    }
}
