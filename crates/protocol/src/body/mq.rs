//! `MessageQueue` and the fastjson form of maps keyed by it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A queue of a topic on one broker.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueue {
    #[serde(default, deserialize_with = "super::de::string_lenient")]
    pub broker_name: String,
    #[serde(default, deserialize_with = "super::de::i32_lenient")]
    pub queue_id: i32,
    #[serde(default, deserialize_with = "super::de::string_lenient")]
    pub topic: String,
}

impl MessageQueue {
    pub fn new(topic: &str, broker_name: &str, queue_id: i32) -> Self {
        Self {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }
}

/// Writes `{{"brokerName":..,"queueId":..,"topic":..}:value,...}`, the inlined-object keys
/// fastjson produces and Java's parser needs for `Map<MessageQueue, V>`.
pub fn write_mq_map<V: Serialize>(entries: &[(MessageQueue, V)]) -> String {
    let mut out = String::from("{");
    for (i, (mq, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(mq).unwrap_or_default());
        out.push(':');
        out.push_str(&serde_json::to_string(v).unwrap_or_default());
    }
    out.push('}');
    out
}

/// Reads a normalised `Map<MessageQueue, V>` (see [`crate::json`]); bad keys are skipped.
pub fn read_mq_map(v: &Value) -> Vec<(MessageQueue, Value)> {
    let Some(obj) = v.as_object() else {
        return Vec::new();
    };
    obj.iter()
        .filter_map(|(k, v)| {
            crate::json::parse_object_key::<MessageQueue>(k)
                .ok()
                .map(|mq| (mq, v.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastjson_map_round_trip() {
        let entries = vec![
            (MessageQueue::new("T", "b", 1), 10i64),
            (MessageQueue::new("T", "b", 0), 5),
        ];
        let text = format!("{{\"offsetTable\":{}}}", write_mq_map(&entries));
        assert!(
            text.starts_with("{\"offsetTable\":{{\"brokerName\""),
            "{text}"
        );
        let v: Value = crate::json::from_slice(text.as_bytes()).unwrap();
        let mut back = read_mq_map(&v["offsetTable"]);
        back.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(back[0].0.queue_id, 0);
        assert_eq!(back[1].1, 10);
    }
}
