//! Queue positions and stored messages: GET_MAX_OFFSET (30), GET_MIN_OFFSET (31),
//! SEARCH_OFFSET_BY_TIMESTAMP (29), GET_EARLIEST_MSG_STORETIME (32), VIEW_MESSAGE_BY_ID (33).

use std::sync::Arc;

use ferromq_protocol::{HeaderError, Refusal, RemotingCommand};
use ferromq_store::BoundaryType;

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
