//! Crash recovery of a whole store directory, then reads through the repaired consume queues
//! and appends: the input is laid out as a store directory (see `ferromq_fuzz::store_flags`)
//! with 4 KiB segments and 8-entry consume-queue files, and opened with `MessageStore::open`.
//! Each run creates and recovers a directory (in `/dev/shm`), so this target runs a few hundred
//! times a second; the decoders it relies on are fuzzed in memory by `consume_queue`.
#![no_main]

use ferromq_fuzz::{scratch_dir, write_store_dir, STORE_CQ_EPF, STORE_SEGMENT};
use std::future::Future;
use std::task::{Context, Poll, Waker};

use ferromq_protocol::message::encode_record;
use ferromq_store::{AppendRecord, BoundaryType, FlushMode, MessageStore, StoreConfig};
use libfuzzer_sys::fuzz_target;

/// Polls a future once: with asynchronous flushing a put completes without waiting.
fn poll_once<F: Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// A small record for the consume queue the target writes, as the broker encodes it.
fn record(queue_id: i32, body: &[u8]) -> AppendRecord {
    let m = ferromq_fuzz::new_message(ferromq_fuzz::STORE_TOPIC, queue_id, body, "TAGS\u{1}A\u{2}");
    let mut bytes = Vec::new();
    let _ = encode_record(&m, &mut bytes);
    AppendRecord {
        bytes,
        topic: ferromq_fuzz::STORE_TOPIC.into(),
        queue_id,
        tags_code: ferromq_protocol::message::java_string_hash("A") as i64,
    }
}

fn directory(data: &[u8]) {
    let Some(tmp) = scratch_dir() else { return };
    if write_store_dir(tmp.path(), data).is_err() {
        return;
    }
    let cfg = StoreConfig {
        root: tmp.path().to_path_buf(),
        segment_size: STORE_SEGMENT as u64,
        cq_entries_per_file: STORE_CQ_EPF,
        flush: FlushMode::default(),
        max_message_size: 1024,
        // The pre-faulter reads no stored bytes; a thread per run would only slow the target.
        prefault_ahead: 0,
        ..StoreConfig::default()
    };
    let Ok(store) = MessageStore::open(cfg) else {
        return;
    };
    let all = |_t: i64| true;
    let some = |t: i64| t & 1 == 0;
    for (topic, q) in store.queues() {
        let (min, max) = (store.min_offset(&topic, q), store.max_offset(&topic, q));
        for from in [0, min, max.saturating_sub(1), max] {
            let g = store.get(&topic, q, from, 32, 1 << 16, &all);
            let _ = ferromq_protocol::message::decode_records(&g.body);
            let _ = store.get(&topic, q, from, 4, 256, &some);
            let _ = store.store_time_at(&topic, q, from);
        }
        for ts in [i64::MIN, 0, 1_700_000_000_000, i64::MAX] {
            let _ = store.offset_by_time(&topic, q, ts, BoundaryType::Lower);
            let _ = store.offset_by_time(&topic, q, ts, BoundaryType::Upper);
        }
        let _ = store.earliest_store_time(&topic, q);
    }
    let (lo, hi) = (store.commit_log_min_offset(), store.commit_log_max_offset());
    for off in [lo, hi, 0, 60, 4096, hi.saturating_sub(60)] {
        if let Some(rec) = store.read_record(off) {
            let _ = ferromq_protocol::message::decode_record(&rec);
        }
    }
    // Appends continue from wherever recovery left the log and the queues.
    let _ = poll_once(store.put(vec![record(0, &[7; 700]), record(1, b"x")]));
    let _ = poll_once(store.put(vec![record(0, &[8; 2000])]));
    let _ = store.get(ferromq_fuzz::STORE_TOPIC, 0, 0, 64, 1 << 16, &all);
    let _ = store.stats();
    let _ = store.shutdown();
}

fuzz_target!(|data: &[u8]| directory(data));
