//! The broker's settings at run time: GET_BROKER_CONFIG (26) and UPDATE_BROKER_CONFIG (25), both
//! as Java `Properties` text (`key=value` lines).
//!
//! Two settings change at run time, both through the `TBW102` template that auto-creation
//! copies (the send path creates topics only while the template exists, and the name servers
//! template routes of unknown topics from it):
//! - `autoCreateTopicEnable` (`auto-create-topic`): `false` removes the template, `true` puts it
//!   back. It can be turned back on only if the broker started with it on (the send path also
//!   checks the configured value).
//! - `defaultTopicQueueNums` (`default-topic-queue-nums`): the template's queue count, so only
//!   while auto-creation is on.
//!
//! Runtime changes are not written to the config file: turning auto-creation off lasts until
//! the broker restarts (it restores the template from its config). The template's queue count is
//! kept in `topics.json`, which the broker reloads, so a changed `defaultTopicQueueNums` stays
//! after a restart. Any other setting is refused with INVALID_PARAMETER naming it, and nothing
//! changes; a setting sent with its current value is accepted as a no-op, so the text
//! GET_BROKER_CONFIG answers can be sent back.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferromq_protocol::body::{self, encode_properties_text, parse_properties_text, TopicConfig};
use ferromq_protocol::codes::perm;
use ferromq_protocol::limits::check_queue_nums;
use ferromq_protocol::names::AUTO_CREATE_TOPIC;
use ferromq_protocol::{Refusal, RemotingCommand};
use tracing::info;

use super::topic::{written, CONFIG_WRITE_TIMEOUT};
use crate::config::setting_name;
use crate::dispatch::Reply;
use crate::error::ReplyError;
use crate::topics::now_ms;
use crate::Broker;

const AUTO_CREATE: &str = "auto-create-topic";
const QUEUE_NUMS: &str = "default-topic-queue-nums";

/// The settings in effect: the configured ones, with the two runtime settings read from the
/// `TBW102` template.
fn effective(b: &Broker) -> BTreeMap<String, String> {
    let template = b.topics.get(AUTO_CREATE_TOPIC);
    let auto_create = b.cfg.auto_create_topic && template.is_some();
    let queue_nums = template.map_or(b.cfg.default_topic_queue_nums, |t| t.write_queue_nums);
    let mut props: BTreeMap<String, String> = b.cfg.properties().into_iter().collect();
    props.insert("autoCreateTopicEnable".into(), auto_create.to_string());
    props.insert("defaultTopicQueueNums".into(), queue_nums.to_string());
    props
}

/// GET_BROKER_CONFIG: the settings as `Properties` text, and the `version` of the settings (a
/// `DataVersion`, bumped by each runtime change).
pub fn get(b: &Arc<Broker>) -> Reply {
    let props = effective(b);
    let text = encode_properties_text(props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut version = b.stats.config_version.lock().clone();
    if version.timestamp == 0 {
        version.timestamp = b.boot_time_ms;
    }
    let version = String::from_utf8(body::to_vec(&version)).unwrap_or_default();
    Ok(RemotingCommand::success()
        .with_ext("version", version)
        .with_body(text.into_bytes()))
}

/// What an update asks for, once every key is checked.
#[derive(Default)]
struct Change {
    auto_create: Option<bool>,
    queue_nums: Option<i32>,
}

/// UPDATE_BROKER_CONFIG: applies the runtime settings in the body (see the module docs), all or
/// nothing. Not persisted to the config file.
pub async fn update(b: &Arc<Broker>, req: &RemotingCommand) -> Reply {
    let text = std::str::from_utf8(&req.body).map_err(|_| {
        Refusal::InvalidParameter("the broker config body is not UTF-8 text".into())
    })?;
    let current = effective(b);
    let mut change = Change::default();
    for (key, value) in parse_properties_text(text) {
        let value = value.trim();
        match setting_name(&key).as_deref() {
            Some(AUTO_CREATE) => change.auto_create = Some(parse_bool(&key, value)?),
            Some(QUEUE_NUMS) => {
                let n = value.parse::<i32>().map_err(|_| {
                    Refusal::InvalidParameter(format!("{key}: '{value}' is not a number"))
                })?;
                check_queue_nums(&key, n).map_err(Refusal::InvalidParameter)?;
                change.queue_nums = Some(n);
            }
            _ if current.get(&key).map(String::as_str) == Some(value) => {}
            Some(_) => {
                return Err(Refusal::InvalidParameter(format!(
                    "the broker setting {key} cannot be changed at run time (only \
                     autoCreateTopicEnable and defaultTopicQueueNums can); change it in the \
                     config file and restart the broker"
                ))
                .into())
            }
            None if current.contains_key(&key) => {
                return Err(Refusal::InvalidParameter(format!(
                    "the broker setting {key} cannot be changed"
                ))
                .into())
            }
            None => {
                return Err(
                    Refusal::InvalidParameter(format!("unknown broker setting {key}")).into(),
                )
            }
        }
    }
    apply(b, &current, change).await?;
    Ok(RemotingCommand::success())
}

/// Java's `true`/`false`, in any case; anything else is refused (upstream would read it as
/// `false`).
fn parse_bool(key: &str, value: &str) -> Result<bool, Refusal> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Refusal::InvalidParameter(format!(
            "{key}: '{value}' is not true or false"
        ))),
    }
}

async fn apply(
    b: &Arc<Broker>,
    current: &BTreeMap<String, String>,
    change: Change,
) -> Result<(), ReplyError> {
    let was_on = current.get("autoCreateTopicEnable").map(String::as_str) == Some("true");
    let on = change.auto_create.unwrap_or(was_on);
    if on && !was_on && !b.cfg.auto_create_topic {
        return Err(Refusal::InvalidParameter(
            "autoCreateTopicEnable cannot be turned on at run time: the broker started with \
             auto-create-topic = false; change it in the config file and restart the broker"
                .into(),
        )
        .into());
    }
    if change.queue_nums.is_some() && !on {
        return Err(Refusal::InvalidParameter(
            "defaultTopicQueueNums is the queue count of the TBW102 template, which exists only \
             while autoCreateTopicEnable is true"
                .into(),
        )
        .into());
    }
    let generation = if on {
        let template = b.topics.get(AUTO_CREATE_TOPIC);
        let queues = change.queue_nums.unwrap_or_else(|| {
            template
                .as_ref()
                .map_or(b.cfg.default_topic_queue_nums, |t| t.write_queue_nums)
        });
        let mut cfg = template.unwrap_or_else(|| {
            let mut t = TopicConfig::new(AUTO_CREATE_TOPIC, queues);
            t.perm = perm::READ_WRITE | perm::INHERIT;
            t
        });
        cfg.read_queue_nums = queues;
        cfg.write_queue_nums = queues;
        b.topics.upsert(cfg)?
    } else {
        b.topics.delete(AUTO_CREATE_TOPIC)
    };
    let Some(generation) = generation else {
        return Ok(());
    };
    {
        let mut v = b.stats.config_version.lock();
        v.counter += 1;
        v.timestamp = now_ms();
    }
    info!(
        auto_create_topic = on,
        default_topic_queue_nums = ?change.queue_nums,
        "broker settings changed at run time (not persisted to the config file)"
    );
    Ok(written(
        b.topics
            .wait_written(generation, CONFIG_WRITE_TIMEOUT)
            .await,
    )?)
}
