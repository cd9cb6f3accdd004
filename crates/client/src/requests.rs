//! Request builders, one per code, with upstream's header keys.

use bytes::Bytes;
use ferromq_protocol::body::{self, HeartbeatData, TopicConfig};
use ferromq_protocol::codes::{pull_flag, request as rq};
use ferromq_protocol::message::{encode_batch_body, BatchItem};
use ferromq_protocol::RemotingCommand;

/// GET_ROUTEINFO_BY_TOPIC (105).
pub fn route(topic: &str) -> RemotingCommand {
    RemotingCommand::request(rq::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", topic)
}

/// SEND_MESSAGE_V2 (310) with one-letter keys, as the Java producer sends it.
pub fn send_v2(
    group: &str,
    topic: &str,
    queue_id: i32,
    body: Bytes,
    properties: &str,
) -> RemotingCommand {
    RemotingCommand::request(rq::SEND_MESSAGE_V2)
        .with_ext("a", group)
        .with_ext("b", topic)
        .with_ext("c", "TBW102")
        .with_ext("d", 4)
        .with_ext("e", queue_id)
        .with_ext("f", 0)
        .with_ext("g", now_ms())
        .with_ext("h", 0)
        .with_ext("i", properties)
        .with_ext("j", 0)
        .with_ext("k", false)
        .with_body(body)
}

/// SEND_MESSAGE (10) with full key names, as the C++ producer sends it.
pub fn send_v1(
    group: &str,
    topic: &str,
    queue_id: i32,
    body: Bytes,
    properties: &str,
) -> RemotingCommand {
    RemotingCommand::request(rq::SEND_MESSAGE)
        .with_ext("producerGroup", group)
        .with_ext("topic", topic)
        .with_ext("defaultTopic", "TBW102")
        .with_ext("defaultTopicQueueNums", 4)
        .with_ext("queueId", queue_id)
        .with_ext("sysFlag", 0)
        .with_ext("bornTimestamp", now_ms())
        .with_ext("flag", 0)
        .with_ext("properties", properties)
        .with_ext("reconsumeTimes", 0)
        .with_ext("unitMode", false)
        .with_body(body)
}

/// SEND_BATCH_MESSAGE (320).
pub fn send_batch(group: &str, topic: &str, queue_id: i32, items: &[BatchItem]) -> RemotingCommand {
    let mut cmd = send_v2(
        group,
        topic,
        queue_id,
        Bytes::from(encode_batch_body(items)),
        "",
    );
    cmd.code = rq::SEND_BATCH_MESSAGE;
    cmd.with_ext("m", true)
}

/// A pull request's parameters.
#[derive(Debug, Clone)]
pub struct Pull<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub queue_id: i32,
    pub offset: i64,
    pub max_msgs: i32,
    /// Sent with the SUBSCRIPTION flag when `Some`; `None` uses the heartbeat's subscription.
    pub subscription: Option<&'a str>,
    /// Held by the broker up to this long when nothing is new; 0 answers at once.
    pub suspend_ms: i64,
    /// Committed with the pull (COMMIT_OFFSET flag) when `Some`.
    pub commit_offset: Option<i64>,
}

/// Apache RocketMQ's broker looks at held pulls every 5 s (its `PullRequestHoldService`), so a
/// pull held for `suspend_ms` may be answered up to this long after its suspend time ends.
const HOLD_CHECK_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);

impl Pull<'_> {
    /// How long to wait for this pull's answer, given the client's timeout for a request the
    /// broker answers at once: a held pull adds its suspend time and the broker's hold-check
    /// period.
    pub fn answer_timeout(&self, base: std::time::Duration) -> std::time::Duration {
        if self.suspend_ms <= 0 {
            return base;
        }
        base + std::time::Duration::from_millis(self.suspend_ms.unsigned_abs()) + HOLD_CHECK_PERIOD
    }
}

/// PULL_MESSAGE (11).
pub fn pull(p: &Pull<'_>) -> RemotingCommand {
    let mut flag = 0;
    if p.suspend_ms > 0 {
        flag |= pull_flag::SUSPEND;
    }
    if p.subscription.is_some() {
        flag |= pull_flag::SUBSCRIPTION;
    }
    if p.commit_offset.is_some() {
        flag |= pull_flag::COMMIT_OFFSET;
    }
    let mut cmd = RemotingCommand::request(rq::PULL_MESSAGE)
        .with_ext("consumerGroup", p.group)
        .with_ext("topic", p.topic)
        .with_ext("queueId", p.queue_id)
        .with_ext("queueOffset", p.offset)
        .with_ext("maxMsgNums", p.max_msgs)
        .with_ext("sysFlag", flag)
        .with_ext("commitOffset", p.commit_offset.unwrap_or(0))
        .with_ext("suspendTimeoutMillis", p.suspend_ms)
        .with_ext("subVersion", 0)
        .with_ext("expressionType", "TAG");
    if let Some(s) = p.subscription {
        cmd.put_ext("subscription", s);
    }
    cmd
}

/// QUERY_CONSUMER_OFFSET (14).
pub fn query_consumer_offset(group: &str, topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(rq::QUERY_CONSUMER_OFFSET)
        .with_ext("consumerGroup", group)
        .with_ext("topic", topic)
        .with_ext("queueId", queue_id)
}

/// UPDATE_CONSUMER_OFFSET (15).
pub fn update_consumer_offset(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
) -> RemotingCommand {
    RemotingCommand::request(rq::UPDATE_CONSUMER_OFFSET)
        .with_ext("consumerGroup", group)
        .with_ext("topic", topic)
        .with_ext("queueId", queue_id)
        .with_ext("commitOffset", offset)
}

/// A request with only `topic` and `queueId` (GET_MAX_OFFSET, GET_MIN_OFFSET, …).
pub fn topic_queue(code: i32, topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(code)
        .with_ext("topic", topic)
        .with_ext("queueId", queue_id)
}

/// SEARCH_OFFSET_BY_TIMESTAMP (29).
pub fn search_offset(topic: &str, queue_id: i32, timestamp: i64) -> RemotingCommand {
    topic_queue(rq::SEARCH_OFFSET_BY_TIMESTAMP, topic, queue_id).with_ext("timestamp", timestamp)
}

/// HEART_BEAT (34).
pub fn heartbeat(data: &HeartbeatData) -> RemotingCommand {
    RemotingCommand::request(rq::HEART_BEAT).with_body(body::to_vec(data))
}

/// UPDATE_AND_CREATE_TOPIC (17).
pub fn create_topic(cfg: &TopicConfig) -> RemotingCommand {
    RemotingCommand::request(rq::UPDATE_AND_CREATE_TOPIC)
        .with_ext("topic", &cfg.topic_name)
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", cfg.read_queue_nums)
        .with_ext("writeQueueNums", cfg.write_queue_nums)
        .with_ext("perm", cfg.perm)
        .with_ext("topicFilterType", &cfg.topic_filter_type)
        .with_ext("topicSysFlag", cfg.topic_sys_flag)
        .with_ext("order", cfg.order)
}

use ferromq_protocol::time::now_ms;
