//! The `offsets` family on brokers without ferromq's extensions (Apache RocketMQ): what the
//! upstream request codes allow.
//!
//! - export: GET_CONSUME_STATS (208) per named group (with each queue's last consumed store
//!   time, for `import --by-time`), or GET_ALL_CONSUMER_OFFSET (43) for every group.
//! - reset: a plan from QUERY_CONSUMER_OFFSET (14), GET_MIN_OFFSET/GET_MAX_OFFSET (31/30) and
//!   SEARCH_OFFSET_BY_TIMESTAMP (29), applied queue by queue as mqadmin's single-queue reset
//!   does: UPDATE_CONSUMER_OFFSET (15), then INVOKE_BROKER_TO_RESET_OFFSET (222) with the queue
//!   and offset so that live consumers follow. Without the extensions there is no all-or-nothing
//!   apply, no check that the plan still holds, no history and no undo: the report says so.

use std::collections::BTreeMap;

use ferromq_client::ClientError;
use ferromq_protocol::body::progress::{ResetSpec, TopicScope};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::codes::response as rs;
use ferromq_protocol::RemotingCommand;
use serde_json::json;

use super::broadcast::{ask, offset_table};
use crate::args::{ApplyArgs, Output};
use crate::cluster::Broker;
use crate::output::{opt, print_json, table};
use crate::records::Record;
use crate::time::now_ms;
use crate::{AdminError, Ctx, EXIT_OK, EXIT_PARTIAL};

/// Every record of `groups` (all groups when empty) on `brokers`, tagged with the broker.
///
/// # Errors
/// [`AdminError::Broker`] when a broker fails the request.
pub async fn export_upstream(
    ctx: &Ctx,
    brokers: &[Broker],
    groups: &[String],
) -> Result<Vec<Record>, AdminError> {
    let mut out = Vec::new();
    for b in brokers {
        if groups.is_empty() {
            let r = ctx
                .cluster
                .client
                .remoting
                .invoke(
                    &b.addr,
                    RemotingCommand::request(rq::GET_ALL_CONSUMER_OFFSET),
                )
                .await
                .map_err(|e| AdminError::broker(b, &e))?;
            let entries = ferromq_protocol::body::consumer_offset::parse(&r.body)
                .map_err(|e| AdminError::Failed(format!("broker {}: {e}", b.name)))?;
            out.extend(entries.into_iter().map(|(k, offset)| Record {
                group: k.group,
                topic: k.topic,
                queue_id: k.queue_id,
                offset,
                store_time_ms: None,
                broker_name: Some(b.name.clone()),
            }));
            continue;
        }
        for g in groups {
            let cmd = RemotingCommand::request(rq::GET_CONSUME_STATS).with_ext("consumerGroup", g);
            let v = ask(ctx, b, cmd).await?;
            for (mq, w) in offset_table(&v) {
                let (Some(topic), Some(queue_id)) = (mq["topic"].as_str(), mq["queueId"].as_i64())
                else {
                    continue;
                };
                out.push(Record {
                    group: g.clone(),
                    topic: topic.to_string(),
                    queue_id: queue_id as i32,
                    offset: w["consumerOffset"].as_i64().unwrap_or(0),
                    store_time_ms: w["lastTimestamp"].as_i64().filter(|t| *t > 0),
                    broker_name: Some(b.name.clone()),
                });
            }
        }
    }
    Ok(out)
}

/// One queue of an upstream reset plan.
struct PlannedMove {
    broker: Broker,
    group: String,
    topic: String,
    queue_id: i32,
    current: Option<i64>,
    target: i64,
}

async fn ask_offset(
    ctx: &Ctx,
    b: &Broker,
    code: i32,
    topic: &str,
    q: i32,
    timestamp: Option<i64>,
) -> Result<i64, ClientError> {
    let mut cmd = RemotingCommand::request(code)
        .with_ext("topic", topic)
        .with_ext("queueId", q);
    if let Some(t) = timestamp {
        cmd.put_ext("timestamp", t);
    }
    let r = ctx.cluster.client.remoting.invoke(&b.addr, cmd).await?;
    r.req_i64("offset")
        .map_err(|e| ClientError::Decode(e.to_string()))
}

/// Where `spec` puts one queue, given its range and committed offset.
async fn target_of(
    ctx: &Ctx,
    b: &Broker,
    topic: &str,
    q: i32,
    current: Option<i64>,
    spec: &ResetSpec,
) -> Result<Option<i64>, ClientError> {
    let min = ask_offset(ctx, b, rq::GET_MIN_OFFSET, topic, q, None).await?;
    let max = ask_offset(ctx, b, rq::GET_MAX_OFFSET, topic, q, None).await?;
    let by_time = |t: i64| ask_offset(ctx, b, rq::SEARCH_OFFSET_BY_TIMESTAMP, topic, q, Some(t));
    let target = match spec {
        ResetSpec::Earliest => min,
        ResetSpec::Latest => max,
        ResetSpec::Offset(n) => *n,
        ResetSpec::ShiftBy(d) => match current {
            Some(c) => c.saturating_add(*d),
            None => return Ok(None),
        },
        ResetSpec::Timestamp(t) => by_time(*t).await?,
        ResetSpec::Duration(d) => by_time(now_ms().saturating_sub(*d)).await?,
        ResetSpec::PerQueue(list) => {
            match list.iter().find(|e| e.topic == topic && e.queue_id == q) {
                Some(e) => e.offset,
                None => return Ok(None),
            }
        }
    };
    Ok(Some(target.clamp(min, max.max(min))))
}

/// Plans (and with `--execute` applies) a reset of `groups` on brokers without ferromq's
/// extensions. `per_broker`: the topics (and queue counts) each broker holds.
///
/// # Errors
/// A broker that fails while planning (nothing is changed then).
pub async fn reset_upstream_plan(
    ctx: &Ctx,
    per_broker: BTreeMap<Broker, Vec<(TopicScope, i32)>>,
    groups: &[String],
    spec: &ResetSpec,
    apply: &ApplyArgs,
) -> Result<i32, AdminError> {
    let mut plan = Vec::new();
    for (b, topics) in &per_broker {
        for (scope, queue_count) in topics {
            let queues: Vec<i32> = match &scope.queues {
                Some(q) => q.clone(),
                None => (0..*queue_count).collect(),
            };
            for g in groups {
                for &q in &queues {
                    let current = ctx
                        .cluster
                        .client
                        .query_offset(&b.addr, g, &scope.topic, q)
                        .await
                        .map_err(|e| AdminError::broker(b, &e))?;
                    let target = target_of(ctx, b, &scope.topic, q, current, spec)
                        .await
                        .map_err(|e| AdminError::broker(b, &e))?;
                    if let Some(target) = target {
                        plan.push(PlannedMove {
                            broker: b.clone(),
                            group: g.clone(),
                            topic: scope.topic.clone(),
                            queue_id: q,
                            current,
                            target,
                        });
                    }
                }
            }
        }
    }
    if let Some(path) = &apply.export {
        return Err(AdminError::Usage(format!(
            "--export {}: saved plans need ferromq's extensions (they are applied only if \
             nothing moved, which upstream codes cannot check)",
            path.display()
        )));
    }
    if !apply.execute {
        print_plan(ctx, &plan, false, &[]);
        return Ok(EXIT_OK);
    }
    if groups.len() > 1 && !apply.yes {
        return Err(AdminError::Usage(format!(
            "a reset of {} groups without ferromq's extensions is applied queue by queue, not \
             all-or-nothing: pass --yes to go on",
            groups.len()
        )));
    }
    let mut failed = Vec::new();
    for m in &plan {
        if let Err(e) = apply_move(ctx, m).await {
            failed.push(format!(
                "{} {}:{}@{}: {e}",
                m.group, m.topic, m.queue_id, m.broker.name
            ));
        }
    }
    print_plan(ctx, &plan, true, &failed);
    if failed.is_empty() {
        Ok(EXIT_OK)
    } else if failed.len() == plan.len() {
        Err(AdminError::Failed(failed.join("; ")))
    } else {
        Ok(EXIT_PARTIAL)
    }
}

/// UPDATE_CONSUMER_OFFSET, then INVOKE_BROKER_TO_RESET_OFFSET for the queue so that a live
/// consumer takes the new offset (a group that is offline answers "not online": the committed
/// offset is what it will start from).
async fn apply_move(ctx: &Ctx, m: &PlannedMove) -> Result<(), ClientError> {
    let client = &ctx.cluster.client;
    client
        .update_offset(&m.broker.addr, &m.group, &m.topic, m.queue_id, m.target)
        .await?;
    let cmd = RemotingCommand::request(rq::INVOKE_BROKER_TO_RESET_OFFSET)
        .with_ext("group", &m.group)
        .with_ext("topic", &m.topic)
        .with_ext("queueId", m.queue_id)
        .with_ext("offset", m.target)
        .with_ext("timestamp", 0)
        .with_ext("isForce", true);
    let r = client.remoting.invoke_raw(&m.broker.addr, cmd).await?;
    match r.code {
        rs::SUCCESS | rs::CONSUMER_NOT_ONLINE => Ok(()),
        code => Err(ClientError::Server {
            code,
            remark: r.remark.unwrap_or_default(),
        }),
    }
}

fn print_plan(ctx: &Ctx, plan: &[PlannedMove], applied: bool, failed: &[String]) {
    if ctx.output == Output::Json {
        let queues: Vec<_> = plan
            .iter()
            .map(|m| {
                json!({
                    "brokerName": m.broker.name,
                    "group": m.group,
                    "topic": m.topic,
                    "queueId": m.queue_id,
                    "current": m.current,
                    "target": m.target,
                })
            })
            .collect();
        print_json(&json!({
            "dryRun": !applied,
            "extensions": false,
            "queues": queues,
            "failed": failed,
        }));
        return;
    }
    let rows: Vec<Vec<String>> = plan
        .iter()
        .map(|m| {
            vec![
                m.group.clone(),
                m.topic.clone(),
                m.broker.name.clone(),
                m.queue_id.to_string(),
                opt(m.current),
                m.target.to_string(),
            ]
        })
        .collect();
    println!(
        "reset {} (upstream codes: applied queue by queue, no history or undo)",
        if applied { "applied" } else { "plan (dry run)" }
    );
    print!(
        "{}",
        table(
            &["GROUP", "TOPIC", "BROKER", "QUEUE", "CURRENT", "TARGET"],
            &rows
        )
    );
    for f in failed {
        eprintln!("error: {f}");
    }
    if !applied {
        println!("dry run: nothing changed; add --execute to apply");
    }
}
