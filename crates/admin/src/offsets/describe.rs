//! `offsets describe`: a group's lag per queue; and the groups with offsets.

use std::collections::BTreeSet;

use ferromq_protocol::codes::request as rq;
use serde_json::{json, Value};

use super::transfer::export_records;
use crate::args::Output;
use crate::output::{opt, print_json, table};
use crate::time::format_age;
use crate::{AdminError, Ctx, EXIT_OK};

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
    let t = (!topics.is_empty()).then(|| topics.to_vec());
    let mut lags: Vec<Value> = Vec::new();
    for b in &brokers {
        let mut r: Value = ctx
            .cluster
            .ferro(
                b,
                rq::FERRO_DESCRIBE_GROUP,
                &json!({"group": group, "topics": t}),
            )
            .await
            .map_err(|e| AdminError::broker(b, &e))?;
        if let Value::Object(m) = &mut r {
            m.insert("brokerName".into(), Value::String(b.name.clone()));
        }
        lags.push(r);
    }
    let mut online: BTreeSet<String> = BTreeSet::new();
    let mut queues: Vec<Value> = Vec::new();
    for l in &lags {
        for c in l["onlineClients"].as_array().into_iter().flatten() {
            if let Some(s) = c.as_str() {
                online.insert(s.to_string());
            }
        }
        for q in l["queues"].as_array().into_iter().flatten() {
            let mut q = q.clone();
            if let Value::Object(m) = &mut q {
                m.insert("brokerName".into(), l["brokerName"].clone());
            }
            queues.push(q);
        }
    }
    crate::output::sort_queues(&mut queues);
    let total: i64 = queues.iter().filter_map(|q| q["lag"].as_i64()).sum();
    let max_lag_ms = queues
        .iter()
        .filter_map(|q| q["lagMs"].as_i64())
        .max()
        .unwrap_or(0);
    if ctx.output == Output::Json {
        print_json(&json!({
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
        .map(|q| {
            vec![
                q["topic"].as_str().unwrap_or("").to_string(),
                q["brokerName"].as_str().unwrap_or("").to_string(),
                q["queueId"].to_string(),
                opt(q["committed"].as_i64()),
                q["maxOffset"].to_string(),
                q["lag"].to_string(),
                format_age(q["lagMs"].as_i64().unwrap_or(0)),
                opt(q["pullOffset"].as_i64()),
                if q["intent"].is_null() {
                    "-".into()
                } else {
                    q["intent"].to_string()
                },
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
                "INTENT"
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
