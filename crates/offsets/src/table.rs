//! The in-memory offset table.
//!
//! `group → topic → queues` with a `topic → groups` index. Group and topic names are stored once
//! as `Arc<str>` (the map keys themselves act as the interner), and the queues of one
//! `(group, topic)` are a small sorted vector rather than a tree, which keeps 10^6 entries far
//! below 200 MiB.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::change::{Change, Changes};
use crate::key::QueueKey;

/// Queue offsets of one `(group, topic)`, sorted by queue id.
#[derive(Default, Debug)]
pub(crate) struct Queues(Vec<(i32, i64)>);

impl Queues {
    fn get(&self, q: i32) -> Option<i64> {
        self.0
            .binary_search_by_key(&q, |p| p.0)
            .ok()
            .map(|i| self.0[i].1)
    }
    /// Sets a queue's offset; returns true when the queue is new.
    fn set(&mut self, q: i32, off: i64) -> bool {
        match self.0.binary_search_by_key(&q, |p| p.0) {
            Ok(i) => {
                self.0[i].1 = off;
                false
            }
            Err(i) => {
                self.0.insert(i, (q, off));
                true
            }
        }
    }
    /// Removes a queue; returns true when it existed.
    fn remove(&mut self, q: i32) -> bool {
        match self.0.binary_search_by_key(&q, |p| p.0) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }
    pub(crate) fn as_slice(&self) -> &[(i32, i64)] {
        &self.0
    }
}

#[derive(Default, Debug)]
pub(crate) struct Table {
    groups: HashMap<Arc<str>, HashMap<Arc<str>, Queues>>,
    topics: HashMap<Arc<str>, HashSet<Arc<str>>>,
    entries: usize,
    /// Number of state-changing batches applied since the store was created.
    pub counter: u64,
    /// Time of the latest change (ms since the Unix epoch).
    pub timestamp_ms: u64,
    /// Offset intents, change history and the change-id counter.
    pub changes: Changes,
}

impl Table {
    /// Sets offsets for queues of one `(group, topic)`.
    pub(crate) fn set_section(
        &mut self,
        group: &str,
        topic: &str,
        pairs: impl IntoIterator<Item = (i32, i64)>,
    ) {
        let gk: Arc<str> = match self.groups.get_key_value(group) {
            Some((k, _)) => k.clone(),
            None => Arc::from(group),
        };
        let tmap = self.groups.entry(gk.clone()).or_default();
        if !tmap.contains_key(topic) {
            let tk: Arc<str> = match self.topics.get_key_value(topic) {
                Some((k, _)) => k.clone(),
                None => Arc::from(topic),
            };
            self.topics.entry(tk.clone()).or_default().insert(gk);
            tmap.insert(tk, Queues::default());
        }
        let mut added = 0;
        if let Some(queues) = tmap.get_mut(topic) {
            for (q, off) in pairs {
                if queues.set(q, off) {
                    added += 1;
                }
            }
        }
        self.entries += added;
    }

    /// Removes one queue's offset (and the `(group, topic)` / group when it becomes empty).
    /// Returns true when it existed.
    pub(crate) fn remove(&mut self, group: &str, topic: &str, q: i32) -> bool {
        let Some(tmap) = self.groups.get_mut(group) else {
            return false;
        };
        let Some(queues) = tmap.get_mut(topic) else {
            return false;
        };
        if !queues.remove(q) {
            return false;
        }
        self.entries -= 1;
        if queues.0.is_empty() {
            tmap.remove(topic);
            if tmap.is_empty() {
                self.groups.remove(group);
            }
            self.unindex(topic, group);
        }
        true
    }

    /// Applies a change record: its offset values, its intents, and its history entry.
    pub(crate) fn apply_change(&mut self, c: Arc<Change>) {
        for e in &c.entries {
            let k = &e.key;
            match e.after {
                Some(off) => self.set_section(&k.group, &k.topic, [(k.queue_id, off)]),
                None => {
                    self.remove(&k.group, &k.topic, k.queue_id);
                }
            }
        }
        self.changes.apply(c);
    }

    pub(crate) fn get(&self, group: &str, topic: &str, q: i32) -> Option<i64> {
        self.groups.get(group)?.get(topic)?.get(q)
    }

    pub(crate) fn group_topic(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.groups
            .get(group)
            .and_then(|m| m.get(topic))
            .map(|q| q.0.iter().copied().collect())
            .unwrap_or_default()
    }

    pub(crate) fn topics_of_group(&self, group: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .groups
            .get(group)
            .map(|m| m.keys().map(|t| t.to_string()).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    pub(crate) fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .topics
            .get(topic)
            .map(|s| s.iter().map(|g| g.to_string()).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    pub(crate) fn groups(&self) -> Vec<String> {
        let mut v: Vec<String> = self.groups.keys().map(|g| g.to_string()).collect();
        v.sort_unstable();
        v
    }

    pub(crate) fn group_keys(&self) -> Vec<Arc<str>> {
        self.groups.keys().cloned().collect()
    }

    pub(crate) fn entry_count(&self) -> usize {
        self.entries
    }

    /// Visits every `(group, topic, queues)` of one group.
    pub(crate) fn for_each_of_group<'a>(
        &'a self,
        group: &str,
        mut f: impl FnMut(&'a str, &'a [(i32, i64)]),
    ) {
        if let Some(m) = self.groups.get(group) {
            for (t, q) in m {
                f(t, q.as_slice());
            }
        }
    }

    /// Visits every `(group, topic, queues)`.
    pub(crate) fn for_each<'a>(&'a self, mut f: impl FnMut(&'a str, &'a str, &'a [(i32, i64)])) {
        for (g, m) in &self.groups {
            for (t, q) in m {
                f(g, t, q.as_slice());
            }
        }
    }

    /// Up to `limit` entries after `after` in key order that `keep` accepts, and whether more
    /// follow. Sorts group and topic names, never the whole table: a page costs the names plus
    /// what it returns.
    pub(crate) fn page(
        &self,
        after: Option<&QueueKey>,
        limit: usize,
        keep: impl Fn(&QueueKey) -> bool,
    ) -> (Vec<(QueueKey, i64)>, bool) {
        let mut groups: Vec<&Arc<str>> = self
            .groups
            .keys()
            .filter(|g| after.is_none_or(|a| &***g >= a.group.as_str()))
            .collect();
        groups.sort_unstable();
        let mut out = Vec::new();
        for g in groups {
            let topics_map = &self.groups[g];
            let mut topics: Vec<&Arc<str>> = topics_map
                .keys()
                .filter(|t| {
                    after.is_none_or(|a| &**g != a.group.as_str() || &***t >= a.topic.as_str())
                })
                .collect();
            topics.sort_unstable();
            for t in topics {
                for &(q, off) in topics_map[t].as_slice() {
                    let key = QueueKey::new(&**g, &**t, q);
                    if after.is_some_and(|a| key <= *a) || !keep(&key) {
                        continue;
                    }
                    if out.len() == limit {
                        return (out, true);
                    }
                    out.push((key, off));
                }
            }
        }
        (out, false)
    }

    pub(crate) fn all(&self) -> Vec<(QueueKey, i64)> {
        let mut v = Vec::with_capacity(self.entries);
        self.for_each(|g, t, qs| {
            for &(q, off) in qs {
                v.push((QueueKey::new(g, t, q), off));
            }
        });
        v.sort_unstable();
        v
    }

    /// Entries a `delete_group` would remove.
    pub(crate) fn count_group(&self, group: &str) -> usize {
        self.groups
            .get(group)
            .map(|m| m.values().map(|q| q.0.len()).sum())
            .unwrap_or(0)
    }

    pub(crate) fn count_topic(&self, topic: &str) -> usize {
        self.topics
            .get(topic)
            .map(|gs| {
                gs.iter()
                    .filter_map(|g| self.groups.get(g).and_then(|m| m.get(topic)))
                    .map(|q| q.0.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    pub(crate) fn count_group_topic(&self, group: &str, topic: &str) -> usize {
        self.groups
            .get(group)
            .and_then(|m| m.get(topic))
            .map(|q| q.0.len())
            .unwrap_or(0)
    }

    pub(crate) fn delete_group(&mut self, group: &str) -> usize {
        self.changes.drop_intents(|k| k.0 == group);
        let Some(tmap) = self.groups.remove(group) else {
            return 0;
        };
        let mut n = 0;
        for (t, q) in tmap {
            n += q.0.len();
            self.unindex(&t, group);
        }
        self.entries -= n;
        n
    }

    pub(crate) fn delete_topic(&mut self, topic: &str) -> usize {
        self.changes.drop_intents(|k| k.1 == topic);
        let Some(gs) = self.topics.remove(topic) else {
            return 0;
        };
        let mut n = 0;
        for g in gs {
            if let Some(tmap) = self.groups.get_mut(&g) {
                if let Some(q) = tmap.remove(topic) {
                    n += q.0.len();
                }
                if tmap.is_empty() {
                    self.groups.remove(&g);
                }
            }
        }
        self.entries -= n;
        n
    }

    pub(crate) fn delete_group_topic(&mut self, group: &str, topic: &str) -> usize {
        self.changes.drop_intents(|k| k.0 == group && k.1 == topic);
        let Some(tmap) = self.groups.get_mut(group) else {
            return 0;
        };
        let Some(q) = tmap.remove(topic) else {
            return 0;
        };
        if tmap.is_empty() {
            self.groups.remove(group);
        }
        self.unindex(topic, group);
        self.entries -= q.0.len();
        q.0.len()
    }

    fn unindex(&mut self, topic: &str, group: &str) {
        if let Some(gs) = self.topics.get_mut(topic) {
            gs.remove(group);
            if gs.is_empty() {
                self.topics.remove(topic);
            }
        }
    }
}
