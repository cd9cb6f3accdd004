//! Offset store benchmark.
//!
//! `cargo run --release -p ferromq-offsets --bin offsets-bench [-- --secs N --dir PATH]`
//!
//! Reports (human-readable and one JSON line per figure):
//! - commits/s with 64 concurrent committers in Periodic (200 ms) and Durable mode, with latency
//!   percentiles and fsyncs per commit;
//! - for 10^6 entries in two shapes (2000 groups × 125 topics × 4 queues, and 10^6 distinct
//!   (group, topic) pairs with one queue): load time, snapshot time and size, restart time and
//!   RSS of a fresh process after open;
//! - the cost of upstream's approach (rewrite the whole JSON document and fsync it) at 10^6.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_offsets::{Durability, OffsetStore, OffsetStoreConfig, QueueKey, Tuning};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn json(kv: &[(&str, String)]) {
    let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    println!("JSON {{{}}}", body.join(","));
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn throughput(
    dir: &Path,
    name: &str,
    durability: Durability,
    secs: u64,
    rt: &tokio::runtime::Runtime,
) {
    let _ = std::fs::remove_dir_all(dir);
    let store = OffsetStore::open(OffsetStoreConfig {
        dir: dir.to_path_buf(),
        durability,
    })
    .expect("open");
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let lat: Vec<Duration> = rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..64 {
            let s = store.clone();
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let group = format!("bench-group-{}", c % 16);
                let topic = format!("bench-topic-{}", c / 16);
                let mut off = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    off += 1;
                    let t = Instant::now();
                    s.commit(vec![(
                        QueueKey::new(group.as_str(), topic.as_str(), c),
                        off,
                    )])
                    .await
                    .expect("commit");
                    lat.push(t.elapsed());
                    if off % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                lat
            }));
        }
        // Periodic commits never wait, so committers may not yield: stop them from a plain thread.
        let stopper = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            stopper.store(true, Ordering::Relaxed);
        });
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all
    });
    let elapsed = started.elapsed();
    let mut lat = lat;
    lat.sort_unstable();
    let st = store.stats();
    store.shutdown().expect("shutdown");
    let n = lat.len() as f64;
    let rate = n / elapsed.as_secs_f64();
    println!(
        "{name:>9}: {rate:>10.0} commits/s (64 committers, {:.1}s)  p50 {:?}  p99 {:?}  max {:?}  fsyncs {} ({:.1} commits/fsync)",
        elapsed.as_secs_f64(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or_default(),
        st.fsyncs,
        n / st.fsyncs.max(1) as f64
    );
    json(&[
        ("bench", format!("\"commit_{name}\"")),
        ("committers", "64".into()),
        ("commits_per_sec", format!("{rate:.0}")),
        ("p50_us", pct(&lat, 0.5).as_micros().to_string()),
        ("p99_us", pct(&lat, 0.99).as_micros().to_string()),
        ("fsyncs", st.fsyncs.to_string()),
        ("commits", lat.len().to_string()),
    ]);
}

/// Loads 10^6 entries, snapshots, appends a log tail, then measures restart in a child process.
fn million(dir: &Path, shape: &str, rt: &tokio::runtime::Runtime) {
    let _ = std::fs::remove_dir_all(dir);
    let tuning = Tuning {
        compact_min_log_bytes: u64::MAX,
        ..Tuning::default()
    };
    let cfg = OffsetStoreConfig {
        dir: dir.to_path_buf(),
        durability: Durability::default(),
    };
    let store = OffsetStore::open_with(cfg.clone(), tuning).expect("open");
    let (groups, topics, queues) = match shape {
        "wide" => (10_000, 100, 1),
        _ => (2_000, 125, 4),
    };
    let t = Instant::now();
    rt.block_on(async {
        for g in 0..groups {
            let group = format!("CID_consumer_group_{g:05}");
            let mut batch = Vec::with_capacity(topics * queues);
            for tp in 0..topics {
                let topic = format!("topic_orders_region_{tp:04}");
                for q in 0..queues {
                    batch.push((
                        QueueKey::new(group.as_str(), topic.as_str(), q as i32),
                        1_000_000 + g as i64,
                    ));
                }
            }
            store.commit(batch).await.expect("commit");
        }
    });
    let load = t.elapsed();
    let n = store.entry_count();
    let log_bytes = store.stats().log_bytes;
    let t = Instant::now();
    store.compact().expect("compact");
    let snap = t.elapsed();
    let snap_bytes = store.stats().snapshot_bytes;
    // A realistic log tail: 100k single-queue commits after the snapshot.
    rt.block_on(async {
        for i in 0..100_000u64 {
            let g = (i * 7919) % groups as u64;
            let tp = i % topics as u64;
            store
                .commit(vec![(
                    QueueKey::new(
                        format!("CID_consumer_group_{g:05}"),
                        format!("topic_orders_region_{tp:04}"),
                        0,
                    ),
                    2_000_000 + i as i64,
                )])
                .await
                .expect("commit");
        }
    });
    let tail_bytes = store.stats().log_bytes;
    // Upstream's approach for comparison: serialise the whole table and rewrite + fsync a file.
    let t = Instant::now();
    let doc = store.to_rocketmq_json();
    let p = dir.join("consumerOffset.json");
    let mut f = std::fs::File::create(&p).expect("create");
    f.write_all(doc.as_bytes()).expect("write");
    f.sync_all().expect("fsync");
    let rewrite = t.elapsed();
    let _ = std::fs::remove_file(&p);
    store.shutdown().expect("shutdown");
    drop(store);

    let exe = std::env::current_exe().expect("exe");
    let out = std::process::Command::new(exe)
        .arg("--restart")
        .arg(dir)
        .output()
        .expect("child");
    let child = String::from_utf8_lossy(&out.stdout);
    let mut fields = child.split_whitespace();
    let open_ms: f64 = fields
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let rss_before: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let rss_after: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let reopened: usize = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    assert_eq!(reopened, n, "restart lost entries: {child}");
    println!(
        "10^6 {shape:>6}: {n} entries ({groups} groups × {topics} topics × {queues} queues) loaded in {load:?} ({} MiB log); \
snapshot {snap:?}, {:.1} MiB; restart (snapshot + {:.1} MiB / 100k-record log) {open_ms:.0} ms; \
RSS {:.1} MiB after open ({:.1} MiB before); upstream-style full JSON rewrite+fsync {rewrite:?} ({:.1} MiB)",
        log_bytes >> 20,
        snap_bytes as f64 / 1048576.0,
        tail_bytes as f64 / 1048576.0,
        rss_after as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        doc.len() as f64 / 1048576.0,
    );
    json(&[
        ("bench", format!("\"million_{shape}\"")),
        ("entries", n.to_string()),
        ("snapshot_ms", snap.as_millis().to_string()),
        ("snapshot_bytes", snap_bytes.to_string()),
        ("log_tail_bytes", tail_bytes.to_string()),
        ("restart_ms", format!("{open_ms:.1}")),
        ("rss_kib_after_open", rss_after.to_string()),
        ("rss_kib_before_open", rss_before.to_string()),
        ("json_rewrite_ms", rewrite.as_millis().to_string()),
        ("json_bytes", doc.len().to_string()),
    ]);
}

fn restart_child(dir: PathBuf) {
    let before = rss_kib();
    let t = Instant::now();
    let store = OffsetStore::open(OffsetStoreConfig {
        dir,
        durability: Durability::default(),
    })
    .expect("open");
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let after = rss_kib();
    println!("{ms:.1} {before} {after} {}", store.entry_count());
    store.shutdown().expect("shutdown");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--restart") {
        restart_child(PathBuf::from(args.get(2).cloned().unwrap_or_default()));
        return;
    }
    let mut secs = 3u64;
    let mut dir = PathBuf::from("target/offsets-bench");
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--secs" => secs = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(secs),
            "--dir" => dir = args.get(i + 1).map(PathBuf::from).unwrap_or(dir),
            _ => {}
        }
        i += 2;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    throughput(
        &dir.join("periodic"),
        "periodic",
        Durability::default(),
        secs,
        &rt,
    );
    throughput(
        &dir.join("durable"),
        "durable",
        Durability::Durable {
            timeout: Duration::from_secs(5),
        },
        secs,
        &rt,
    );
    million(&dir.join("m-deep"), "deep", &rt);
    million(&dir.join("m-wide"), "wide", &rt);
    let _ = std::fs::remove_dir_all(&dir);
}
