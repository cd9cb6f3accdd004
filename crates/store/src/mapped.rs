//! A fixed-size file shared through one read-write mapping.
//!
//! The file is created at its full size with its blocks reserved (`fallocate`). Reads always go
//! through the mapping. Writes take one of two paths ([`WritePath`]):
//!
//! - **Mapped**: a `memcpy` into the page cache, with no system call per message (profiling
//!   showed two `pwrite`s per message as the broker's largest cost). Only used for a file whose
//!   blocks were reserved, and only where a reservation really covers later overwrites: then a
//!   store through the mapping can never fault for lack of disk space. Large writes (a batch,
//!   `PWRITE_FROM_BYTES` and more) still take `pwrite`, which is cheaper for them.
//! - **Pwrite**: a positioned `write`, which reports a full disk as an error instead of a
//!   SIGBUS. Used on copy-on-write file systems (btrfs, bcachefs, ZFS), where `fallocate` does
//!   not reserve space for overwrites, and for any file whose blocks could not be reserved.
//!
//! Creating a file whose reservation fails for lack of space (ENOSPC, EDQUOT, ...) is an error:
//! the half-made file is removed and the caller (an append) fails cleanly. Only a file system
//! without `fallocate` support leaves a sparse file, written with `pwrite`.
//! `fdatasync` on the file writes back pages dirtied through the mapping.

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use memmap2::MmapRaw;

use crate::error::{io_err, StoreError};

/// Writes at least this large take `pwrite` even on a file written through the mapping: one
/// system call then costs less than the page faults and TLB shootdowns a `memcpy` of that many
/// fresh pages causes (measured: batches of 32 × 1 KiB, 210k → 350k msg/s, broker CPU per
/// message halved; docs/benchmarks.md). Single messages stay below it and keep the `memcpy`,
/// which is faster for them. Both paths write the same page cache, so they mix in one file.
const PWRITE_FROM_BYTES: usize = 16 * 1024;

/// How a file's writes are done (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WritePath {
    /// Through the shared mapping when the file's blocks are reserved, else `pwrite`.
    Mapped,
    /// Always `pwrite`.
    Pwrite,
}

thread_local! {
    /// The write path of files created or opened on this thread (see [`with_write_path`]).
    static WRITE_PATH: Cell<WritePath> = const { Cell::new(WritePath::Mapped) };
}

/// Runs `f` with `path` as the write path of every file created or opened in it. The store sets
/// it around opening (recovery) and around each append, the two places that create or open
/// files; both run synchronously on one thread, so the choice reaches the segment and
/// consume-queue files made deep inside them without threading it through every constructor.
pub(crate) fn with_write_path<R>(path: WritePath, f: impl FnOnce() -> R) -> R {
    struct Restore(WritePath);
    impl Drop for Restore {
        fn drop(&mut self) {
            WRITE_PATH.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(WRITE_PATH.with(|c| c.replace(path)));
    f()
}

fn current_write_path() -> WritePath {
    WRITE_PATH.with(Cell::get)
}

/// Fault injection for the crate's unit tests: a full disk without a full disk.
#[cfg(test)]
pub(crate) mod faults {
    use std::cell::Cell;

    thread_local! {
        /// Creations that still succeed before the next one fails with ENOSPC (`None`: all do).
        pub static CREATES_LEFT: Cell<Option<u32>> = const { Cell::new(None) };
        /// Bytes `pwrite` may still write before it fails with ENOSPC, after writing what fits
        /// (`None`: unlimited). Mapped writes are never limited: their blocks are reserved.
        pub static PWRITE_BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
    }

    pub fn enospc() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::ENOSPC)
    }

    /// Whether this creation is made to fail.
    pub fn create_fails() -> bool {
        CREATES_LEFT.with(|c| match c.get() {
            None => false,
            Some(0) => true,
            Some(n) => {
                c.set(Some(n - 1));
                false
            }
        })
    }

    /// How much of a `len`-byte pwrite goes through; `Err` after writing that much.
    ///
    /// # Errors
    /// How many bytes fit, when the budget does not cover `len`.
    pub fn pwrite_allowed(len: usize) -> Result<(), usize> {
        PWRITE_BUDGET.with(|b| match b.get() {
            None => Ok(()),
            Some(left) if left >= len => {
                b.set(Some(left - len));
                Ok(())
            }
            Some(left) => {
                b.set(Some(0));
                Err(left)
            }
        })
    }

    /// Back to a healthy disk.
    pub fn reset() {
        CREATES_LEFT.with(|c| c.set(None));
        PWRITE_BUDGET.with(|b| b.set(None));
    }
}

pub(crate) struct MappedFile {
    path: PathBuf,
    file: File,
    map: MmapRaw,
    /// The write path this file was opened with.
    write_path: WritePath,
    /// Writes go through the mapping: blocks reserved and the write path is `Mapped`.
    mapped_writes: bool,
    dirty: AtomicBool,
    /// Bytes written through the mapping so far (the pre-faulter works only while it grows).
    mapped_bytes: AtomicU64,
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

/// Reserves the blocks of `[0, len)`.
#[allow(unsafe_code)]
fn reserve(file: &File, len: u64) -> std::io::Result<()> {
    let len =
        libc::off_t::try_from(len).map_err(|_| std::io::Error::from_raw_os_error(libc::EFBIG))?;
    loop {
        // SAFETY: plain syscall on an owned, open descriptor.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The file system cannot reserve blocks at all (as opposed to: it has no room for them).
fn reservation_unsupported(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::ENOSYS))
}

impl MappedFile {
    /// Creates (or resets) `path` as a zero-filled file of `len` bytes with its blocks reserved.
    ///
    /// # Errors
    /// [`StoreError::Io`]; when the reservation fails for lack of space (ENOSPC) the file is
    /// removed again, so a full disk leaves nothing half-made behind.
    pub fn create(path: &Path, len: u64) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(io_err(path))?;
        let made = (|| {
            file.set_len(len).map_err(io_err(path))?;
            #[cfg(test)]
            if faults::create_fails() {
                return Err(io_err(path)(faults::enospc()));
            }
            let reserved = match reserve(&file, len) {
                Ok(()) => true,
                Err(e) if reservation_unsupported(&e) => false,
                Err(e) => return Err(io_err(path)(e)),
            };
            let map = map(&file, path)?;
            Ok((reserved, map))
        })();
        match made {
            Ok((reserved, map)) => Ok(Self::new(path, file, map, reserved)),
            Err(e) => {
                drop(file);
                if let Err(rm) = std::fs::remove_file(path) {
                    tracing::warn!(path = %path.display(), "cannot remove a file that could not be set up: {rm}");
                }
                Err(e)
            }
        }
    }

    /// Opens an existing file; if its length is not `len` it is resized (returns `true`). A file
    /// whose blocks cannot all be reserved (a full disk) is opened anyway and written with
    /// `pwrite`.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the file cannot be opened, resized or mapped;
    /// [`StoreError::Corrupt`] for an empty file when no length is given.
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
        let reserved = reserve_or_warn(&file, path, want);
        let map = map(&file, path)?;
        Ok((Self::new(path, file, map, reserved), resized))
    }

    fn new(path: &Path, file: File, map: MmapRaw, reserved: bool) -> Self {
        let write_path = current_write_path();
        MappedFile {
            path: path.to_path_buf(),
            file,
            map,
            write_path,
            mapped_writes: reserved && write_path == WritePath::Mapped,
            dirty: AtomicBool::new(false),
            mapped_bytes: AtomicU64::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Faults in the pages of `[pos, pos + len)` (clamped to the file) writable, as the first
    /// store into each page would, without changing a byte; it also marks them dirty (a later
    /// fdatasync writes them back, zeros included). `madvise(MADV_POPULATE_WRITE)`, Linux 5.14
    /// and later.
    ///
    /// # Errors
    /// The OS error: `EINVAL` where the kernel lacks the advice.
    pub fn populate(&self, pos: u64, len: u64) -> std::io::Result<()> {
        let size = self.map.len() as u64;
        let (start, end) = (pos.min(size), pos.saturating_add(len).min(size));
        if start == end {
            return Ok(());
        }
        // Both fit in usize: they are at most the mapping's length.
        self.map.advise_range(
            memmap2::Advice::PopulateWrite,
            start as usize,
            (end - start) as usize,
        )
    }

    /// Whether writes go through the mapping (else `pwrite`).
    pub fn writes_mapped(&self) -> bool {
        self.mapped_writes
    }

    /// Bytes written through the mapping so far (large writes take `pwrite` and do not count).
    pub fn mapped_bytes(&self) -> u64 {
        self.mapped_bytes.load(Ordering::Relaxed)
    }

    /// The whole mapping, for recovery (opening the store), which scans files from their start
    /// without knowing where valid data ends. Readers of a live store use
    /// [`slice`](Self::slice) on ranges below a published end instead.
    ///
    /// # Safety
    /// No write to this file may run while the returned slice lives: not through this
    /// `MappedFile` ([`write_at`](Self::write_at), [`zero`](Self::zero)), nor through another
    /// handle to the file. A `&[u8]` promises that its bytes do not change; a concurrent
    /// `memcpy` into the mapping or `pwrite` to the file would break that promise (a data
    /// race). In practice: call it only while the store is being opened, before the file is
    /// reachable from the writer, the flusher or any reader.
    #[allow(unsafe_code)]
    pub unsafe fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is valid for its length while `self` lives, and the file never
        // shrinks under it (only `cut` shrinks it, and `cut` consumes `self`). The caller
        // guarantees that nothing writes to the file while the slice lives.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr(), self.map.len()) }
    }

    /// `n` bytes at `pos`, or `None` if that runs past the file.
    ///
    /// Borrows only `[pos, pos + n)`, so the writer may keep appending elsewhere in the file.
    /// Callers ask only for ranges that no write touches while the slice lives: below a
    /// published end (the commit log's written offset, a consume queue's max offset), which
    /// is only ever published after the bytes under it were written and which no later write
    /// goes below; or any range during recovery, before anything writes.
    #[allow(unsafe_code)]
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
    ///
    /// # Errors
    /// [`StoreError::Io`] when a `pwrite` fails (a full disk on a copy-on-write file system);
    /// part of `data` may then be written. [`StoreError::Corrupt`] when the range runs past the
    /// end of the file.
    #[allow(unsafe_code)]
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
        if self.mapped_writes && data.len() < PWRITE_FROM_BYTES {
            // SAFETY: bounds checked above; the destination lies in the mapping, its blocks are
            // reserved on a file system that keeps reservations for overwrites (no SIGBUS on a
            // full disk), and the single writer of each file (the store's writer lock) only
            // writes ranges readers have not been given yet.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    self.map.as_mut_ptr().add(pos as usize),
                    data.len(),
                );
            }
            self.mapped_bytes
                .fetch_add(data.len() as u64, Ordering::Relaxed);
        } else {
            self.pwrite(pos, data)?;
        }
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    fn pwrite(&self, pos: u64, data: &[u8]) -> Result<(), StoreError> {
        #[cfg(test)]
        if let Err(fits) = faults::pwrite_allowed(data.len()) {
            self.file
                .write_all_at(&data[..fits], pos)
                .map_err(io_err(&self.path))?;
            return Err(io_err(&self.path)(faults::enospc()));
        }
        self.file
            .write_all_at(data, pos)
            .map_err(io_err(&self.path))
    }

    /// Writes `len` zero bytes at `pos`.
    ///
    /// # Errors
    /// As [`write_at`](Self::write_at).
    pub fn zero(&self, mut pos: u64, len: u64) -> Result<(), StoreError> {
        const ZEROS: [u8; 16 * 1024] = [0; 16 * 1024];
        let end = pos.saturating_add(len);
        while pos < end {
            let n = (end - pos).min(ZEROS.len() as u64);
            self.write_at(pos, &ZEROS[..n as usize])?;
            pos += n;
        }
        Ok(())
    }

    /// fdatasyncs if anything was written since the last sync; returns whether it synced.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the fdatasync fails; the file then stays marked dirty.
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
    ///
    /// # Errors
    /// [`StoreError::Io`] when the fdatasync fails.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.dirty.store(false, Ordering::Release);
        self.file.sync_data().map_err(io_err(&self.path))
    }

    /// Zeroes everything from `pos` to the end (by cutting and re-extending the file), syncs,
    /// and maps it again. Only for recovery, when no one else holds the mapping.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the file cannot be resized, synced or mapped again.
    pub fn cut(self, pos: u64) -> Result<Self, StoreError> {
        let len = self.len();
        let MappedFile {
            path,
            file,
            map: old_map,
            write_path,
            ..
        } = self;
        drop(old_map);
        file.set_len(pos.min(len)).map_err(io_err(&path))?;
        file.set_len(len).map_err(io_err(&path))?;
        let reserved = reserve_or_warn(&file, &path, len);
        file.sync_all().map_err(io_err(&path))?;
        let map = map(&file, &path)?;
        Ok(with_write_path(write_path, || {
            Self::new(&path, file, map, reserved)
        }))
    }
}

/// Reserves the blocks of an existing file; `false` (the file is then written with `pwrite`)
/// when the file system cannot, or has no room left.
fn reserve_or_warn(file: &File, path: &Path, len: u64) -> bool {
    match reserve(file, len) {
        Ok(()) => true,
        Err(e) if reservation_unsupported(&e) => false,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot reserve the file's blocks ({e}); writing it with pwrite");
            false
        }
    }
}

/// What `statfs` says about the file system holding a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FsInfo {
    /// `f_type`, the file system's magic number.
    pub magic: u64,
    /// A short name for the magic numbers the store knows (else `None`).
    pub name: Option<&'static str>,
    /// Copy-on-write: `fallocate` does not reserve space for overwrites.
    pub copy_on_write: bool,
}

/// Names and copy-on-write flags of the magic numbers in `statfs(2)` and `linux/magic.h`.
pub(crate) fn classify_fs(magic: u64) -> FsInfo {
    let (name, copy_on_write) = match magic {
        0x9123_683E => (Some("btrfs"), true),
        0xCA45_1A4E => (Some("bcachefs"), true),
        0x2FC1_2FC1 => (Some("zfs"), true),
        0xEF53 => (Some("ext2/3/4"), false),
        0x5846_5342 => (Some("xfs"), false),
        0x0102_1994 => (Some("tmpfs"), false),
        0x794C_7630 => (Some("overlayfs"), false),
        0x6969 => (Some("nfs"), false),
        0xF2F5_2010 => (Some("f2fs"), false),
        _ => (None, false),
    };
    FsInfo {
        magic,
        name,
        copy_on_write,
    }
}

/// `statfs(dir)`, classified; `None` if the call fails.
#[allow(unsafe_code)]
pub(crate) fn fs_info(dir: &Path) -> Option<FsInfo> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statfs` is plain data; all-zero is a valid value that the call overwrites.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a valid out pointer.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    // f_type is a signed word whose width differs between targets; the magic is its low 32 bits.
    #[allow(clippy::unnecessary_cast)]
    let magic = (st.f_type as u64) & 0xFFFF_FFFF;
    Some(classify_fs(magic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_on_write_file_systems_are_recognised() {
        for (magic, name) in [
            (0x9123_683E, "btrfs"),
            (0xCA45_1A4E, "bcachefs"),
            (0x2FC1_2FC1, "zfs"),
        ] {
            let fs = classify_fs(magic);
            assert!(fs.copy_on_write, "{name}");
            assert_eq!(fs.name, Some(name));
        }
        for magic in [0xEF53, 0x5846_5342, 0x0102_1994, 0x1234] {
            assert!(!classify_fs(magic).copy_on_write, "{magic:#x}");
        }
    }

    #[test]
    fn statfs_of_a_temp_dir_works() {
        let dir = tempfile::tempdir().unwrap();
        let fs = fs_info(dir.path()).expect("statfs");
        assert_ne!(fs.magic, 0);
    }

    #[test]
    fn write_path_follows_the_scope_and_is_restored() {
        let dir = tempfile::tempdir().unwrap();
        let a = MappedFile::create(&dir.path().join("a"), 8192).unwrap();
        assert!(a.writes_mapped(), "default: mapped when reserved");
        let b = with_write_path(WritePath::Pwrite, || {
            MappedFile::create(&dir.path().join("b"), 8192).unwrap()
        });
        assert!(!b.writes_mapped());
        assert_eq!(current_write_path(), WritePath::Mapped);
        b.write_at(100, b"hello").unwrap();
        assert_eq!(
            b.slice(100, 5).unwrap(),
            b"hello",
            "pwrite is seen through the mapping"
        );
        let b = b.cut(102).unwrap();
        assert!(!b.writes_mapped(), "cut keeps the write path");
        assert_eq!(b.slice(100, 5).unwrap(), b"he\0\0\0");
    }

    #[test]
    fn a_creation_that_runs_out_of_space_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        faults::CREATES_LEFT.with(|c| c.set(Some(0)));
        let e = MappedFile::create(&p, 8192).err().expect("fails");
        faults::reset();
        assert!(e.to_string().contains("No space left"), "{e}");
        assert!(!p.exists());
    }

    #[test]
    fn a_pwrite_that_runs_out_of_space_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = with_write_path(WritePath::Pwrite, || {
            MappedFile::create(&dir.path().join("f"), 8192).unwrap()
        });
        faults::PWRITE_BUDGET.with(|b| b.set(Some(3)));
        assert!(f.write_at(0, b"abcdef").is_err());
        faults::reset();
        assert_eq!(
            f.slice(0, 6).unwrap(),
            b"abc\0\0\0",
            "a partial write, like ENOSPC"
        );
        f.zero(0, 6).unwrap();
        assert_eq!(f.slice(0, 6).unwrap(), [0; 6]);
    }
}
