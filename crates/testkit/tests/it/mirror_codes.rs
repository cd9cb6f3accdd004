//! The broker side of `ferromq mirror`: FERRO_MIRROR_APPEND (9010) copies pulled records into a
//! queue only at the expected offset and all-or-nothing, keeping born time and properties and
//! stamping the source position; FERRO_SYNC_OFFSETS (9011) stores offsets except those of
//! groups online here and of queues that do not exist.

use bytes::Bytes;
use ferromq_client::requests::{self, Pull};
use ferromq_protocol::body::{ConsumerData, HeartbeatData, SubscriptionData, TopicConfig};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::message::{decode_records, find_property, prop};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::Cluster;
use serde_json::{json, Value};

async fn pull_body(c: &ferromq_client::MqClient, addr: &str, topic: &str, offset: i64) -> Bytes {
    let p = Pull {
        group: "reader",
        topic,
        queue_id: 0,
        offset,
        max_msgs: 32,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    let r = c
        .remoting
        .invoke_raw(addr, requests::pull(&p))
        .await
        .unwrap();
    assert_eq!(r.code, rs::SUCCESS);
    r.body.clone()
}

fn append(topic: &str, expected: i64, body: Bytes) -> RemotingCommand {
    RemotingCommand::request(rq::FERRO_MIRROR_APPEND)
        .with_ext("topic", topic)
        .with_ext("queueId", 0)
        .with_ext("sourceBroker", "src-a")
        .with_ext("origin", "primary")
        .with_ext("expectedQueueOffset", expected)
        .with_body(body)
}

#[tokio::test]
async fn mirror_append_is_conditional_and_keeps_what_matters() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    for t in ["Src", "Dst"] {
        client
            .create_topic(&addr, &TopicConfig::new(t, 1))
            .await
            .unwrap();
    }
    // The "source": three messages with a key and a delay level already spent.
    for i in 0..3 {
        client
            .send(
                &addr,
                "P",
                "Src",
                0,
                Bytes::from(format!("m{i}")),
                "KEYS\u{1}k1\u{2}",
            )
            .await
            .unwrap();
    }
    let src = pull_body(&client, &addr, "Src", 0).await;
    let src_msgs = decode_records(&src).unwrap();
    // Records of another topic are refused.
    let r = client
        .remoting
        .invoke_raw(&addr, append("Dst", 0, src.clone()))
        .await
        .unwrap();
    assert_eq!(r.code, rs::MESSAGE_ILLEGAL, "{:?}", r.remark);
    // Copy into a topic of the same name on "another cluster": here, a second topic whose records
    // we rewrite by pulling them from Src and appending to Src again at the wrong offset first.
    let r = client
        .remoting
        .invoke_raw(&addr, append("Src", 0, src.clone()))
        .await
        .unwrap();
    assert_eq!(r.code, rs::QUEUE_OFFSET_MISMATCH);
    assert_eq!(r.opt_i64("actualQueueOffset").unwrap(), Some(3));
    let r = client
        .remoting
        .invoke_raw(&addr, append("Src", 3, src.clone()))
        .await
        .unwrap();
    assert_eq!(r.code, rs::SUCCESS, "{:?}", r.remark);
    assert_eq!(r.opt_i64("queueOffset").unwrap(), Some(3));
    assert_eq!(r.opt_i64("nextQueueOffset").unwrap(), Some(6));
    let copies = decode_records(&pull_body(&client, &addr, "Src", 3).await).unwrap();
    assert_eq!(copies.len(), 3);
    for (orig, copy) in src_msgs.iter().zip(&copies) {
        assert_eq!(copy.body, orig.body);
        assert_eq!(copy.born_timestamp, orig.born_timestamp);
        assert_eq!(find_property(&copy.properties, prop::KEYS), Some("k1"));
        assert_eq!(
            find_property(&copy.properties, prop::MIRROR_SOURCE),
            Some(format!("src-a|0|{}", orig.queue_offset).as_str())
        );
        assert_eq!(
            find_property(&copy.properties, prop::MIRROR_MSG_ID),
            Some(orig.offset_msg_id().as_str())
        );
        assert_eq!(
            find_property(&copy.properties, prop::MIRROR_ORIGIN),
            Some("primary")
        );
    }
}

#[tokio::test]
async fn sync_offsets_skips_online_groups_and_missing_queues() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    client
        .create_topic(&addr, &TopicConfig::new("T", 2))
        .await
        .unwrap();
    // "live" has a consumer connected here.
    let hb = HeartbeatData {
        client_id: "live-client".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "live".into(),
            subscription_data_set: vec![SubscriptionData::from_expression("T", "*", 1)],
            ..ConsumerData::default()
        }],
        ..HeartbeatData::default()
    };
    client
        .remoting
        .invoke(&addr, requests::heartbeat(&hb))
        .await
        .unwrap();
    let req = json!({"entries": [
        {"group": "fresh", "topic": "T", "queueId": 0, "offset": 7},
        {"group": "live", "topic": "T", "queueId": 0, "offset": 9},
        {"group": "fresh", "topic": "T", "queueId": 5, "offset": 1},
        {"group": "fresh", "topic": "Nope", "queueId": 0, "offset": 1},
    ]});
    let r: Value = client
        .ferro(&addr, rq::FERRO_SYNC_OFFSETS, &req)
        .await
        .unwrap();
    assert_eq!(r["applied"], 1, "{r}");
    assert_eq!(r["skippedOnlineGroups"], json!(["live"]), "{r}");
    assert_eq!(r["rejected"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(
        client.query_offset(&addr, "fresh", "T", 0).await.unwrap(),
        Some(7)
    );
    assert_ne!(
        client.query_offset(&addr, "live", "T", 0).await.unwrap(),
        Some(9)
    );
    // With skipOnlineGroups false (mirror --force-groups) the live group is written too.
    let mut forced = req.clone();
    forced["skipOnlineGroups"] = json!(false);
    let r: Value = client
        .ferro(&addr, rq::FERRO_SYNC_OFFSETS, &forced)
        .await
        .unwrap();
    assert_eq!(r["applied"], 2, "{r}");
    assert_eq!(
        client.query_offset(&addr, "live", "T", 0).await.unwrap(),
        Some(9)
    );
}
