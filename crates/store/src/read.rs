//! `get`: reading a batch of records of one queue (upstream `getMessage`).

use bytes::BytesMut;

use crate::commit_log::SegmentCursor;
use crate::consume_queue::{CqEntry, CQ_UNIT};
use crate::record::be_i64;
use crate::shared::Shared;
use crate::types::{GetResult, GetStatus};
use ferromq_protocol::message::pos;

/// Which messages a `get` returns: first by the consume-queue entry's tag hash (before the record
/// is read), then, optionally, by the stored record itself (its properties, for SQL92 filters).
/// Any `Fn(i64) -> bool` is a tag-hash-only filter.
pub trait MessageFilter {
    /// By the tag hash of the consume-queue entry.
    fn by_tag_code(&self, tags_code: i64) -> bool;

    /// By the whole stored record, once read; every record when not overridden.
    fn by_record(&self, _record: &[u8]) -> bool {
        true
    }
}

impl<F: Fn(i64) -> bool> MessageFilter for F {
    fn by_tag_code(&self, tags_code: i64) -> bool {
        self(tags_code)
    }
}

/// Most consume-queue entries one `get` looks at while filtering.
pub const MAX_SCAN_ENTRIES: usize = 16_000;

/// Entries `get` scans for a request of `max_msgs`: 20 per wanted message, at least 800.
fn scan_limit(max_msgs: usize) -> usize {
    max_msgs.saturating_mul(20).clamp(800, MAX_SCAN_ENTRIES)
}

pub(crate) fn get(
    shared: &Shared,
    topic: &str,
    queue_id: i32,
    offset: i64,
    max_msgs: usize,
    max_bytes: usize,
    filter: &dyn MessageFilter,
) -> GetResult {
    let Some(cq) = shared.queues.get(topic, queue_id) else {
        return GetResult::empty(GetStatus::NoMatchedLogicQueue, 0, 0, 0);
    };
    let (min, max) = (cq.min(), cq.max());
    let status = if max == 0 {
        Some((GetStatus::NoMessageInQueue, 0))
    } else if offset < min {
        Some((GetStatus::OffsetTooSmall, min))
    } else if offset == max {
        Some((GetStatus::OffsetOverflowOne, offset))
    } else if offset > max {
        Some((GetStatus::OffsetOverflowBadly, max))
    } else {
        None
    };
    if let Some((status, next)) = status {
        return GetResult::empty(status, next, min, max);
    }
    let want = max_msgs.max(1);
    let end = max.min(offset.saturating_add(scan_limit(want) as i64));
    let log_min = shared.log.min_offset();
    let written = shared.log.written();
    let mut cursor = SegmentCursor::default();
    let mut body = BytesMut::new();
    let (mut count, mut idx, mut removed) = (0usize, offset, false);
    'scan: while idx < end && count < want {
        let n = (end - idx) as usize;
        // Entries from idx to the end of its file; a missing file is skipped (repaired queue).
        let more = cq.with_entries(idx, n, |entries| {
            let mut used = 0i64;
            for raw in entries.chunks_exact(CQ_UNIT) {
                if count >= want {
                    break;
                }
                let Some(e) = CqEntry::decode(raw) else { break };
                if e.size > 0 && filter.by_tag_code(e.tags) {
                    if e.phys < log_min {
                        removed = true;
                    } else if let Some(rec) = cursor.record(&shared.log, e.phys, e.size, written) {
                        if be_i64(rec, pos::QUEUE_OFFSET) != Some(idx + used) {
                            tracing::warn!(
                                topic,
                                queue_id,
                                index = idx + used,
                                "consume-queue entry does not match its record; skipped"
                            );
                        } else if filter.by_record(rec) {
                            if count > 0 && body.len() + rec.len() > max_bytes {
                                return (used, true);
                            }
                            body.extend_from_slice(rec);
                            count += 1;
                        }
                    } else {
                        removed = true;
                    }
                }
                used += 1;
            }
            (used, false)
        });
        match more {
            Some((used, stop)) => {
                idx += used;
                if stop || used == 0 {
                    break 'scan;
                }
            }
            None => {
                let epf = shared.config.cq_entries_per_file as i64;
                idx = ((idx / epf) + 1) * epf;
                break 'scan;
            }
        }
    }
    let status = if count > 0 {
        GetStatus::Found
    } else if removed {
        GetStatus::MessageWasRemoving
    } else {
        GetStatus::NoMatchedMessage
    };
    GetResult {
        status,
        next_begin_offset: idx.min(max),
        min_offset: min,
        max_offset: max,
        body: body.freeze(),
        count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppendRecord, FlushMode, MessageStore, StoreConfig};
    use ferromq_protocol::message::{encode_record, NewMessage};

    fn rec(queue_id: i32, body: &[u8]) -> AppendRecord {
        let m = NewMessage {
            topic: "T".into(),
            queue_id,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_host: "127.0.0.1:2".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: bytes::Bytes::copy_from_slice(body),
            properties: String::new(),
        };
        let mut bytes = Vec::new();
        encode_record(&m, &mut bytes).unwrap();
        AppendRecord {
            bytes,
            topic: "T".into(),
            queue_id,
            tags_code: 0,
        }
    }

    /// A reader racing with retention: the segments are gone but the queue's min offset has
    /// not moved yet.
    #[test]
    fn entries_below_the_log_are_message_was_removing() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StoreConfig {
            root: dir.path().into(),
            segment_size: 8192,
            flush: FlushMode::default(),
            ..StoreConfig::default()
        };
        let store = MessageStore::open(cfg).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for _ in 0..30 {
            rt.block_on(store.put(vec![rec(0, &[7u8; 1000])])).unwrap();
        }
        for _ in 0..16 {
            rt.block_on(store.put(vec![rec(1, &[7u8; 1000])])).unwrap();
        }
        let removed = store.shared.log.remove_front(usize::MAX).unwrap();
        assert!(removed >= 5);
        let all = |_t: i64| true;
        let g = store.get("T", 0, 0, 3, 1 << 20, &all);
        assert_eq!(
            (g.status, g.next_begin_offset, g.count),
            (GetStatus::MessageWasRemoving, 30, 0)
        );
        // Queue 1 still has records in the surviving segment.
        let g = store.get("T", 1, 15, 32, 1 << 20, &all);
        assert_eq!(g.status, GetStatus::Found);
    }
}
