//! A full disk, simulated (`mapped::faults`): a file creation or a `pwrite` fails with ENOSPC
//! in the middle of an append. The failed put must leave nothing visible, the store must keep
//! working (no poisoning), the next put must get the same offsets the failed one would have,
//! and a crash right after must recover exactly the acknowledged records.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::message::{decode_record, encode_record, NewMessage};

use crate::mapped::faults;
use crate::{AppendRecord, FlushMode, MessageStore, StoreConfig, StoreError, WriteMode};

fn config(root: &Path, mode: WriteMode) -> StoreConfig {
    StoreConfig {
        root: root.to_path_buf(),
        segment_size: 4096,
        cq_entries_per_file: 8,
        flush: FlushMode::Async {
            interval: Duration::from_millis(20),
        },
        retention: Duration::from_secs(3600),
        max_message_size: 2048,
        write_mode: mode,
        ..StoreConfig::default()
    }
}

fn record(queue_id: i32, body: &str) -> AppendRecord {
    let m = NewMessage {
        topic: "T".into(),
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:5555".parse().unwrap(),
        store_host: "10.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body.as_bytes()),
        properties: String::new(),
    };
    let mut bytes = Vec::new();
    encode_record(&m, &mut bytes).unwrap();
    AppendRecord {
        bytes,
        topic: "T".into(),
        queue_id,
        tags_code: 0,
    }
}

/// Every body of queue `q`, in order, checking that queue offsets are consecutive from 0.
fn bodies(store: &MessageStore, q: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut off = 0;
    loop {
        let r = store.get("T", q, off, 16, 1 << 20, &|_| true);
        if r.count == 0 {
            break;
        }
        let mut rest = r.body.clone();
        while !rest.is_empty() {
            let (m, used) = decode_record(&rest).unwrap();
            assert_eq!(m.queue_offset, out.len() as i64, "consecutive offsets");
            out.push(String::from_utf8(m.body.to_vec()).unwrap());
            rest = rest.slice(used..);
        }
        off = r.next_begin_offset;
    }
    out
}

fn is_enospc(e: &StoreError) -> bool {
    matches!(e, StoreError::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC))
}

async fn put(store: &MessageStore, q: i32, body: &str) -> Result<i64, StoreError> {
    Ok(store.put(vec![record(q, body)]).await?[0].queue_offset)
}

/// A crash (no shutdown) and a reopen.
fn crash_and_reopen(store: Arc<MessageStore>, root: &Path, mode: WriteMode) -> Arc<MessageStore> {
    drop(store);
    MessageStore::open(config(root, mode)).unwrap()
}

fn segment_files(root: &Path) -> usize {
    std::fs::read_dir(root.join("commitlog")).unwrap().count()
}

#[tokio::test]
async fn a_pwrite_failing_mid_record_is_undone_and_the_next_put_reuses_its_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), WriteMode::Pwrite)).unwrap();
    for i in 0..3 {
        assert_eq!(put(&store, 0, &format!("ok-{i}")).await.unwrap(), i);
    }
    let end = store.commit_log_max_offset();
    faults::PWRITE_BUDGET.with(|b| b.set(Some(10)));
    let e = put(&store, 0, "a-long-body-that-fails-part-way")
        .await
        .unwrap_err();
    assert!(is_enospc(&e), "{e}");
    // Still failing while the disk is full, and nothing moved.
    assert!(put(&store, 0, "still-full").await.is_err());
    assert_eq!(store.commit_log_max_offset(), end);
    assert_eq!(store.max_offset("T", 0), 3);
    faults::reset();
    // Room again: the store was not poisoned; a shorter record takes the failed one's place.
    assert_eq!(put(&store, 0, "ok-3").await.unwrap(), 3);
    assert_eq!(bodies(&store, 0), ["ok-0", "ok-1", "ok-2", "ok-3"]);
    let store = crash_and_reopen(store, dir.path(), WriteMode::Pwrite);
    assert_eq!(
        bodies(&store, 0),
        ["ok-0", "ok-1", "ok-2", "ok-3"],
        "nothing of the failed puts came back after a crash"
    );
    assert_eq!(put(&store, 0, "ok-4").await.unwrap(), 4);
}

#[tokio::test]
async fn a_consume_queue_write_failing_after_the_log_write_is_undone() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), WriteMode::Pwrite)).unwrap();
    put(&store, 0, "ok-0").await.unwrap();
    let rec = record(0, "a-record-whose-entry-fails");
    // Exactly the record fits: the log write succeeds, the consume-queue entry does not, and
    // there is no room left to clear the record's bytes either (done before the next put).
    faults::PWRITE_BUDGET.with(|b| b.set(Some(rec.bytes.len())));
    assert!(store.put(vec![rec]).await.is_err());
    faults::reset();
    assert_eq!(store.max_offset("T", 0), 1);
    assert_eq!(put(&store, 0, "ok-1").await.unwrap(), 1);
    let store = crash_and_reopen(store, dir.path(), WriteMode::Pwrite);
    assert_eq!(bodies(&store, 0), ["ok-0", "ok-1"]);
}

#[tokio::test]
async fn a_segment_that_cannot_be_created_fails_the_put_and_is_not_left_behind() {
    for mode in [WriteMode::Mapped, WriteMode::Pwrite] {
        let dir = tempfile::tempdir().unwrap();
        let store = MessageStore::open(config(dir.path(), mode)).unwrap();
        let body = "x".repeat(300);
        let mut acked = Vec::new();
        // Fill the first 4 KiB segment without rolling.
        while store.commit_log_max_offset() + 2 * (record(0, &body).bytes.len() as i64) + 8 <= 4096
        {
            put(&store, 0, &body).await.unwrap();
            acked.push(body.clone());
        }
        assert_eq!(segment_files(dir.path()), 1);
        // A batch of two: the first record still fits, the second needs a new segment.
        faults::CREATES_LEFT.with(|c| c.set(Some(0)));
        let batch = vec![record(0, &body), record(1, &body)];
        let e = store.put(batch).await.unwrap_err();
        faults::reset();
        assert!(is_enospc(&e), "{mode:?}: {e}");
        assert_eq!(
            segment_files(dir.path()),
            1,
            "{mode:?}: no half-made segment"
        );
        assert_eq!(store.max_offset("T", 0), acked.len() as i64);
        assert_eq!(store.max_offset("T", 1), 0);
        // Room again: the same batch goes through, rolling to a second segment.
        let r = store
            .put(vec![record(0, &body), record(1, &body)])
            .await
            .unwrap();
        assert_eq!(r[0].queue_offset, acked.len() as i64);
        assert_eq!(r[1].queue_offset, 0);
        acked.push(body.clone());
        assert_eq!(segment_files(dir.path()), 2);
        let store = crash_and_reopen(store, dir.path(), mode);
        assert_eq!(bodies(&store, 0), acked, "{mode:?}");
        assert_eq!(bodies(&store, 1), std::slice::from_ref(&body), "{mode:?}");
    }
}

#[tokio::test]
async fn a_consume_queue_file_that_cannot_be_created_fails_the_put_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path(), WriteMode::Mapped)).unwrap();
    put(&store, 0, "ok-0").await.unwrap();
    let end = store.commit_log_max_offset();
    faults::CREATES_LEFT.with(|c| c.set(Some(0)));
    // Queue 1 has no file yet; queue 0's next entry is in its existing file.
    let e = store
        .put(vec![record(0, "a"), record(1, "b")])
        .await
        .unwrap_err();
    faults::reset();
    assert!(is_enospc(&e), "{e}");
    assert_eq!(store.commit_log_max_offset(), end);
    assert_eq!(store.max_offset("T", 0), 1);
    assert!(!dir
        .path()
        .join("consumequeue/T/1")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some()));
    // A full consume-queue file (8 entries) needs the next one: same story.
    for i in 1..8 {
        put(&store, 0, &format!("ok-{i}")).await.unwrap();
    }
    faults::CREATES_LEFT.with(|c| c.set(Some(0)));
    assert!(put(&store, 0, "needs-a-new-cq-file").await.is_err());
    faults::reset();
    assert_eq!(put(&store, 0, "ok-8").await.unwrap(), 8);
    assert_eq!(put(&store, 1, "q1-0").await.unwrap(), 0);
    let store = crash_and_reopen(store, dir.path(), WriteMode::Mapped);
    let want: Vec<String> = (0..9).map(|i| format!("ok-{i}")).collect();
    assert_eq!(bodies(&store, 0), want);
    assert_eq!(bodies(&store, 1), ["q1-0"]);
}

#[tokio::test]
async fn sync_flush_puts_fail_and_recover_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), WriteMode::Pwrite);
    cfg.flush = FlushMode::sync();
    let store = MessageStore::open(cfg.clone()).unwrap();
    put(&store, 0, "ok-0").await.unwrap();
    faults::PWRITE_BUDGET.with(|b| b.set(Some(0)));
    assert!(put(&store, 0, "fails").await.is_err());
    faults::reset();
    assert_eq!(put(&store, 0, "ok-1").await.unwrap(), 1);
    store.shutdown().unwrap();
    drop(store);
    let store = MessageStore::open(cfg).unwrap();
    assert_eq!(bodies(&store, 0), ["ok-0", "ok-1"]);
}

#[tokio::test]
async fn whole_records_of_a_failed_batch_never_come_back_behind_a_later_put() {
    for mode in [WriteMode::Pwrite, WriteMode::Mapped] {
        let dir = tempfile::tempdir().unwrap();
        let store = MessageStore::open(config(dir.path(), mode)).unwrap();
        put(&store, 0, "ok-0").await.unwrap();
        // Two whole records reach the log, then the batch fails: in pwrite mode at the
        // consume-queue write (the budget covers the log bytes only), in mapped mode because
        // queue 1's consume-queue file cannot be created... which happens before any log write,
        // so for mapped mode make the second record roll to a segment that cannot be created.
        let (a, b) = (record(0, "fail-a"), record(0, "fail-b"));
        let batch = match mode {
            WriteMode::Pwrite => {
                faults::PWRITE_BUDGET.with(|x| x.set(Some(a.bytes.len() + b.bytes.len())));
                vec![a, b]
            }
            _ => {
                let big = record(0, &"x".repeat(1900));
                faults::CREATES_LEFT.with(|x| x.set(Some(0)));
                vec![a, b, big.clone(), big]
            }
        };
        assert!(store.put(batch).await.is_err(), "{mode:?}");
        faults::reset();
        // A record as long as the first failed one: the second failed record would sit right
        // behind it, whole and valid, if nobody cleared it.
        assert_eq!(put(&store, 0, "okay-1").await.unwrap(), 1);
        let store = crash_and_reopen(store, dir.path(), mode);
        assert_eq!(bodies(&store, 0), ["ok-0", "okay-1"], "{mode:?}");
    }
}
