//! PopTable end to end over its journal: deliveries, acks, redelivery with attempts counted,
//! FIFO blocking, resets from the offset table, and state after a reopen (a process kill keeps
//! every journaled write: the journal is written with one `write` per record).

use ferromq_pop::{AckOutcome, PopConfig, PopRequest, PopTable, ReceiptHandle};
use ferromq_protocol::body::progress::QueueKey;

fn key() -> QueueKey {
    QueueKey {
        group: "g".into(),
        topic: "t".into(),
        queue_id: 0,
    }
}

fn req(now_ms: i64, max: usize) -> PopRequest {
    PopRequest {
        now_ms,
        invisible_ms: 1000,
        max,
        fifo: false,
        max_attempts: 3,
    }
}

/// A queue with messages at 0..len: reads hand out consecutive offsets.
fn reader(len: i64) -> impl FnOnce(i64, usize) -> (Vec<i64>, i64) {
    move |from, max| {
        let to = (from + max as i64).min(len);
        ((from..to).collect(), to)
    }
}

/// Commits the frontier as the broker would, against a table value held in `table`.
fn settle(t: &PopTable, table: &mut Option<i64>) {
    while let Some(c) = t.begin_commit(&key()) {
        let ok = *table == c.expected;
        if ok {
            *table = Some(c.new);
        }
        t.end_commit(&c, ok).unwrap();
        if !ok {
            break;
        }
    }
}

#[test]
fn deliver_ack_commit_and_redeliver() {
    let dir = tempfile::tempdir().unwrap();
    let t = PopTable::open(PopConfig::new(dir.path().into(), false)).unwrap();
    let mut table = None;
    let d = t
        .pop(&key(), || table, || 0, &req(0, 4), reader(10))
        .unwrap();
    assert_eq!(d.iter().map(|d| d.offset).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert!(d.iter().all(|d| d.lease.attempt == 1));
    settle(&t, &mut table);
    assert_eq!(
        table,
        Some(0),
        "the start is recorded in the offset table at once"
    );
    for i in [1, 0, 3] {
        assert_eq!(
            t.ack(&key(), || table, &d[i].handle).unwrap(),
            AckOutcome::Acked
        );
    }
    assert_eq!(
        t.ack(&key(), || table, &d[0].handle).unwrap(),
        AckOutcome::AlreadyDone
    );
    settle(&t, &mut table);
    assert_eq!(table, Some(2), "2 is still in flight");
    // 2's window ends: it comes back first, attempt 2, before fresh messages.
    let d2 = t
        .pop(&key(), || table, || 0, &req(1500, 2), reader(10))
        .unwrap();
    assert_eq!(
        d2.iter()
            .map(|d| (d.offset, d.lease.attempt))
            .collect::<Vec<_>>(),
        [(2, 2), (4, 1)]
    );
    match t.ack(&key(), || table, &d[2].handle).unwrap() {
        AckOutcome::Superseded(2) => {}
        other => panic!("old handle of a redelivered message: {other:?}"),
    }
    // Expired again twice: the third redelivery is past max_attempts (3).
    let d3 = t
        .pop(&key(), || table, || 0, &req(3000, 1), reader(10))
        .unwrap();
    assert_eq!(
        (d3[0].offset, d3[0].lease.attempt, d3[0].to_dead_letter),
        (2, 3, false)
    );
    let d4 = t
        .pop(&key(), || table, || 0, &req(4500, 1), reader(10))
        .unwrap();
    assert_eq!(
        (d4[0].offset, d4[0].lease.attempt, d4[0].to_dead_letter),
        (2, 4, true)
    );
}

#[test]
fn change_invisible_supersedes_the_old_handle() {
    let dir = tempfile::tempdir().unwrap();
    let t = PopTable::open(PopConfig::new(dir.path().into(), false)).unwrap();
    let d = t.pop(&key(), || None, || 0, &req(0, 1), reader(5)).unwrap();
    let mut table = None;
    settle(&t, &mut table);
    let n = t
        .change_invisible(&key(), || table, &d[0].handle, 500, 10_000)
        .unwrap();
    assert_eq!(n.lease.deadline_ms, 10_500);
    assert!(t
        .change_invisible(&key(), || table, &d[0].handle, 600, 1)
        .is_err());
    // Not visible at 5 s (the old window would have ended at 1 s).
    let again = t
        .pop(&key(), || table, || 0, &req(5000, 1), reader(1))
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(
        t.ack(&key(), || table, &n.handle).unwrap(),
        AckOutcome::Acked
    );
}

#[test]
fn fifo_hands_out_nothing_new_while_the_queue_has_unacked_messages() {
    let dir = tempfile::tempdir().unwrap();
    let t = PopTable::open(PopConfig::new(dir.path().into(), false)).unwrap();
    let fifo = |now_ms| PopRequest {
        fifo: true,
        ..req(now_ms, 2)
    };
    let d = t.pop(&key(), || None, || 0, &fifo(0), reader(10)).unwrap();
    assert_eq!(d.len(), 2);
    let mut table = None;
    settle(&t, &mut table);
    assert!(t
        .pop(&key(), || table, || 0, &fifo(10), reader(10))
        .unwrap()
        .is_empty());
    t.ack(&key(), || table, &d[0].handle).unwrap();
    assert!(t
        .pop(&key(), || table, || 0, &fifo(20), reader(10))
        .unwrap()
        .is_empty());
    // Its window ends: redelivered alone, in order, before anything new.
    let r = t
        .pop(&key(), || table, || 0, &fifo(2000), reader(10))
        .unwrap();
    assert_eq!(r.iter().map(|d| d.offset).collect::<Vec<_>>(), [1]);
    t.ack(&key(), || table, &r[0].handle).unwrap();
    settle(&t, &mut table);
    let n = t
        .pop(&key(), || table, || 0, &fifo(2100), reader(10))
        .unwrap();
    assert_eq!(n.iter().map(|d| d.offset).collect::<Vec<_>>(), [2, 3]);
}

#[test]
fn a_reset_in_the_offset_table_outdates_every_handle() {
    let dir = tempfile::tempdir().unwrap();
    let t = PopTable::open(PopConfig::new(dir.path().into(), false)).unwrap();
    let d = t
        .pop(&key(), || None, || 0, &req(0, 3), reader(10))
        .unwrap();
    let mut table = None;
    settle(&t, &mut table);
    // An operator resets the group to 7.
    table = Some(7);
    assert_eq!(
        t.ack(&key(), || table, &d[0].handle).unwrap(),
        AckOutcome::BeforeReset
    );
    let r = t
        .pop(&key(), || table, || 0, &req(10, 2), reader(10))
        .unwrap();
    assert_eq!(r.iter().map(|d| d.offset).collect::<Vec<_>>(), [7, 8]);
    assert_ne!(r[0].handle.epoch, d[0].handle.epoch);
    // Handles of before the reset change nothing, even after the state moved on.
    assert_eq!(
        t.ack(&key(), || table, &d[1].handle).unwrap(),
        AckOutcome::BeforeReset
    );
    t.ack(&key(), || table, &r[0].handle).unwrap();
    settle(&t, &mut table);
    assert_eq!(table, Some(8));
}

#[test]
fn state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = None;
    let handles: Vec<ReceiptHandle>;
    {
        let t = PopTable::open(PopConfig::new(dir.path().into(), false)).unwrap();
        let d = t
            .pop(&key(), || None, || 0, &req(0, 5), reader(10))
            .unwrap();
        settle(&t, &mut table);
        t.ack(&key(), || table, &d[0].handle).unwrap();
        t.ack(&key(), || table, &d[2].handle).unwrap();
        settle(&t, &mut table);
        handles = d.iter().map(|d| d.handle).collect();
    }
    let t = PopTable::open(PopConfig::new(dir.path().into(), false)).unwrap();
    assert_eq!(table, Some(1));
    assert_eq!(t.in_flight(&key()).0, 3);
    // Acked before the restart stays acked; in flight stays in flight under the same handle.
    assert_eq!(
        t.ack(&key(), || table, &handles[2]).unwrap(),
        AckOutcome::AlreadyDone
    );
    assert_eq!(
        t.ack(&key(), || table, &handles[1]).unwrap(),
        AckOutcome::Acked
    );
    // Not visible again before the window ends; fresh ones continue after the cursor.
    let d = t
        .pop(&key(), || table, || 0, &req(100, 2), reader(10))
        .unwrap();
    assert_eq!(d.iter().map(|d| d.offset).collect::<Vec<_>>(), [5, 6]);
    let seqs: Vec<u64> = d.iter().map(|d| d.handle.seq).collect();
    assert!(
        seqs.iter().all(|s| !handles.iter().any(|h| h.seq == *s)),
        "lease numbers are not reused"
    );
}

#[test]
fn snapshots_keep_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PopConfig {
        compact_bytes: 2_000,
        ..PopConfig::new(dir.path().into(), true)
    };
    let mut table = None;
    {
        let t = PopTable::open(cfg.clone()).unwrap();
        for round in 0..50 {
            let d = t
                .pop(&key(), || table, || 0, &req(round, 2), reader(1000))
                .unwrap();
            settle(&t, &mut table);
            t.ack(&key(), || table, &d[0].handle).unwrap();
            settle(&t, &mut table);
        }
    }
    assert!(dir.path().join("snapshot.json").exists());
    let t = PopTable::open(cfg).unwrap();
    assert_eq!(t.in_flight(&key()).0, 50);
    assert_eq!(table, Some(1));
}

#[test]
fn forgotten_states_stay_forgotten_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let t = PopTable::open(PopConfig::new(dir.path().into(), false)).unwrap();
        t.pop(&key(), || None, || 0, &req(0, 3), reader(10))
            .unwrap();
        assert_eq!(t.in_flight(&key()).0, 3);
        assert_eq!(t.forget(|k| k.group == "g").unwrap(), 1);
        assert_eq!(t.in_flight(&key()).0, 0);
    }
    let t = PopTable::open(PopConfig::new(dir.path().into(), false)).unwrap();
    assert_eq!(t.in_flight(&key()).0, 0);
}

/// A snapshot (damaged, or written by hand) whose next lease number is the largest: the table
/// opens and hands out messages instead of overflowing (found by the `pop_journal` fuzz target
/// on the replay side of the same counter).
#[test]
fn a_snapshot_at_the_largest_lease_number_still_pops() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("snapshot.json"),
        format!(r#"{{"generation":0,"next_seq":{},"queues":[]}}"#, u64::MAX),
    )
    .unwrap();
    let t = PopTable::open(PopConfig::new(dir.path().into(), false)).unwrap();
    let d = t
        .pop(&key(), || None, || 0, &req(0, 2), reader(10))
        .unwrap();
    assert_eq!(d.iter().map(|d| d.offset).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(
        t.ack(&key(), || None, &d[0].handle).unwrap(),
        AckOutcome::Acked
    );
}
