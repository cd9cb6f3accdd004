//! Reopening after clean shutdowns and after simulated crashes with damaged files.

mod common;

use std::io::Write;
use std::os::unix::fs::FileExt;

use common::*;
use ferromq_store::GetStatus;

async fn fill(store: &ferromq_store::MessageStore, n: usize) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    for i in 0..n {
        let body = format!("message-{i}-{}", "x".repeat(i % 300)).into_bytes();
        store
            .put(vec![record("T", (i % 3) as i32, &body, Some("tag"))])
            .await
            .unwrap();
        bodies.push(body);
    }
    bodies
}

fn queue_bodies(store: &ferromq_store::MessageStore, q: i32) -> Vec<Vec<u8>> {
    read_all(store, "T", q).into_iter().map(|x| x.1).collect()
}

fn expected(bodies: &[Vec<u8>], q: i32) -> Vec<Vec<u8>> {
    bodies
        .iter()
        .enumerate()
        .filter(|(i, _)| (*i % 3) as i32 == q)
        .map(|(_, b)| b.clone())
        .collect()
}

fn assert_all(store: &ferromq_store::MessageStore, bodies: &[Vec<u8>]) {
    for q in 0..3 {
        let exp = expected(bodies, q);
        assert_eq!(store.max_offset("T", q), exp.len() as i64, "queue {q} max");
        assert_eq!(queue_bodies(store, q), exp, "queue {q} bodies");
    }
}

#[tokio::test]
async fn clean_reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let bodies = fill(&store, 300).await;
    let end = store.commit_log_max_offset();
    store.shutdown().unwrap();
    assert!(!dir.path().join("abort").exists());
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), end);
    assert_eq!(store.flushed_offset(), end);
    assert_all(&store, &bodies);
    // Appends continue the counters.
    let r = store
        .put(vec![record("T", 0, b"after", None)])
        .await
        .unwrap();
    assert_eq!(r[0].queue_offset, expected(&bodies, 0).len() as i64);
    assert_eq!(r[0].physical_offset, end);
}

#[tokio::test]
async fn crash_with_torn_tail_keeps_whole_records_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let bodies = fill(&store, 100).await;
    let end = store.commit_log_max_offset();
    let segs = segments(dir.path());
    drop(store); // crash: no shutdown
    assert!(dir.path().join("abort").exists());
    // A torn record: a valid header and half a body, then garbage.
    let last = segs.last().unwrap();
    let seg_start: i64 = last.file_name().unwrap().to_str().unwrap().parse().unwrap();
    let mut torn = record("T", 0, b"this record was only half written to disk", None).bytes;
    ferromq_protocol::message::patch_record(&mut torn, 34, end, 1);
    torn.truncate(torn.len() / 2);
    torn.extend_from_slice(&[0xAB; 37]);
    let f = std::fs::OpenOptions::new().write(true).open(last).unwrap();
    f.write_all_at(&torn, (end - seg_start) as u64).unwrap();
    drop(f);
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), end);
    assert_all(&store, &bodies);
    // The torn bytes are gone from the file, so nothing can resurrect them later.
    let data = std::fs::read(last).unwrap();
    assert!(data[(end - seg_start) as usize..].iter().all(|&b| b == 0));
    let r = store.put(vec![record("T", 1, b"new", None)]).await.unwrap();
    assert_eq!(r[0].physical_offset, end);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn crash_with_stale_cq_entries_and_lagging_cq() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let bodies = fill(&store, 60).await;
    store.shutdown().unwrap();
    drop(store);
    // Simulate a CQ that got ahead of the log: append an entry pointing past the end.
    let q0 = dir.path().join("consumequeue/T/0");
    let n0 = expected(&bodies, 0).len();
    let mut files: Vec<_> = std::fs::read_dir(&q0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let last = files.last().unwrap();
    let idx_in_file = n0 % 16;
    let mut e = Vec::new();
    e.extend_from_slice(&(10_000i64).to_be_bytes());
    e.extend_from_slice(&100i32.to_be_bytes());
    e.extend_from_slice(&0i64.to_be_bytes());
    if idx_in_file != 0 {
        std::fs::OpenOptions::new()
            .write(true)
            .open(last)
            .unwrap()
            .write_all_at(&e, (idx_in_file * 20) as u64)
            .unwrap();
    }
    // And a lagging CQ: the newest file of queue 1 is gone.
    let q1 = dir.path().join("consumequeue/T/1");
    let mut f1: Vec<_> = std::fs::read_dir(&q1)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    f1.sort();
    std::fs::remove_file(f1.last().unwrap()).unwrap();
    std::fs::File::create(dir.path().join("abort")).unwrap();
    let store = open(dir.path());
    assert_all(&store, &bodies);
}

#[tokio::test]
async fn truncated_corrupt_and_deleted_cq_files_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let bodies = fill(&store, 120).await;
    drop(store); // crash
    let cq = |q: i32| {
        let d = dir.path().join(format!("consumequeue/T/{q}"));
        let mut v: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    // Queue 0: truncate its first file mid-entry.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&cq(0)[0])
        .unwrap()
        .set_len(7 * 20 + 3)
        .unwrap();
    // Queue 1: garbage over the last entries of its newest file.
    let f1 = cq(1);
    let last = f1.last().unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .write_all_at(&[0x5A; 60], 0)
        .unwrap();
    // Queue 2: its whole directory is gone.
    std::fs::remove_dir_all(dir.path().join("consumequeue/T/2")).unwrap();
    // Also lose the checkpoint, as a power cut during its write would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("checkpoint"))
        .unwrap()
        .write_all_at(&[1, 2, 3], 10)
        .unwrap();
    let store = open(dir.path());
    assert_all(&store, &bodies);
    store.shutdown().unwrap();
    drop(store);
    let store = open(dir.path());
    assert_all(&store, &bodies);
}

#[tokio::test]
async fn corruption_in_the_middle_keeps_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut placed = Vec::new();
    for i in 0..150u32 {
        let body = vec![(i % 200) as u8; 900];
        let r = store.put(vec![record("T", 0, &body, None)]).await.unwrap();
        placed.push((r[0], body));
    }
    assert!(segments(dir.path()).len() >= 2);
    store.shutdown().unwrap();
    drop(store);
    // Flip a body byte of record 40 (in the first segment): its CRC no longer matches.
    let (bad, _) = placed[40];
    let seg0 = &segments(dir.path())[0];
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(seg0)
        .unwrap();
    let at = (bad.physical_offset + bad.size as i64 - 30) as u64;
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0xFF], at).unwrap();
    drop(f);
    std::fs::remove_file(dir.path().join("checkpoint")).unwrap();
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), bad.physical_offset);
    assert_eq!(store.max_offset("T", 0), 40);
    let got: Vec<Vec<u8>> = read_all(&store, "T", 0).into_iter().map(|x| x.1).collect();
    assert_eq!(
        got,
        placed[..40].iter().map(|p| p.1.clone()).collect::<Vec<_>>()
    );
    // Later segments were set aside, not deleted.
    let orphans = std::fs::read_dir(dir.path().join("commitlog"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .ends_with(".orphan")
        })
        .count();
    assert!(orphans >= 1);
    let r = store
        .put(vec![record("T", 0, b"continues", None)])
        .await
        .unwrap();
    assert_eq!(
        (r[0].queue_offset, r[0].physical_offset),
        (40, bad.physical_offset)
    );
    assert_eq!(
        store.get("T", 0, 40, 1, 1000, &all).status,
        GetStatus::Found
    );
}

#[tokio::test]
async fn garbage_appended_after_clean_shutdown_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let bodies = fill(&store, 30).await;
    let end = store.commit_log_max_offset();
    store.shutdown().unwrap();
    drop(store);
    let seg = segments(dir.path()).pop().unwrap();
    let start: i64 = seg.file_name().unwrap().to_str().unwrap().parse().unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.write_all_at(&[0xFF; 500], (end - start) as u64).unwrap();
    let mut extra = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    extra.write_all(b"junk beyond the file").unwrap();
    let store = open(dir.path());
    assert_eq!(store.commit_log_max_offset(), end);
    assert_all(&store, &bodies);
}
