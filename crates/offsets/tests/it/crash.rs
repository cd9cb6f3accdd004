//! Reopen after clean shutdown and simulated crashes; compaction and its crash windows.

use crate::common;
use common::*;
use ferromq_offsets::{OffsetError, Tuning};

async fn seed(s: &ferromq_offsets::OffsetStore, batches: i64) {
    for b in 0..batches {
        s.commit(vec![(k("g", "t", 0), b), (k("g", "u", 1), b * 10)])
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn reopen_after_clean_shutdown() {
    let d = tempdir();
    let s = open(d.path());
    seed(&s, 50).await;
    s.commit(vec![(k("h", "t", 3), 99)]).await.unwrap();
    let before = s.all();
    let version = s.data_version();
    s.shutdown().unwrap();
    drop(s);
    let s = open(d.path());
    assert_eq!(s.all(), before);
    assert_eq!(s.data_version(), version);
    assert_eq!(s.stats().records_replayed, 51);
}

#[tokio::test]
async fn partial_batch_is_all_or_nothing() {
    let d = tempdir();
    let s = open(d.path());
    seed(&s, 3).await;
    let seg = last_segment(d.path());
    let len_before = file_len(&seg);
    // A big batch spanning several groups and topics.
    let batch: Vec<_> = (0..100)
        .map(|i| {
            (
                k(&format!("bg{}", i % 7), &format!("bt{}", i % 5), i),
                i as i64,
            )
        })
        .collect();
    s.commit(batch.clone()).await.unwrap();
    let len_after = file_len(&seg);
    drop(s); // "crash": no further writes
    let expected_without = {
        let scratch = tempdir();
        let s = open_tuned(scratch.path(), no_auto_compaction());
        seed(&s, 3).await;
        s.all()
    };
    // Every cut inside the record loses the whole batch and nothing before it.
    for cut in [
        len_before + 1,
        len_before + 8,
        (len_before + len_after) / 2,
        len_after - 1,
    ] {
        let copy = tempdir();
        for f in std::fs::read_dir(d.path()).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, copy.path().join(f.file_name().unwrap())).unwrap();
        }
        truncate(&last_segment(copy.path()), cut);
        let s = open(copy.path());
        assert_eq!(s.all(), expected_without, "cut at {cut}");
        assert_eq!(s.stats().truncated_bytes, cut - len_before);
        // The store appends cleanly after the truncated tail.
        s.commit(vec![(k("x", "y", 0), 1)]).await.unwrap();
        s.shutdown().unwrap();
        drop(s);
        let s = open(copy.path());
        assert_eq!(s.get("x", "y", 0), Some(1));
        assert_eq!(s.entry_count(), expected_without.len() + 1);
    }
    let s = open(d.path());
    for (key, off) in batch {
        assert_eq!(s.get(&key.group, &key.topic, key.queue_id), Some(off));
    }
}

#[tokio::test]
async fn torn_garbage_tail_is_truncated() {
    let d = tempdir();
    let s = open(d.path());
    seed(&s, 20).await;
    let before = s.all();
    drop(s); // no shutdown call
    let seg = last_segment(d.path());
    let good = file_len(&seg);
    append_bytes(&seg, &[0x17, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
    let s = open(d.path());
    assert_eq!(s.all(), before);
    assert_eq!(file_len(&seg), good, "tail truncated");
    let side: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".torn-"))
        .collect();
    assert_eq!(side.len(), 1, "dropped bytes kept for inspection: {side:?}");
}

#[tokio::test]
async fn zero_filled_tail_is_truncated() {
    let d = tempdir();
    let s = open(d.path());
    seed(&s, 5).await;
    let before = s.all();
    drop(s);
    let seg = last_segment(d.path());
    append_bytes(&seg, &[0u8; 4096]);
    let s = open(d.path());
    assert_eq!(s.all(), before);
    assert_eq!(s.stats().truncated_bytes, 4096);
}

#[tokio::test]
async fn flipped_byte_in_last_record_drops_only_that_record() {
    let d = tempdir();
    let s = open(d.path());
    seed(&s, 10).await;
    let before = s.all();
    let seg = last_segment(d.path());
    let start = file_len(&seg);
    s.commit(vec![(k("g", "t", 0), 777), (k("new", "t", 0), 1)])
        .await
        .unwrap();
    let end = file_len(&seg);
    drop(s);
    let mut data = std::fs::read(&seg).unwrap();
    let mid = ((start + end) / 2) as usize;
    data[mid] ^= 0x40;
    std::fs::write(&seg, &data).unwrap();
    let s = open(d.path());
    assert_eq!(s.all(), before);
    assert_eq!(s.get("new", "t", 0), None);
}

#[tokio::test]
async fn corruption_inside_a_sealed_segment_is_an_error() {
    let d = tempdir();
    let s = open_tuned(d.path(), no_auto_compaction());
    seed(&s, 10).await;
    s.compact().unwrap(); // seals segment 1, snapshot base 2
    seed(&s, 2).await;
    s.compact().unwrap(); // snapshot base 3; segment 2 kept for the fallback snapshot
    seed(&s, 2).await;
    s.shutdown().unwrap();
    drop(s);
    // Damage the newest snapshot: recovery falls back to the previous one plus sealed segment 2.
    let snaps = snapshots(d.path());
    assert_eq!(snaps.len(), 2);
    let newest = snaps.last().unwrap();
    let mut data = std::fs::read(newest).unwrap();
    data[60] ^= 1;
    std::fs::write(newest, &data).unwrap();
    // ... and damage sealed segment 2 too: that must be a clear error, not silent loss.
    let seg2 = segments(d.path())
        .into_iter()
        .find(|p| p.to_str().unwrap().contains("log-00000000000000000002"))
        .unwrap();
    let mut data = std::fs::read(&seg2).unwrap();
    let n = data.len();
    data[n - 3] ^= 1;
    std::fs::write(&seg2, &data).unwrap();
    let e = ferromq_offsets::OffsetStore::open(periodic(d.path()))
        .err()
        .unwrap();
    assert!(matches!(e, OffsetError::Corrupt { .. }), "{e}");
}

#[tokio::test]
async fn compaction_keeps_everything_and_shrinks_the_log() {
    let d = tempdir();
    let s = open_tuned(d.path(), no_auto_compaction());
    for i in 0..2000i64 {
        s.commit(vec![(k(&format!("g{}", i % 10), "t", (i % 4) as i32), i)])
            .await
            .unwrap();
    }
    s.delete_group("g3").await.unwrap();
    let before = s.all();
    let version = s.data_version();
    let log_before = s.stats().log_bytes;
    s.compact().unwrap();
    let st = s.stats();
    assert_eq!(st.log_bytes, 0);
    assert!(
        st.snapshot_bytes < log_before / 10,
        "{} vs {log_before}",
        st.snapshot_bytes
    );
    assert_eq!(s.all(), before);
    s.commit(vec![(k("after", "t", 0), 1)]).await.unwrap();
    s.compact().unwrap();
    s.compact().unwrap();
    s.shutdown().unwrap();
    drop(s);
    assert_eq!(snapshots(d.path()).len(), 2, "newest two snapshots kept");
    assert_eq!(
        segments(d.path()).len(),
        2,
        "segments of the older kept snapshot onward"
    );
    let s = open(d.path());
    let mut expect = before.clone();
    expect.push((k("after", "t", 0), 1));
    expect.sort();
    assert_eq!(s.all(), expect);
    assert_eq!(s.data_version().0, version.0 + 1);
    assert_eq!(s.stats().records_replayed, 0);
}

#[tokio::test]
async fn automatic_compaction_runs_in_the_flusher() {
    let d = tempdir();
    let tuning = Tuning {
        compact_min_log_bytes: 4096,
        ..Tuning::default()
    };
    let s = open_tuned(d.path(), tuning.clone());
    for i in 0..3000i64 {
        s.commit(vec![(k("g", &format!("t{}", i % 50), 0), i)])
            .await
            .unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while s.stats().compactions == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(s.stats().compactions > 0);
    let before = s.all();
    drop(s);
    let s = open_tuned(d.path(), tuning);
    assert_eq!(s.all(), before);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
    }
}

#[tokio::test]
async fn crash_between_snapshot_and_cleanup_is_safe() {
    let d = tempdir();
    let s = open_tuned(d.path(), no_auto_compaction());
    seed(&s, 30).await;
    s.compact().unwrap();
    seed(&s, 5).await;
    s.compact().unwrap();
    seed(&s, 5).await;
    // Keep a copy of every file, compact (which deletes the oldest snapshot and segments), then
    // put the deleted files back: the directory is now exactly what a crash after the rename and
    // before cleanup leaves behind.
    let backup = tempdir();
    s.flush().unwrap();
    copy_dir(d.path(), backup.path());
    s.commit(vec![(k("late", "t", 0), 5)]).await.unwrap();
    s.compact().unwrap();
    let expect = s.all();
    s.shutdown().unwrap();
    drop(s);
    for f in std::fs::read_dir(backup.path()).unwrap() {
        let f = f.unwrap().path();
        let dst = d.path().join(f.file_name().unwrap());
        if !dst.exists() {
            std::fs::copy(&f, &dst).unwrap();
        }
    }
    assert_eq!(snapshots(d.path()).len(), 3);
    let s = open_tuned(d.path(), no_auto_compaction());
    assert_eq!(s.all(), expect);
    s.compact().unwrap();
    assert_eq!(snapshots(d.path()).len(), 2, "next compaction cleans up");
    assert_eq!(s.all(), expect);
}

#[tokio::test]
async fn crash_before_snapshot_rename_is_safe() {
    let d = tempdir();
    let s = open_tuned(d.path(), no_auto_compaction());
    seed(&s, 30).await;
    let expect = s.all();
    s.shutdown().unwrap();
    drop(s);
    // Leftovers of an interrupted compaction: a partial temp snapshot and the pre-created,
    // still-empty next segment.
    std::fs::write(
        d.path().join("snapshot-00000000000000000002.snap.tmp"),
        b"FMQOSNAP partial",
    )
    .unwrap();
    let seg1 = last_segment(d.path());
    let hdr = std::fs::read(&seg1).unwrap()[..16].to_vec();
    let mut hdr2 = hdr.clone();
    hdr2[8] = 2;
    std::fs::write(d.path().join("log-00000000000000000002.wal"), &hdr2).unwrap();
    // Also tear segment 1's tail: allowed because only empty segments follow it.
    append_bytes(&seg1, &[9, 0, 0, 0, 1, 2]);
    let s = open(d.path());
    assert_eq!(s.all(), expect);
    assert!(!d
        .path()
        .join("snapshot-00000000000000000002.snap.tmp")
        .exists());
    s.commit(vec![(k("n", "t", 0), 1)]).await.unwrap();
    assert_eq!(s.stats().segment, 2);
    drop(s);
    let s = open(d.path());
    assert_eq!(s.get("n", "t", 0), Some(1));
    assert_eq!(s.entry_count(), expect.len() + 1);
}

#[tokio::test]
async fn corrupt_newest_snapshot_falls_back_to_previous() {
    let d = tempdir();
    let s = open_tuned(d.path(), no_auto_compaction());
    seed(&s, 10).await;
    s.compact().unwrap();
    s.commit(vec![(k("mid", "t", 0), 1)]).await.unwrap();
    s.compact().unwrap();
    s.commit(vec![(k("end", "t", 0), 2)]).await.unwrap();
    let expect = s.all();
    s.shutdown().unwrap();
    drop(s);
    let newest = snapshots(d.path()).pop().unwrap();
    let len = file_len(&newest);
    truncate(&newest, len - 1);
    let s = open(d.path());
    assert_eq!(s.all(), expect);
    assert!(d
        .path()
        .join(format!(
            "{}.corrupt",
            newest.file_name().unwrap().to_str().unwrap()
        ))
        .exists());
}

#[tokio::test]
async fn corrupt_only_snapshot_without_log_is_an_error() {
    let d = tempdir();
    let tuning = Tuning {
        keep_snapshots: 1,
        ..no_auto_compaction()
    };
    let s = open_tuned(d.path(), tuning.clone());
    seed(&s, 10).await;
    s.compact().unwrap();
    s.compact().unwrap(); // keep_snapshots = 1: segment 1 and 2 are gone now
    s.shutdown().unwrap();
    drop(s);
    let snap = snapshots(d.path()).pop().unwrap();
    let mut data = std::fs::read(&snap).unwrap();
    data[70] ^= 0xff;
    std::fs::write(&snap, &data).unwrap();
    let e = ferromq_offsets::OffsetStore::open(periodic(d.path()))
        .err()
        .unwrap();
    assert!(matches!(e, OffsetError::Corrupt { .. }), "{e}");
}
