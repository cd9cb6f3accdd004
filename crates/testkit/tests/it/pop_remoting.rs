//! POP over Remoting at the wire: what the 5.x Java client sends in POP mode (its own test is
//! `compat_java_options`), plus BATCH_ACK_MESSAGE, which only upstream's proxy sends, ordered
//! POP (`order=true`, which no installable Remoting client sends: the 5.x Java client's orderly
//! POP service is unfinished upstream and consumes by pull and locks), and the cluster-wide
//! answer of QUERY_ASSIGNMENT on two brokers.

use bytes::Bytes;
use ferromq_protocol::body::{
    self, BatchAck, BatchAckMessageRequestBody, MessageRequestMode, PopCheckpoint,
    QueryAssignmentResponseBody,
};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::message::{decode_records, parse_properties, prop};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::Cluster;

fn pop_request(topic: &str, group: &str, max: i32) -> RemotingCommand {
    RemotingCommand::request(rq::POP_MESSAGE)
        .with_ext("consumerGroup", group)
        .with_ext("topic", topic)
        .with_ext("queueId", "-1")
        .with_ext("maxMsgNums", max)
        .with_ext("invisibleTime", "60000")
        .with_ext("pollTime", "0")
        .with_ext("bornTime", "0")
        .with_ext("initMode", "0")
}

/// Pops and returns each message's checkpoint.
async fn pop(c: &Cluster, addr: &str, topic: &str, group: &str, max: i32) -> Vec<PopCheckpoint> {
    pop_with(c, addr, pop_request(topic, group, max)).await
}

/// Sends a POP_MESSAGE request and returns each message's checkpoint.
async fn pop_with(c: &Cluster, addr: &str, req: RemotingCommand) -> Vec<PopCheckpoint> {
    let r = c.client().remoting.invoke_raw(addr, req).await.unwrap();
    if r.code != rs::SUCCESS {
        return Vec::new();
    }
    for key in [
        "popTime",
        "invisibleTime",
        "reviveQid",
        "restNum",
        "startOffsetInfo",
    ] {
        assert!(r.ext(key).is_some(), "POP response lacks {key}: {r:?}");
    }
    decode_records(&r.body)
        .unwrap()
        .iter()
        .map(|m| {
            let props = parse_properties(&m.properties);
            PopCheckpoint::parse(&props[prop::POP_CK]).unwrap()
        })
        .collect()
}

fn ack_request(code: i32, group: &str, topic: &str, ck: &PopCheckpoint) -> RemotingCommand {
    RemotingCommand::request(code)
        .with_ext("consumerGroup", group)
        .with_ext("topic", topic)
        .with_ext("queueId", ck.queue_id)
        .with_ext("offset", ck.offset.unwrap())
        .with_ext("extraInfo", ck.to_string())
}

#[tokio::test]
async fn pop_ack_batch_ack_and_stale_checkpoints() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    for i in 0..6 {
        client
            .send(&addr, "P", "PopT", 0, Bytes::from(format!("m{i}")), "")
            .await
            .unwrap();
    }
    let cks = pop(&c, &addr, "PopT", "PopG", 6).await;
    assert_eq!(cks.len(), 6);
    assert!(
        pop(&c, &addr, "PopT", "PopG", 6).await.is_empty(),
        "all in flight"
    );

    // One plain ack; a second ack of it changes nothing and says so.
    let r = client
        .remoting
        .invoke_raw(&addr, ack_request(rq::ACK_MESSAGE, "PopG", "PopT", &cks[0]))
        .await
        .unwrap();
    assert_eq!(r.code, rs::SUCCESS, "{r:?}");

    // A new window answers the new pop time; the old checkpoint is then outdated.
    let req = ack_request(rq::CHANGE_MESSAGE_INVISIBLETIME, "PopG", "PopT", &cks[1])
        .with_ext("invisibleTime", "1000");
    let r = client.remoting.invoke_raw(&addr, req).await.unwrap();
    assert_eq!(r.code, rs::SUCCESS, "{r:?}");
    let new_pop_time: i64 = r.ext("popTime").unwrap().parse().unwrap();
    let stale = client
        .remoting
        .invoke_raw(&addr, ack_request(rq::ACK_MESSAGE, "PopG", "PopT", &cks[1]))
        .await
        .unwrap();
    assert_eq!(
        stale.code,
        rs::NO_MESSAGE,
        "an outdated checkpoint: {stale:?}"
    );
    let current = PopCheckpoint {
        pop_time_ms: new_pop_time,
        invisible_ms: 1000,
        ..cks[1].clone()
    };
    let r = client
        .remoting
        .invoke_raw(
            &addr,
            ack_request(rq::ACK_MESSAGE, "PopG", "PopT", &current),
        )
        .await
        .unwrap();
    assert_eq!(r.code, rs::SUCCESS, "the new checkpoint acks: {r:?}");

    // The other four in one batch ack, as upstream's proxy sends it.
    let first = &cks[2];
    let batch = BatchAckMessageRequestBody {
        broker_name: first.broker_name.clone(),
        acks: vec![BatchAck {
            consumer_group: "PopG".into(),
            topic: "PopT".into(),
            retry: "0".into(),
            start_offset: first.offset.unwrap(),
            queue_id: first.queue_id,
            revive_queue_id: first.revive_qid,
            pop_time_ms: first.pop_time_ms,
            invisible_ms: first.invisible_ms,
            offsets: (0..4).collect(),
        }],
    };
    let req = RemotingCommand::request(rq::BATCH_ACK_MESSAGE).with_body(body::to_vec(&batch));
    let r = client.remoting.invoke_raw(&addr, req).await.unwrap();
    assert_eq!(r.code, rs::SUCCESS, "{r:?}");
    // Everything acked: the committed offset reaches the end.
    ferromq_testkit::eventually(std::time::Duration::from_secs(5), "commit", || async {
        (client
            .query_offset(&addr, "PopG", "PopT", 0)
            .await
            .ok()
            .flatten()
            == Some(6))
        .then_some(())
    })
    .await;
    c.shutdown().await;
}

/// `order=true`: a queue hands out nothing new while anything of it is unacked; a message
/// whose window ends comes back alone, before anything after it; once it is acked the rest
/// follows in order.
#[tokio::test]
async fn ordered_pop_holds_a_queue_until_its_messages_are_acked() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    for i in 0..6 {
        let body = Bytes::from(format!("m{i}"));
        client.send(&addr, "P", "FifoT", 0, body, "").await.unwrap();
    }
    let ordered = |max: i32| pop_request("FifoT", "FifoG", max).with_ext("order", "true");
    let offsets =
        |cks: &[PopCheckpoint]| cks.iter().map(|ck| ck.offset.unwrap()).collect::<Vec<_>>();
    let ack = |ck: PopCheckpoint| {
        let req = ack_request(rq::ACK_MESSAGE, "FifoG", "FifoT", &ck);
        let (client, addr) = (&client, &addr);
        async move {
            let r = client.remoting.invoke_raw(addr, req).await.unwrap();
            assert_eq!(r.code, rs::SUCCESS, "{r:?}");
        }
    };
    let first = pop_with(&c, &addr, ordered(2)).await;
    assert_eq!(offsets(&first), [0, 1]);
    assert!(
        pop_with(&c, &addr, ordered(2)).await.is_empty(),
        "blocked while 0 and 1 are out"
    );
    ack(first[0].clone()).await;
    assert!(
        pop_with(&c, &addr, ordered(2)).await.is_empty(),
        "blocked while 1 is out"
    );
    // 1's window ends in 1 s (the shortest): it comes back alone, ahead of 2.
    let req = ack_request(
        rq::CHANGE_MESSAGE_INVISIBLETIME,
        "FifoG",
        "FifoT",
        &first[1],
    )
    .with_ext("invisibleTime", "1000");
    let r = client.remoting.invoke_raw(&addr, req).await.unwrap();
    assert_eq!(r.code, rs::SUCCESS, "{r:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let again = pop_with(&c, &addr, ordered(4)).await;
    assert_eq!(offsets(&again), [1], "the expired message alone, first");
    ack(again[0].clone()).await;
    let rest = pop_with(&c, &addr, ordered(10)).await;
    assert_eq!(offsets(&rest), [2, 3, 4, 5]);
    for ck in rest {
        ack(ck).await;
    }
    ferromq_testkit::eventually(std::time::Duration::from_secs(5), "commit", || async {
        let committed = client.query_offset(&addr, "FifoG", "FifoT", 0).await;
        (committed.ok().flatten() == Some(6)).then_some(())
    })
    .await;
    c.shutdown().await;
}

#[tokio::test]
async fn query_assignment_spans_the_cluster_and_follows_the_mode() {
    let c = Cluster::start(2).await;
    let client = c.client();
    for i in 0..2 {
        client
            .send(&c.broker_addr(i), "P", "AsgT", 0, Bytes::from("x"), "")
            .await
            .unwrap();
    }
    // A member of the group on both brokers.
    let heartbeat = r#"{"clientID":"10.0.0.1@a","consumerDataSet":[{"groupName":"AsgG","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"AsgT","subString":"*"}],"unitMode":false}],"producerDataSet":[]}"#;
    for i in 0..2 {
        let hb = RemotingCommand::request(rq::HEART_BEAT).with_body(heartbeat.as_bytes().to_vec());
        let r = client
            .remoting
            .invoke_raw(&c.broker_addr(i), hb)
            .await
            .unwrap();
        assert_eq!(r.code, rs::SUCCESS);
    }
    let ask = |addr: String| {
        let client = c.client();
        async move {
            let req = RemotingCommand::request(rq::QUERY_ASSIGNMENT).with_body(
                br#"{"topic":"AsgT","consumerGroup":"AsgG","clientId":"10.0.0.1@a","strategyName":"AVG","messageModel":"CLUSTERING"}"#.to_vec(),
            );
            let r = client.remoting.invoke_raw(&addr, req).await.unwrap();
            assert_eq!(r.code, rs::SUCCESS, "{r:?}");
            body::parse::<QueryAssignmentResponseBody>(&r.body).unwrap()
        }
    };
    let eventually_both = ferromq_testkit::eventually(
        std::time::Duration::from_secs(10),
        "both brokers' queues assigned",
        || async {
            let a = ask(c.broker_addr(0)).await;
            (a.message_queue_assignments.len() == 8).then_some(a)
        },
    )
    .await;
    assert!(eventually_both
        .message_queue_assignments
        .iter()
        .all(|m| m.mode == MessageRequestMode::Pull && m.message_queue.queue_id >= 0));

    // Set to POP (on the broker asked): every broker's queues, popped whole.
    let set = RemotingCommand::request(rq::SET_MESSAGE_REQUEST_MODE).with_body(
        br#"{"topic":"AsgT","consumerGroup":"AsgG","mode":"POP","popShareQueueNum":0}"#.to_vec(),
    );
    let r = client
        .remoting
        .invoke_raw(&c.broker_addr(0), set)
        .await
        .unwrap();
    assert_eq!(r.code, rs::SUCCESS, "{r:?}");
    let pop = ask(c.broker_addr(0)).await.message_queue_assignments;
    assert_eq!(pop.len(), 2, "{pop:?}");
    assert!(pop
        .iter()
        .all(|m| m.mode == MessageRequestMode::Pop && m.message_queue.queue_id == -1));
    // Retry topics cannot be switched.
    let set = RemotingCommand::request(rq::SET_MESSAGE_REQUEST_MODE)
        .with_body(br#"{"topic":"%RETRY%AsgG","consumerGroup":"AsgG","mode":"POP"}"#.to_vec());
    let r = client
        .remoting
        .invoke_raw(&c.broker_addr(0), set)
        .await
        .unwrap();
    assert_eq!(r.code, rs::NO_PERMISSION, "{r:?}");
    c.shutdown().await;
}
