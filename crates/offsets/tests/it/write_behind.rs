//! `Tuning::write_behind`: records are buffered and written out by the flusher, never later
//! than the configured delay, always before an fsync, and always on shutdown.

use crate::common;

use std::time::Duration;

use common::*;
use ferromq_offsets::{Durability, OffsetStore, OffsetStoreConfig, Tuning};

fn tuning() -> Tuning {
    Tuning {
        write_behind: Some(Duration::from_millis(10)),
        ..Tuning::default()
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[tokio::test]
async fn buffered_commits_reach_the_file_within_the_delay() {
    let d = tempfile::tempdir().unwrap();
    let cfg = OffsetStoreConfig {
        dir: d.path().to_path_buf(),
        durability: Durability::Periodic {
            interval: Duration::from_secs(10),
        },
    };
    let s = OffsetStore::open_with(cfg, tuning()).unwrap();
    for i in 0..100 {
        s.commit(vec![(k("g", "t", i % 4), i as i64)])
            .await
            .unwrap();
    }
    assert_eq!(s.get("g", "t", 3), Some(99), "visible at once");
    // Long before the 10 s fsync interval, the records are in the file: a copy of the files
    // (what a SIGKILL leaves behind, the page cache included) has all of them.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let copy = tempfile::tempdir().unwrap();
    copy_dir(d.path(), copy.path());
    let reopened = open(copy.path());
    assert_eq!(reopened.all(), s.all());
    drop(reopened);
    s.shutdown().unwrap();
}

#[tokio::test]
async fn shutdown_writes_what_is_pending() {
    let d = tempfile::tempdir().unwrap();
    let cfg = OffsetStoreConfig {
        dir: d.path().to_path_buf(),
        durability: Durability::Periodic {
            interval: Duration::from_secs(10),
        },
    };
    let s = OffsetStore::open_with(
        cfg,
        Tuning {
            write_behind: Some(Duration::from_secs(60)),
            ..Tuning::default()
        },
    )
    .unwrap();
    s.commit(vec![(k("g", "t", 0), 7)]).await.unwrap();
    s.shutdown().unwrap();
    drop(s);
    assert_eq!(open(d.path()).get("g", "t", 0), Some(7));
}

#[tokio::test]
async fn durable_mode_still_acknowledges_after_write_and_fsync() {
    let d = tempfile::tempdir().unwrap();
    let cfg = OffsetStoreConfig {
        dir: d.path().to_path_buf(),
        durability: Durability::Durable {
            timeout: Duration::from_secs(5),
        },
    };
    let s = OffsetStore::open_with(cfg, tuning()).unwrap();
    let before = s.stats().fsyncs;
    s.commit(vec![(k("g", "t", 0), 1)]).await.unwrap();
    assert!(s.stats().fsyncs > before, "acknowledged before an fsync");
    let copy = tempfile::tempdir().unwrap();
    copy_dir(d.path(), copy.path());
    assert_eq!(
        open(copy.path()).get("g", "t", 0),
        Some(1),
        "acknowledged before the write"
    );
    s.shutdown().unwrap();
}

#[tokio::test]
async fn operator_changes_and_deletes_are_written_through() {
    use ferromq_offsets::ChangeDraft;
    let d = tempfile::tempdir().unwrap();
    let cfg = OffsetStoreConfig {
        dir: d.path().to_path_buf(),
        durability: Durability::Periodic {
            interval: Duration::from_secs(10),
        },
    };
    let s = OffsetStore::open_with(
        cfg,
        Tuning {
            write_behind: Some(Duration::from_secs(60)),
            ..Tuning::default()
        },
    )
    .unwrap();
    s.apply_change(ChangeDraft {
        operation: "reset".into(),
        set: vec![(k("g", "t", 0), Some(5))],
        ..ChangeDraft::default()
    })
    .await
    .unwrap();
    s.commit(vec![(k("g", "t", 1), 9)]).await.unwrap();
    s.delete_group_topic("g", "t").await.unwrap();
    s.apply_change(ChangeDraft {
        operation: "reset".into(),
        set: vec![(k("h", "t", 0), Some(3))],
        ..ChangeDraft::default()
    })
    .await
    .unwrap();
    // What a SIGKILL leaves: the files as they are now, with the 60 s write-behind not elapsed.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(d.path(), copy.path());
    let after = open(copy.path());
    assert_eq!(after.get("h", "t", 0), Some(3));
    assert_eq!(after.get("g", "t", 0), None, "the delete is on disk too");
    s.shutdown().unwrap();
}
