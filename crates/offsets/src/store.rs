//! [`OffsetStore`]: the public API of the offset table — open, commit, delete, flush, compact,
//! stats and shutdown.
//!
//! The machinery behind it lives in submodules: `state` (the shared state), `append` (the
//! append path and write-behind), `flusher` (the flusher thread, group commit and the rollback
//! after a failed fsync), `compaction` (snapshots and cleanup), `changes` (operator changes)
//! and `queries` (read-only queries).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::watch;
use tracing::{error, info};

use crate::codec::{self, SEG_HEADER_LEN};
use crate::config::{Durability, OffsetStoreConfig, Tuning};
use crate::error::OffsetError;
use crate::key::{validate_name, QueueKey};
use crate::recovery;
use crate::table::Table;
use state::{Counters, FlushCtl, Inner, Log, Synced};

mod append;
mod changes;
mod compaction;
#[cfg(test)]
pub(crate) mod faults;
mod flusher;
mod queries;
mod state;

/// Counters describing the store's work since it was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetStoreStats {
    /// Log records appended.
    pub records_appended: u64,
    /// Bytes appended to the log.
    pub bytes_appended: u64,
    /// `fdatasync` calls on log segments (group commit shows as `fsyncs < records_appended`).
    pub fsyncs: u64,
    /// Snapshots written.
    pub compactions: u64,
    /// Records replayed by recovery at open.
    pub records_replayed: u64,
    /// Bytes cut off a torn tail at open.
    pub truncated_bytes: u64,
    /// Bytes in the active log segment (records since the latest snapshot).
    pub log_bytes: u64,
    /// Size of the latest snapshot file.
    pub snapshot_bytes: u64,
    /// Active segment sequence number.
    pub segment: u64,
}

/// The durable consumer-offset table. Share it as `Arc<OffsetStore>`.
///
/// Reads take a shared lock on the in-memory table only; they never wait for disk I/O.
/// Writes append one CRC-checked record to the log (a `pwrite` into the page cache) under a
/// short mutex, apply it to the table, and — in [`Durability::Durable`] — wait for the flusher
/// thread's next `fdatasync`, which covers every record written before it (group commit).
pub struct OffsetStore {
    inner: Arc<Inner>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

use ferromq_protocol::time::now_ms_u64 as now_ms;

impl OffsetStore {
    /// Opens (or creates) the store in `config.dir`: loads the newest valid snapshot, replays the
    /// log after it, truncates a torn tail, and starts the flusher thread.
    ///
    /// # Errors
    /// I/O failures, and [`OffsetError::Corrupt`] when the files on disk cannot be recovered
    /// without losing acknowledged data.
    pub fn open(config: OffsetStoreConfig) -> Result<Arc<Self>, OffsetError> {
        Self::open_with(config, Tuning::default())
    }

    /// [`open`](Self::open) with explicit compaction tuning.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(config: OffsetStoreConfig, tuning: Tuning) -> Result<Arc<Self>, OffsetError> {
        let started = Instant::now();
        let r = recovery::recover(&config.dir, tuning.history_limit)?;
        let (tx, _) = watch::channel(Synced::default());
        let inner = Arc::new(Inner {
            dir: config.dir.clone(),
            durability: config.durability,
            tuning,
            table: RwLock::new(r.table),
            log: Mutex::new(Log {
                pending: Vec::new(),
                file: Arc::new(r.file),
                seq: r.seq,
                pos: r.pos,
                written_lsn: 0,
                snapshot_bytes: r.snapshot_bytes,
                cut_pending: false,
                durable_pos: r.pos,
            }),
            ctl: Mutex::new(FlushCtl::default()),
            cv: Condvar::new(),
            synced: tx,
            sync_lock: Mutex::new(()),
            compact_lock: Mutex::new(()),
            closed: AtomicBool::new(false),
            poison: OnceLock::new(),
            #[cfg(test)]
            fail_sync: AtomicBool::new(false),
            write_failing: AtomicBool::new(false),
            stats: Counters::default(),
            records_replayed: r.records_replayed,
            truncated_bytes: r.truncated_bytes,
        });
        let worker = inner.clone();
        let handle = std::thread::Builder::new()
            .name("offsets-flusher".into())
            .spawn(move || worker.flusher_loop())
            .map_err(|e| OffsetError::io("spawn flusher thread", &config.dir, e))?;
        info!(dir = %config.dir.display(), durability = ?config.durability, elapsed = ?started.elapsed(), "offset store open");
        Ok(Arc::new(OffsetStore {
            inner,
            flusher: Mutex::new(Some(handle)),
        }))
    }

    /// Stores offsets atomically: the whole batch is one log record, so after a crash either
    /// all of it or none of it is present. A later entry for the same queue in the batch wins.
    ///
    /// Periodic mode returns once the record is written to the log file (it survives a process
    /// kill; the flusher fsyncs it within the interval). Durable mode returns only after an
    /// `fdatasync` covering the record.
    ///
    /// # Errors
    /// [`OffsetError::InvalidKey`], [`OffsetError::FlushTimeout`] (outcome unknown),
    /// [`OffsetError::Poisoned`], [`OffsetError::Closed`], [`OffsetError::Io`].
    ///
    /// # Cancel safety
    /// Dropping the future after it started waiting leaves the record in the log: it is applied
    /// and will be fsynced, only the acknowledgement is lost.
    pub async fn commit(&self, entries: Vec<(QueueKey, i64)>) -> Result<(), OffsetError> {
        self.commit_if(entries, || true).await.map(|_| ())
    }

    /// Like [`commit`](Self::commit), but `check` decides under the log lock whether to store
    /// the batch at all (`Ok(false)`: declined, nothing written). Everything that changes the
    /// table takes the same lock, so a check that consults state set by
    /// [`apply_change_then`](Self::apply_change_then) cannot race with it.
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub async fn commit_if(
        &self,
        mut entries: Vec<(QueueKey, i64)>,
        check: impl FnOnce() -> bool,
    ) -> Result<bool, OffsetError> {
        if entries.is_empty() {
            return Ok(true);
        }
        for (k, _) in &entries {
            validate_name("group", &k.group)?;
            validate_name("topic", &k.topic)?;
        }
        // Stable sort keeps batch order among equal keys; keep the last of each run.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut sorted: Vec<(QueueKey, i64)> = Vec::with_capacity(entries.len());
        for e in entries {
            match sorted.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => sorted.push(e),
            }
        }
        let ts = now_ms();
        let rec = codec::encode_commit(ts, &sorted);
        let mut accepted = false;
        let lsn = self.inner.append(
            &rec,
            ts,
            |_| {
                accepted = check();
                accepted
            },
            |t| {
                let mut i = 0;
                while i < sorted.len() {
                    let k = &sorted[i].0;
                    let mut j = i;
                    while j < sorted.len()
                        && sorted[j].0.group == k.group
                        && sorted[j].0.topic == k.topic
                    {
                        j += 1;
                    }
                    t.set_section(
                        &k.group,
                        &k.topic,
                        sorted[i..j].iter().map(|(k, o)| (k.queue_id, *o)),
                    );
                    i = j;
                }
            },
        )?;
        if !accepted {
            return Ok(false);
        }
        self.wait_durable(lsn).await.map(|_| true)
    }

    /// Stores `new` for `key` only if the table holds `expected` for it (`None`: no entry):
    /// compare-and-set under the log lock, so a change made meanwhile by anyone else (a reset,
    /// an import) is never overwritten. `Ok(false)`: the table held something else.
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub async fn compare_and_commit(
        &self,
        key: QueueKey,
        expected: Option<i64>,
        new: i64,
    ) -> Result<bool, OffsetError> {
        validate_name("group", &key.group)?;
        validate_name("topic", &key.topic)?;
        let ts = now_ms();
        let entries = [(key, new)];
        let rec = codec::encode_commit(ts, &entries);
        let [(key, new)] = entries;
        let mut accepted = false;
        let lsn = self.inner.append(
            &rec,
            ts,
            |t| {
                accepted = t.get(&key.group, &key.topic, key.queue_id) == expected;
                accepted
            },
            |t| t.set_section(&key.group, &key.topic, [(key.queue_id, new)]),
        )?;
        if !accepted {
            return Ok(false);
        }
        self.wait_durable(lsn).await.map(|_| true)
    }

    /// Removes every offset of `group`. Durable like [`commit`](Self::commit).
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub async fn delete_group(&self, group: &str) -> Result<usize, OffsetError> {
        validate_name("group", group)?;
        let ts = now_ms();
        let rec = codec::encode_delete_group(ts, group);
        self.delete(
            rec,
            ts,
            |t| (t.count_group(group), t.changes.any_intent(|k| k.0 == group)),
            |t| t.delete_group(group),
        )
        .await
    }

    /// Removes every group's offsets of `topic` (upstream `cleanOffsetByTopic`).
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub async fn delete_topic(&self, topic: &str) -> Result<usize, OffsetError> {
        validate_name("topic", topic)?;
        let ts = now_ms();
        let rec = codec::encode_delete_topic(ts, topic);
        self.delete(
            rec,
            ts,
            |t| (t.count_topic(topic), t.changes.any_intent(|k| k.1 == topic)),
            |t| t.delete_topic(topic),
        )
        .await
    }

    /// Removes the offsets of one `(group, topic)`.
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub async fn delete_group_topic(&self, group: &str, topic: &str) -> Result<usize, OffsetError> {
        validate_name("group", group)?;
        validate_name("topic", topic)?;
        let ts = now_ms();
        let rec = codec::encode_delete_group_topic(ts, group, topic);
        self.delete(
            rec,
            ts,
            |t| {
                (
                    t.count_group_topic(group, topic),
                    t.changes.any_intent(|k| k.0 == group && k.1 == topic),
                )
            },
            |t| t.delete_group_topic(group, topic),
        )
        .await
    }

    async fn delete(
        &self,
        rec: Vec<u8>,
        ts: u64,
        count: impl FnOnce(&Table) -> (usize, bool),
        apply: impl FnOnce(&mut Table) -> usize,
    ) -> Result<usize, OffsetError> {
        let mut n = 0;
        let mut expected = 0;
        let mut wrote = false;
        let lsn = self.inner.append(
            &rec,
            ts,
            |t| {
                let (entries, intents) = count(t);
                expected = entries;
                wrote = entries > 0 || intents;
                wrote
            },
            |t| n = apply(t),
        )?;
        debug_assert_eq!(n, expected);
        if !wrote {
            return Ok(0);
        }
        // Deletes are operator actions: written through even with write-behind.
        self.inner.write_out()?;
        self.wait_durable(lsn).await?;
        Ok(n)
    }

    async fn wait_durable(&self, lsn: u64) -> Result<(), OffsetError> {
        let Durability::Durable { timeout } = self.inner.durability else {
            return Ok(());
        };
        let mut rx = self.inner.synced.subscribe();
        if rx.borrow().lsn >= lsn {
            return Ok(());
        }
        self.inner.request_sync();
        let r = tokio::time::timeout(timeout, rx.wait_for(|s| s.lsn >= lsn || s.poisoned))
            .await
            .map(|r| r.map(|s| *s));
        match r {
            Err(_) => Err(OffsetError::FlushTimeout(timeout)),
            Ok(Err(_)) => Err(OffsetError::Closed),
            Ok(Ok(s)) if s.lsn >= lsn => Ok(()),
            Ok(Ok(_)) => Err(self.inner.poisoned_error()),
        }
    }

    /// Fsyncs everything written so far, now, on the calling thread (blocking).
    ///
    /// # Errors
    /// [`OffsetError::Io`] (the store is then poisoned) or [`OffsetError::Poisoned`].
    pub fn flush(&self) -> Result<(), OffsetError> {
        self.inner.sync_now()
    }

    /// Writes a snapshot now and drops log segments no longer needed (normally the flusher does
    /// this when the log outgrows the snapshot).
    ///
    /// # Errors
    /// I/O failures; the store stays usable (the old snapshot and log are untouched).
    pub fn compact(&self) -> Result<(), OffsetError> {
        self.inner.compact()
    }

    /// Counters since open.
    pub fn stats(&self) -> OffsetStoreStats {
        let log = self.inner.log.lock();
        let s = &self.inner.stats;
        OffsetStoreStats {
            records_appended: s.records.load(Ordering::Relaxed),
            bytes_appended: s.bytes.load(Ordering::Relaxed),
            fsyncs: s.fsyncs.load(Ordering::Relaxed),
            compactions: s.compactions.load(Ordering::Relaxed),
            records_replayed: self.inner.records_replayed,
            truncated_bytes: self.inner.truncated_bytes,
            log_bytes: log.pos - SEG_HEADER_LEN,
            snapshot_bytes: log.snapshot_bytes,
            segment: log.seq,
        }
    }

    /// Unit tests: make the flusher's fsyncs fail (EIO) from now on.
    #[cfg(test)]
    pub(crate) fn fail_fsyncs(&self) {
        self.inner.fail_sync.store(true, Ordering::SeqCst);
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &std::path::Path {
        &self.inner.dir
    }

    /// Flushes, stops the flusher thread and refuses further writes. Idempotent.
    ///
    /// # Errors
    /// The final fsync's failure.
    pub fn shutdown(&self) -> Result<(), OffsetError> {
        if !self.inner.closed.swap(true, Ordering::SeqCst) {
            // Barrier: appends check `closed` under the log mutex, so none follows this point.
            drop(self.inner.log.lock());
        }
        if let Some(h) = self.flusher.lock().take() {
            self.inner.ctl.lock().stop = true;
            self.inner.cv.notify_all();
            let _ = h.join();
        }
        match self.inner.poison.get() {
            Some(_) => Err(self.inner.poisoned_error()),
            None => self.inner.sync_now(),
        }
    }
}

impl Drop for OffsetStore {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            error!(error = %e, "offset store shutdown on drop failed");
        }
    }
}
