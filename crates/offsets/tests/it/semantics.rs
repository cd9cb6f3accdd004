//! Commit, query and delete semantics.

use crate::common;
use common::*;
use ferromq_offsets::OffsetError;

#[tokio::test]
async fn commit_get_and_overwrite() {
    let d = tempdir();
    let s = open(d.path());
    assert_eq!(s.get("g", "t", 0), None);
    s.commit(vec![(k("g", "t", 0), 10), (k("g", "t", 1), 20)])
        .await
        .unwrap();
    assert_eq!(s.get("g", "t", 0), Some(10));
    assert_eq!(s.get("g", "t", 1), Some(20));
    // Regressions are accepted (upstream puts unconditionally); last duplicate in a batch wins.
    s.commit(vec![(k("g", "t", 0), 5), (k("g", "t", 0), 7)])
        .await
        .unwrap();
    assert_eq!(s.get("g", "t", 0), Some(7));
    assert_eq!(s.entry_count(), 2);
    s.commit(vec![]).await.unwrap();
    assert_eq!(s.data_version().0, 2, "one counter step per change batch");
}

#[tokio::test]
async fn scans() {
    let d = tempdir();
    let s = open(d.path());
    s.commit(vec![
        (k("g1", "a", 1), 11),
        (k("g1", "a", 0), 10),
        (k("g1", "b", 0), 12),
        (k("g2", "a", 3), 13),
        (k("%RETRY%g2", "%RETRY%g2", 0), 1),
    ])
    .await
    .unwrap();
    assert_eq!(
        s.group_topic("g1", "a").into_iter().collect::<Vec<_>>(),
        vec![(0, 10), (1, 11)]
    );
    assert!(s.group_topic("g1", "zzz").is_empty());
    assert_eq!(s.topics_of_group("g1"), vec!["a", "b"]);
    assert_eq!(s.groups_of_topic("a"), vec!["g1", "g2"]);
    assert_eq!(s.groups(), vec!["%RETRY%g2", "g1", "g2"]);
    assert_eq!(s.entry_count(), 5);
    let all = s.all();
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
    assert_eq!(all[0], (k("%RETRY%g2", "%RETRY%g2", 0), 1));
}

#[tokio::test]
async fn deletes() {
    let d = tempdir();
    let s = open(d.path());
    s.commit(vec![
        (k("g1", "a", 0), 1),
        (k("g1", "a", 1), 1),
        (k("g1", "b", 0), 1),
        (k("g2", "a", 0), 1),
        (k("g2", "b", 0), 1),
        (k("g3", "c", 0), 1),
    ])
    .await
    .unwrap();
    assert_eq!(s.delete_group_topic("g1", "a").await.unwrap(), 2);
    assert_eq!(s.delete_group_topic("g1", "a").await.unwrap(), 0);
    assert_eq!(s.topics_of_group("g1"), vec!["b"]);
    assert_eq!(s.groups_of_topic("a"), vec!["g2"]);
    assert_eq!(s.delete_topic("b").await.unwrap(), 2);
    assert_eq!(
        s.groups(),
        vec!["g2", "g3"],
        "g1 vanished with its last topic"
    );
    assert_eq!(s.delete_group("g2").await.unwrap(), 1);
    assert_eq!(s.delete_group("nope").await.unwrap(), 0);
    assert!(s.groups_of_topic("a").is_empty());
    assert_eq!(s.all(), vec![(k("g3", "c", 0), 1)]);
    let (counter, _) = s.data_version();
    assert_eq!(counter, 4, "no-op deletes do not bump the data version");
    s.shutdown().unwrap();
    drop(s);
    let s = open(d.path());
    assert_eq!(s.all(), vec![(k("g3", "c", 0), 1)]);
    assert_eq!(s.data_version().0, 4);
}

#[tokio::test]
async fn invalid_names_rejected() {
    let d = tempdir();
    let s = open(d.path());
    for bad in [
        k("", "t", 0),
        k("g", "", 0),
        k("g@x", "t", 0),
        k("g", "t@x", 0),
    ] {
        let e = s.commit(vec![(bad, 1)]).await.unwrap_err();
        assert!(matches!(e, OffsetError::InvalidKey(_)), "{e}");
    }
    assert_eq!(s.entry_count(), 0);
}

#[tokio::test]
async fn shutdown_is_idempotent_and_closes() {
    let d = tempdir();
    let s = open(d.path());
    s.commit(vec![(k("g", "t", 0), 1)]).await.unwrap();
    s.shutdown().unwrap();
    s.shutdown().unwrap();
    assert!(matches!(
        s.commit(vec![(k("g", "t", 0), 2)]).await,
        Err(OffsetError::Closed)
    ));
    assert_eq!(s.get("g", "t", 0), Some(1), "reads still work");
}

#[tokio::test]
async fn rocketmq_json_export_roundtrips() {
    let d = tempdir();
    let s = open(d.path());
    s.commit(vec![
        (k("g1", "T", 0), 250),
        (k("g1", "T", 1), 251),
        (k("g\"q", "T", 0), 3),
    ])
    .await
    .unwrap();
    let json = s.to_rocketmq_json();
    assert!(json.contains("\"T@g1\":{\"0\":250,\"1\":251}"), "{json}");
    assert!(json.contains("\"dataVersion\":{\"counter\":1,\"stateVersion\":0,\"timestamp\":"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["dataVersion"]["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    let back = ferromq_protocol::body::consumer_offset::parse(json.as_bytes()).unwrap();
    assert_eq!(back, s.all());
}

#[tokio::test]
async fn pages_cover_the_table_in_key_order() {
    let d = tempdir();
    let s = open(d.path());
    let mut entries = Vec::new();
    for g in ["b", "a", "c", "ab"] {
        for t in ["y", "x", "xx"] {
            for q in [3, 0, 7] {
                entries.push((k(g, t, q), q as i64 + 1));
            }
        }
    }
    s.commit(entries).await.unwrap();
    for limit in [1, 2, 5, 7, 100] {
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let (page, more) = s.page(after.as_ref(), limit, |_| true);
            assert!(page.len() <= limit);
            after = page.last().map(|(k, _)| k.clone());
            got.extend(page);
            if !more {
                break;
            }
        }
        assert_eq!(got, s.all(), "limit {limit}");
    }
    // A filter keeps only what it accepts, still in order, still paged.
    let (page, more) = s.page(None, 4, |k| k.group == "ab");
    assert_eq!(page.len(), 4);
    assert!(more);
    assert!(page.iter().all(|(k, _)| k.group == "ab"));
    let (rest, more) = s.page(page.last().map(|(k, _)| k), 100, |k| k.group == "ab");
    assert_eq!(rest.len(), 5);
    assert!(!more);
}

/// compare_and_commit stores only over the expected value (or over no entry), and survives a
/// reopen like a commit.
#[tokio::test]
async fn compare_and_commit_never_overwrites_a_change_made_meanwhile() {
    let d = tempdir();
    {
        let s = open(d.path());
        assert!(s.compare_and_commit(k("g", "t", 0), None, 4).await.unwrap());
        assert!(!s.compare_and_commit(k("g", "t", 0), None, 9).await.unwrap());
        assert!(s
            .compare_and_commit(k("g", "t", 0), Some(4), 6)
            .await
            .unwrap());
        // An operator's reset lands in between: the stale compare-and-set loses.
        s.commit(vec![(k("g", "t", 0), 1)]).await.unwrap();
        assert!(!s
            .compare_and_commit(k("g", "t", 0), Some(6), 8)
            .await
            .unwrap());
        assert_eq!(s.get("g", "t", 0), Some(1));
        assert!(s
            .compare_and_commit(k("g", "t", 0), Some(1), 2)
            .await
            .unwrap());
        s.shutdown().unwrap();
    }
    assert_eq!(open(d.path()).get("g", "t", 0), Some(2));
}
