//! Changes that name the offsets they expect (`ChangeDraft::expect`): applied whole, or refused
//! whole naming every queue that moved.

use crate::common;
use common::*;

use ferromq_offsets::{ChangeDraft, OffsetError, QueueKey};

fn draft(op: &str, set: Vec<(QueueKey, Option<i64>)>) -> ChangeDraft {
    ChangeDraft {
        actor: "127.0.0.1:5123".into(),
        operation: op.into(),
        scope: format!("{op} scope"),
        set,
        ..ChangeDraft::default()
    }
}

/// A change that expects offsets applies only if every queue still holds them; a commit that
/// moved one queue in between refuses all of it, naming the queue, and changes nothing.
#[tokio::test]
async fn a_change_whose_expected_offsets_moved_is_refused_whole() {
    let d = tempdir();
    let s = open(d.path());
    s.commit(vec![(k("g", "t", 0), 10), (k("g", "t", 1), 11)])
        .await
        .unwrap();
    let history = s.history(None, 100).len();
    let planned = |expect: Vec<(QueueKey, Option<i64>)>| ChangeDraft {
        expect,
        ..draft(
            "reset",
            vec![(k("g", "t", 0), Some(0)), (k("g", "t", 1), Some(0))],
        )
    };
    // The plan saw 10 and 11; a consumer has committed 12 on queue 1 since.
    s.commit(vec![(k("g", "t", 1), 12)]).await.unwrap();
    let e = s
        .apply_change(planned(vec![
            (k("g", "t", 0), Some(10)),
            (k("g", "t", 1), Some(11)),
        ]))
        .await
        .unwrap_err();
    let OffsetError::Moved(moved) = &e else {
        panic!("expected Moved, got {e}");
    };
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].key, k("g", "t", 1));
    assert_eq!((moved[0].expected, moved[0].actual), (Some(11), Some(12)));
    assert!(e.to_string().contains("g/t/1 expected 11 now 12"), "{e}");
    assert_eq!(s.get("g", "t", 0), Some(10), "nothing applied");
    assert_eq!(s.get("g", "t", 1), Some(12));
    assert_eq!(s.history(None, 100).len(), history, "nothing recorded");
    // An absent offset is expected as None; with the plan re-made, the change applies.
    let c = s
        .apply_change(planned(vec![
            (k("g", "t", 0), Some(10)),
            (k("g", "t", 1), Some(12)),
            (k("g", "t", 2), None),
        ]))
        .await
        .unwrap();
    assert_eq!(c.entries.len(), 2);
    assert_eq!(s.get("g", "t", 0), Some(0));
    assert_eq!(s.get("g", "t", 1), Some(0));
}
