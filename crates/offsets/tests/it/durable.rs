//! Durable mode: acknowledgement after fsync, with group commit.

use crate::common;
use common::*;

use std::sync::Arc;
use std::time::Duration;

use ferromq_offsets::{Durability, OffsetStore, OffsetStoreConfig};

fn durable(dir: &std::path::Path) -> Arc<OffsetStore> {
    OffsetStore::open(OffsetStoreConfig {
        dir: dir.to_path_buf(),
        durability: Durability::Durable {
            timeout: Duration::from_secs(10),
        },
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_durable_commits_share_fsyncs() {
    let d = tempdir();
    let s = durable(d.path());
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let mut tasks = Vec::new();
    for i in 0..64 {
        let s = s.clone();
        let b = barrier.clone();
        tasks.push(tokio::spawn(async move {
            b.wait().await;
            s.commit(vec![(k("g", "t", i), i as i64 * 100)]).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let st = s.stats();
    eprintln!("64 durable commits -> {} fsyncs", st.fsyncs);
    assert_eq!(st.records_appended, 64);
    assert!(st.fsyncs >= 1);
    assert!(st.fsyncs < 64, "no grouping: {} fsyncs", st.fsyncs);
    for i in 0..64 {
        assert_eq!(s.get("g", "t", i), Some(i as i64 * 100));
    }
    drop(s);
    let s = durable(d.path());
    assert_eq!(s.entry_count(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_commit_is_fsynced_before_return() {
    let d = tempdir();
    let s = durable(d.path());
    for i in 0..10 {
        let before = s.stats().fsyncs;
        s.commit(vec![(k("g", "t", 0), i)]).await.unwrap();
        assert!(
            s.stats().fsyncs > before,
            "commit {i} returned without an fsync"
        );
    }
    assert_eq!(s.delete_group("g").await.unwrap(), 1);
    assert_eq!(s.delete_group("g").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_mode_fsyncs_within_interval() {
    let d = tempdir();
    let s = open(d.path()); // 20 ms interval
    s.commit(vec![(k("g", "t", 0), 1)]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(s.stats().fsyncs >= 1);
    let f = s.stats().fsyncs;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.stats().fsyncs, f, "idle store does not fsync");
}
