//! Queue positions and stored messages: GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_EARLIEST_MSG_STORETIME (32), VIEW_MESSAGE_BY_ID (33),
//! QUERY_MESSAGE (12, by key or unique key through the store's message index).

use std::sync::Arc;

use ferromq_protocol::body::lookup::{QUERY_MAX_NUM, UNIQUE_KEY_QUERY, UNIQUE_QUERY_MAX_NUM};
use ferromq_protocol::{HeaderError, Refusal, RemotingCommand};
use ferromq_store::{BoundaryType, KeyKind, MessageQuery};

use crate::dispatch::Reply;
use crate::Broker;

fn topic_queue(req: &RemotingCommand) -> Result<(&str, i32), HeaderError> {
    Ok((req.req_str("topic")?, req.req_i32("queueId")?))
}

pub fn max_offset(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let (topic, q) = topic_queue(req)?;
    Ok(RemotingCommand::success().with_ext("offset", b.store.max_offset(topic, q)))
}

pub fn min_offset(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let (topic, q) = topic_queue(req)?;
    Ok(RemotingCommand::success().with_ext("offset", b.store.min_offset(topic, q)))
}

pub fn search_by_time(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let (topic, q) = topic_queue(req)?;
    let ts = req.req_i64("timestamp")?;
    let boundary = match req.ext("boundaryType") {
        Some(t) if t.eq_ignore_ascii_case("upper") => BoundaryType::Upper,
        _ => BoundaryType::Lower,
    };
    Ok(RemotingCommand::success()
        .with_ext("offset", b.store.offset_by_time(topic, q, ts, boundary)))
}

pub fn earliest_store_time(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let (topic, q) = topic_queue(req)?;
    Ok(RemotingCommand::success().with_ext("timestamp", b.store.earliest_store_time(topic, q)))
}

pub fn view_by_offset(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let offset = req.req_i64("offset")?;
    match b.store.read_record(offset) {
        Some(rec) => Ok(RemotingCommand::success().with_body(rec)),
        None => Err(
            Refusal::SystemError(format!("can not find message by the offset, {offset}")).into(),
        ),
    }
}

/// Room left in a response frame for its header.
const HEADER_ROOM: usize = 64 * 1024;

/// QUERY_MESSAGE: the newest messages of `topic` with key `key` (a `KEYS` word, or the
/// `UNIQ_KEY` when ext `_UNIQUE_KEY_QUERY` is `"true"`) stored within
/// `[beginTimestamp, endTimestamp]`, at most `maxNum` (lowered to 64; 32 for unique keys, as
/// upstream), as whole records back to back like a pull body, in commit-log order.
/// Nothing found (an inverted time range or `maxNum` ≤ 0 included) is QUERY_NOT_FOUND, as
/// upstream; an empty key is INVALID_PARAMETER (nothing is indexed under it).
pub fn query_message(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let topic = req.req_str("topic")?;
    let key = req.req_str("key")?;
    let asked = req.req_i32("maxNum")?;
    let begin = req.req_i64("beginTimestamp")?;
    let end = req.req_i64("endTimestamp")?;
    let unique = req.ext(UNIQUE_KEY_QUERY) == Some("true");
    let (kind, max_num) = if unique {
        (KeyKind::Unique, UNIQUE_QUERY_MAX_NUM)
    } else {
        let n = usize::try_from(asked).unwrap_or(0).min(QUERY_MAX_NUM);
        (KeyKind::Key, n)
    };
    if max_num == 0 {
        return Err(Refusal::QueryNotFound(format!("maxNum {asked} asks for no message")).into());
    }
    if begin > end {
        return Err(Refusal::QueryNotFound(format!(
            "empty time range: beginTimestamp {begin} is after endTimestamp {end}"
        ))
        .into());
    }
    let r = b.store.query_messages(&MessageQuery {
        topic,
        key,
        kind,
        max_num,
        begin,
        end,
        max_bytes: b.cfg.max_frame_bytes.saturating_sub(HEADER_ROOM),
    });
    if r.messages.is_empty() {
        return Err(Refusal::QueryNotFound(
            "can not find message, maybe time range not correct".into(),
        )
        .into());
    }
    Ok(RemotingCommand::success()
        .with_ext("indexLastUpdateTimestamp", r.index_last_update_timestamp)
        .with_ext("indexLastUpdatePhyoffset", r.index_last_update_phy_offset)
        .with_body(r.messages.concat()))
}
