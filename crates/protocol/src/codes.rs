//! Request and response codes (upstream `RequestCode`, `ResponseCode`, `RemotingSysResponseCode`).
//!
//! Only codes ferromq sends, serves or names are listed. Codes in
//! [`request::FERRO_RANGE`] are ferromq's own extensions (documented in `docs/protocol.md`).

/// Request codes.
pub mod request {
    pub const SEND_MESSAGE: i32 = 10;
    pub const PULL_MESSAGE: i32 = 11;
    pub const QUERY_MESSAGE: i32 = 12;
    pub const QUERY_CONSUMER_OFFSET: i32 = 14;
    pub const UPDATE_CONSUMER_OFFSET: i32 = 15;
    pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
    pub const GET_ALL_TOPIC_CONFIG: i32 = 21;
    pub const GET_TOPIC_NAME_LIST: i32 = 23;
    pub const UPDATE_BROKER_CONFIG: i32 = 25;
    pub const GET_BROKER_CONFIG: i32 = 26;
    pub const GET_BROKER_RUNTIME_INFO: i32 = 28;
    pub const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
    pub const GET_MAX_OFFSET: i32 = 30;
    pub const GET_MIN_OFFSET: i32 = 31;
    pub const GET_EARLIEST_MSG_STORETIME: i32 = 32;
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    pub const HEART_BEAT: i32 = 34;
    pub const UNREGISTER_CLIENT: i32 = 35;
    pub const CONSUMER_SEND_MSG_BACK: i32 = 36;
    pub const END_TRANSACTION: i32 = 37;
    pub const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
    pub const CHECK_TRANSACTION_STATE: i32 = 39;
    pub const NOTIFY_CONSUMER_IDS_CHANGED: i32 = 40;
    pub const LOCK_BATCH_MQ: i32 = 41;
    pub const UNLOCK_BATCH_MQ: i32 = 42;
    pub const GET_ALL_CONSUMER_OFFSET: i32 = 43;
    pub const GET_ALL_DELAY_OFFSET: i32 = 45;
    pub const CHECK_CLIENT_CONFIG: i32 = 46;
    pub const PUT_KV_CONFIG: i32 = 100;
    pub const GET_KV_CONFIG: i32 = 101;
    pub const DELETE_KV_CONFIG: i32 = 102;
    pub const REGISTER_BROKER: i32 = 103;
    pub const UNREGISTER_BROKER: i32 = 104;
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    pub const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: i32 = 200;
    pub const GET_ALL_SUBSCRIPTIONGROUP_CONFIG: i32 = 201;
    pub const GET_TOPIC_STATS_INFO: i32 = 202;
    pub const GET_CONSUMER_CONNECTION_LIST: i32 = 203;
    pub const GET_PRODUCER_CONNECTION_LIST: i32 = 204;
    pub const GET_ALL_TOPIC_LIST_FROM_NAMESERVER: i32 = 206;
    pub const DELETE_SUBSCRIPTIONGROUP: i32 = 207;
    pub const GET_CONSUME_STATS: i32 = 208;
    pub const DELETE_TOPIC_IN_BROKER: i32 = 215;
    pub const DELETE_TOPIC_IN_NAMESRV: i32 = 216;
    pub const RESET_CONSUMER_CLIENT_OFFSET: i32 = 220;
    pub const GET_CONSUMER_STATUS_FROM_CLIENT: i32 = 221;
    pub const INVOKE_BROKER_TO_RESET_OFFSET: i32 = 222;
    pub const INVOKE_BROKER_TO_GET_CONSUMER_STATUS: i32 = 223;
    pub const GET_TOPICS_BY_CLUSTER: i32 = 224;
    pub const QUERY_TOPIC_CONSUME_BY_WHO: i32 = 300;
    pub const QUERY_CONSUME_TIME_SPAN: i32 = 303;
    pub const GET_CONSUMER_RUNNING_INFO: i32 = 307;
    pub const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
    pub const SEND_MESSAGE_V2: i32 = 310;
    pub const CLONE_GROUP_OFFSET: i32 = 314;
    pub const GET_BROKER_CONSUME_STATS: i32 = 317;
    pub const SEND_BATCH_MESSAGE: i32 = 320;
    pub const QUERY_DATA_VERSION: i32 = 322;
    pub const GET_TOPIC_CONFIG: i32 = 351;
    pub const GET_SUBSCRIPTIONGROUP_CONFIG: i32 = 352;
    pub const LITE_PULL_MESSAGE: i32 = 361;
    /// A timed message recalled before its delivery time (5.x producers).
    pub const RECALL_MESSAGE: i32 = 370;
    pub const BROKER_HEARTBEAT: i32 = 904;
    /// Users and ACLs (ACL 2.0; mqadmin createUser … listAcl).
    pub const AUTH_CREATE_USER: i32 = 3001;
    pub const AUTH_UPDATE_USER: i32 = 3002;
    pub const AUTH_DELETE_USER: i32 = 3003;
    pub const AUTH_GET_USER: i32 = 3004;
    pub const AUTH_LIST_USER: i32 = 3005;
    pub const AUTH_CREATE_ACL: i32 = 3006;
    pub const AUTH_UPDATE_ACL: i32 = 3007;
    pub const AUTH_DELETE_ACL: i32 = 3008;
    pub const AUTH_GET_ACL: i32 = 3009;
    pub const AUTH_LIST_ACL: i32 = 3010;
    /// Server-side rebalancing (5.x Remoting clients with `clientRebalance=false`).
    pub const QUERY_ASSIGNMENT: i32 = 400;
    /// mqadmin `setConsumeMode`: PULL or POP per topic and group.
    pub const SET_MESSAGE_REQUEST_MODE: i32 = 401;
    /// POP consumption over Remoting (5.x Java client in POP mode).
    pub const POP_MESSAGE: i32 = 200050;
    pub const ACK_MESSAGE: i32 = 200051;
    pub const CHANGE_MESSAGE_INVISIBLETIME: i32 = 200053;
    pub const BATCH_ACK_MESSAGE: i32 = 200151;

    /// ferromq's own request codes live here; upstream uses none of them. Bodies are JSON;
    /// `docs/protocol.md` documents each.
    pub const FERRO_RANGE: std::ops::RangeInclusive<i32> = 9000..=9099;
    /// Which ferromq extensions this broker serves.
    pub const FERRO_CAPABILITIES: i32 = 9000;
    /// Plan or apply a reset of many groups × topics × queues, all-or-nothing.
    pub const FERRO_RESET_OFFSETS: i32 = 9001;
    /// Lag of a group per queue, in messages and time.
    pub const FERRO_DESCRIBE_GROUP: i32 = 9002;
    /// The history of applied offset changes.
    pub const FERRO_HISTORY: i32 = 9003;
    /// Undo a recorded change.
    pub const FERRO_UNDO: i32 = 9004;
    /// Pending intents.
    pub const FERRO_INTENTS: i32 = 9005;
    /// Copy one group's offsets to another.
    pub const FERRO_CLONE_OFFSETS: i32 = 9006;
    /// Delete a group's offsets for some or all topics.
    pub const FERRO_DELETE_OFFSETS: i32 = 9007;
    /// Import offsets (records or an upstream consumerOffset.json).
    pub const FERRO_IMPORT_OFFSETS: i32 = 9008;
    /// Export offsets with the store time of the message at each.
    pub const FERRO_EXPORT_OFFSETS: i32 = 9009;
    /// Append records pulled from another cluster to one queue, keeping their born time, host
    /// and properties, optionally only at an expected queue offset (`ferromq mirror`).
    pub const FERRO_MIRROR_APPEND: i32 = 9010;
    /// Store offsets copied from another cluster, skipping groups with live consumers here.
    pub const FERRO_SYNC_OFFSETS: i32 = 9011;
    /// The last ferromq code this build serves.
    pub const FERRO_LAST: i32 = FERRO_SYNC_OFFSETS;
}

/// Response codes.
pub mod response {
    pub const SUCCESS: i32 = 0;
    pub const SYSTEM_ERROR: i32 = 1;
    pub const SYSTEM_BUSY: i32 = 2;
    pub const REQUEST_CODE_NOT_SUPPORTED: i32 = 3;
    pub const FLUSH_DISK_TIMEOUT: i32 = 10;
    pub const SLAVE_NOT_AVAILABLE: i32 = 11;
    pub const FLUSH_SLAVE_TIMEOUT: i32 = 12;
    pub const MESSAGE_ILLEGAL: i32 = 13;
    pub const SERVICE_NOT_AVAILABLE: i32 = 14;
    pub const VERSION_NOT_SUPPORTED: i32 = 15;
    pub const NO_PERMISSION: i32 = 16;
    pub const TOPIC_NOT_EXIST: i32 = 17;
    pub const TOPIC_EXIST_ALREADY: i32 = 18;
    pub const PULL_NOT_FOUND: i32 = 19;
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    pub const PULL_OFFSET_MOVED: i32 = 21;
    pub const QUERY_NOT_FOUND: i32 = 22;
    pub const SUBSCRIPTION_PARSE_FAILED: i32 = 23;
    pub const SUBSCRIPTION_NOT_EXIST: i32 = 24;
    pub const SUBSCRIPTION_NOT_LATEST: i32 = 25;
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: i32 = 26;
    pub const INVALID_PARAMETER: i32 = 29;
    /// An ack or new window for a message that is not in flight (POP).
    pub const NO_MESSAGE: i32 = 208;
    /// A POP long poll ended without messages.
    pub const POLLING_TIMEOUT: i32 = 210;
    pub const CONSUMER_NOT_ONLINE: i32 = 206;
    pub const ILLEGAL_OPERATION: i32 = 604;
    /// ferromq: FERRO_MIRROR_APPEND found the queue at another offset than expected; the
    /// `actualQueueOffset` header field has it. Nothing was written.
    pub const QUEUE_OFFSET_MISMATCH: i32 = 9100;
    /// ferromq: a change sent with the plan it must apply (`expect`) found queues that moved
    /// since the plan was made; the body (`PlanMoved`) names them. Nothing was changed.
    pub const PLAN_MOVED: i32 = 9101;
}

/// `PullSysFlag` bits.
pub mod pull_flag {
    pub const COMMIT_OFFSET: i32 = 0x1;
    pub const SUSPEND: i32 = 0x2;
    pub const SUBSCRIPTION: i32 = 0x4;
    pub const CLASS_FILTER: i32 = 0x8;
    pub const LITE_PULL: i32 = 0x10;
}

/// `MessageSysFlag` bits.
pub mod sys_flag {
    pub const COMPRESSED: i32 = 0x1;
    pub const MULTI_TAGS: i32 = 0x2;
    pub const TRANSACTION_MASK: i32 = 0xC;
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    pub const TRANSACTION_COMMIT: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK: i32 = 0xC;
    pub const BORNHOST_V6: i32 = 0x10;
    pub const STOREHOST_V6: i32 = 0x20;
    pub const INNER_BATCH: i32 = 0x80;
}

/// `PermName` bits.
pub mod perm {
    pub const PRIORITY: i32 = 8;
    pub const READ: i32 = 4;
    pub const WRITE: i32 = 2;
    pub const INHERIT: i32 = 1;
    pub const READ_WRITE: i32 = READ | WRITE;
}
