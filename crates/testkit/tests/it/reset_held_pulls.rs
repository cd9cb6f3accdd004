//! A reset wakes the long polls held at the old position. Clients that ignore
//! RESET_CONSUMER_CLIENT_OFFSET (ali-ons, ferromq's own) are redirected at once
//! (PULL_OFFSET_MOVED to the target); a Java 4.x/5.x client applies the notice itself (pause,
//! drop its queues, resume at the target), so its held pull is left alone — redirecting it as
//! well made the 5.x client pull each queue twice and deliver every replayed message twice.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use ferromq_testkit::Cluster;
use serde_json::json;

/// `MQVersion.Version.V4_9_8.ordinal()`, as the Java client 4.9.8 announces itself.
const JAVA_4_9_8: i32 = 409;

/// A held pull of G/T queue 0 at `offset` (3 s), announcing `version`.
fn held_pull(offset: i64, version: Option<i32>) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(rq::PULL_MESSAGE)
        .with_ext("consumerGroup", "G")
        .with_ext("topic", "T")
        .with_ext("queueId", "0")
        .with_ext("queueOffset", offset.to_string())
        .with_ext("maxMsgNums", "32")
        .with_ext("sysFlag", "6") // SUSPEND | SUBSCRIPTION
        .with_ext("commitOffset", "0")
        .with_ext("suspendTimeoutMillis", "3000")
        .with_ext("subscription", "*")
        .with_ext("subVersion", "1");
    if let Some(v) = version {
        cmd.version = v;
    }
    cmd
}

#[tokio::test]
async fn a_reset_redirects_held_pulls_of_clients_that_ignore_the_notice_only() {
    let c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let admin = c.client();
    for i in 0..5 {
        admin
            .send(&addr, "P", "T", 0, Bytes::from(format!("m{i}")), "")
            .await
            .unwrap();
    }
    admin.update_offset(&addr, "G", "T", 0, 5).await.unwrap();

    let java = c.client();
    let other = c.client();
    let java_addr = addr.clone();
    let java_pull = tokio::spawn(async move {
        let t0 = Instant::now();
        let r = java
            .remoting
            .invoke_raw(&java_addr, held_pull(5, Some(JAVA_4_9_8)))
            .await
            .unwrap();
        (r, t0.elapsed())
    });
    let other_addr = addr.clone();
    let other_pull = tokio::spawn(async move {
        let t0 = Instant::now();
        let r = other
            .remoting
            .invoke_raw(&other_addr, held_pull(5, None))
            .await
            .unwrap();
        (r, t0.elapsed())
    });
    // Both pulls are held (nothing new at 5); then the group is reset to 1.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _: serde_json::Value = admin
        .ferro(
            &addr,
            rq::FERRO_RESET_OFFSETS,
            &json!({"groups": ["G"], "topics": [],
                    "spec": {"kind": "perQueue", "value": [{"topic": "T", "queueId": 0, "offset": 1}]}}),
        )
        .await
        .unwrap();

    let (r, waited) = other_pull.await.unwrap();
    assert_eq!(r.code, rs::PULL_OFFSET_MOVED, "{:?}", r.remark);
    assert_eq!(r.ext("nextBeginOffset"), Some("1"));
    assert!(
        waited < Duration::from_millis(2500),
        "redirected at once, not at the deadline: {waited:?}"
    );

    // The Java client's held pull runs to its deadline as against Apache RocketMQ: nothing new.
    let (r, waited) = java_pull.await.unwrap();
    assert_eq!(r.code, rs::PULL_NOT_FOUND, "{:?}", r.remark);
    assert!(waited >= Duration::from_millis(2500), "{waited:?}");
    // A fresh pull at the stale offset is still redirected, whoever sends it.
    let r = admin
        .remoting
        .invoke_raw(&addr, held_pull(5, Some(JAVA_4_9_8)))
        .await
        .unwrap();
    assert_eq!(r.code, rs::PULL_OFFSET_MOVED);
    c.shutdown().await;
}
