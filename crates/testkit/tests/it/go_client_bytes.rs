//! Bytes the Apache RocketMQ Go client (`rocketmq-client-go/v2`, driven by
//! `crates/ferromq/tests/compat_go.rs`) sends that the broker got wrong.
//!
//! * Its HEART_BEAT writes a TAG subscription's `codeSet` as strings (`["2598919"]`); the
//!   broker refused the whole heartbeat, so a Go consumer with a tag filter never registered.
//! * It never sends UNREGISTER_CLIENT: its consumer Shutdown writes one oneway
//!   UPDATE_CONSUMER_OFFSET per queue and closes the socket at once, often with answers still
//!   unread, so the kernel resets the connection. The broker stopped reading as soon as a write
//!   to such a peer failed, and dropped commits it had already received.

use std::time::Duration;

use bytes::Bytes;
use ferromq_client::requests;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::{frame, RemotingCommand};
use ferromq_testkit::Cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The heartbeat of a Go push consumer subscribed to `TagA||TagB`, as the client logged it
/// (`ROCKETMQ_GO_LOG_LEVEL=debug` logs every heartbeat body).
const GO_HEARTBEAT: &str = r#"{"clientID":"192.0.2.2@go-consumer-1","producerDataSet":[],"consumerDataSet":[{"groupName":"GoTags","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"GoPull","subString":"TagA||TagB","tagsSet":["TagA","TagB"],"codeSet":["2598919","2598920"],"subVersion":1796569580451433441,"expressionType":"TAG"},{"classFilterMode":false,"topic":"%RETRY%GoTags","subString":"*","tagsSet":[],"codeSet":[],"subVersion":1796569580451497666,"expressionType":"TAG"}],"unitMode":false}]}"#;

/// Sends `cmd` on `s` and reads frames until its answer (skipping the broker's own requests,
/// such as NOTIFY_CONSUMER_IDS_CHANGED after a heartbeat).
async fn call(s: &mut TcpStream, mut cmd: RemotingCommand, opaque: i32) -> RemotingCommand {
    cmd.opaque = opaque;
    s.write_all(&frame::encode_frame(&cmd)).await.unwrap();
    loop {
        let mut len = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut len))
            .await
            .unwrap()
            .unwrap();
        let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut rest).await.unwrap();
        let got = frame::decode_frame(Bytes::from(rest)).unwrap();
        if got.is_response() && got.opaque == opaque {
            return got;
        }
    }
}

#[tokio::test]
async fn a_go_heartbeat_with_string_tag_codes_registers_the_consumer() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    c.client()
        .create_topic(&addr, &TopicConfig::new("GoPull", 1))
        .await
        .unwrap();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let hb = RemotingCommand::request(rq::HEART_BEAT).with_body(GO_HEARTBEAT.as_bytes().to_vec());
    let resp = call(&mut s, hb, 1).await;
    assert_eq!(resp.code, rs::SUCCESS, "{:?}", resp.remark);
    let list = RemotingCommand::request(rq::GET_CONSUMER_LIST_BY_GROUP)
        .with_ext("consumerGroup", "GoTags");
    let resp = call(&mut s, list, 2).await;
    assert_eq!(resp.code, rs::SUCCESS, "{:?}", resp.remark);
    let body = String::from_utf8_lossy(&resp.body).into_owned();
    assert!(body.contains("192.0.2.2@go-consumer-1"), "{body}");
    c.shutdown().await;
}

const TOPIC: &str = "Gone";
/// Commits per connection (offsets 1..=COMMITS of queue 0), each after a request the broker
/// answers: enough answers that the reader yields to the writer midway (tokio's cooperative
/// budget), and a burst small enough (about 45 KB) to reach the broker's receive buffer whole
/// before the reset, which discards whatever the peer's kernel has not sent yet.
const COMMITS: i64 = 150;
/// Connections, each a chance for the write failure to land while commits are still unread.
const ROUNDS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneway_commits_sent_before_the_peer_resets_are_all_applied() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    client
        .create_topic(&addr, &TopicConfig::new(TOPIC, 1))
        .await
        .unwrap();
    for round in 0..ROUNDS {
        let group = format!("GoneGroup{round}");
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let mut opaque = 0;
        let mut encode = |mut cmd: ferromq_protocol::RemotingCommand| {
            opaque += 1;
            cmd.opaque = opaque;
            frame::encode_frame(&cmd)
        };
        // An answer that stays unread: closing the socket then sends a reset, not a FIN.
        let probe = || requests::topic_queue(rq::GET_MAX_OFFSET, TOPIC, 0);
        s.write_all(&encode(probe())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut burst = Vec::new();
        for k in 1..=COMMITS {
            burst.extend(encode(probe()));
            let commit = requests::update_consumer_offset(&group, TOPIC, 0, k).mark_oneway();
            burst.extend(encode(commit));
        }
        s.write_all(&burst).await.unwrap();
        drop(s);
        // Commits are applied in order: the offset must reach the last one (and stays lower
        // when the broker dropped the tail of the burst).
        let mut got = None;
        for _ in 0..100 {
            got = client
                .query_offset(&addr, &group, TOPIC, 0)
                .await
                .ok()
                .flatten();
            if got == Some(COMMITS) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(got, Some(COMMITS), "round {round}: commits were dropped");
    }
    c.shutdown().await;
}
