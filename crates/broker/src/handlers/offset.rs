//! QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15) and GET_ALL_CONSUMER_OFFSET (43).
//! Offsets live in their own durable table ([`ferromq_offsets`]), independent of subscriptions.

use std::sync::Arc;

use ferromq_offsets::QueueKey;
use ferromq_protocol::{names, Refusal, RemotingCommand};

use crate::dispatch::Reply;
use crate::progress::pull_state::CommitDecision;
use crate::Broker;

pub async fn query(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("consumerGroup")?;
    let topic = req.req_str("topic")?;
    let queue_id = req.req_i32("queueId")?;
    // The stored offset, or a pending intent resolved now (the group's first ask).
    if let Some(off) = b.progress().resolve(group, topic, queue_id).await? {
        return Ok(RemotingCommand::success().with_ext("offset", off));
    }
    if req.opt_bool("setZeroIfNotFound")? == Some(false) {
        return Err(not_found().into());
    }
    // Upstream: a new group on a young queue starts at 0 (even with CONSUME_FROM_LAST_OFFSET),
    // so messages produced before its first consumer started are not skipped. "Young" means
    // the head was never deleted and its first message is still in the memory-resident tail
    // of the commit log; an empty queue is young too (as in 4.x, which clients of that era
    // expect: ali-ons logs an error on QUERY_NOT_FOUND).
    if queue_is_young(b, topic, queue_id) {
        return Ok(RemotingCommand::success().with_ext("offset", 0));
    }
    Err(not_found().into())
}

pub(crate) fn queue_is_young(b: &Broker, topic: &str, queue_id: i32) -> bool {
    if b.store.min_offset(topic, queue_id) > 0 {
        return false;
    }
    if b.store.max_offset(topic, queue_id) == 0 {
        return true;
    }
    let first = b.store.get(topic, queue_id, 0, 1, 1, &|_| true);
    let phys = match ferromq_protocol::message::decode_record(&first.body) {
        Ok((m, _)) => m.physical_offset,
        Err(_) => return false,
    };
    b.store.commit_log_max_offset() - phys < b.memory_resident_bytes
}

fn not_found() -> Refusal {
    Refusal::QueryNotFound("Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first".into())
}

pub async fn update(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("consumerGroup")?;
    let topic = req.req_str("topic")?;
    let queue_id = req.req_i32("queueId")?;
    let offset = req.req_i64("commitOffset")?;
    names::validate_group(group).map_err(Refusal::InvalidParameter)?;
    let Some(cfg) = b.topics.get(topic) else {
        return Err(Refusal::TopicNotExist(format!("Topic {topic} not exist!")).into());
    };
    if queue_id >= cfg.queue_count() {
        // Offsets are durable: do not let a client create entries for queues that do not exist.
        return Err(Refusal::InvalidParameter(format!(
            "queueId {queue_id} does not exist: topic {topic} has {} queues",
            cfg.queue_count()
        ))
        .into());
    }
    if offset == -1 {
        // ali-ons writes `offset || -1`: a queue at offset 0 is committed as -1, "nothing yet".
        return Ok(RemotingCommand::success());
    }
    if queue_id < 0 || offset < 0 {
        return Err(Refusal::InvalidParameter(format!(
            "queueId {queue_id} and commitOffset {offset} must not be negative"
        ))
        .into());
    }
    crate::access::commit_within_pull(b, req, (group, topic, queue_id), offset)?;
    let key = QueueKey {
        group: group.to_string(),
        topic: topic.to_string(),
        queue_id,
    };
    let guards = &b.pull_state;
    let stored = b
        .offsets
        .commit_if(vec![(key, offset)], || {
            guards.filter_commit(group, topic, queue_id, offset) == CommitDecision::Accept
        })
        .await?;
    if !stored {
        // Upstream's answer for a commit that predates a reset: acknowledged, not stored.
        return Ok(RemotingCommand::success().with_remark("Offset has been previously reset"));
    }
    Ok(RemotingCommand::success())
}

pub fn get_all(b: &Arc<Broker>) -> Reply {
    // Each entry takes at least `"q":offset,` (8 bytes) in the document: a table that cannot fit
    // the frame limit is refused before the document is built. ferromq clients then page with
    // FERRO_EXPORT_OFFSETS (9009); the connection's size check catches the rest.
    let least = b.offsets.entry_count().saturating_mul(8);
    if least > b.cfg.max_frame_bytes {
        return Err(Refusal::LimitReached {
            limit: "max-frame-bytes",
            message: format!(
                "the offset table ({} entries) is larger than one frame (max-frame-bytes = {}); \
                 read it in pages with FERRO_EXPORT_OFFSETS (9009)",
                b.offsets.entry_count(),
                b.cfg.max_frame_bytes
            ),
        }
        .into());
    }
    // An empty table is still a document (upstream answers SUCCESS with {"offsetTable":{}}).
    Ok(RemotingCommand::success().with_body(b.offsets.to_rocketmq_json().into_bytes()))
}
