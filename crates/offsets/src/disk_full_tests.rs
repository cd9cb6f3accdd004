//! A full disk, simulated (`store::faults`): a log write fails with ENOSPC after writing part of
//! the record. The commit must fail without being applied, the partial bytes must not stay in
//! the log, and the store must accept commits again once writes succeed (no poisoning).

use std::time::Duration;

use crate::store::faults::FULL;
use crate::{Durability, OffsetError, OffsetStore, OffsetStoreConfig, QueueKey, Tuning};

fn key(q: i32) -> QueueKey {
    QueueKey {
        group: "G".into(),
        topic: "T".into(),
        queue_id: q,
    }
}

fn full(on: bool) {
    FULL.with(|f| f.set(on));
}

fn is_enospc(e: &OffsetError) -> bool {
    matches!(e, OffsetError::Io { source, .. } if source.raw_os_error() == Some(28))
}

#[tokio::test]
async fn a_durable_commit_that_cannot_be_written_fails_unapplied_and_the_next_one_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = OffsetStoreConfig {
        dir: dir.path().to_path_buf(),
        durability: Durability::Durable {
            timeout: Duration::from_secs(5),
        },
    };
    let s = OffsetStore::open(cfg.clone()).unwrap();
    s.commit(vec![(key(0), 10)]).await.unwrap();
    full(true);
    let e = s.commit(vec![(key(0), 20), (key(1), 5)]).await.unwrap_err();
    assert!(is_enospc(&e), "{e}");
    assert_eq!(
        s.get("G", "T", 0),
        Some(10),
        "a failed commit is not applied"
    );
    assert_eq!(s.get("G", "T", 1), None);
    full(false);
    s.commit(vec![(key(0), 30)]).await.unwrap();
    assert_eq!(s.get("G", "T", 0), Some(30));
    // A crash (no shutdown) and a reopen: exactly the acknowledged commits, no torn tail.
    drop(s);
    let s = OffsetStore::open(cfg).unwrap();
    assert_eq!(s.get("G", "T", 0), Some(30));
    assert_eq!(s.get("G", "T", 1), None);
    assert_eq!(
        s.stats().truncated_bytes,
        0,
        "the partial write was cut off at once"
    );
}

#[tokio::test]
async fn write_behind_commits_are_kept_and_written_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = OffsetStoreConfig {
        dir: dir.path().to_path_buf(),
        durability: Durability::Periodic {
            interval: Duration::from_secs(3600),
        },
    };
    let tuning = Tuning {
        write_behind: Some(Duration::from_secs(3600)),
        ..Tuning::default()
    };
    let s = OffsetStore::open_with(cfg.clone(), tuning.clone()).unwrap();
    s.commit(vec![(key(0), 7)]).await.unwrap();
    full(true);
    assert!(s.flush().is_err(), "the pending record cannot be written");
    assert_eq!(s.get("G", "T", 0), Some(7));
    full(false);
    s.flush().unwrap();
    drop(s);
    let s = OffsetStore::open_with(cfg, tuning).unwrap();
    assert_eq!(s.get("G", "T", 0), Some(7));
}

fn cut_fails(on: bool) {
    crate::store::faults::CUT_FAILS.with(|f| f.set(on));
}

fn durable(dir: &std::path::Path) -> OffsetStoreConfig {
    OffsetStoreConfig {
        dir: dir.to_path_buf(),
        durability: Durability::Durable {
            timeout: Duration::from_secs(5),
        },
    }
}

#[tokio::test]
async fn a_partial_write_that_cannot_be_cut_off_blocks_writes_until_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let s = OffsetStore::open(durable(dir.path())).unwrap();
    s.commit(vec![(key(0), 1)]).await.unwrap();
    // Full, and even the cut fails (btrfs): the partial bytes stay for now.
    full(true);
    cut_fails(true);
    assert!(s.commit(vec![(key(0), 2)]).await.is_err());
    // Writes would succeed again, but the cut still fails: nothing is written behind garbage.
    full(false);
    let e = s.commit(vec![(key(0), 3)]).await.unwrap_err();
    assert!(is_enospc(&e), "{e}");
    assert_eq!(s.get("G", "T", 0), Some(1));
    // Room again: the cut, then the write.
    cut_fails(false);
    s.commit(vec![(key(0), 4)]).await.unwrap();
    drop(s);
    let s = OffsetStore::open(durable(dir.path())).unwrap();
    assert_eq!(s.get("G", "T", 0), Some(4));
    assert_eq!(s.stats().truncated_bytes, 0);
}

#[tokio::test]
async fn a_crash_before_the_cut_leaves_a_torn_tail_that_recovery_drops() {
    let dir = tempfile::tempdir().unwrap();
    let s = OffsetStore::open(durable(dir.path())).unwrap();
    s.commit(vec![(key(0), 1)]).await.unwrap();
    full(true);
    cut_fails(true);
    assert!(s.commit(vec![(key(0), 2), (key(1), 2)]).await.is_err());
    full(false);
    cut_fails(false);
    // A crash now: the files as they are (copied while the store is still open, so it has no
    // chance to cut anything) are what the next start finds.
    let crashed = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), crashed.path().join(f.file_name())).unwrap();
    }
    drop(s);
    let s = OffsetStore::open(durable(crashed.path())).unwrap();
    assert_eq!(
        s.get("G", "T", 0),
        Some(1),
        "the failed commit did not come back"
    );
    assert_eq!(s.get("G", "T", 1), None);
    assert!(
        s.stats().truncated_bytes > 0,
        "the torn tail was cut at recovery"
    );
    s.commit(vec![(key(0), 5)]).await.unwrap();
    assert_eq!(s.get("G", "T", 0), Some(5));
}

/// A failing fsync (EIO): the durable reset waiting for it is reported failed and is not
/// visible afterwards — neither in the table nor in the history, before or after a restart.
#[tokio::test]
async fn a_durable_reset_whose_fsync_fails_is_reported_failed_and_rolled_back() {
    use crate::ChangeDraft;
    let dir = tempfile::tempdir().unwrap();
    let s = OffsetStore::open(durable(dir.path())).unwrap();
    s.commit(vec![(key(0), 10), (key(1), 11)]).await.unwrap();
    let history_before = s.history(Some("G"), 100).len();
    s.fail_fsyncs();
    let e = s
        .apply_change(ChangeDraft {
            actor: "test".into(),
            operation: "reset".into(),
            scope: "G/T to 0".into(),
            set: vec![(key(0), Some(0)), (key(1), Some(0))],
            ..ChangeDraft::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, OffsetError::Poisoned(_)), "{e}");
    assert!(e.to_string().contains("rolled back"), "{e}");
    assert_eq!(s.get("G", "T", 0), Some(10), "the reset is not visible");
    assert_eq!(s.get("G", "T", 1), Some(11));
    assert_eq!(s.history(Some("G"), 100).len(), history_before);
    // Writes are refused until a restart.
    let e = s.commit(vec![(key(0), 12)]).await.unwrap_err();
    assert!(matches!(e, OffsetError::Poisoned(_)), "{e}");
    assert_eq!(s.get("G", "T", 0), Some(10));
    drop(s);
    let s = OffsetStore::open(durable(dir.path())).unwrap();
    assert_eq!(s.get("G", "T", 0), Some(10), "nor after a restart");
    assert_eq!(s.get("G", "T", 1), Some(11));
    assert_eq!(s.history(Some("G"), 100).len(), history_before);
    s.commit(vec![(key(0), 13)]).await.unwrap();
    assert_eq!(s.get("G", "T", 0), Some(13));
}
