//! `SubscriptionGroupConfig`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::de;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    #[serde(deserialize_with = "de::string_lenient")]
    pub group_name: String,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub consume_enable: bool,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub consume_from_min_enable: bool,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub consume_broadcast_enable: bool,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub consume_message_orderly: bool,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub retry_queue_nums: i32,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub retry_max_times: i32,
    #[serde(deserialize_with = "de::i64_lenient")]
    pub broker_id: i64,
    #[serde(deserialize_with = "de::i64_lenient")]
    pub which_broker_when_consume_slowly: i64,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub notify_consumer_ids_changed_enable: bool,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub group_sys_flag: i32,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub consume_timeout_minute: i32,
    pub attributes: BTreeMap<String, String>,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        Self {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
            attributes: BTreeMap::new(),
        }
    }
}

impl SubscriptionGroupConfig {
    pub fn new(group: &str) -> Self {
        Self {
            group_name: group.into(),
            ..Self::default()
        }
    }
}
