//! Consumer groups with ferromq's own client: HEART_BEAT (34, both body dialects),
//! UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38), NOTIFY_CONSUMER_IDS_CHANGED (40),
//! LOCK/UNLOCK_BATCH_MQ (41/42), CONSUMER_SEND_MSG_BACK (36) with retry and DLQ topics,
//! and delay levels for producers.

use std::time::Duration;

use bytes::Bytes;
use ferromq_client::requests::{self, Pull};
use ferromq_client::MqClient;
use ferromq_protocol::body::{
    self, ConsumerListBody, LockBatchBody, LockBatchResponse, MessageQueue, TopicConfig,
};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::message::{encode_properties, Properties};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::{eventually, Cluster};

fn java_heartbeat(client_id: &str, group: &str, topic: &str) -> RemotingCommand {
    let body = format!(
        r#"{{"clientID":"{client_id}","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",
        "consumeType":"CONSUME_PASSIVELY","groupName":"{group}","messageModel":"CLUSTERING","unitMode":false,
        "subscriptionDataSet":[{{"classFilterMode":false,"codeSet":[],"subString":"*","subVersion":1,"tagsSet":[],"topic":"{topic}"}}]}}],
        "producerDataSet":[]}}"#
    );
    RemotingCommand::request(rq::HEART_BEAT).with_body(body.into_bytes())
}

fn cpp_heartbeat(client_id: &str, group: &str, topic: &str) -> RemotingCommand {
    let body = format!(
        r#"{{"clientID":"{client_id}","consumerDataSet":[{{"consumeFromWhere":0,"consumeType":1,"groupName":"{group}",
        "messageModel":1,"subscriptionDataSet":[{{"subString":"TagA || TagB","subVersion":"1700000000000","topic":"{topic}"}}]}}]}}"#
    );
    RemotingCommand::request(rq::HEART_BEAT).with_body(body.into_bytes())
}

async fn consumer_list(client: &MqClient, addr: &str, group: &str) -> Result<Vec<String>, i32> {
    let req =
        RemotingCommand::request(rq::GET_CONSUMER_LIST_BY_GROUP).with_ext("consumerGroup", group);
    let r = client.remoting.invoke_raw(addr, req).await.unwrap();
    if r.code != rs::SUCCESS {
        return Err(r.code);
    }
    Ok(body::parse::<ConsumerListBody>(&r.body)
        .unwrap()
        .consumer_id_list)
}

#[tokio::test]
async fn membership_notifications_and_heartbeat_subscriptions() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let a = c.client();
    let b = c.client();
    a.create_topic(&addr, &TopicConfig::new("TM", 2))
        .await
        .unwrap();
    assert_eq!(consumer_list(&a, &addr, "GM").await, Err(rs::SYSTEM_ERROR));
    let mut a_inbox = a.remoting.server_requests();
    a.remoting
        .invoke(&addr, java_heartbeat("client-a", "GM", "TM"))
        .await
        .unwrap();
    // The retry topic exists and is routed once the group has a heartbeat.
    eventually(Duration::from_secs(10), "retry topic route", || async {
        a.route("%RETRY%GM")
            .await
            .ok()
            .filter(|r| r.queue_datas.iter().any(|q| q.read_queue_nums == 1))
    })
    .await;
    // A second member joins: the first is told to rebalance.
    b.remoting
        .invoke(&addr, cpp_heartbeat("client-b", "GM", "TM"))
        .await
        .unwrap();
    let notice = tokio::time::timeout(Duration::from_secs(5), a_inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(notice.code, rq::NOTIFY_CONSUMER_IDS_CHANGED);
    assert!(notice.is_oneway());
    assert_eq!(notice.ext("consumerGroup"), Some("GM"));
    assert_eq!(
        consumer_list(&a, &addr, "GM").await.unwrap(),
        vec!["client-a", "client-b"]
    );

    // The C++ heartbeat's subscription ("TagA || TagB") filters pulls that carry none.
    for tag in ["TagA", "TagC", "TagB"] {
        let mut p = Properties::new();
        p.insert("TAGS".into(), tag.into());
        a.send(
            &addr,
            "P",
            "TM",
            0,
            Bytes::from(tag),
            &encode_properties(&p),
        )
        .await
        .unwrap();
    }
    let pull = Pull {
        group: "GM",
        topic: "TM",
        queue_id: 0,
        offset: 0,
        max_msgs: 32,
        subscription: None,
        suspend_ms: 0,
        commit_offset: None,
    };
    let got = b.pull(&addr, &pull).await.unwrap();
    assert_eq!(got.code, rs::SUCCESS);
    let tags: Vec<&[u8]> = got.messages.iter().map(|m| &m.body[..]).collect();
    assert_eq!(tags, vec![b"TagA" as &[u8], b"TagB"]);

    // UNREGISTER_CLIENT removes b and notifies a; closing a's connection empties the group.
    let unreg = RemotingCommand::request(rq::UNREGISTER_CLIENT)
        .with_ext("clientID", "client-b")
        .with_ext("consumerGroup", "GM");
    b.remoting.invoke(&addr, unreg).await.unwrap();
    let notice = tokio::time::timeout(Duration::from_secs(5), a_inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(notice.code, rq::NOTIFY_CONSUMER_IDS_CHANGED);
    assert_eq!(
        consumer_list(&a, &addr, "GM").await.unwrap(),
        vec!["client-a"]
    );
    a.remoting.close();
    eventually(Duration::from_secs(5), "group empty", || async {
        (consumer_list(&b, &addr, "GM").await == Err(rs::SYSTEM_ERROR)).then_some(())
    })
    .await;
    c.shutdown().await;
}

/// A pull of GV/TV queue 0 without a subscription (the broker uses the group's), naming the
/// subscription version the member pulls with.
fn pull_naming_version(version: i64) -> RemotingCommand {
    RemotingCommand::request(rq::PULL_MESSAGE)
        .with_ext("consumerGroup", "GV")
        .with_ext("topic", "TV")
        .with_ext("queueId", "0")
        .with_ext("queueOffset", "0")
        .with_ext("maxMsgNums", "32")
        .with_ext("sysFlag", "0")
        .with_ext("commitOffset", "0")
        .with_ext("suspendTimeoutMillis", "0")
        .with_ext("subVersion", version.to_string())
}

/// Java members stamp their subscription with the moment they subscribed (`subVersion`) and
/// pull without a subscription, naming that version. A member that subscribed earlier
/// heartbeating last must not make the newer member's pulls SUBSCRIPTION_NOT_LATEST: the
/// group keeps the newest subscription, as upstream does.
#[tokio::test]
async fn members_with_different_subscription_versions_both_pull() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    client
        .create_topic(&addr, &TopicConfig::new("TV", 1))
        .await
        .unwrap();
    let heartbeat = |id: &str, version: i64| {
        let body = format!(
            r#"{{"clientID":"{id}","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET",
            "consumeType":"CONSUME_PASSIVELY","groupName":"GV","messageModel":"CLUSTERING","unitMode":false,
            "subscriptionDataSet":[{{"classFilterMode":false,"codeSet":[],"subString":"*","subVersion":{version},"tagsSet":[],"topic":"TV"}}]}}],
            "producerDataSet":[]}}"#
        );
        RemotingCommand::request(rq::HEART_BEAT).with_body(body.into_bytes())
    };
    let newer = c.client();
    let older = c.client();
    newer
        .remoting
        .invoke(&addr, heartbeat("member-new", 2_000))
        .await
        .unwrap();
    older
        .remoting
        .invoke(&addr, heartbeat("member-old", 1_000))
        .await
        .unwrap();
    for (member, version) in [(&newer, 2_000), (&older, 1_000)] {
        let r = member
            .remoting
            .invoke_raw(&addr, pull_naming_version(version))
            .await
            .unwrap();
        assert_eq!(
            r.code,
            rs::PULL_NOT_FOUND,
            "subVersion {version}: {:?}",
            r.remark
        );
    }
    // A heartbeat with a newer subscription still replaces it: a pull naming a version the
    // broker has not seen yet is told to wait for the heartbeat.
    let r = newer
        .remoting
        .invoke_raw(&addr, pull_naming_version(3_000))
        .await
        .unwrap();
    assert_eq!(r.code, rs::SUBSCRIPTION_NOT_LATEST);
    c.shutdown().await;
}

#[tokio::test]
async fn queue_locks_are_exclusive() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    let mqs = vec![
        MessageQueue::new("T", "broker-0", 0),
        MessageQueue::new("T", "broker-0", 1),
    ];
    let lock = |client_id: &str, mqs: Vec<MessageQueue>| {
        let body = LockBatchBody {
            consumer_group: "GL".into(),
            client_id: client_id.into(),
            only_this_broker: false,
            mq_set: mqs,
        };
        RemotingCommand::request(rq::LOCK_BATCH_MQ).with_body(body::to_vec(&body))
    };
    let r = client
        .remoting
        .invoke(&addr, lock("c1", mqs.clone()))
        .await
        .unwrap();
    assert_eq!(
        body::parse::<LockBatchResponse>(&r.body)
            .unwrap()
            .lock_o_k_m_q_set
            .len(),
        2
    );
    let r = client
        .remoting
        .invoke(&addr, lock("c2", mqs.clone()))
        .await
        .unwrap();
    assert!(body::parse::<LockBatchResponse>(&r.body)
        .unwrap()
        .lock_o_k_m_q_set
        .is_empty());
    let unlock = LockBatchBody {
        consumer_group: "GL".into(),
        client_id: "c1".into(),
        only_this_broker: false,
        mq_set: mqs[..1].to_vec(),
    };
    client
        .remoting
        .invoke(
            &addr,
            RemotingCommand::request(rq::UNLOCK_BATCH_MQ).with_body(body::to_vec(&unlock)),
        )
        .await
        .unwrap();
    let r = client
        .remoting
        .invoke(&addr, lock("c2", mqs.clone()))
        .await
        .unwrap();
    assert_eq!(
        body::parse::<LockBatchResponse>(&r.body)
            .unwrap()
            .lock_o_k_m_q_set,
        mqs[..1].to_vec()
    );
    c.shutdown().await;
}

async fn pull_all(
    client: &MqClient,
    addr: &str,
    group: &str,
    topic: &str,
) -> Vec<ferromq_protocol::message::DecodedMessage> {
    let pull = Pull {
        group,
        topic,
        queue_id: 0,
        offset: 0,
        max_msgs: 32,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    };
    client.pull(addr, &pull).await.unwrap().messages
}

#[tokio::test]
async fn send_back_goes_to_retry_then_dlq() {
    // Test config: every delay level is 1 s; at most 2 reconsumes.
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    client
        .create_topic(&addr, &TopicConfig::new("TS", 1))
        .await
        .unwrap();
    let sent = client
        .send(&addr, "P", "TS", 0, Bytes::from_static(b"poison"), "")
        .await
        .unwrap();
    let (_, phys) = ferromq_protocol::message::decode_offset_msg_id(&sent.msg_id).unwrap();
    let back = |offset: i64| {
        RemotingCommand::request(rq::CONSUMER_SEND_MSG_BACK)
            .with_ext("offset", offset)
            .with_ext("group", "GS")
            .with_ext("delayLevel", 0)
            .with_ext("maxReconsumeTimes", 2)
    };
    let mut phys = phys;
    for attempt in 1..=2 {
        client.remoting.invoke(&addr, back(phys)).await.unwrap();
        let retried = eventually(
            Duration::from_secs(10),
            "message in the retry topic",
            || async {
                let m = pull_all(&client, &addr, "GS", "%RETRY%GS").await;
                (m.len() >= attempt).then_some(m)
            },
        )
        .await;
        let m = &retried[attempt - 1];
        assert_eq!(&m.body[..], b"poison");
        assert_eq!(m.reconsume_times, attempt as i32);
        let props = m.properties_map();
        assert_eq!(props.get("RETRY_TOPIC").map(String::as_str), Some("TS"));
        assert!(props.contains_key("ORIGIN_MESSAGE_ID"));
        assert!(!props.contains_key("REAL_TOPIC"));
        phys = m.physical_offset;
    }
    // The third failure exceeds maxReconsumeTimes: dead-letter queue, at once.
    client.remoting.invoke(&addr, back(phys)).await.unwrap();
    let dlq = pull_all(&client, &addr, "GS", "%DLQ%GS").await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(&dlq[0].body[..], b"poison");
    // Looking up a message that does not exist is an error, not a crash.
    let r = client
        .remoting
        .invoke_raw(&addr, back(1 << 40))
        .await
        .unwrap();
    assert_eq!(r.code, rs::SYSTEM_ERROR);
    c.shutdown().await;
}

#[tokio::test]
async fn producer_delay_level_delivers_later() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    client
        .create_topic(&addr, &TopicConfig::new("TD", 1))
        .await
        .unwrap();
    let mut p = Properties::new();
    p.insert("DELAY".into(), "3".into());
    let t0 = std::time::Instant::now();
    client
        .send(
            &addr,
            "P",
            "TD",
            0,
            Bytes::from_static(b"later"),
            &encode_properties(&p),
        )
        .await
        .unwrap();
    assert!(
        pull_all(&client, &addr, "GD", "TD").await.is_empty(),
        "not visible before its delay"
    );
    let got = eventually(Duration::from_secs(10), "delayed message", || async {
        let m = pull_all(&client, &addr, "GD", "TD").await;
        (!m.is_empty()).then_some(m)
    })
    .await;
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "delivered after {:?}",
        t0.elapsed()
    );
    assert_eq!(&got[0].body[..], b"later");
    assert_eq!(got[0].queue_id, 0);
    let _ = requests::route("x");
    c.shutdown().await;
}
