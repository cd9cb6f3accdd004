//! Requests and results of ferromq's consumer-progress codes 9000–9009 (JSON bodies, see
//! `docs/protocol.md`). The broker serves them and the admin sends them with these same types,
//! so a field renamed on one side is a compile error on the other.

use serde::{Deserialize, Serialize};

use super::offset_change::{Change, Intent, IntentSpec, MovedQueue, QueueKey};

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
    /// Apply exactly this plan (see [`ExpectedQueue`]); `None` applies what the broker plans now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Vec<ExpectedQueue>>,
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
    /// POP deliveries handed out and not acked yet (5.x consumers), above `committed`.
    #[serde(default)]
    pub in_flight: i64,
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
    /// Apply exactly this plan (see [`ExpectedQueue`]); `None` applies what the broker plans now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Vec<ExpectedQueue>>,
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
    /// Apply exactly this plan (see [`ExpectedQueue`]); `None` applies what the broker plans now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Vec<ExpectedQueue>>,
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
    /// Apply exactly this plan (see [`ExpectedQueue`]); `None` applies what the broker plans now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Vec<ExpectedQueue>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    /// `None` = every group.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// Start after this key (the `next` of the previous page).
    #[serde(default)]
    pub after: Option<QueueKey>,
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
    pub next: Option<QueueKey>,
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
    /// Apply exactly this plan (see [`ExpectedQueue`]); `None` applies what the broker plans now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Vec<ExpectedQueue>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryResult {
    pub changes: Vec<Change>,
    /// Pass as `before` for the next page; absent when this page holds the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

/// One queue of a plan an operator approved: where it was (`current`) and where the plan moves
/// it (`target`; `None` deletes the offset). A mutating request that carries its plan's queues
/// is applied only if the broker plans exactly these queues and each still holds `current`,
/// atomically with the change; the targets applied are these, not re-computed ones. Otherwise
/// the broker answers [`PLAN_MOVED`](crate::codes::response::PLAN_MOVED) with a [`PlanMoved`]
/// body and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedQueue {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
    pub current: Option<i64>,
    pub target: Option<i64>,
}

impl From<&PlannedQueue> for ExpectedQueue {
    fn from(q: &PlannedQueue) -> Self {
        ExpectedQueue {
            group: q.group.clone(),
            topic: q.topic.clone(),
            queue_id: q.queue_id,
            current: q.current,
            target: q.target,
        }
    }
}

/// Why a plan could not be applied as shown: queues that moved since it was made (`expected` is
/// the plan's `current`, `actual` the offset now), queues the plan names that the broker would
/// not change now (`unplanned`, e.g. a deleted queue or a hand-edited row) and queues the broker
/// would change that the plan does not name (`missing`, e.g. a queue added since).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanMoved {
    #[serde(default)]
    pub moved: Vec<MovedQueue>,
    #[serde(default)]
    pub unplanned: Vec<QueueKey>,
    #[serde(default)]
    pub missing: Vec<QueueKey>,
}

/// FERRO_INTENTS (9005) result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentsResult {
    pub intents: Vec<Intent>,
}

/// FERRO_CAPABILITIES (9000) result: who answers, and which ferromq codes it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    pub server: String,
    pub version: String,
    pub codes: Vec<i32>,
}

/// A request that changes offsets, planned first (dry run) and then applied: what the admin
/// sends, and what a saved plan file keeps so that the same change can be applied later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", content = "request", rename_all = "camelCase")]
pub enum ChangeRequest {
    Reset(ResetRequest),
    Clone(CloneRequest),
    Delete(DeleteRequest),
    Import(ImportRequest),
    Undo(UndoRequest),
}

impl ChangeRequest {
    /// The request code that carries it.
    pub fn code(&self) -> i32 {
        use crate::codes::request as rq;
        match self {
            ChangeRequest::Reset(_) => rq::FERRO_RESET_OFFSETS,
            ChangeRequest::Clone(_) => rq::FERRO_CLONE_OFFSETS,
            ChangeRequest::Delete(_) => rq::FERRO_DELETE_OFFSETS,
            ChangeRequest::Import(_) => rq::FERRO_IMPORT_OFFSETS,
            ChangeRequest::Undo(_) => rq::FERRO_UNDO,
        }
    }

    /// The JSON body of the request code.
    pub fn body(&self) -> Vec<u8> {
        match self {
            ChangeRequest::Reset(r) => crate::body::to_vec(r),
            ChangeRequest::Clone(r) => crate::body::to_vec(r),
            ChangeRequest::Delete(r) => crate::body::to_vec(r),
            ChangeRequest::Import(r) => crate::body::to_vec(r),
            ChangeRequest::Undo(r) => crate::body::to_vec(r),
        }
    }

    /// The same request as a dry run (`true`) or for real, applying exactly `expect` when given.
    pub fn planned(&self, dry_run: bool, expect: Option<Vec<ExpectedQueue>>) -> ChangeRequest {
        let mut c = self.clone();
        match &mut c {
            ChangeRequest::Reset(r) => (r.dry_run, r.expect) = (dry_run, expect),
            ChangeRequest::Clone(r) => (r.dry_run, r.expect) = (dry_run, expect),
            ChangeRequest::Delete(r) => (r.dry_run, r.expect) = (dry_run, expect),
            ChangeRequest::Import(r) => (r.dry_run, r.expect) = (dry_run, expect),
            ChangeRequest::Undo(r) => (r.dry_run, r.expect) = (dry_run, expect),
        }
        c
    }
}
