//! Small JSON config files (`topics.json`, `subscriptionGroup.json`, `delayOffset.json`):
//! atomic replace with a `.bak`, a loader that refuses corrupt files instead of guessing, and
//! [`ConfigWriter`], which writes them off the request path.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;
use tracing::warn;

/// Distinguishes temp files of concurrent writers (two processes, or a test) so that no two
/// writes ever interleave in one `.tmp` file.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// How often [`ConfigWriter::flush`] wakes the writer to retry a failed write.
const FLUSH_RETRY: Duration = Duration::from_millis(50);

/// How long a failed write waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Writes a config file in the background: a change marks the file dirty and returns at once;
/// one thread per file snapshots the table and replaces the file atomically, coalescing every
/// change made meanwhile into one write. Requests never fsync, and a burst of N changes costs
/// one or two writes, not N. Callers that acknowledge a change as durable (an operator's
/// UPDATE_AND_CREATE_TOPIC) [`ConfigWriter::wait`] for it without blocking a worker thread.
pub struct ConfigWriter {
    shared: Arc<WriterShared>,
    done: watch::Receiver<WriteState>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct WriterShared {
    requested: Mutex<Requested>,
    wake: Condvar,
}

#[derive(Default)]
struct Requested {
    generation: u64,
    closing: bool,
}

/// What the writer thread has done so far.
#[derive(Debug, Clone, Default)]
struct WriteState {
    /// Every change up to this generation is on disk.
    written: u64,
    /// The newest generation whose write failed, and why.
    failed: u64,
    error: Option<String>,
}

impl ConfigWriter {
    /// Starts the writer of a JSON table shared behind a lock: each write serialises a copy
    /// taken under the read lock (held only for the copy).
    pub fn for_table<T>(path: PathBuf, table: Arc<parking_lot::RwLock<T>>) -> Self
    where
        T: Serialize + Clone + Send + Sync + 'static,
    {
        Self::spawn(path, move || {
            let copy = table.read().clone();
            to_json_bytes(&copy)
        })
    }

    /// Starts the writer thread of `path`; `snapshot` serialises the current table.
    pub fn spawn<F>(path: PathBuf, snapshot: F) -> Self
    where
        F: Fn() -> Result<Vec<u8>, String> + Send + 'static,
    {
        let shared = Arc::new(WriterShared {
            requested: Mutex::new(Requested::default()),
            wake: Condvar::new(),
        });
        let (tx, done) = watch::channel(WriteState::default());
        let thread_shared = shared.clone();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let thread = std::thread::Builder::new()
            .name(format!("config-{name}"))
            .spawn(move || write_loop(&path, &thread_shared, &tx, snapshot))
            .ok();
        Self {
            shared,
            done,
            thread,
        }
    }

    /// Marks the file dirty; returns the generation to [`ConfigWriter::wait`] for.
    pub fn mark(&self) -> u64 {
        let mut r = self.shared.requested.lock();
        r.generation += 1;
        self.shared.wake.notify_one();
        r.generation
    }

    /// Waits until `generation` is on disk.
    ///
    /// # Errors
    /// The write failed (it is retried in the background), or `timeout` passed.
    pub async fn wait(&self, generation: u64, timeout: Duration) -> Result<(), String> {
        let mut rx = self.done.clone();
        let wait = async {
            rx.wait_for(|s| s.written >= generation || s.failed >= generation)
                .await
                .map(|s| s.clone())
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(s)) if s.written >= generation => Ok(()),
            Ok(Ok(s)) => Err(s.error.unwrap_or_else(|| "write failed".into())),
            Ok(Err(_)) => Err("the config writer has stopped".into()),
            Err(_) => Err(format!("not written within {timeout:?}")),
        }
    }

    /// Blocks until every change marked so far is on disk (shutdown).
    ///
    /// # Errors
    /// As [`ConfigWriter::wait`].
    pub fn flush(&self, timeout: Duration) -> Result<(), String> {
        let generation = self.shared.requested.lock().generation;
        let deadline = std::time::Instant::now() + timeout;
        let mut retried_at = None;
        loop {
            let s = self.done.borrow().clone();
            if s.written >= generation {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(match s.error.filter(|_| s.failed >= generation) {
                    Some(e) => e,
                    None => format!("not written within {timeout:?}"),
                });
            }
            // A failed write (a full disk) is retried until the deadline, at once and then
            // every 50 ms, rather than waiting for the writer's own retry interval: room may
            // have come back.
            if s.failed >= generation
                && retried_at.is_none_or(|t: std::time::Instant| t.elapsed() >= FLUSH_RETRY)
            {
                self.shared.wake.notify_one();
                retried_at = Some(std::time::Instant::now());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for ConfigWriter {
    fn drop(&mut self) {
        self.shared.requested.lock().closing = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn write_loop<F>(path: &Path, shared: &WriterShared, tx: &watch::Sender<WriteState>, snapshot: F)
where
    F: Fn() -> Result<Vec<u8>, String>,
{
    let mut written = 0u64;
    loop {
        let generation = {
            let mut r = shared.requested.lock();
            while r.generation == written && !r.closing {
                shared.wake.wait(&mut r);
            }
            if r.generation == written {
                return;
            }
            r.generation
        };
        let result = snapshot().and_then(|bytes| {
            write_atomic(path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
        });
        match result {
            Ok(()) => {
                written = generation;
                tx.send_modify(|s| s.written = generation);
            }
            Err(e) => {
                warn!("{e}; retrying in {RETRY_AFTER:?}");
                tx.send_modify(|s| {
                    s.failed = generation;
                    s.error = Some(e);
                });
                let mut r = shared.requested.lock();
                if r.closing {
                    // Shutting down: ConfigWriter::flush has reported the failure already.
                    return;
                }
                shared.wake.wait_for(&mut r, RETRY_AFTER);
            }
        }
    }
}

/// Writes `value` to `path` atomically: temp file, fsync, keep the old file as `.bak`, rename,
/// fsync the directory.
///
/// # Errors
/// Any I/O error; the previous file is then still in place.
pub fn save_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    write_atomic(
        path,
        &serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?,
    )
}

/// Replaces `path` with `bytes` atomically (see [`save_json`]). The temp file's name is unique
/// to this process and call, so concurrent writers never share one.
///
/// # Errors
/// Any I/O error; the previous file is then still in place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = with_suffix(
        path,
        &format!(
            ".{}.{}.tmp",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ),
    );
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        if path.exists() {
            fs::copy(path, with_suffix(path, ".bak"))?;
        }
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Serialises a config table the way [`save_json`] writes it.
///
/// # Errors
/// A serialisation failure, as text.
pub fn to_json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec_pretty(value).map_err(|e| e.to_string())
}

/// Loads `path`, falling back to `path.bak` when the main file is missing or empty.
/// A file that exists but does not parse is an error naming the file: the broker refuses to
/// start rather than overwrite an operator's data with defaults.
///
/// # Errors
/// A message naming the file and the parse problem.
pub fn load_json<T: DeserializeOwned + Default>(path: &Path) -> Result<T, String> {
    for candidate in [path.to_path_buf(), with_suffix(path, ".bak")] {
        let bytes = match fs::read(&candidate) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", candidate.display())),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        return ferromq_protocol::json::from_slice(&bytes).map_err(|e| {
            format!(
                "{} is corrupt ({e}); fix or remove it (a backup may be in .bak)",
                candidate.display()
            )
        });
    }
    Ok(T::default())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn save_load_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), 1);
        save_json(&p, &m).unwrap();
        m.insert("b".to_string(), 2);
        save_json(&p, &m).unwrap();
        assert_eq!(load_json::<BTreeMap<String, i32>>(&p).unwrap(), m);
        fs::write(&p, b"").unwrap();
        assert_eq!(
            load_json::<BTreeMap<String, i32>>(&p).unwrap().len(),
            1,
            "empty file falls back to .bak"
        );
        fs::write(&p, b"{garbage").unwrap();
        assert!(load_json::<BTreeMap<String, i32>>(&p)
            .unwrap_err()
            .contains("corrupt"));
    }

    #[test]
    fn concurrent_writers_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let p = p.clone();
                s.spawn(move || {
                    for _ in 0..50 {
                        write_atomic(&p, &vec![b'a' + t; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(
            bytes.iter().all(|b| *b == bytes[0]),
            "one writer's bytes only"
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[tokio::test]
    async fn config_writer_coalesces_and_acknowledges() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        let value = Arc::new(Mutex::new(0u32));
        let writes = Arc::new(AtomicU64::new(0));
        let (v, w) = (value.clone(), writes.clone());
        let writer = ConfigWriter::spawn(p.clone(), move || {
            w.fetch_add(1, Ordering::Relaxed);
            to_json_bytes(&*v.lock())
        });
        let mut last = 0;
        for i in 1..=200u32 {
            *value.lock() = i;
            last = writer.mark();
        }
        writer.wait(last, Duration::from_secs(10)).await.unwrap();
        assert_eq!(load_json::<u32>(&p).unwrap(), 200);
        assert!(
            writes.load(Ordering::Relaxed) < 200,
            "changes were coalesced"
        );
        drop(writer);
    }

    #[tokio::test]
    async fn config_writer_reports_failures() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: every write fails.
        let p = dir.path().join("blocked.json");
        fs::create_dir_all(p.join("x")).unwrap();
        let writer = ConfigWriter::spawn(p, || to_json_bytes(&1u32));
        let g = writer.mark();
        let e = writer.wait(g, Duration::from_secs(10)).await.unwrap_err();
        assert!(e.contains("cannot write"), "{e}");
        let started = std::time::Instant::now();
        assert!(writer.flush(Duration::from_millis(300)).is_err());
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "retried until the deadline"
        );
    }
}
