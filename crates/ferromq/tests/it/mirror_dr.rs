//! `ferromq mirror` end to end: two clusters (a `ferromq standalone` each, both with a broker
//! named broker-a), a producer writing to the primary the whole time, real consumers (the C++
//! client through PyPI rocketmq 0.4.4 and npm ali-ons) consuming part of it with committed
//! offsets, an admin reset on the primary for a group that was never online, the mirror
//! SIGKILLed and restarted in the middle; then the primary is SIGKILLed and the same groups
//! start on the backup.
//!
//! Checked: every acknowledged message is on the backup at the same queue and offset with the
//! same body; each group's first message on the backup is the one at its last commit (or reset
//! point) on the primary; nothing is delivered twice.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    client_args, mirror_status, poll_until, pull_at, spawn_client, start_mirror, topic_error,
    try_mirror_status, Client, Server, SyncClient,
};
use ferromq_client::MqClient;
use ferromq_protocol::codes::response as rs;
use ferromq_protocol::message::{find_property, prop};
use serde_json::Value;

const TOPIC: &str = "DrOrders";
const QUEUES: i32 = 4;

/// What this file checks on one cluster, through ferromq's own client.
trait DrCluster {
    /// GET_MAX_OFFSET of `TOPIC`:`q`.
    fn max(&self, q: i32) -> i64;
    /// The committed offsets of `group` on every queue of `TOPIC`.
    fn offsets(&self, group: &str) -> Vec<Option<i64>>;
    /// Every message of a queue: (offset, body, source msgId property).
    fn read_all(&self, q: i32) -> Vec<(i64, String, Option<String>)>;
}

impl DrCluster for SyncClient {
    fn max(&self, q: i32) -> i64 {
        self.max_offset(TOPIC, q).expect("max offset")
    }

    fn offsets(&self, group: &str) -> Vec<Option<i64>> {
        self.query_queues(group, TOPIC, QUEUES)
    }

    fn read_all(&self, q: i32) -> Vec<(i64, String, Option<String>)> {
        let mut out = Vec::new();
        let mut next = 0;
        let max = self.max(q);
        while next < max {
            let p = pull_at("dr_reader", TOPIC, q, next, 256);
            let r = self
                .block_on(self.client.pull(&self.broker, &p))
                .expect("pull");
            assert_eq!(r.code, rs::SUCCESS, "pull {q}@{next}");
            for m in r.messages {
                let id = find_property(&m.properties, prop::MIRROR_MSG_ID).map(String::from);
                out.push((
                    m.queue_offset,
                    String::from_utf8_lossy(&m.body).into_owned(),
                    id,
                ));
                next = m.queue_offset + 1;
            }
        }
        out
    }
}

/// Sends to the primary until told to stop: ~400 msg/s round robin over the queues; every
/// acknowledged send is recorded as (queue, offset) → body.
fn producer(
    namesrv: String,
    broker: String,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<BTreeMap<(i32, i64), String>> {
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = MqClient::new(&namesrv, Duration::from_secs(5));
        let mut acked = BTreeMap::new();
        let mut seq = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let q = (seq % QUEUES as u64) as i32;
            let body = format!("dr-{seq}");
            if let Ok(r) = rt.block_on(client.send(
                &broker,
                "dr_producer",
                TOPIC,
                q,
                Bytes::from(body.clone()),
                "",
            )) {
                acked.insert((r.queue_id, r.queue_offset), body);
            }
            seq += 1;
            thread::sleep(Duration::from_micros(2500));
        }
        acked
    })
}

fn admin(namesrv: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ferromq"))
        .arg("admin")
        .arg("-n")
        .arg(namesrv)
        .args(args)
        .output()
        .expect("ferromq admin");
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn consumer_args(namesrv: &str, group: &str, extra: &[&str]) -> Vec<String> {
    client_args(namesrv, TOPIC, group, extra)
}

/// Per queue, the queue offsets of the messages delivered successfully.
fn delivered(lines: &[Value]) -> HashMap<i32, Vec<i64>> {
    let mut by_q: HashMap<i32, Vec<i64>> = HashMap::new();
    for l in lines {
        if l["event"] == "message" && l["result"] != "retry" {
            by_q.entry(l["queueId"].as_i64().unwrap_or(-1) as i32)
                .or_default()
                .push(l["queueOffset"].as_i64().unwrap_or(-1));
        }
    }
    by_q
}

#[test]
fn failover_to_the_backup_with_real_clients_and_a_mirror_restart() {
    let mut primary = Server::standalone(&[]);
    let backup = Server::standalone(&[]);
    let a = SyncClient::new(&primary);
    let b = SyncClient::new(&backup);
    a.create_topic(TOPIC, QUEUES);
    let state = tempfile::tempdir().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let producing = producer(a.namesrv.clone(), a.broker.clone(), stop.clone());
    let mut mirror = start_mirror(&a.namesrv, &b.namesrv, state.path(), &[]);
    thread::sleep(Duration::from_millis(1500));

    // Real consumers take part of the stream on the primary, commit, and leave.
    let cpp = spawn_client(
        Client::Cpp,
        "consumer",
        &consumer_args(&a.namesrv, "DrCpp", &["--timeout", "6"]),
    );
    let node = spawn_client(
        Client::Node,
        "consumer",
        &consumer_args(&a.namesrv, "DrNode", &["--timeout", "6"]),
    );
    // The mirror dies in the middle and comes back on the same state dir.
    thread::sleep(Duration::from_secs(3));
    mirror.kill();
    thread::sleep(Duration::from_millis(500));
    let mut mirror = start_mirror(&a.namesrv, &b.namesrv, state.path(), &[]);
    for mut c in [cpp, node] {
        c.wait(Duration::from_secs(40));
        assert!(!c.messages().is_empty(), "{} consumed nothing", c.label());
    }
    // A group that was never online gets a starting point on the primary.
    admin(
        &a.namesrv,
        &[
            "offsets",
            "reset",
            "--group",
            "DrPreset",
            "--topic",
            TOPIC,
            "--to-offset",
            "40",
            "--execute",
        ],
    );
    let reset_at = Instant::now();
    let preset_synced = poll_until(Duration::from_secs(10), || {
        b.offsets("DrPreset") == vec![Some(40); QUEUES as usize]
    });
    let sync_lag = reset_at.elapsed();
    assert!(
        preset_synced,
        "preset reached the backup: {:?}",
        b.offsets("DrPreset")
    );
    eprintln!("offset sync of an admin reset: {sync_lag:?}");
    thread::sleep(Duration::from_millis(800));
    stop.store(true, Ordering::Relaxed);
    let acked = producing.join().unwrap();
    assert!(acked.len() > 2000, "produced only {}", acked.len());

    // Wait until the backup holds everything and the group offsets agree.
    let groups = ["DrCpp", "DrNode", "DrPreset"];
    let caught_up = poll_until(Duration::from_secs(30), || {
        (0..QUEUES).all(|q| b.max(q) == a.max(q))
            && groups.iter().all(|g| b.offsets(g) == a.offsets(g))
    });
    let committed: BTreeMap<&str, Vec<Option<i64>>> =
        groups.iter().map(|g| (*g, a.offsets(g))).collect();
    assert!(
        caught_up,
        "backup caught up: max a={:?} b={:?}, offsets a={committed:?} b={:?}",
        (0..QUEUES).map(|q| a.max(q)).collect::<Vec<_>>(),
        (0..QUEUES).map(|q| b.max(q)).collect::<Vec<_>>(),
        groups.iter().map(|g| b.offsets(g)).collect::<Vec<_>>()
    );
    let ends: Vec<i64> = (0..QUEUES).map(|q| a.max(q)).collect();
    let status = try_mirror_status(state.path()).expect("status json");
    assert_eq!(status["phase"], "running", "{status}");
    assert_eq!(status["topics"][0]["messageLag"], 0, "{status}");

    // The primary is lost.
    primary.kill();

    // Every acknowledged message is on the backup, same queue, offset and body, with its source id.
    for q in 0..QUEUES {
        let got = b.read_all(q);
        let want: Vec<(i64, &String)> = acked
            .range((q, 0)..(q, i64::MAX))
            .map(|((_, o), body)| (*o, body))
            .collect();
        assert_eq!(
            got.len(),
            want.len(),
            "queue {q}: backup has {} of {}",
            got.len(),
            want.len()
        );
        for ((o, body, id), (wo, wbody)) in got.iter().zip(&want) {
            assert_eq!((o, body), (wo, *wbody), "queue {q}");
            assert!(id.is_some(), "queue {q} offset {o}: no source msgId");
        }
    }

    // The same groups start on the backup and go on exactly where they were.
    let mut runs = Vec::new();
    for (group, kind) in [
        ("DrCpp", Client::Cpp),
        ("DrNode", Client::Node),
        ("DrPreset", Client::Cpp),
    ] {
        let start = &committed[group];
        let expect: i64 = (0..QUEUES as usize)
            .map(|q| ends[q] - start[q].unwrap_or(0))
            .sum();
        let args = consumer_args(
            &b.namesrv,
            group,
            &[
                "--expect",
                &expect.to_string(),
                "--linger",
                "2",
                "--timeout",
                "60",
            ],
        );
        runs.push((group, spawn_client(kind, "consumer", &args), expect));
    }
    for (group, mut c, expect) in runs {
        c.wait(Duration::from_secs(80));
        let by_q = delivered(&c.lines());
        let start = &committed[group];
        let mut total = 0;
        for q in 0..QUEUES {
            let mut offs = by_q.get(&q).cloned().unwrap_or_default();
            let first = start[q as usize].unwrap_or(0);
            let n = offs.len();
            offs.sort_unstable();
            offs.dedup();
            assert_eq!(
                offs.len(),
                n,
                "{group} queue {q}: a message was delivered twice"
            );
            let want: Vec<i64> = (first..ends[q as usize]).collect();
            assert_eq!(
                offs, want,
                "{group} queue {q}: starts at {first}, runs to the end"
            );
            total += n as i64;
        }
        assert_eq!(total, expect, "{group}");
    }
    mirror.kill();
}

/// A state dir whose file is damaged: the mirror refuses to start and says why.
#[test]
fn a_corrupt_state_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("state.json"),
        "ferromq-mirror-state 1 00000000 5\n{}{}x",
    )
    .unwrap();
    let mut m = start_mirror("127.0.0.1:1", "127.0.0.1:2", dir.path(), &[]);
    let code = m.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(1), "{}", m.output());
    assert!(m.output().contains("corrupt"), "{}", m.output());
}

fn send_n(c: &SyncClient, topic: &str, q: i32, n: usize, size: usize) {
    for _ in 0..n {
        c.send("dr_producer", topic, q, vec![b'x'; size]);
    }
}

fn topic_max(c: &SyncClient, topic: &str, q: i32) -> i64 {
    c.max_offset(topic, q).unwrap_or(-1)
}

/// Bad input: a topic with another queue count on the target is refused with a clear message;
/// a message larger than the target accepts stops only its queue; the source going down is
/// reported and the mirror resumes when it is back.
#[test]
fn mismatched_topics_oversized_messages_and_a_source_outage() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("small.toml");
    std::fs::write(&cfg, "[broker]\nmax-message-size = 65536\n").unwrap();
    let mut primary = Server::standalone(&[]);
    let backup = Server::standalone(&["--config", &cfg.display().to_string()]);
    let a = SyncClient::new(&primary);
    let b = SyncClient::new(&backup);
    for (t, n) in [("DrSame", 2), ("DrMismatch", 4), ("DrBig", 2)] {
        a.create_topic(t, n);
    }
    b.create_topic("DrMismatch", 2);
    for q in 0..2 {
        send_n(&a, "DrSame", q, 10, 100);
        send_n(&a, "DrMismatch", q, 3, 100);
    }
    send_n(&a, "DrBig", 0, 10, 100);
    send_n(&a, "DrBig", 1, 5, 100);
    send_n(&a, "DrBig", 1, 1, 100 * 1024);
    send_n(&a, "DrBig", 1, 4, 100);
    let state = dir.path().join("state");
    let _mirror = start_mirror(&a.namesrv, &b.namesrv, &state, &[]);

    let copied = poll_until(Duration::from_secs(20), || {
        (0..2).all(|q| topic_max(&b, "DrSame", q) == 10)
            && topic_max(&b, "DrBig", 0) == 10
            && topic_max(&b, "DrBig", 1) == 5
            && topic_error(&mirror_status(&state), "DrBig").contains("stopped")
            && topic_error(&mirror_status(&state), "DrMismatch").contains("not mirrored")
    });
    let s = mirror_status(&state);
    assert!(copied, "status: {s:#}");
    assert!(
        topic_error(&s, "DrBig").contains("source offset 5"),
        "{s:#}"
    );
    assert!(
        topic_error(&s, "DrMismatch").contains("4/4 read/write queues"),
        "{s:#}"
    );

    // The source goes down: reported; back up: the mirror resumes by itself.
    primary.kill();
    let reported = poll_until(Duration::from_secs(20), || {
        let s = mirror_status(&state);
        !s["errors"].as_array().is_none_or(|e| e.is_empty())
            || topic_error(&s, "DrSame").contains("source")
    });
    assert!(reported, "outage reported: {:#}", mirror_status(&state));
    // 5 more messages on each queue of DrSame, then wait until the backup holds `want` there.
    let send_and_wait = |a: &SyncClient, b: &SyncClient, want: i64, what: &str| {
        for q in 0..2 {
            send_n(a, "DrSame", q, 5, 100);
        }
        let resumed = poll_until(Duration::from_secs(30), || {
            (0..2).all(|q| topic_max(b, "DrSame", q) == want)
        });
        assert!(resumed, "{what}: {:#}", mirror_status(&state));
    };
    primary.restart();
    let a = SyncClient::new(&primary);
    send_and_wait(&a, &b, 15, "resumed after the outage");

    // The target restarts too: the mirror goes on without copying anything twice.
    let mut backup = backup;
    backup.restart();
    let b = SyncClient::new(&backup);
    send_and_wait(&a, &b, 20, "resumed after a target restart");
    thread::sleep(Duration::from_millis(500));
    assert!(
        (0..2).all(|q| topic_max(&b, "DrSame", q) == 20),
        "nothing copied twice"
    );
}

/// Failover through the command, then failback: mirroring the backup to the old primary
/// copies only what was produced on the backup, and offsets that point at copies translate to
/// the originals.
#[test]
fn failover_command_then_failback_without_duplicates() {
    let primary = Server::standalone(&[]);
    let backup = Server::standalone(&[]);
    let a = SyncClient::new(&primary);
    let b = SyncClient::new(&backup);
    a.create_topic(TOPIC, 2);
    for q in 0..2 {
        send_n(&a, TOPIC, q, 200, 100);
        a.commit("FbGroup", TOPIC, q, 150);
    }
    let dir = tempfile::tempdir().unwrap();
    let forward = dir.path().join("forward");
    let mut m = start_mirror(&a.namesrv, &b.namesrv, &forward, &[]);
    assert!(poll_until(Duration::from_secs(20), || {
        b.offsets("FbGroup")[..2] == [Some(150), Some(150)]
    }));
    let out = Command::new(env!("CARGO_BIN_EXE_ferromq"))
        .args([
            "mirror",
            "failover",
            "--state-dir",
            &forward.display().to_string(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Failover complete"), "{text}");
    assert!(text.contains(&b.namesrv), "{text}");
    assert_eq!(
        m.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        m.output()
    );

    // Life goes on on the backup.
    for q in 0..2 {
        send_n(&b, TOPIC, q, 50, 100);
        b.commit("FbGroup", TOPIC, q, 120);
        b.commit("FbDone", TOPIC, q, 250);
    }
    let back = dir.path().join("back");
    let _m = start_mirror(&b.namesrv, &a.namesrv, &back, &[]);
    let synced = poll_until(Duration::from_secs(20), || {
        (0..2).all(|q| topic_max(&a, TOPIC, q) == 250)
            && a.offsets("FbGroup")[..2] == [Some(120), Some(120)]
            && a.offsets("FbDone")[..2] == [Some(250), Some(250)]
    });
    assert!(
        synced,
        "failback: max {:?}, FbGroup {:?}, FbDone {:?}",
        (0..2).map(|q| topic_max(&a, TOPIC, q)).collect::<Vec<_>>(),
        a.offsets("FbGroup"),
        a.offsets("FbDone")
    );
}
