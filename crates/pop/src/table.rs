//! [`PopTable`]: every group's POP state, changed only through operations that journal what they
//! do before they return.
//!
//! The broker owns the message store and the offset table; this type only decides. Each
//! operation gets the offset table's current value for its queue: when that is not what the POP
//! state last committed, someone else moved the group's position (a reset, an import, a pull
//! consumer's commit) and the state restarts there, outdating every handle issued before.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use ferromq_protocol::body::progress::QueueKey;
use parking_lot::Mutex;

use crate::error::PopError;
use crate::flush::Flusher;
use crate::handle::ReceiptHandle;
use crate::journal::{apply, Journal, Record};
use crate::queue::{AckOutcome, Lease, QueueState};

#[derive(Clone, Debug)]
pub struct PopConfig {
    /// Where the journal lives.
    pub dir: PathBuf,
    /// Answers wait for an `fdatasync` of the journal, see [`PopTable::durable`] (the broker's
    /// sync flush mode).
    pub durable: bool,
    /// Unacked deliveries one queue may have; no fresh messages are handed out beyond it.
    pub max_leases_per_queue: usize,
    /// Queue states kept (groups × queues popped); new ones are refused beyond it.
    pub max_queues: usize,
    /// Journal size that triggers a snapshot.
    pub compact_bytes: u64,
}

impl PopConfig {
    pub fn new(dir: PathBuf, durable: bool) -> Self {
        PopConfig {
            dir,
            durable,
            max_leases_per_queue: 16_384,
            max_queues: 1_000_000,
            compact_bytes: 64 << 20,
        }
    }
}

/// What one pop of one queue asks for.
pub struct PopRequest {
    pub now_ms: i64,
    pub invisible_ms: i64,
    pub max: usize,
    /// Ordered (FIFO) group: nothing new while anything of the queue is unacked.
    pub fifo: bool,
    /// Deliveries after which an expired message goes to the dead-letter queue instead.
    pub max_attempts: u32,
}

/// One message handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub offset: i64,
    pub lease: Lease,
    pub handle: ReceiptHandle,
    /// Its attempts are used up: the broker moves it to the dead-letter queue, then acks it.
    pub to_dead_letter: bool,
}

/// A commit of a queue's frontier to the offset table, begun by [`PopTable::begin_commit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCommit {
    pub key: QueueKey,
    pub epoch: u32,
    /// The table's value the commit expects to replace (`None`: no entry yet).
    pub expected: Option<i64>,
    pub new: i64,
}

struct Inner {
    queues: HashMap<QueueKey, QueueState>,
    journal: Journal,
    next_seq: u64,
}

pub struct PopTable {
    cfg: PopConfig,
    inner: Mutex<Inner>,
    /// The journal's group commit, reached without the table's lock.
    flusher: Arc<Flusher>,
    /// Its thread (durable mode).
    sync_thread: Option<JoinHandle<()>>,
}

impl PopTable {
    /// Opens the journal and replays it.
    ///
    /// # Errors
    /// An unreadable journal directory or snapshot.
    pub fn open(cfg: PopConfig) -> Result<PopTable, PopError> {
        let (journal, image) = Journal::open(&cfg.dir)?;
        let next_seq = image.next_seq.max(1);
        let flusher = journal.flusher().clone();
        let sync_thread = match cfg.durable {
            true => Some(flusher.spawn()?),
            false => None,
        };
        Ok(PopTable {
            cfg,
            inner: Mutex::new(Inner {
                queues: image.into_map(),
                journal,
                next_seq,
            }),
            flusher,
            sync_thread,
        })
    }

    /// Waits until every change made so far is on disk; in durable mode an answer that depends
    /// on a change (messages handed out, an ack, a new window) must not go out before. One
    /// `fdatasync` covers every change made before it started (group commit), and no lock is
    /// held meanwhile. Returns at once when the table is not durable.
    ///
    /// # Errors
    /// An `fdatasync` failed, now or earlier (the table refuses changes from then on).
    pub async fn durable(&self) -> Result<(), PopError> {
        if !self.cfg.durable {
            return Ok(());
        }
        self.flusher.durable(self.flusher.point()).await
    }

    /// `fdatasync` calls made on the journal so far.
    pub fn journal_syncs(&self) -> u64 {
        self.flusher.syncs()
    }

    /// Hands out up to `req.max` messages of one queue: first the ones whose window ended (in
    /// offset order), then fresh ones read by `read_fresh(from, max)`, which returns the offsets
    /// it read and the offset after the last one it looked at.
    ///
    /// `table` reads the offset table's value for the queue (called under this table's lock, so
    /// no commit of this table's own can slip between the read and the comparison); `start`
    /// says where a queue without one starts.
    ///
    /// # Errors
    /// The journal could not be written: nothing was handed out.
    pub fn pop(
        &self,
        key: &QueueKey,
        table: impl FnOnce() -> Option<i64>,
        start: impl FnOnce() -> i64,
        req: &PopRequest,
        read_fresh: impl FnOnce(i64, usize) -> (Vec<i64>, i64),
    ) -> Result<Vec<Delivery>, PopError> {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        if !inner.queues.contains_key(key) && inner.queues.len() >= self.cfg.max_queues {
            return Err(PopError::Journal(format!(
                "{} POP queue states are kept already (max); delete unused groups",
                self.cfg.max_queues
            )));
        }
        self.check(inner, key, table(), start)?;
        let Some(q) = inner.queues.get(key) else {
            return Ok(Vec::new());
        };
        let epoch = q.epoch;
        let mut out = Vec::new();
        for (offset, old) in q.expired(req.now_ms, req.max) {
            let attempt = old.attempt.saturating_add(1);
            let lease = Lease {
                seq: take_seq(&mut inner.next_seq),
                attempt,
                deadline_ms: req.now_ms + req.invisible_ms,
            };
            out.push(delivery(
                key,
                epoch,
                offset,
                lease,
                attempt > req.max_attempts,
            ));
        }
        let blocked = req.fifo && !q.leases.is_empty();
        let room = self.cfg.max_leases_per_queue.saturating_sub(q.leases.len());
        let want = req.max.saturating_sub(out.len()).min(room);
        let mut cursor = q.cursor;
        if !blocked && want > 0 {
            let (offsets, next) = read_fresh(q.cursor, want);
            cursor = next.max(q.cursor);
            for offset in offsets.into_iter().take(want) {
                let lease = Lease {
                    seq: take_seq(&mut inner.next_seq),
                    attempt: 1,
                    deadline_ms: req.now_ms + req.invisible_ms,
                };
                out.push(delivery(key, epoch, offset, lease, false));
            }
        }
        if out.is_empty() && cursor == q.cursor {
            return Ok(out);
        }
        let rec = Record::Lease {
            key: key.clone(),
            epoch,
            cursor,
            leases: out.iter().map(|d| (d.offset, d.lease)).collect(),
        };
        self.record(inner, rec)?;
        Ok(out)
    }

    /// Acks one delivery.
    ///
    /// # Errors
    /// The journal could not be written (the ack is not recorded).
    pub fn ack(
        &self,
        key: &QueueKey,
        table: impl FnOnce() -> Option<i64>,
        handle: &ReceiptHandle,
    ) -> Result<AckOutcome, PopError> {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let Some(q) = inner.queues.get_mut(key) else {
            return Ok(AckOutcome::NeverDelivered);
        };
        if !q.agrees_with(table()) {
            // The position moved under this handle: outdated, whatever it names.
            return Ok(AckOutcome::BeforeReset);
        }
        let outcome = q.classify_ack(handle.offset, handle.seq, handle.epoch);
        if outcome == AckOutcome::Acked {
            let rec = Record::Ack {
                key: key.clone(),
                epoch: handle.epoch,
                offset: handle.offset,
                seq: handle.seq,
            };
            self.record(inner, rec)?;
        }
        Ok(outcome)
    }

    /// Gives a delivery a new window of `invisible_ms` from `now_ms`; the old handle is
    /// superseded by the returned one.
    ///
    /// # Errors
    /// [`PopError::ExpiredHandle`] when the handle is not the current delivery, or a journal
    /// write error.
    pub fn change_invisible(
        &self,
        key: &QueueKey,
        table: impl FnOnce() -> Option<i64>,
        handle: &ReceiptHandle,
        now_ms: i64,
        invisible_ms: i64,
    ) -> Result<Delivery, PopError> {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let table = table();
        let current = inner
            .queues
            .get(key)
            .filter(|q| q.agrees_with(table))
            .filter(|q| q.epoch == handle.epoch)
            .and_then(|q| q.leases.get(&handle.offset).map(|l| (q.cursor, *l)));
        let Some((cursor, old)) = current.filter(|(_, l)| l.seq == handle.seq) else {
            return Err(PopError::ExpiredHandle(format!(
                "receipt handle expired: offset {} of queue {} is not in flight under it (acked, delivered again, or reset)",
                handle.offset, handle.queue_id
            )));
        };
        let lease = Lease {
            seq: take_seq(&mut inner.next_seq),
            attempt: old.attempt,
            deadline_ms: now_ms + invisible_ms,
        };
        let d = delivery(key, handle.epoch, handle.offset, lease, false);
        self.record(
            inner,
            Record::Lease {
                key: key.clone(),
                epoch: handle.epoch,
                cursor,
                leases: vec![(handle.offset, lease)],
            },
        )?;
        Ok(d)
    }

    /// Starts committing the queue's frontier, when it moved and no commit is under way.
    pub fn begin_commit(&self, key: &QueueKey) -> Option<PendingCommit> {
        let mut inner = self.inner.lock();
        let q = inner.queues.get_mut(key)?;
        if q.committing.is_some() {
            return None;
        }
        let new = q.frontier();
        let expected = if q.unrecorded {
            None
        } else if new > q.base {
            Some(q.base)
        } else {
            return None;
        };
        q.committing = Some(new);
        Some(PendingCommit {
            key: key.clone(),
            epoch: q.epoch,
            expected,
            new,
        })
    }

    /// Ends a commit: `stored` says whether the offset table took it.
    ///
    /// # Errors
    /// The journal could not be written (the state still moves: the table holds the value).
    pub fn end_commit(&self, c: &PendingCommit, stored: bool) -> Result<(), PopError> {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let Some(q) = inner.queues.get_mut(&c.key) else {
            return Ok(());
        };
        if q.epoch != c.epoch || q.committing != Some(c.new) {
            return Ok(());
        }
        q.committing = None;
        if !stored {
            return Ok(());
        }
        q.unrecorded = false;
        q.committed(c.new);
        self.record(
            inner,
            Record::Committed {
                key: c.key.clone(),
                epoch: c.epoch,
                base: c.new,
            },
        )
    }

    /// Unacked deliveries of one queue, and the earliest end of their windows.
    pub fn in_flight(&self, key: &QueueKey) -> (usize, Option<i64>) {
        let inner = self.inner.lock();
        inner
            .queues
            .get(key)
            .map_or((0, None), |q| (q.leases.len(), q.next_deadline()))
    }

    /// The current lease of one offset, if it is in flight.
    pub fn in_flight_lease(&self, key: &QueueKey, offset: i64) -> Option<Lease> {
        let inner = self.inner.lock();
        inner
            .queues
            .get(key)
            .and_then(|q| q.leases.get(&offset).copied())
    }

    /// Forgets every queue state matching `pred` (deleted groups or topics).
    ///
    /// # Errors
    /// A journal write error.
    pub fn forget(&self, pred: impl Fn(&QueueKey) -> bool) -> Result<usize, PopError> {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let keys: Vec<QueueKey> = inner.queues.keys().filter(|k| pred(k)).cloned().collect();
        for key in &keys {
            self.record(inner, Record::Forget { key: key.clone() })?;
        }
        Ok(keys.len())
    }

    /// Brings the queue's state in line with the offset table (creating it at `start` when the
    /// group never popped it).
    fn check(
        &self,
        inner: &mut Inner,
        key: &QueueKey,
        table: Option<i64>,
        start: impl FnOnce() -> i64,
    ) -> Result<(), PopError> {
        let epoch = match inner.queues.get(key) {
            Some(q) if q.agrees_with(table) => return Ok(()),
            Some(q) => q.epoch.wrapping_add(1),
            None => 0,
        };
        let base = table.unwrap_or_else(start);
        self.record(
            inner,
            Record::Reset {
                key: key.clone(),
                epoch,
                base,
                unrecorded: table.is_none(),
            },
        )
    }

    /// Journals `rec`, then applies it; snapshots when the journal has grown past its limit.
    /// (Durable mode: the caller awaits [`PopTable::durable`] before it answers.)
    fn record(&self, inner: &mut Inner, rec: Record) -> Result<(), PopError> {
        if self.cfg.durable && self.flusher.failed() {
            return Err(PopError::Journal(
                "an fdatasync of the POP journal failed earlier; restart the broker once the disk is fixed".into(),
            ));
        }
        inner.journal.append(&rec)?;
        apply(&mut inner.queues, &mut inner.next_seq, &rec);
        if inner.journal.len() > self.cfg.compact_bytes {
            let image: Vec<_> = inner
                .queues
                .iter()
                .map(|(k, q)| (k.clone(), q.clone()))
                .collect();
            if let Err(e) = inner.journal.compact(inner.next_seq, image) {
                tracing::warn!(error = %e, "POP journal snapshot failed; the journal keeps growing");
            }
        }
        Ok(())
    }
}

impl Drop for PopTable {
    /// Syncs what is left (durable mode), so a clean shutdown loses nothing appended.
    fn drop(&mut self) {
        if let Some(t) = self.sync_thread.take() {
            self.flusher.stop();
            let _ = t.join();
        }
    }
}

fn take_seq(next: &mut u64) -> u64 {
    let s = *next;
    // 2^64 deliveries never happen; a damaged snapshot may still start here.
    *next = next.saturating_add(1);
    s
}

fn delivery(
    key: &QueueKey,
    epoch: u32,
    offset: i64,
    lease: Lease,
    to_dead_letter: bool,
) -> Delivery {
    Delivery {
        offset,
        lease,
        handle: ReceiptHandle {
            queue_id: key.queue_id,
            offset,
            seq: lease.seq,
            epoch,
        },
        to_dead_letter,
    }
}
