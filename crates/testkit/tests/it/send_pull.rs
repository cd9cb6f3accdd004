//! Producing and consuming with ferromq's own client: SEND_MESSAGE (10), SEND_MESSAGE_V2 (310),
//! SEND_BATCH_MESSAGE (320), PULL_MESSAGE (11) with long polling and tag filtering,
//! QUERY/UPDATE_CONSUMER_OFFSET (14/15), GET_MAX/MIN_OFFSET (30/31),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_EARLIEST_MSG_STORETIME (32), VIEW_MESSAGE_BY_ID (33),
//! GET_ALL_CONSUMER_OFFSET (43).

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::requests::{self, Pull};
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::message::{
    decode_offset_msg_id, decode_record, encode_properties, BatchItem, Properties,
};
use ferromq_testkit::Cluster;

fn props(tags: &str, keys: &str) -> String {
    let mut p = Properties::new();
    p.insert("TAGS".into(), tags.into());
    p.insert("KEYS".into(), keys.into());
    encode_properties(&p)
}

fn pull<'a>(topic: &'a str, q: i32, offset: i64) -> Pull<'a> {
    Pull {
        group: "G",
        topic,
        queue_id: q,
        offset,
        max_msgs: 32,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    }
}

#[tokio::test]
async fn send_v1_v2_and_pull_round_trip() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    client
        .create_topic(&addr, &TopicConfig::new("T1", 2))
        .await
        .unwrap();
    let r1 = client
        .send(
            &addr,
            "P",
            "T1",
            1,
            Bytes::from_static(b"v2-body"),
            &props("TagA", "k1"),
        )
        .await
        .unwrap();
    let v1 = requests::send_v1(
        "P",
        "T1",
        1,
        Bytes::from_static(b"v1-body"),
        &props("TagB", "k2"),
    );
    let r2 = client.remoting.invoke(&addr, v1).await.unwrap();
    assert_eq!(r1.queue_offset, 0);
    assert_eq!(r2.ext("queueOffset"), Some("1"));
    let (host, phys) = decode_offset_msg_id(&r1.msg_id).expect("msgId is an offsetMsgId");
    assert_eq!(host.to_string(), addr);
    assert_eq!(phys, 0);

    let got = client.pull(&addr, &pull("T1", 1, 0)).await.unwrap();
    assert_eq!(got.code, rs::SUCCESS);
    assert_eq!(got.next_begin_offset, 2);
    assert_eq!((got.min_offset, got.max_offset), (0, 2));
    let m = &got.messages;
    assert_eq!(m.len(), 2);
    assert_eq!(&m[0].body[..], b"v2-body");
    assert_eq!(m[0].topic, "T1");
    assert_eq!(
        m[0].properties_map().get("TAGS").map(String::as_str),
        Some("TagA")
    );
    assert_eq!(
        m[0].properties_map().get("CLUSTER").map(String::as_str),
        Some("DefaultCluster")
    );
    assert_eq!(m[1].queue_offset, 1);
    assert_eq!(m[0].offset_msg_id(), r1.msg_id);
    assert!(m[0].store_timestamp >= m[0].born_timestamp);

    // VIEW_MESSAGE_BY_ID: the record at the id's commit-log offset.
    let view = RemotingCommandExt::view(phys);
    let rec = client.remoting.invoke(&addr, view).await.unwrap();
    let (decoded, _) = decode_record(&rec.body).unwrap();
    assert_eq!(&decoded.body[..], b"v2-body");
    c.shutdown().await;
}

struct RemotingCommandExt;
impl RemotingCommandExt {
    fn view(offset: i64) -> ferromq_protocol::RemotingCommand {
        ferromq_protocol::RemotingCommand::request(rq::VIEW_MESSAGE_BY_ID)
            .with_ext("offset", offset)
    }
}

#[tokio::test]
async fn batch_send_gets_consecutive_offsets() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    client
        .create_topic(&addr, &TopicConfig::new("TB", 1))
        .await
        .unwrap();
    let items: Vec<BatchItem> = (0..5)
        .map(|i| BatchItem {
            flag: 0,
            body: Bytes::from(format!("m{i}")),
            properties: props("T", &format!("k{i}")),
        })
        .collect();
    let r = client
        .remoting
        .invoke(&addr, requests::send_batch("P", "TB", 0, &items))
        .await
        .unwrap();
    assert_eq!(r.ext("queueOffset"), Some("0"));
    assert_eq!(r.ext("msgId").unwrap().split(',').count(), 5);
    let got = client.pull(&addr, &pull("TB", 0, 0)).await.unwrap();
    let bodies: Vec<String> = got
        .messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(bodies, vec!["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(
        got.messages
            .iter()
            .map(|m| m.queue_offset)
            .collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    c.shutdown().await;
}

#[tokio::test]
async fn pull_statuses_and_tag_filter() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    client
        .create_topic(&addr, &TopicConfig::new("TF", 1))
        .await
        .unwrap();
    for (i, tag) in ["A", "B", "A", "C"].iter().enumerate() {
        client
            .send(
                &addr,
                "P",
                "TF",
                0,
                Bytes::from(format!("{i}")),
                &props(tag, ""),
            )
            .await
            .unwrap();
    }
    let mut p = pull("TF", 0, 0);
    p.subscription = Some("A");
    let got = client.pull(&addr, &p).await.unwrap();
    assert_eq!(
        got.messages.iter().map(|m| &m.body[..]).collect::<Vec<_>>(),
        vec![b"0", b"2"]
    );
    // Only non-matching entries left: retry immediately, moving past them.
    let mut p2 = pull("TF", 0, 3);
    p2.subscription = Some("A");
    let none = client.pull(&addr, &p2).await.unwrap();
    assert_eq!(none.code, rs::PULL_RETRY_IMMEDIATELY);
    assert_eq!(none.next_begin_offset, 4);
    // At the end: not found; beyond the end: offset moved back to max.
    assert_eq!(
        client.pull(&addr, &pull("TF", 0, 4)).await.unwrap().code,
        rs::PULL_NOT_FOUND
    );
    let moved = client.pull(&addr, &pull("TF", 0, 99)).await.unwrap();
    assert_eq!(
        (moved.code, moved.next_begin_offset),
        (rs::PULL_OFFSET_MOVED, 4)
    );
    // Unknown topic and illegal queue id.
    let bad_topic = client.pull(&addr, &pull("Nope", 0, 0)).await.unwrap();
    assert_eq!(bad_topic.code, rs::TOPIC_NOT_EXIST);
    assert_eq!(
        client.pull(&addr, &pull("TF", 7, 0)).await.unwrap().code,
        rs::INVALID_PARAMETER
    );
    // Without a subscription in the request and no heartbeat: SUBSCRIPTION_NOT_EXIST.
    let mut p3 = pull("TF", 0, 0);
    p3.subscription = None;
    assert_eq!(
        client.pull(&addr, &p3).await.unwrap().code,
        rs::SUBSCRIPTION_NOT_EXIST
    );
    c.shutdown().await;
}

#[tokio::test]
async fn long_poll_wakes_on_arrival_and_times_out() {
    let c = Cluster::start(1).await;
    let client = std::sync::Arc::new(c.client());
    let addr = c.broker_addr(0);
    client
        .create_topic(&addr, &TopicConfig::new("TL", 1))
        .await
        .unwrap();
    // Times out with PULL_NOT_FOUND after about the suspend time.
    let mut p = pull("TL", 0, 0);
    p.suspend_ms = 600;
    let t0 = Instant::now();
    assert_eq!(
        client.pull(&addr, &p).await.unwrap().code,
        rs::PULL_NOT_FOUND
    );
    let held = t0.elapsed();
    assert!(
        held >= Duration::from_millis(550) && held < Duration::from_secs(3),
        "held {held:?}"
    );
    // Woken at once by a new message, long before the 20 s suspend time.
    let (cl, a) = (client.clone(), addr.clone());
    let waiter = tokio::spawn(async move {
        let mut p = Pull {
            group: "G",
            topic: "TL",
            queue_id: 0,
            offset: 0,
            max_msgs: 32,
            subscription: Some("*"),
            suspend_ms: 20_000,
            commit_offset: None,
        };
        p.suspend_ms = 20_000;
        let t0 = Instant::now();
        let r = cl.pull(&a, &p).await.unwrap();
        (r, t0.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    client
        .send(&addr, "P", "TL", 0, Bytes::from_static(b"wake"), "")
        .await
        .unwrap();
    let (r, waited) = waiter.await.unwrap();
    assert_eq!(r.code, rs::SUCCESS);
    assert_eq!(&r.messages[0].body[..], b"wake");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    c.shutdown().await;
}

#[tokio::test]
async fn consumer_offsets_and_queue_positions() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    client
        .create_topic(&addr, &TopicConfig::new("TO", 2))
        .await
        .unwrap();
    // A new group on an empty (young) queue starts at 0.
    assert_eq!(
        client.query_offset(&addr, "G1", "TO", 0).await.unwrap(),
        Some(0)
    );
    let before = ferromq_now();
    for i in 0..10 {
        client
            .send(&addr, "P", "TO", 0, Bytes::from(format!("{i}")), "")
            .await
            .unwrap();
    }
    client.update_offset(&addr, "G1", "TO", 0, 7).await.unwrap();
    assert_eq!(
        client.query_offset(&addr, "G1", "TO", 0).await.unwrap(),
        Some(7)
    );
    // Commit with a pull (COMMIT_OFFSET flag).
    let mut p = pull("TO", 0, 7);
    p.group = "G1";
    p.commit_offset = Some(8);
    client.pull(&addr, &p).await.unwrap();
    assert_eq!(
        client.query_offset(&addr, "G1", "TO", 0).await.unwrap(),
        Some(8)
    );
    // Explicitly asking not to get zero for an unknown group.
    let q = requests::query_consumer_offset("G2", "TO", 0).with_ext("setZeroIfNotFound", false);
    assert_eq!(
        client.remoting.invoke_raw(&addr, q).await.unwrap().code,
        rs::QUERY_NOT_FOUND
    );
    // Committing to an unknown topic is refused.
    let e = client
        .update_offset(&addr, "G1", "NoTopic", 0, 1)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(rs::TOPIC_NOT_EXIST));

    assert_eq!(client.max_offset(&addr, "TO", 0).await.unwrap(), 10);
    let min = client
        .remoting
        .invoke(&addr, requests::topic_queue(rq::GET_MIN_OFFSET, "TO", 0))
        .await
        .unwrap();
    assert_eq!(min.ext("offset"), Some("0"));
    let found = client
        .remoting
        .invoke(&addr, requests::search_offset("TO", 0, before - 1000))
        .await
        .unwrap();
    assert_eq!(found.ext("offset"), Some("0"));
    let found = client
        .remoting
        .invoke(
            &addr,
            requests::search_offset("TO", 0, ferromq_now() + 60_000),
        )
        .await
        .unwrap();
    assert_eq!(found.ext("offset"), Some("10"));
    let earliest = client
        .remoting
        .invoke(
            &addr,
            requests::topic_queue(rq::GET_EARLIEST_MSG_STORETIME, "TO", 0),
        )
        .await
        .unwrap();
    let ts: i64 = earliest.ext("timestamp").unwrap().parse().unwrap();
    assert!(ts >= before - 5 && ts <= ferromq_now());

    // GET_ALL_CONSUMER_OFFSET: upstream's consumerOffset.json document.
    let all = client
        .remoting
        .invoke(
            &addr,
            ferromq_protocol::RemotingCommand::request(rq::GET_ALL_CONSUMER_OFFSET),
        )
        .await
        .unwrap();
    let doc: serde_json::Value = ferromq_protocol::json::from_slice(&all.body).unwrap();
    assert_eq!(doc["offsetTable"]["TO@G1"]["0"], 8);
    c.shutdown().await;
}

fn ferromq_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn messages_and_offsets_survive_restart() {
    let mut c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    client
        .create_topic(&addr, &TopicConfig::new("TR", 1))
        .await
        .unwrap();
    for i in 0..20 {
        client
            .send(&addr, "P", "TR", 0, Bytes::from(format!("{i}")), "")
            .await
            .unwrap();
    }
    client.update_offset(&addr, "G", "TR", 0, 13).await.unwrap();
    c.restart_broker(0).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    assert_eq!(client.max_offset(&addr, "TR", 0).await.unwrap(), 20);
    assert_eq!(
        client.query_offset(&addr, "G", "TR", 0).await.unwrap(),
        Some(13)
    );
    let got = client.pull(&addr, &pull("TR", 0, 13)).await.unwrap();
    assert_eq!(got.messages.len(), 7);
    assert_eq!(&got.messages[0].body[..], b"13");
    c.shutdown().await;
}
