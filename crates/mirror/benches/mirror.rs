//! Mirror benchmark: two in-process clusters (a name server and a broker each) and the mirror,
//! all on this machine.
//!
//! 1. Catch-up throughput: `MIRROR_BENCH_MESSAGES` (default 200,000) messages of 1 KiB over 8
//!    queues are on the source before the mirror starts; the time until the target holds them
//!    all gives messages/s and MiB/s.
//! 2. Offset-sync lag, end to end: `MIRROR_BENCH_COMMITS` (default 300) commits on the source
//!    (UPDATE_CONSUMER_OFFSET), each timed until QUERY_CONSUMER_OFFSET on the target returns the
//!    translated value; p50/p99/max. The mirror reads the source's offsets every 200 ms (its
//!    default), so the lag is bounded by that interval plus one round trip of each side.
//!
//! Run: `cargo bench -p ferromq-mirror --bench mirror`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::requests;
use ferromq_client::MqClient;
use ferromq_mirror::{Mirror, RunArgs};
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::message::BatchItem;
use ferromq_testkit::Cluster;

const TOPIC: &str = "BenchMirror";
const QUEUES: i32 = 8;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn total(client: &MqClient, addr: &str) -> i64 {
    let mut sum = 0;
    for q in 0..QUEUES {
        sum += client.max_offset(addr, TOPIC, q).await.unwrap_or(0);
    }
    sum
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let messages = env_or("MIRROR_BENCH_MESSAGES", 200_000);
    let commits = env_or("MIRROR_BENCH_COMMITS", 300);
    let src = Cluster::start(1).await;
    let tgt = Cluster::start(1).await;
    let sc = src.client();
    let tc = tgt.client();
    let (sa, ta) = (src.broker_addr(0), tgt.broker_addr(0));
    sc.create_topic(&sa, &TopicConfig::new(TOPIC, QUEUES))
        .await
        .unwrap();

    // Fill the source with batches of 32.
    let item = BatchItem {
        flag: 0,
        body: Bytes::from(vec![b'm'; 1024]),
        properties: String::new(),
    };
    let batch: Vec<BatchItem> = vec![item; 32];
    let mut sent = 0;
    let mut q = 0;
    while sent < messages {
        let cmd = requests::send_batch("bench", TOPIC, q, &batch);
        sc.remoting.invoke(&sa, cmd).await.expect("send batch");
        sent += batch.len();
        q = (q + 1) % QUEUES;
    }
    let want = total(&sc, &sa).await;

    let state = tempfile::tempdir().unwrap();
    let args = RunArgs {
        source_namesrv: Some(src.namesrv_addr.clone()),
        target_namesrv: Some(tgt.namesrv_addr.clone()),
        source_tls: false,
        source_tls_ca: None,
        source_tls_insecure: false,
        target_tls: false,
        target_tls_ca: None,
        target_tls_insecure: false,
        source_access_key: None,
        source_secret_key: None,
        target_access_key: None,
        target_secret_key: None,
        topics: TOPIC.into(),
        groups: ".*".into(),
        state_dir: state.path().to_path_buf(),
        metrics_addr: "off".into(),
        force_groups: false,
        source_label: None,
        target_label: None,
        offset_interval_ms: 200,
        discovery_interval_ms: 500,
        batch: 64,
        timeout_secs: 5,
        pull_group: "ferromq-mirror".into(),
    };
    let mirror = Mirror::open(args.validate().unwrap()).unwrap();
    let stop = mirror.stop_token();
    let running = tokio::spawn(mirror.clone().run());

    let start = Instant::now();
    while total(&tc, &ta).await < want {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = want as f64 / secs;
    println!(
        "catch-up: {want} messages of 1 KiB in {secs:.2} s = {rate:.0} msg/s, {:.1} MiB/s",
        rate * 1024.0 / (1024.0 * 1024.0)
    );

    // Offset-sync lag, end to end.
    let per_queue = want / QUEUES as i64;
    let mut lags = Vec::with_capacity(commits);
    for i in 0..commits {
        let q = (i % QUEUES as usize) as i32;
        let offset = ((i as i64 + 1) * 7) % per_queue.max(1);
        // Commit at spread-out points of the mirror's 200 ms read cycle, as clients do.
        tokio::time::sleep(Duration::from_millis((i as u64 * 37) % 200)).await;
        sc.update_offset(&sa, "bench-group", TOPIC, q, offset)
            .await
            .unwrap();
        let t0 = Instant::now();
        loop {
            if tc
                .query_offset(&ta, "bench-group", TOPIC, q)
                .await
                .ok()
                .flatten()
                == Some(offset)
            {
                break;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                panic!("offset {offset} of queue {q} did not reach the target in 10 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        lags.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    lags.sort_by(f64::total_cmp);
    println!(
        "offset sync, commit on the source → visible on the target ({} commits): p50 {:.0} ms, \
         p99 {:.0} ms, max {:.0} ms",
        lags.len(),
        pct(&lags, 0.5),
        pct(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN)
    );
    let snap = mirror.metrics().snapshot();
    println!(
        "mirror's own figure (poll before the change → written): p50 {:.0} ms, p99 {:.0} ms",
        snap.offset_sync_lag.p50_ms, snap.offset_sync_lag.p99_ms
    );
    stop.cancel();
    let _ = running.await;
}
