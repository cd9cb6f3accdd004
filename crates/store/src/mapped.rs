//! A fixed-size file shared through one read-write mapping.
//!
//! The file is created at its full size with its blocks reserved (`fallocate`), so writing
//! through the mapping can never fault for lack of disk space: appends are a `memcpy` into the
//! page cache, with no system call per message (profiling showed two `pwrite`s per message as the
//! broker's largest cost). `fdatasync` on the file writes back pages dirtied through the mapping.
//! On a file system without `fallocate` the file stays sparse and writes use `pwrite`, which
//! reports a full disk as an error instead of a SIGBUS.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use memmap2::MmapRaw;

use crate::error::{io_err, StoreError};

pub(crate) struct MappedFile {
    path: PathBuf,
    file: File,
    map: MmapRaw,
    /// Blocks are reserved, so stores through the mapping are safe.
    reserved: bool,
    dirty: AtomicBool,
}

fn map(file: &File, path: &Path) -> Result<MmapRaw, StoreError> {
    let map = MmapRaw::map_raw(file).map_err(io_err(path))?;
    // Appends fault in fresh pages of a reserved file. With the default (or sequential) advice,
    // the kernel zero-fills a whole readahead window in one fault while the writer lock is held:
    // measured here as ~20% of broker CPU in a handful of faults and 28 ms p999 send latency.
    // Without readahead each fault zero-fills one page, spreading the cost (p999 5-15 ms).
    if let Err(e) = map.advise(memmap2::Advice::Random) {
        tracing::debug!(path = %path.display(), "madvise(RANDOM) failed: {e}");
    }
    Ok(map)
}

/// Reserves the blocks of `[0, len)` so that stores through a mapping cannot hit ENOSPC.
fn reserve(file: &File, len: u64) -> bool {
    // SAFETY: plain syscall on an owned, open descriptor.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t) };
    rc == 0
}

impl MappedFile {
    /// Creates (or resets) `path` as a zero-filled file of `len` bytes.
    pub fn create(path: &Path, len: u64) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(io_err(path))?;
        file.set_len(len).map_err(io_err(path))?;
        let reserved = reserve(&file, len);
        Self::from_file(path, file, reserved)
    }

    /// Opens an existing file; if its length is not `len` it is resized (returns `true`).
    pub fn open(path: &Path, len: Option<u64>) -> Result<(Self, bool), StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        let actual = file.metadata().map_err(io_err(path))?.len();
        let want = match len {
            Some(l) => l,
            None if actual == 0 => {
                return Err(StoreError::Corrupt {
                    path: path.into(),
                    reason: "empty file".into(),
                })
            }
            None => actual,
        };
        let resized = actual != want;
        if resized {
            file.set_len(want).map_err(io_err(path))?;
        }
        let reserved = reserve(&file, want);
        Ok((Self::from_file(path, file, reserved)?, resized))
    }

    fn from_file(path: &Path, file: File, reserved: bool) -> Result<Self, StoreError> {
        let map = map(&file, path)?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            file,
            map,
            reserved,
            dirty: AtomicBool::new(false),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// The whole mapping. Only for recovery and opening, before any write through this file
    /// can run concurrently; readers on the serving path use [`slice`](Self::slice).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is valid for its length while `self` lives; the file never shrinks
        // under it (recovery shrinks through `cut`, which consumes `self`). Bytes in it may change
        // while it is read: readers only look at ranges whose writes completed before they were
        // published (Release/Acquire on the offsets), and validate whatever they read.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr(), self.map.len()) }
    }

    /// `n` bytes at `pos`, or `None` if that runs past the file.
    pub fn slice(&self, pos: u64, n: usize) -> Option<&[u8]> {
        let start = usize::try_from(pos).ok()?;
        let end = start.checked_add(n)?;
        if end > self.map.len() {
            return None;
        }
        // SAFETY: in bounds (checked above), and only this range is borrowed: callers ask for
        // ranges whose writes were published before (Release/Acquire on the offsets), so no
        // write touches the borrowed bytes while the slice lives.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(start), n) })
    }

    /// Writes `data` at `pos` (must lie inside the file) and marks the file dirty.
    pub fn write_at(&self, pos: u64, data: &[u8]) -> Result<(), StoreError> {
        if pos.saturating_add(data.len() as u64) > self.len() {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                reason: format!(
                    "write of {} bytes at {pos} runs past the file end",
                    data.len()
                ),
            });
        }
        if self.reserved {
            // SAFETY: bounds checked above; the destination lies in the mapping, its blocks are
            // reserved (no SIGBUS on a full disk), and the single writer of each file (the store's
            // writer lock) only writes ranges readers have not been given yet.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    self.map.as_mut_ptr().add(pos as usize),
                    data.len(),
                );
            }
        } else {
            self.file
                .write_all_at(data, pos)
                .map_err(io_err(&self.path))?;
        }
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// fdatasyncs if anything was written since the last sync; returns whether it synced.
    pub fn sync_if_dirty(&self) -> Result<bool, StoreError> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(false);
        }
        if let Err(e) = self.file.sync_data() {
            self.dirty.store(true, Ordering::Release);
            return Err(io_err(&self.path)(e));
        }
        Ok(true)
    }

    /// fdatasyncs unconditionally.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.dirty.store(false, Ordering::Release);
        self.file.sync_data().map_err(io_err(&self.path))
    }

    /// Zeroes everything from `pos` to the end (by cutting and re-extending the file), syncs,
    /// and maps it again. Only for recovery, when no one else holds the mapping.
    pub fn cut(self, pos: u64) -> Result<Self, StoreError> {
        let len = self.len();
        let MappedFile {
            path, file, map, ..
        } = self;
        drop(map);
        file.set_len(pos.min(len)).map_err(io_err(&path))?;
        file.set_len(len).map_err(io_err(&path))?;
        let reserved = reserve(&file, len);
        file.sync_all().map_err(io_err(&path))?;
        Self::from_file(&path, file, reserved)
    }
}
