//! Small bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::de;
use super::mq::MessageQueue;

/// GET_CONSUMER_LIST_BY_GROUP response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerListBody {
    #[serde(deserialize_with = "de::strings_lenient")]
    pub consumer_id_list: Vec<String>,
}

/// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchBody {
    #[serde(deserialize_with = "de::string_lenient")]
    pub consumer_group: String,
    #[serde(deserialize_with = "de::string_lenient")]
    pub client_id: String,
    #[serde(deserialize_with = "de::bool_lenient")]
    pub only_this_broker: bool,
    pub mq_set: Vec<MessageQueue>,
}

/// LOCK_BATCH_MQ response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchResponse {
    pub lock_o_k_m_q_set: Vec<MessageQueue>,
}

/// `KVTable`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    pub table: BTreeMap<String, String>,
}

/// `TopicList`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    pub topic_list: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
}
