//! Put/get behaviour on a running store.

mod common;

use common::*;
use ferromq_protocol::message::{decode_record, tags_code};
use ferromq_store::{GetStatus, MessageStore, StoreError};

#[tokio::test]
async fn round_trip_and_consecutive_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut phys = Vec::new();
    for i in 0..5 {
        let r = store
            .put(vec![record("T", 0, format!("a{i}").as_bytes(), None)])
            .await
            .unwrap();
        assert_eq!(r[0].queue_offset, i);
        phys.push(r[0]);
        let r = store
            .put(vec![record("T", 1, b"other", None)])
            .await
            .unwrap();
        assert_eq!(r[0].queue_offset, i);
    }
    assert_eq!(store.max_offset("T", 0), 5);
    assert_eq!(store.min_offset("T", 0), 0);
    let g = store.get("T", 0, 0, 32, 1 << 20, &all);
    assert_eq!(g.status, GetStatus::Found);
    assert_eq!(g.count, 5);
    assert_eq!(g.next_begin_offset, 5);
    let got = decode(&g.body);
    for (i, (qo, body)) in got.iter().enumerate() {
        assert_eq!(*qo, i as i64);
        assert_eq!(body, format!("a{i}").as_bytes());
    }
    // The body is byte-identical to the log, and read_record returns the same bytes.
    let first = store.read_record(phys[0].physical_offset).unwrap();
    assert_eq!(&g.body[..first.len()], &first[..]);
    let (m, _) = decode_record(&first).unwrap();
    assert_eq!(m.physical_offset, phys[0].physical_offset);
    assert_eq!(m.store_timestamp, phys[0].store_timestamp);
    assert_eq!(m.queue_id, 0);
    assert!(store.read_record(phys[0].physical_offset + 1).is_none());
    assert!(store.read_record(store.commit_log_max_offset()).is_none());
    assert_eq!(
        store.queues(),
        vec![("T".to_string(), 0), ("T".to_string(), 1)]
    );
}

#[tokio::test]
async fn batch_is_contiguous() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.put(vec![record("T", 0, b"x", None)]).await.unwrap();
    let batch = (0..10)
        .map(|i| record("T", 0, &[i as u8; 50], None))
        .collect();
    let r = store.put(batch).await.unwrap();
    for (i, p) in r.iter().enumerate() {
        assert_eq!(p.queue_offset, 1 + i as i64);
        if i > 0 {
            assert_eq!(
                p.physical_offset,
                r[i - 1].physical_offset + r[i - 1].size as i64
            );
        }
    }
    // A mixed batch: each queue's records get consecutive offsets.
    let mixed = vec![
        record("A", 0, b"1", None),
        record("B", 3, b"2", None),
        record("A", 0, b"3", None),
    ];
    let r = store.put(mixed).await.unwrap();
    assert_eq!(
        [r[0].queue_offset, r[1].queue_offset, r[2].queue_offset],
        [0, 0, 1]
    );
    assert_eq!(
        read_all(&store, "A", 0)
            .iter()
            .map(|x| x.1.clone())
            .collect::<Vec<_>>(),
        vec![b"1".to_vec(), b"3".to_vec()]
    );
}

#[tokio::test]
async fn tag_filtering_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..20 {
        let tag = if i % 4 == 0 { "A" } else { "B" };
        store
            .put(vec![record("T", 0, &[i as u8; 100], Some(tag))])
            .await
            .unwrap();
    }
    let a = tags_code(Some("A"));
    let only_a = move |t: i64| t == a;
    let g = store.get("T", 0, 0, 32, 1 << 20, &only_a);
    assert_eq!(g.status, GetStatus::Found);
    assert_eq!(
        decode(&g.body).iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![0, 4, 8, 12, 16]
    );
    assert_eq!(g.next_begin_offset, 20);
    // max_msgs stops the scan right after the last returned entry.
    let g = store.get("T", 0, 1, 2, 1 << 20, &only_a);
    assert_eq!(
        decode(&g.body).iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![4, 8]
    );
    assert_eq!(g.next_begin_offset, 9);
    // No match: next = last scanned + 1.
    let none = |_t: i64| false;
    let g = store.get("T", 0, 3, 32, 1 << 20, &none);
    assert_eq!(
        (g.status, g.next_begin_offset, g.count),
        (GetStatus::NoMatchedMessage, 20, 0)
    );
    // max_bytes: at least one record, then stop before exceeding.
    let one = store.get("T", 0, 0, 32, 1, &all);
    assert_eq!((one.count, one.next_begin_offset), (1, 1));
    let rec_len = one.body.len();
    let three = store.get("T", 0, 0, 32, rec_len * 3 + 10, &all);
    assert_eq!((three.count, three.next_begin_offset), (3, 3));
}

#[tokio::test]
async fn every_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let g = store.get("nope", 0, 5, 32, 1 << 20, &all);
    assert_eq!(
        (g.status, g.next_begin_offset),
        (GetStatus::NoMatchedLogicQueue, 0)
    );
    for _ in 0..3 {
        store.put(vec![record("T", 0, b"m", None)]).await.unwrap();
    }
    let st = |off| {
        let g = store.get("T", 0, off, 32, 1 << 20, &all);
        (g.status, g.next_begin_offset, g.min_offset, g.max_offset)
    };
    assert_eq!(st(0), (GetStatus::Found, 3, 0, 3));
    assert_eq!(st(3), (GetStatus::OffsetOverflowOne, 3, 0, 3));
    assert_eq!(st(9), (GetStatus::OffsetOverflowBadly, 3, 0, 3));
    // NoMessageInQueue: a queue that exists but has max offset 0 (an empty queue file on disk).
    let qdir = dir.path().join("consumequeue/E/0");
    std::fs::create_dir_all(&qdir).unwrap();
    std::fs::write(qdir.join("00000000000000000000"), vec![0u8; 16 * 20]).unwrap();
    store.shutdown().unwrap();
    drop(store);
    let store = open(dir.path());
    let g = store.get("E", 0, 0, 32, 1 << 20, &all);
    assert_eq!(
        (g.status, g.next_begin_offset),
        (GetStatus::NoMessageInQueue, 0)
    );
    // OffsetTooSmall: tests/time_retention.rs; MessageWasRemoving: src/read.rs unit test.
    drop(store);
}

#[tokio::test]
async fn segment_roll_pads_with_blank_and_reads_across() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut expect = Vec::new();
    for i in 0..200u32 {
        let body = vec![(i % 251) as u8; 1000 + (i as usize % 7) * 100];
        let r = store
            .put(vec![record("T", (i % 2) as i32, &body, None)])
            .await
            .unwrap();
        let seg_start = r[0].physical_offset / (64 * 1024) * (64 * 1024);
        assert!(
            r[0].physical_offset + r[0].size as i64 <= seg_start + 64 * 1024,
            "record spans segments"
        );
        if i % 2 == 0 {
            expect.push(body);
        }
    }
    assert!(segments(dir.path()).len() >= 3);
    let got: Vec<Vec<u8>> = read_all(&store, "T", 0).into_iter().map(|x| x.1).collect();
    assert_eq!(got, expect);
    // The tail of the first segment is a BLANK record.
    let seg0 = std::fs::read(&segments(dir.path())[0]).unwrap();
    let mut pos = 0usize;
    loop {
        let total = i32::from_be_bytes(seg0[pos..pos + 4].try_into().unwrap()) as usize;
        let magic = i32::from_be_bytes(seg0[pos + 4..pos + 8].try_into().unwrap());
        if magic == ferromq_protocol::message::BLANK_MAGIC {
            assert_eq!(pos + total, seg0.len());
            break;
        }
        pos += total;
    }
    store.shutdown().unwrap();
}

#[tokio::test]
async fn bad_input_is_refused_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let big = record("T", 0, &vec![0u8; 20 * 1024], None);
    assert!(matches!(
        store.put(vec![big]).await,
        Err(StoreError::MessageTooLarge { .. })
    ));
    let mut wrong_topic = record("T", 0, b"x", None);
    wrong_topic.topic = "U".into();
    assert!(matches!(
        store.put(vec![wrong_topic]).await,
        Err(StoreError::InvalidRecord(_))
    ));
    let mut evil = record("T", 0, b"x", None);
    evil.topic = "..".into();
    assert!(matches!(
        store.put(vec![evil]).await,
        Err(StoreError::InvalidTopic(_))
    ));
    let mut short = record("T", 0, b"x", None);
    short.bytes.truncate(30);
    assert!(matches!(
        store.put(vec![short]).await,
        Err(StoreError::InvalidRecord(_))
    ));
    assert!(matches!(
        store.put(vec![record("T", -1, b"x", None)]).await,
        Err(StoreError::InvalidQueueId(-1))
    ));
    assert_eq!(store.commit_log_max_offset(), 0);
    assert_eq!(store.max_offset("T", 0), 0);
    // The store still works.
    store.put(vec![record("T", 0, b"ok", None)]).await.unwrap();
    store.shutdown().unwrap();
    store.shutdown().unwrap();
    assert!(matches!(
        store.put(vec![record("T", 0, b"late", None)]).await,
        Err(StoreError::ShutDown)
    ));
}

#[tokio::test]
async fn delete_topic_drops_its_queues() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .put(vec![record("T", 0, b"a", None), record("K", 0, b"b", None)])
        .await
        .unwrap();
    store.delete_topic("T").unwrap();
    assert_eq!(store.queues(), vec![("K".to_string(), 0)]);
    assert_eq!(
        store.get("T", 0, 0, 1, 100, &all).status,
        GetStatus::NoMatchedLogicQueue
    );
    assert!(!dir.path().join("consumequeue/T").exists());
}

#[test]
fn store_is_send_sync_and_put_future_is_send() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MessageStore>();
    fn assert_send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let fut = store.put(Vec::new());
    assert_send(&fut);
}

/// Waits (at most 5 s) until the pre-faulter has reached `to`; returns where it is.
async fn prefaulted(store: &MessageStore, to: i64) -> i64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.prefaulted_to() < to && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    store.prefaulted_to()
}

/// A store whose pre-faulter keeps a 16 KiB window ahead of the log.
fn prefaulting_store(dir: &std::path::Path) -> std::sync::Arc<MessageStore> {
    let cfg = ferromq_store::StoreConfig {
        prefault_ahead: 16 * 1024,
        ..config(dir)
    };
    MessageStore::open(cfg).unwrap()
}

/// Where that window ends for a log ending at `end`: 16 KiB past it, rounded up to a page.
fn window_end(end: i64) -> i64 {
    (end + 16 * 1024 + 4095) / 4096 * 4096
}

#[tokio::test]
async fn prefaulter_runs_ahead_of_the_writer_across_segment_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let store = prefaulting_store(dir.path());
    let first = store
        .put(vec![record("T", 0, &[1; 1000], None)])
        .await
        .unwrap();
    let end = first[0].physical_offset + first[0].size as i64;
    if store.write_mode() == ferromq_store::WriteMode::Pwrite {
        // Nothing is written through the mapping, so nothing is faulted in ahead of it.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(store.prefaulted_to(), 0);
        return;
    }
    let want = window_end(end);
    assert_eq!(prefaulted(&store, want).await, want);
    // Roll into the third segment: the pre-faulter follows into it.
    let mut expect = vec![vec![1u8; 1000]];
    let mut last = 0;
    while last < 2 * 64 * 1024 + 4096 {
        let body = vec![(expect.len() % 251) as u8; 1500];
        let r = store.put(vec![record("T", 0, &body, None)]).await.unwrap();
        last = r[0].physical_offset + r[0].size as i64;
        expect.push(body);
    }
    let seg = last / (64 * 1024) * (64 * 1024);
    let got = prefaulted(&store, (seg + 20 * 1024).min(seg + 64 * 1024)).await;
    assert!(
        got >= seg + 20 * 1024,
        "pre-faulted to {got}, written to {last}"
    );
    assert!(got <= seg + 64 * 1024, "never past the segment: {got}");
    // Faulting pages in changes no byte.
    let bodies: Vec<Vec<u8>> = read_all(&store, "T", 0).into_iter().map(|x| x.1).collect();
    assert_eq!(bodies, expect);
    store.shutdown().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    let bodies: Vec<Vec<u8>> = read_all(&store, "T", 0).into_iter().map(|x| x.1).collect();
    assert_eq!(
        bodies, expect,
        "the pre-faulted zeros past the end do not confuse recovery"
    );
    store.shutdown().unwrap();
}

#[tokio::test]
async fn prefaulter_waits_while_only_batches_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let store = prefaulting_store(dir.path());
    if store.write_mode() == ferromq_store::WriteMode::Pwrite {
        return; // no mapping, no pre-faulter (the test above)
    }
    let end_of = |r: &[ferromq_store::PutResult]| {
        let last = r.last().unwrap();
        last.physical_offset + last.size as i64
    };
    let r = store
        .put(vec![record("T", 0, &[1; 1000], None)])
        .await
        .unwrap();
    let want = window_end(end_of(&r));
    assert_eq!(prefaulted(&store, want).await, want);
    // A batch of 24 KiB is one `pwrite`: the pre-faulter stays where it was, past it or not.
    let batch = (0..24).map(|_| record("T", 0, &[2; 1000], None)).collect();
    let r = store.put(batch).await.unwrap();
    assert!(
        end_of(&r) > want - 4096,
        "the batch ends near or past the window"
    );
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        store.prefaulted_to(),
        want,
        "no pages mapped ahead of batches"
    );
    // A single message goes through the mapping again: the pre-faulter follows.
    let r = store
        .put(vec![record("T", 0, &[3; 1000], None)])
        .await
        .unwrap();
    let want = window_end(end_of(&r));
    assert_eq!(prefaulted(&store, want).await, want);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn prefaulter_stays_off_in_sync_flush_mode() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ferromq_store::StoreConfig {
        flush: ferromq_store::FlushMode::sync(),
        prefault_ahead: 16 * 1024,
        ..config(dir.path())
    };
    let store = MessageStore::open(cfg).unwrap();
    store
        .put(vec![record("T", 0, &[1; 1000], None)])
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // Every group commit would also write the pre-faulted zeros (module `prefault`).
    assert_eq!(store.prefaulted_to(), 0);
    store.shutdown().unwrap();
}
