//! Search by store time, retention, and the statuses retention produces.

mod common;

use common::*;
use ferromq_store::{BoundaryType, GetStatus};

const H: i64 = 3_600_000;

#[tokio::test]
async fn offset_by_time_binary_search() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Times 1000, 1000, 2000, 2000, 2000, 3000, ... (two or three per step).
    let mut times = Vec::new();
    for i in 0..40i64 {
        let t = 1000 * (1 + i / 3);
        store
            .put_at(vec![record("T", 0, b"t", None)], t)
            .await
            .unwrap();
        times.push(t);
    }
    let lower = |ts| store.offset_by_time("T", 0, ts, BoundaryType::Lower);
    let upper = |ts| store.offset_by_time("T", 0, ts, BoundaryType::Upper);
    for ts in [
        0i64, 999, 1000, 1500, 2000, 7000, 7001, 14000, 14001, 99_999,
    ] {
        let first_ge = times.iter().position(|&t| t >= ts).unwrap_or(times.len()) as i64;
        assert_eq!(lower(ts), first_ge, "lower {ts}");
        let last_le = times.iter().rposition(|&t| t <= ts).map_or(0, |p| p as i64);
        assert_eq!(upper(ts), last_le, "upper {ts}");
    }
    assert_eq!(store.store_time_at("T", 0, 5), Some(2000));
    assert_eq!(store.store_time_at("T", 0, 40), None);
    assert_eq!(store.earliest_store_time("T", 0), 1000);
    assert_eq!(store.earliest_store_time("none", 0), -1);
    assert_eq!(store.offset_by_time("none", 0, 5, BoundaryType::Lower), 0);
}

#[tokio::test]
async fn retention_deletes_old_segments_and_moves_min_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = 100 * H;
    // ~4 segments of old messages (1 KiB bodies, 64 KiB segments), then new ones.
    for i in 0..200 {
        store
            .put_at(
                vec![record("T", i % 2, &[1u8; 1024], None)],
                now - 10 * H + i as i64,
            )
            .await
            .unwrap();
    }
    let old_end = store.commit_log_max_offset();
    for i in 0..100 {
        store
            .put_at(vec![record("T", i % 2, &[2u8; 1024], None)], now)
            .await
            .unwrap();
    }
    let before = segments(dir.path()).len();
    assert!(before >= 4);
    assert_eq!(
        store.run_retention_at(now - 20 * H).unwrap(),
        0,
        "nothing is old yet"
    );
    let deleted = store.run_retention_at(now).unwrap();
    assert!(deleted >= 2, "deleted {deleted}");
    assert_eq!(segments(dir.path()).len(), before - deleted);
    let log_min = store.commit_log_min_offset();
    assert!(log_min > 0 && log_min <= old_end);
    for q in 0..2 {
        let min = store.min_offset("T", q);
        assert!(min > 0);
        assert_eq!(store.max_offset("T", q), 150);
        // Reading below min is OffsetTooSmall; at min, the first surviving record.
        let g = store.get("T", q, 0, 4, 1 << 20, &all);
        assert_eq!(
            (g.status, g.next_begin_offset),
            (GetStatus::OffsetTooSmall, min)
        );
        let g = store.get("T", q, min, 4, 1 << 20, &all);
        assert_eq!(g.status, GetStatus::Found);
        assert_eq!(decode(&g.body)[0].0, min);
        assert!(store.read_record(log_min - 100).is_none());
    }
    // Consume-queue files wholly below min are gone (16 entries per file here).
    let files = std::fs::read_dir(dir.path().join("consumequeue/T/0"))
        .unwrap()
        .count() as i64;
    assert!(files <= 150 / 16 + 1 - store.min_offset("T", 0) / 16);
    // Everything survives a reopen, including the min offsets.
    let mins: Vec<i64> = (0..2).map(|q| store.min_offset("T", q)).collect();
    store.shutdown().unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.commit_log_min_offset(), log_min);
    for q in 0..2 {
        assert_eq!(store.min_offset("T", q), mins[q as usize]);
        assert_eq!(store.max_offset("T", q), 150);
    }
    // The current segment is never deleted, however old.
    let all_gone = store.run_retention_at(now + 1000 * H).unwrap();
    assert!(all_gone >= 1);
    assert_eq!(segments(dir.path()).len(), 1);
    let g = store.get("T", 0, store.min_offset("T", 0), 4, 1 << 20, &all);
    assert!(matches!(
        g.status,
        GetStatus::Found | GetStatus::OffsetOverflowOne
    ));
}
