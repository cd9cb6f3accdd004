//! FERRO_IMPORT_OFFSETS (upstream's consumerOffset.json, and records by time),
//! FERRO_EXPORT_OFFSETS, lag (FERRO_DESCRIBE_GROUP), and a topic's offsets going with it.

use ferromq_broker::progress::model::*;
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use serde_json::{json, Value};

use crate::progress::fixtures::{pull, request, Fixture};

/// An import of `records` or of upstream's `rocketmq_json`, applied.
fn import(records: Vec<OffsetRecord>, rocketmq_json: Option<&str>, by_time: bool) -> ImportRequest {
    request(json!({
        "records": records,
        "rocketmqJson": rocketmq_json,
        "byTime": by_time,
        "dryRun": false,
    }))
}

/// An export of `groups` (every group with `None`), not paged.
fn export(groups: Option<Vec<String>>) -> ExportRequest {
    ExportRequest {
        groups,
        after: None,
        limit: None,
    }
}

#[tokio::test]
async fn import_export_lag_and_topic_deletion() {
    let f = Fixture::start().await;
    f.fill("Imp", 2, 8).await;
    // Upstream's consumerOffset.json (fastjson: unquoted numeric keys), incl. a topic not here yet.
    let doc = "{\"offsetTable\":{\"Imp@Old\":{0:3,1:5},\"Gone@Old\":{0:2}}}";
    let plan: PlanResult = f
        .ferro(rq::FERRO_IMPORT_OFFSETS, &import(vec![], Some(doc), false))
        .await;
    assert_eq!((plan.queues.len(), plan.intents.len()), (2, 1));
    let lag: GroupLag = f
        .ferro(
            rq::FERRO_DESCRIBE_GROUP,
            &DescribeRequest {
                group: "Old".into(),
                topics: None,
            },
        )
        .await;
    assert_eq!(lag.total_lag, (8 - 3) + (8 - 5));
    assert!(lag.queues.iter().all(|q| q.lag_ms >= 0));
    assert!(lag.online_clients.is_empty());
    let exported: Value = f
        .ferro(rq::FERRO_EXPORT_OFFSETS, &export(Some(vec!["Old".into()])))
        .await;
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
    let _: PlanResult = f
        .ferro(rq::FERRO_IMPORT_OFFSETS, &import(moved, None, true))
        .await;
    // Store times have millisecond resolution and several messages share one: by time, the
    // position never moves past the original and lands on a message stored at the same time.
    let new = f.offset("New", "Imp", 1).await.unwrap();
    assert!(
        new <= 5,
        "by-time import must not skip past the original offset: {new}"
    );
    let original = records.iter().find(|r| r.queue_id == 1).unwrap();
    let at = f
        .client
        .pull(&f.addr, &pull("Chk", "Imp", 1, new, 1))
        .await
        .unwrap();
    assert_eq!(Some(at.messages[0].store_timestamp), original.store_time_ms);
    // Deleting the topic cleans its offsets.
    f.invoke(RemotingCommand::request(rq::DELETE_TOPIC_IN_BROKER).with_ext("topic", "Imp"))
        .await;
    let exported: Value = f.ferro(rq::FERRO_EXPORT_OFFSETS, &export(None)).await;
    assert_eq!(exported["records"].as_array().unwrap().len(), 0);
    f.shutdown().await;
}
