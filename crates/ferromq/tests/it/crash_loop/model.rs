//! The model of what the broker acknowledged: messages, offsets and counters, shared by the
//! load tasks and checked after each restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

/// xorshift64*: enough randomness for kill moments and payload sizes, no extra dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the test knows about one (group, queue) offset.
#[derive(Default, Debug, Clone)]
pub struct OffsetModel {
    /// The last acknowledged write (or the value found after the previous restart).
    pub confirmed: Option<i64>,
    /// Writes issued after it without an acknowledgement: each may or may not have been applied.
    pub unknown: Vec<i64>,
}

#[derive(Default)]
pub struct Model {
    /// (queue, offset) → body of every acknowledged send, all generations.
    pub messages: Mutex<HashMap<(i32, i64), String>>,
    /// Highest acknowledged offset + 1 per queue (a reset target up to it is never clamped).
    pub acked_end: Mutex<BTreeMap<i32, i64>>,
    pub offsets: Mutex<BTreeMap<(String, i32), OffsetModel>>,
    pub commits_acked: AtomicU64,
    pub commits_ignored: AtomicU64,
    pub resets_acked: AtomicU64,
    pub pulled_checked: AtomicU64,
    pub write_errors: AtomicU64,
}

impl Model {
    pub fn sent(&self, q: i32, off: i64, body: String) {
        let prev = self.messages.lock().unwrap().insert((q, off), body.clone());
        assert!(
            prev.is_none(),
            "queue {q} offset {off} acknowledged twice ({prev:?} and {body})"
        );
        let mut end = self.acked_end.lock().unwrap();
        let e = end.entry(q).or_default();
        *e = (*e).max(off + 1);
    }

    pub fn acked_end(&self, q: i32) -> i64 {
        self.acked_end.lock().unwrap().get(&q).copied().unwrap_or(0)
    }

    /// Before a write of `v` is sent.
    pub fn issue(&self, group: &str, q: i32, v: i64) {
        let mut o = self.offsets.lock().unwrap();
        o.entry((group.to_string(), q)).or_default().unknown.push(v);
    }

    /// The write of `v` was acknowledged and stored.
    pub fn stored(&self, group: &str, q: i32, v: i64) {
        let mut o = self.offsets.lock().unwrap();
        let m = o.entry((group.to_string(), q)).or_default();
        m.confirmed = Some(v);
        m.unknown.clear();
    }

    /// The write of `v` was acknowledged as not stored (a commit that predates a reset).
    pub fn not_stored(&self, group: &str, q: i32, v: i64) {
        let mut o = self.offsets.lock().unwrap();
        let m = o.entry((group.to_string(), q)).or_default();
        if let Some(i) = m.unknown.iter().rposition(|&x| x == v) {
            m.unknown.remove(i);
        }
    }
}
