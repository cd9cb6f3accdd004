//! Consumption statistics: GET_CONSUME_STATS (208, one group; mqadmin `consumerProgress -g`)
//! and GET_BROKER_CONSUME_STATS (317, every group on this broker; mqadmin
//! `brokerConsumeStats`). Both cover any group with offsets here, online or not.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferromq_protocol::body::{write_mq_map, MessageQueue};
use ferromq_protocol::RemotingCommand;
use serde::Serialize;

use crate::dispatch::Reply;
use crate::Broker;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OffsetWrapper {
    broker_offset: i64,
    consumer_offset: i64,
    last_timestamp: i64,
    pull_offset: i64,
}

/// GET_CONSUME_STATS (208): per queue broker offset, consumer offset, pull offset and the store
/// time of the last consumed message.
pub fn group_stats(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let group = req.req_str("consumerGroup")?;
    // A set: a list naming one topic many times must not multiply the answer.
    let topics: BTreeSet<String> = match (req.ext("topicList"), req.ext("topic")) {
        (Some(list), _) => list
            .split(';')
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect(),
        (None, Some(t)) => std::iter::once(t.to_string()).collect(),
        (None, None) => b.offsets.topics_of_group(group).into_iter().collect(),
    };
    let (json, _) = consume_stats_json(b, group, &topics);
    Ok(RemotingCommand::success().with_body(json.into_bytes()))
}

/// GET_BROKER_CONSUME_STATS (317): `ConsumeStatsList` — for every group with offsets here, one
/// `ConsumeStats` per topic, and the total lag. With `isOrder=true` only orderly topics count,
/// as upstream filters them.
pub fn broker_stats(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let only_order = req.ext("isOrder") == Some("true");
    let mut groups_json = Vec::new();
    let mut total_diff = 0i64;
    for group in b.offsets.groups() {
        let mut per_topic = Vec::new();
        for topic in b.offsets.topics_of_group(&group) {
            let Some(cfg) = b.topics.get(&topic) else {
                continue;
            };
            if only_order && !cfg.order {
                continue;
            }
            let (json, diff) = consume_stats_json(b, &group, &BTreeSet::from([topic]));
            total_diff = total_diff.saturating_add(diff);
            per_topic.push(json);
        }
        if !per_topic.is_empty() {
            let key = serde_json::to_string(&group).unwrap_or_default();
            groups_json.push(format!("{{{key}:[{}]}}", per_topic.join(",")));
        }
    }
    let addr = serde_json::to_string(&b.cfg.broker_addr()).unwrap_or_default();
    let text = format!(
        "{{\"brokerAddr\":{addr},\"consumeStatsList\":[{}],\"totalDiff\":{total_diff}}}",
        groups_json.join(",")
    );
    Ok(RemotingCommand::success().with_body(text.into_bytes()))
}

/// One `ConsumeStats` document (its `offsetTable` has message-queue objects as keys, so it is
/// written with [`write_mq_map`]) and the group's lag over `topics`.
fn consume_stats_json(b: &Broker, group: &str, topics: &BTreeSet<String>) -> (String, i64) {
    let mut entries = Vec::new();
    let mut diff = 0i64;
    for topic in topics {
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
            diff = diff.saturating_add((max - consumer).max(0));
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
    let now = std::time::Instant::now();
    let tps: f64 = topics
        .iter()
        .map(|t| b.group_rates.rate(group, t, now))
        .sum();
    let tps = serde_json::to_string(&tps).unwrap_or_else(|_| "0.0".into());
    let text = format!(
        "{{\"consumeTps\":{tps},\"offsetTable\":{}}}",
        write_mq_map(&entries)
    );
    (text, diff)
}
