//! The `checkpoint` file (how far the log and the consume queues are known durable) and the
//! `abort` marker (present while the store is open; left behind by a crash).
//!
//! Checkpoint layout, 28 bytes, big-endian: `b"FMQCKPT1"`, log flushed offset i64, dispatched
//! offset i64 (every record below it has a durable consume-queue entry), CRC32 of the first 24
//! bytes. It is rewritten in place; a torn write fails the CRC and counts as no checkpoint.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{io_err, StoreError};
use crate::record::be_i64;

const MAGIC: &[u8; 8] = b"FMQCKPT1";
const LEN: usize = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub log_flushed: i64,
    pub dispatched: i64,
}

pub(crate) fn path(root: &Path) -> PathBuf {
    root.join("checkpoint")
}

pub(crate) fn abort_path(root: &Path) -> PathBuf {
    root.join("abort")
}

/// Reads the checkpoint; `None` if missing or invalid.
pub(crate) fn read(root: &Path) -> Option<Checkpoint> {
    decode(&std::fs::read(path(root)).ok()?)
}

/// Decodes the bytes of a checkpoint file; `None` if too short, of the wrong magic or CRC.
pub(crate) fn decode(b: &[u8]) -> Option<Checkpoint> {
    let b = b.get(..LEN)?;
    if &b[..8] != MAGIC {
        return None;
    }
    let crc = u32::from_be_bytes(b.get(24..28)?.try_into().ok()?);
    if crc32fast::hash(&b[..24]) != crc {
        tracing::warn!("checkpoint CRC mismatch; ignoring it");
        return None;
    }
    Some(Checkpoint {
        log_flushed: be_i64(b, 8)?,
        dispatched: be_i64(b, 16)?,
    })
}

/// The open checkpoint file.
pub(crate) struct CheckpointFile {
    path: PathBuf,
    file: File,
}

impl CheckpointFile {
    /// Opens (creating if missing) the `checkpoint` file under `root`.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the file cannot be opened or created.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let path = path(root);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        Ok(CheckpointFile { path, file })
    }

    /// Writes and fdatasyncs.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the write or the fdatasync fails (a torn checkpoint is caught by
    /// its CRC at the next open).
    pub fn write(&self, c: Checkpoint) -> Result<(), StoreError> {
        let mut b = [0u8; LEN];
        b[..8].copy_from_slice(MAGIC);
        b[8..16].copy_from_slice(&c.log_flushed.to_be_bytes());
        b[16..24].copy_from_slice(&c.dispatched.to_be_bytes());
        let crc = crc32fast::hash(&b[..24]);
        b[24..].copy_from_slice(&crc.to_be_bytes());
        self.file.write_all_at(&b, 0).map_err(io_err(&self.path))?;
        self.file.sync_data().map_err(io_err(&self.path))
    }
}
