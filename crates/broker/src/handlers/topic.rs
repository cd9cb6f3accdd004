//! Topics: UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215), GET_ALL_TOPIC_CONFIG (21),
//! GET_TOPIC_CONFIG (351), GET_TOPIC_STATS_INFO (202).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::{self, write_mq_map, MessageQueue, TopicConfig};
use ferromq_protocol::names::{self, AUTO_CREATE_TOPIC, SCHEDULE_TOPIC};
use ferromq_protocol::{Refusal, RemotingCommand};
use serde::Serialize;

use crate::dispatch::Reply;
use crate::pop::forget_pop_state;
use crate::Broker;

/// How long an operator's topic or group change may take to reach its config file before the
/// request is answered as failed.
pub(crate) const CONFIG_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn create(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let topic = req.req_str("topic")?;
    names::validate_topic(topic).map_err(Refusal::InvalidParameter)?;
    if topic == AUTO_CREATE_TOPIC || topic == SCHEDULE_TOPIC || topic == names::TIMER_TOPIC {
        return Err(Refusal::InvalidParameter(format!(
            "the topic[{topic}] is conflict with system topic"
        ))
        .into());
    }
    let read = req.opt_i32("readQueueNums")?.unwrap_or(8);
    let write = req.opt_i32("writeQueueNums")?.unwrap_or(read);
    let attributes = req
        .ext("attributes")
        .map(|a| {
            a.split(',')
                .filter_map(|kv| kv.trim_start_matches('+').split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let cfg = TopicConfig {
        topic_name: topic.to_string(),
        read_queue_nums: read,
        write_queue_nums: write,
        perm: req.opt_i32("perm")?.unwrap_or(6),
        topic_filter_type: req
            .ext("topicFilterType")
            .unwrap_or("SINGLE_TAG")
            .to_string(),
        topic_sys_flag: req.opt_i32("topicSysFlag")?.unwrap_or(0),
        order: req.opt_bool("order")?.unwrap_or(false),
        attributes,
    };
    if let Some(generation) = b.topics.upsert(cfg)? {
        written(
            b.topics
                .wait_written(generation, CONFIG_WRITE_TIMEOUT)
                .await,
        )?;
    }
    Ok(RemotingCommand::success())
}

/// An operator's change is acknowledged only once its config file is on disk.
pub(crate) fn written(r: Result<(), String>) -> Result<(), Refusal> {
    r.map_err(|e| {
        Refusal::SystemError(format!(
            "the change is in effect but not yet persisted: {e}"
        ))
    })
}

pub async fn delete(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let topic = req.req_str("topic")?;
    // The name reaches the file system (the topic's consume-queue directory): it must be a
    // topic name, never a path.
    names::validate_topic(topic).map_err(Refusal::InvalidParameter)?;
    if topic == AUTO_CREATE_TOPIC || topic == SCHEDULE_TOPIC || topic == names::TIMER_TOPIC {
        return Err(Refusal::InvalidParameter(format!(
            "the system topic[{topic}] cannot be deleted"
        ))
        .into());
    }
    let generation = b.topics.delete(topic);
    b.pull_hold.remove_topic(topic);
    b.pull_state.remove_topic(topic);
    if let Err(e) = forget_pop_state(b, |k| k.topic == topic).await {
        tracing::warn!(%topic, error = %e, "forgetting the topic's POP state failed");
    }
    // SYSTEM_ERROR naming the step, not the store's or offset table's own mapping: the topic
    // is already gone from the table, only its files are left over.
    b.store
        .delete_topic(topic)
        .map_err(|e| Refusal::SystemError(format!("deleting store files failed: {e}")))?;
    b.offsets
        .delete_topic(topic)
        .await
        .map_err(|e| Refusal::SystemError(format!("deleting offsets failed: {e}")))?;
    if let Some(generation) = generation {
        written(
            b.topics
                .wait_written(generation, CONFIG_WRITE_TIMEOUT)
                .await,
        )?;
    }
    Ok(RemotingCommand::success())
}

pub fn get_all(b: &Arc<Broker>) -> Reply {
    let wrapper = b.topics.wrapper();
    let total = wrapper.topic_config_table.len();
    Ok(RemotingCommand::success()
        .with_ext("totalTopicNum", total)
        .with_body(body::to_vec(&wrapper)))
}

pub fn get_one(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let topic = req.req_str("topic")?;
    let cfg = b.topics.get(topic).ok_or_else(|| {
        Refusal::TopicNotExist(format!("No topic in this broker. topic: {topic}"))
    })?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct TopicConfigAndQueueMapping {
        #[serde(flatten)]
        cfg: TopicConfig,
    }
    Ok(RemotingCommand::success().with_body(body::to_vec(&TopicConfigAndQueueMapping { cfg })))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicOffset {
    last_update_timestamp: i64,
    max_offset: i64,
    min_offset: i64,
}

pub fn stats(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let topic = req.req_str("topic")?;
    let cfg = b
        .topics
        .get(topic)
        .ok_or_else(|| Refusal::TopicNotExist(format!("topic[{topic}] not exist")))?;
    let entries: Vec<(MessageQueue, TopicOffset)> = (0..cfg.queue_count())
        .map(|q| {
            let max = b.store.max_offset(topic, q);
            let last = if max > 0 {
                b.store.store_time_at(topic, q, max - 1).unwrap_or(0)
            } else {
                0
            };
            (
                MessageQueue::new(topic, &b.cfg.broker_name, q),
                TopicOffset {
                    last_update_timestamp: last,
                    max_offset: max,
                    min_offset: b.store.min_offset(topic, q),
                },
            )
        })
        .collect();
    let text = format!(
        "{{\"offsetTable\":{},\"topicPutTps\":0.0}}",
        write_mq_map(&entries)
    );
    Ok(RemotingCommand::success().with_body(text.into_bytes()))
}
