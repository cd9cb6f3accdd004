//! POP over Remoting, for the 5.x Java client in POP mode: POP_MESSAGE (200050), ACK_MESSAGE
//! (200051), CHANGE_MESSAGE_INVISIBLETIME (200053) and BATCH_ACK_MESSAGE (200151). The deliveries are the leases gRPC
//! consumers get ([`crate::pop`]); only the wire differs. Each message carries its checkpoint in
//! property `POP_CK` ([`PopCheckpoint`]), and the client hands it back to ack. A checkpoint has
//! no room for a lease number, so it names the lease by queue, offset, reset epoch (in the revive
//! queue id, offset by [`REVIVE_QID_BASE`]) and window end (pop time plus invisible time): a
//! later delivery of the same message ends at another time, so an outdated checkpoint is told
//! apart as a gRPC receipt handle is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::{
    self, BatchAckMessageRequestBody, PopCheckpoint, SubscriptionData, TOPIC_MARK_NORMAL,
};
use ferromq_protocol::codes::response as rs;
use ferromq_protocol::message::{encode_properties, encode_redelivered, parse_properties, prop};
use ferromq_protocol::{names, Refusal, RemotingCommand};

use crate::dispatch::Reply;
use crate::pop::{self, PopFault, PopSpec, Popped};
use crate::Broker;

/// Revive queue ids carry `REVIVE_QID_BASE + epoch`; upstream's 999 marks an orderly
/// checkpoint, so the base stays clear of it.
pub const REVIVE_QID_BASE: i32 = 1000;
/// At most this many messages per POP (upstream's limit).
const MAX_BATCH: i32 = 32;
const MIN_INVISIBLE_MS: i64 = 1_000;
const MAX_INVISIBLE_MS: i64 = 12 * 3600 * 1000;
const MAX_POLL: Duration = Duration::from_secs(60);
/// `initMode` asking for the first message of a queue the group never consumed.
const INIT_MODE_MIN: i32 = 0;

fn invisible_ms(req: &RemotingCommand) -> Result<i64, Refusal> {
    let v = req
        .req_i64("invisibleTime")
        .map_err(|e| Refusal::InvalidParameter(e.to_string()))?;
    if !(MIN_INVISIBLE_MS..=MAX_INVISIBLE_MS).contains(&v) {
        return Err(Refusal::InvalidParameter(format!(
            "invisibleTime must be {MIN_INVISIBLE_MS}..={MAX_INVISIBLE_MS} ms, not {v}"
        )));
    }
    Ok(v)
}

fn revive_qid(epoch: u32) -> i32 {
    i32::try_from(i64::from(REVIVE_QID_BASE) + i64::from(epoch)).unwrap_or(i32::MAX)
}

/// POP_MESSAGE: up to `maxMsgNums` messages from one queue (or all, queue id -1), waiting up to
/// `pollTime` for some.
pub async fn pop_message(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("consumerGroup")?;
    let topic = req.req_str("topic")?;
    names::validate_group(group).map_err(Refusal::InvalidParameter)?;
    let queue_id = req.req_i32("queueId")?;
    let max = req.req_i32("maxMsgNums")?;
    if !(1..=MAX_BATCH).contains(&max) {
        return Err(Refusal::InvalidParameter(format!(
            "maxMsgNums must be 1..={MAX_BATCH}, not {max}"
        ))
        .into());
    }
    let invisible = invisible_ms(req)?;
    let poll_ms = req.opt_i64("pollTime")?.unwrap_or(0).max(0);
    // The client's long poll started when it sent the request.
    let now = ferromq_protocol::time::now_ms();
    let spent = match req.opt_i64("bornTime")? {
        Some(born) if born > 0 && born <= now => now - born,
        _ => 0,
    };
    let wait = Duration::from_millis((poll_ms - spent).max(0) as u64).min(MAX_POLL);
    let mut sub = SubscriptionData::from_expression(topic, req.ext("exp").unwrap_or("*"), 0);
    if let Some(t) = req
        .ext("expType")
        .filter(|t| !t.eq_ignore_ascii_case("TAG"))
    {
        sub.expression_type = Some(t.to_string());
    }
    let cfg = b.groups.find_or_create(group)?;
    let spec = PopSpec {
        group: group.to_string(),
        topic: topic.to_string(),
        queue_id: (queue_id >= 0).then_some(queue_id),
        max: max as usize,
        invisible: Duration::from_millis(invisible as u64),
        sub,
        fifo: req.opt_bool("order")? == Some(true) || cfg.consume_message_orderly,
        max_attempts: u32::try_from(cfg.retry_max_times.max(0)).unwrap_or(16) + 1,
        from_first: req.opt_i32("initMode")? == Some(INIT_MODE_MIN),
    };
    let popped = pop::pop(b, &spec, wait).await?;
    let rest = rest_num(b, &spec);
    let pop_time = ferromq_protocol::time::now_ms();
    if popped.is_empty() {
        let code = if poll_ms > 0 {
            rs::POLLING_TIMEOUT
        } else {
            rs::PULL_NOT_FOUND
        };
        return Ok(
            RemotingCommand::response(code, Some("no new message".to_string()))
                .with_ext("popTime", pop_time)
                .with_ext("invisibleTime", invisible)
                .with_ext("reviveQid", REVIVE_QID_BASE)
                .with_ext("restNum", rest),
        );
    }
    let batch = encode_batch(b, &popped, invisible)?;
    Ok(RemotingCommand::success()
        .with_ext("popTime", pop_time)
        .with_ext("invisibleTime", invisible)
        .with_ext("reviveQid", batch.revive_qid)
        .with_ext("restNum", rest)
        .with_ext("startOffsetInfo", batch.start_offset_info)
        .with_ext("msgOffsetInfo", batch.msg_offset_info)
        .with_body(batch.body))
}

struct EncodedBatch {
    body: Vec<u8>,
    revive_qid: i32,
    start_offset_info: String,
    msg_offset_info: String,
}

/// The records, each with its checkpoint and attempt count, and the per-queue offset lists
/// the client parses (it keeps a checkpoint the message already carries).
fn encode_batch(b: &Broker, popped: &[Popped], invisible: i64) -> Result<EncodedBatch, Refusal> {
    let mut body = Vec::new();
    let mut per_queue: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let mut revive = REVIVE_QID_BASE;
    for p in popped {
        let epoch = pop::epoch_of(&p.handle).map_err(|e| Refusal::SystemError(e.to_string()))?;
        revive = revive_qid(epoch);
        let ck = PopCheckpoint {
            start_offset: p.msg.queue_offset,
            pop_time_ms: p.visible_at_ms - invisible,
            invisible_ms: invisible,
            revive_qid: revive,
            topic_mark: TOPIC_MARK_NORMAL.to_string(),
            broker_name: b.cfg.broker_name.clone(),
            queue_id: p.msg.queue_id,
            offset: Some(p.msg.queue_offset),
        };
        let mut props = parse_properties(&p.msg.properties);
        props.insert(prop::POP_CK.to_string(), ck.to_string());
        let attempt = i32::try_from(p.attempt).unwrap_or(i32::MAX);
        encode_redelivered(&p.msg, encode_properties(&props), attempt - 1, &mut body)
            .map_err(|e| Refusal::SystemError(format!("re-encoding a popped message: {e}")))?;
        per_queue
            .entry(p.msg.queue_id)
            .or_default()
            .push(p.msg.queue_offset);
    }
    let info = |f: &dyn Fn(&[i64]) -> String| {
        per_queue
            .iter()
            .map(|(q, offs)| format!("{TOPIC_MARK_NORMAL} {q} {}", f(offs)))
            .collect::<Vec<_>>()
            .join(";")
    };
    Ok(EncodedBatch {
        body,
        revive_qid: revive,
        start_offset_info: info(&|o| o.iter().min().copied().unwrap_or(0).to_string()),
        msg_offset_info: info(&|o| o.iter().map(i64::to_string).collect::<Vec<_>>().join(",")),
    })
}

/// Messages of the popped queues neither consumed nor in flight (the client only logs it).
fn rest_num(b: &Broker, spec: &PopSpec) -> i64 {
    let Some(cfg) = b.topics.get(&spec.topic) else {
        return 0;
    };
    let queues: Vec<i32> = match spec.queue_id {
        Some(q) => vec![q],
        None => (0..cfg.read_queue_nums.max(0)).collect(),
    };
    queues
        .into_iter()
        .map(|q| {
            let max = b.store.max_offset(&spec.topic, q);
            let done = b
                .offsets
                .get(&spec.group, &spec.topic, q)
                .unwrap_or_else(|| b.store.min_offset(&spec.topic, q));
            let (in_flight, _) = b.pop.in_flight(&pop::key(&spec.group, &spec.topic, q));
            (max - done - in_flight as i64).max(0)
        })
        .sum()
}

/// The reset epoch a revive queue id carries (a checkpoint from another broker's numbering
/// gets one no lease has).
fn epoch_of_revive_qid(revive_qid: i32) -> u32 {
    u32::try_from(i64::from(revive_qid) - i64::from(REVIVE_QID_BASE)).unwrap_or(u32::MAX)
}

/// The delivery a checkpoint names, as a receipt handle.
fn handle_of(b: &Broker, req: &RemotingCommand) -> Result<(String, String, String), Refusal> {
    let bad = Refusal::InvalidParameter;
    let group = req
        .req_str("consumerGroup")
        .map_err(|e| bad(e.to_string()))?;
    let topic = req.req_str("topic").map_err(|e| bad(e.to_string()))?;
    let queue_id = req.req_i32("queueId").map_err(|e| bad(e.to_string()))?;
    let offset = req.req_i64("offset").map_err(|e| bad(e.to_string()))?;
    let extra = req.req_str("extraInfo").map_err(|e| bad(e.to_string()))?;
    let ck = PopCheckpoint::parse(extra).map_err(bad)?;
    let window_end = ck.pop_time_ms.saturating_add(ck.invisible_ms);
    let epoch = epoch_of_revive_qid(ck.revive_qid);
    let handle = pop::handle_for_window(b, group, topic, queue_id, offset, epoch, window_end);
    Ok((group.to_string(), topic.to_string(), handle))
}

/// A checkpoint no delivery in flight matches: NO_MESSAGE, as upstream answers an ack of a
/// message it no longer holds (the client reports the ack as NO_EXIST).
fn stale(why: String) -> RemotingCommand {
    RemotingCommand::error(rs::NO_MESSAGE, why)
}

/// ACK_MESSAGE: the message is consumed; the group's offset moves once every earlier one is.
pub async fn ack_message(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let (group, topic, handle) = handle_of(b, req)?;
    match pop::ack(b, &group, &topic, &handle).await {
        Ok(_) => Ok(RemotingCommand::success()),
        Err(PopFault::Handle(why)) => Ok(stale(why)),
        Err(PopFault::Refused(r)) => Err(r.into()),
    }
}

/// Acks of a batch that share one journal sync.
const ACK_CHUNK: usize = 1024;

/// BATCH_ACK_MESSAGE: many acks, by queue, start offset and bit set (upstream's proxy sends
/// them). Answered SUCCESS as upstream does; acks that name nothing in flight change nothing.
pub async fn batch_ack(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let batch: BatchAckMessageRequestBody =
        body::parse(&req.body).map_err(Refusal::InvalidParameter)?;
    for a in &batch.acks {
        names::validate_group(&a.consumer_group).map_err(Refusal::InvalidParameter)?;
        // Upstream's POP retry topics (marks 1 and 2) are never handed out here.
        if a.retry != TOPIC_MARK_NORMAL {
            continue;
        }
        let epoch = epoch_of_revive_qid(a.revive_queue_id);
        let window_end = a.pop_time_ms.saturating_add(a.invisible_ms);
        // In chunks: one journal sync each, and a bounded list of handles however many
        // offsets the request names.
        for chunk in a.offsets.chunks(ACK_CHUNK) {
            let handles: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let offset = a.start_offset.saturating_add(i64::from(*i));
                    pop::handle_for_window(
                        b,
                        &a.consumer_group,
                        &a.topic,
                        a.queue_id,
                        offset,
                        epoch,
                        window_end,
                    )
                })
                .collect();
            let done = pop::ack_many(
                b,
                &a.consumer_group,
                &a.topic,
                handles.iter().map(String::as_str),
            )
            .await;
            if let Some(Err(PopFault::Refused(r))) = done
                .into_iter()
                .find(|r| matches!(r, Err(PopFault::Refused(_))))
            {
                return Err(r.into());
            }
        }
    }
    Ok(RemotingCommand::success())
}

/// CHANGE_MESSAGE_INVISIBLETIME: a new window for a delivered message (a push consumer's
/// retry delay); answers the new pop time, so the client's new checkpoint names the new lease.
pub async fn change_invisible_time(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let invisible = invisible_ms(req)?;
    let (group, topic, handle) = handle_of(b, req)?;
    let window = Duration::from_millis(invisible as u64);
    match pop::change_invisible(b, &group, &topic, &handle, window).await {
        Ok((new_handle, deadline)) => {
            let epoch =
                pop::epoch_of(&new_handle).map_err(|e| Refusal::SystemError(e.to_string()))?;
            Ok(RemotingCommand::success()
                .with_ext("popTime", deadline - invisible)
                .with_ext("invisibleTime", invisible)
                .with_ext("reviveQid", revive_qid(epoch)))
        }
        Err(PopFault::Handle(why)) => Ok(stale(why)),
        Err(PopFault::Refused(r)) => Err(r.into()),
    }
}
