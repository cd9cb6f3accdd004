//! The pre-faulter: a background thread (`ferromq-store-prefault`) that faults in the commit
//! log's pages just ahead of the write position, so the writer's `memcpy` into the mapping
//! finds them already mapped.
//!
//! Why: every 4 KiB of commit log written through the shared mapping used to take one page
//! fault in the writer, with the writer lock held: the page-cache folio allocated, zero-filled
//! for the `fallocate`d (unwritten) block and mapped writable (`filemap_fault`, then the file
//! system's `page_mkwrite`), about 4 µs, counted as a major fault. At 1 KiB per message that
//! is ~1 µs of every send spent under the lock (docs/benchmarks.md has the measurement). The
//! same fault taken here, [`StoreConfig::prefault_ahead`](crate::StoreConfig) bytes before the
//! writer gets there, costs the writer nothing (upstream's `warmMapedFileEnable` touches a
//! whole new file for the same reason; this keeps a bounded window instead).
//!
//! How: `madvise(MADV_POPULATE_WRITE)` on the window between the published end of the log and
//! `end + ahead`, in chunks, without changing a byte (so it never races with the writer). A
//! populated page is dirty, so the next periodic fdatasync also writes the zeros of the window
//! (at most `ahead` bytes per flush interval) and write-protects them again: the writer then
//! takes only the cheap write-protect fault on those few pages.
//!
//! Async flush mode only. In Sync flush mode every group commit would also write the window's
//! zeros; mapping the pages readable instead (`MADV_POPULATE_READ`, which dirties nothing)
//! was measured *slower* there (64 in flight: 34.3k against 37.9k msg/s, median of 3): the
//! writer still takes a write-protect fault per page, each fdatasync write-protects the pages
//! again, and the thread's work competes for the same cores. Only segments written through the
//! mapping are touched, and only while appends use it (batches of 16 KiB and more take `pwrite`;
//! while only those arrive, the thread waits); a store that writes with `pwrite` (copy-on-write file systems) starts
//! no thread. A kernel without the advice (before Linux 5.14) turns the thread off with one
//! log line.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::config::FlushMode;
use crate::mapped::WritePath;
use crate::segment::Segment;
use crate::shared::Shared;

/// Pages are faulted in per `madvise` call at most this many bytes at a time, so a stop or a
/// segment roll is noticed quickly.
const CHUNK_BYTES: i64 = 256 << 10;
/// Shortest and longest wait when the window is already faulted in; the wait doubles while
/// the log does not move (an idle broker wakes 20 times a second) and drops back to the
/// shortest as soon as it does.
const MIN_POLL: Duration = Duration::from_millis(1);
const MAX_POLL: Duration = Duration::from_millis(50);
/// Page size the window is rounded to.
const PAGE: i64 = 4096;

/// State shared with the store handle: the stop flag and how far pages are faulted in.
pub(crate) struct Prefault {
    stop: Mutex<bool>,
    wake: Condvar,
    /// Commit-log offset below which the newest segment's pages have been faulted in.
    done_to: AtomicI64,
}

impl Prefault {
    pub fn new() -> Self {
        Prefault {
            stop: Mutex::new(false),
            wake: Condvar::new(),
            done_to: AtomicI64::new(0),
        }
    }

    /// Commit-log offset up to which pages are faulted in (for tests and diagnostics).
    pub fn done_to(&self) -> i64 {
        self.done_to.load(Ordering::Relaxed)
    }

    pub fn stop(&self) {
        *self.stop.lock() = true;
        self.wake.notify_all();
    }
}

/// Starts the pre-faulter (none when `prefault_ahead` is 0, in Sync flush mode, or when
/// appends use `pwrite`).
///
/// # Errors
/// The OS error when the thread cannot be spawned.
pub(crate) fn spawn(shared: Arc<Shared>) -> std::io::Result<Option<JoinHandle<()>>> {
    if shared.config.prefault_ahead == 0
        || shared.write_path != WritePath::Mapped
        || !matches!(shared.config.flush, FlushMode::Async { .. })
    {
        return Ok(None);
    }
    std::thread::Builder::new()
        .name("ferromq-store-prefault".into())
        .spawn(move || run(&shared))
        .map(Some)
}

/// Where the thread is: the segment it works in and how far into it, and what it saw of the
/// writer at its last look.
struct Cursor {
    seg: Option<Arc<Segment>>,
    done: i64,
    written_seen: i64,
    mapped_seen: u64,
    /// The log last moved with nothing written through the mapping.
    pwrite_only: bool,
}

fn run(shared: &Shared) {
    let ahead = round_up(shared.config.prefault_ahead as i64);
    let mut cur = Cursor {
        seg: None,
        done: 0,
        written_seen: 0,
        mapped_seen: 0,
        pwrite_only: false,
    };
    let mut poll = MIN_POLL;
    loop {
        let worked = match step(shared, &mut cur, ahead) {
            Ok(w) => w,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                tracing::info!(
                    "the kernel cannot pre-fault mapped pages (MADV_POPULATE_*, Linux 5.14+): \
                     commit-log pages are faulted in by the writer"
                );
                return;
            }
            Err(e) => {
                // ENOMEM, EINTR and the like: try again after the longest wait.
                tracing::debug!(error = %e, "pre-faulting commit-log pages failed; will retry");
                poll = MAX_POLL;
                false
            }
        };
        let mut stop = shared.prefault.stop.lock();
        if *stop {
            return;
        }
        if worked {
            poll = MIN_POLL;
        } else {
            shared.prefault.wake.wait_for(&mut stop, poll);
            if *stop {
                return;
            }
            poll = (poll * 2).min(MAX_POLL);
        }
    }
}

/// Faults in at most [`CHUNK_BYTES`] of the window ahead of the published end of the log.
/// Returns whether it did anything (else the window is already done).
fn step(shared: &Shared, cur: &mut Cursor, ahead: i64) -> std::io::Result<bool> {
    let Some(seg) = shared.log.last() else {
        return Ok(false);
    };
    if cur.seg.as_ref().is_none_or(|s| s.start != seg.start) {
        // A new segment (the writer rolled): start at its beginning.
        cur.done = seg.start;
        cur.written_seen = seg.start;
        cur.mapped_seen = 0;
        cur.pwrite_only = false;
        cur.seg = Some(seg.clone());
    }
    if !seg.file.writes_mapped() {
        return Ok(false);
    }
    // The writer may have created the segment before publishing anything in it.
    let written = shared.log.written().max(seg.start);
    // Only while appends go through the mapping: the log moved with none of it mapped means
    // batches, written with `pwrite`, which gain nothing from mapped pages and pay for them at
    // every writeback (write-protecting mapped dirty pages, TLB shootdowns): measured, batches
    // of 32 took 1.8x the broker CPU with the pre-faulter running ahead of them.
    let mapped = seg.file.mapped_bytes();
    if written > cur.written_seen {
        cur.pwrite_only = mapped == cur.mapped_seen;
        (cur.written_seen, cur.mapped_seen) = (written, mapped);
    }
    if cur.pwrite_only {
        return Ok(false);
    }
    let from = cur.done.max(seg.start + round_down(written - seg.start));
    let to = (seg.start + round_up(written - seg.start + ahead)).min(seg.end());
    if from >= to {
        return Ok(false);
    }
    let n = (to - from).min(CHUNK_BYTES);
    // Both are within the segment, so non-negative.
    seg.file.populate((from - seg.start) as u64, n as u64)?;
    cur.done = from + n;
    shared.prefault.done_to.store(cur.done, Ordering::Relaxed);
    Ok(true)
}

fn round_down(n: i64) -> i64 {
    n - n.rem_euclid(PAGE)
}

fn round_up(n: i64) -> i64 {
    round_down(n.saturating_add(PAGE - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_whole_pages() {
        assert_eq!(round_down(0), 0);
        assert_eq!(round_down(4095), 0);
        assert_eq!(round_down(4096), 4096);
        assert_eq!(round_up(1), 4096);
        assert_eq!(round_up(4096), 4096);
        assert_eq!(round_up(2 << 20), 2 << 20);
    }
}
