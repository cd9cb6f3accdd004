//! Append and read throughput for 1 KiB records in Async mode.
//! Run: `cargo bench -p ferromq-store --bench append` (plain timing, no harness).
//! Records carry `KEYS` and a distinct `UNIQ_KEY` each, as the Java producer sends them, so the
//! message index has real work; `INDEX_MAX_ENTRIES=0` disables the index for comparison.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::message::{encode_record, NewMessage};
use ferromq_store::{AppendRecord, FlushMode, MessageStore, StoreConfig};

fn record(queue_id: i32) -> AppendRecord {
    let m = NewMessage {
        topic: "Bench".into(),
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 0,
        born_host: "127.0.0.1:1".parse().expect("addr"),
        store_host: "127.0.0.1:2".parse().expect("addr"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(vec![b'x'; 1024]),
        properties: format!(
            "TAGS\x01A\x02KEYS\x01order-{queue_id}\x02{UNIQ}\x01{:032X}\x02",
            0
        ),
    };
    let mut bytes = Vec::new();
    encode_record(&m, &mut bytes).expect("encode");
    AppendRecord {
        bytes,
        topic: "Bench".into(),
        queue_id,
        tags_code: 65,
    }
}

const UNIQ: &str = "UNIQ_KEY";

/// Gives a template record a distinct 32-hex-digit unique key, in place.
fn set_uniq(bytes: &mut [u8], i: usize) {
    let tag = format!("{UNIQ}\u{1}");
    if let Some(at) = bytes.windows(tag.len()).position(|w| w == tag.as_bytes()) {
        let start = at + tag.len();
        bytes[start..start + 32].copy_from_slice(format!("{i:032X}").as_bytes());
    }
}

fn main() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let batch: usize = std::env::var("BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = StoreConfig {
        root: dir.path().into(),
        segment_size: 64 << 20,
        flush: FlushMode::Async {
            interval: Duration::from_millis(500),
        },
        index_max_entries: std::env::var("INDEX_MAX_ENTRIES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(ferromq_store::DEFAULT_INDEX_MAX_ENTRIES),
        ..StoreConfig::default()
    };
    let store = MessageStore::open(cfg.clone()).expect("open");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let template: Vec<AppendRecord> = (0..8).map(record).collect();
    let t = Instant::now();
    let mut i = 0;
    while i < n {
        let recs: Vec<AppendRecord> = (0..batch)
            .map(|k| {
                let mut r = template[(i + k) % 8].clone();
                set_uniq(&mut r.bytes, i + k);
                r
            })
            .collect();
        rt.block_on(store.put(recs)).expect("put");
        i += batch;
    }
    let el = t.elapsed().as_secs_f64();
    let bytes = store.commit_log_max_offset() as f64;
    println!(
        "append: {n} x 1 KiB records, batch {batch}: {:.0} msg/s, {:.1} MiB/s",
        n as f64 / el,
        bytes / el / 1048576.0
    );
    let all = |_t: i64| true;
    let t = Instant::now();
    let mut read = 0usize;
    for q in 0..8 {
        let mut off = 0;
        loop {
            let g = store.get("Bench", q, off, 32, 256 << 10, &all);
            if g.count == 0 {
                break;
            }
            read += g.count;
            off = g.next_begin_offset;
        }
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "get (mmap): {read} records in batches of 32: {:.0} msg/s",
        read as f64 / el
    );
    let (entries, indexed_to) = store.index_status();
    println!("index: {entries} entries, indexed to {indexed_to}");
    store.shutdown().expect("shutdown");
    println!("stats: {:?}", store.stats());
    drop(store);
    // The index lives in memory: reopening rebuilds it from the whole commit log.
    let t = Instant::now();
    let store = MessageStore::open(cfg).expect("reopen");
    let end = store.commit_log_max_offset();
    while store.index_status().1 < end && store.config().index_max_entries > 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "reopen + index rebuild: {:.0} ms, {:.1} MiB/s of commit log",
        el * 1000.0,
        end as f64 / el / 1048576.0
    );
    store.shutdown().expect("shutdown");
}
