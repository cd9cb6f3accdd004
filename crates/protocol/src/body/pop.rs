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

/// Most bits a batch ack may carry per queue (a base64 string of 4 KiB).
const MAX_BITSET_BYTES: usize = 4096;

/// BATCH_ACK_MESSAGE (200151) request: acks of several deliveries, grouped by queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchAckMessageRequestBody {
    #[serde(deserialize_with = "de::string_lenient")]
    pub broker_name: String,
    pub acks: Vec<BatchAck>,
}

/// One queue's acks: offset `start_offset + i` for every index `i` in `offsets`, all popped at
/// `pop_time_ms` with the same window. Field names are upstream's short ones (its long names are
/// read too); the indexes travel as a `java.util.BitSet`'s bytes in base64.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchAck {
    #[serde(
        rename = "c",
        alias = "consumerGroup",
        deserialize_with = "de::string_lenient"
    )]
    pub consumer_group: String,
    #[serde(rename = "t", alias = "topic", deserialize_with = "de::string_lenient")]
    pub topic: String,
    #[serde(rename = "r", alias = "retry", deserialize_with = "de::string_lenient")]
    pub retry: String,
    #[serde(
        rename = "so",
        alias = "startOffset",
        deserialize_with = "de::i64_lenient"
    )]
    pub start_offset: i64,
    #[serde(rename = "q", alias = "queueId", deserialize_with = "de::i32_lenient")]
    pub queue_id: i32,
    #[serde(
        rename = "rq",
        alias = "reviveQueueId",
        deserialize_with = "de::i32_lenient"
    )]
    pub revive_queue_id: i32,
    #[serde(rename = "pt", alias = "popTime", deserialize_with = "de::i64_lenient")]
    pub pop_time_ms: i64,
    #[serde(
        rename = "it",
        alias = "invisibleTime",
        deserialize_with = "de::i64_lenient"
    )]
    pub invisible_ms: i64,
    #[serde(rename = "b", alias = "bitSet", with = "bit_set")]
    pub offsets: Vec<u32>,
}

/// A `java.util.BitSet` as fastjson writes it: `toByteArray()` (little-endian) in base64.
mod bit_set {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::MAX_BITSET_BYTES;

    pub fn serialize<S: Serializer>(indexes: &[u32], s: S) -> Result<S::Ok, S::Error> {
        let len = indexes.iter().max().map_or(0, |m| *m as usize / 8 + 1);
        let mut bytes = vec![0u8; len];
        for i in indexes {
            bytes[*i as usize / 8] |= 1 << (i % 8);
        }
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        if text.len() > MAX_BITSET_BYTES * 4 / 3 + 4 {
            return Err(serde::de::Error::custom("bit set longer than 4 KiB"));
        }
        let bytes = STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("bit set is not base64: {e}")))?;
        Ok(bytes
            .iter()
            .enumerate()
            .flat_map(|(at, byte)| {
                (0..8u32)
                    .filter(move |bit| byte & (1 << bit) != 0)
                    .map(move |bit| at as u32 * 8 + bit)
            })
            .collect())
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
    fn batch_ack_reads_the_java_bit_set() {
        // BitSet{0, 2, 9}.toByteArray() = [0b101, 0b10] = "BQI=" in base64.
        let body: BatchAckMessageRequestBody = super::super::parse(
            br#"{"acks":[{"b":"BQI=","c":"G","it":60000,"pt":1000,"q":1,"r":"0","rq":1000,"so":40,"t":"T"}],"brokerName":"b"}"#,
        )
        .unwrap();
        let ack = &body.acks[0];
        assert_eq!(ack.offsets, [0, 2, 9]);
        assert_eq!(
            (ack.start_offset, ack.queue_id, ack.pop_time_ms),
            (40, 1, 1000)
        );
        let again: BatchAckMessageRequestBody =
            super::super::parse(&super::super::to_vec(&body)).unwrap();
        assert_eq!(again, body);
        let bad = super::super::parse::<BatchAckMessageRequestBody>(br#"{"acks":[{"b":"!!"}]}"#);
        assert!(bad.is_err());
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
