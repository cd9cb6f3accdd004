//! Group commit for the journal in durable mode.
//!
//! Operations append their record under the table's lock and return at once; whoever answers a
//! client then awaits `PopTable::durable` outside that lock. One thread does the `fdatasync`s: each
//! covers every record appended before it started, so N concurrent acks cost one sync instead
//! of N, the table is never locked across the disk, and no request thread blocks on it.
//!
//! A failed `fdatasync` is final: Linux may already have dropped the pages it could not write,
//! so nothing appended since the last good sync is known to be on disk. Every wait fails from
//! then on (clients get an error, never an answer the journal cannot back) and new records are
//! refused until the broker restarts and replays what the disk holds.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use crate::error::PopError;

/// A place in the journal: bytes appended since the table opened, across generations. An
/// answer that depends on a change must not go out before the journal is synced past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SyncPoint(u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Synced {
    /// Everything appended below this is on disk.
    upto: u64,
    /// An `fdatasync` failed (sticky).
    failed: bool,
}

#[derive(Default)]
struct Ctl {
    requested: bool,
    stop: bool,
}

pub(crate) struct Flusher {
    /// The journal file records go to now (a duplicate of the journal's descriptor).
    file: Mutex<Arc<File>>,
    appended: AtomicU64,
    synced: watch::Sender<Synced>,
    syncs: AtomicU64,
    ctl: Mutex<Ctl>,
    cv: Condvar,
    /// Unit tests make the disk fail.
    #[cfg(test)]
    fail_sync: std::sync::atomic::AtomicBool,
}

impl Flusher {
    pub(crate) fn new(file: &File) -> Result<Flusher, PopError> {
        let (synced, _) = watch::channel(Synced {
            upto: 0,
            failed: false,
        });
        Ok(Flusher {
            file: Mutex::new(Arc::new(file.try_clone()?)),
            appended: AtomicU64::new(0),
            synced,
            syncs: AtomicU64::new(0),
            ctl: Mutex::new(Ctl::default()),
            cv: Condvar::new(),
            #[cfg(test)]
            fail_sync: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Counts `bytes` written to the current file (called under the table's lock, after the
    /// write).
    pub(crate) fn appended(&self, bytes: u64) {
        self.appended.fetch_add(bytes, Ordering::Release);
    }

    /// The end of the journal now: every change made so far lies before it.
    pub(crate) fn point(&self) -> SyncPoint {
        SyncPoint(self.appended.load(Ordering::Acquire))
    }

    /// The journal moved to `file` (a duplicate of the new journal's descriptor) after a
    /// snapshot that holds every change appended so far (called under the table's lock).
    /// `snapshot_durable`: the snapshot and its rename were synced; if not, nothing appended
    /// before is known to be on disk, which is a failed sync.
    pub(crate) fn switched(&self, file: File, snapshot_durable: bool) {
        *self.file.lock() = Arc::new(file);
        let upto = self.appended.load(Ordering::Acquire);
        self.synced.send_modify(|s| match snapshot_durable {
            true => s.upto = s.upto.max(upto),
            false => s.failed = true,
        });
    }

    /// `fdatasync` calls made (group commit shows as fewer than the changes waited for).
    pub(crate) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    pub(crate) fn failed(&self) -> bool {
        self.synced.borrow().failed
    }

    /// Waits until the journal is on disk up to `p`.
    pub(crate) async fn durable(&self, p: SyncPoint) -> Result<(), PopError> {
        // Subscribed before the request, so the sync that answers it cannot be missed.
        let mut rx = self.synced.subscribe();
        if rx.borrow().upto >= p.0 {
            return Ok(());
        }
        self.request();
        let s = *rx
            .wait_for(|s| s.upto >= p.0 || s.failed)
            .await
            .map_err(|_| PopError::Journal("the POP table is closed".into()))?;
        if s.upto >= p.0 {
            Ok(())
        } else {
            Err(PopError::Journal(
                "an fdatasync of the POP journal failed; the broker refuses POP changes until it \
                 restarts (see its log)"
                    .into(),
            ))
        }
    }

    fn request(&self) {
        let mut c = self.ctl.lock();
        if !c.requested {
            c.requested = true;
            self.cv.notify_one();
        }
    }

    /// Syncs everything appended so far.
    fn sync_now(&self) {
        if self.failed() {
            return;
        }
        // The target is read before the file: a record counted in it went either to this file
        // or to one a snapshot (synced, see `switched`) already covers.
        let target = self.appended.load(Ordering::Acquire);
        if target <= self.synced.borrow().upto {
            return;
        }
        let file = self.file.lock().clone();
        self.syncs.fetch_add(1, Ordering::Relaxed);
        match self.sync_file(&file) {
            Ok(()) => self.synced.send_modify(|s| s.upto = s.upto.max(target)),
            Err(e) => {
                tracing::error!(error = %e, "fdatasync of the POP journal failed; POP changes are refused until the broker restarts");
                self.synced.send_modify(|s| s.failed = true);
            }
        }
    }

    fn sync_file(&self, file: &File) -> std::io::Result<()> {
        #[cfg(test)]
        if self.fail_sync.load(Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        file.sync_data()
    }

    /// Starts the thread that syncs on request.
    pub(crate) fn spawn(self: &Arc<Self>) -> Result<JoinHandle<()>, PopError> {
        let me = self.clone();
        Ok(std::thread::Builder::new()
            .name("ferromq-pop-sync".into())
            .spawn(move || me.run())?)
    }

    fn run(&self) {
        loop {
            let stop = {
                let mut c = self.ctl.lock();
                while !c.requested && !c.stop {
                    self.cv.wait(&mut c);
                }
                c.requested = false;
                c.stop
            };
            // A stop syncs what is left, so a clean shutdown loses nothing appended.
            self.sync_now();
            if stop {
                return;
            }
        }
    }

    pub(crate) fn stop(&self) {
        self.ctl.lock().stop = true;
        self.cv.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flusher() -> (tempfile::TempDir, Arc<Flusher>, JoinHandle<()>) {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("j")).unwrap();
        let f = Arc::new(Flusher::new(&file).unwrap());
        let t = f.spawn().unwrap();
        (dir, f, t)
    }

    #[tokio::test]
    async fn concurrent_waits_share_syncs() {
        let (_dir, f, t) = flusher();
        let waits: Vec<_> = (0..64)
            .map(|_| {
                f.appended(100);
                let (f, p) = (f.clone(), f.point());
                tokio::spawn(async move { f.durable(p).await })
            })
            .collect();
        for w in waits {
            w.await.unwrap().unwrap();
        }
        assert!(f.syncs() >= 1 && f.syncs() < 64, "{} syncs", f.syncs());
        // Nothing new appended: no sync needed.
        let before = f.syncs();
        f.durable(f.point()).await.unwrap();
        assert_eq!(f.syncs(), before);
        f.stop();
        t.join().unwrap();
    }

    #[tokio::test]
    async fn a_failed_sync_fails_every_later_wait() {
        let (_dir, f, t) = flusher();
        f.appended(10);
        f.durable(f.point()).await.unwrap();
        f.fail_sync.store(true, Ordering::SeqCst);
        f.appended(10);
        assert!(f.durable(f.point()).await.is_err());
        assert!(f.failed());
        f.fail_sync.store(false, Ordering::SeqCst);
        f.appended(10);
        assert!(f.durable(f.point()).await.is_err(), "failure is sticky");
        f.stop();
        t.join().unwrap();
    }

    #[tokio::test]
    async fn a_snapshot_covers_what_was_appended_before_it() {
        let (dir, f, t) = flusher();
        f.appended(10);
        let before = f.syncs();
        let next = File::create(dir.path().join("j2")).unwrap();
        f.switched(next, true);
        f.durable(f.point()).await.unwrap();
        assert_eq!(f.syncs(), before, "no sync needed after the snapshot");
        let next = File::create(dir.path().join("j3")).unwrap();
        f.appended(10);
        f.switched(next, false);
        assert!(f.durable(f.point()).await.is_err());
        f.stop();
        t.join().unwrap();
    }
}
