//! Requests and results of the progress service: plain serde types, independent of the
//! transport (the Remoting handlers carry them as JSON bodies; an HTTP front could too).

use ferromq_offsets::{Change, Intent, IntentSpec};
use serde::{Deserialize, Serialize};

/// Which queues of a topic: all of them, or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicScope {
    pub topic: String,
    /// `None` = every queue the topic has.
    #[serde(default)]
    pub queues: Option<Vec<i32>>,
}

/// Where to move offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum ResetSpec {
    /// The queue's min offset.
    Earliest,
    /// The queue's max offset (skip everything accumulated).
    Latest,
    /// The same offset for every queue in scope.
    Offset(i64),
    /// The first message stored at or after this time (ms since the epoch).
    Timestamp(i64),
    /// The first message stored at or after `now − duration` (ms).
    Duration(i64),
    /// Move each queue's committed offset by ±N.
    ShiftBy(i64),
    /// Explicit offsets per topic queue (applied to every group in scope).
    PerQueue(Vec<QueueOffset>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueOffset {
    pub topic: String,
    pub queue_id: i32,
    pub offset: i64,
}

/// A reset of one or many groups × topics × queues, applied all-or-nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetRequest {
    pub groups: Vec<String>,
    pub topics: Vec<TopicScope>,
    pub spec: ResetSpec,
    /// Compute and return the plan without changing anything.
    #[serde(default)]
    pub dry_run: bool,
    /// Store intents for queues or topics that do not exist yet instead of refusing.
    #[serde(default)]
    pub allow_intents: bool,
}

/// How a change moves one queue, before it is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedQueue {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
    /// The committed offset now, if any.
    pub current: Option<i64>,
    /// The offset after the change; `None` deletes the committed offset.
    pub target: Option<i64>,
    /// The offset asked for before clamping to `[min, max]`.
    pub requested: Option<i64>,
    pub clamped: bool,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Messages the group will not consume because of the change.
    pub skipped: i64,
    /// Messages the group will consume again because of the change.
    pub replayed: i64,
    /// Store times of the first and last skipped or replayed message (ms), when known.
    pub window_from_ms: Option<i64>,
    pub window_to_ms: Option<i64>,
}

/// The result of every mutating operation: the plan, and for an applied one the change id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanResult {
    pub dry_run: bool,
    pub queues: Vec<PlannedQueue>,
    /// Intents stored for queues or groups that do not exist yet.
    pub intents: Vec<Intent>,
    /// The recorded change, once applied.
    pub change_id: Option<u64>,
}

/// Lag of one queue for one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueLag {
    pub topic: String,
    pub queue_id: i32,
    pub committed: Option<i64>,
    pub min_offset: i64,
    pub max_offset: i64,
    /// Messages between the committed offset (or the queue's start when none) and the end.
    pub lag: i64,
    /// Age of the oldest unconsumed message (ms), 0 when nothing is pending.
    pub lag_ms: i64,
    /// Where the group last pulled up to (this broker run).
    pub pull_offset: Option<i64>,
    /// An intent waiting for this queue.
    pub intent: Option<IntentSpec>,
}

/// Lag of a group on this broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupLag {
    pub group: String,
    pub broker_name: String,
    pub online_clients: Vec<String>,
    pub queues: Vec<QueueLag>,
    pub total_lag: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeRequest {
    pub group: String,
    #[serde(default)]
    pub topics: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloneRequest {
    pub from: String,
    pub to: String,
    /// `None` = every topic the source group has offsets for.
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRequest {
    pub group: String,
    /// `None` = every topic of the group.
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    #[serde(default)]
    pub dry_run: bool,
}

/// One exported or imported offset. `store_time_ms` is the store time of the message at
/// `offset`, so another cluster can re-apply the position by time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetRecord {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
    pub offset: i64,
    #[serde(default)]
    pub store_time_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRequest {
    #[serde(default)]
    pub records: Vec<OffsetRecord>,
    /// An Apache RocketMQ `consumerOffset.json` document, imported as is.
    #[serde(default)]
    pub rocketmq_json: Option<String>,
    /// Re-apply each record by its store time instead of its offset (cross-cluster moves).
    #[serde(default)]
    pub by_time: bool,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    /// `None` = every group.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// Start after this key (the `next` of the previous page).
    #[serde(default)]
    pub after: Option<ferromq_offsets::QueueKey>,
    /// Most records in this page (at most [`MAX_EXPORT_PAGE`], the default).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Most records one export page holds: about 10 MiB of JSON, under the 16 MiB frame limit.
pub const MAX_EXPORT_PAGE: usize = 100_000;

/// One page of an export; `next` is where the following page starts, `None` at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportPage {
    pub records: Vec<OffsetRecord>,
    pub next: Option<ferromq_offsets::QueueKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRequest {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// Only changes with a smaller id (the `nextBefore` of the previous page).
    #[serde(default)]
    pub before: Option<u64>,
}

/// Most change entries (queues) one history page holds, so a page stays under the frame limit.
pub const MAX_HISTORY_PAGE_ENTRIES: usize = 100_000;

fn default_limit() -> usize {
    100
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UndoRequest {
    pub change_id: u64,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryResult {
    pub changes: Vec<Change>,
    /// Pass as `before` for the next page; absent when this page holds the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}
