//! The message index: commit-log offsets of messages by key (each space-separated word of the
//! `KEYS` property) and by unique key (`UNIQ_KEY`), per topic, with store times so lookups can be
//! limited to a time range. It serves QUERY_MESSAGE (mqadmin `queryMsgByKey`,
//! `queryMsgByUniqueKey`, the Java client's `viewMessage` by client id).
//!
//! **Choice: in memory, bounded, rebuilt from the commit log.** Upstream keeps 400 MB index
//! files on disk; ferromq keeps the newest [`crate::StoreConfig::index_max_entries`] entries in
//! memory and evicts the oldest beyond that (and those whose record retention deleted). The
//! cost: at most about 70 bytes per entry (32 in the entry ring, up to about 36 in the table of
//! chain heads with its growth slack when every key is distinct, as unique keys are; 1 000 000
//! entries ≈ 70 MiB), keys older than the newest N entries cannot be found,
//! and every open re-reads the commit log from its first segment to rebuild the index (in the
//! background: a query during the rebuild sees what is indexed so far, and its response header
//! `indexLastUpdatePhyoffset` says how far that is). The commit log is the truth; the index is
//! a cache of it, like the consume queues, so a crash can never leave it disagreeing with the log.
//!
//! Layout: a ring of entries in commit-log order, each with a global sequence number; a hash
//! table from `hash(topic, key)` to the newest entry's sequence number; each entry links to the
//! previous entry with the same hash (upstream's index files chain their slots the same way).
//! Evicting the oldest entry is a pop from the front; chains simply end at sequence numbers
//! below the front. Lookups compare hashes only; the caller reads each candidate record and
//! checks its topic and key, so a hash collision costs a read, never a wrong answer.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use crate::record::properties_of;

/// `prev` of the first entry of a chain.
const NO_PREV: u64 = u64::MAX;

/// Most chain links one lookup follows: a key shared by very many messages, searched for with
/// a narrow time range, must not hold the index lock for long.
pub(crate) const MAX_CHAIN_WALK: usize = 100_000;

/// Transaction type bits of the system flag; rollback messages are never indexed (upstream
/// leaves them out too: they were never delivered).
const TRANSACTION_MASK: i32 = 0xC;
const TRANSACTION_ROLLBACK: i32 = 0xC;

#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: u64,
    /// Sequence number of the previous entry with the same hash, or [`NO_PREV`].
    prev: u64,
    phys: i64,
    store_time: i64,
}

/// The chain-head table's keys are already hashes, from a randomly keyed SipHash: hashing them
/// again would double the cost of indexing a key for nothing (and cannot be steered by
/// producers, who do not know the keys).
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the keys are `u64`); fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Which property a lookup matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// One of the space-separated words of `KEYS`.
    Key,
    /// `UNIQ_KEY`, the client-generated message id.
    Unique,
}

/// The in-memory index (see the module documentation). Not synchronised: the store keeps it
/// behind its own mutex, which the send path never takes.
pub(crate) struct MessageIndex {
    cap: usize,
    hasher: RandomState,
    /// Sequence number of `entries[0]`.
    base: u64,
    entries: VecDeque<Entry>,
    heads: HashMap<u64, u64, BuildHasherDefault<PreHashed>>,
    /// Every record below this commit-log offset has been indexed (or skipped).
    pub indexed_to: i64,
    /// Store time of the last record indexed; 0 before the first.
    pub last_store_time: i64,
}

impl MessageIndex {
    /// An empty index keeping at most `cap` entries, starting at commit-log offset `from`.
    pub fn new(cap: usize, from: i64) -> Self {
        MessageIndex {
            cap,
            // Random keys per process: the hash table cannot be flooded with keys chosen to
            // collide, whatever producers send.
            hasher: RandomState::new(),
            base: 0,
            entries: VecDeque::new(),
            heads: HashMap::default(),
            indexed_to: from,
            last_store_time: 0,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn hash(&self, topic: &[u8], key: &[u8]) -> u64 {
        self.hasher.hash_one((topic, key))
    }

    /// Indexes one record's keys. `properties` is the record's raw properties string.
    pub fn add_record(
        &mut self,
        topic: &[u8],
        properties: &[u8],
        flags: i32,
        phys: i64,
        store_time: i64,
    ) {
        self.last_store_time = store_time;
        if flags & TRANSACTION_MASK == TRANSACTION_ROLLBACK || self.cap == 0 {
            return;
        }
        for (name, value) in properties_of(properties) {
            match name {
                b"KEYS" => {
                    for k in value.split(|&b| b == b' ').filter(|k| !k.is_empty()) {
                        self.insert(self.hash(topic, k), phys, store_time);
                    }
                }
                b"UNIQ_KEY" if !value.is_empty() => {
                    self.insert(self.hash(topic, value), phys, store_time);
                }
                _ => {}
            }
        }
    }

    fn insert(&mut self, hash: u64, phys: i64, store_time: i64) {
        let seq = self.base + self.entries.len() as u64;
        let prev = self.heads.insert(hash, seq).unwrap_or(NO_PREV);
        self.entries.push_back(Entry {
            hash,
            prev,
            phys,
            store_time,
        });
        while self.entries.len() > self.cap {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        let Some(e) = self.entries.pop_front() else {
            return;
        };
        let seq = self.base;
        self.base += 1;
        // Only the chain's newest entry is in `heads`; an older one just falls off the end of
        // its chain (links below `base` are never followed).
        if self.heads.get(&e.hash) == Some(&seq) {
            self.heads.remove(&e.hash);
        }
    }

    /// Forgets entries whose record lies below `log_min` (deleted by retention).
    pub fn evict_below(&mut self, log_min: i64) {
        while self.entries.front().is_some_and(|e| e.phys < log_min) {
            self.pop_front();
        }
    }

    /// Commit-log offsets of entries for `(topic, key)` stored within `[begin, end]`
    /// (inclusive, ms), newest first, at most `max`. Follows at most [`MAX_CHAIN_WALK`] links.
    pub fn lookup(&self, topic: &str, key: &str, begin: i64, end: i64, max: usize) -> Vec<i64> {
        let mut out = Vec::new();
        if self.cap == 0 || max == 0 || begin > end {
            return out;
        }
        let hash = self.hash(topic.as_bytes(), key.as_bytes());
        let mut seq = self.heads.get(&hash).copied().unwrap_or(NO_PREV);
        let mut walked = 0;
        while seq != NO_PREV && seq >= self.base && walked < MAX_CHAIN_WALK {
            let Some(e) = self.entries.get((seq - self.base) as usize) else {
                break;
            };
            walked += 1;
            // One record may index the same key twice (in KEYS and as UNIQ_KEY): once is enough.
            if e.hash == hash
                && (begin..=end).contains(&e.store_time)
                && out.last() != Some(&e.phys)
            {
                out.push(e.phys);
                if out.len() >= max {
                    break;
                }
            }
            seq = e.prev;
        }
        out
    }
}

/// Whether a stored record's properties carry `key` as `kind`.
pub(crate) fn record_has_key(properties: &[u8], key: &str, kind: KeyKind) -> bool {
    let key = key.as_bytes();
    properties_of(properties).any(|(name, value)| match (kind, name) {
        (KeyKind::Unique, b"UNIQ_KEY") => value == key,
        (KeyKind::Key, b"KEYS") => value.split(|&b| b == b' ').any(|k| k == key),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(keys: &str, uniq: &str) -> Vec<u8> {
        format!("KEYS\x01{keys}\x02UNIQ_KEY\x01{uniq}\x02TAGS\x01t\x02").into_bytes()
    }

    #[test]
    fn finds_by_each_key_and_unique_key_per_topic() {
        let mut ix = MessageIndex::new(100, 0);
        ix.add_record(b"T", &props("a b", "U1"), 0, 0, 10);
        ix.add_record(b"T", &props("b", "U2"), 0, 100, 20);
        ix.add_record(b"Other", &props("a", "U3"), 0, 200, 30);
        assert_eq!(ix.lookup("T", "a", 0, i64::MAX, 10), vec![0]);
        assert_eq!(ix.lookup("T", "b", 0, i64::MAX, 10), vec![100, 0]);
        assert_eq!(ix.lookup("T", "U2", 0, i64::MAX, 10), vec![100]);
        assert_eq!(ix.lookup("Other", "a", 0, i64::MAX, 10), vec![200]);
        assert!(ix.lookup("T", "c", 0, i64::MAX, 10).is_empty());
        assert!(ix.lookup("T", "", 0, i64::MAX, 10).is_empty());
        assert_eq!(ix.len(), 7);
        assert_eq!(ix.last_store_time, 30);
    }

    #[test]
    fn time_range_is_inclusive_and_max_bounds_results() {
        let mut ix = MessageIndex::new(100, 0);
        for i in 0..10 {
            ix.add_record(b"T", &props("k", &format!("U{i}")), 0, i * 100, 1000 + i);
        }
        assert_eq!(ix.lookup("T", "k", 1003, 1005, 10), vec![500, 400, 300]);
        assert_eq!(ix.lookup("T", "k", 0, i64::MAX, 2), vec![900, 800]);
        assert!(ix.lookup("T", "k", 1005, 1003, 10).is_empty());
        assert!(ix.lookup("T", "k", 0, i64::MAX, 0).is_empty());
    }

    #[test]
    fn evicts_oldest_beyond_cap_and_below_log_min() {
        let mut ix = MessageIndex::new(5, 0);
        for i in 0..10 {
            ix.add_record(b"T", &props("k", ""), 0, i * 100, i);
        }
        assert_eq!(ix.len(), 5);
        assert_eq!(
            ix.lookup("T", "k", 0, i64::MAX, 100),
            vec![900, 800, 700, 600, 500]
        );
        ix.evict_below(750);
        assert_eq!(ix.lookup("T", "k", 0, i64::MAX, 100), vec![900, 800]);
        // A key whose only entry was evicted leaves no head behind.
        let mut ix = MessageIndex::new(1, 0);
        ix.add_record(b"T", &props("a", ""), 0, 0, 0);
        ix.add_record(b"T", &props("b", ""), 0, 100, 0);
        assert!(ix.lookup("T", "a", 0, i64::MAX, 10).is_empty());
        assert_eq!(ix.heads.len(), 1);
    }

    #[test]
    fn skips_rollback_messages_and_disabled_index() {
        let mut ix = MessageIndex::new(10, 0);
        ix.add_record(b"T", &props("k", "U"), TRANSACTION_ROLLBACK, 0, 0);
        assert_eq!(ix.len(), 0);
        let mut off = MessageIndex::new(0, 0);
        off.add_record(b"T", &props("k", "U"), 0, 0, 0);
        assert!(off.lookup("T", "k", 0, i64::MAX, 10).is_empty());
    }

    #[test]
    fn record_key_checks_match_the_property() {
        let p = props("a b", "U1");
        assert!(record_has_key(&p, "a", KeyKind::Key));
        assert!(record_has_key(&p, "b", KeyKind::Key));
        assert!(!record_has_key(&p, "a b", KeyKind::Key));
        assert!(!record_has_key(&p, "U1", KeyKind::Key));
        assert!(record_has_key(&p, "U1", KeyKind::Unique));
        assert!(!record_has_key(&p, "a", KeyKind::Unique));
        assert!(!record_has_key(b"\x01\x02KEYS", "a", KeyKind::Key));
    }
}
