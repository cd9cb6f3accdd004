//! [`MessageStore`]: the public face of the store.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::checkpoint::{self, Checkpoint, CheckpointFile};
use crate::config::{FlushMode, StoreConfig, WriteMode};
use crate::error::{io_err, StoreError};
use crate::flusher::{self, FlushCtl, Stop};
use crate::indexer::{self, Index, MessageQuery, QueryResult};
use crate::mapped::{self, with_write_path, WritePath};
use crate::prefault::{self, Prefault};
use crate::shared::{Counters, Shared};
use crate::types::{AppendRecord, BoundaryType, GetResult, PutResult, StoreStats};
use crate::writer::{self, Writer};
use crate::{read, recovery, retention, search};

/// The commit log and consume queues of one broker. `Send + Sync`; share it as
/// `Arc<MessageStore>`. Dropping it without [`MessageStore::shutdown`] behaves like a crash
/// (the flusher stops, the abort marker stays, the next `open` recovers).
pub struct MessageStore {
    pub(crate) shared: Arc<Shared>,
    writer: Mutex<Writer>,
    flusher: Mutex<Option<JoinHandle<()>>>,
    indexer: Mutex<Option<JoinHandle<()>>>,
    prefaulter: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
}

pub(crate) use ferromq_protocol::time::now_ms;

impl MessageStore {
    /// Opens (or creates) the store under `config.root`, runs crash recovery and starts the
    /// flusher thread.
    ///
    /// # Errors
    /// [`StoreError::Config`] for invalid settings, [`StoreError::Io`] when files cannot be
    /// read, created or synced, [`StoreError::Corrupt`] for damage recovery cannot repair.
    pub fn open(config: StoreConfig) -> Result<Arc<Self>, StoreError> {
        config.validate()?;
        std::fs::create_dir_all(&config.root).map_err(io_err(&config.root))?;
        let write_path = resolve_write_path(&config);
        let rec = with_write_path(write_path, || recovery::recover(&config))?;
        let checkpoint = CheckpointFile::open(&config.root)?;
        checkpoint.write(Checkpoint {
            log_flushed: rec.end,
            dispatched: rec.end,
        })?;
        recovery::mark_open(&config.root)?;
        let seg = rec.log.last().ok_or_else(|| StoreError::Corrupt {
            path: config.root.join("commitlog"),
            reason: "no segment after recovery".into(),
        })?;
        let config_index_cap = config.index_max_entries;
        let log_min = rec.log.min_offset();
        let shared = Arc::new(Shared {
            config,
            log: rec.log,
            queues: rec.queues,
            dispatched: AtomicI64::new(rec.end),
            flush: FlushCtl::new(rec.end),
            checkpoint,
            counters: Counters::default(),
            poison: Mutex::new(None),
            write_path,
            append_failing: AtomicBool::new(false),
            failed_appends: AtomicU64::new(0),
            // In memory only: rebuilt from the first record still in the log (module
            // `indexer`), so after a crash it holds exactly what recovery kept.
            index: Index::new(config_index_cap, log_min),
            prefault: Prefault::new(),
        });
        let handle = flusher::spawn(shared.clone()).map_err(io_err(&shared.config.root))?;
        let store = MessageStore {
            writer: Mutex::new(Writer::new(seg, rec.end)),
            shared: shared.clone(),
            flusher: Mutex::new(Some(handle)),
            indexer: Mutex::new(None),
            prefaulter: Mutex::new(None),
            closed: AtomicBool::new(false),
        };
        // From here a failure drops `store`, whose Drop stops the threads already started.
        let root = &shared.config.root;
        *store.indexer.lock() = indexer::spawn(shared.clone()).map_err(io_err(root))?;
        *store.prefaulter.lock() = prefault::spawn(shared.clone()).map_err(io_err(root))?;
        Ok(Arc::new(store))
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }

    /// How appends are written: [`WriteMode::Mapped`] or [`WriteMode::Pwrite`] (`Auto`
    /// resolved when the store opened). Files whose blocks could not be reserved are written
    /// with `pwrite` in either mode.
    pub fn write_mode(&self) -> WriteMode {
        match self.shared.write_path {
            WritePath::Mapped => WriteMode::Mapped,
            WritePath::Pwrite => WriteMode::Pwrite,
        }
    }

    /// Appends records atomically and contiguously (a batch for one queue gets consecutive
    /// queue offsets), assigning queue offset, physical offset and store time. In Sync mode it
    /// returns once the bytes are fdatasynced (shared with concurrent puts).
    ///
    /// # Errors
    /// [`StoreError::MessageTooLarge`], [`StoreError::InvalidRecord`], [`StoreError::InvalidTopic`],
    /// [`StoreError::InvalidQueueId`] before anything is written; [`StoreError::Io`] on a write
    /// failure, such as a full disk (nothing of the put is stored or visible, and later puts
    /// may succeed once there is room); [`StoreError::Poisoned`] after an fsync failure;
    /// [`StoreError::FlushTimeout`] in Sync mode (the data stays written);
    /// [`StoreError::ShutDown`] after `shutdown`.
    ///
    /// # Cancel safety
    /// Dropping the future after the append leaves the records stored; only the wait for the
    /// flush is abandoned.
    pub async fn put(&self, records: Vec<AppendRecord>) -> Result<Vec<PutResult>, StoreError> {
        self.put_at(records, now_ms()).await
    }

    /// [`MessageStore::put`] with a given store time. For tests and tools that must control
    /// the clock (retention, time search); brokers use `put`.
    ///
    /// # Errors
    /// As [`MessageStore::put`].
    #[doc(hidden)]
    pub async fn put_at(
        &self,
        records: Vec<AppendRecord>,
        store_time: i64,
    ) -> Result<Vec<PutResult>, StoreError> {
        let (results, end) = self.append(records, store_time)?;
        if let FlushMode::Sync { timeout } = self.shared.config.flush {
            self.wait_flushed(end, timeout).await?;
        }
        Ok(results)
    }

    /// Appends records that all go to one queue, only if that queue's next offset is
    /// `expected_queue_offset` (checked under the writer lock, so no other append can slip in
    /// between). A mirror uses it to copy a source queue without ever writing a message twice:
    /// after a crash its view may be stale, and a stale append is refused instead of duplicated.
    ///
    /// # Errors
    /// [`StoreError::UnexpectedQueueOffset`] (nothing written); records for more than one queue
    /// give [`StoreError::InvalidRecord`]; otherwise as [`MessageStore::put`].
    pub async fn put_expecting(
        &self,
        records: Vec<AppendRecord>,
        expected_queue_offset: i64,
    ) -> Result<Vec<PutResult>, StoreError> {
        let Some(first) = records.first() else {
            return Ok(Vec::new());
        };
        if records
            .iter()
            .any(|r| r.topic != first.topic || r.queue_id != first.queue_id)
        {
            return Err(StoreError::InvalidRecord(
                "a conditional append must target one queue",
            ));
        }
        let (topic, queue_id) = (first.topic.clone(), first.queue_id);
        let (results, end) = self.append_checked(records, now_ms(), |shared| {
            let actual = shared.queues.get_or_create(&topic, queue_id)?.max();
            if actual == expected_queue_offset {
                Ok(())
            } else {
                Err(StoreError::UnexpectedQueueOffset {
                    topic: topic.clone(),
                    queue_id,
                    expected: expected_queue_offset,
                    actual,
                })
            }
        })?;
        if let FlushMode::Sync { timeout } = self.shared.config.flush {
            self.wait_flushed(end, timeout).await?;
        }
        Ok(results)
    }

    fn append(
        &self,
        records: Vec<AppendRecord>,
        now: i64,
    ) -> Result<(Vec<PutResult>, i64), StoreError> {
        self.append_checked(records, now, |_| Ok(()))
    }

    /// Appends under the writer lock after `precondition` accepted the current state.
    fn append_checked(
        &self,
        records: Vec<AppendRecord>,
        now: i64,
        precondition: impl FnOnce(&Shared) -> Result<(), StoreError>,
    ) -> Result<(Vec<PutResult>, i64), StoreError> {
        let limit = self.shared.config.record_limit();
        for r in &records {
            writer::check(r, limit)?;
        }
        let mut w = self.writer.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::ShutDown);
        }
        if let Some(p) = self.shared.poison.lock().clone() {
            return Err(StoreError::Poisoned(p));
        }
        if records.is_empty() {
            return Ok((Vec::new(), w.pos));
        }
        precondition(&self.shared)?;
        let r = w.append(&self.shared, records, now);
        let sh = &self.shared;
        match &r {
            Ok(_) => {
                if sh.append_failing.swap(false, Ordering::AcqRel) {
                    tracing::info!(
                        failed = sh.failed_appends.load(Ordering::Relaxed),
                        "message store appends succeed again"
                    );
                }
            }
            Err(e) => {
                sh.failed_appends.fetch_add(1, Ordering::Relaxed);
                if !sh.append_failing.swap(true, Ordering::AcqRel) {
                    tracing::error!(error = %e, "message store append failed; nothing of it was stored (later failures are logged at debug level until one succeeds)");
                } else {
                    tracing::debug!(error = %e, "message store append failed");
                }
            }
        }
        r
    }

    async fn wait_flushed(&self, end: i64, timeout: std::time::Duration) -> Result<(), StoreError> {
        let mut rx = self.shared.flush.subscribe();
        self.shared.flush.request();
        let wait = async move {
            rx.wait_for(|s| s.offset >= end || s.failed)
                .await
                .map(|s| *s)
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(s)) if s.offset >= end => Ok(()),
            Ok(Ok(_)) => Err(StoreError::Poisoned("commit-log flush failed".into())),
            Ok(Err(_)) => Err(StoreError::ShutDown),
            Err(_) => Err(StoreError::FlushTimeout(timeout)),
        }
    }

    /// Reads up to `max_msgs` records (and up to `max_bytes`, but at least one) from logical
    /// offset `offset`, skipping messages `filter` rejects (by tag hash, then by record). Statuses follow
    /// upstream `getMessage` (see [`crate::GetStatus`]). Scans at most
    /// `clamp(max_msgs × 20, 800, 16000)` entries.
    pub fn get(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msgs: usize,
        max_bytes: usize,
        filter: &dyn crate::read::MessageFilter,
    ) -> GetResult {
        read::get(
            &self.shared,
            topic,
            queue_id,
            offset,
            max_msgs,
            max_bytes,
            filter,
        )
    }

    /// The next logical offset to be written; 0 if the queue does not exist.
    pub fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.shared
            .queues
            .get(topic, queue_id)
            .map_or(0, |q| q.max())
    }

    /// The first logical offset still readable; 0 if the queue does not exist.
    pub fn min_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.shared
            .queues
            .get(topic, queue_id)
            .map_or(0, |q| q.min())
    }

    /// Binary search by store time (upstream 5.x `getOffsetInQueueByTime`): `Lower` = first
    /// entry stored at or after `timestamp_ms` (max offset if all are older), `Upper` = last
    /// entry stored at or before it (0 if all are newer). 0 for a missing queue.
    pub fn offset_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
        boundary: BoundaryType,
    ) -> i64 {
        self.shared.queues.get(topic, queue_id).map_or(0, |q| {
            search::offset_by_time(&q, &self.shared.log, timestamp_ms, boundary)
        })
    }

    /// Store time of the message at logical `offset`, if it is still stored.
    pub fn store_time_at(&self, topic: &str, queue_id: i32, offset: i64) -> Option<i64> {
        let q = self.shared.queues.get(topic, queue_id)?;
        if offset < q.min() || offset >= q.max() {
            return None;
        }
        search::store_time(&q, &self.shared.log, offset)
    }

    /// Store time of the message at the queue's min offset; -1 if there is none.
    pub fn earliest_store_time(&self, topic: &str, queue_id: i32) -> i64 {
        self.store_time_at(topic, queue_id, self.min_offset(topic, queue_id))
            .unwrap_or(-1)
    }

    /// One whole record at a commit-log offset; `None` if absent or not a valid record header.
    pub fn read_record(&self, physical_offset: i64) -> Option<Bytes> {
        self.shared
            .log
            .with_record(physical_offset, Bytes::copy_from_slice)
    }

    /// Messages of `q.topic` whose key (or unique key) is `q.key`, stored within
    /// `[q.begin, q.end]`: the newest `q.max_num`, returned in commit-log order (QUERY_MESSAGE).
    /// Records not yet indexed are indexed first (a bounded amount; see `indexer`), so a message
    /// is findable once its put returned. Empty when the index is disabled.
    pub fn query_messages(&self, q: &MessageQuery<'_>) -> QueryResult {
        indexer::query(&self.shared, q)
    }

    /// Entries in the message index and the commit-log offset it has indexed up to.
    pub fn index_status(&self) -> (usize, i64) {
        self.shared.index.status()
    }

    /// Every (topic, queue id) that has a consume queue, sorted.
    pub fn queues(&self) -> Vec<(String, i32)> {
        let mut v: Vec<(String, i32)> = self
            .shared
            .queues
            .all()
            .iter()
            .map(|q| (q.topic.clone(), q.queue_id))
            .collect();
        v.sort();
        v
    }

    /// Drops a topic's consume queues (its commit-log bytes age out by retention).
    ///
    /// # Errors
    /// [`StoreError::Io`] if its directory cannot be removed.
    pub fn delete_topic(&self, topic: &str) -> Result<(), StoreError> {
        let _w = self.writer.lock();
        self.shared.queues.remove_topic(topic)
    }

    /// Offset of the first commit-log byte still on disk.
    pub fn commit_log_min_offset(&self) -> i64 {
        self.shared.log.min_offset()
    }

    /// Offset one past the last written commit-log byte.
    pub fn commit_log_max_offset(&self) -> i64 {
        self.shared.log.written()
    }

    /// Commit-log bytes below this offset are fdatasynced.
    pub fn flushed_offset(&self) -> i64 {
        self.shared.flush.flushed()
    }

    /// Commit-log offset up to which the pre-faulter has faulted in the newest segment's
    /// pages ([`StoreConfig::prefault_ahead`]); 0 while it has done nothing or is off.
    pub fn prefaulted_to(&self) -> i64 {
        self.shared.prefault.done_to()
    }

    /// Counters since open.
    pub fn stats(&self) -> StoreStats {
        self.shared.counters.snapshot()
    }

    /// Commit-log fsync durations in seconds since the last call (for the metrics exporter).
    pub fn take_fsync_samples(&self) -> Vec<f64> {
        std::mem::take(&mut *self.shared.counters.fsync_samples.lock())
    }

    /// Deletes commit-log segments whose newest record is older than the retention period
    /// (never the current one) and advances consume-queue min offsets; returns how many
    /// segments went.
    ///
    /// # Errors
    /// [`StoreError::Io`] if a file cannot be deleted.
    pub fn run_retention(&self) -> Result<usize, StoreError> {
        retention::run(&self.shared, now_ms())
    }

    /// [`MessageStore::run_retention`] as if the time were `now_ms`. For tests.
    ///
    /// # Errors
    /// As [`MessageStore::run_retention`].
    #[doc(hidden)]
    pub fn run_retention_at(&self, now_ms: i64) -> Result<usize, StoreError> {
        retention::run(&self.shared, now_ms)
    }

    /// Flushes everything, stops the flusher and removes the abort marker. Idempotent; later
    /// puts fail with [`StoreError::ShutDown`], reads keep working.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the final flush fails (the abort marker then stays, so the next
    /// open recovers).
    pub fn shutdown(&self) -> Result<(), StoreError> {
        let _w = self.writer.lock();
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.stop_flusher();
        flusher::flush_log(&self.shared)?;
        flusher::flush_queues(&self.shared)?;
        let abort = checkpoint::abort_path(&self.shared.config.root);
        std::fs::remove_file(&abort).map_err(io_err(&abort))?;
        tracing::info!(
            end = self.shared.log.written(),
            "message store shut down cleanly"
        );
        Ok(())
    }

    /// Stops the store's threads: pre-faulter, indexer, then the flusher.
    fn stop_flusher(&self) {
        self.shared.prefault.stop();
        if let Some(h) = self.prefaulter.lock().take() {
            if h.join().is_err() {
                tracing::error!("store pre-fault thread panicked");
            }
        }
        self.shared.index.stop();
        if let Some(h) = self.indexer.lock().take() {
            if h.join().is_err() {
                tracing::error!("store index thread panicked");
            }
        }
        self.shared.flush.stop(Stop::Exit);
        if let Some(h) = self.flusher.lock().take() {
            if h.join().is_err() {
                tracing::error!("store flusher thread panicked");
            }
        }
    }
}

/// The environment variable that overrides [`WriteMode::Auto`]'s detection.
pub const WRITE_MODE_ENV: &str = "FERROMQ_STORE_WRITE_MODE";

/// Resolves the configured [`WriteMode`] for the file system under `config.root`, and logs it.
fn resolve_write_path(config: &StoreConfig) -> WritePath {
    let mut mode = config.write_mode;
    if mode == WriteMode::Auto {
        if let Ok(v) = std::env::var(WRITE_MODE_ENV) {
            match WriteMode::parse(&v) {
                Some(m) => mode = m,
                None => {
                    tracing::warn!(value = %v, "{WRITE_MODE_ENV} must be mapped, pwrite or auto; ignored")
                }
            }
        }
    }
    let fs = mapped::fs_info(&config.root);
    let fs_name = fs.map_or_else(
        || "unknown (statfs failed)".to_string(),
        |f| {
            f.name
                .map_or_else(|| format!("{:#x}", f.magic), str::to_string)
        },
    );
    let cow = fs.is_some_and(|f| f.copy_on_write);
    let path = match mode {
        WriteMode::Mapped => WritePath::Mapped,
        WriteMode::Pwrite => WritePath::Pwrite,
        WriteMode::Auto if cow => WritePath::Pwrite,
        WriteMode::Auto => WritePath::Mapped,
    };
    let root = config.root.display();
    match (cow, path) {
        (true, WritePath::Pwrite) => {
            tracing::info!(%root, fs = %fs_name, "copy-on-write file system: fallocate does not reserve space for overwrites, so appends use pwrite (a full disk fails the put instead of crashing the broker with SIGBUS)")
        }
        (true, WritePath::Mapped) => {
            tracing::warn!(%root, fs = %fs_name, "copy-on-write file system but write mode mapped was forced: a full disk may crash the broker with SIGBUS")
        }
        (false, p) => {
            tracing::info!(%root, fs = %fs_name, write_path = ?p, "message store write path")
        }
    }
    path
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        self.stop_flusher();
    }
}
