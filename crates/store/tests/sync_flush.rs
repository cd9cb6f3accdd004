//! Sync flush mode: group commit.

mod common;

use std::time::Duration;

use common::*;
use ferromq_store::{FlushMode, MessageStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sync_puts_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.flush = FlushMode::Sync {
        timeout: Duration::from_secs(10),
    };
    cfg.segment_size = 1 << 20;
    let store = MessageStore::open(cfg).unwrap();
    let mut tasks = Vec::new();
    for t in 0..64 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ends = Vec::new();
            for i in 0..4 {
                let r = s
                    .put(vec![record(
                        "S",
                        t % 4,
                        format!("{t}-{i}").as_bytes(),
                        None,
                    )])
                    .await
                    .unwrap();
                let end = r[0].physical_offset + r[0].size as i64;
                assert!(s.flushed_offset() >= end, "acknowledged before durable");
                ends.push(end);
            }
            ends
        }));
    }
    let mut max_end = 0;
    for t in tasks {
        max_end = max_end.max(t.await.unwrap().into_iter().max().unwrap());
    }
    assert_eq!(store.commit_log_max_offset(), max_end);
    assert!(store.flushed_offset() >= max_end);
    let stats = store.stats();
    assert_eq!(stats.messages, 256);
    assert!(stats.log_fsyncs >= 1);
    assert!(
        stats.log_fsyncs < 256,
        "no grouping: {} fsyncs for 256 puts",
        stats.log_fsyncs
    );
    println!(
        "sync mode: {} puts, {} commit-log fsyncs",
        stats.puts, stats.log_fsyncs
    );
    for q in 0..4 {
        assert_eq!(store.max_offset("S", q), 64);
    }
    store.shutdown().unwrap();
}

#[tokio::test]
async fn async_mode_flushes_within_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.put(vec![record("A", 0, b"x", None)]).await.unwrap();
    let end = store.commit_log_max_offset();
    for _ in 0..100 {
        if store.flushed_offset() >= end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.flushed_offset(), end);
}
