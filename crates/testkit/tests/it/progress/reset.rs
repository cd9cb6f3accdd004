//! FERRO_RESET_OFFSETS: pre-sets for never-seen groups, intents, dry runs, refusals, and the
//! guard against stale commits and pulls after a reset.

use ferromq_broker::progress::model::*;
use ferromq_offsets::Intent;
use ferromq_protocol::body;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use serde_json::{json, Value};

use crate::progress::fixtures::{pull, reset, Fixture};

#[tokio::test]
async fn preset_for_a_never_seen_group_is_durable_and_visible_everywhere() {
    let mut f = Fixture::start().await;
    f.fill("Pre", 2, 10).await;
    let per_queue = ResetSpec::PerQueue(vec![
        QueueOffset {
            topic: "Pre".into(),
            queue_id: 0,
            offset: 4,
        },
        QueueOffset {
            topic: "Pre".into(),
            queue_id: 1,
            offset: 7,
        },
    ]);
    let plan = f.reset(&reset(&["Fresh"], "Pre", per_queue)).await;
    assert!(plan.change_id.is_some());
    f.restart().await;
    assert_eq!(f.offset("Fresh", "Pre", 0).await, Some(4));
    assert_eq!(f.offset("Fresh", "Pre", 1).await, Some(7));
    let all = f
        .invoke(RemotingCommand::request(rq::GET_ALL_CONSUMER_OFFSET))
        .await;
    let doc: Value = ferromq_protocol::json::from_slice(&all.body).unwrap();
    assert_eq!(doc["offsetTable"]["Pre@Fresh"]["1"], 7);
    let stats = f
        .invoke(RemotingCommand::request(rq::GET_CONSUME_STATS).with_ext("consumerGroup", "Fresh"))
        .await;
    let v: Value = ferromq_protocol::json::from_slice(&stats.body).unwrap();
    let table = body::read_mq_map(&v["offsetTable"]);
    let q1 = table.iter().find(|(mq, _)| mq.queue_id == 1).unwrap();
    assert_eq!(q1.1["consumerOffset"], 7);
    assert_eq!(q1.1["brokerOffset"], 10);
    // The group's first pull starts exactly at the pre-set offset.
    let p = pull("Fresh", "Pre", 1, 7, 1);
    assert_eq!(
        &f.client.pull(&f.addr, &p).await.unwrap().messages[0].body[..],
        b"Pre-1-7"
    );
    f.shutdown().await;
}

#[tokio::test]
async fn intents_wait_for_topics_and_groups_that_do_not_exist_yet() {
    let f = Fixture::start().await;
    // Refused without allowIntents, stored with it.
    let e = f
        .try_ferro::<_, PlanResult>(
            rq::FERRO_RESET_OFFSETS,
            &reset(&["Later"], "Future", ResetSpec::Latest),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(rs::TOPIC_NOT_EXIST));
    let mut req = reset(&["Later"], "Future", ResetSpec::Latest);
    req.allow_intents = true;
    let plan = f.reset(&req).await;
    assert_eq!(plan.intents.len(), 1);
    let mut req = reset(
        &["Later"],
        "Future",
        ResetSpec::PerQueue(vec![QueueOffset {
            topic: "Future".into(),
            queue_id: 1,
            offset: 3,
        }]),
    );
    req.allow_intents = true;
    f.reset(&req).await;
    // The topic appears and fills; the group asks for the first time.
    f.fill("Future", 2, 5).await;
    assert_eq!(
        f.offset("Later", "Future", 0).await,
        Some(5),
        "latest when first asked"
    );
    assert_eq!(
        f.offset("Later", "Future", 1).await,
        Some(3),
        "the queue-specific intent wins"
    );
    let intents: Value = f.ferro(rq::FERRO_INTENTS, &json!({})).await;
    let left: Vec<Intent> = serde_json::from_value(intents["intents"].clone()).unwrap();
    assert_eq!(
        left.len(),
        1,
        "the queue-specific intent is used up, the topic-wide one stays: {left:?}"
    );
    let ops: Vec<String> = f.history().await.into_iter().map(|c| c.operation).collect();
    assert_eq!(ops.iter().filter(|o| *o == "intent").count(), 2);
    f.shutdown().await;
}

#[tokio::test]
async fn dry_run_reports_impact_and_changes_nothing() {
    let f = Fixture::start().await;
    f.fill("Dry", 1, 20).await;
    f.commit("G", "Dry", 0, 10).await;
    let mut req = reset(&["G"], "Dry", ResetSpec::ShiftBy(-6));
    req.dry_run = true;
    let plan = f.reset(&req).await;
    let q = &plan.queues[0];
    assert_eq!(
        (q.current, q.target, q.replayed, q.skipped),
        (Some(10), Some(4), 6, 0)
    );
    assert!(q.window_from_ms.is_some() && q.window_to_ms >= q.window_from_ms);
    assert!(plan.change_id.is_none());
    assert_eq!(f.offset("G", "Dry", 0).await, Some(10));
    assert!(f.history().await.is_empty());
    // Forward beyond the end: clamped, and the clamp is reported.
    req.spec = ResetSpec::Offset(1000);
    let plan = f.reset(&req).await;
    let q = &plan.queues[0];
    assert_eq!(
        (q.requested, q.target, q.clamped, q.skipped),
        (Some(1000), Some(20), true, 10)
    );
    f.shutdown().await;
}

#[tokio::test]
async fn bad_requests_change_nothing() {
    let f = Fixture::start().await;
    f.fill("B", 2, 3).await;
    let cases = vec![
        reset(&["G"], "B", ResetSpec::Offset(-1)),
        reset(&["bad group"], "B", ResetSpec::Earliest),
        reset(&["G", "ok"], "bad/topic", ResetSpec::Earliest),
        reset(&["G"], "B", ResetSpec::Duration(-5)),
        ResetRequest {
            topics: vec![TopicScope {
                topic: "B".into(),
                queues: Some(vec![0, 9]),
            }],
            ..reset(&["G"], "B", ResetSpec::Earliest)
        },
        // One bad group among good ones: all-or-nothing.
        reset(&["G1", "G2", "x@y"], "B", ResetSpec::Latest),
    ];
    for req in cases {
        let e = f
            .try_ferro::<_, PlanResult>(rq::FERRO_RESET_OFFSETS, &req)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(rs::INVALID_PARAMETER), "{req:?}: {e}");
    }
    let bad_json = RemotingCommand::request(rq::FERRO_RESET_OFFSETS).with_body(
        &b"{\"groups\":[\"G\"],\"spec\":{\"kind\":\"timestamp\",\"value\":\"yesterday\"}}"[..],
    );
    assert_eq!(f.code(bad_json).await, rs::INVALID_PARAMETER);
    assert!(f.history().await.is_empty());
    assert_eq!(
        f.offset("G1", "B", 0).await,
        Some(0),
        "young queue default, nothing stored"
    );
    f.shutdown().await;
}

#[tokio::test]
async fn reset_is_authoritative_over_stale_commits_and_redirects_pulls() {
    let f = Fixture::start().await;
    f.fill("Auth", 1, 100).await;
    f.commit("G", "Auth", 0, 90).await;
    let plan = f.reset(&reset(&["G"], "Auth", ResetSpec::Offset(20))).await;
    assert_eq!(plan.queues[0].replayed, 70);
    // The client still believes it is at 90: its commit is acknowledged but ignored, and its
    // pull is moved to the reset target.
    f.commit("G", "Auth", 0, 90).await;
    assert_eq!(f.offset("G", "Auth", 0).await, Some(20));
    let mut p = pull("G", "Auth", 0, 90, 8);
    p.commit_offset = Some(90);
    let moved = f.client.pull(&f.addr, &p).await.unwrap();
    assert_eq!(
        (moved.code, moved.next_begin_offset),
        (rs::PULL_OFFSET_MOVED, 20)
    );
    assert_eq!(
        f.offset("G", "Auth", 0).await,
        Some(20),
        "the pull's commit was ignored too"
    );
    // It pulls from 20 (up to 28), then keeps committing its old 90: never past what it pulled.
    p.offset = 20;
    p.commit_offset = None;
    assert_eq!(f.client.pull(&f.addr, &p).await.unwrap().messages.len(), 8);
    f.commit("G", "Auth", 0, 90).await;
    assert_eq!(f.offset("G", "Auth", 0).await, Some(20));
    f.commit("G", "Auth", 0, 27).await;
    assert_eq!(f.offset("G", "Auth", 0).await, Some(27));
    f.shutdown().await;
}
