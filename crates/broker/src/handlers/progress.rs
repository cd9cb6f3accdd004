//! Consumer progress over Remoting: upstream's INVOKE_BROKER_TO_RESET_OFFSET (222),
//! CLONE_GROUP_OFFSET (314) and GET_CONSUME_STATS (208), and ferromq's own codes
//! (9000–9009, JSON bodies, `docs/protocol.md`). Each maps onto [`crate::progress`].

use std::sync::Arc;

use ferromq_net::Connection;
use ferromq_protocol::body::{self, write_mq_map, MessageQueue};
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{bad, err};
use crate::dispatch::Reply;
use crate::progress::model::{
    CloneRequest, DeleteRequest, DescribeRequest, ExportRequest, HistoryRequest, ImportRequest,
    PlanResult, QueueOffset, ResetRequest, ResetSpec, TopicScope, UndoRequest,
};
use crate::progress::{Mutation, ProgressError};
use crate::Broker;

fn json_body<T: DeserializeOwned>(req: &RemotingCommand) -> Result<T, RemotingCommand> {
    body::parse(&req.body).map_err(|e| err(rs::INVALID_PARAMETER, e))
}

fn json_ok<T: Serialize>(v: &T) -> Reply {
    Ok(RemotingCommand::success().with_body(body::to_vec(v)))
}

fn fail(e: ProgressError) -> RemotingCommand {
    e.to_response()
}

/// ferromq's own codes: one JSON request, one JSON result.
pub async fn ferro(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let actor = conn.remote_addr().to_string();
    let p = b.progress();
    match req.code {
        rq::FERRO_CAPABILITIES => json_ok(&serde_json::json!({
            "server": "ferromq",
            "version": env!("CARGO_PKG_VERSION"),
            "codes": (*rq::FERRO_RANGE.start()..=rq::FERRO_LAST).collect::<Vec<i32>>(),
        })),
        rq::FERRO_RESET_OFFSETS => json_ok(
            &p.reset(json_body::<ResetRequest>(req)?, &actor)
                .await
                .map_err(fail)?,
        ),
        rq::FERRO_DESCRIBE_GROUP => json_ok(
            &p.describe(&json_body::<DescribeRequest>(req)?)
                .map_err(fail)?,
        ),
        rq::FERRO_HISTORY => json_ok(&p.history(&json_body::<HistoryRequest>(req)?)),
        rq::FERRO_UNDO => json_ok(
            &p.undo(json_body::<UndoRequest>(req)?, &actor)
                .await
                .map_err(fail)?,
        ),
        rq::FERRO_INTENTS => {
            let group = req.ext("group");
            json_ok(&serde_json::json!({ "intents": b.offsets.intents(group) }))
        }
        rq::FERRO_CLONE_OFFSETS => json_ok(
            &p.clone_offsets(json_body::<CloneRequest>(req)?, &actor)
                .await
                .map_err(fail)?,
        ),
        rq::FERRO_DELETE_OFFSETS => json_ok(
            &p.delete_offsets(json_body::<DeleteRequest>(req)?, &actor)
                .await
                .map_err(fail)?,
        ),
        rq::FERRO_IMPORT_OFFSETS => json_ok(
            &p.import(json_body::<ImportRequest>(req)?, &actor)
                .await
                .map_err(fail)?,
        ),
        rq::FERRO_EXPORT_OFFSETS => {
            let r: ExportRequest = if req.body.is_empty() {
                ExportRequest {
                    groups: None,
                    after: None,
                    limit: None,
                }
            } else {
                json_body(req)?
            };
            json_ok(&p.export(&r))
        }
        other => Err(ferromq_net::connection::not_supported(other)),
    }
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222), both forms: `queueId` + `offset` for one queue, or
/// `timestamp` (−1 = the end) for every queue. Unlike upstream the reset is stored whether or not
/// the group ever subscribed, and online clients are redirected by the broker itself.
pub async fn invoke_reset(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Reply {
    let group = req.req_str("group").map_err(bad)?.to_string();
    let topic = req.req_str("topic").map_err(bad)?.to_string();
    let queue_id = req.opt_i32("queueId").map_err(bad)?.unwrap_or(-1);
    let offset = req.opt_i64("offset").map_err(bad)?.unwrap_or(-1);
    let timestamp = req.opt_i64("timestamp").map_err(bad)?.unwrap_or(-1);
    let force = req.opt_bool("isForce").map_err(bad)?.unwrap_or(true);
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
    };
    let (mut queues, _) = crate::progress::plan::plan_reset(b, &request).map_err(fail)?;
    if !force {
        // Upstream's non-forced reset only moves a group backwards.
        queues.retain(|q| q.current.is_none_or(|c| q.target.is_some_and(|t| t < c)));
    }
    let result: PlanResult = b
        .progress()
        .apply(Mutation {
            operation: "reset",
            scope: format!("group={group} topic={topic} (INVOKE_BROKER_TO_RESET_OFFSET)"),
            actor: conn.remote_addr().to_string(),
            queues,
            set_intents: Vec::new(),
            clear_intents: Vec::new(),
            undo_of: None,
            dry_run: false,
        })
        .await
        .map_err(fail)?;
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
    let from = req.req_str("srcGroup").map_err(bad)?.to_string();
    let to = req.req_str("destGroup").map_err(bad)?.to_string();
    let topics = req.ext("topic").map(|t| vec![t.to_string()]);
    b.progress()
        .clone_offsets(
            CloneRequest {
                from,
                to,
                topics,
                dry_run: false,
            },
            &conn.remote_addr().to_string(),
        )
        .await
        .map_err(fail)?;
    Ok(RemotingCommand::success())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OffsetWrapper {
    broker_offset: i64,
    consumer_offset: i64,
    last_timestamp: i64,
    pull_offset: i64,
}

/// GET_CONSUME_STATS (208): per queue broker offset, consumer offset, pull offset and the store
/// time of the last consumed message — for any group with offsets here, online or not.
pub fn consume_stats(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("consumerGroup").map_err(bad)?;
    // A set: a list naming one topic many times must not multiply the answer.
    let topics: std::collections::BTreeSet<String> = match (req.ext("topicList"), req.ext("topic"))
    {
        (Some(list), _) => list
            .split(';')
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect(),
        (None, Some(t)) => std::iter::once(t.to_string()).collect(),
        (None, None) => b.offsets.topics_of_group(group).into_iter().collect(),
    };
    let mut entries = Vec::new();
    for topic in &topics {
        let Some(cfg) = b.topics.get(topic) else {
            continue;
        };
        for q in 0..cfg.read_queue_nums {
            let max = b.store.max_offset(topic, q);
            let consumer = b.offsets.get(group, topic, q).unwrap_or(0).max(0);
            let pulled = b
                .pull_state
                .pull_offset(group, topic, q)
                .unwrap_or(consumer);
            let last = if consumer > 0 {
                b.store.store_time_at(topic, q, consumer - 1).unwrap_or(0)
            } else {
                0
            };
            entries.push((
                MessageQueue::new(topic, &b.cfg.broker_name, q),
                OffsetWrapper {
                    broker_offset: max,
                    consumer_offset: consumer,
                    last_timestamp: last,
                    pull_offset: pulled.max(consumer),
                },
            ));
        }
    }
    let text = format!(
        "{{\"consumeTps\":0.0,\"offsetTable\":{}}}",
        write_mq_map(&entries)
    );
    Ok(RemotingCommand::success().with_body(text.into_bytes()))
}
