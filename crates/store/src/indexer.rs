//! Feeding and querying the message index ([`crate::index`]) off the send path.
//!
//! The writer never touches the index: a background thread (`ferromq-store-index`) reads
//! records the writer has published, from where the index stopped, and indexes them in chunks
//! of [`CHUNK_BYTES`] (the index lock is released between chunks). A query first indexes
//! whatever the thread has not reached yet (up to [`QUERY_CATCH_UP_BYTES`]), so a message is
//! findable as soon as its send was acknowledged, without the writer paying for it.
//!
//! Rebuild after a crash or restart: the index lives in memory only, so at open it starts at
//! the commit log's first offset and the same thread re-reads the whole log (recovery has
//! already cut the log at its valid end, so only acknowledged, intact records are indexed).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::message::pos;
use parking_lot::{Condvar, Mutex};

use crate::index::{record_has_key, KeyKind, MessageIndex};
use crate::record;
use crate::segment::Segment;
use crate::shared::Shared;

/// Commit-log bytes indexed per hold of the index lock.
const CHUNK_BYTES: i64 = 4 << 20;
/// Most commit-log bytes a query indexes before answering; a larger backlog (the rebuild
/// after open) is left to the thread and the query answers from what is indexed.
const QUERY_CATCH_UP_BYTES: i64 = 64 << 20;
/// How often the thread looks for new records when it has caught up.
const IDLE_POLL: Duration = Duration::from_millis(20);
/// Candidates a lookup reads beyond `max_num`, for entries whose record turns out not to match
/// (a hash collision, or a unique key that is some other message's `KEYS` word).
const SPARE_CANDIDATES: usize = 32;

/// The index with its lock and the thread's stop signal.
pub(crate) struct Index {
    state: Mutex<MessageIndex>,
    stop: Mutex<bool>,
    wake: Condvar,
    enabled: AtomicBool,
}

/// A QUERY_MESSAGE lookup.
#[derive(Debug, Clone)]
pub struct MessageQuery<'a> {
    /// The topic the key was indexed under.
    pub topic: &'a str,
    /// A `KEYS` word or a `UNIQ_KEY`, by `kind`.
    pub key: &'a str,
    /// What `key` is.
    pub kind: KeyKind,
    /// Most messages returned (newest first are kept).
    pub max_num: usize,
    /// Earliest store time, ms, inclusive.
    pub begin: i64,
    /// Latest store time, ms, inclusive.
    pub end: i64,
    /// Most body bytes returned (at least one message is, whatever its size).
    pub max_bytes: usize,
}

/// What a lookup found.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    /// Whole stored records, in commit-log order.
    pub messages: Vec<Bytes>,
    /// Store time of the last record indexed (upstream `indexLastUpdateTimestamp`).
    pub index_last_update_timestamp: i64,
    /// Commit-log offset up to which records are indexed (`indexLastUpdatePhyoffset`).
    pub index_last_update_phy_offset: i64,
}

impl Index {
    pub fn new(cap: usize, from: i64) -> Self {
        Index {
            state: Mutex::new(MessageIndex::new(cap, from)),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            enabled: AtomicBool::new(cap > 0),
        }
    }

    /// Entries held and the commit-log offset indexed up to.
    pub fn status(&self) -> (usize, i64) {
        let s = self.state.lock();
        (s.len(), s.indexed_to)
    }

    pub fn stop(&self) {
        *self.stop.lock() = true;
        self.wake.notify_all();
    }
}

/// Starts the indexing thread (none when the index is disabled).
pub(crate) fn spawn(shared: Arc<Shared>) -> std::io::Result<Option<JoinHandle<()>>> {
    if !shared.index.enabled.load(Ordering::Relaxed) {
        return Ok(None);
    }
    std::thread::Builder::new()
        .name("ferromq-store-index".into())
        .spawn(move || run(&shared))
        .map(Some)
}

fn run(shared: &Shared) {
    let mut rebuilding = true;
    loop {
        let caught_up = catch_up(shared, CHUNK_BYTES);
        if caught_up && rebuilding {
            rebuilding = false;
            let (entries, to) = shared.index.status();
            tracing::info!(
                entries,
                indexed_to = to,
                "message index rebuilt from the commit log"
            );
        }
        let mut stop = shared.index.stop.lock();
        if *stop {
            return;
        }
        if caught_up {
            shared.index.wake.wait_for(&mut stop, IDLE_POLL);
            if *stop {
                return;
            }
        }
    }
}

/// Indexes published records from where the index stopped, at most about `budget` bytes of
/// commit log, under one hold of the index lock. Returns whether it reached the log's end.
pub(crate) fn catch_up(shared: &Shared, budget: i64) -> bool {
    if !shared.index.enabled.load(Ordering::Relaxed) {
        return true;
    }
    let mut ix = shared.index.state.lock();
    let written = shared.log.written();
    let log_min = shared.log.min_offset();
    ix.evict_below(log_min);
    let mut at = ix.indexed_to.max(log_min);
    let limit = written.min(at.saturating_add(budget));
    let mut seg: Option<Arc<Segment>> = None;
    while at < limit {
        if !seg.as_ref().is_some_and(|s| s.contains(at)) {
            seg = shared.log.segment_for(at);
        }
        let Some(s) = seg.as_ref() else {
            // Past every segment (cannot happen below `written`): wait for the log to move.
            break;
        };
        let rec = s.record_at(at, None, written);
        match rec.map(|r| (r, record::parse(r))) {
            Some((r, Ok(m))) => {
                let flags = record::be_i32(r, pos::SYS_FLAG).unwrap_or(0);
                ix.add_record(m.topic, m.properties, flags, at, m.store_timestamp);
                at += m.total as i64;
            }
            // A BLANK end marker (or, after recovery never, a damaged record): the segment's
            // remaining bytes hold no records.
            _ => at = s.end(),
        }
    }
    ix.indexed_to = at;
    at >= written
}

/// Runs a lookup: indexes what is not indexed yet (bounded), collects candidates under the
/// index lock, then reads and checks their records without it.
pub(crate) fn query(shared: &Shared, q: &MessageQuery<'_>) -> QueryResult {
    let mut left = QUERY_CATCH_UP_BYTES;
    while left > 0 && !catch_up(shared, CHUNK_BYTES.min(left)) {
        left -= CHUNK_BYTES;
    }
    let (candidates, ts, to) = {
        let ix = shared.index.state.lock();
        let want = q.max_num.saturating_add(SPARE_CANDIDATES);
        (
            ix.lookup(q.topic, q.key, q.begin, q.end, want),
            ix.last_store_time,
            ix.indexed_to,
        )
    };
    let mut found: Vec<(i64, Bytes)> = Vec::new();
    let mut bytes = 0usize;
    for phys in candidates {
        if found.len() >= q.max_num {
            break;
        }
        let rec = shared.log.with_record(phys, |r| {
            let ok = record::parse(r).is_ok_and(|m| {
                m.topic == q.topic.as_bytes() && record_has_key(m.properties, q.key, q.kind)
            });
            ok.then(|| Bytes::copy_from_slice(r))
        });
        let Some(Some(rec)) = rec else { continue };
        if !found.is_empty() && bytes + rec.len() > q.max_bytes {
            break;
        }
        bytes += rec.len();
        found.push((phys, rec));
    }
    found.sort_by_key(|(phys, _)| *phys);
    QueryResult {
        messages: found.into_iter().map(|(_, r)| r).collect(),
        index_last_update_timestamp: ts,
        index_last_update_phy_offset: to,
    }
}
