//! consumerProgress: one group's lag per queue (`offsets describe`, or the upstream codes'
//! [`describe_upstream`]), or every group's total lag.

use std::collections::BTreeSet;

use ferromq_protocol::body::progress::{DescribeRequest, GroupLag};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use serde_json::json;

use super::broadcast::{ask, body_json, connection_set, offset_table, time_or};
use super::groups::consumer_connection;
use crate::args::Output;
use crate::cluster::Broker;
use crate::offsets;
use crate::output::{print_json, table};
use crate::time::format_age;
use crate::{AdminError, Ctx, EXIT_OK};

/// consumerProgress: with a group, `offsets describe` (and its clients with `-s true`); without,
/// [`progress_all`].
///
/// # Errors
/// As `offsets describe` or [`progress_all`] fail.
pub(super) async fn consumer_progress(
    ctx: &Ctx,
    group: Option<String>,
    topic: Option<String>,
    show_clients: bool,
) -> Result<i32, AdminError> {
    let Some(g) = group else {
        return progress_all(ctx).await;
    };
    let topics: Vec<String> = topic.into_iter().collect();
    let code = offsets::describe(ctx, &g, &topics).await?;
    if show_clients && ctx.output == Output::Table {
        println!();
        if let Err(e) = consumer_connection(ctx, &g).await {
            println!("no client connected: {e}");
        }
    }
    Ok(code)
}

/// consumerProgress without -g: every group with offsets, its total lag and members.
///
/// # Errors
/// When a broker lacks ferromq's extensions or fails.
async fn progress_all(ctx: &Ctx) -> Result<i32, AdminError> {
    let groups = offsets::all_groups(ctx).await?;
    let brokers = ctx.cluster.all_brokers().await?;
    let mut rows = Vec::new();
    let mut js = Vec::new();
    for g in groups {
        let (mut lag, mut lag_ms) = (0i64, 0i64);
        let mut online = BTreeSet::new();
        for b in &brokers {
            let req = DescribeRequest {
                group: g.clone(),
                topics: None,
            };
            let r: GroupLag = ctx
                .cluster
                .ferro(b, rq::FERRO_DESCRIBE_GROUP, &req)
                .await
                .map_err(|e| AdminError::broker(b, &e))?;
            lag += r.total_lag;
            lag_ms = r.queues.iter().map(|q| q.lag_ms).fold(lag_ms, i64::max);
            online.extend(r.online_clients);
        }
        rows.push(vec![
            g.clone(),
            online.len().to_string(),
            lag.to_string(),
            format_age(lag_ms),
        ]);
        js.push(json!({"group": g, "onlineClients": online, "totalLag": lag, "maxLagMs": lag_ms}));
    }
    if ctx.output == Output::Json {
        print_json(&json!({ "groups": js }));
    } else {
        print!(
            "{}",
            table(&["GROUP", "ONLINE", "DIFF-TOTAL", "LAG-TIME"], &rows)
        );
    }
    Ok(EXIT_OK)
}

/// consumerProgress over upstream codes: GET_CONSUME_STATS (208) per broker, members from
/// GET_CONSUMER_CONNECTION_LIST (203). Printed like `offsets describe` (lag time unknown).
///
/// # Errors
/// [`AdminError::Broker`] when a broker fails GET_CONSUME_STATS (the connection list is
/// optional: a group with no member online is shown offline).
pub async fn describe_upstream(
    ctx: &Ctx,
    group: &str,
    topics: &[String],
    brokers: &[Broker],
) -> Result<i32, AdminError> {
    let mut queues = Vec::new();
    let mut online = BTreeSet::new();
    for b in brokers {
        let mut cmd =
            RemotingCommand::request(rq::GET_CONSUME_STATS).with_ext("consumerGroup", group);
        if !topics.is_empty() {
            cmd.put_ext("topicList", topics.join(";"));
        }
        let v = ask(ctx, b, cmd).await?;
        for (mq, w) in offset_table(&v) {
            let max = w["brokerOffset"].as_i64().unwrap_or(0);
            let committed = w["consumerOffset"].as_i64().unwrap_or(0);
            queues.push(json!({
                "brokerName": b.name,
                "topic": mq["topic"],
                "queueId": mq["queueId"],
                "committed": committed,
                "maxOffset": max,
                "lag": (max - committed).max(0),
                "lagMs": null,
                "pullOffset": w["pullOffset"],
                "lastTimestamp": w["lastTimestamp"],
            }));
        }
        let cmd = RemotingCommand::request(rq::GET_CONSUMER_CONNECTION_LIST)
            .with_ext("consumerGroup", group);
        if let Ok(r) = ctx.cluster.client.remoting.invoke(&b.addr, cmd).await {
            let v = body_json(&r);
            online.extend(
                connection_set(&v).filter_map(|c| c["clientId"].as_str().map(str::to_string)),
            );
        }
    }
    crate::output::sort_queues(&mut queues);
    let total: i64 = queues.iter().filter_map(|q| q["lag"].as_i64()).sum();
    if ctx.output == Output::Json {
        print_json(&json!({
            "group": group,
            "totalLag": total,
            "onlineClients": online,
            "queues": queues,
            "extensions": false,
        }));
        return Ok(EXIT_OK);
    }
    let rows: Vec<Vec<String>> = queues
        .iter()
        .map(|q| {
            vec![
                q["topic"].as_str().unwrap_or("").to_string(),
                q["brokerName"].as_str().unwrap_or("").to_string(),
                q["queueId"].to_string(),
                q["committed"].to_string(),
                q["maxOffset"].to_string(),
                q["lag"].to_string(),
                time_or(&q["lastTimestamp"], "N/A"),
            ]
        })
        .collect();
    println!("group {group} (upstream codes: no lag time)");
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
                "LAST-CONSUMED"
            ],
            &rows
        )
    );
    println!(
        "total lag {total} message(s); online members: {}",
        if online.is_empty() {
            "none (offline)".to_string()
        } else {
            online.into_iter().collect::<Vec<_>>().join(", ")
        }
    );
    Ok(EXIT_OK)
}
