//! Crash loop: a real broker (`--flush-mode sync --offset-durability durable`) under mixed load
//! is killed with SIGKILL at a random moment, restarted on the same data directory, and checked;
//! `FERROMQ_CRASH_LOOPS` times (default 5; `scripts/crashloop.sh` runs 30).
//!
//! The load, all through ferromq's own client:
//! * senders: SEND_MESSAGE_V2 to every queue of one topic; each acknowledged send is recorded as
//!   (queue, offset, body);
//! * a committer: UPDATE_CONSUMER_OFFSET for one group, every acknowledged value recorded;
//! * a resetter: resets through the broker (FERRO_RESET_OFFSETS 9001 and upstream's
//!   INVOKE_BROKER_TO_RESET_OFFSET 222) mixed with commits of a second group;
//! * a live consumer: PULL_MESSAGE in a loop, checking every message it gets against the
//!   acknowledged sends, and committing its position (a third group).
//!
//! After each restart:
//! * every acknowledged message, of every generation so far, is at its queue offset with its body;
//! * for every (group, queue), the stored offset is the last acknowledged commit or reset, or one
//!   of the writes issued after it that got no answer (in flight at the kill, or refused with an
//!   error whose outcome is unknown): writes per queue are issued one at a time, so nothing older
//!   than the last acknowledged one may come back, and nothing that was never written may appear;
//! * the recovery time is measured: spawn → `ferromq ready`, and spawn → first successful request.
//!
//! The random kill moments come from a seed printed at the start (`FERROMQ_CRASH_SEED` replays).
//!
//! Layout: `model.rs` (what the test knows was acknowledged), `load.rs` (the load of one
//! generation), `verify.rs` (the checks after each restart); the loop itself is below.

use crate::common;

mod load;
mod model;
mod verify;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Server;
use ferromq_client::MqClient;
use ferromq_protocol::body::TopicConfig;

use load::run_load;
use model::{Model, Rng};
use verify::verify;

const TOPIC: &str = "CrashLoop";
const QUEUES: i32 = 4;
const SENDERS: usize = 6;
/// Only commits (never reset): every acknowledged commit is stored.
const COMMIT_GROUP: &str = "CL_commit";
/// Resets and commits from one task: commits after a reset are acknowledged but ignored until
/// the group catches up (remark "previously reset"), which the model follows.
const RESET_GROUP: &str = "CL_reset";
/// The live consumer's group.
const CONSUMER_GROUP: &str = "CL_consumer";
const GROUPS: [&str; 3] = [COMMIT_GROUP, RESET_GROUP, CONSUMER_GROUP];
/// The kill comes this long after the load started (uniformly at random).
const KILL_WINDOW_MS: (u64, u64) = (150, 1200);
/// Small segments, so kills also land around segment rolls.
const SEGMENT_SIZE: u64 = 1 << 20;

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median_max(v: &[Duration]) -> (f64, f64) {
    let mut s: Vec<f64> = v.iter().copied().map(millis).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    (median, s[n - 1])
}

#[test]
fn crash_loop_keeps_acknowledged_messages_and_offsets() {
    let loops: u32 = std::env::var("FERROMQ_CRASH_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    assert!(loops > 0, "FERROMQ_CRASH_LOOPS must be > 0");
    let seed: u64 = std::env::var("FERROMQ_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash loop: {loops} kills, FERROMQ_CRASH_SEED={seed}");
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    // Small segments need a smaller message limit (it must stay below the segment size).
    let config = tempfile::Builder::new()
        .prefix("ferromq-crash-loop-")
        .suffix(".toml")
        .tempfile()
        .unwrap();
    std::fs::write(
        config.path(),
        format!("[broker]\nsegment-size = {SEGMENT_SIZE}\nmax-message-size = 65536\n"),
    )
    .unwrap();
    let config_path = config.path().to_str().unwrap().to_string();
    let mut server = Server::standalone(&[
        "--config",
        &config_path,
        "--flush-mode",
        "sync",
        "--offset-durability",
        "durable",
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker = server.broker_addr();
    let namesrv = server.namesrv_addr();
    rt.block_on(async {
        let client = MqClient::new(&namesrv, Duration::from_secs(5));
        client
            .create_topic(&broker, &TopicConfig::new(TOPIC, QUEUES))
            .await
            .unwrap();
        client.remoting.close();
    });
    let model = Arc::new(Model::default());
    let mut ready_times = Vec::new();
    let mut first_ok_times = Vec::new();
    for gen in 1..=loops {
        let client = Arc::new(MqClient::new(&namesrv, Duration::from_secs(5)));
        let stop = Arc::new(AtomicBool::new(false));
        let load = rt.spawn(run_load(
            client.clone(),
            broker.clone(),
            model.clone(),
            gen,
            rng.next(),
            stop.clone(),
        ));
        let delay = KILL_WINDOW_MS.0 + rng.below(KILL_WINDOW_MS.1 - KILL_WINDOW_MS.0);
        std::thread::sleep(Duration::from_millis(delay));
        server.kill();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), load)
                .await
                .expect("the load stops once the broker is gone")
                .expect("load tasks");
        });
        stop.store(true, Ordering::Relaxed);
        client.remoting.close();

        let spawned = Instant::now();
        server.restart();
        let ready = spawned.elapsed();
        let client = MqClient::new(&namesrv, Duration::from_secs(5));
        let first_ok = rt.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if client.max_offset(&broker, TOPIC, 0).await.is_ok() {
                    return spawned.elapsed();
                }
                assert!(
                    Instant::now() < deadline,
                    "no successful request within 20 s of the restart"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        rt.block_on(verify(&client, &broker, &model, gen));
        client.remoting.close();
        eprintln!(
            "kill {gen}/{loops} after {delay} ms: {} acknowledged messages in all, ready in {:.0} ms, first request after {:.0} ms",
            model.messages.lock().unwrap().len(),
            millis(ready),
            millis(first_ok)
        );
        ready_times.push(ready);
        first_ok_times.push(first_ok);
    }
    assert!(
        server.stop().success(),
        "clean exit on SIGTERM after the crash loop"
    );

    let messages = model.messages.lock().unwrap().len();
    assert!(
        messages > 100 * loops as usize / 2,
        "the load made progress ({messages} messages)"
    );
    assert!(
        model.commits_acked.load(Ordering::Relaxed) > 0,
        "commits were acknowledged"
    );
    assert!(
        model.resets_acked.load(Ordering::Relaxed) > 0,
        "resets were acknowledged"
    );
    let (ready_median, ready_max) = median_max(&ready_times);
    let (first_median, first_max) = median_max(&first_ok_times);
    eprintln!(
        "crash loop done in {:.1} s: {loops} SIGKILLs, {messages} acknowledged messages, {} commits stored, {} commits ignored after resets, {} resets, {} pulled messages checked, {} error answers",
        started.elapsed().as_secs_f64(),
        model.commits_acked.load(Ordering::Relaxed),
        model.commits_ignored.load(Ordering::Relaxed),
        model.resets_acked.load(Ordering::Relaxed),
        model.pulled_checked.load(Ordering::Relaxed),
        model.write_errors.load(Ordering::Relaxed),
    );
    eprintln!(
        "recovery time over {loops} kills: spawn→ready median {ready_median:.0} ms, max {ready_max:.0} ms; spawn→first successful request median {first_median:.0} ms, max {first_max:.0} ms"
    );
    // One line for scripts/crashloop.sh.
    eprintln!(
        "CRASHLOOP kills={loops} ready_median_ms={ready_median:.0} ready_max_ms={ready_max:.0} first_request_median_ms={first_median:.0} first_request_max_ms={first_max:.0} messages={messages}"
    );
}
