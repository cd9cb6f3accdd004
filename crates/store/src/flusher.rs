//! The flusher thread: fdatasyncs the commit log (every interval in Async mode, on demand in
//! Sync mode, grouping every put that arrived meanwhile into one fdatasync), publishes the
//! flushed offset on a `watch` channel, and lazily flushes consume queues and the checkpoint.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use crate::checkpoint::Checkpoint;
use crate::config::FlushMode;
use crate::error::StoreError;
use crate::shared::{Counters, Shared};

/// How often consume queues and the checkpoint are flushed.
const CQ_FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlushState {
    /// Commit-log bytes below this offset are durable.
    pub offset: i64,
    /// A flush failed; the store is poisoned.
    pub failed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Exit; the caller does the final flush.
    Exit,
}

struct Ctl {
    requested: bool,
    stop: Option<Stop>,
    last_checkpoint: Option<Checkpoint>,
}

pub(crate) struct FlushCtl {
    ctl: Mutex<Ctl>,
    cv: Condvar,
    tx: watch::Sender<FlushState>,
    /// Serialises flush rounds (the thread's and the final one in `shutdown`).
    round: Mutex<()>,
}

impl FlushCtl {
    pub fn new(flushed: i64) -> Self {
        let (tx, _) = watch::channel(FlushState {
            offset: flushed,
            failed: false,
        });
        FlushCtl {
            ctl: Mutex::new(Ctl {
                requested: false,
                stop: None,
                last_checkpoint: None,
            }),
            cv: Condvar::new(),
            tx,
            round: Mutex::new(()),
        }
    }

    /// Asks for a flush as soon as possible (Sync-mode puts).
    pub fn request(&self) {
        self.ctl.lock().requested = true;
        self.cv.notify_one();
    }

    pub fn stop(&self, how: Stop) {
        self.ctl.lock().stop = Some(how);
        self.cv.notify_one();
    }

    pub fn subscribe(&self) -> watch::Receiver<FlushState> {
        self.tx.subscribe()
    }

    pub fn flushed(&self) -> i64 {
        self.tx.borrow().offset
    }
}

/// Starts the flusher thread.
///
/// # Errors
/// The OS error when the thread cannot be spawned.
pub(crate) fn spawn(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ferromq-store-flush".into())
        .spawn(move || run(&shared))
}

fn run(shared: &Shared) {
    let wait = match shared.config.flush {
        FlushMode::Async { interval } => interval,
        FlushMode::Sync { .. } => CQ_FLUSH_EVERY,
    };
    let mut last_cq = Instant::now();
    let mut cq_failing = false;
    loop {
        let stop = {
            let mut c = shared.flush.ctl.lock();
            if !c.requested && c.stop.is_none() {
                shared.flush.cv.wait_for(&mut c, wait);
            }
            c.requested = false;
            c.stop
        };
        if stop.is_some() {
            return;
        }
        let _ = flush_log(shared);
        if last_cq.elapsed() >= CQ_FLUSH_EVERY {
            // Logged once per run of failures (a full disk fails it every second).
            match flush_queues(shared) {
                Ok(()) if cq_failing => {
                    cq_failing = false;
                    tracing::info!("consume-queue flush succeeds again");
                }
                Ok(()) => {}
                Err(e) if !cq_failing => {
                    cq_failing = true;
                    tracing::warn!(error = %e, "consume-queue flush failed; will retry (further failures are logged at debug level)");
                }
                Err(e) => tracing::debug!(error = %e, "consume-queue flush failed; will retry"),
            }
            last_cq = Instant::now();
        }
    }
}

/// fdatasyncs the commit log up to the written end and publishes it.
///
/// # Errors
/// [`StoreError::Io`] when an fdatasync fails; the store is then poisoned and waiting puts
/// learn of it through the flush state.
pub(crate) fn flush_log(shared: &Shared) -> Result<(), StoreError> {
    let _round = shared.flush.round.lock();
    let from = shared.flush.flushed();
    let to = shared.log.written();
    if to <= from {
        return Ok(());
    }
    for seg in shared.log.segments_between(from, to) {
        let started = Instant::now();
        let synced = seg.file.sync();
        shared.counters.fsync_took(started.elapsed().as_secs_f64());
        if let Err(e) = synced {
            shared.poison(format!("commit-log fsync failed: {e}"));
            shared.flush.tx.send_modify(|s| s.failed = true);
            return Err(e);
        }
        Counters::add(&shared.counters.log_fsyncs, 1);
    }
    shared.flush.tx.send_modify(|s| s.offset = s.offset.max(to));
    Ok(())
}

/// fdatasyncs dirty consume-queue files, then records the checkpoint.
///
/// # Errors
/// [`StoreError::Io`] when a consume-queue fdatasync or the checkpoint write fails; the
/// checkpoint is then not advanced.
pub(crate) fn flush_queues(shared: &Shared) -> Result<(), StoreError> {
    let _round = shared.flush.round.lock();
    let dispatched = shared.dispatched.load(Ordering::Acquire);
    let mut n = 0;
    for cq in shared.queues.all() {
        n += cq.flush()?;
    }
    Counters::add(&shared.counters.cq_fsyncs, n);
    let cp = Checkpoint {
        log_flushed: shared.flush.flushed(),
        dispatched,
    };
    let mut c = shared.flush.ctl.lock();
    if c.last_checkpoint != Some(cp) {
        drop(c);
        shared.checkpoint.write(cp)?;
        Counters::add(&shared.counters.cq_fsyncs, 1);
        c = shared.flush.ctl.lock();
        c.last_checkpoint = Some(cp);
    }
    Ok(())
}
