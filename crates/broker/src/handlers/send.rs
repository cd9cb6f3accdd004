//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310, one-letter keys) and SEND_BATCH_MESSAGE (320).

use std::sync::Arc;

use ferromq_net::Connection;
use ferromq_protocol::codes::{perm, sys_flag};
use ferromq_protocol::message::{
    decode_batch_body, encode_properties, find_property, offset_msg_id, parse_properties, prop,
};
use ferromq_protocol::names::{self, AUTO_CREATE_TOPIC};
use ferromq_protocol::{HeaderError, Refusal, RemotingCommand};
use rand::Rng;

use super::{store_messages, Outgoing};
use crate::dispatch::Reply;
use crate::error::ReplyError;
use crate::groups::FindError;
use crate::Broker;

/// The send request header, whichever key style the client used.
#[derive(Debug)]
pub(crate) struct SendHeader {
    pub producer_group: String,
    pub topic: String,
    pub default_topic_queue_nums: i32,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub flag: i32,
    pub properties: String,
    pub reconsume_times: i32,
    pub max_reconsume_times: Option<i32>,
}

/// V1 key and V2 one-letter key of each field.
const KEYS: [(&str, &str); 12] = [
    ("producerGroup", "a"),
    ("topic", "b"),
    ("defaultTopic", "c"),
    ("defaultTopicQueueNums", "d"),
    ("queueId", "e"),
    ("sysFlag", "f"),
    ("bornTimestamp", "g"),
    ("flag", "h"),
    ("properties", "i"),
    ("reconsumeTimes", "j"),
    ("unitMode", "k"),
    ("maxReconsumeTimes", "l"),
];

fn key(i: usize, v2: bool) -> &'static str {
    if v2 {
        KEYS[i].1
    } else {
        KEYS[i].0
    }
}

impl SendHeader {
    /// Parses either key style; V2 requests that carry long names are accepted too.
    pub(crate) fn parse(req: &RemotingCommand, v2: bool) -> Result<Self, HeaderError> {
        let v2 = v2 && req.ext("b").is_some();
        let s = |i| req.ext(key(i, v2)).unwrap_or_default().to_string();
        let topic = req.req_str(key(1, v2))?.to_string();
        Ok(Self {
            producer_group: s(0),
            topic,
            default_topic_queue_nums: req.opt_i32(key(3, v2))?.unwrap_or(4),
            queue_id: req.req_i32(key(4, v2))?,
            sys_flag: req.opt_i32(key(5, v2))?.unwrap_or(0),
            born_timestamp: req.opt_i64(key(6, v2))?.unwrap_or(0),
            flag: req.opt_i32(key(7, v2))?.unwrap_or(0),
            properties: s(8),
            reconsume_times: req.opt_i32(key(9, v2))?.unwrap_or(0),
            max_reconsume_times: req.opt_i32(key(11, v2))?,
        })
    }
}

pub async fn send(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand, v2: bool) -> Reply {
    let h = SendHeader::parse(req, v2)?;
    check_body(b, req.body.len())?;
    let uniq = find_property(&h.properties, prop::UNIQ_KEY).map(String::from);
    // A timed message can be recalled until its time (5.x `recallMessage`).
    let recall = crate::timer::recall_handle_of(&b.cfg.broker_name, &h.topic, &h.properties);
    let stored = store_one(b, &h, req.body.clone(), conn.remote_addr()).await?;
    let mut resp = send_response(
        b,
        &[stored.put.physical_offset],
        stored.queue_id,
        stored.put.queue_offset,
    );
    if let Some(u) = uniq {
        resp.put_ext("transactionId", u);
    }
    if let Some(r) = recall {
        resp.put_ext("recallHandle", r);
    }
    Ok(resp)
}

/// RECALL_MESSAGE (370): header `topic`, `recallHandle`; answers `msgId`.
pub async fn recall(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    use crate::timer_recall::RecallError;
    let topic = req.req_str("topic")?;
    let handle = req.req_str("recallHandle")?;
    match crate::timer::recall(b, topic, handle).await {
        Ok(id) => Ok(RemotingCommand::success().with_ext("msgId", id)),
        Err(e @ RecallError::Invalid(_)) => Err(Refusal::InvalidParameter(e.to_string()).into()),
        Err(e @ RecallError::Full) => Err(Refusal::SystemBusy {
            limit: "timer-recalls",
            message: e.to_string(),
        }
        .into()),
        Err(e) => Err(Refusal::SystemError(e.to_string()).into()),
    }
}

/// Stores one message sent with header `h`, whichever protocol it came by: destination checks
/// (and DLQ redirection), then the half topic for a prepared message or the store.
async fn store_one(
    b: &Arc<Broker>,
    h: &SendHeader,
    body: bytes::Bytes,
    born_host: std::net::SocketAddr,
) -> Result<super::Stored, ReplyError> {
    let (topic, queue_id, drop_delay) = resolve_destination(b, h)?;
    super::check_timer(&h.properties).map_err(Refusal::MessageIllegal)?;
    let properties = if drop_delay {
        without_delay(&h.properties)
    } else {
        h.properties.clone()
    };
    let msg = Outgoing {
        topic,
        queue_id,
        flag: h.flag,
        sys_flag: h.sys_flag,
        born_timestamp: h.born_timestamp,
        born_host,
        reconsume_times: h.reconsume_times,
        body,
        properties,
    };
    let stored = if is_half_message(h) {
        // Waits in the half topic until END_TRANSACTION or a check-back decides.
        crate::transaction::prepare(b, msg, &h.producer_group).await?
    } else {
        store_messages(b, vec![msg])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Refusal::SystemError("store returned no result".into()))?
    };
    Ok(stored)
}

/// A message from a front end other than Remoting (the gRPC endpoint).
#[derive(Debug, Clone)]
pub struct Produce {
    pub producer_group: String,
    pub topic: String,
    /// FIFO messages of one group go to one queue, chosen by the group's hash.
    pub message_group: Option<String>,
    pub born_timestamp: i64,
    pub born_host: std::net::SocketAddr,
    /// Encoded properties (`k\x01v\x02…`).
    pub properties: String,
    pub body: bytes::Bytes,
}

/// Where a [`Produce`] was stored.
#[derive(Debug, Clone)]
pub struct Produced {
    pub queue_id: i32,
    pub queue_offset: i64,
    /// The broker's id of the stored message (`offsetMsgId`).
    pub offset_msg_id: String,
    /// Where the record is in the commit log (a half message's, for its EndTransaction).
    pub commit_log_offset: i64,
}

/// Stores one message through the same checks and path as SEND_MESSAGE.
///
/// # Errors
/// The refusal a Remoting send would get.
pub async fn produce(b: &Arc<Broker>, p: Produce) -> Result<Produced, Refusal> {
    check_body(b, p.body.len())?;
    let queue_id = match (&p.message_group, b.topics.get(&p.topic)) {
        (Some(g), Some(cfg)) => {
            let n = cfg.write_queue_nums.max(1) as u32;
            (crc32fast::hash(g.as_bytes()) % n) as i32
        }
        _ => -1,
    };
    let h = SendHeader {
        producer_group: p.producer_group,
        topic: p.topic,
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: p.born_timestamp,
        flag: 0,
        properties: p.properties,
        reconsume_times: 0,
        max_reconsume_times: None,
    };
    let stored = store_one(b, &h, p.body, p.born_host)
        .await
        .map_err(|e| e.0)?;
    Ok(Produced {
        queue_id: stored.queue_id,
        queue_offset: stored.put.queue_offset,
        offset_msg_id: offset_msg_id(b.store_host, stored.put.physical_offset),
        commit_log_offset: stored.put.physical_offset,
    })
}

pub async fn send_batch(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let h = SendHeader::parse(req, true)?;
    check_body(b, req.body.len())?;
    let items = decode_batch_body(&req.body)
        .map_err(|e| Refusal::MessageIllegal(format!("malformed batch body: {e}")))?;
    if items.is_empty() {
        return Err(Refusal::MessageIllegal("the batch is empty".into()).into());
    }
    if find_property(&h.properties, prop::DELAY).is_some() {
        return Err(
            Refusal::MessageIllegal("delayed messages cannot be sent as a batch".into()).into(),
        );
    }
    if is_half_message(&h) {
        return Err(Refusal::MessageIllegal(
            "transactional messages cannot be sent as a batch".into(),
        )
        .into());
    }
    let (topic, queue_id, _) = resolve_destination(b, &h)?;
    let born_host = conn.remote_addr();
    let msgs = items
        .into_iter()
        .map(|it| {
            let properties = if find_property(&it.properties, prop::DELAY).is_some() {
                without_delay(&it.properties)
            } else {
                it.properties
            };
            Outgoing {
                topic: topic.clone(),
                queue_id,
                flag: it.flag,
                sys_flag: h.sys_flag & !sys_flag::INNER_BATCH,
                born_timestamp: h.born_timestamp,
                born_host,
                reconsume_times: h.reconsume_times,
                body: it.body,
                properties,
            }
        })
        .collect();
    let stored = store_messages(b, msgs).await?;
    let first = stored
        .first()
        .ok_or_else(|| Refusal::SystemError("store returned no result".into()))?;
    let phys: Vec<i64> = stored.iter().map(|s| s.put.physical_offset).collect();
    Ok(send_response(
        b,
        &phys,
        first.queue_id,
        first.put.queue_offset,
    ))
}

fn check_body(b: &Broker, len: usize) -> Result<(), Refusal> {
    if len > b.cfg.max_message_size {
        return Err(Refusal::MessageIllegal(format!(
            "the message body size {len} is over the maximum {}",
            b.cfg.max_message_size
        )));
    }
    Ok(())
}

fn send_response(b: &Broker, phys: &[i64], queue_id: i32, queue_offset: i64) -> RemotingCommand {
    let ids: Vec<String> = phys
        .iter()
        .map(|p| offset_msg_id(b.store_host, *p))
        .collect();
    RemotingCommand::success()
        .with_ext("msgId", ids.join(","))
        .with_ext("queueId", queue_id)
        .with_ext("queueOffset", queue_offset)
        .with_ext(prop::MSG_REGION, prop::DEFAULT_REGION)
        .with_ext(prop::TRACE_ON, "true")
}

/// A half (prepared) message: `TRAN_MSG=true`, as upstream decides, or the prepared type in
/// the sysFlag (which upstream's store would keep out of every consume queue, so it must not be
/// stored as an ordinary message either).
fn is_half_message(h: &SendHeader) -> bool {
    find_property(&h.properties, ferromq_protocol::transaction::prop::TRAN_MSG)
        .and_then(ferromq_protocol::command::parse_bool)
        .unwrap_or(false)
        || h.sys_flag & sys_flag::TRANSACTION_MASK == sys_flag::TRANSACTION_PREPARED
}

/// The properties without a delay level (messages going to a DLQ or in a batch).
fn without_delay(props: &str) -> String {
    let mut map = parse_properties(props);
    map.remove(prop::DELAY);
    encode_properties(&map)
}

/// Validates the topic, creates it if allowed, redirects exhausted retries to the DLQ, and
/// picks the queue. The flag says whether the delay level must be dropped (DLQ).
fn resolve_destination(b: &Broker, h: &SendHeader) -> Result<(String, i32, bool), ReplyError> {
    names::validate_topic(&h.topic).map_err(Refusal::InvalidParameter)?;
    if h.topic == names::SCHEDULE_TOPIC
        || h.topic == names::TIMER_TOPIC
        || h.topic == AUTO_CREATE_TOPIC
        || h.topic == ferromq_protocol::transaction::HALF_TOPIC
        || h.topic == ferromq_protocol::transaction::OP_HALF_TOPIC
    {
        // Upstream refuses these too: a message in the schedule topic would be re-stored to
        // whatever REAL_TOPIC it names, bypassing validation and permissions. The same holds
        // for the half topic, and a record in the op topic would resolve someone else's
        // transaction.
        return Err(Refusal::NoPermission {
            message: format!("sending to the system topic {} is not allowed", h.topic),
            forbidden_type: None,
        }
        .into());
    }
    let mut topic = h.topic.clone();
    let mut to_dlq = false;
    let mut cfg = match b.topics.get(&topic) {
        Some(c) => c,
        None => create_for_send(b, h)?,
    };
    if names::is_retry_topic(&topic) {
        let group = &topic[names::RETRY_PREFIX.len()..];
        let max = h
            .max_reconsume_times
            .unwrap_or_else(|| b.groups.get(group).map(|g| g.retry_max_times).unwrap_or(16));
        if h.reconsume_times >= max {
            topic = names::dlq_topic(group);
            cfg = b.topics.get_or_create(&topic, 1, perm::READ_WRITE)?;
            to_dlq = true;
        }
    }
    if !cfg.writable() {
        return Err(Refusal::NoPermission {
            message: format!("the topic[{topic}] sending message is forbidden"),
            forbidden_type: None,
        }
        .into());
    }
    let queues = cfg.write_queue_nums.max(1);
    let queue_id = if h.queue_id < 0 {
        rand::thread_rng().gen_range(0..queues)
    } else {
        h.queue_id
    };
    if queue_id >= queues {
        return Err(Refusal::SystemError(format!(
            "request queueId[{queue_id}] is illegal, topic {topic} has {queues} write queues"
        ))
        .into());
    }
    Ok((topic, queue_id, to_dlq))
}

fn create_for_send(
    b: &Broker,
    h: &SendHeader,
) -> Result<ferromq_protocol::body::TopicConfig, ReplyError> {
    if names::is_retry_topic(&h.topic) {
        let group = &h.topic[names::RETRY_PREFIX.len()..];
        let queues = match b.groups.find_or_create(group) {
            Ok(g) => g.retry_queue_nums,
            Err(FindError::NotFound(_)) => 1,
            Err(e) => return Err(e.into()),
        };
        return Ok(b.topics.get_or_create(&h.topic, queues, perm::READ_WRITE)?);
    }
    let template = b
        .topics
        .get(AUTO_CREATE_TOPIC)
        .filter(|_| b.cfg.auto_create_topic);
    match template {
        Some(t) => {
            let queues = h
                .default_topic_queue_nums
                .clamp(1, t.write_queue_nums.max(1));
            Ok(b.topics.get_or_create(&h.topic, queues, perm::READ_WRITE)?)
        }
        None => Err(Refusal::TopicNotExist(format!(
            "topic[{}] not exist, apply first please! (auto-creation is disabled)",
            h.topic
        ))
        .into()),
    }
}
