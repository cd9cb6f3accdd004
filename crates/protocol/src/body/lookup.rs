//! Message lookup, as mqadmin's message commands and the Java client's `queryMessage` /
//! `viewMessage` use it: the QUERY_MESSAGE (12) header names and limits, and the bodies of
//! QUERY_TOPIC_CONSUME_BY_WHO (300) and QUERY_CONSUME_TIME_SPAN (303).

use serde::{Deserialize, Serialize};

use super::de;
use super::mq::MessageQueue;

/// QUERY_MESSAGE ext field that marks a unique-key (`UNIQ_KEY`) query when `"true"`
/// (upstream `MixAll.UNIQUE_MSG_QUERY_FLAG`).
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";
/// Most messages one QUERY_MESSAGE returns (upstream `maxMsgsNumBatch`, 64): a larger
/// `maxNum` is lowered to it.
pub const QUERY_MAX_NUM: usize = 64;
/// `maxNum` of a unique-key query, whatever the request says (upstream `defaultQueryMaxNum`).
pub const UNIQUE_QUERY_MAX_NUM: usize = 32;

/// `GroupList`: QUERY_TOPIC_CONSUME_BY_WHO response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    #[serde(deserialize_with = "de::strings_lenient")]
    pub group_list: Vec<String>,
}

/// `QueueTimeSpan`: one queue of a QUERY_CONSUME_TIME_SPAN answer (times in ms; -1 unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueTimeSpan {
    pub message_queue: MessageQueue,
    /// Store time of the queue's oldest message.
    pub min_time_stamp: i64,
    /// Store time of its newest message.
    pub max_time_stamp: i64,
    /// Store time of the last message the group consumed (the oldest one if none).
    pub consume_time_stamp: i64,
    /// Now minus the store time of the next message to consume; 0 when nothing is left.
    pub delay_time: i64,
}

/// `QueryConsumeTimeSpanBody`: QUERY_CONSUME_TIME_SPAN response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryConsumeTimeSpanBody {
    pub consume_time_span_set: Vec<QueueTimeSpan>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_use_upstream_field_names() {
        let g = GroupList {
            group_list: vec!["g1".into()],
        };
        assert_eq!(super::super::to_vec(&g), br#"{"groupList":["g1"]}"#);
        let back: GroupList = super::super::parse(br#"{"groupList":["a","b"]}"#).unwrap();
        assert_eq!(back.group_list, ["a", "b"]);
        let t = QueryConsumeTimeSpanBody {
            consume_time_span_set: vec![QueueTimeSpan {
                message_queue: MessageQueue::new("T", "b", 1),
                min_time_stamp: 1,
                max_time_stamp: 2,
                consume_time_stamp: 1,
                delay_time: 0,
            }],
        };
        let s = String::from_utf8(super::super::to_vec(&t)).unwrap();
        assert!(
            s.contains(r#""consumeTimeSpanSet":[{"messageQueue":{"#),
            "{s}"
        );
        assert!(
            s.contains(r#""minTimeStamp":1,"maxTimeStamp":2,"consumeTimeStamp":1,"delayTime":0"#),
            "{s}"
        );
    }
}
