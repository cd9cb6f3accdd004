//! A fixed-size file written with `pwrite` and read through a read-only shared mapping.
//!
//! The file is created at its full size (sparse) and never shrinks while mapped, so every byte
//! of the mapping stays backed; writes go through the page cache that the mapping shares.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use memmap2::Mmap;

use crate::error::{io_err, StoreError};

pub(crate) struct MappedFile {
    path: PathBuf,
    file: File,
    map: Mmap,
    dirty: AtomicBool,
}

fn map(file: &File, path: &Path) -> Result<Mmap, StoreError> {
    // SAFETY: the store owns this file. It is only ever extended or rewritten with pwrite, never
    // shrunk while this mapping exists (recovery shrinks through `cut`, which drops the mapping
    // first), so every mapped page stays backed by the file. Bytes under the mapping may change
    // while it is read; readers only look at ranges whose writes completed before they were
    // published (Release/Acquire on the offsets), and treat any byte pattern as possibly invalid.
    unsafe { Mmap::map(file) }.map_err(io_err(path))
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
        Self::from_file(path, file)
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
        Ok((Self::from_file(path, file)?, resized))
    }

    fn from_file(path: &Path, file: File) -> Result<Self, StoreError> {
        let map = map(&file, path)?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            file,
            map,
            dirty: AtomicBool::new(false),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// The whole mapping.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// `n` bytes at `pos`, or `None` if that runs past the file.
    pub fn slice(&self, pos: u64, n: usize) -> Option<&[u8]> {
        let start = usize::try_from(pos).ok()?;
        self.map.get(start..start.checked_add(n)?)
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
        self.file
            .write_all_at(data, pos)
            .map_err(io_err(&self.path))?;
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
        file.sync_all().map_err(io_err(&path))?;
        Self::from_file(&path, file)
    }
}
