//! `offsets describe`: a group's lag per queue; and the groups with offsets.

use std::collections::BTreeSet;

use ferromq_protocol::body::progress::{DescribeRequest, GroupLag, QueueLag};
use ferromq_protocol::codes::request as rq;
use serde::Serialize;

use super::transfer::export_records;
use crate::args::Output;
use crate::output::{opt, print_json, table};
use crate::time::format_age;
use crate::{AdminError, Ctx, EXIT_OK};

/// One broker's answer, named.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BrokerLag {
    broker_name: String,
    #[serde(flatten)]
    lag: GroupLag,
}

/// One queue's lag, with the broker it is on (queue ids are per broker).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BrokerQueueLag {
    broker_name: String,
    #[serde(flatten)]
    queue: QueueLag,
}

pub async fn describe(ctx: &Ctx, group: &str, topics: &[String]) -> Result<i32, AdminError> {
    let brokers = if topics.is_empty() {
        ctx.cluster.all_brokers().await?
    } else {
        let mut set = BTreeSet::new();
        for t in topics {
            match ctx.cluster.topic_brokers(t).await? {
                Some(h) => set.extend(h.into_iter().map(|(b, _)| b)),
                None => return Err(AdminError::Failed(format!("topic {t} does not exist"))),
            }
        }
        set.into_iter().collect()
    };
    let mut ferro = true;
    for b in &brokers {
        ferro &= ctx.cluster.is_ferro(b).await?;
    }
    if !ferro {
        return crate::upstream::describe_upstream(ctx, group, topics, &brokers).await;
    }
    let req = DescribeRequest {
        group: group.to_string(),
        topics: (!topics.is_empty()).then(|| topics.to_vec()),
    };
    let mut lags: Vec<BrokerLag> = Vec::new();
    for b in &brokers {
        let lag: GroupLag = ctx
            .cluster
            .ferro(b, rq::FERRO_DESCRIBE_GROUP, &req)
            .await
            .map_err(|e| AdminError::broker(b, &e))?;
        lags.push(BrokerLag {
            broker_name: b.name.clone(),
            lag,
        });
    }
    let online: BTreeSet<String> = lags
        .iter()
        .flat_map(|l| l.lag.online_clients.iter().cloned())
        .collect();
    let mut queues: Vec<BrokerQueueLag> = lags
        .iter()
        .flat_map(|l| {
            l.lag.queues.iter().map(|q| BrokerQueueLag {
                broker_name: l.broker_name.clone(),
                queue: q.clone(),
            })
        })
        .collect();
    queues.sort_by(|a, b| {
        (&a.queue.topic, &a.broker_name, a.queue.queue_id).cmp(&(
            &b.queue.topic,
            &b.broker_name,
            b.queue.queue_id,
        ))
    });
    let total: i64 = queues.iter().map(|q| q.queue.lag).sum();
    let max_lag_ms = queues.iter().map(|q| q.queue.lag_ms).max().unwrap_or(0);
    if ctx.output == Output::Json {
        print_json(&serde_json::json!({
            "group": group,
            "totalLag": total,
            "maxLagMs": max_lag_ms,
            "onlineClients": online,
            "queues": queues,
            "brokers": lags,
        }));
        return Ok(EXIT_OK);
    }
    let rows: Vec<Vec<String>> = queues
        .iter()
        .map(|row| {
            let q = &row.queue;
            vec![
                q.topic.clone(),
                row.broker_name.clone(),
                q.queue_id.to_string(),
                opt(q.committed),
                q.max_offset.to_string(),
                q.lag.to_string(),
                format_age(q.lag_ms),
                opt(q.pull_offset),
                q.intent.as_ref().map_or_else(
                    || "-".into(),
                    |i| serde_json::to_string(i).unwrap_or_default(),
                ),
                q.in_flight.to_string(),
            ]
        })
        .collect();
    println!("group {group}");
    print!(
        "{}",
        table(
            &[
                "TOPIC",
                "BROKER",
                "QUEUE",
                "COMMITTED",
                "MAX",
                "LAG",
                "LAG-TIME",
                "PULLED",
                "INTENT",
                "IN-FLIGHT"
            ],
            &rows
        )
    );
    println!(
        "total lag {total} message(s), oldest unconsumed {} old; online members: {}",
        format_age(max_lag_ms),
        if online.is_empty() {
            "none (offline)".to_string()
        } else {
            online.into_iter().collect::<Vec<_>>().join(", ")
        }
    );
    Ok(EXIT_OK)
}

/// Groups with offsets on any broker.
pub async fn all_groups(ctx: &Ctx) -> Result<Vec<String>, AdminError> {
    let all = ctx.cluster.all_brokers().await?;
    ctx.cluster.require_ferro(&all, "consumerProgress").await?;
    let recs = export_records(ctx, &all, &[]).await?;
    let set: BTreeSet<String> = recs.into_iter().map(|r| r.group).collect();
    Ok(set.into_iter().collect())
}
