//! Recorded changes: multi-group resets, clone, delete (FERRO_DELETE_OFFSETS and upstream's
//! DELETE_SUBSCRIPTIONGROUP), undo and history.

use ferromq_broker::progress::model::*;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;

use serde_json::json;

use crate::progress::fixtures::{request, reset, Fixture};

#[tokio::test]
async fn multi_group_reset_clone_delete_undo_and_history() {
    let f = Fixture::start().await;
    f.fill("M1", 2, 10).await;
    f.fill("M2", 1, 10).await;
    for (g, t, q, o) in [
        ("A", "M1", 0, 5),
        ("A", "M1", 1, 6),
        ("A", "M2", 0, 7),
        ("B", "M1", 0, 1),
    ] {
        f.commit(g, t, q, o).await;
    }
    let plan = f.reset(&reset(&["A", "B"], "M1", ResetSpec::Latest)).await;
    assert_eq!(plan.queues.len(), 4);
    let reset_id = plan.change_id.unwrap();
    assert_eq!(f.offset("B", "M1", 1).await, Some(10));
    // CLONE_GROUP_OFFSET without a topic clones every topic of the source (upstream: none).
    let clone = RemotingCommand::request(rq::CLONE_GROUP_OFFSET)
        .with_ext("srcGroup", "A")
        .with_ext("destGroup", "C");
    f.invoke(clone).await;
    assert_eq!(f.offset("C", "M2", 0).await, Some(7));
    assert_eq!(f.offset("C", "M1", 1).await, Some(10));
    // Undo the reset: before-values come back (B had no offset on M1:1 → deleted again).
    let undo = f.undo(reset_id).await.unwrap();
    assert!(undo.change_id.unwrap() > reset_id);
    assert_eq!(f.offset("A", "M1", 0).await, Some(5));
    assert_eq!(f.offset("A", "M1", 1).await, Some(6));
    assert_eq!(f.stored_code("B", "M1", 1).await, rs::QUERY_NOT_FOUND);
    // Delete A's offsets on M2, with a dry run first.
    let del: DeleteRequest = request(json!({"group": "A", "topics": ["M2"], "dryRun": true}));
    let plan: PlanResult = f.ferro(rq::FERRO_DELETE_OFFSETS, &del).await;
    assert_eq!(plan.queues[0].target, None);
    assert_eq!(f.offset("A", "M2", 0).await, Some(7));
    let del = DeleteRequest {
        dry_run: false,
        ..del
    };
    let _: PlanResult = f.ferro(rq::FERRO_DELETE_OFFSETS, &del).await;
    assert_eq!(f.stored_code("A", "M2", 0).await, rs::QUERY_NOT_FOUND);
    let changes = f.history().await;
    let ops: Vec<&str> = changes.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(
        ops,
        vec!["delete", "undo", "clone", "reset"],
        "newest first"
    );
    assert_eq!(changes[1].undo_of, Some(reset_id));
    assert!(changes.iter().all(|c| c.actor.starts_with("127.0.0.1:")));
    let e = f.undo(999).await.unwrap_err();
    assert_eq!(e.code(), Some(rs::QUERY_NOT_FOUND));
    f.shutdown().await;
}

#[tokio::test]
async fn deleting_a_group_records_its_offsets_and_commits_need_real_queues() {
    let f = Fixture::start().await;
    f.fill("Del", 2, 4).await;
    f.commit("Gone", "Del", 1, 3).await;
    let e = f
        .client
        .update_offset(&f.addr, "Gone", "Del", 7, 3)
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(rs::INVALID_PARAMETER),
        "queue 7 does not exist"
    );
    // A malformed header changes nothing.
    let bad = RemotingCommand::request(rq::DELETE_SUBSCRIPTIONGROUP)
        .with_ext("groupName", "Gone")
        .with_ext("cleanOffset", "perhaps");
    assert_eq!(f.code(bad).await, rs::INVALID_PARAMETER);
    assert_eq!(f.offset("Gone", "Del", 1).await, Some(3));
    let del = RemotingCommand::request(rq::DELETE_SUBSCRIPTIONGROUP)
        .with_ext("groupName", "Gone")
        .with_ext("cleanOffset", true);
    f.invoke(del).await;
    assert_eq!(f.stored_code("Gone", "Del", 1).await, rs::QUERY_NOT_FOUND);
    let changes = f.history().await;
    assert_eq!(changes[0].operation, "delete");
    assert_eq!(changes[0].entries[0].before, Some(3));
    // ... and so it can be undone.
    f.undo(changes[0].id).await.unwrap();
    assert_eq!(f.offset("Gone", "Del", 1).await, Some(3));
    f.shutdown().await;
}
