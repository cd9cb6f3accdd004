//! Lag of any group — online, offline or never online — in messages and in time.

use std::collections::BTreeSet;

use super::model::{DescribeRequest, GroupLag, QueueLag};
use super::plan::validate_group;
use super::{Progress, ProgressError};
use crate::topics::now_ms;

impl Progress<'_> {
    /// Per queue: committed offset, queue bounds, lag in messages, age of the oldest unconsumed
    /// message, last pull position and any pending intent. Topics: the ones named, else every
    /// topic the group has offsets, intents or a live subscription for.
    ///
    /// # Errors
    /// An invalid group name.
    pub fn describe(&self, req: &DescribeRequest) -> Result<GroupLag, ProgressError> {
        validate_group(&req.group)?;
        let b = self.b;
        let online = b.clients.group(&req.group);
        let grpc = b.grpc_clients.members(&req.group);
        let topics: BTreeSet<String> = match &req.topics {
            Some(t) => t.iter().cloned().collect(),
            None => {
                let mut t: BTreeSet<String> =
                    b.offsets.topics_of_group(&req.group).into_iter().collect();
                t.extend(
                    b.offsets
                        .intents(Some(&req.group))
                        .into_iter()
                        .map(|i| i.topic),
                );
                if let Some(info) = &online {
                    t.extend(info.subscriptions.keys().cloned());
                }
                t.extend(grpc.iter().flat_map(|m| m.topics.iter().cloned()));
                t
            }
        };
        let now = now_ms();
        let mut queues = Vec::new();
        for topic in &topics {
            let Some(cfg) = b.topics.get(topic) else {
                continue;
            };
            for q in 0..cfg.read_queue_nums {
                let committed = b.offsets.get(&req.group, topic, q);
                let (min, max) = super::plan::bounds(b, topic, q);
                let from = committed.unwrap_or(min).clamp(min, max);
                let lag = max - from;
                let lag_ms = if lag > 0 {
                    b.store
                        .store_time_at(topic, q, from)
                        .map(|t| (now - t).max(0))
                        .unwrap_or(0)
                } else {
                    0
                };
                queues.push(QueueLag {
                    topic: topic.clone(),
                    queue_id: q,
                    committed,
                    min_offset: min,
                    max_offset: max,
                    lag,
                    lag_ms,
                    pull_offset: b.pull_state.pull_offset(&req.group, topic, q),
                    in_flight: b
                        .pop
                        .in_flight(&ferromq_offsets::QueueKey {
                            group: req.group.clone(),
                            topic: topic.clone(),
                            queue_id: q,
                        })
                        .0 as i64,
                    intent: b
                        .offsets
                        .intent_for(&req.group, topic, q)
                        .filter(|_| committed.is_none())
                        .map(|i| i.spec),
                });
            }
        }
        Ok(GroupLag {
            group: req.group.clone(),
            broker_name: b.cfg.broker_name.clone(),
            online_clients: {
                let mut ids = online.map(|i| i.client_ids()).unwrap_or_default();
                ids.extend(grpc.into_iter().map(|m| m.client_id));
                ids
            },
            total_lag: queues.iter().map(|q| q.lag).sum(),
            queues,
        })
    }
}

/// One group's lag on one topic, summed over its queues (for the metrics exporter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicLag {
    pub group: String,
    pub topic: String,
    /// Messages not yet consumed.
    pub messages: i64,
    /// Age of the oldest of them (ms).
    pub oldest_ms: i64,
}

/// The lag of every group that has offsets on this broker, per topic. Groups that never
/// committed are left out: their lag is the whole topic, which says nothing about them.
pub fn all_group_lags(b: &std::sync::Arc<crate::Broker>) -> Vec<TopicLag> {
    let mut out = Vec::new();
    for group in b.offsets.groups() {
        let req = DescribeRequest {
            group: group.clone(),
            topics: Some(b.offsets.topics_of_group(&group)),
        };
        let Ok(lag) = b.progress().describe(&req) else {
            continue;
        };
        let mut per_topic: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
        for q in lag.queues {
            let e = per_topic.entry(q.topic).or_default();
            e.0 += q.lag;
            e.1 = e.1.max(q.lag_ms);
        }
        out.extend(
            per_topic
                .into_iter()
                .map(|(topic, (messages, oldest_ms))| TopicLag {
                    group: group.clone(),
                    topic,
                    messages,
                    oldest_ms,
                }),
        );
    }
    out
}
