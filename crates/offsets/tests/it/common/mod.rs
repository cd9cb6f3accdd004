#![allow(dead_code)]
//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferromq_offsets::{Durability, OffsetStore, OffsetStoreConfig, QueueKey, Tuning};

pub fn k(g: &str, t: &str, q: i32) -> QueueKey {
    QueueKey::new(g, t, q)
}

pub fn periodic(dir: &Path) -> OffsetStoreConfig {
    OffsetStoreConfig {
        dir: dir.to_path_buf(),
        durability: Durability::Periodic {
            interval: Duration::from_millis(20),
        },
    }
}

pub fn open(dir: &Path) -> Arc<OffsetStore> {
    OffsetStore::open(periodic(dir)).expect("open")
}

pub fn open_tuned(dir: &Path, tuning: Tuning) -> Arc<OffsetStore> {
    OffsetStore::open_with(periodic(dir), tuning).expect("open")
}

/// Never compacts on its own.
pub fn no_auto_compaction() -> Tuning {
    Tuning {
        compact_min_log_bytes: u64::MAX,
        ..Tuning::default()
    }
}

fn numbered(dir: &Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.starts_with(prefix) && n.ends_with(suffix)
        })
        .collect();
    v.sort();
    v
}

pub fn segments(dir: &Path) -> Vec<PathBuf> {
    numbered(dir, "log-", ".wal")
}

pub fn snapshots(dir: &Path) -> Vec<PathBuf> {
    numbered(dir, "snapshot-", ".snap")
}

pub fn last_segment(dir: &Path) -> PathBuf {
    segments(dir).pop().expect("a segment")
}

pub fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

pub fn append_bytes(p: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
    f.write_all(bytes).unwrap();
}

pub fn truncate(p: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(p)
        .unwrap()
        .set_len(len)
        .unwrap();
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}
