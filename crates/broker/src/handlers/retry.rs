//! CONSUMER_SEND_MSG_BACK (36): a consumer returns a message it failed to consume. It goes to
//! `%RETRY%group` after a delay level (3 + reconsumeTimes unless the client chose one), or to
//! `%DLQ%group` once it has been retried `maxReconsumeTimes` times.

use std::sync::Arc;

use ferromq_net::Connection;
use ferromq_protocol::codes::perm;
use ferromq_protocol::message::{
    decode_record, encode_properties, prop, DecodedMessage, Properties,
};
use ferromq_protocol::{names, Refusal, RemotingCommand};

use super::{store_messages, Outgoing};
use crate::dispatch::Reply;
use crate::Broker;

pub async fn send_back(b: &Arc<Broker>, _conn: &Connection, req: &RemotingCommand) -> Reply {
    let phys = req.req_i64("offset")?;
    let group = req.req_str("group")?;
    let delay_level = req.opt_i32("delayLevel")?.unwrap_or(0);
    let header_max = req.opt_i32("maxReconsumeTimes")?;
    let cfg = b.groups.find_or_create(group)?;
    if cfg.retry_queue_nums <= 0 {
        return Ok(RemotingCommand::success());
    }
    let retry_topic = names::retry_topic(group);
    let retry_cfg = b
        .topics
        .get_or_create(&retry_topic, cfg.retry_queue_nums, perm::READ_WRITE)?;
    let record = b
        .store
        .read_record(phys)
        .ok_or_else(|| Refusal::SystemError(format!("look message by offset failed, {phys}")))?;
    let (msg, _) = decode_record(&record)
        .map_err(|e| Refusal::SystemError(format!("stored message at {phys} unreadable: {e}")))?;
    if msg.topic == ferromq_protocol::transaction::HALF_TOPIC
        || msg.topic == ferromq_protocol::transaction::OP_HALF_TOPIC
    {
        // A half message must not reach consumers through a retry topic before its commit.
        return Err(Refusal::NoPermission {
            message: format!("the message at offset {phys} is in a transaction system topic"),
            forbidden_type: None,
        }
        .into());
    }
    let mut props = origin_properties(&msg, req.ext("originMsgId"));
    let max = header_max
        .filter(|m| *m >= 0)
        .unwrap_or(cfg.retry_max_times);
    let (topic, queue_id) = if msg.reconsume_times >= max || delay_level < 0 {
        props.remove(prop::DELAY);
        let dlq = names::dlq_topic(group);
        b.topics.get_or_create(&dlq, 1, perm::READ_WRITE)?;
        (dlq, 0)
    } else {
        let level = if delay_level == 0 {
            msg.reconsume_times.saturating_add(3)
        } else {
            delay_level
        };
        props.insert(prop::DELAY.into(), level.to_string());
        let q = rand::random::<u32>() as i32 & i32::MAX;
        (retry_topic, q % retry_cfg.write_queue_nums.max(1))
    };
    let reconsume_times = msg.reconsume_times.saturating_add(1);
    store_messages(
        b,
        vec![requeued(msg, &props, topic, queue_id, reconsume_times)],
    )
    .await?;
    Ok(RemotingCommand::success())
}

/// The message's properties with where it first came from: `RETRY_TOPIC` (its first topic) and
/// `ORIGIN_MESSAGE_ID` (`origin` when the client named it, else the one it already carries,
/// else its own id).
fn origin_properties(msg: &DecodedMessage, origin: Option<&str>) -> Properties {
    let mut props = msg.properties_map();
    props
        .entry(prop::RETRY_TOPIC.into())
        .or_insert_with(|| msg.topic.clone());
    let origin_id = origin
        .map(String::from)
        .or_else(|| props.get(prop::ORIGIN_MESSAGE_ID).cloned())
        .unwrap_or_else(|| msg.offset_msg_id());
    props.insert(prop::ORIGIN_MESSAGE_ID.into(), origin_id);
    props
}

/// A stored message again, in `topic`/`queue_id` (a retry or dead-letter topic).
fn requeued(
    msg: DecodedMessage,
    props: &Properties,
    topic: String,
    queue_id: i32,
    reconsume_times: i32,
) -> Outgoing {
    Outgoing {
        topic,
        queue_id,
        flag: msg.flag,
        sys_flag: msg.sys_flag,
        born_timestamp: msg.born_timestamp,
        born_host: msg.born_host,
        reconsume_times,
        body: msg.body,
        properties: encode_properties(props),
    }
}

/// Stores a copy of `msg` in `%DLQ%<group>`: a POP delivery that used up its `attempts`.
///
/// # Errors
/// The DLQ topic cannot be created, or the store refuses the message.
pub(crate) async fn store_dead_letter(
    b: &Broker,
    group: &str,
    msg: DecodedMessage,
    attempts: u32,
) -> Result<(), crate::error::ReplyError> {
    let dlq = names::dlq_topic(group);
    b.topics.get_or_create(&dlq, 1, perm::READ_WRITE)?;
    let mut props = origin_properties(&msg, None);
    props.remove(prop::DELAY);
    let reconsume_times = i32::try_from(attempts.saturating_sub(1)).unwrap_or(i32::MAX);
    let out = requeued(msg, &props, dlq, 0, reconsume_times);
    store_messages(b, vec![out]).await?;
    Ok(())
}
