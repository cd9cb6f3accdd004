//! Consumer progress over Remoting: upstream's INVOKE_BROKER_TO_RESET_OFFSET (222),
//! CLONE_GROUP_OFFSET (314) and GET_CONSUME_STATS (208), and ferromq's own codes
//! (9000–9009, JSON bodies, `docs/protocol.md`). Each maps onto [`crate::progress`].

use std::sync::Arc;

use ferromq_net::Connection;
use ferromq_protocol::body::{self, write_mq_map, MessageQueue};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::{Refusal, RemotingCommand};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::dispatch::Reply;
use crate::error::ReplyError;
use crate::progress::model::{
    Capabilities, CloneRequest, DeleteRequest, DescribeRequest, ExportRequest, HistoryRequest,
    ImportRequest, IntentsResult, PlanResult, QueueOffset, ResetRequest, ResetSpec, TopicScope,
    UndoRequest,
};
use crate::progress::Mutation;
use crate::Broker;

fn json_body<T: DeserializeOwned>(req: &RemotingCommand) -> Result<T, ReplyError> {
    Ok(body::parse(&req.body).map_err(Refusal::InvalidParameter)?)
}

fn json_ok<T: Serialize>(v: &T) -> Reply {
    Ok(RemotingCommand::success().with_body(body::to_vec(v)))
}

/// Who asked: the authenticated user (when requests are) and the address.
fn actor(conn: &Connection, req: &RemotingCommand) -> String {
    crate::access::actor(req, conn.remote_addr())
}

/// FERRO_CAPABILITIES (9000): who answers and which ferromq codes it serves.
pub fn capabilities() -> Reply {
    json_ok(&Capabilities {
        server: "ferromq".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        codes: (*rq::FERRO_RANGE.start()..=rq::FERRO_LAST).collect(),
    })
}

/// FERRO_RESET_OFFSETS (9001).
pub async fn reset_offsets(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let r: ResetRequest = json_body(req)?;
    json_ok(&b.progress().reset(r, &actor(conn, req)).await?)
}

/// FERRO_DESCRIBE_GROUP (9002).
pub fn describe_group(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let r: DescribeRequest = json_body(req)?;
    json_ok(&b.progress().describe(&r)?)
}

/// FERRO_HISTORY (9003), paged.
pub fn history(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let r: HistoryRequest = json_body(req)?;
    json_ok(&b.progress().history(&r))
}

/// FERRO_UNDO (9004).
pub async fn undo(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let r: UndoRequest = json_body(req)?;
    json_ok(&b.progress().undo(r, &actor(conn, req)).await?)
}

/// FERRO_INTENTS (9005): the `group` header field narrows to one group.
pub fn intents(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    json_ok(&IntentsResult {
        intents: b.offsets.intents(req.ext("group")),
    })
}

/// FERRO_CLONE_OFFSETS (9006).
pub async fn clone_offsets(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let r: CloneRequest = json_body(req)?;
    json_ok(&b.progress().clone_offsets(r, &actor(conn, req)).await?)
}

/// FERRO_DELETE_OFFSETS (9007).
pub async fn delete_offsets(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let r: DeleteRequest = json_body(req)?;
    json_ok(&b.progress().delete_offsets(r, &actor(conn, req)).await?)
}

/// FERRO_IMPORT_OFFSETS (9008).
pub async fn import_offsets(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let r: ImportRequest = json_body(req)?;
    json_ok(&b.progress().import(r, &actor(conn, req)).await?)
}

/// FERRO_EXPORT_OFFSETS (9009), paged; an empty body exports every group from the start.
pub fn export_offsets(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let r: ExportRequest = if req.body.is_empty() {
        ExportRequest::default()
    } else {
        json_body(req)?
    };
    json_ok(&b.progress().export(&r))
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222), both forms: `queueId` + `offset` for one queue, or
/// `timestamp` (−1 = the end) for every queue. Unlike upstream the reset is stored whether or not
/// the group ever subscribed, and online clients are redirected by the broker itself.
pub async fn invoke_reset(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let group = req.req_str("group")?.to_string();
    let topic = req.req_str("topic")?.to_string();
    let queue_id = req.opt_i32("queueId")?.unwrap_or(-1);
    let offset = req.opt_i64("offset")?.unwrap_or(-1);
    let timestamp = req.opt_i64("timestamp")?.unwrap_or(-1);
    let force = req.opt_bool("isForce")?.unwrap_or(true);
    let spec = if queue_id >= 0 && offset >= 0 {
        ResetSpec::PerQueue(vec![QueueOffset {
            topic: topic.clone(),
            queue_id,
            offset,
        }])
    } else if timestamp < 0 {
        ResetSpec::Latest
    } else {
        ResetSpec::Timestamp(timestamp)
    };
    let request = ResetRequest {
        groups: vec![group.clone()],
        topics: vec![TopicScope {
            topic: topic.clone(),
            queues: None,
        }],
        spec,
        dry_run: false,
        allow_intents: false,
        expect: None,
    };
    let (mut queues, _) = crate::progress::plan::plan_reset(b, &request)?;
    if !force {
        // Upstream's non-forced reset only moves a group backwards.
        queues.retain(|q| q.current.is_none_or(|c| q.target.is_some_and(|t| t < c)));
    }
    let result: PlanResult = b
        .progress()
        .apply(Mutation {
            operation: "reset",
            scope: format!("group={group} topic={topic} (INVOKE_BROKER_TO_RESET_OFFSET)"),
            actor: actor(conn, req),
            queues,
            set_intents: Vec::new(),
            clear_intents: Vec::new(),
            undo_of: None,
            dry_run: false,
            expect: None,
        })
        .await?;
    let entries: Vec<(MessageQueue, i64)> = result
        .queues
        .iter()
        .filter_map(|q| {
            q.target.map(|t| {
                (
                    MessageQueue::new(&q.topic, &b.cfg.broker_name, q.queue_id),
                    t,
                )
            })
        })
        .collect();
    let mut resp = RemotingCommand::success()
        .with_body(format!("{{\"offsetTable\":{}}}", write_mq_map(&entries)).into_bytes());
    let clamped: Vec<String> = result
        .queues
        .iter()
        .filter(|q| q.clamped)
        .map(|q| {
            format!(
                "{}:{} {}→{}",
                q.topic,
                q.queue_id,
                q.requested.unwrap_or(-1),
                q.target.unwrap_or(-1)
            )
        })
        .collect();
    if !clamped.is_empty() {
        resp.remark = Some(format!(
            "clamped to the queue range: {}",
            clamped.join(", ")
        ));
    }
    Ok(resp)
}

/// CLONE_GROUP_OFFSET (314). Without a topic, every topic of the source group is cloned.
pub async fn clone_group(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let from = req.req_str("srcGroup")?.to_string();
    let to = req.req_str("destGroup")?.to_string();
    let topics = req.ext("topic").map(|t| vec![t.to_string()]);
    b.progress()
        .clone_offsets(
            CloneRequest {
                from,
                to,
                topics,
                dry_run: false,
                expect: None,
            },
            &actor(conn, req),
        )
        .await?;
    Ok(RemotingCommand::success())
}
