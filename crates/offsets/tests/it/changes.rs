//! Operator changes: apply_change, history, undo, intents, and their crash behaviour.

use crate::common;
use common::*;

use std::sync::Arc;
use std::time::Duration;

use ferromq_offsets::{
    Change, ChangeDraft, ChangeEntry, ChangeUndo, Durability, Intent, IntentSpec, OffsetError,
    OffsetStore, OffsetStoreConfig, QueueKey, Tuning,
};

fn intent(g: &str, t: &str, q: Option<i32>, spec: IntentSpec) -> Intent {
    Intent {
        group: g.into(),
        topic: t.into(),
        queue_id: q,
        spec,
        created_ms: 1000,
    }
}

fn draft(op: &str, set: Vec<(QueueKey, Option<i64>)>) -> ChangeDraft {
    ChangeDraft {
        actor: "127.0.0.1:5123".into(),
        operation: op.into(),
        scope: format!("{op} scope"),
        set,
        ..ChangeDraft::default()
    }
}

fn entry(key: QueueKey, before: Option<i64>, after: Option<i64>) -> ChangeEntry {
    ChangeEntry { key, before, after }
}

#[tokio::test]
async fn apply_change_records_before_and_after() {
    let d = tempdir();
    let s = open(d.path());
    s.commit(vec![(k("g", "t", 0), 10), (k("g", "t", 1), 11)])
        .await
        .unwrap();
    let c1 = s
        .apply_change(draft(
            "reset",
            vec![
                (k("g", "t", 1), Some(5)),
                (k("g", "t", 0), Some(10)), // before == after: still listed
                (k("g", "t", 2), Some(7)),  // did not exist
                (k("g", "t", 3), None),     // delete of nothing
            ],
        ))
        .await
        .unwrap();
    assert_eq!(c1.operation, "reset");
    assert_eq!(c1.actor, "127.0.0.1:5123");
    assert_eq!(
        c1.entries,
        vec![
            entry(k("g", "t", 0), Some(10), Some(10)),
            entry(k("g", "t", 1), Some(11), Some(5)),
            entry(k("g", "t", 2), None, Some(7)),
            entry(k("g", "t", 3), None, None),
        ]
    );
    assert_eq!(s.get("g", "t", 1), Some(5));
    assert_eq!(s.get("g", "t", 2), Some(7));
    assert_eq!(s.get("g", "t", 3), None);

    let c2 = s
        .apply_change(draft(
            "delete",
            vec![(k("g", "t", 0), None), (k("h", "u", 0), Some(1))],
        ))
        .await
        .unwrap();
    assert!(c2.id > c1.id);
    assert_eq!(
        c2.entries,
        vec![
            entry(k("g", "t", 0), Some(10), None),
            entry(k("h", "u", 0), None, Some(1)),
        ]
    );
    assert_eq!(s.get("g", "t", 0), None);
    assert_eq!(s.entry_count(), 3);
    // Deleting the last queue of (g2, x) removes it from the scans.
    s.apply_change(draft("x", vec![(k("g2", "x", 0), Some(1))]))
        .await
        .unwrap();
    let c3 = s
        .apply_change(draft("delete", vec![(k("g2", "x", 0), None)]))
        .await
        .unwrap();
    assert!(c3.id > c2.id);
    assert!(s.topics_of_group("g2").is_empty());
    assert!(s.groups_of_topic("x").is_empty());
    assert!(!s.groups().contains(&"g2".to_string()));

    // Plain commits are not history.
    s.commit(vec![(k("g", "t", 9), 9)]).await.unwrap();
    let h = s.history(None, 100);
    assert_eq!(
        h.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c3.id, c3.id - 1, c2.id, c1.id]
    );
    assert_eq!(h[3], c1);
    assert_eq!(s.history(None, 1).len(), 1);
    let hg: Vec<u64> = s.history(Some("h"), 10).iter().map(|c| c.id).collect();
    assert_eq!(hg, vec![c2.id]);
    assert!(s.history(Some("nobody"), 10).is_empty());
    assert_eq!(s.change(c2.id), Some(c2));
    assert_eq!(s.change(999), None);
    assert_eq!(s.next_change_id(), c3.id + 1);
}

#[tokio::test]
async fn undo_restores_before_values_and_is_recorded() {
    let d = tempdir();
    let s = open(d.path());
    s.commit(vec![(k("g", "t", 0), 100), (k("g", "t", 1), 200)])
        .await
        .unwrap();
    let mut dr = draft(
        "reset",
        vec![
            (k("g", "t", 0), Some(0)),
            (k("g", "t", 1), None),
            (k("g", "t", 2), Some(5)),
        ],
    );
    s.apply_change(ChangeDraft {
        set_intents: vec![intent("g", "t", None, IntentSpec::Latest)],
        ..draft("intent", vec![])
    })
    .await
    .unwrap();
    dr.set_intents = vec![
        intent("g", "t", None, IntentSpec::Earliest), // replaces Latest
        intent("g", "t", Some(4), IntentSpec::Offset(3)),
    ];
    let c = s.apply_change(dr).await.unwrap();
    assert_eq!(
        c.intents_cleared,
        vec![intent("g", "t", None, IntentSpec::Latest)]
    );
    assert_eq!(s.get("g", "t", 0), Some(0));
    assert_eq!(s.get("g", "t", 1), None);

    let u = s.apply_change(c.undo_draft("admin")).await.unwrap();
    assert_eq!(u.undo_of, Some(c.id));
    assert_eq!(u.operation, "undo");
    assert!(u.id > c.id);
    assert_eq!(s.get("g", "t", 0), Some(100));
    assert_eq!(s.get("g", "t", 1), Some(200));
    assert_eq!(s.get("g", "t", 2), None);
    assert_eq!(
        s.intents(None),
        vec![intent("g", "t", None, IntentSpec::Latest)]
    );
    assert_eq!(s.history(None, 1), vec![u.clone()]);
    // Undo of the undo re-applies the original.
    s.apply_change(u.undo_draft("admin")).await.unwrap();
    assert_eq!(s.get("g", "t", 0), Some(0));
    assert_eq!(s.get("g", "t", 2), Some(5));
    assert_eq!(s.intents(Some("g")).len(), 2);
}

#[tokio::test]
async fn intents_set_replace_clear_and_precedence() {
    let d = tempdir();
    let s = open(d.path());
    let set = |v: Vec<Intent>| ChangeDraft {
        set_intents: v,
        ..draft("intent", vec![])
    };
    s.apply_change(set(vec![
        intent("g", "t", None, IntentSpec::Latest),
        intent("g", "t", Some(2), IntentSpec::Timestamp(77)),
        intent("a", "t", Some(1), IntentSpec::Earliest),
    ]))
    .await
    .unwrap();
    assert_eq!(
        s.intent_for("g", "t", 2).unwrap().spec,
        IntentSpec::Timestamp(77)
    );
    assert_eq!(s.intent_for("g", "t", 0).unwrap().spec, IntentSpec::Latest);
    assert_eq!(s.intent_for("g", "u", 0), None);
    assert_eq!(s.intent_for("a", "t", 0), None);
    let all = s.intents(None);
    let keys: Vec<_> = all.iter().map(|i| i.key()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(all.len(), 3);
    assert_eq!(s.intents(Some("g")).len(), 2);

    // Replace.
    let c = s
        .apply_change(set(vec![intent("g", "t", None, IntentSpec::Offset(9))]))
        .await
        .unwrap();
    assert_eq!(
        c.intents_cleared,
        vec![intent("g", "t", None, IntentSpec::Latest)]
    );
    assert_eq!(
        s.intent_for("g", "t", 0).unwrap().spec,
        IntentSpec::Offset(9)
    );
    // Clear exact match only; clearing a missing one records nothing.
    let c = s
        .apply_change(ChangeDraft {
            clear_intents: vec![
                ("g".into(), "t".into(), Some(2)),
                ("g".into(), "t".into(), Some(3)),
            ],
            ..draft("intent", vec![])
        })
        .await
        .unwrap();
    assert_eq!(
        c.intents_cleared,
        vec![intent("g", "t", Some(2), IntentSpec::Timestamp(77))]
    );
    assert_eq!(
        s.intent_for("g", "t", 2).unwrap().spec,
        IntentSpec::Offset(9)
    );
    assert_eq!(s.history(Some("a"), 10).len(), 1);

    // Deletes drop intents (even without any offsets) and survive a reopen.
    s.apply_change(set(vec![
        intent("g", "u", None, IntentSpec::Latest),
        intent("h", "u", Some(0), IntentSpec::Latest),
        intent("h", "v", Some(0), IntentSpec::Latest),
    ]))
    .await
    .unwrap();
    assert_eq!(s.delete_group_topic("h", "v").await.unwrap(), 0);
    assert_eq!(s.intent_for("h", "v", 0), None);
    assert_eq!(s.delete_topic("u").await.unwrap(), 0);
    assert_eq!(s.intents(Some("h")), vec![]);
    assert_eq!(s.intent_for("g", "u", 1), None);
    assert_eq!(s.delete_group("a").await.unwrap(), 0);
    assert_eq!(s.intents(Some("a")), vec![]);
    let left = s.intents(None);
    assert_eq!(left, vec![intent("g", "t", None, IntentSpec::Offset(9))]);
    let history = s.history(None, 100);
    assert_eq!(history.len(), 4, "deletes keep the history");
    drop(s); // crash-like: no shutdown beyond Drop
    let s = open(d.path());
    assert_eq!(s.intents(None), left);
    assert_eq!(s.history(None, 100), history);
}

#[tokio::test]
async fn invalid_names_rejected() {
    let d = tempdir();
    let s = open(d.path());
    let bad = [
        draft("x", vec![(k("a@b", "t", 0), Some(1))]),
        ChangeDraft {
            set_intents: vec![intent("g", "", None, IntentSpec::Latest)],
            ..draft("x", vec![])
        },
        ChangeDraft {
            clear_intents: vec![("g".into(), "t@".into(), None)],
            ..draft("x", vec![])
        },
    ];
    for b in bad {
        assert!(matches!(
            s.apply_change(b).await,
            Err(OffsetError::InvalidKey(_))
        ));
    }
    assert!(s.history(None, 10).is_empty());
    assert_eq!(s.next_change_id(), 1);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
    }
}

#[tokio::test]
async fn torn_change_record_is_all_or_nothing() {
    let d = tempdir();
    let s = open_tuned(d.path(), no_auto_compaction());
    s.commit(vec![(k("g", "t", 0), 1)]).await.unwrap();
    let first = s
        .apply_change(ChangeDraft {
            set_intents: vec![intent("g", "t", Some(9), IntentSpec::Latest)],
            ..draft("reset", vec![(k("g", "t", 1), Some(2))])
        })
        .await
        .unwrap();
    let all_before = s.all();
    let intents_before = s.intents(None);
    let seg = last_segment(d.path());
    let len_before = file_len(&seg);
    let big: Vec<_> = (0..50)
        .map(|i| (k(&format!("bg{}", i % 3), "bt", i), Some(i as i64)))
        .chain([(k("g", "t", 0), None)])
        .collect();
    let c = s
        .apply_change(ChangeDraft {
            set_intents: vec![intent("new", "t", None, IntentSpec::Timestamp(5))],
            clear_intents: vec![("g".into(), "t".into(), Some(9))],
            ..draft("import", big)
        })
        .await
        .unwrap();
    let len_after = file_len(&seg);
    drop(s);
    for cut in [
        len_before + 1,
        len_before + 8,
        len_before + 20,
        (len_before + len_after) / 2,
        len_after - 1,
    ] {
        let copy = tempdir();
        copy_dir(d.path(), copy.path());
        truncate(&last_segment(copy.path()), cut);
        let s = open(copy.path());
        assert_eq!(s.all(), all_before, "cut at {cut}");
        assert_eq!(s.intents(None), intents_before, "cut at {cut}");
        assert_eq!(s.history(None, 10), vec![first.clone()], "cut at {cut}");
        assert_eq!(s.change(c.id), None);
        assert_eq!(s.stats().truncated_bytes, cut - len_before);
        // The next change is appended cleanly after the cut tail.
        let n = s
            .apply_change(draft("reset", vec![(k("x", "y", 0), Some(1))]))
            .await
            .unwrap();
        assert!(n.id > first.id);
        drop(s);
        let s = open(copy.path());
        assert_eq!(s.get("x", "y", 0), Some(1));
        assert_eq!(s.history(None, 10).len(), 2);
    }
    let s = open(d.path());
    assert_eq!(s.change(c.id), Some(c.clone()));
    assert_eq!(s.get("g", "t", 0), None);
    assert_eq!(s.get("bg1", "bt", 49), Some(49));
    assert_eq!(s.intent_for("g", "t", 9), None);
    assert_eq!(
        s.intent_for("new", "t", 3).unwrap().spec,
        IntentSpec::Timestamp(5)
    );
}

#[tokio::test]
async fn reopen_and_compaction_keep_intents_history_and_ids() {
    let d = tempdir();
    let tuning = Tuning {
        history_limit: 5,
        ..no_auto_compaction()
    };
    let s = open_tuned(d.path(), tuning.clone());
    let mut ids = Vec::new();
    for i in 0..8i64 {
        let c = s
            .apply_change(ChangeDraft {
                set_intents: vec![intent("g", &format!("t{i}"), None, IntentSpec::Offset(i))],
                ..draft("reset", vec![(k("g", "t", i as i32), Some(i))])
            })
            .await
            .unwrap();
        ids.push(c.id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let history = s.history(None, 100);
    assert_eq!(history.len(), 5, "history_limit");
    assert_eq!(history[0].id, ids[7]);
    assert_eq!(s.change(ids[0]), None, "trimmed");
    let intents = s.intents(None);
    let version = s.data_version();
    s.shutdown().unwrap();
    drop(s);

    // Clean reopen: everything replayed from the log.
    let s = open_tuned(d.path(), tuning.clone());
    assert_eq!(s.history(None, 100), history);
    assert_eq!(s.intents(None), intents);
    assert_eq!(s.data_version(), version);
    assert_eq!(s.next_change_id(), ids[7] + 1);

    // Compaction: the snapshot carries intents, history and the id counter.
    s.compact().unwrap();
    s.compact().unwrap();
    s.shutdown().unwrap();
    drop(s);
    let s = open_tuned(d.path(), tuning.clone());
    assert_eq!(s.stats().records_replayed, 0);
    assert_eq!(s.history(None, 100), history);
    assert_eq!(s.intents(None), intents);
    let c = s
        .apply_change(draft("reset", vec![(k("g", "t", 0), Some(100))]))
        .await
        .unwrap();
    assert!(c.id > ids[7], "ids never go back after compaction");
    // A change after the snapshot is replayed on top of it exactly once.
    drop(s);
    let s = open_tuned(d.path(), tuning.clone());
    let h = s.history(None, 100);
    assert_eq!(h.len(), 5);
    assert_eq!(h[0], c);
    assert_eq!(h[1], history[0]);
    // A larger limit after restart cannot bring trimmed changes back; a smaller one trims.
    drop(s);
    let s = open_tuned(
        d.path(),
        Tuning {
            history_limit: 2,
            ..tuning
        },
    );
    assert_eq!(s.history(None, 100).len(), 2);
    assert_eq!(s.next_change_id(), c.id + 1);
}

/// `(group, topic, queue offsets)` of a hand-made snapshot.
type Section<'a> = (&'a str, &'a str, &'a [(i32, i64)]);

/// Builds a version-1 snapshot (the format before intents and history) by hand.
fn v1_snapshot(sections: &[Section<'_>], counter: u64) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"FMQOSNAP");
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes()); // base segment
    b.extend_from_slice(&counter.to_le_bytes());
    b.extend_from_slice(&1234u64.to_le_bytes());
    let entries: usize = sections.iter().map(|s| s.2.len()).sum();
    b.extend_from_slice(&(entries as u64).to_le_bytes());
    b.extend_from_slice(&(sections.len() as u64).to_le_bytes());
    for (g, t, pairs) in sections {
        b.extend_from_slice(&(g.len() as u16).to_le_bytes());
        b.extend_from_slice(g.as_bytes());
        b.extend_from_slice(&(t.len() as u16).to_le_bytes());
        b.extend_from_slice(t.as_bytes());
        b.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
        for (q, o) in pairs.iter() {
            b.extend_from_slice(&q.to_le_bytes());
            b.extend_from_slice(&o.to_le_bytes());
        }
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

#[tokio::test]
async fn version_1_snapshot_still_loads() {
    let d = tempdir();
    let img = v1_snapshot(&[("g", "t", &[(0, 5), (3, 7)]), ("h", "u", &[(1, -1)])], 42);
    std::fs::write(d.path().join("snapshot-00000000000000000001.snap"), img).unwrap();
    let s = open_tuned(d.path(), no_auto_compaction());
    assert_eq!(
        s.all(),
        vec![
            (k("g", "t", 0), 5),
            (k("g", "t", 3), 7),
            (k("h", "u", 1), -1)
        ]
    );
    assert_eq!(s.data_version(), (42, 1234));
    assert!(s.intents(None).is_empty());
    assert!(s.history(None, 10).is_empty());
    assert_eq!(s.next_change_id(), 1);
    let c = s
        .apply_change(ChangeDraft {
            set_intents: vec![intent("g", "t", None, IntentSpec::Latest)],
            ..draft("reset", vec![(k("g", "t", 0), Some(1))])
        })
        .await
        .unwrap();
    assert_eq!(c.id, 1);
    s.compact().unwrap(); // writes a version-2 snapshot
    s.shutdown().unwrap();
    drop(s);
    let s = open(d.path());
    assert_eq!(s.history(None, 10), vec![c]);
    assert_eq!(s.get("g", "t", 0), Some(1));
    assert_eq!(s.intents(None).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_apply_change_is_fsynced_before_return() {
    let d = tempdir();
    let s: Arc<OffsetStore> = OffsetStore::open(OffsetStoreConfig {
        dir: d.path().to_path_buf(),
        durability: Durability::Durable {
            timeout: Duration::from_secs(10),
        },
    })
    .unwrap();
    for i in 0..5 {
        let before = s.stats().fsyncs;
        let c: Change = s
            .apply_change(ChangeDraft {
                set_intents: vec![intent("g", "t", Some(i), IntentSpec::Earliest)],
                ..draft("reset", vec![(k("g", "t", i), Some(i as i64))])
            })
            .await
            .unwrap();
        assert!(
            s.stats().fsyncs > before,
            "change {} returned without an fsync",
            c.id
        );
    }
    // A delete that only drops intents is durable too.
    let before = s.stats().fsyncs;
    assert_eq!(s.delete_group("nobody").await.unwrap(), 0);
    s.apply_change(ChangeDraft {
        set_intents: vec![intent("only", "t", None, IntentSpec::Latest)],
        ..draft("intent", vec![])
    })
    .await
    .unwrap();
    let mid = s.stats().fsyncs;
    assert!(mid > before);
    assert_eq!(s.delete_group("only").await.unwrap(), 0);
    assert!(s.stats().fsyncs > mid, "intent-only delete not fsynced");
    assert_eq!(s.intent_for("only", "t", 0), None);
}

/// A snapshot may already contain changes made after its cut (the image is taken after the
/// segment switch); replaying their records again must not duplicate history entries.
#[tokio::test]
async fn change_in_snapshot_and_in_replayed_log_is_recorded_once() {
    let d = tempdir();
    let s = open_tuned(d.path(), no_auto_compaction());
    s.apply_change(draft("reset", vec![(k("g", "t", 0), Some(1))]))
        .await
        .unwrap();
    s.compact().unwrap(); // snapshot 2, segment 2 empty
    let c = s
        .apply_change(ChangeDraft {
            set_intents: vec![intent("g", "t", None, IntentSpec::Latest)],
            ..draft("reset", vec![(k("g", "t", 0), Some(2))])
        })
        .await
        .unwrap(); // in segment 2
    s.compact().unwrap(); // snapshot 3 holds c
    let expect_history = s.history(None, 100);
    let expect_all = s.all();
    s.shutdown().unwrap();
    drop(s);
    // Make snapshot 3's image pretend its base is segment 2: the same situation as a change
    // landing between the cut and the image.
    let snaps = snapshots(d.path());
    let newest = snaps.last().unwrap().clone();
    let mut img = std::fs::read(&newest).unwrap();
    let body_len = img.len() - 4;
    img[16..24].copy_from_slice(&2u64.to_le_bytes());
    let crc = crc32fast::hash(&img[..body_len]);
    img[body_len..].copy_from_slice(&crc.to_le_bytes());
    for p in &snaps {
        std::fs::remove_file(p).unwrap();
    }
    std::fs::write(d.path().join("snapshot-00000000000000000002.snap"), img).unwrap();
    let s = open_tuned(d.path(), no_auto_compaction());
    assert_eq!(s.stats().records_replayed, 1);
    assert_eq!(s.history(None, 100), expect_history);
    assert_eq!(s.all(), expect_all);
    assert_eq!(s.next_change_id(), c.id + 1);
    assert_eq!(s.intents(None).len(), 1);
}
