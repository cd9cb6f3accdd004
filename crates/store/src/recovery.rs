//! Recovery, part two: make the consume queues agree with the commit log.
//!
//! 1. Find the valid end of the log ([`crate::scan`]), from the checkpoint's segment.
//! 2. Drop consume-queue entries past that end, or whose record does not match them.
//! 3. Re-dispatch records from the checkpoint's dispatched offset on. A queue that turns out to
//!    be missing entries (a gap), or any queue found damaged while loading, or a missing
//!    checkpoint, makes the whole log be re-dispatched (a full rebuild).
//! 4. Set each queue's min offset: its first entry whose record is still in the log.

use std::path::Path;
use std::sync::Arc;

use crate::checkpoint::{self, Checkpoint};
use crate::commit_log::CommitLog;
use crate::config::StoreConfig;
use crate::consume_queue::{ConsumeQueue, CqEntry, CQ_UNIT};
use crate::error::{io_err, StoreError};
use crate::queues::QueueTable;
use crate::record::{self, valid_topic};
use crate::scan::{self, record_at};

/// The largest queue offset a consume queue can index (its byte position must fit an i64).
const MAX_QUEUE_OFFSET: i64 = i64::MAX / CQ_UNIT as i64;
use crate::search::first_true;
use crate::segment::Segment;

pub(crate) struct Recovered {
    pub log: CommitLog,
    pub queues: QueueTable,
    pub end: i64,
}

/// Opens the log and the consume queues under `cfg.root` and makes them agree (steps in the
/// module documentation).
///
/// # Errors
/// [`StoreError::Io`] when a file cannot be read, created, repaired or synced;
/// [`StoreError::Corrupt`] for damage recovery cannot repair.
pub(crate) fn recover(cfg: &StoreConfig) -> Result<Recovered, StoreError> {
    let log_dir = cfg.root.join("commitlog");
    std::fs::create_dir_all(&log_dir).map_err(io_err(&log_dir))?;
    let unclean = checkpoint::abort_path(&cfg.root).exists();
    let ckpt = checkpoint::read(&cfg.root);
    if unclean {
        tracing::warn!(root = %cfg.root.display(), "store was not shut down cleanly; recovering");
    }
    let mut segs = scan::load_segments(&log_dir, cfg.segment_size)?;
    if segs.is_empty() {
        segs.push(Segment::create(&log_dir, 0, cfg.segment_size)?);
    }
    let (queues, damaged) =
        QueueTable::load(cfg.root.join("consumequeue"), cfg.cq_entries_per_file)?;
    let mut full = damaged || ckpt.is_none();
    loop {
        let log_min = segs.first().map_or(0, |s| s.start);
        let cp = ckpt.unwrap_or(Checkpoint {
            log_flushed: log_min,
            dispatched: log_min,
        });
        let from = if full {
            log_min
        } else {
            cp.log_flushed.min(cp.dispatched).max(log_min)
        };
        let limit = segs.last().map_or(0, |s| s.end());
        let (checked, end) = scan::validate(segs, from)?;
        segs = checked;
        let mut bad = false;
        for cq in queues.all() {
            bad |= trim_queue(&cq, &segs, log_min, end, limit)?;
        }
        let dispatch_from = if full {
            log_min
        } else {
            cp.dispatched.clamp(log_min, end)
        };
        bad |= dispatch(&queues, &segs, dispatch_from, end, full)?;
        if bad && !full {
            tracing::warn!(
                "consume queues disagree with the commit log; rebuilding them from the whole log"
            );
            full = true;
            continue;
        }
        for cq in queues.all() {
            set_min(&cq, log_min);
        }
        let segs: Vec<Arc<Segment>> = segs.into_iter().map(Arc::new).collect();
        for s in segs.iter().filter(|s| s.end() > from) {
            s.file.sync()?;
        }
        for cq in queues.all() {
            cq.flush()?;
        }
        tracing::info!(
            end,
            full_rebuild = full,
            queues = queues.all().len(),
            "store recovered"
        );
        let log = CommitLog::new(log_dir, cfg.segment_size, segs, end);
        return Ok(Recovered { log, queues, end });
    }
}

/// Drops trailing entries past `end` or not matching their record. Returns `true` if any entry
/// was wrong rather than merely ahead of the log (pointing into `[end, limit)`, where `limit`
/// is the end of the segment files found on disk), which calls for a full rebuild.
fn trim_queue(
    cq: &ConsumeQueue,
    segs: &[Segment],
    log_min: i64,
    end: i64,
    limit: i64,
) -> Result<bool, StoreError> {
    let mut m = cq.max();
    let mut wrong = false;
    while m > cq.first_index() {
        let Some(e) = cq.entry(m - 1) else { break };
        if e.size > 0 && e.phys < log_min {
            break;
        }
        let ok = e.size > 0
            && e.phys.checked_add(e.size as i64).is_some_and(|x| x <= end)
            && record_at(segs, e.phys).is_some_and(|r| {
                r.total == e.size as usize
                    && r.queue_offset == m - 1
                    && r.queue_id == cq.queue_id
                    && r.topic == cq.topic.as_bytes()
            });
        if ok {
            break;
        }
        let ahead = e.size > 0
            && e.phys
                .checked_add(e.size as i64)
                .is_some_and(|x| x > end && x <= limit);
        wrong |= !ahead;
        m -= 1;
    }
    if m != cq.max() {
        tracing::warn!(topic = %cq.topic, queue_id = cq.queue_id, from = cq.max(), to = m, "consume queue trimmed to match the commit log");
        cq.truncate(m)?;
    }
    Ok(wrong)
}

/// Writes consume-queue entries for records in `[from, end)`. Returns `true` on a gap (a
/// record whose queue offset is beyond its queue's max), unless `full`.
#[allow(unsafe_code)]
fn dispatch(
    queues: &QueueTable,
    segs: &[Segment],
    from: i64,
    end: i64,
    full: bool,
) -> Result<bool, StoreError> {
    let mut pos = from;
    while pos < end {
        let Some(seg) = segs.get(segs.partition_point(|s| s.end() <= pos)) else {
            break;
        };
        // SAFETY: `segs` are recovery's own segments, not yet in a `CommitLog`: no writer
        // exists, so nothing writes to the file while the slice lives.
        let whole = unsafe { seg.file.bytes() };
        let rest = whole.get((pos - seg.start) as usize..).unwrap_or_default();
        if record::is_blank(rest) || rest.len() < record::BLANK_LEN {
            pos = seg.end();
            continue;
        }
        let Some(m) = record_at(segs, pos) else {
            tracing::error!(offset = pos, "unreadable record during dispatch; stopping");
            break;
        };
        let topic = std::str::from_utf8(m.topic).ok().filter(|t| valid_topic(t));
        match topic {
            // A queue offset past what a consume queue can index is a damaged record: it is
            // not dispatched (and `qo + 1` below cannot overflow).
            Some(topic) if m.queue_id >= 0 && (0..MAX_QUEUE_OFFSET).contains(&m.queue_offset) => {
                let cq = queues.get_or_create(topic, m.queue_id)?;
                let e = CqEntry {
                    phys: pos,
                    size: m.total as i32,
                    tags: record::tags_code(m.properties),
                };
                let qo = m.queue_offset;
                if full {
                    if cq.entry(qo) != Some(e) {
                        cq.write_at(qo, &e.encode())?;
                    }
                    cq.raise_max(qo + 1);
                } else if qo == cq.max() {
                    cq.append(&e.encode())?;
                } else if qo > cq.max() {
                    tracing::warn!(
                        topic,
                        queue_id = m.queue_id,
                        queue_offset = qo,
                        max = cq.max(),
                        "gap in consume queue"
                    );
                    return Ok(true);
                }
            }
            _ => tracing::warn!(
                offset = pos,
                "record with an unusable topic or queue; not dispatched"
            ),
        }
        pos += m.total as i64;
    }
    Ok(false)
}

/// Min offset = first entry whose record is still in the log (holes and older entries form a
/// prefix, so binary search works).
fn set_min(cq: &ConsumeQueue, log_min: i64) {
    let lo = cq.first_index().min(cq.max());
    let min = first_true(lo, cq.max(), |i| {
        cq.entry(i).is_some_and(|e| e.size > 0 && e.phys >= log_min)
    });
    cq.set_min(min);
}

/// Creates the abort marker (removed by a clean shutdown).
///
/// # Errors
/// [`StoreError::Io`] when the marker cannot be created.
pub(crate) fn mark_open(root: &Path) -> Result<(), StoreError> {
    let p = checkpoint::abort_path(root);
    std::fs::File::create(&p).map_err(io_err(&p))?;
    Ok(())
}
