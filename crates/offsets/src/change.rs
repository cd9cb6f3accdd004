//! Offset intents and the atomic change history (audit log used for undo).
//!
//! An operator mutation (reset, clone, import, delete, undo, …) is applied by
//! [`OffsetStore::apply_change`](crate::OffsetStore::apply_change) as ONE log record that carries
//! the new offset values, the intents it sets and clears, and its history entry. See
//! `docs/offsets.md` for the record format and the guarantees.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::key::QueueKey;

pub use ferromq_protocol::body::progress::{
    Change, ChangeEntry, Intent, IntentKey, IntentSpec, MovedQueue,
};

/// Undo for a recorded [`Change`] (the type lives in the protocol crate; drafts are this
/// store's).
pub trait ChangeUndo {
    /// A draft that restores this change's before-state: every entry back to `before`, intents
    /// it set removed, intents it cleared or replaced restored. Apply it with
    /// [`OffsetStore::apply_change`](crate::OffsetStore::apply_change).
    fn undo_draft(&self, actor: impl Into<String>) -> ChangeDraft;
}

impl ChangeUndo for Change {
    fn undo_draft(&self, actor: impl Into<String>) -> ChangeDraft {
        ChangeDraft {
            actor: actor.into(),
            operation: "undo".into(),
            scope: format!("undo of change {} ({})", self.id, self.scope),
            set: self
                .entries
                .iter()
                .map(|e| (e.key.clone(), e.before))
                .collect(),
            set_intents: self.intents_cleared.clone(),
            clear_intents: self.intents_set.iter().map(Intent::key).collect(),
            undo_of: Some(self.id),
            expect: Vec::new(),
        }
    }
}

/// A change to apply. Intents are cleared first, then set; so a key both cleared and set ends up
/// set. Duplicate keys: the last one wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeDraft {
    pub actor: String,
    pub operation: String,
    pub scope: String,
    /// New values; `None` deletes the entry.
    pub set: Vec<(QueueKey, Option<i64>)>,
    /// Replaces an intent with the same `(group, topic, queue_id)`.
    pub set_intents: Vec<Intent>,
    /// `(group, topic, queue_id)`, exact match.
    pub clear_intents: Vec<IntentKey>,
    pub undo_of: Option<u64>,
    /// The value each of these keys must hold when the change is applied (`None`: no offset);
    /// checked under the log lock, in the same step as the change, so that a change applies
    /// exactly the plan an operator saw. Any mismatch refuses the whole change with
    /// [`OffsetError::Moved`](crate::OffsetError::Moved) naming every queue that moved.
    pub expect: Vec<(QueueKey, Option<i64>)>,
}

/// Draft normalised for application: sorted and de-duplicated.
pub(crate) struct NormalDraft {
    pub set: Vec<(QueueKey, Option<i64>)>,
    pub set_intents: Vec<Intent>,
    pub clear: BTreeSet<IntentKey>,
}

impl NormalDraft {
    pub(crate) fn new(d: &mut ChangeDraft) -> Self {
        let mut set = std::mem::take(&mut d.set);
        set.sort_by(|a, b| a.0.cmp(&b.0)); // stable: batch order among equal keys
        let mut sorted: Vec<(QueueKey, Option<i64>)> = Vec::with_capacity(set.len());
        for e in set {
            match sorted.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => sorted.push(e),
            }
        }
        let mut intents: BTreeMap<IntentKey, Intent> = BTreeMap::new();
        for i in std::mem::take(&mut d.set_intents) {
            intents.insert(i.key(), i);
        }
        NormalDraft {
            set: sorted,
            set_intents: intents.into_values().collect(),
            clear: std::mem::take(&mut d.clear_intents).into_iter().collect(),
        }
    }
}

/// Intents, history and the change-id counter (part of the in-memory table).
#[derive(Debug)]
pub(crate) struct Changes {
    pub intents: BTreeMap<IntentKey, Intent>,
    /// Oldest first; ids strictly increasing.
    pub history: VecDeque<Arc<Change>>,
    /// Id the next change gets; above every id ever applied.
    pub next_id: u64,
    /// Most changes kept in `history`.
    pub limit: usize,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            intents: BTreeMap::new(),
            history: VecDeque::new(),
            next_id: 1,
            limit: crate::config::DEFAULT_HISTORY_LIMIT,
        }
    }
}

impl Changes {
    /// Applies a change's intents and records it in the history. A change whose id is below
    /// `next_id` is already in the history (or was trimmed from it): replaying it after a
    /// snapshot that already holds it re-applies its (idempotent) intents only.
    pub(crate) fn apply(&mut self, c: Arc<Change>) {
        for i in &c.intents_cleared {
            self.intents.remove(&i.key());
        }
        for i in &c.intents_set {
            self.intents.insert(i.key(), i.clone());
        }
        if c.id >= self.next_id {
            // Decoders refuse u64::MAX; saturate rather than wrap to 0 should one get here.
            self.next_id = c.id.saturating_add(1);
            self.history.push_back(c);
            self.trim();
        }
    }

    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
        self.trim();
    }

    fn trim(&mut self) {
        while self.history.len() > self.limit {
            self.history.pop_front();
        }
    }

    /// Removes the intents matching `f`; returns how many.
    pub(crate) fn drop_intents(&mut self, f: impl Fn(&IntentKey) -> bool) -> usize {
        let n = self.intents.len();
        self.intents.retain(|k, _| !f(k));
        n - self.intents.len()
    }

    pub(crate) fn any_intent(&self, f: impl Fn(&IntentKey) -> bool) -> bool {
        self.intents.keys().any(f)
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Arc<Change>> {
        self.history
            .binary_search_by_key(&id, |c| c.id)
            .ok()
            .map(|i| &self.history[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_spec_json_shape() {
        let s = serde_json::to_string(&IntentSpec::Timestamp(5)).unwrap();
        assert_eq!(s, r#"{"kind":"timestamp","value":5}"#);
        let s = serde_json::to_string(&IntentSpec::Earliest).unwrap();
        assert_eq!(s, r#"{"kind":"earliest"}"#);
        let back: IntentSpec = serde_json::from_str(r#"{"kind":"offset","value":-3}"#).unwrap();
        assert_eq!(back, IntentSpec::Offset(-3));
    }

    #[test]
    fn normalise_keeps_last_duplicate() {
        let k = |q| QueueKey::new("g", "t", q);
        let mut d = ChangeDraft {
            set: vec![(k(2), Some(1)), (k(1), Some(2)), (k(2), None)],
            ..ChangeDraft::default()
        };
        let n = NormalDraft::new(&mut d);
        assert_eq!(n.set, vec![(k(1), Some(2)), (k(2), None)]);
    }
}

#[cfg(test)]
mod naming_tests {
    use super::*;

    #[test]
    fn camel_case_out_and_snake_case_records_still_load() {
        let old = r#"{"id":3,"time_ms":17,"actor":"a","operation":"reset","scope":"s",
            "entries":[{"key":{"group":"g","topic":"t","queue_id":2},"before":null,"after":5}],
            "intents_set":[{"group":"g","topic":"t","queue_id":null,"spec":{"kind":"earliest"},"created_ms":1}],
            "intents_cleared":[],"undo_of":null}"#;
        let c: Change = serde_json::from_str(old).unwrap();
        assert_eq!(
            (
                c.time_ms,
                c.entries[0].key.queue_id,
                c.intents_set[0].created_ms
            ),
            (17, 2, 1)
        );
        let text = serde_json::to_string(&c).unwrap();
        assert!(
            text.contains("\"timeMs\":17")
                && text.contains("\"queueId\":2")
                && text.contains("\"undoOf\":null"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Change>(&text).unwrap(), c);
    }
}
