//! The POP journal (`ferromq_pop::journal`), what makes in-flight POP deliveries and acks
//! survive a crash. The first byte picks the mode:
//!
//! - even: journal lines in memory, as replay reads them (`decode_line`: CRC, then the JSON
//!   record), applied to the POP state with `apply`, then every state used as the live path
//!   uses it (frontier, expired leases, acks, commits, resets);
//! - odd: a journal directory (`snapLen:u16be | snapshot.json | journal lines`) opened with
//!   `PopTable::open` (replay, torn tail cut), then pops, acks and window changes on the queues
//!   it holds; reopening must give the same in-flight state (what was recorded survives).
//!
//! With bit 1 of the first byte set, each journal line is taken as the JSON alone and gets its
//! CRC prefix computed, so the fuzzer reaches the records behind the checksum.
#![no_main]

use std::collections::HashMap;

use ferromq_fuzz::{scratch_dir, take_u16_prefixed};
use ferromq_pop::journal::{apply, decode_line, Image, Journal};
use ferromq_pop::{PopConfig, PopRequest, PopTable, QueueState, ReceiptHandle};
use ferromq_protocol::body::progress::QueueKey;
use libfuzzer_sys::fuzz_target;

/// The line as the journal stores it: the CRC prefix is computed when `fix_crc`.
fn line_of(raw: &[u8], fix_crc: bool) -> Vec<u8> {
    if !fix_crc {
        return raw.to_vec();
    }
    let mut line = format!("{:08x} ", crc32fast::hash(raw)).into_bytes();
    line.extend_from_slice(raw);
    line
}

/// Uses a replayed state the way the live path does.
fn exercise(map: &mut HashMap<QueueKey, QueueState>) {
    for q in map.values_mut() {
        let frontier = q.frontier();
        let _ = q.next_deadline();
        for (offset, lease) in q.expired(i64::MAX, 8) {
            let _ = q.classify_ack(offset, lease.seq, q.epoch);
        }
        let _ = q.agrees_with(Some(frontier));
        let _ = q.agrees_with(None);
        let leased: Vec<_> = q.leases.iter().map(|(o, l)| (*o, *l)).take(4).collect();
        for (offset, lease) in leased {
            let _ = q.ack(offset, lease.seq, q.epoch);
        }
        q.committed(frontier);
        q.reset(q.cursor);
    }
}

fn in_memory(lines: &[u8], fix_crc: bool) {
    let mut map = HashMap::new();
    let mut next_seq = 0u64;
    for raw in lines.split(|&b| b == b'\n') {
        if let Some(rec) = decode_line(&line_of(raw, fix_crc)) {
            apply(&mut map, &mut next_seq, &rec);
        }
    }
    exercise(&mut map);
}

/// Queue keys and their in-flight counts, to compare a table before and after a reopen.
fn in_flight(table: &PopTable, keys: &[QueueKey]) -> Vec<(usize, Option<i64>)> {
    keys.iter().map(|k| table.in_flight(k)).collect()
}

fn directory(rest: &[u8], fix_crc: bool) {
    let Some(tmp) = scratch_dir() else { return };
    let (snapshot, journal) = take_u16_prefixed(rest);
    if !snapshot.is_empty() && std::fs::write(tmp.path().join("snapshot.json"), snapshot).is_err() {
        return;
    }
    // The journal file of the snapshot's generation (0 without one).
    let generation = serde_json::from_slice::<Image>(snapshot).map_or(0, |i| i.generation);
    let mut text = Vec::new();
    for raw in journal.split(|&b| b == b'\n') {
        text.extend_from_slice(&line_of(raw, fix_crc));
        text.push(b'\n');
    }
    // The last line stays without its newline when the input ends mid-line (a torn write).
    if !journal.ends_with(b"\n") {
        text.pop();
    }
    let path = tmp.path().join(format!("journal-{generation}.log"));
    if std::fs::write(path, &text).is_err() {
        return;
    }
    let keys: Vec<QueueKey> = match Journal::open(tmp.path()) {
        Ok((_, image)) => image.queues.into_iter().map(|(k, _)| k).take(8).collect(),
        Err(_) => return,
    };
    let cfg = PopConfig {
        max_leases_per_queue: 64,
        compact_bytes: 4096,
        ..PopConfig::new(tmp.path().to_path_buf(), false)
    };
    let Ok(table) = PopTable::open(cfg.clone()) else {
        return;
    };
    let req = PopRequest {
        now_ms: 1_700_000_000_000,
        invisible_ms: 30_000,
        max: 4,
        fifo: keys.len() % 2 == 1,
        max_attempts: 3,
    };
    for key in &keys {
        let fresh = |from: i64, max: usize| {
            let end = from.saturating_add(max as i64);
            ((from..end).collect(), end)
        };
        let Ok(got) = table.pop(key, || None, || 0, &req, fresh) else {
            continue;
        };
        for (i, d) in got.iter().enumerate() {
            let handle = ReceiptHandle::parse(&d.handle.to_string()).unwrap_or(d.handle);
            if i % 2 == 0 {
                let _ = table.ack(key, || None, &handle);
            } else {
                let _ = table.change_invisible(key, || None, &handle, req.now_ms, 1000);
            }
        }
        if let Some(c) = table.begin_commit(key) {
            let _ = table.end_commit(&c, true);
        }
    }
    let before = in_flight(&table, &keys);
    drop(table);
    let Ok(again) = PopTable::open(cfg) else {
        panic!("a journal this table wrote does not open again");
    };
    assert_eq!(
        in_flight(&again, &keys),
        before,
        "in-flight state changed across a reopen"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fix_crc = mode & 2 != 0;
    if mode & 1 == 0 {
        in_memory(rest, fix_crc);
    } else {
        directory(rest, fix_crc);
    }
});
