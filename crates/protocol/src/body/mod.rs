//! JSON bodies. Readers are lenient (fastjson and C++ client dialects); writers emit what Java
//! emits, except that map keys are always quoted (every known client accepts that).

pub mod consumer_offset;
pub mod de;
mod group;
mod heartbeat;
pub mod lookup;
mod misc;
mod mq;
mod pop;
pub mod progress;
mod route;
mod topic;

pub use group::SubscriptionGroupConfig;
pub use heartbeat::{
    CheckClientRequestBody, ConsumerData, HeartbeatData, ProducerData, SubscriptionData,
};
pub use lookup::{GroupList, QueryConsumeTimeSpanBody, QueueTimeSpan};
pub use misc::{
    encode_properties_text, parse_properties_text, ClientConnection, ConsumerListBody, KvTable,
    LockBatchBody, LockBatchResponse, ProducerConnection, TopicList,
};
pub use mq::{read_mq_map, write_mq_map, MessageQueue};
pub use pop::{
    BatchAck, BatchAckMessageRequestBody, MessageQueueAssignment, MessageRequestMode,
    PopCheckpoint, QueryAssignmentRequestBody, QueryAssignmentResponseBody,
    SetMessageRequestModeRequestBody, TOPIC_MARK_NORMAL,
};
pub use progress::SyncOffsetEntry;
pub use route::{
    BrokerData, ClusterInfo, QueueData, RegisterBrokerBody, TopicRouteData,
    REGISTER_COMPLETE_TABLE_EXT,
};
pub use topic::{DataVersion, TopicConfig, TopicConfigWrapper};

/// Parses a body with [`crate::json::from_slice`], mapping the error to a short message.
///
/// # Errors
/// A message that names the body type and the parse error.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    crate::json::from_slice(body).map_err(|e| {
        format!(
            "malformed {} body: {e}",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("JSON")
        )
    })
}

/// Serialises a body as compact JSON.
pub fn to_vec<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}
