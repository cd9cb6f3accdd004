//! One consume queue: 20-byte entries `(physical offset i64, size i32, tags code i64)`,
//! big-endian, in files of `entries_per_file` entries named by their 20-digit byte offset.
//! Entry `i` is message `i` of the queue. A size of 0 marks an empty slot.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::{io_err, StoreError};
use crate::mapped::MappedFile;
use crate::record::{be_i32, be_i64};
use crate::segment::{file_name, parse_name};

pub(crate) const CQ_UNIT: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CqEntry {
    pub phys: i64,
    pub size: i32,
    pub tags: i64,
}

impl CqEntry {
    pub fn encode(&self) -> [u8; CQ_UNIT] {
        let mut b = [0u8; CQ_UNIT];
        b[..8].copy_from_slice(&self.phys.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..].copy_from_slice(&self.tags.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<CqEntry> {
        Some(CqEntry {
            phys: be_i64(b, 0)?,
            size: be_i32(b, 8)?,
            tags: be_i64(b, 12)?,
        })
    }
}

pub(crate) struct ConsumeQueue {
    pub topic: String,
    pub queue_id: i32,
    dir: PathBuf,
    epf: u64,
    /// Files by index (`file index × epf` = first entry).
    files: RwLock<BTreeMap<u64, Arc<MappedFile>>>,
    max: AtomicI64,
    min: AtomicI64,
}

impl ConsumeQueue {
    pub fn new(dir: PathBuf, topic: String, queue_id: i32, epf: u64) -> Self {
        ConsumeQueue {
            topic,
            queue_id,
            dir,
            epf,
            files: RwLock::new(BTreeMap::new()),
            max: AtomicI64::new(0),
            min: AtomicI64::new(0),
        }
    }

    /// Loads the files in `dir`. Returns the queue and whether it needed repair (a file of the
    /// wrong length, a missing file in the sequence, or no files at all).
    ///
    /// # Errors
    /// [`StoreError::Io`] when the directory cannot be listed or a file cannot be opened,
    /// resized or mapped.
    pub fn load(
        dir: PathBuf,
        topic: String,
        queue_id: i32,
        epf: u64,
    ) -> Result<(Self, bool), StoreError> {
        let cq = ConsumeQueue::new(dir, topic, queue_id, epf);
        let file_bytes = epf * CQ_UNIT as u64;
        let mut damaged = false;
        let mut files = BTreeMap::new();
        for ent in std::fs::read_dir(&cq.dir).map_err(io_err(&cq.dir))? {
            let ent = ent.map_err(io_err(&cq.dir))?;
            let name = ent.file_name();
            let Some(off) = name.to_str().and_then(parse_name) else {
                continue;
            };
            if off % file_bytes != 0 {
                tracing::warn!(path = %ent.path().display(), "consume-queue file name is not a file boundary; ignored");
                continue;
            }
            let (f, resized) = MappedFile::open(&ent.path(), Some(file_bytes))?;
            if resized {
                tracing::warn!(path = %ent.path().display(), "consume-queue file had the wrong length; repaired");
                damaged = true;
            }
            files.insert(off / file_bytes, Arc::new(f));
        }
        let keys: Vec<u64> = files.keys().copied().collect();
        if keys.is_empty() || keys.windows(2).any(|w| w[1] != w[0] + 1) {
            tracing::warn!(topic = %cq.topic, queue_id, "consume queue has missing files; will rebuild");
            damaged = true;
        }
        // SAFETY: the files were opened just above and are only in this local map: the queue is
        // not in a `QueueTable` yet, so no writer or reader can reach them while this reads.
        #[allow(unsafe_code)]
        let max = files
            .iter()
            .next_back()
            .map_or(0, |(&k, f)| last_used(k, epf, unsafe { f.bytes() }));
        if files
            .iter()
            .next_back()
            .is_some_and(|(&k, _)| max == ((k + 1) * epf) as i64)
        {
            // A full newest file may mean a newer one was lost; a rebuild check is cheap insurance.
            damaged = true;
        }
        *cq.files.write() = files;
        cq.max.store(max, Ordering::Release);
        Ok((cq, damaged))
    }

    pub fn max(&self) -> i64 {
        self.max.load(Ordering::Acquire)
    }

    pub fn min(&self) -> i64 {
        self.min.load(Ordering::Acquire)
    }

    pub fn set_min(&self, v: i64) {
        self.min.store(v, Ordering::Release);
    }

    /// The file holding entry `idx` and the entry's byte position in it.
    fn locate(&self, idx: i64) -> Option<(Arc<MappedFile>, u64)> {
        let idx = u64::try_from(idx).ok()?;
        let f = self.files.read().get(&(idx / self.epf)).cloned()?;
        Some((f, (idx % self.epf) * CQ_UNIT as u64))
    }

    pub fn entry(&self, idx: i64) -> Option<CqEntry> {
        let (f, pos) = self.locate(idx)?;
        CqEntry::decode(f.slice(pos, CQ_UNIT)?)
    }

    /// Calls `f` with the entries from `idx` to the end of its file (at most `n`), as raw bytes.
    pub fn with_entries<R>(&self, idx: i64, n: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let (file, pos) = self.locate(idx)?;
        let room = (file.len() - pos) as usize / CQ_UNIT;
        Some(f(file.slice(pos, room.min(n) * CQ_UNIT)?))
    }

    fn file_for_write(&self, file_idx: u64) -> Result<Arc<MappedFile>, StoreError> {
        if let Some(f) = self.files.read().get(&file_idx) {
            return Ok(f.clone());
        }
        std::fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let path = file_name(&self.dir, file_idx * self.epf * CQ_UNIT as u64);
        let f = Arc::new(if path.exists() {
            MappedFile::open(&path, Some(self.epf * CQ_UNIT as u64))?.0
        } else {
            MappedFile::create(&path, self.epf * CQ_UNIT as u64)?
        });
        self.files.write().insert(file_idx, f.clone());
        Ok(f)
    }

    /// Writes `entries` (whole 20-byte units) starting at entry `start`, without moving max.
    ///
    /// # Errors
    /// [`StoreError::InvalidRecord`] for a negative `start`; [`StoreError::Io`] when a file
    /// cannot be created or written (a full disk); entries before the failing one may be written.
    pub fn write_at(&self, start: i64, mut entries: &[u8]) -> Result<(), StoreError> {
        let mut idx =
            u64::try_from(start).map_err(|_| StoreError::InvalidRecord("negative queue offset"))?;
        while !entries.is_empty() {
            let f = self.file_for_write(idx / self.epf)?;
            let in_file = idx % self.epf;
            let n = ((self.epf - in_file) as usize).min(entries.len() / CQ_UNIT);
            let (now, rest) = entries.split_at(n * CQ_UNIT);
            f.write_at(in_file * CQ_UNIT as u64, now)?;
            entries = rest;
            idx += n as u64;
        }
        Ok(())
    }

    /// Makes sure the files for entries `[start, start + n)` exist, creating them if needed, so
    /// that an append learns of a full disk before it writes anything.
    ///
    /// # Errors
    /// [`StoreError::InvalidRecord`] for a negative `start` or `n`; [`StoreError::Io`] when a
    /// file cannot be created (a full disk).
    pub fn prepare(&self, start: i64, n: i64) -> Result<(), StoreError> {
        let (Ok(first), Ok(n)) = (u64::try_from(start), u64::try_from(n)) else {
            return Err(StoreError::InvalidRecord("negative queue offset"));
        };
        if n == 0 {
            return Ok(());
        }
        for file_idx in first / self.epf..=(first + n - 1) / self.epf {
            self.file_for_write(file_idx)?;
        }
        Ok(())
    }

    /// Makes entries below `new_max` visible to readers (after [`write_at`](Self::write_at)).
    pub fn publish_max(&self, new_max: i64) {
        self.max.store(new_max, Ordering::Release);
    }

    /// Zeroes entries `[from, to)` past max that a failed append wrote, where their files exist.
    /// Best effort: recovery checks entries past the log's end anyway.
    pub fn clear_unpublished(&self, from: i64, to: i64) {
        let zero = [0u8; CQ_UNIT];
        for idx in from.max(self.max())..to {
            if let Some((f, pos)) = self.locate(idx) {
                if let Err(e) = f.write_at(pos, &zero) {
                    tracing::debug!(topic = %self.topic, queue_id = self.queue_id, "cannot clear a consume-queue entry of a failed append: {e}");
                    return;
                }
            }
        }
    }

    /// Appends entries at the current max and publishes the new max.
    ///
    /// # Errors
    /// As [`write_at`](Self::write_at); max does not move then.
    pub fn append(&self, entries: &[u8]) -> Result<(), StoreError> {
        let start = self.max();
        self.write_at(start, entries)?;
        self.max
            .store(start + (entries.len() / CQ_UNIT) as i64, Ordering::Release);
        Ok(())
    }

    /// Sets max to `new_max` (recovery), zeroing entries from `new_max` to the old max.
    ///
    /// # Errors
    /// [`StoreError::Io`] when an entry cannot be zeroed; max does not move then.
    pub fn truncate(&self, new_max: i64) -> Result<(), StoreError> {
        let old = self.max();
        let zero = [0u8; CQ_UNIT];
        for idx in new_max..old {
            if let Some((f, pos)) = self.locate(idx) {
                f.write_at(pos, &zero)?;
            }
        }
        self.max.store(new_max, Ordering::Release);
        Ok(())
    }

    /// Raises max to at least `v` (recovery).
    pub fn raise_max(&self, v: i64) {
        self.max.fetch_max(v, Ordering::AcqRel);
    }

    /// fdatasyncs dirty files; returns how many were synced.
    ///
    /// # Errors
    /// [`StoreError::Io`] from the first fdatasync that fails (that file stays dirty).
    pub fn flush(&self) -> Result<u64, StoreError> {
        let files: Vec<Arc<MappedFile>> = self.files.read().values().cloned().collect();
        let mut n = 0;
        for f in files {
            n += u64::from(f.sync_if_dirty()?);
        }
        Ok(n)
    }

    /// First entry index held by a file (the queue's lowest possible offset).
    pub fn first_index(&self) -> i64 {
        self.files
            .read()
            .keys()
            .next()
            .map_or(self.max(), |&k| (k * self.epf) as i64)
    }

    /// Deletes files whose entries are all below `min`, never the newest file.
    ///
    /// # Errors
    /// [`StoreError::Io`] when a file cannot be deleted (the files are already forgotten by then).
    pub fn delete_files_below(&self, min: i64) -> Result<usize, StoreError> {
        let doomed: Vec<Arc<MappedFile>> = {
            let mut files = self.files.write();
            let last = files.keys().next_back().copied();
            let keys: Vec<u64> = files
                .keys()
                .copied()
                .filter(|&k| Some(k) != last && ((k + 1) * self.epf) as i64 <= min)
                .collect();
            keys.iter().filter_map(|k| files.remove(k)).collect()
        };
        for f in &doomed {
            std::fs::remove_file(f.path()).map_err(io_err(f.path()))?;
        }
        Ok(doomed.len())
    }
}

/// One past the last used entry (size ≠ 0) in file `k`, as a queue index.
fn last_used(k: u64, epf: u64, bytes: &[u8]) -> i64 {
    let base = (k * epf) as i64;
    let n = bytes.len() / CQ_UNIT;
    (0..n)
        .rev()
        .find(|&i| be_i32(bytes, i * CQ_UNIT + 8).is_some_and(|s| s != 0))
        .map_or(base, |i| base + i as i64 + 1)
}
