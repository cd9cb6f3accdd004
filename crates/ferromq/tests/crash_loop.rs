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

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Server;
use ferromq_client::requests::{self, Pull};
use ferromq_client::{ClientError, MqClient};
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::{request as rq, response as rs};
use ferromq_protocol::RemotingCommand;
use serde_json::{json, Value};

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

/// xorshift64*: enough randomness for kill moments and payload sizes, no extra dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the test knows about one (group, queue) offset.
#[derive(Default, Debug, Clone)]
struct OffsetModel {
    /// The last acknowledged write (or the value found after the previous restart).
    confirmed: Option<i64>,
    /// Writes issued after it without an acknowledgement: each may or may not have been applied.
    unknown: Vec<i64>,
}

#[derive(Default)]
struct Model {
    /// (queue, offset) → body of every acknowledged send, all generations.
    messages: Mutex<HashMap<(i32, i64), String>>,
    /// Highest acknowledged offset + 1 per queue (a reset target up to it is never clamped).
    acked_end: Mutex<BTreeMap<i32, i64>>,
    offsets: Mutex<BTreeMap<(String, i32), OffsetModel>>,
    commits_acked: AtomicU64,
    commits_ignored: AtomicU64,
    resets_acked: AtomicU64,
    pulled_checked: AtomicU64,
    write_errors: AtomicU64,
}

impl Model {
    fn sent(&self, q: i32, off: i64, body: String) {
        let prev = self.messages.lock().unwrap().insert((q, off), body.clone());
        assert!(
            prev.is_none(),
            "queue {q} offset {off} acknowledged twice ({prev:?} and {body})"
        );
        let mut end = self.acked_end.lock().unwrap();
        let e = end.entry(q).or_default();
        *e = (*e).max(off + 1);
    }

    fn acked_end(&self, q: i32) -> i64 {
        self.acked_end.lock().unwrap().get(&q).copied().unwrap_or(0)
    }

    /// Before a write of `v` is sent.
    fn issue(&self, group: &str, q: i32, v: i64) {
        let mut o = self.offsets.lock().unwrap();
        o.entry((group.to_string(), q)).or_default().unknown.push(v);
    }

    /// The write of `v` was acknowledged and stored.
    fn stored(&self, group: &str, q: i32, v: i64) {
        let mut o = self.offsets.lock().unwrap();
        let m = o.entry((group.to_string(), q)).or_default();
        m.confirmed = Some(v);
        m.unknown.clear();
    }

    /// The write of `v` was acknowledged as not stored (a commit that predates a reset).
    fn not_stored(&self, group: &str, q: i32, v: i64) {
        let mut o = self.offsets.lock().unwrap();
        let m = o.entry((group.to_string(), q)).or_default();
        if let Some(i) = m.unknown.iter().rposition(|&x| x == v) {
            m.unknown.remove(i);
        }
    }
}

fn transport_error(e: &ClientError) -> bool {
    e.code().is_none()
}

/// One generation of load, until the broker dies under it (or `stop` is set).
async fn run_load(
    client: Arc<MqClient>,
    broker: String,
    model: Arc<Model>,
    gen: u32,
    seed: u64,
    stop: Arc<AtomicBool>,
) {
    let mut tasks = Vec::new();
    for t in 0..SENDERS {
        let (client, broker, model, stop) =
            (client.clone(), broker.clone(), model.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9));
            for i in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let q = ((t as u64 + i) % QUEUES as u64) as i32;
                let pad = "p".repeat(rng.below(1500) as usize);
                let body = format!("g{gen}-s{t}-m{i}-{pad}");
                match client
                    .send(
                        &broker,
                        "CL_producer",
                        TOPIC,
                        q,
                        Bytes::from(body.clone()),
                        "",
                    )
                    .await
                {
                    Ok(r) => {
                        assert_eq!(r.queue_id, q, "sent to queue {q}, stored in {}", r.queue_id);
                        model.sent(r.queue_id, r.queue_offset, body);
                    }
                    Err(e) if transport_error(&e) => return,
                    Err(_) => {
                        model.write_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    // The committer: increasing values, one write at a time per queue.
    {
        let (client, broker, model, stop) =
            (client.clone(), broker.clone(), model.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut v = i64::from(gen) * 1_000_000;
            while !stop.load(Ordering::Relaxed) {
                v += 1;
                let q = (v % i64::from(QUEUES)) as i32;
                if commit(&client, &broker, &model, COMMIT_GROUP, q, v)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }));
    }
    // The resetter: resets (both codes) and commits of RESET_GROUP, one at a time.
    {
        let (client, broker, model, stop) =
            (client.clone(), broker.clone(), model.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ 0xDEAD_BEEF);
            while !stop.load(Ordering::Relaxed) {
                let q = rng.below(QUEUES as u64) as i32;
                let target = rng.below(model.acked_end(q) as u64 + 1) as i64;
                let r = match rng.below(3) {
                    0 => reset_9001(&client, &broker, &model, q, target).await,
                    1 => reset_222(&client, &broker, &model, q, target).await,
                    _ => commit(&client, &broker, &model, RESET_GROUP, q, target).await,
                };
                if r.is_err() {
                    return;
                }
            }
        }));
    }
    // The live consumer.
    {
        let (client, broker, model, stop) =
            (client.clone(), broker.clone(), model.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut pos: BTreeMap<i32, i64> = BTreeMap::new();
            {
                let o = model.offsets.lock().unwrap();
                for q in 0..QUEUES {
                    let k = (CONSUMER_GROUP.to_string(), q);
                    pos.insert(q, o.get(&k).and_then(|m| m.confirmed).unwrap_or(0));
                }
            }
            let mut idle = 0;
            while !stop.load(Ordering::Relaxed) {
                for q in 0..QUEUES {
                    let at = pos[&q];
                    let p = Pull {
                        group: CONSUMER_GROUP,
                        topic: TOPIC,
                        queue_id: q,
                        offset: at,
                        max_msgs: 32,
                        subscription: Some("*"),
                        suspend_ms: 0,
                        commit_offset: None,
                    };
                    let r = match client.pull(&broker, &p).await {
                        Ok(r) => r,
                        Err(_) => return,
                    };
                    match r.code {
                        rs::SUCCESS => {
                            idle = 0;
                            for m in &r.messages {
                                let body = String::from_utf8_lossy(&m.body);
                                let want = model
                                    .messages
                                    .lock()
                                    .unwrap()
                                    .get(&(q, m.queue_offset))
                                    .cloned();
                                if let Some(want) = want {
                                    assert_eq!(
                                        body, want,
                                        "consumer read queue {q} offset {} with a body other than the acknowledged one",
                                        m.queue_offset
                                    );
                                    model.pulled_checked.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            pos.insert(q, r.next_begin_offset);
                            if commit(&client, &broker, &model, CONSUMER_GROUP, q, r.next_begin_offset)
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        rs::PULL_OFFSET_MOVED => {
                            pos.insert(q, r.next_begin_offset);
                        }
                        _ => idle += 1,
                    }
                }
                if idle > QUEUES * 4 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("load task panicked");
    }
}

/// UPDATE_CONSUMER_OFFSET, recorded in the model. `Err` when the broker is gone.
async fn commit(
    client: &MqClient,
    broker: &str,
    model: &Model,
    group: &str,
    q: i32,
    v: i64,
) -> Result<(), ()> {
    model.issue(group, q, v);
    let req = requests::update_consumer_offset(group, TOPIC, q, v);
    match client.remoting.invoke_raw(broker, req).await {
        Ok(r) if r.code == rs::SUCCESS => {
            if r.remark
                .as_deref()
                .is_some_and(|s| s.contains("previously reset"))
            {
                model.not_stored(group, q, v);
                model.commits_ignored.fetch_add(1, Ordering::Relaxed);
            } else {
                model.stored(group, q, v);
                model.commits_acked.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
        Ok(_) => {
            model.write_errors.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(_) => Err(()),
    }
}

/// FERRO_RESET_OFFSETS (9001) of one queue of RESET_GROUP to `target`.
async fn reset_9001(
    client: &MqClient,
    broker: &str,
    model: &Model,
    q: i32,
    target: i64,
) -> Result<(), ()> {
    model.issue(RESET_GROUP, q, target);
    let req = json!({
        "groups": [RESET_GROUP],
        "topics": [{"topic": TOPIC, "queues": [q]}],
        "spec": {"kind": "perQueue", "value": [{"topic": TOPIC, "queueId": q, "offset": target}]},
        "dryRun": false,
        "allowIntents": false,
    });
    match client
        .ferro::<Value, Value>(broker, rq::FERRO_RESET_OFFSETS, &req)
        .await
    {
        Ok(plan) => {
            let queues = plan["queues"].as_array().cloned().unwrap_or_default();
            assert_eq!(queues.len(), 1, "one queue planned: {plan}");
            let got = queues[0]["target"].as_i64();
            assert_eq!(got, Some(target), "reset to {target} not clamped: {plan}");
            model.stored(RESET_GROUP, q, target);
            model.resets_acked.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(e) if transport_error(&e) => Err(()),
        Err(_) => {
            model.write_errors.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222), queue/offset form.
async fn reset_222(
    client: &MqClient,
    broker: &str,
    model: &Model,
    q: i32,
    target: i64,
) -> Result<(), ()> {
    model.issue(RESET_GROUP, q, target);
    let req = RemotingCommand::request(rq::INVOKE_BROKER_TO_RESET_OFFSET)
        .with_ext("group", RESET_GROUP)
        .with_ext("topic", TOPIC)
        .with_ext("queueId", q)
        .with_ext("offset", target)
        .with_ext("timestamp", -1)
        .with_ext("isForce", true);
    match client.remoting.invoke_raw(broker, req).await {
        Ok(r) if r.code == rs::SUCCESS => {
            assert!(
                !r.remark.as_deref().unwrap_or("").contains("clamped"),
                "reset to {target} clamped: {:?}",
                r.remark
            );
            model.stored(RESET_GROUP, q, target);
            model.resets_acked.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Ok(_) => {
            model.write_errors.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(_) => Err(()),
    }
}

/// Every message of every queue, read back with PULL_MESSAGE.
async fn read_all(client: &MqClient, broker: &str) -> HashMap<(i32, i64), String> {
    let mut stored = HashMap::new();
    for q in 0..QUEUES {
        let mut offset = 0;
        loop {
            let p = Pull {
                group: "CL_check",
                topic: TOPIC,
                queue_id: q,
                offset,
                max_msgs: 256,
                subscription: Some("*"),
                suspend_ms: 0,
                commit_offset: None,
            };
            let r = client.pull(broker, &p).await.expect("pull after restart");
            if r.code != rs::SUCCESS {
                break;
            }
            for m in &r.messages {
                assert_eq!(m.queue_id, q);
                stored.insert(
                    (q, m.queue_offset),
                    String::from_utf8_lossy(&m.body).into_owned(),
                );
            }
            assert!(r.next_begin_offset > offset, "pull made progress");
            offset = r.next_begin_offset;
        }
    }
    stored
}

/// The stored offsets of our groups (FERRO_EXPORT_OFFSETS: exactly what the table holds).
async fn stored_offsets(client: &MqClient, broker: &str) -> BTreeMap<(String, i32), i64> {
    let v: Value = client
        .ferro(
            broker,
            rq::FERRO_EXPORT_OFFSETS,
            &json!({ "groups": GROUPS }),
        )
        .await
        .expect("export offsets after restart");
    let mut out = BTreeMap::new();
    for r in v["records"].as_array().expect("records") {
        let group = r["group"].as_str().expect("group").to_string();
        assert_eq!(r["topic"].as_str(), Some(TOPIC), "unexpected record {r}");
        let q = r["queueId"].as_i64().expect("queueId") as i32;
        out.insert((group, q), r["offset"].as_i64().expect("offset"));
    }
    out
}

/// Checks the restarted broker against the model, then makes what it found the new baseline.
async fn verify(client: &MqClient, broker: &str, model: &Model, gen: u32) {
    let stored = read_all(client, broker).await;
    {
        let acked = model.messages.lock().unwrap();
        for ((q, off), body) in acked.iter() {
            match stored.get(&(*q, *off)) {
                Some(b) if b == body => {}
                Some(b) => panic!(
                    "after kill {gen}: queue {q} offset {off} holds {:.40}…, acknowledged was {:.40}…",
                    b, body
                ),
                None => panic!(
                    "after kill {gen}: acknowledged message {:.40}… at queue {q} offset {off} is lost",
                    body
                ),
            }
        }
    }
    let table = stored_offsets(client, broker).await;
    let mut offsets = model.offsets.lock().unwrap();
    for (key, got) in &table {
        let m = offsets
            .get(key)
            .unwrap_or_else(|| panic!("after kill {gen}: {key:?} = {got} was never written"));
        assert!(
            m.confirmed == Some(*got) || m.unknown.contains(got),
            "after kill {gen}: {key:?} = {got}; the last acknowledged write was {:?}, unanswered ones after it {:?}",
            m.confirmed,
            m.unknown
        );
    }
    for (key, m) in offsets.iter_mut() {
        match table.get(key) {
            Some(&got) => m.confirmed = Some(got),
            None => assert!(
                m.confirmed.is_none(),
                "after kill {gen}: {key:?} is gone; the last acknowledged write was {:?}",
                m.confirmed
            ),
        }
        m.unknown.clear();
    }
}

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
