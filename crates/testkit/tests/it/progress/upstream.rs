//! Upstream's INVOKE_BROKER_TO_RESET_OFFSET (222), in both its forms.

use ferromq_protocol::body;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use serde_json::Value;

use crate::progress::fixtures::Fixture;

/// INVOKE_BROKER_TO_RESET_OFFSET of `group` on `topic`, without the queue, offset and force
/// fields.
fn invoke_reset(group: &str, topic: &str, timestamp: i64) -> RemotingCommand {
    RemotingCommand::request(rq::INVOKE_BROKER_TO_RESET_OFFSET)
        .with_ext("group", group)
        .with_ext("topic", topic)
        .with_ext("timestamp", timestamp)
}

#[tokio::test]
async fn invoke_broker_to_reset_offset_both_forms() {
    let f = Fixture::start().await;
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    f.fill("Inv", 2, 6).await;
    // Timestamp form: a time before every message → 0 on each queue; the group never existed.
    let by_time = invoke_reset("Never", "Inv", t0 - 60_000).with_ext("isForce", true);
    let r = f.invoke(by_time).await;
    let v: Value = ferromq_protocol::json::from_slice(&r.body).unwrap();
    assert_eq!(body::read_mq_map(&v["offsetTable"]).len(), 2);
    assert_eq!(f.offset("Never", "Inv", 1).await, Some(0));
    // -1 = skip accumulated messages.
    f.invoke(invoke_reset("Never", "Inv", -1)).await;
    assert_eq!(f.offset("Never", "Inv", 0).await, Some(6));
    // Queue/offset form, out of range: clamped and said so.
    let one = invoke_reset("Never", "Inv", 0)
        .with_ext("queueId", 1)
        .with_ext("offset", 99);
    let r = f.invoke(one).await;
    assert!(r.remark.unwrap_or_default().contains("clamped"));
    assert_eq!(f.offset("Never", "Inv", 1).await, Some(6));
    let missing = invoke_reset("G", "Nope", -1);
    assert_eq!(f.code(missing).await, rs::TOPIC_NOT_EXIST);
    f.shutdown().await;
}
