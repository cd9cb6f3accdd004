//! A reset stays authoritative across a broker restart: the guard that refuses stale commits
//! and redirects stale pulls is rebuilt from the durable offset table and change history.

use bytes::Bytes;
use ferromq_client::requests::Pull;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_testkit::Cluster;
use serde_json::json;

fn pull_at(offset: i64) -> Pull<'static> {
    Pull {
        group: "G",
        topic: "T",
        queue_id: 0,
        offset,
        max_msgs: 32,
        subscription: Some("*"),
        suspend_ms: 0,
        commit_offset: None,
    }
}

#[tokio::test]
async fn a_reset_guard_survives_a_restart() {
    let mut c = Cluster::start(1).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    for i in 0..100 {
        client
            .send(&addr, "P", "T", 0, Bytes::from(format!("m{i}")), "")
            .await
            .unwrap();
    }
    // The group consumed everything, then an operator resets it back to 40.
    client.update_offset(&addr, "G", "T", 0, 100).await.unwrap();
    let _: serde_json::Value = client
        .ferro(
            &addr,
            rq::FERRO_RESET_OFFSETS,
            &json!({"groups": ["G"], "topics": [],
                    "spec": {"kind": "perQueue", "value": [{"topic": "T", "queueId": 0, "offset": 40}]}}),
        )
        .await
        .unwrap();
    c.restart_broker(0).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    // A consumer that missed the reset commits its old position and pulls there: the commit is
    // ignored and the pull is sent to the reset target, as before the restart.
    client.update_offset(&addr, "G", "T", 0, 100).await.unwrap();
    assert_eq!(
        client.query_offset(&addr, "G", "T", 0).await.unwrap(),
        Some(40)
    );
    let r = client.pull(&addr, &pull_at(100)).await.unwrap();
    assert_eq!(r.code, rs::PULL_OFFSET_MOVED);
    assert_eq!(r.next_begin_offset, 40);
    // Once it pulls at the target, commits within what it pulled are stored again.
    let r = client.pull(&addr, &pull_at(40)).await.unwrap();
    assert_eq!(r.code, rs::SUCCESS);
    assert_eq!(r.messages[0].body, Bytes::from_static(b"m40"));
    client.update_offset(&addr, "G", "T", 0, 60).await.unwrap();
    assert_eq!(
        client.query_offset(&addr, "G", "T", 0).await.unwrap(),
        Some(60)
    );
    // A second restart keeps the (now observed) guard: the stale 100 is still refused.
    c.restart_broker(0).await;
    let addr = c.broker_addr(0);
    let client = c.client();
    client.update_offset(&addr, "G", "T", 0, 100).await.unwrap();
    assert_eq!(
        client.query_offset(&addr, "G", "T", 0).await.unwrap(),
        Some(60)
    );
    // Committing past the pre-reset position ends the guard; later restarts restore nothing.
    let r = client.pull(&addr, &pull_at(60)).await.unwrap();
    assert_eq!(r.code, rs::SUCCESS);
    client.update_offset(&addr, "G", "T", 0, 92).await.unwrap();
    let r = client.pull(&addr, &pull_at(92)).await.unwrap();
    assert_eq!(r.code, rs::SUCCESS);
    client.update_offset(&addr, "G", "T", 0, 100).await.unwrap();
    c.restart_broker(0).await;
    let addr = c.broker_addr(0);
    let broker = c.brokers[0].as_ref().unwrap().broker.clone();
    assert!(!broker.pull_state.is_guarded("G", "T", 0));
    assert_eq!(
        c.client().query_offset(&addr, "G", "T", 0).await.unwrap(),
        Some(100)
    );
    c.shutdown().await;
}
