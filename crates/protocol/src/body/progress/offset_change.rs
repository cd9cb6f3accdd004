//! The offset-table vocabulary shared by the broker's store, its ferromq request codes and the
//! tools: a queue's key, intents, and the recorded changes of the history. Their JSON is the
//! wire contract of codes 9000–9011 (and the offset log stores changes in the same JSON).

use serde::{Deserialize, Serialize};

/// Identifies one consumer-progress entry: a consumer group's position in one queue of a topic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueKey {
    pub group: String,
    pub topic: String,
    #[serde(alias = "queue_id")]
    pub queue_id: i32,
}

impl QueueKey {
    /// Convenience constructor.
    pub fn new(group: impl Into<String>, topic: impl Into<String>, queue_id: i32) -> Self {
        QueueKey {
            group: group.into(),
            topic: topic.into(),
            queue_id,
        }
    }
}

/// Where a consumer group should start in a queue that has no offset yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum IntentSpec {
    /// The queue's minimum offset.
    Earliest,
    /// The queue's maximum offset.
    Latest,
    /// The first message stored at or after this time (ms since the Unix epoch).
    Timestamp(i64),
    /// An explicit offset.
    Offset(i64),
}

/// A pending offset decision for queues (or a whole topic) that the broker resolves when the
/// group first asks for such a queue.
// camelCase like every other JSON ferromq emits; the aliases read records written before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    pub group: String,
    pub topic: String,
    /// `None` = every queue of the topic.
    #[serde(alias = "queue_id")]
    pub queue_id: Option<i32>,
    pub spec: IntentSpec,
    #[serde(alias = "created_ms")]
    pub created_ms: i64,
}

/// Identity of an intent: `(group, topic, queue_id)`.
pub type IntentKey = (String, String, Option<i32>);

impl Intent {
    /// The `(group, topic, queue_id)` identifying this intent.
    pub fn key(&self) -> IntentKey {
        (self.group.clone(), self.topic.clone(), self.queue_id)
    }
}

/// One queue's offset before and after a change. `None` = no offset stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEntry {
    pub key: QueueKey,
    pub before: Option<i64>,
    /// `None` = the offset was deleted (or stayed absent).
    pub after: Option<i64>,
}

/// An applied, recorded mutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Assigned by the store: strictly increasing, never reused (survives restart and compaction).
    pub id: u64,
    #[serde(alias = "time_ms")]
    pub time_ms: i64,
    /// Who asked, e.g. the client address `"127.0.0.1:5123"`.
    pub actor: String,
    /// `"reset"`, `"clone"`, `"import"`, `"delete"`, `"sync"`, `"undo"`, `"intent"`, …
    pub operation: String,
    /// Human-readable scope, e.g. `"group=g topics=T:0,1"`.
    pub scope: String,
    /// Every key of the draft's `set`, sorted by key, with its value before and after.
    pub entries: Vec<ChangeEntry>,
    /// Intents stored by this change, sorted by key.
    #[serde(alias = "intents_set")]
    pub intents_set: Vec<Intent>,
    /// Intents that existed before and were removed *or replaced* by this change, sorted by key.
    #[serde(alias = "intents_cleared")]
    pub intents_cleared: Vec<Intent>,
    /// The change this one undoes.
    #[serde(alias = "undo_of")]
    pub undo_of: Option<u64>,
}

impl Change {
    /// Whether the change touches `group` (an offset entry or an intent).
    pub fn touches_group(&self, group: &str) -> bool {
        self.entries.iter().any(|e| e.key.group == group)
            || self.intents_set.iter().any(|i| i.group == group)
            || self.intents_cleared.iter().any(|i| i.group == group)
    }
}

/// A queue whose offset is not what a change expected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MovedQueue {
    pub key: QueueKey,
    pub expected: Option<i64>,
    pub actual: Option<i64>,
}
