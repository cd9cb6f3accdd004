//! Append and read throughput for 1 KiB records in Async mode.
//! Run: `cargo bench -p ferromq-store --bench append` (plain timing, no harness).

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
        properties: "TAGS\u{1}A\u{2}".into(),
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
        ..StoreConfig::default()
    };
    let store = MessageStore::open(cfg).expect("open");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let template: Vec<AppendRecord> = (0..8).map(record).collect();
    let t = Instant::now();
    let mut i = 0;
    while i < n {
        let recs: Vec<AppendRecord> = (0..batch).map(|k| template[(i + k) % 8].clone()).collect();
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
    store.shutdown().expect("shutdown");
    println!("stats: {:?}", store.stats());
}
