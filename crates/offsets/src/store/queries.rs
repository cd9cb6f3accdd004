//! Read-only queries of [`OffsetStore`]: offsets, intents, history and pages of the table.
//! Each takes the table's shared lock briefly and returns owned data.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::OffsetStore;
use crate::change::{Change, Intent};
use crate::key::QueueKey;

impl OffsetStore {
    /// Recorded changes, newest first, at most `limit`; with a group, only the changes touching
    /// it (an offset entry or an intent).
    pub fn history(&self, group: Option<&str>, limit: usize) -> Vec<Change> {
        let picked: Vec<Arc<Change>> = {
            let t = self.inner.table.read();
            t.changes
                .history
                .iter()
                .rev()
                .filter(|c| group.is_none_or(|g| c.touches_group(g)))
                .take(limit)
                .cloned()
                .collect()
        };
        picked.into_iter().map(|c| (*c).clone()).collect()
    }

    /// Newest-first changes with an id below `before` (all when `None`), at most `limit` of
    /// them and at most `max_entries` entries in all (but always at least one change), and the
    /// id to pass as `before` for the next page when more follow.
    pub fn history_page(
        &self,
        group: Option<&str>,
        before: Option<u64>,
        limit: usize,
        max_entries: usize,
    ) -> (Vec<Change>, Option<u64>) {
        let mut entries = 0usize;
        let mut more = false;
        let picked: Vec<Arc<Change>> = {
            let t = self.inner.table.read();
            let mut picked = Vec::new();
            for c in t.changes.history.iter().rev() {
                if before.is_some_and(|b| c.id >= b) || group.is_some_and(|g| !c.touches_group(g)) {
                    continue;
                }
                if picked.len() == limit
                    || (!picked.is_empty() && entries + c.entries.len() > max_entries)
                {
                    more = true;
                    break;
                }
                entries += c.entries.len();
                picked.push(c.clone());
            }
            picked
        };
        let next = more.then(|| picked.last().map(|c| c.id)).flatten();
        (picked.into_iter().map(|c| (*c).clone()).collect(), next)
    }

    /// One recorded change by id (`None` if unknown or trimmed by `history_limit`).
    pub fn change(&self, id: u64) -> Option<Change> {
        let c = self.inner.table.read().changes.get(id).cloned();
        c.map(|c| (*c).clone())
    }

    /// The id the next change will get (every recorded id is below it).
    pub fn next_change_id(&self) -> u64 {
        self.inner.table.read().changes.next_id
    }

    /// Stored intents (all, or of one group), sorted by `(group, topic, queue_id)`.
    pub fn intents(&self, group: Option<&str>) -> Vec<Intent> {
        let t = self.inner.table.read();
        match group {
            None => t.changes.intents.values().cloned().collect(),
            Some(g) => t
                .changes
                .intents
                .values()
                .filter(|i| i.group == g)
                .cloned()
                .collect(),
        }
    }

    /// The intent that applies to this queue: an exact `(group, topic, Some(queue))` match
    /// first, else `(group, topic, None)`.
    pub fn intent_for(&self, group: &str, topic: &str, queue_id: i32) -> Option<Intent> {
        let t = self.inner.table.read();
        let i = &t.changes.intents;
        let (g, tp) = (group.to_string(), topic.to_string());
        i.get(&(g.clone(), tp.clone(), Some(queue_id)))
            .or_else(|| i.get(&(g, tp, None)))
            .cloned()
    }

    /// The committed offset of one queue.
    pub fn get(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.inner.table.read().get(group, topic, queue_id)
    }

    /// All queue offsets of `(group, topic)`; empty if none.
    pub fn group_topic(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.inner.table.read().group_topic(group, topic)
    }

    /// Topics with offsets for `group`, sorted.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        self.inner.table.read().topics_of_group(group)
    }

    /// Groups with offsets on `topic`, sorted.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        self.inner.table.read().groups_of_topic(topic)
    }

    /// Every group with at least one offset, sorted.
    pub fn groups(&self) -> Vec<String> {
        self.inner.table.read().groups()
    }

    /// Number of `(group, topic, queue)` entries.
    pub fn entry_count(&self) -> usize {
        self.inner.table.read().entry_count()
    }

    /// Every entry, sorted by key.
    pub fn all(&self) -> Vec<(QueueKey, i64)> {
        self.inner.table.read().all()
    }

    /// Up to `limit` entries after `after` in key order, keeping those `keep` accepts, and
    /// whether more follow: one page of a table too large for one response.
    pub fn page(
        &self,
        after: Option<&QueueKey>,
        limit: usize,
        keep: impl Fn(&QueueKey) -> bool,
    ) -> (Vec<(QueueKey, i64)>, bool) {
        self.inner.table.read().page(after, limit, keep)
    }

    /// Data version: `(counter, timestamp_ms)`; the counter grows by one per change batch.
    pub fn data_version(&self) -> (u64, u64) {
        let t = self.inner.table.read();
        (t.counter, t.timestamp_ms)
    }

    /// The upstream `consumerOffset.json` document (see [`crate::rocketmq`]).
    pub fn to_rocketmq_json(&self) -> String {
        crate::rocketmq::to_json(&self.inner.table.read())
    }
}
