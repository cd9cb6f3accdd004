//! Topic configuration bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::de;
use crate::codes::perm;

/// `DataVersion`: a counter bumped on every change, with the time of the change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    #[serde(deserialize_with = "de::i64_lenient")]
    pub counter: i64,
    #[serde(deserialize_with = "de::i64_lenient")]
    pub state_version: i64,
    #[serde(deserialize_with = "de::i64_lenient")]
    pub timestamp: i64,
}

/// `TopicConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    #[serde(deserialize_with = "de::string_lenient")]
    pub topic_name: String,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub read_queue_nums: i32,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub write_queue_nums: i32,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub perm: i32,
    #[serde(deserialize_with = "de::string_lenient")]
    pub topic_filter_type: String,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub topic_sys_flag: i32,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub order: bool,
    pub attributes: BTreeMap<String, String>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        Self {
            topic_name: String::new(),
            read_queue_nums: 16,
            write_queue_nums: 16,
            perm: perm::READ_WRITE,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes: BTreeMap::new(),
        }
    }
}

impl TopicConfig {
    pub fn new(name: &str, queues: i32) -> Self {
        Self {
            topic_name: name.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..Self::default()
        }
    }

    pub fn readable(&self) -> bool {
        self.perm & perm::READ != 0
    }

    pub fn writable(&self) -> bool {
        self.perm & perm::WRITE != 0
    }

    /// The number of queues that exist (the larger of read and write counts).
    pub fn queue_count(&self) -> i32 {
        self.read_queue_nums.max(self.write_queue_nums)
    }
}

/// `TopicConfigAndMappingSerializeWrapper` (GET_ALL_TOPIC_CONFIG and broker registration).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigWrapper {
    pub data_version: DataVersion,
    pub mapping_data_version: DataVersion,
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub topic_queue_mapping_detail_map: BTreeMap<String, serde_json::Value>,
    pub topic_queue_mapping_info_map: BTreeMap<String, serde_json::Value>,
}
