//! The store's on-disk decoders, in memory: 20-byte consume-queue entries, commit-log records as
//! recovery and reads check them (record after record, as the recovery scan walks a segment),
//! and the checkpoint file. Whole store directories opened by `MessageStore::open` are the
//! `store_dir` target (a few hundred runs a second against tens of thousands here).
#![no_main]

use ferromq_store::decode;
use libfuzzer_sys::fuzz_target;

fn in_memory(buf: &[u8]) {
    for e in buf.chunks_exact(20) {
        let _ = decode::cq_entry(e);
    }
    let _ = decode::checkpoint(buf);
    // The recovery scan: record after record until zeros, a BLANK marker or an invalid record.
    let mut at = 0usize;
    while buf.len() - at >= 8 {
        let rest = &buf[at..];
        if rest[..8] == [0; 8] || decode::is_blank(rest) {
            break;
        }
        let _ = decode::store_time(rest);
        match decode::record(rest) {
            Ok(r) if r.total > 0 => at += r.total,
            _ => break,
        }
    }
}

fuzz_target!(|data: &[u8]| in_memory(data));
