//! Messages between the 5.x wire form (`v2::Message`: system properties as fields, user
//! properties as a map) and the stored record (one properties string, RocketMQ's names).

use std::net::SocketAddr;

use ferromq_broker::pop::Popped;
use ferromq_protocol::grpc::{
    Digest, DigestType, Encoding, Message, MessageType, Resource, SystemProperties,
};
use ferromq_protocol::message::{parse_properties, prop, push_property, DecodedMessage};
use md5::{Digest as _, Md5};

/// The message group of a FIFO message (upstream's `__SHARDINGKEY`).
pub const SHARDING_KEY: &str = "__SHARDINGKEY";

/// Properties that are fields of `SystemProperties` or the broker's own bookkeeping: never shown
/// to a consumer as user properties.
const SYSTEM_KEYS: &[&str] = &[
    prop::KEYS,
    prop::TAGS,
    prop::WAIT,
    prop::DELAY,
    prop::RETRY_TOPIC,
    prop::REAL_TOPIC,
    prop::REAL_QID,
    prop::TRAN_MSG,
    prop::ORIGIN_MESSAGE_ID,
    prop::RECONSUME_TIME,
    prop::MAX_RECONSUME_TIMES,
    prop::UNIQ_KEY,
    prop::CLUSTER,
    prop::MSG_REGION,
    prop::TRACE_ON,
    prop::BORN_HOST,
    prop::CONSUME_START_TIME,
    prop::TIMER_DELIVER_MS,
    prop::TIMER_DELAY_SEC,
    prop::TIMER_DELAY_MS,
    SHARDING_KEY,
    "MIN_OFFSET",
    "MAX_OFFSET",
    "PGROUP",
    "__transactionId__",
];

/// The stored properties of a message a 5.x producer sent.
pub fn properties_of(m: &Message) -> String {
    // Written straight into the string: the system keys below are never user properties (the
    // filter drops them), so no key can appear twice.
    let mut props = String::with_capacity(128);
    for (k, v) in m
        .user_properties
        .iter()
        .filter(|(k, _)| !SYSTEM_KEYS.contains(&k.as_str()))
    {
        push_property(&mut props, k, v);
    }
    if let Some(sp) = &m.system_properties {
        if let Some(tag) = sp.tag.as_ref().filter(|t| !t.is_empty()) {
            push_property(&mut props, prop::TAGS, tag);
        }
        if !sp.keys.is_empty() {
            push_property(&mut props, prop::KEYS, &sp.keys.join(" "));
        }
        if !sp.message_id.is_empty() {
            push_property(&mut props, prop::UNIQ_KEY, &sp.message_id);
        }
        if let Some(g) = sp.message_group.as_ref().filter(|g| !g.is_empty()) {
            push_property(&mut props, SHARDING_KEY, g);
        }
        // What the client says it is; the record keeps the peer address (upstream's proxy
        // does the same, and shows consumers this one first).
        if !sp.born_host.trim().is_empty() {
            push_property(&mut props, prop::BORN_HOST, &sp.born_host);
        }
        // A delay message: the broker's timer holds it until then (`ferromq_broker::timer`).
        if let Some(t) = &sp.delivery_timestamp {
            push_property(&mut props, prop::TIMER_DELIVER_MS, &to_ms(t).to_string());
        }
    }
    props
}

/// What a consumer gets with a delivered message.
pub struct Receipt<'a> {
    pub handle: &'a str,
    pub attempt: u32,
    pub invisible: std::time::Duration,
}

/// The 5.x form of a popped message.
pub fn to_v2(p: &Popped, invisible: std::time::Duration) -> Message {
    message_v2(
        &p.msg,
        Some(Receipt {
            handle: &p.handle,
            attempt: p.attempt,
            invisible,
        }),
    )
}

/// The 5.x form of a stored message; with a receipt when it is a delivery.
pub fn message_v2(m: &DecodedMessage, receipt: Option<Receipt<'_>>) -> Message {
    let props = parse_properties(&m.properties);
    let user_properties = props
        .iter()
        .filter(|(k, _)| !SYSTEM_KEYS.contains(&k.as_str()) && !k.starts_with("FERRO_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let message_group = props.get(SHARDING_KEY).cloned();
    let delivery_timestamp = props
        .get(prop::TIMER_DELIVER_MS)
        .and_then(|t| t.parse::<i64>().ok());
    let transactional = props
        .get(ferromq_protocol::transaction::prop::TRAN_MSG)
        .is_some_and(|v| v == "true");
    let message_type = if message_group.is_some() {
        MessageType::Fifo
    } else if transactional {
        MessageType::Transaction
    } else if delivery_timestamp.is_some() {
        MessageType::Delay
    } else {
        MessageType::Normal
    };
    let keys = props
        .get(prop::KEYS)
        .map(|k| {
            k.split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let message_id = props
        .get(prop::UNIQ_KEY)
        .cloned()
        .unwrap_or_else(|| m.offset_msg_id());
    Message {
        topic: Some(Resource {
            resource_namespace: String::new(),
            name: m.topic.clone(),
        }),
        user_properties,
        system_properties: Some(SystemProperties {
            tag: props.get(prop::TAGS).cloned(),
            keys,
            message_id,
            // MD5, not CRC32: the Node client reads a CRC32 checksum as decimal and the others
            // as hex; every client agrees on MD5 (uppercase hex).
            body_digest: Some(Digest {
                r#type: DigestType::Md5 as i32,
                checksum: md5_hex(&m.body),
            }),
            body_encoding: Encoding::Identity as i32,
            message_type: message_type as i32,
            born_timestamp: Some(timestamp(m.born_timestamp)),
            born_host: props
                .get(prop::BORN_HOST)
                .filter(|h| !h.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| host(m.born_host)),
            store_timestamp: Some(timestamp(m.store_timestamp)),
            store_host: m.store_host.to_string(),
            delivery_timestamp: delivery_timestamp.map(timestamp),
            receipt_handle: receipt.as_ref().map(|r| r.handle.to_string()),
            queue_id: m.queue_id,
            queue_offset: Some(m.queue_offset),
            invisible_duration: receipt.as_ref().map(|r| duration(r.invisible)),
            delivery_attempt: receipt
                .as_ref()
                .map(|r| i32::try_from(r.attempt).unwrap_or(i32::MAX)),
            message_group,
            trace_context: None,
            orphaned_transaction_recovery_duration: None,
            dead_letter_queue: None,
            lite_topic: None,
            priority: None,
        }),
        body: m.body.clone(),
    }
}

fn host(a: SocketAddr) -> String {
    a.ip().to_string()
}

pub fn md5_hex(body: &[u8]) -> String {
    let d = Md5::digest(body);
    d.iter().map(|b| format!("{b:02X}")).collect()
}

/// Milliseconds since the epoch of a protobuf timestamp.
pub fn to_ms(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub fn duration(d: std::time::Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// A protobuf duration as a `Duration`; `None` when negative or absurd.
pub fn from_duration(d: &prost_types::Duration) -> Option<std::time::Duration> {
    if d.seconds < 0 || d.nanos < 0 || d.seconds > 365 * 24 * 3600 {
        return None;
    }
    Some(std::time::Duration::new(d.seconds as u64, d.nanos as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_is_uppercase_hex() {
        assert_eq!(md5_hex(b""), "D41D8CD98F00B204E9800998ECF8427E");
    }

    #[test]
    fn system_properties_become_record_properties() {
        let m = Message {
            topic: None,
            user_properties: [
                ("a".to_string(), "1".to_string()),
                ("TAGS".into(), "spoof".into()),
            ]
            .into_iter()
            .collect(),
            system_properties: Some(SystemProperties {
                tag: Some("T".into()),
                keys: vec!["k1".into(), "k2".into()],
                message_id: "ID".into(),
                message_group: Some("g".into()),
                ..SystemProperties::default()
            }),
            body: bytes::Bytes::new(),
        };
        let p = parse_properties(&properties_of(&m));
        assert_eq!(p["TAGS"], "T");
        assert_eq!(p["KEYS"], "k1 k2");
        assert_eq!(p["UNIQ_KEY"], "ID");
        assert_eq!(p[SHARDING_KEY], "g");
        assert_eq!(p["a"], "1");
    }

    #[test]
    fn the_reported_born_host_is_kept_and_shown_first() {
        use ferromq_protocol::message::{decode_record, encode_record, NewMessage};
        let sent = Message {
            topic: None,
            user_properties: Default::default(),
            system_properties: Some(SystemProperties {
                message_id: "ID".into(),
                born_host: "app-host-7".into(),
                ..SystemProperties::default()
            }),
            body: bytes::Bytes::new(),
        };
        let record = |properties: String| {
            let m = NewMessage {
                topic: "T".into(),
                queue_id: 0,
                flag: 0,
                sys_flag: 0,
                born_timestamp: 1,
                born_host: "10.1.2.3:5555".parse().unwrap(),
                store_host: "127.0.0.1:10911".parse().unwrap(),
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body: bytes::Bytes::new(),
                properties,
            };
            let mut out = Vec::new();
            encode_record(&m, &mut out).unwrap();
            decode_record(&bytes::Bytes::from(out)).unwrap().0
        };
        let shown = message_v2(&record(properties_of(&sent)), None);
        let sp = shown.system_properties.unwrap();
        assert_eq!(sp.born_host, "app-host-7");
        assert!(!shown.user_properties.contains_key(prop::BORN_HOST));
        // Without one (a Remoting producer), the peer address.
        let shown = message_v2(&record(String::new()), None);
        assert_eq!(shown.system_properties.unwrap().born_host, "10.1.2.3");
    }
}
