//! [`OffsetStore`]: the table, the append path, group commit and the flusher thread.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::watch;
use tracing::{debug, error, info};

use crate::change::{Change, ChangeDraft, ChangeEntry, Intent, MovedQueue, NormalDraft};
use crate::codec::{self, MAX_RECORD_LEN, REC_HEADER_LEN, SEG_HEADER_LEN};
use crate::config::{Durability, OffsetStoreConfig, Tuning};
use crate::error::OffsetError;
use crate::files::{self, segment_path};
use crate::key::{validate_name, QueueKey};
use crate::recovery;
use crate::table::Table;

mod queries;

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

#[derive(Default)]
struct Counters {
    records: AtomicU64,
    bytes: AtomicU64,
    fsyncs: AtomicU64,
    compactions: AtomicU64,
}

/// The segment being appended to.
/// Pending bytes that make an append write them out at once (with `Tuning::write_behind`).
const PENDING_WRITE_BYTES: usize = 256 * 1024;

struct Log {
    file: Arc<File>,
    seq: u64,
    /// End of the log, including `pending` bytes not yet written to the file.
    pos: u64,
    /// Records appended but not yet written to the file. Empty after every append unless
    /// `Tuning::write_behind` is set: then the flusher writes them out on its tick (and before
    /// every fsync), so a burst of commits costs one `pwrite` instead of one each.
    pending: Vec<u8>,
    /// Sequence number of the last appended record (the log sequence number, LSN).
    written_lsn: u64,
    snapshot_bytes: u64,
    /// A failed write left bytes past the end of the log that could not be cut off yet (on a
    /// full btrfs even `ftruncate` fails): nothing is written, and the segment is not sealed,
    /// until they are.
    cut_pending: bool,
    /// Length of the active segment covered by the last successful fsync: what a failed fsync
    /// rolls the log back to (every earlier segment is fsynced before appends move on).
    durable_pos: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Synced {
    lsn: u64,
    poisoned: bool,
}

#[derive(Default)]
struct FlushCtl {
    requested: bool,
    stop: bool,
}

pub(crate) struct Inner {
    dir: PathBuf,
    durability: Durability,
    tuning: Tuning,
    table: RwLock<Table>,
    log: Mutex<Log>,
    ctl: Mutex<FlushCtl>,
    cv: Condvar,
    synced: watch::Sender<Synced>,
    sync_lock: Mutex<()>,
    compact_lock: Mutex<()>,
    closed: AtomicBool,
    poison: OnceLock<String>,
    /// Unit tests: the next fsyncs fail like a failing disk.
    #[cfg(test)]
    fail_sync: AtomicBool,
    /// The last log write failed (logged once until a write succeeds again).
    write_failing: AtomicBool,
    stats: Counters,
    records_replayed: u64,
    truncated_bytes: u64,
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

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

    /// Applies an operator change atomically and records it in the history.
    ///
    /// Under the store's write path lock it reads each key's current value as `before`, applies
    /// `set` (`None` deletes), clears then sets intents, assigns the next change id, and appends
    /// ONE log record holding all of it; after a crash either the whole change (values, intents,
    /// history entry) is present or none of it. Durable like [`commit`](Self::commit). Entries
    /// whose before equals after are still listed. An empty draft is recorded too.
    ///
    /// # Errors
    /// As [`commit`](Self::commit); [`OffsetError::InvalidKey`] also for a change whose record
    /// would exceed 64 MiB.
    pub async fn apply_change(&self, draft: ChangeDraft) -> Result<Change, OffsetError> {
        self.apply_change_then(draft, |_| {}).await
    }

    /// Like [`apply_change`](Self::apply_change); `then` runs under the log lock right after the
    /// change is applied to the table, before any other write (the broker installs its reset
    /// guards there, so no client commit can slip in between).
    ///
    /// # Errors
    /// As [`apply_change`](Self::apply_change).
    pub async fn apply_change_then(
        &self,
        mut draft: ChangeDraft,
        then: impl FnOnce(&Change),
    ) -> Result<Change, OffsetError> {
        for (k, _) in &draft.set {
            validate_name("group", &k.group)?;
            validate_name("topic", &k.topic)?;
        }
        for i in &draft.set_intents {
            validate_name("group", &i.group)?;
            validate_name("topic", &i.topic)?;
        }
        for (g, t, _) in &draft.clear_intents {
            validate_name("group", g)?;
            validate_name("topic", t)?;
        }
        let d = NormalDraft::new(&mut draft);
        let expect = std::mem::take(&mut draft.expect);
        let ts = now_ms();
        let mut applied = None;
        let lsn = self.inner.append_with(
            ts,
            |t| {
                let moved: Vec<MovedQueue> = expect
                    .iter()
                    .filter_map(|(k, expected)| {
                        let actual = t.get(&k.group, &k.topic, k.queue_id);
                        (actual != *expected).then(|| MovedQueue {
                            key: k.clone(),
                            expected: *expected,
                            actual,
                        })
                    })
                    .collect();
                if !moved.is_empty() {
                    return Err(OffsetError::Moved(moved));
                }
                let entries = d
                    .set
                    .iter()
                    .map(|(k, after)| ChangeEntry {
                        key: k.clone(),
                        before: t.get(&k.group, &k.topic, k.queue_id),
                        after: *after,
                    })
                    .collect();
                let mut cleared: BTreeMap<_, Intent> = BTreeMap::new();
                let replaced = d.set_intents.iter().map(Intent::key);
                for key in d.clear.iter().cloned().chain(replaced) {
                    if let Some(old) = t.changes.intents.get(&key) {
                        cleared.insert(key, old.clone());
                    }
                }
                let change = Change {
                    id: t.changes.next_id,
                    time_ms: ts as i64,
                    actor: std::mem::take(&mut draft.actor),
                    operation: std::mem::take(&mut draft.operation),
                    scope: std::mem::take(&mut draft.scope),
                    entries,
                    intents_set: d.set_intents.clone(),
                    intents_cleared: cleared.into_values().collect(),
                    undo_of: draft.undo_of,
                };
                let rec = codec::encode_change(ts, &change).map_err(OffsetError::InvalidKey)?;
                Ok(Some((Cow::Owned(rec), Arc::new(change))))
            },
            |t, change| {
                applied = Some(change.clone());
                t.apply_change(change);
                if let Some(c) = &applied {
                    then(c);
                }
            },
        )?;
        let change = applied.ok_or(OffsetError::Closed)?;
        // Operator changes are written through even with write-behind: a reset acknowledged
        // to an operator must survive a SIGKILL right after it.
        self.inner.write_out()?;
        self.wait_durable(lsn).await?;
        Ok((*change).clone())
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

/// `pwrite` of log bytes. Unit tests can make it fail like a full disk (after writing half).
fn write_log(file: &File, buf: &[u8], at: u64) -> std::io::Result<()> {
    #[cfg(test)]
    if faults::FULL.with(std::cell::Cell::get) {
        file.write_all_at(&buf[..buf.len() / 2], at)?;
        return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
    }
    file.write_all_at(buf, at)
}

/// Cuts the log file back to `len` bytes (removing a failed write). Unit tests can make it fail
/// like `ftruncate` on a full btrfs.
fn cut_log(file: &File, len: u64) -> std::io::Result<()> {
    #[cfg(test)]
    if faults::CUT_FAILS.with(std::cell::Cell::get) {
        return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
    }
    file.set_len(len)
}

impl Inner {
    fn poisoned_error(&self) -> OffsetError {
        OffsetError::Poisoned(self.poison.get().cloned().unwrap_or_default())
    }

    /// Appends one record and applies it to the table, in log order. `precheck` may decline the
    /// write (nothing to change). Returns the record's LSN.
    fn append(
        &self,
        rec: &[u8],
        ts: u64,
        precheck: impl FnOnce(&Table) -> bool,
        apply: impl FnOnce(&mut Table),
    ) -> Result<u64, OffsetError> {
        self.append_with(
            ts,
            |t| Ok(precheck(t).then_some((Cow::Borrowed(rec), ()))),
            |t, ()| apply(t),
        )
    }

    /// Like [`append`](Self::append), but the record is built by `prepare` from the table as it
    /// is under the log mutex (no other write can intervene before `apply`). `prepare` returning
    /// `None` declines the write.
    fn append_with<'r, R>(
        &self,
        ts: u64,
        prepare: impl FnOnce(&Table) -> Result<Option<(Cow<'r, [u8]>, R)>, OffsetError>,
        apply: impl FnOnce(&mut Table, R),
    ) -> Result<u64, OffsetError> {
        let mut log = self.log.lock();
        if self.closed.load(Ordering::SeqCst) {
            return Err(OffsetError::Closed);
        }
        if self.poison.get().is_some() {
            return Err(self.poisoned_error());
        }
        let prepared = prepare(&self.table.read())?;
        let Some((rec, value)) = prepared else {
            return Ok(log.written_lsn);
        };
        if rec.len() - REC_HEADER_LEN > MAX_RECORD_LEN {
            return Err(OffsetError::InvalidKey(format!(
                "record of {} bytes exceeds the {MAX_RECORD_LEN}-byte limit; split the batch",
                rec.len()
            )));
        }
        let before = log.pending.len();
        log.pending.extend_from_slice(&rec);
        log.pos += rec.len() as u64;
        if self.tuning.write_behind.is_none() || log.pending.len() >= PENDING_WRITE_BYTES {
            if let Err(e) = self.write_pending(&mut log) {
                // Not applied, not acknowledged: take the record back (records pending before
                // it, acknowledged with write-behind, stay queued and are retried).
                log.pending.truncate(before);
                log.pos -= rec.len() as u64;
                return Err(e);
            }
        }
        log.written_lsn += 1;
        let lsn = log.written_lsn;
        {
            let mut t = self.table.write();
            apply(&mut t, value);
            t.counter += 1;
            t.timestamp_ms = ts;
        }
        drop(log);
        self.stats.records.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes
            .fetch_add(rec.len() as u64, Ordering::Relaxed);
        Ok(lsn)
    }

    /// Writes the pending records to the file (under the log mutex).
    ///
    /// A failed write (typically a full disk) is cut off the file again and the records stay
    /// pending: the caller's own record is not applied (see `append_with`), and records already
    /// acknowledged with write-behind are written by a later call once there is room. When the
    /// cut fails too (btrfs needs space to truncate), it is retried before anything else is
    /// written, and until it succeeds every write fails; a crash meanwhile leaves a torn tail,
    /// which recovery cuts off (it holds no complete record that was not acknowledged: the
    /// write failed before the caller's record was complete).
    fn write_pending(&self, log: &mut Log) -> Result<(), OffsetError> {
        let at = log.pos - log.pending.len() as u64;
        if log.cut_pending {
            if let Err(e) = cut_log(&log.file, at) {
                let err = OffsetError::io(
                    "cut off a failed write",
                    segment_path(&self.dir, log.seq),
                    e,
                );
                self.note_write_failure(&err);
                return Err(err);
            }
            log.cut_pending = false;
        }
        if log.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = write_log(&log.file, &log.pending, at) {
            let err = OffsetError::io("append", segment_path(&self.dir, log.seq), e);
            log.cut_pending = cut_log(&log.file, at).is_err();
            self.note_write_failure(&err);
            return Err(err);
        }
        if self.write_failing.swap(false, Ordering::AcqRel) {
            info!("offset log writes succeed again");
        }
        log.pending.clear();
        Ok(())
    }

    /// Logs a failed log write: the first of a run at error level, the next ones at debug.
    fn note_write_failure(&self, err: &OffsetError) {
        if !self.write_failing.swap(true, Ordering::AcqRel) {
            error!(error = %err, "offset log write failed; commits fail until it succeeds again (later failures are logged at debug level)");
        } else {
            debug!(error = %err, "offset log write failed");
        }
    }

    /// Writes pending records out without an fsync (the flusher's frequent tick).
    fn write_out(&self) -> Result<(), OffsetError> {
        let mut log = self.log.lock();
        self.write_pending(&mut log)
    }

    fn request_sync(&self) {
        let mut c = self.ctl.lock();
        if !c.requested {
            c.requested = true;
            self.cv.notify_one();
        }
    }

    /// Fsyncs the active segment if anything was written since the last fsync. The table and
    /// log locks are not held during the fsync.
    fn sync_now(&self) -> Result<(), OffsetError> {
        let _g = self.sync_lock.lock();
        if self.poison.get().is_some() {
            return Err(self.poisoned_error());
        }
        let (file, target, seq, end) = {
            let mut log = self.log.lock();
            self.write_pending(&mut log)?;
            (log.file.clone(), log.written_lsn, log.seq, log.pos)
        };
        if target <= self.synced.borrow().lsn {
            return Ok(());
        }
        if let Err(e) = self.sync_file(&file) {
            let err = OffsetError::io("fdatasync", segment_path(&self.dir, seq), e);
            self.roll_back_to_durable(&err);
            return Err(err);
        }
        self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        {
            let mut log = self.log.lock();
            if log.seq == seq {
                log.durable_pos = log.durable_pos.max(end);
            }
        }
        self.synced.send_modify(|s| s.lsn = s.lsn.max(target));
        Ok(())
    }

    /// `fdatasync` of a log segment. Unit tests can make it fail like a failing disk.
    fn sync_file(&self, file: &File) -> std::io::Result<()> {
        #[cfg(test)]
        if self.fail_sync.load(Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        file.sync_data()
    }

    /// After a failed fsync nothing written since the last good one is known to be on disk, and
    /// Linux may already have dropped those pages. The store refuses writes from now on
    /// (poisoned), cuts the log back to what the last good fsync covered and reloads its table
    /// from the files, so that what it answers until the restart is what a restart will find:
    /// a durable reset or commit waiting for this fsync is reported failed *and* is not visible.
    /// (With periodic durability, commits acknowledged since the last fsync are rolled back too:
    /// that mode never promised them past a failing disk.) If the log cannot be cut, the records
    /// may come back at restart; that is logged, and the table keeps them so memory still
    /// matches the files.
    fn roll_back_to_durable(&self, err: &OffsetError) {
        let why = format!(
            "{err}; writes after the last successful fsync were rolled back; \
             restart the broker once the disk is healthy"
        );
        error!(reason = %why, "offset store poisoned; writes refused until reopen");
        {
            let mut log = self.log.lock();
            // Appends check the poison under the log mutex: none follows this point.
            let _ = self.poison.set(why);
            log.pending.clear();
            log.pos = log.durable_pos;
            if let Err(e) = cut_log(&log.file, log.durable_pos) {
                error!(error = %e, "could not cut records that are not durable off the offset log; they may reappear after a restart");
            }
            match recovery::recover(&self.dir, self.tuning.history_limit) {
                Ok(r) => *self.table.write() = r.table,
                Err(e) => {
                    error!(error = %e, "could not reload the offset table after a failed fsync; it keeps writes that may not be durable")
                }
            }
        }
        self.synced.send_modify(|s| s.poisoned = true);
    }

    fn flusher_loop(self: Arc<Self>) {
        let sync_every = match self.durability {
            Durability::Periodic { interval } => interval,
            // Durable writers request a sync; the timer is only a safety net.
            Durability::Durable { .. } => Duration::from_secs(1),
        };
        let mut last_sync = Instant::now();
        let mut compact_failing = false;
        loop {
            let (stop, requested) = {
                let mut c = self.ctl.lock();
                if !c.stop && !c.requested {
                    let tick = self
                        .tuning
                        .write_behind
                        .map_or(sync_every, |w| w.min(sync_every));
                    self.cv.wait_for(&mut c, tick);
                }
                let r = (c.stop, c.requested);
                c.requested = false;
                r
            };
            // Failures are logged where they happen (a write failure once until writes succeed
            // again, an fsync failure when it poisons the store): a full disk would otherwise
            // log here on every tick.
            if !(stop || requested || last_sync.elapsed() >= sync_every) {
                if let Err(e) = self.write_out() {
                    debug!(error = %e, "offset log write failed");
                }
                continue;
            }
            last_sync = Instant::now();
            if let Err(e) = self.sync_now() {
                debug!(error = %e, "offset log sync failed");
            }
            if stop {
                break;
            }
            if self.compaction_due() {
                match self.compact() {
                    Ok(()) => compact_failing = false,
                    Err(e) if !compact_failing => {
                        compact_failing = true;
                        error!(error = %e, "offset snapshot failed; will retry (further failures are logged at debug level)");
                    }
                    Err(e) => debug!(error = %e, "offset snapshot failed; will retry"),
                }
            }
        }
        debug!("offset flusher stopped");
    }

    fn compaction_due(&self) -> bool {
        let log = self.log.lock();
        let log_bytes = log.pos - SEG_HEADER_LEN;
        let threshold = self
            .tuning
            .compact_min_log_bytes
            .max((log.snapshot_bytes as f64 * self.tuning.compact_log_ratio) as u64);
        log_bytes > threshold
    }

    /// Writes a snapshot and removes files it makes unnecessary.
    ///
    /// 1. fsync the active segment; pre-create segment N+1 (header, fsync, dir fsync).
    /// 2. Under the log mutex: fsync N's last few writes, switch appends to N+1, and read the
    ///    data version of this cut.
    /// 3. Encode the table group by group, holding the read lock only per chunk. The image may
    ///    include changes made after the cut; this is harmless because every state record is an
    ///    idempotent last-writer-wins operation, and replay re-applies N+1 from its start.
    /// 4. Write `snapshot-(N+1)` via temp file + fsync + rename + dir fsync.
    /// 5. Keep the newest two snapshots and the segments the older of them needs.
    fn compact(&self) -> Result<(), OffsetError> {
        let _c = self.compact_lock.lock();
        let started = Instant::now();
        self.sync_now()?;
        let new_seq = self.log.lock().seq + 1;
        let new_file = files::create_segment(&self.dir, new_seq)?;
        let (counter, ts, hint) = {
            let mut log = self.log.lock();
            if self.closed.load(Ordering::SeqCst) {
                return Err(OffsetError::Closed);
            }
            self.write_pending(&mut log)?;
            if let Err(e) = self.sync_file(&log.file) {
                let err = OffsetError::io("fdatasync", segment_path(&self.dir, log.seq), e);
                drop(log);
                self.roll_back_to_durable(&err);
                return Err(err);
            }
            self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
            let lsn = log.written_lsn;
            log.file = Arc::new(new_file);
            log.seq = new_seq;
            log.pos = SEG_HEADER_LEN;
            log.durable_pos = SEG_HEADER_LEN;
            let t = self.table.read();
            let hint = log.snapshot_bytes as usize + 4096;
            drop(log);
            self.synced.send_modify(|s| s.lsn = s.lsn.max(lsn));
            (t.counter, t.timestamp_ms, hint)
        };
        let groups = self.table.read().group_keys();
        let mut w = files::SnapshotWriter::new(new_seq, counter, ts, hint);
        for chunk in groups.chunks(self.tuning.snapshot_chunk_groups.max(1)) {
            let t = self.table.read();
            for g in chunk {
                t.for_each_of_group(g, |topic, pairs| w.section(g, topic, pairs));
            }
        }
        let (next_id, intents, history) = {
            let t = self.table.read();
            let c = &t.changes;
            let intents: Vec<Intent> = c.intents.values().cloned().collect();
            let history: Vec<Arc<Change>> = c.history.iter().cloned().collect();
            (c.next_id, intents, history)
        };
        let image = w
            .finish(next_id, &intents, &history)
            .map_err(|e| OffsetError::corrupt(files::snapshot_path(&self.dir, new_seq), 0, e))?;
        files::write_snapshot(&self.dir, new_seq, &image)?;
        self.log.lock().snapshot_bytes = image.len() as u64;
        self.stats.compactions.fetch_add(1, Ordering::Relaxed);
        self.cleanup()?;
        info!(base = new_seq, bytes = image.len(), elapsed = ?started.elapsed(), "offset snapshot written");
        Ok(())
    }

    /// Deletes snapshots older than the newest `keep_snapshots` and segments before the oldest
    /// kept snapshot's base. With a single snapshot every segment is kept (the fallback is a full
    /// replay).
    fn cleanup(&self) -> Result<(), OffsetError> {
        let l = files::list(&self.dir)?;
        let keep = self.tuning.keep_snapshots.max(1);
        let n = l.snapshots.len();
        if n <= 1 {
            return Ok(());
        }
        let kept = &l.snapshots[n.saturating_sub(keep)..];
        let oldest_kept = kept[0];
        for &s in &l.snapshots[..n - kept.len()] {
            let p = files::snapshot_path(&self.dir, s);
            std::fs::remove_file(&p).map_err(|e| OffsetError::io("remove snapshot", &p, e))?;
        }
        for &s in l.segments.iter().filter(|&&s| s < oldest_kept) {
            let p = segment_path(&self.dir, s);
            std::fs::remove_file(&p).map_err(|e| OffsetError::io("remove segment", &p, e))?;
        }
        files::fsync_dir(&self.dir)
    }
}

/// Fault injection for unit tests: a full disk on the calling thread.
#[cfg(test)]
pub(crate) mod faults {
    thread_local! {
        /// Log writes on this thread fail with ENOSPC after writing half their bytes.
        pub static FULL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        /// Cutting a failed write off fails with ENOSPC.
        pub static CUT_FAILS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
}
