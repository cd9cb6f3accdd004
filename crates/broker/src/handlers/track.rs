//! Who consumes a topic, and how far behind: QUERY_TOPIC_CONSUME_BY_WHO (300) and
//! QUERY_CONSUME_TIME_SPAN (303). mqadmin's message commands (`queryMsgById`,
//! `queryMsgByKey`, `queryMsgByOffset`, …) ask 300 to print each group's consume state of the
//! message they found.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferromq_protocol::body::{
    self, GroupList, MessageQueue, QueryConsumeTimeSpanBody, QueueTimeSpan,
};
use ferromq_protocol::time::now_ms;
use ferromq_protocol::{Refusal, RemotingCommand};

use crate::dispatch::Reply;
use crate::Broker;

/// The groups that consume `topic`: those with a committed offset on it, and online consumers
/// subscribed to it (upstream: `queryTopicConsumeByWho` ∪ `whichGroupByTopic`). Sorted; an
/// unknown topic has none. Bounded by the broker's group limits.
pub fn consume_by_who(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let topic = req.req_str("topic")?;
    let mut groups: BTreeSet<String> = b.offsets.groups_of_topic(topic).into_iter().collect();
    for g in b.clients.consumer_groups() {
        if b.clients.subscription(&g, topic).is_some() {
            groups.insert(g);
        }
    }
    let list = GroupList {
        group_list: groups.into_iter().collect(),
    };
    Ok(RemotingCommand::success().with_body(body::to_vec(&list)))
}

/// Per write queue of `topic`: store times of its oldest and newest messages, of the last one
/// `group` consumed, and how long the next one has waited. Unknown topic: TOPIC_NOT_EXIST.
pub fn consume_time_span(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let topic = req.req_str("topic")?;
    let group = req.req_str("group")?;
    let cfg = b
        .topics
        .get(topic)
        .ok_or_else(|| Refusal::TopicNotExist(format!("topic[{topic}] not exist")))?;
    let now = now_ms();
    let store = &b.store;
    let time_at = |q: i32, offset: i64| store.store_time_at(topic, q, offset).unwrap_or(-1);
    let spans = (0..cfg.write_queue_nums.max(0))
        .map(|q| {
            let min_time = store.earliest_store_time(topic, q);
            let max_offset = store.max_offset(topic, q);
            let consumed = b.offsets.get(group, topic, q).unwrap_or(-1);
            let consume_time = if consumed > 0 {
                time_at(q, consumed - 1)
            } else {
                min_time
            };
            let next = time_at(q, consumed.max(0));
            QueueTimeSpan {
                message_queue: MessageQueue::new(topic, &b.cfg.broker_name, q),
                min_time_stamp: min_time,
                max_time_stamp: time_at(q, max_offset - 1),
                consume_time_stamp: consume_time,
                delay_time: if consumed < max_offset && next >= 0 {
                    now - next
                } else {
                    0
                },
            }
        })
        .collect();
    let body = QueryConsumeTimeSpanBody {
        consume_time_span_set: spans,
    };
    Ok(RemotingCommand::success().with_body(body::to_vec(&body)))
}
