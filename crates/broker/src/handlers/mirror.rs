//! The two ferromq codes `ferromq mirror` writes with: FERRO_MIRROR_APPEND (9010) copies records
//! pulled from a source cluster into one queue, FERRO_SYNC_OFFSETS (9011) stores offsets
//! translated from the source. `docs/protocol.md` documents both.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferromq_protocol::body;
use ferromq_protocol::body::progress::QueueKey;
use ferromq_protocol::body::progress::{RejectedOffset, SyncOffsetsRequest, SyncOffsetsResult};
use ferromq_protocol::codes::sys_flag;
use ferromq_protocol::message::{decode_records, encode_properties, parse_properties, prop};
use ferromq_protocol::{names, Refusal, RemotingCommand};

use super::{store_messages_at, Outgoing};
use crate::dispatch::Reply;
use crate::Broker;

/// Properties that already did their work on the source: a copy must not be delayed again.
const SPENT_PROPERTIES: [&str; 4] = [
    prop::DELAY,
    prop::TIMER_DELIVER_MS,
    prop::TIMER_DELAY_SEC,
    prop::TIMER_DELAY_MS,
];

/// FERRO_MIRROR_APPEND: header `topic`, `queueId`, `sourceBroker`, `origin` and optionally
/// `expectedQueueOffset`; body = message records exactly as a PULL_MESSAGE answer carries them.
/// All or nothing: a record too large for this broker refuses the whole request and names its
/// source offset.
pub async fn append(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let topic = req.req_str("topic")?;
    let queue_id = req.req_i32("queueId")?;
    let source_broker = req.req_str("sourceBroker")?;
    let origin = req.req_str("origin")?;
    let expected = req.opt_i64("expectedQueueOffset")?;
    let Some(cfg) = b.topics.get(topic) else {
        return Err(Refusal::TopicNotExist(format!("topic {topic} does not exist")).into());
    };
    if queue_id < 0 || queue_id >= cfg.queue_count() {
        return Err(Refusal::InvalidParameter(format!(
            "queueId {queue_id} does not exist: topic {topic} has {} queues",
            cfg.queue_count()
        ))
        .into());
    }
    let records = decode_records(&req.body)
        .map_err(|e| Refusal::MessageIllegal(format!("malformed records: {e}")))?;
    let mut msgs = Vec::with_capacity(records.len());
    for m in records {
        if m.body.len() > b.cfg.max_message_size {
            return Err(Refusal::MirroredMessageTooLarge {
                source_offset: m.queue_offset,
                msg_id: m.offset_msg_id(),
                size: m.body.len(),
                max: b.cfg.max_message_size,
            }
            .into());
        }
        if m.topic != topic {
            return Err(Refusal::MessageIllegal(format!(
                "a record of topic {} in an append to {topic}",
                m.topic
            ))
            .into());
        }
        let mut props = parse_properties(&m.properties);
        for p in SPENT_PROPERTIES {
            props.remove(p);
        }
        props.insert(
            prop::MIRROR_SOURCE.into(),
            format!("{source_broker}|{}|{}", m.queue_id, m.queue_offset),
        );
        props.insert(prop::MIRROR_MSG_ID.into(), m.offset_msg_id());
        props
            .entry(prop::MIRROR_ORIGIN.into())
            .or_insert_with(|| origin.to_string());
        props
            .entry(prop::MIRROR_STORE_TIME.into())
            .or_insert_with(|| m.store_timestamp.to_string());
        msgs.push(Outgoing {
            topic: topic.to_string(),
            queue_id,
            flag: m.flag,
            sys_flag: m.sys_flag & !sys_flag::TRANSACTION_MASK,
            born_timestamp: m.born_timestamp,
            born_host: m.born_host,
            reconsume_times: m.reconsume_times,
            body: m.body,
            properties: encode_properties(&props),
        });
    }
    if msgs.is_empty() {
        return Ok(RemotingCommand::success()
            .with_ext("count", 0)
            .with_ext("nextQueueOffset", b.store.max_offset(topic, queue_id)));
    }
    let count = msgs.len() as i64;
    // A queue found at another offset than `expected` is QUEUE_OFFSET_MISMATCH (crate::error).
    let stored = store_messages_at(b, msgs, expected).await?;
    let first = stored
        .first()
        .map(|s| s.put.queue_offset)
        .ok_or_else(|| Refusal::SystemError("store returned no result".into()))?;
    Ok(RemotingCommand::success()
        .with_ext("queueOffset", first)
        .with_ext("count", count)
        .with_ext("nextQueueOffset", first + count))
}

/// FERRO_SYNC_OFFSETS: stores the entries (independent of subscriptions, so groups this
/// cluster never saw are ready), except those of groups online here (unless told otherwise)
/// and those naming queues that do not exist. Durable like a client commit.
pub async fn sync_offsets(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let r: SyncOffsetsRequest = body::parse(&req.body).map_err(Refusal::InvalidParameter)?;
    let mut online = BTreeSet::new();
    let mut rejected = Vec::new();
    let mut entries = Vec::with_capacity(r.entries.len());
    for e in r.entries {
        if r.skip_online_groups
            && (b.clients.is_online(&e.group) || b.grpc_clients.is_online(&e.group))
        {
            online.insert(e.group);
            continue;
        }
        let problem =
            if let Err(m) = names::validate_group(&e.group) {
                Some(m.to_string())
            } else if e.offset < 0 {
                Some("negative offset".to_string())
            } else {
                match b.topics.get(&e.topic) {
                    None => Some(format!("topic {} does not exist", e.topic)),
                    Some(cfg) if e.queue_id < 0 || e.queue_id >= cfg.queue_count() => Some(
                        format!("topic {} has {} queues", e.topic, cfg.queue_count()),
                    ),
                    Some(_) => None,
                }
            };
        match problem {
            Some(reason) => rejected.push(RejectedOffset { entry: e, reason }),
            None => entries.push((
                QueueKey {
                    group: e.group,
                    topic: e.topic,
                    queue_id: e.queue_id,
                },
                e.offset,
            )),
        }
    }
    let applied = entries.len();
    b.offsets.commit(entries).await?;
    let res = SyncOffsetsResult {
        applied,
        skipped_online_groups: online.into_iter().collect(),
        rejected,
    };
    Ok(RemotingCommand::success().with_body(body::to_vec(&res)))
}
