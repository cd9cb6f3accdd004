//! The message index through the public store API: lookups by key and unique key right after
//! a put, time ranges, `max_num`, the cap, and the rebuild from the commit log after a clean
//! reopen and after a crash with a torn tail.

mod common;

use std::os::unix::fs::FileExt;

use bytes::Bytes;
use common::{config, segments};
use ferromq_protocol::message::{decode_record, encode_record, patch_record, NewMessage};
use ferromq_store::{AppendRecord, KeyKind, MessageQuery, MessageStore, StoreConfig};

fn keyed(topic: &str, body: &str, keys: &str, uniq: &str) -> AppendRecord {
    let m = NewMessage {
        topic: topic.into(),
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:5555".parse().unwrap(),
        store_host: "10.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body.as_bytes()),
        properties: format!("KEYS\u{1}{keys}\u{2}UNIQ_KEY\u{1}{uniq}\u{2}"),
    };
    let mut bytes = Vec::new();
    encode_record(&m, &mut bytes).unwrap();
    AppendRecord {
        bytes,
        topic: topic.into(),
        queue_id: 0,
        tags_code: 0,
    }
}

fn q<'a>(topic: &'a str, key: &'a str, kind: KeyKind) -> MessageQuery<'a> {
    MessageQuery {
        topic,
        key,
        kind,
        max_num: 64,
        begin: 0,
        end: i64::MAX,
        max_bytes: 1 << 20,
    }
}

fn bodies(store: &MessageStore, query: &MessageQuery<'_>) -> Vec<String> {
    store
        .query_messages(query)
        .messages
        .iter()
        .map(|r| {
            let (m, _) = decode_record(r).unwrap();
            String::from_utf8(m.body.to_vec()).unwrap()
        })
        .collect()
}

async fn fill(store: &MessageStore) {
    for i in 0..30 {
        let rec = keyed(
            "T",
            &format!("m{i}"),
            &format!("k{} all", i % 3),
            &format!("U{i}"),
        );
        store.put_at(vec![rec], 1_000 + i).await.unwrap();
    }
    store
        .put_at(vec![keyed("Other", "o", "k0", "UO")], 2_000)
        .await
        .unwrap();
}

#[tokio::test]
async fn lookups_by_key_unique_key_time_and_max() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    fill(&store).await;
    // Found at once: the query indexes what the background thread has not reached yet.
    assert_eq!(bodies(&store, &q("T", "U7", KeyKind::Unique)), ["m7"]);
    assert_eq!(
        bodies(&store, &q("T", "k1", KeyKind::Key)),
        ["m1", "m4", "m7", "m10", "m13", "m16", "m19", "m22", "m25", "m28"]
    );
    // A unique key is not a KEYS word, and keys are per topic.
    assert!(bodies(&store, &q("T", "U7", KeyKind::Key)).is_empty());
    assert!(bodies(&store, &q("T", "k1", KeyKind::Unique)).is_empty());
    assert_eq!(bodies(&store, &q("Other", "k0", KeyKind::Key)), ["o"]);
    assert!(bodies(&store, &q("Nope", "k0", KeyKind::Key)).is_empty());
    // Time range (inclusive) and max_num (the newest are kept, returned in log order).
    let mut range = q("T", "all", KeyKind::Key);
    range.begin = 1_010;
    range.end = 1_012;
    assert_eq!(bodies(&store, &range), ["m10", "m11", "m12"]);
    let mut newest = q("T", "all", KeyKind::Key);
    newest.max_num = 2;
    assert_eq!(bodies(&store, &newest), ["m28", "m29"]);
    let mut inverted = q("T", "all", KeyKind::Key);
    inverted.begin = 2_000;
    inverted.end = 1_000;
    assert!(bodies(&store, &inverted).is_empty());
    // At least one message, then no more than max_bytes.
    let mut small = q("T", "all", KeyKind::Key);
    small.max_bytes = 1;
    assert_eq!(bodies(&store, &small), ["m29"]);
    let r = store.query_messages(&q("T", "k0", KeyKind::Key));
    assert_eq!(
        r.index_last_update_phy_offset,
        store.commit_log_max_offset()
    );
    assert_eq!(r.index_last_update_timestamp, 2_000);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn rebuilt_after_clean_reopen_and_after_crash_with_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    fill(&store).await;
    store.shutdown().unwrap();
    drop(store);
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(bodies(&store, &q("T", "U29", KeyKind::Unique)), ["m29"]);
    assert_eq!(bodies(&store, &q("T", "k2", KeyKind::Key)).len(), 10);
    let end = store.commit_log_max_offset();
    drop(store); // crash: no shutdown
                 // A torn record after the end: its key must not be indexed after recovery.
    let last = segments(dir.path()).pop().unwrap();
    let seg_start: i64 = last.file_name().unwrap().to_str().unwrap().parse().unwrap();
    // Half of it reached the disk: the body is cut, so its CRC cannot match.
    let mut torn = keyed("T", &"ghost ".repeat(40), "ghost", "UG").bytes;
    patch_record(&mut torn, 30, end, 1);
    torn.truncate(torn.len() / 2);
    let f = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
    f.write_all_at(&torn, (end - seg_start) as u64).unwrap();
    drop(f);
    let store = MessageStore::open(config(dir.path())).unwrap();
    assert_eq!(store.commit_log_max_offset(), end);
    assert!(bodies(&store, &q("T", "ghost", KeyKind::Key)).is_empty());
    assert_eq!(bodies(&store, &q("T", "U3", KeyKind::Unique)), ["m3"]);
    assert_eq!(bodies(&store, &q("Other", "UO", KeyKind::Unique)), ["o"]);
    // New messages are indexed after the rebuilt ones.
    store
        .put(vec![keyed("T", "after", "ghost", "UA")])
        .await
        .unwrap();
    assert_eq!(bodies(&store, &q("T", "ghost", KeyKind::Key)), ["after"]);
    store.shutdown().unwrap();
}

#[tokio::test]
async fn bounded_by_the_cap_and_disabled_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    // Each message adds three entries (two KEYS words and its UNIQ_KEY): 9 keep the last 3.
    let cfg = StoreConfig {
        index_max_entries: 9,
        ..config(dir.path())
    };
    let store = MessageStore::open(cfg).unwrap();
    fill(&store).await;
    assert_eq!(bodies(&store, &q("T", "all", KeyKind::Key)), ["m28", "m29"]);
    assert!(bodies(&store, &q("T", "U1", KeyKind::Unique)).is_empty());
    assert_eq!(store.index_status().0, 9);
    store.shutdown().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        index_max_entries: 0,
        ..config(dir.path())
    };
    let store = MessageStore::open(cfg).unwrap();
    fill(&store).await;
    assert!(bodies(&store, &q("T", "U1", KeyKind::Unique)).is_empty());
    assert_eq!(store.index_status().0, 0);
    store.shutdown().unwrap();
    let too_big = StoreConfig {
        index_max_entries: ferromq_store::MAX_INDEX_ENTRIES + 1,
        ..config(dir.path())
    };
    assert!(MessageStore::open(too_big).is_err());
}

#[tokio::test]
async fn entries_of_deleted_segments_are_evicted() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(config(dir.path())).unwrap();
    // About 130 bytes each: 2000 of them fill several 64 KiB segments.
    for i in 0..2000 {
        let rec = keyed("T", &format!("old{i}"), "old", &format!("U{i}"));
        store.put_at(vec![rec], 1_000).await.unwrap();
    }
    let newest = 10_000_000_000;
    store
        .put_at(vec![keyed("T", "new", "new", "UN")], newest)
        .await
        .unwrap();
    let mut all_old = q("T", "old", KeyKind::Key);
    all_old.max_num = 5_000;
    all_old.max_bytes = 10 << 20;
    assert_eq!(bodies(&store, &all_old).len(), 2000);
    assert!(store.run_retention_at(newest + 1).unwrap() >= 2);
    let min = store.commit_log_min_offset();
    assert!(min > 0);
    let left = store.query_messages(&all_old).messages;
    assert!(left.len() < 2000, "{} old messages still found", left.len());
    for r in &left {
        assert!(decode_record(r).unwrap().0.physical_offset >= min);
    }
    assert!(bodies(&store, &q("T", "U0", KeyKind::Unique)).is_empty());
    assert_eq!(bodies(&store, &q("T", "new", KeyKind::Key)), ["new"]);
    // Evicted, not only filtered: the index holds only what the log still holds.
    assert_eq!(store.index_status().0, 2 * left.len() + 2);
    store.shutdown().unwrap();
}
