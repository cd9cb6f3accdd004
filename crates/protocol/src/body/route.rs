//! Name-server bodies: broker registration, topic routes, cluster info.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::de;
use super::topic::TopicConfigWrapper;

/// REGISTER_BROKER ext field a ferromq broker sets to `true`: its topic table is complete, so
/// a ferromq name server drops the broker's topics missing from it. Apache brokers also send a
/// table holding only a topic they just created, so without the field a registration adds and
/// updates topics and removes none (upstream's `deleteTopicWithBrokerRegistration=false`).
pub const REGISTER_COMPLETE_TABLE_EXT: &str = "ferromqCompleteTopicTable";

/// `RegisterBrokerBody` (uncompressed JSON form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    pub topic_config_serialize_wrapper: TopicConfigWrapper,
    #[serde(deserialize_with = "de::strings_lenient")]
    pub filter_server_list: Vec<String>,
}

/// `QueueData`: one broker's queues of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    #[serde(deserialize_with = "de::string_lenient")]
    pub broker_name: String,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub read_queue_nums: i32,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub write_queue_nums: i32,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub perm: i32,
    #[serde(deserialize_with = "de::i32_lenient")]
    pub topic_sys_flag: i32,
}

impl Default for QueueData {
    fn default() -> Self {
        Self {
            broker_name: String::new(),
            read_queue_nums: 0,
            write_queue_nums: 0,
            perm: 6,
            topic_sys_flag: 0,
        }
    }
}

/// `BrokerData`: a broker set (master id 0 and slaves) by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    /// Broker id → address. Keys are written quoted (`"0"`), which every client accepts.
    pub broker_addrs: BTreeMap<String, String>,
    #[serde(deserialize_with = "de::string_lenient")]
    pub broker_name: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub cluster: String,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub enable_acting_master: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// The master's address (id 0), if registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get("0").map(String::as_str)
    }
}

/// `TopicRouteData`, in the full 5.x form strict clients require.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    pub broker_datas: Vec<BrokerData>,
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
}

/// `ClusterInfo` (GET_BROKER_CLUSTER_INFO).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl ClusterInfo {
    /// (broker name, master address) of every broker with a registered master.
    pub fn masters(&self) -> impl Iterator<Item = (&str, &str)> {
        self.broker_addr_table
            .values()
            .filter_map(|b| b.master_addr().map(|a| (b.broker_name.as_str(), a)))
    }
}
