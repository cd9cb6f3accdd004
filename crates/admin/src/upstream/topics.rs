//! topicList, topicRoute, topicStatus, updateTopic and deleteTopic.

use std::collections::BTreeMap;

use ferromq_protocol::body::{self, TopicConfig, TopicList};
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::RemotingCommand;
use serde_json::json;

use super::broadcast::{ask, each_broker_send, offset_table, time_or};
use super::cluster::{masters_of, where_to};
use crate::args::Output;
use crate::cluster::Broker;
use crate::output::{print_json, table};
use crate::{AdminError, Ctx, EXIT_OK};

/// updateTopic's settings, as given.
pub(super) struct TopicSettings {
    pub topic: String,
    pub read: i32,
    pub write: i32,
    pub perm: i32,
    pub order: bool,
    /// mqadmin's `+key=value,…` (see [`parse_attributes`]).
    pub attributes: Option<String>,
}

/// The masters holding a topic.
///
/// # Errors
/// [`AdminError::Failed`] when the topic does not exist.
pub(super) async fn holders(ctx: &Ctx, topic: &str) -> Result<Vec<Broker>, AdminError> {
    Ok(ctx
        .cluster
        .topic_brokers(topic)
        .await?
        .ok_or_else(|| AdminError::Failed(format!("topic {topic} does not exist")))?
        .into_iter()
        .map(|(b, _)| b)
        .collect())
}

/// topicList: every topic the name servers know, sorted.
///
/// # Errors
/// When no name server answers, or its answer does not parse.
pub(super) async fn topic_list(ctx: &Ctx) -> Result<i32, AdminError> {
    let r = ctx
        .cluster
        .namesrv_call(RemotingCommand::request(
            rq::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        ))
        .await?;
    let list: TopicList =
        body::parse(&r.body).map_err(|e| AdminError::Failed(format!("topic list: {e}")))?;
    let mut topics = list.topic_list;
    topics.sort();
    if ctx.output == Output::Json {
        print_json(&json!({ "topics": topics }));
    } else {
        for t in topics {
            println!("{t}");
        }
    }
    Ok(EXIT_OK)
}

/// topicRoute: the topic's route data, as JSON.
///
/// # Errors
/// When no name server answers, or none knows the topic.
pub(super) async fn topic_route(ctx: &Ctx, topic: &str) -> Result<i32, AdminError> {
    match ctx.cluster.route(topic).await? {
        Some(r) => {
            print_json(&r);
            Ok(EXIT_OK)
        }
        None => Err(AdminError::Failed(format!("no route for topic {topic}"))),
    }
}

/// topicStatus: each queue's offsets (GET_TOPIC_STATS_INFO) on every master holding the topic.
///
/// # Errors
/// When the topic does not exist or a broker fails.
pub(super) async fn topic_status(ctx: &Ctx, topic: &str) -> Result<i32, AdminError> {
    let mut queues = Vec::new();
    for b in &holders(ctx, topic).await? {
        let cmd = RemotingCommand::request(rq::GET_TOPIC_STATS_INFO).with_ext("topic", topic);
        let v = ask(ctx, b, cmd).await?;
        for (mq, stats) in offset_table(&v) {
            queues.push(json!({
                "brokerName": b.name,
                "queueId": mq["queueId"],
                "minOffset": stats["minOffset"],
                "maxOffset": stats["maxOffset"],
                "lastUpdateTimestamp": stats["lastUpdateTimestamp"],
            }));
        }
    }
    queues.sort_by(|a, b| {
        (a["brokerName"].as_str(), a["queueId"].as_i64())
            .cmp(&(b["brokerName"].as_str(), b["queueId"].as_i64()))
    });
    if ctx.output == Output::Json {
        print_json(&json!({"topic": topic, "queues": queues}));
    } else {
        let rows: Vec<Vec<String>> = queues
            .iter()
            .map(|q| {
                vec![
                    q["brokerName"].as_str().unwrap_or("").to_string(),
                    q["queueId"].to_string(),
                    q["minOffset"].to_string(),
                    q["maxOffset"].to_string(),
                    time_or(&q["lastUpdateTimestamp"], "-"),
                ]
            })
            .collect();
        print!(
            "{}",
            table(&["BROKER", "QUEUE", "MIN", "MAX", "LAST-UPDATED"], &rows)
        );
    }
    Ok(EXIT_OK)
}

/// updateTopic: creates or updates the topic on `-b` one broker or every master of `-c`.
///
/// # Errors
/// Bad attributes ([`AdminError::Usage`]), an unknown cluster, or a failure on every broker.
pub(super) async fn update_topic(
    ctx: &Ctx,
    s: TopicSettings,
    cluster: Option<String>,
    broker_addr: Option<String>,
) -> Result<i32, AdminError> {
    let mut cfg = TopicConfig::new(&s.topic, s.read);
    cfg.write_queue_nums = s.write;
    cfg.perm = s.perm;
    cfg.order = s.order;
    if let Some(a) = s.attributes {
        cfg.attributes = parse_attributes(&a)?;
    }
    let targets = where_to(ctx, cluster, broker_addr).await?;
    let cmd = ferromq_client::requests::create_topic(&cfg);
    each_broker_send(ctx, &targets, "updateTopic", &cmd).await
}

/// deleteTopic: deletes the topic on every master of `cluster` (every holder when `None`), then
/// on every name server (a name server's failure is only a warning).
///
/// # Errors
/// An unknown topic or cluster, or a failure on every broker.
pub(super) async fn delete_topic(
    ctx: &Ctx,
    topic: &str,
    cluster: Option<&str>,
) -> Result<i32, AdminError> {
    let targets = match cluster {
        Some(c) => masters_of(ctx, c).await?,
        None => holders(ctx, topic).await?,
    };
    let cmd = RemotingCommand::request(rq::DELETE_TOPIC_IN_BROKER).with_ext("topic", topic);
    let code = each_broker_send(ctx, &targets, "deleteTopic", &cmd).await?;
    for ns in &ctx.cluster.namesrv {
        let mut cmd =
            RemotingCommand::request(rq::DELETE_TOPIC_IN_NAMESRV).with_ext("topic", topic);
        if let Some(c) = cluster {
            cmd.put_ext("clusterName", c);
        }
        if let Err(e) = ctx.cluster.client.remoting.invoke(ns, cmd).await {
            eprintln!("warning: name server {ns}: {e}");
        }
    }
    Ok(code)
}

/// Parses mqadmin's `+key=value,+key2=value2` (a `-key` entry removes the key, so it is left
/// out of a new topic's attributes).
///
/// # Errors
/// [`AdminError::Usage`] for an entry that is neither `+key=value` nor `-key`.
fn parse_attributes(s: &str) -> Result<BTreeMap<String, String>, AdminError> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.starts_with('-') {
            continue;
        }
        let kv = part.strip_prefix('+').ok_or_else(|| {
            AdminError::Usage(format!(
                "attribute {part:?}: write +key=value (or -key to remove one)"
            ))
        })?;
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(AdminError::Usage(format!(
                    "attribute {part:?}: write +key=value"
                )))
            }
        }
    }
    Ok(out)
}
