//! Message lookup through the broker with ferromq's own client: QUERY_MESSAGE (12) by key and
//! by unique key (`_UNIQUE_KEY_QUERY`), time ranges, `maxNum`, QUERY_NOT_FOUND, bad input, the
//! index rebuilt after a restart; QUERY_TOPIC_CONSUME_BY_WHO (300) and
//! QUERY_CONSUME_TIME_SPAN (303) from real offsets and subscriptions.

use bytes::Bytes;
use ferromq_client::requests;
use ferromq_client::MqClient;
use ferromq_protocol::body::{
    self, ConsumerData, GroupList, HeartbeatData, QueryConsumeTimeSpanBody, SubscriptionData,
    TopicConfig,
};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::message::{decode_records, encode_properties, Properties};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::Cluster;

const TOPIC: &str = "Lookup";

fn props(keys: &str, uniq: &str) -> String {
    let mut p = Properties::new();
    p.insert("KEYS".into(), keys.into());
    p.insert("UNIQ_KEY".into(), uniq.into());
    encode_properties(&p)
}

fn query(key: &str, max_num: i64, begin: i64, end: i64, unique: bool) -> RemotingCommand {
    let mut r = RemotingCommand::request(rq::QUERY_MESSAGE)
        .with_ext("topic", TOPIC)
        .with_ext("key", key)
        .with_ext("maxNum", max_num)
        .with_ext("beginTimestamp", begin)
        .with_ext("endTimestamp", end);
    if unique {
        r = r.with_ext("_UNIQUE_KEY_QUERY", "true");
    }
    r
}

async fn raw(client: &MqClient, addr: &str, cmd: RemotingCommand) -> RemotingCommand {
    client.remoting.invoke_raw(addr, cmd).await.unwrap()
}

/// Bodies of the messages a QUERY_MESSAGE returned (asserting SUCCESS).
async fn found(client: &MqClient, addr: &str, cmd: RemotingCommand) -> Vec<String> {
    let r = raw(client, addr, cmd).await;
    assert_eq!(r.code, rs::SUCCESS, "{:?}", r.remark);
    assert!(r.req_i64("indexLastUpdatePhyoffset").unwrap() > 0);
    assert!(r.req_i64("indexLastUpdateTimestamp").unwrap() > 0);
    decode_records(&r.body)
        .unwrap()
        .into_iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect()
}

/// Sends `n` messages: body `m<i>`, keys `k<i % 3>` and `every`, unique key `U<i>`.
/// Returns each message's store time.
async fn send_all(client: &MqClient, addr: &str, n: usize) -> Vec<i64> {
    client
        .create_topic(addr, &TopicConfig::new(TOPIC, 2))
        .await
        .unwrap();
    let mut times = Vec::new();
    for i in 0..n {
        let p = props(&format!("k{} every", i % 3), &format!("U{i}"));
        let body = Bytes::from(format!("m{i}"));
        client
            .send(addr, "P", TOPIC, (i % 2) as i32, body, &p)
            .await
            .unwrap();
        let r = found(client, addr, query(&format!("U{i}"), 1, 0, i64::MAX, true)).await;
        assert_eq!(
            r,
            [format!("m{i}")],
            "findable as soon as the send returned"
        );
        let hit = raw(client, addr, query(&format!("U{i}"), 1, 0, i64::MAX, true)).await;
        times.push(decode_records(&hit.body).unwrap()[0].store_timestamp);
        // Distinct store times, so time ranges can split the messages.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    times
}

#[tokio::test]
async fn query_by_key_unique_key_time_range_and_max_num() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    let t = send_all(&client, &addr, 9).await;
    let all = found(&client, &addr, query("k1", 64, 0, i64::MAX, false)).await;
    assert_eq!(all, ["m1", "m4", "m7"]);
    assert_eq!(
        found(&client, &addr, query("U5", 64, 0, i64::MAX, true)).await,
        ["m5"]
    );
    // Time range, inclusive at both ends.
    let r = found(&client, &addr, query("every", 64, t[2], t[4], false)).await;
    assert_eq!(r, ["m2", "m3", "m4"]);
    // maxNum keeps the newest, in commit-log order; above 64 it is lowered, not refused.
    let r = found(&client, &addr, query("every", 2, 0, i64::MAX, false)).await;
    assert_eq!(r, ["m7", "m8"]);
    let r = found(&client, &addr, query("every", 100_000, 0, i64::MAX, false)).await;
    assert_eq!(r.len(), 9);
    // A unique key is not a key, nor a key a unique key.
    for cmd in [
        query("U5", 64, 0, i64::MAX, false),
        query("k1", 64, 0, i64::MAX, true),
    ] {
        assert_eq!(raw(&client, &addr, cmd).await.code, rs::QUERY_NOT_FOUND);
    }
    c.shutdown().await;
}

#[tokio::test]
async fn not_found_and_bad_input_are_answered_never_panics() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    let t = send_all(&client, &addr, 3).await;
    let not_found = [
        query("missing", 64, 0, i64::MAX, false),
        query("U1", 64, 0, i64::MAX, false).with_ext("topic", "OtherTopic"),
        // Outside the time range, an inverted range, no message asked for.
        query("k1", 64, 0, t[0] - 1, false),
        query("k1", 64, t[2], t[0], false),
        query("k1", 0, 0, i64::MAX, false),
        query("k1", -5, 0, i64::MAX, false),
        query("k1", 64, i64::MIN, i64::MIN, false),
    ];
    for cmd in not_found {
        let r = raw(&client, &addr, cmd).await;
        assert_eq!(r.code, rs::QUERY_NOT_FOUND, "{:?}", r.remark);
        assert!(r.remark.is_some_and(|s| !s.is_empty()));
        assert!(r.body.is_empty());
    }
    // Missing or empty header fields: INVALID_PARAMETER naming the field.
    let mut no_key = query("k1", 64, 0, i64::MAX, false);
    no_key.ext_fields.remove("key");
    let mut bad_num = query("k1", 64, 0, i64::MAX, false);
    bad_num.ext_fields.insert("maxNum".into(), "lots".into());
    for (cmd, field) in [
        (no_key, "key"),
        (query("", 64, 0, i64::MAX, false), "key"),
        (bad_num, "maxNum"),
    ] {
        let r = raw(&client, &addr, cmd).await;
        assert_eq!(r.code, rs::INVALID_PARAMETER, "{:?}", r.remark);
        assert!(r.remark.unwrap_or_default().contains(field));
    }
    // The broker still answers.
    assert_eq!(
        found(&client, &addr, query("k0", 64, 0, i64::MAX, false)).await,
        ["m0"]
    );
    c.shutdown().await;
}

#[tokio::test]
async fn index_is_rebuilt_after_restart() {
    let mut c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    send_all(&client, &addr, 6).await;
    c.restart_broker(0).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    assert_eq!(
        found(&client, &addr, query("k2", 64, 0, i64::MAX, false)).await,
        ["m2", "m5"]
    );
    assert_eq!(
        found(&client, &addr, query("U3", 64, 0, i64::MAX, true)).await,
        ["m3"]
    );
    // Messages sent after the restart join the rebuilt index.
    client
        .send(
            &addr,
            "P",
            TOPIC,
            0,
            Bytes::from("late"),
            &props("k2", "UL"),
        )
        .await
        .unwrap();
    assert_eq!(
        found(&client, &addr, query("k2", 64, 0, i64::MAX, false)).await,
        ["m2", "m5", "late"]
    );
    c.shutdown().await;
}

#[tokio::test]
async fn consume_by_who_and_time_span_from_real_state() {
    let c = Cluster::start(1).await;
    let client = c.client();
    let addr = c.broker_addr(0);
    send_all(&client, &addr, 4).await;
    let who = |topic: &str| {
        RemotingCommand::request(rq::QUERY_TOPIC_CONSUME_BY_WHO).with_ext("topic", topic)
    };
    let groups = |r: RemotingCommand| {
        assert_eq!(r.code, rs::SUCCESS, "{:?}", r.remark);
        body::parse::<GroupList>(&r.body).unwrap().group_list
    };
    assert!(groups(raw(&client, &addr, who(TOPIC)).await).is_empty());
    // A group with a committed offset, and an online consumer subscribed to the topic.
    client
        .update_offset(&addr, "committed", TOPIC, 0, 1)
        .await
        .unwrap();
    let hb = HeartbeatData {
        client_id: "lookup-client".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "online".into(),
            subscription_data_set: vec![SubscriptionData::from_expression(TOPIC, "*", 1)],
            ..ConsumerData::default()
        }],
        ..HeartbeatData::default()
    };
    client
        .remoting
        .invoke(&addr, requests::heartbeat(&hb))
        .await
        .unwrap();
    assert_eq!(
        groups(raw(&client, &addr, who(TOPIC)).await),
        ["committed", "online"]
    );
    assert!(groups(raw(&client, &addr, who("Unknown")).await).is_empty());
    let mut no_topic = who(TOPIC);
    no_topic.ext_fields.clear();
    assert_eq!(
        raw(&client, &addr, no_topic).await.code,
        rs::INVALID_PARAMETER
    );

    // QUERY_CONSUME_TIME_SPAN: queue 0 holds m0 and m2; "committed" consumed m0.
    let span = |topic: &str| {
        RemotingCommand::request(rq::QUERY_CONSUME_TIME_SPAN)
            .with_ext("topic", topic)
            .with_ext("group", "committed")
    };
    let r = raw(&client, &addr, span(TOPIC)).await;
    assert_eq!(r.code, rs::SUCCESS, "{:?}", r.remark);
    let body: QueryConsumeTimeSpanBody = body::parse(&r.body).unwrap();
    assert_eq!(body.consume_time_span_set.len(), 2);
    let q0 = &body.consume_time_span_set[0];
    assert_eq!(q0.message_queue.queue_id, 0);
    assert!(q0.min_time_stamp > 0 && q0.min_time_stamp < q0.max_time_stamp);
    assert_eq!(q0.consume_time_stamp, q0.min_time_stamp);
    assert!(q0.delay_time >= 0);
    let q1 = &body.consume_time_span_set[1];
    assert!(q1.min_time_stamp > 0);
    let r = raw(&client, &addr, span("Unknown")).await;
    assert_eq!(r.code, rs::TOPIC_NOT_EXIST);
    c.shutdown().await;
}
