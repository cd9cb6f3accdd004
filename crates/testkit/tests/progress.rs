//! Consumer progress through the broker's service: pre-set offsets for never-seen groups,
//! intents, dry runs with impact, clamping, all-or-nothing multi-group resets, reset guards
//! against stale commits, clone/delete/import/export, history and undo, lag, and upstream's
//! 222/314/208 codes.

use std::time::Duration;

use bytes::Bytes;
use ferromq_broker::progress::model::*;
use ferromq_client::requests::{self, Pull};
use ferromq_client::MqClient;
use ferromq_offsets::{Change, Intent};
use ferromq_protocol::body::{self, TopicConfig};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::Cluster;
use serde_json::{json, Value};

async fn fill(client: &MqClient, addr: &str, topic: &str, queues: i32, per_queue: i32) {
    client
        .create_topic(addr, &TopicConfig::new(topic, queues))
        .await
        .unwrap();
    for q in 0..queues {
        for i in 0..per_queue {
            client
                .send(
                    addr,
                    "P",
                    topic,
                    q,
                    Bytes::from(format!("{topic}-{q}-{i}")),
                    "",
                )
                .await
                .unwrap();
        }
    }
}

fn reset(groups: &[&str], topic: &str, spec: ResetSpec) -> ResetRequest {
    ResetRequest {
        groups: groups.iter().map(|g| g.to_string()).collect(),
        topics: vec![TopicScope {
            topic: topic.into(),
            queues: None,
        }],
        spec,
        dry_run: false,
        allow_intents: false,
    }
}

async fn history(client: &MqClient, addr: &str) -> Vec<Change> {
    let h: HistoryResult = client
        .ferro(addr, rq::FERRO_HISTORY, &json!({"limit": 100}))
        .await
        .unwrap();
    h.changes
}

#[tokio::test]
async fn preset_for_a_never_seen_group_is_durable_and_visible_everywhere() {
    let mut c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    fill(&client, &addr, "Pre", 2, 10).await;
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
    let plan: PlanResult = client
        .ferro(
            &addr,
            rq::FERRO_RESET_OFFSETS,
            &reset(&["Fresh"], "Pre", per_queue),
        )
        .await
        .unwrap();
    assert!(plan.change_id.is_some());
    c.restart_broker(0).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    assert_eq!(
        client.query_offset(&addr, "Fresh", "Pre", 0).await.unwrap(),
        Some(4)
    );
    assert_eq!(
        client.query_offset(&addr, "Fresh", "Pre", 1).await.unwrap(),
        Some(7)
    );
    let all = client
        .remoting
        .invoke(&addr, RemotingCommand::request(rq::GET_ALL_CONSUMER_OFFSET))
        .await
        .unwrap();
    let doc: Value = ferromq_protocol::json::from_slice(&all.body).unwrap();
    assert_eq!(doc["offsetTable"]["Pre@Fresh"]["1"], 7);
    let stats = client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::GET_CONSUME_STATS).with_ext("consumerGroup", "Fresh"),
        )
        .await
        .unwrap();
    let v: Value = ferromq_protocol::json::from_slice(&stats.body).unwrap();
    let table = body::read_mq_map(&v["offsetTable"]);
    let q1 = table.iter().find(|(mq, _)| mq.queue_id == 1).unwrap();
    assert_eq!(q1.1["consumerOffset"], 7);
    assert_eq!(q1.1["brokerOffset"], 10);
    // The group's first pull starts exactly at the pre-set offset.
    let p = Pull {
        group: "Fresh",
        topic: "Pre",
        queue_id: 1,
        offset: 7,
        max_msgs: 1,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    assert_eq!(
        &client.pull(&addr, &p).await.unwrap().messages[0].body[..],
        b"Pre-1-7"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn intents_wait_for_topics_and_groups_that_do_not_exist_yet() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    // Refused without allowIntents, stored with it.
    let e = client
        .ferro::<_, PlanResult>(
            &addr,
            rq::FERRO_RESET_OFFSETS,
            &reset(&["Later"], "Future", ResetSpec::Latest),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(rs::TOPIC_NOT_EXIST));
    let mut req = reset(&["Later"], "Future", ResetSpec::Latest);
    req.allow_intents = true;
    let plan: PlanResult = client
        .ferro(&addr, rq::FERRO_RESET_OFFSETS, &req)
        .await
        .unwrap();
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
    client
        .ferro::<_, PlanResult>(&addr, rq::FERRO_RESET_OFFSETS, &req)
        .await
        .unwrap();
    // The topic appears and fills; the group asks for the first time.
    fill(&client, &addr, "Future", 2, 5).await;
    assert_eq!(
        client
            .query_offset(&addr, "Later", "Future", 0)
            .await
            .unwrap(),
        Some(5),
        "latest when first asked"
    );
    assert_eq!(
        client
            .query_offset(&addr, "Later", "Future", 1)
            .await
            .unwrap(),
        Some(3),
        "the queue-specific intent wins"
    );
    let intents: Value = client
        .ferro(&addr, rq::FERRO_INTENTS, &json!({}))
        .await
        .unwrap();
    let left: Vec<Intent> = serde_json::from_value(intents["intents"].clone()).unwrap();
    assert_eq!(
        left.len(),
        1,
        "the queue-specific intent is used up, the topic-wide one stays: {left:?}"
    );
    let ops: Vec<String> = history(&client, &addr)
        .await
        .into_iter()
        .map(|c| c.operation)
        .collect();
    assert_eq!(ops.iter().filter(|o| *o == "intent").count(), 2);
    c.shutdown().await;
}

#[tokio::test]
async fn dry_run_reports_impact_and_changes_nothing() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    fill(&client, &addr, "Dry", 1, 20).await;
    client
        .update_offset(&addr, "G", "Dry", 0, 10)
        .await
        .unwrap();
    let mut req = reset(&["G"], "Dry", ResetSpec::ShiftBy(-6));
    req.dry_run = true;
    let plan: PlanResult = client
        .ferro(&addr, rq::FERRO_RESET_OFFSETS, &req)
        .await
        .unwrap();
    let q = &plan.queues[0];
    assert_eq!(
        (q.current, q.target, q.replayed, q.skipped),
        (Some(10), Some(4), 6, 0)
    );
    assert!(q.window_from_ms.is_some() && q.window_to_ms >= q.window_from_ms);
    assert!(plan.change_id.is_none());
    assert_eq!(
        client.query_offset(&addr, "G", "Dry", 0).await.unwrap(),
        Some(10)
    );
    assert!(history(&client, &addr).await.is_empty());
    // Forward beyond the end: clamped, and the clamp is reported.
    req.spec = ResetSpec::Offset(1000);
    let plan: PlanResult = client
        .ferro(&addr, rq::FERRO_RESET_OFFSETS, &req)
        .await
        .unwrap();
    let q = &plan.queues[0];
    assert_eq!(
        (q.requested, q.target, q.clamped, q.skipped),
        (Some(1000), Some(20), true, 10)
    );
    c.shutdown().await;
}

#[tokio::test]
async fn bad_requests_change_nothing() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    fill(&client, &addr, "B", 2, 3).await;
    let cases = vec![
        (
            reset(&["G"], "B", ResetSpec::Offset(-1)),
            rs::INVALID_PARAMETER,
        ),
        (
            reset(&["bad group"], "B", ResetSpec::Earliest),
            rs::INVALID_PARAMETER,
        ),
        (
            reset(&["G", "ok"], "bad/topic", ResetSpec::Earliest),
            rs::INVALID_PARAMETER,
        ),
        (
            reset(&["G"], "B", ResetSpec::Duration(-5)),
            rs::INVALID_PARAMETER,
        ),
        (
            ResetRequest {
                topics: vec![TopicScope {
                    topic: "B".into(),
                    queues: Some(vec![0, 9]),
                }],
                ..reset(&["G"], "B", ResetSpec::Earliest)
            },
            rs::INVALID_PARAMETER,
        ),
        // One bad group among good ones: all-or-nothing.
        (
            reset(&["G1", "G2", "x@y"], "B", ResetSpec::Latest),
            rs::INVALID_PARAMETER,
        ),
    ];
    for (req, code) in cases {
        let e = client
            .ferro::<_, PlanResult>(&addr, rq::FERRO_RESET_OFFSETS, &req)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(code), "{req:?}: {e}");
    }
    let bad_json = RemotingCommand::request(rq::FERRO_RESET_OFFSETS).with_body(
        &b"{\"groups\":[\"G\"],\"spec\":{\"kind\":\"timestamp\",\"value\":\"yesterday\"}}"[..],
    );
    assert_eq!(
        client
            .remoting
            .invoke_raw(&addr, bad_json)
            .await
            .unwrap()
            .code,
        rs::INVALID_PARAMETER
    );
    assert!(history(&client, &addr).await.is_empty());
    assert_eq!(
        client.query_offset(&addr, "G1", "B", 0).await.unwrap(),
        Some(0),
        "young queue default, nothing stored"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn reset_is_authoritative_over_stale_commits_and_redirects_pulls() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    fill(&client, &addr, "Auth", 1, 100).await;
    client
        .update_offset(&addr, "G", "Auth", 0, 90)
        .await
        .unwrap();
    let plan: PlanResult = client
        .ferro(
            &addr,
            rq::FERRO_RESET_OFFSETS,
            &reset(&["G"], "Auth", ResetSpec::Offset(20)),
        )
        .await
        .unwrap();
    assert_eq!(plan.queues[0].replayed, 70);
    // The client still believes it is at 90: its commit is acknowledged but ignored, and its
    // pull is moved to the reset target.
    client
        .update_offset(&addr, "G", "Auth", 0, 90)
        .await
        .unwrap();
    assert_eq!(
        client.query_offset(&addr, "G", "Auth", 0).await.unwrap(),
        Some(20)
    );
    let mut p = Pull {
        group: "G",
        topic: "Auth",
        queue_id: 0,
        offset: 90,
        max_msgs: 8,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: Some(90),
    };
    let moved = client.pull(&addr, &p).await.unwrap();
    assert_eq!(
        (moved.code, moved.next_begin_offset),
        (rs::PULL_OFFSET_MOVED, 20)
    );
    assert_eq!(
        client.query_offset(&addr, "G", "Auth", 0).await.unwrap(),
        Some(20),
        "the pull's commit was ignored too"
    );
    // It pulls from 20 (up to 28), then keeps committing its old 90: never past what it pulled.
    p.offset = 20;
    p.commit_offset = None;
    assert_eq!(client.pull(&addr, &p).await.unwrap().messages.len(), 8);
    client
        .update_offset(&addr, "G", "Auth", 0, 90)
        .await
        .unwrap();
    assert_eq!(
        client.query_offset(&addr, "G", "Auth", 0).await.unwrap(),
        Some(20)
    );
    client
        .update_offset(&addr, "G", "Auth", 0, 27)
        .await
        .unwrap();
    assert_eq!(
        client.query_offset(&addr, "G", "Auth", 0).await.unwrap(),
        Some(27)
    );
    c.shutdown().await;
}

#[tokio::test]
async fn multi_group_reset_clone_delete_undo_and_history() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    fill(&client, &addr, "M1", 2, 10).await;
    fill(&client, &addr, "M2", 1, 10).await;
    for (g, t, q, o) in [
        ("A", "M1", 0, 5),
        ("A", "M1", 1, 6),
        ("A", "M2", 0, 7),
        ("B", "M1", 0, 1),
    ] {
        client.update_offset(&addr, g, t, q, o).await.unwrap();
    }
    let plan: PlanResult = client
        .ferro(
            &addr,
            rq::FERRO_RESET_OFFSETS,
            &reset(&["A", "B"], "M1", ResetSpec::Latest),
        )
        .await
        .unwrap();
    assert_eq!(plan.queues.len(), 4);
    let reset_id = plan.change_id.unwrap();
    assert_eq!(
        client.query_offset(&addr, "B", "M1", 1).await.unwrap(),
        Some(10)
    );
    // CLONE_GROUP_OFFSET without a topic clones every topic of the source (upstream: none).
    let clone = RemotingCommand::request(rq::CLONE_GROUP_OFFSET)
        .with_ext("srcGroup", "A")
        .with_ext("destGroup", "C");
    client.remoting.invoke(&addr, clone).await.unwrap();
    assert_eq!(
        client.query_offset(&addr, "C", "M2", 0).await.unwrap(),
        Some(7)
    );
    assert_eq!(
        client.query_offset(&addr, "C", "M1", 1).await.unwrap(),
        Some(10)
    );
    // Undo the reset: before-values come back (B had no offset on M1:1 → deleted again).
    let undo: PlanResult = client
        .ferro(
            &addr,
            rq::FERRO_UNDO,
            &UndoRequest {
                change_id: reset_id,
                dry_run: false,
            },
        )
        .await
        .unwrap();
    assert!(undo.change_id.unwrap() > reset_id);
    assert_eq!(
        client.query_offset(&addr, "A", "M1", 0).await.unwrap(),
        Some(5)
    );
    assert_eq!(
        client.query_offset(&addr, "A", "M1", 1).await.unwrap(),
        Some(6)
    );
    let q = requests::query_consumer_offset("B", "M1", 1).with_ext("setZeroIfNotFound", false);
    assert_eq!(
        client.remoting.invoke_raw(&addr, q).await.unwrap().code,
        rs::QUERY_NOT_FOUND
    );
    // Delete A's offsets on M2, with a dry run first.
    let del = DeleteRequest {
        group: "A".into(),
        topics: Some(vec!["M2".into()]),
        dry_run: true,
    };
    let plan: PlanResult = client
        .ferro(&addr, rq::FERRO_DELETE_OFFSETS, &del)
        .await
        .unwrap();
    assert_eq!(plan.queues[0].target, None);
    assert_eq!(
        client.query_offset(&addr, "A", "M2", 0).await.unwrap(),
        Some(7)
    );
    client
        .ferro::<_, PlanResult>(
            &addr,
            rq::FERRO_DELETE_OFFSETS,
            &DeleteRequest {
                dry_run: false,
                ..del
            },
        )
        .await
        .unwrap();
    let q = requests::query_consumer_offset("A", "M2", 0).with_ext("setZeroIfNotFound", false);
    assert_eq!(
        client.remoting.invoke_raw(&addr, q).await.unwrap().code,
        rs::QUERY_NOT_FOUND
    );
    let changes = history(&client, &addr).await;
    let ops: Vec<&str> = changes.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(
        ops,
        vec!["delete", "undo", "clone", "reset"],
        "newest first"
    );
    assert_eq!(changes[1].undo_of, Some(reset_id));
    assert!(changes.iter().all(|c| c.actor.starts_with("127.0.0.1:")));
    let e = client
        .ferro::<_, PlanResult>(
            &addr,
            rq::FERRO_UNDO,
            &UndoRequest {
                change_id: 999,
                dry_run: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(rs::QUERY_NOT_FOUND));
    c.shutdown().await;
}

#[tokio::test]
async fn invoke_broker_to_reset_offset_both_forms() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    fill(&client, &addr, "Inv", 2, 6).await;
    // Timestamp form: a time before every message → 0 on each queue; the group never existed.
    let by_time = RemotingCommand::request(rq::INVOKE_BROKER_TO_RESET_OFFSET)
        .with_ext("group", "Never")
        .with_ext("topic", "Inv")
        .with_ext("timestamp", t0 - 60_000)
        .with_ext("isForce", true);
    let r = client.remoting.invoke(&addr, by_time).await.unwrap();
    let v: Value = ferromq_protocol::json::from_slice(&r.body).unwrap();
    assert_eq!(body::read_mq_map(&v["offsetTable"]).len(), 2);
    assert_eq!(
        client.query_offset(&addr, "Never", "Inv", 1).await.unwrap(),
        Some(0)
    );
    // -1 = skip accumulated messages.
    let skip = RemotingCommand::request(rq::INVOKE_BROKER_TO_RESET_OFFSET)
        .with_ext("group", "Never")
        .with_ext("topic", "Inv")
        .with_ext("timestamp", -1);
    client.remoting.invoke(&addr, skip).await.unwrap();
    assert_eq!(
        client.query_offset(&addr, "Never", "Inv", 0).await.unwrap(),
        Some(6)
    );
    // Queue/offset form, out of range: clamped and said so.
    let one = RemotingCommand::request(rq::INVOKE_BROKER_TO_RESET_OFFSET)
        .with_ext("group", "Never")
        .with_ext("topic", "Inv")
        .with_ext("queueId", 1)
        .with_ext("offset", 99)
        .with_ext("timestamp", 0);
    let r = client.remoting.invoke(&addr, one).await.unwrap();
    assert!(r.remark.unwrap_or_default().contains("clamped"));
    assert_eq!(
        client.query_offset(&addr, "Never", "Inv", 1).await.unwrap(),
        Some(6)
    );
    let missing = RemotingCommand::request(rq::INVOKE_BROKER_TO_RESET_OFFSET)
        .with_ext("group", "G")
        .with_ext("topic", "Nope")
        .with_ext("timestamp", -1);
    assert_eq!(
        client
            .remoting
            .invoke_raw(&addr, missing)
            .await
            .unwrap()
            .code,
        rs::TOPIC_NOT_EXIST
    );
    c.shutdown().await;
}

#[tokio::test]
async fn import_export_lag_and_topic_deletion() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    fill(&client, &addr, "Imp", 2, 8).await;
    // Upstream's consumerOffset.json (fastjson: unquoted numeric keys), incl. a topic not here yet.
    let doc = "{\"offsetTable\":{\"Imp@Old\":{0:3,1:5},\"Gone@Old\":{0:2}}}";
    let plan: PlanResult = client
        .ferro(
            &addr,
            rq::FERRO_IMPORT_OFFSETS,
            &ImportRequest {
                records: vec![],
                rocketmq_json: Some(doc.into()),
                by_time: false,
                dry_run: false,
            },
        )
        .await
        .unwrap();
    assert_eq!((plan.queues.len(), plan.intents.len()), (2, 1));
    let lag: GroupLag = client
        .ferro(
            &addr,
            rq::FERRO_DESCRIBE_GROUP,
            &DescribeRequest {
                group: "Old".into(),
                topics: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(lag.total_lag, (8 - 3) + (8 - 5));
    assert!(lag.queues.iter().all(|q| q.lag_ms >= 0));
    assert!(lag.online_clients.is_empty());
    let exported: Value = client
        .ferro(
            &addr,
            rq::FERRO_EXPORT_OFFSETS,
            &ExportRequest {
                groups: Some(vec!["Old".into()]),
                after: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    let records: Vec<OffsetRecord> = serde_json::from_value(exported["records"].clone()).unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.store_time_ms.is_some()));
    // Re-applied by time on another group: lands on the same offsets.
    let moved: Vec<OffsetRecord> = records
        .iter()
        .map(|r| OffsetRecord {
            group: "New".into(),
            offset: 0,
            ..r.clone()
        })
        .collect();
    client
        .ferro::<_, PlanResult>(
            &addr,
            rq::FERRO_IMPORT_OFFSETS,
            &ImportRequest {
                records: moved,
                rocketmq_json: None,
                by_time: true,
                dry_run: false,
            },
        )
        .await
        .unwrap();
    // Store times have millisecond resolution and several messages share one: by time, the
    // position never moves past the original and lands on a message stored at the same time.
    let new = client
        .query_offset(&addr, "New", "Imp", 1)
        .await
        .unwrap()
        .unwrap();
    assert!(
        new <= 5,
        "by-time import must not skip past the original offset: {new}"
    );
    let original = records.iter().find(|r| r.queue_id == 1).unwrap();
    let p = Pull {
        group: "Chk",
        topic: "Imp",
        queue_id: 1,
        offset: new,
        max_msgs: 1,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    let at = client.pull(&addr, &p).await.unwrap();
    assert_eq!(Some(at.messages[0].store_timestamp), original.store_time_ms);
    // Deleting the topic cleans its offsets.
    client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::DELETE_TOPIC_IN_BROKER).with_ext("topic", "Imp"),
        )
        .await
        .unwrap();
    let exported: Value = client
        .ferro(
            &addr,
            rq::FERRO_EXPORT_OFFSETS,
            &ExportRequest {
                groups: None,
                after: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(exported["records"].as_array().unwrap().len(), 0);
    let _ = Duration::from_secs(1);
    c.shutdown().await;
}

#[tokio::test]
async fn deleting_a_group_records_its_offsets_and_commits_need_real_queues() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    fill(&client, &addr, "Del", 2, 4).await;
    client
        .update_offset(&addr, "Gone", "Del", 1, 3)
        .await
        .unwrap();
    let e = client
        .update_offset(&addr, "Gone", "Del", 7, 3)
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
    assert_eq!(
        client.remoting.invoke_raw(&addr, bad).await.unwrap().code,
        rs::INVALID_PARAMETER
    );
    assert_eq!(
        client.query_offset(&addr, "Gone", "Del", 1).await.unwrap(),
        Some(3)
    );
    let del = RemotingCommand::request(rq::DELETE_SUBSCRIPTIONGROUP)
        .with_ext("groupName", "Gone")
        .with_ext("cleanOffset", true);
    client.remoting.invoke(&addr, del).await.unwrap();
    let q = requests::query_consumer_offset("Gone", "Del", 1).with_ext("setZeroIfNotFound", false);
    assert_eq!(
        client.remoting.invoke_raw(&addr, q).await.unwrap().code,
        rs::QUERY_NOT_FOUND
    );
    let changes = history(&client, &addr).await;
    assert_eq!(changes[0].operation, "delete");
    assert_eq!(changes[0].entries[0].before, Some(3));
    // ... and so it can be undone.
    client
        .ferro::<_, PlanResult>(
            &addr,
            rq::FERRO_UNDO,
            &UndoRequest {
                change_id: changes[0].id,
                dry_run: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        client.query_offset(&addr, "Gone", "Del", 1).await.unwrap(),
        Some(3)
    );
    c.shutdown().await;
}
