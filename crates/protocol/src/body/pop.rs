//! POP over Remoting: the checkpoint text each delivered message carries (property `POP_CK`,
//! handed back with ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME), and the JSON bodies of
//! QUERY_ASSIGNMENT (400) and SET_MESSAGE_REQUEST_MODE (401).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::de;
use super::mq::MessageQueue;

/// The checkpoint's topic mark for messages of the topic itself; upstream's "1" and "2" name
/// its POP retry topics, which ferromq does not use (a message comes back in its own queue).
pub const TOPIC_MARK_NORMAL: &str = "0";

/// A checkpoint longer than this is refused before it is split.
const MAX_CHECKPOINT_LEN: usize = 512;

/// One delivery as the client sees it: eight space-separated fields, in upstream's order
/// (`ExtraInfoUtil`): first offset of the batch, pop time, invisible time (ms), revive queue
/// id, topic mark, broker name, queue id, offset of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopCheckpoint {
    pub start_offset: i64,
    pub pop_time_ms: i64,
    pub invisible_ms: i64,
    pub revive_qid: i32,
    pub topic_mark: String,
    pub broker_name: String,
    pub queue_id: i32,
    /// Absent from checkpoints of seven fields (older clients append the offset themselves).
    pub offset: Option<i64>,
}

impl fmt::Display for PopCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {}",
            self.start_offset,
            self.pop_time_ms,
            self.invisible_ms,
            self.revive_qid,
            self.topic_mark,
            self.broker_name,
            self.queue_id
        )?;
        if let Some(o) = self.offset {
            write!(f, " {o}")?;
        }
        Ok(())
    }
}

impl PopCheckpoint {
    /// Parses the text a client hands back (`extraInfo`).
    ///
    /// # Errors
    /// A message naming the first field that is missing or not a number.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() > MAX_CHECKPOINT_LEN {
            return Err(format!("extraInfo longer than {MAX_CHECKPOINT_LEN} bytes"));
        }
        let f: Vec<&str> = s.split(' ').collect();
        if f.len() < 7 {
            return Err(format!(
                "extraInfo has {} fields, not 7 or 8: {s:?}",
                f.len()
            ));
        }
        fn num<T: std::str::FromStr>(f: &[&str], i: usize, what: &str) -> Result<T, String> {
            f[i].parse()
                .map_err(|_| format!("extraInfo field {what} is not a number: {:?}", f[i]))
        }
        Ok(PopCheckpoint {
            start_offset: num(&f, 0, "startOffset")?,
            pop_time_ms: num(&f, 1, "popTime")?,
            invisible_ms: num(&f, 2, "invisibleTime")?,
            revive_qid: num(&f, 3, "reviveQid")?,
            topic_mark: f[4].to_string(),
            broker_name: f[5].to_string(),
            queue_id: num(&f, 6, "queueId")?,
            offset: match f.get(7) {
                Some(_) => Some(num(&f, 7, "queueOffset")?),
                None => None,
            },
        })
    }
}

/// How a group reads a topic: pulling assigned queues, or popping shared ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageRequestMode {
    #[default]
    #[serde(rename = "PULL")]
    Pull,
    #[serde(rename = "POP")]
    Pop,
}

/// SET_MESSAGE_REQUEST_MODE request (also one entry of the broker's persisted table).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetMessageRequestModeRequestBody {
    #[serde(deserialize_with = "de::string_lenient")]
    pub topic: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub consumer_group: String,
    pub mode: MessageRequestMode,
    /// POP: how many following consumers' queues each consumer also pops (0 or at least the
    /// group size less one: every consumer pops every queue).
    #[serde(deserialize_with = "de::i32_lenient")]
    pub pop_share_queue_num: i32,
}

/// QUERY_ASSIGNMENT request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentRequestBody {
    #[serde(deserialize_with = "de::string_lenient")]
    pub topic: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub consumer_group: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub client_id: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub strategy_name: String,
    #[serde(deserialize_with = "de::message_model")]
    pub message_model: String,
}

/// One assigned queue (queue id -1: every queue of that broker, popped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueueAssignment {
    pub message_queue: MessageQueue,
    pub mode: MessageRequestMode,
    #[serde(default)]
    pub attachments: BTreeMap<String, String>,
}

/// QUERY_ASSIGNMENT response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentResponseBody {
    pub message_queue_assignments: Vec<MessageQueueAssignment>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_and_rejects_garbage() {
        let ck = PopCheckpoint {
            start_offset: 5,
            pop_time_ms: 1_700_000_000_000,
            invisible_ms: 60_000,
            revive_qid: 1003,
            topic_mark: TOPIC_MARK_NORMAL.into(),
            broker_name: "broker-a".into(),
            queue_id: 2,
            offset: Some(7),
        };
        let text = ck.to_string();
        assert_eq!(text, "5 1700000000000 60000 1003 0 broker-a 2 7");
        assert_eq!(PopCheckpoint::parse(&text).unwrap(), ck);
        let seven = PopCheckpoint::parse("5 1 2 3 0 b 4").unwrap();
        assert_eq!(seven.offset, None);
        for bad in [
            "",
            "1 2 3",
            "x 1 2 3 0 b 4 5",
            "1 2 3 4 0 b q 5",
            "1 2 3 4 0 b 4 z",
        ] {
            assert!(PopCheckpoint::parse(bad).is_err(), "{bad:?}");
        }
        assert!(PopCheckpoint::parse(&"1 ".repeat(400)).is_err());
    }

    #[test]
    fn assignment_bodies_read_what_the_java_client_writes() {
        let req: QueryAssignmentRequestBody = super::super::parse(
            br#"{"clientId":"127.0.0.1@1","consumerGroup":"G","messageModel":"CLUSTERING","strategyName":"AVG","topic":"T"}"#,
        )
        .unwrap();
        assert_eq!(req.message_model, "CLUSTERING");
        let mode: SetMessageRequestModeRequestBody = super::super::parse(
            br#"{"consumerGroup":"G","mode":"POP","popShareQueueNum":0,"topic":"T"}"#,
        )
        .unwrap();
        assert_eq!(mode.mode, MessageRequestMode::Pop);
        let resp = QueryAssignmentResponseBody {
            message_queue_assignments: vec![MessageQueueAssignment {
                message_queue: MessageQueue::new("T", "b", -1),
                mode: MessageRequestMode::Pop,
                attachments: BTreeMap::new(),
            }],
        };
        let text = String::from_utf8(super::super::to_vec(&resp)).unwrap();
        assert!(text.contains(r#""mode":"POP""#), "{text}");
        assert!(text.contains(r#""queueId":-1"#), "{text}");
    }
}
