//! End-to-end tests of consumer progress (offset) management with the real third-party clients
//! (the Apache C++ client through PyPI `rocketmq==0.4.4`, and npm `ali-ons@3.12.0`, see
//! `compat/README.md`; run `compat/setup.sh` once) and ferromq's own client for the admin codes.
//!
//! * pre-set offsets for a group that was never online survive a SIGKILL, and a consumer of that
//!   group starts exactly there;
//! * a backward reset of a running group replays from the target (C++: RESET_CONSUMER_CLIENT_OFFSET,
//!   ali-ons: PULL_OFFSET_MOVED), and no stale client commit moves the stored offset past what was
//!   delivered again (the replay is slowed with `--redelivery-delay-ms` so that the clients' periodic
//!   commits land while it runs); a forward reset to the end skips the backlog built while the group
//!   was offline;
//! * `--offset-durability durable`: every acknowledged UPDATE_CONSUMER_OFFSET survives SIGKILL;
//! * FERRO_UNDO restores a reset's before-values and is recorded in FERRO_HISTORY.
//!
//! Every test runs on its own server and stays within [`scenarios::TEST_BUDGET`] (90 s). Failures
//! carry the clients' diagnostics and the server's output tail (printed by the harness on drop).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::scenarios::{self, Budget};
use common::{field_i64, field_str, poll_until, Client, ClientProcess, Server};
use ferromq_client::MqClient;
use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::codes::request as rq;
use ferromq_protocol::codes::response as rs;
use serde_json::{json, Value};

const QUEUES: i32 = 4;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// ferromq's own client, driven synchronously from the test thread.
struct Admin {
    rt: tokio::runtime::Runtime,
    client: MqClient,
    broker: String,
}

impl Admin {
    fn new(server: &Server) -> Admin {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        Admin {
            rt,
            client: MqClient::new(&server.namesrv_addr(), Duration::from_secs(5)),
            broker: server.broker_addr(),
        }
    }

    fn create_topic(&self, topic: &str, queues: i32) {
        self.rt
            .block_on(
                self.client
                    .create_topic(&self.broker, &TopicConfig::new(topic, queues)),
            )
            .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
    }

    /// Sends `count` messages to every queue of `topic`, bodies `<prefix>q<Q>-o<offset>`, and
    /// checks that they land at `first_offset..first_offset + count`.
    fn fill(&self, topic: &str, prefix: &str, first_offset: i64, count: i64) {
        self.rt.block_on(async {
            for q in 0..QUEUES {
                for i in 0..count {
                    let off = first_offset + i;
                    let body = format!("{prefix}q{q}-o{off}");
                    let r = self
                        .client
                        .send(
                            &self.broker,
                            "progress_e2e_producer",
                            topic,
                            q,
                            Bytes::from(body.clone()),
                            "",
                        )
                        .await
                        .unwrap_or_else(|e| panic!("send {body}: {e}"));
                    assert_eq!(
                        (r.queue_id, r.queue_offset),
                        (q, off),
                        "send {body} landed elsewhere"
                    );
                }
            }
        });
    }

    fn query(&self, group: &str, topic: &str, q: i32) -> Option<i64> {
        self.rt
            .block_on(self.client.query_offset(&self.broker, group, topic, q))
            .unwrap_or_else(|e| panic!("QUERY_CONSUMER_OFFSET {group} {topic}:{q}: {e}"))
    }

    fn query_all(&self, group: &str, topic: &str) -> Vec<Option<i64>> {
        (0..QUEUES).map(|q| self.query(group, topic, q)).collect()
    }

    fn commit(&self, group: &str, topic: &str, q: i32, offset: i64) {
        self.rt
            .block_on(
                self.client
                    .update_offset(&self.broker, group, topic, q, offset),
            )
            .unwrap_or_else(|e| panic!("UPDATE_CONSUMER_OFFSET {group} {topic}:{q}={offset}: {e}"));
    }

    /// One of ferromq's JSON admin codes; Err(code, text) on a refusal.
    fn ferro(&self, code: i32, req: &Value) -> Result<Value, (Option<i32>, String)> {
        self.rt
            .block_on(self.client.ferro::<Value, Value>(&self.broker, code, req))
            .map_err(|e| (e.code(), e.to_string()))
    }

    fn ferro_ok(&self, code: i32, req: &Value) -> Value {
        self.ferro(code, req)
            .unwrap_or_else(|e| panic!("ferro code {code} {req} refused: {e:?}"))
    }

    fn reset(&self, group: &str, topic: &str, spec: Value) -> Value {
        self.ferro_ok(
            rq::FERRO_RESET_OFFSETS,
            &json!({
                "groups": [group],
                "topics": [{"topic": topic, "queues": null}],
                "spec": spec,
                "dryRun": false,
                "allowIntents": false,
            }),
        )
    }

    /// The stored offsets of `group` (FERRO_EXPORT_OFFSETS): exactly what the table holds,
    /// unlike QUERY_CONSUMER_OFFSET, which answers 0 for a young queue without an offset.
    fn export(&self, group: &str) -> BTreeMap<(String, i32), i64> {
        let v = self.ferro_ok(rq::FERRO_EXPORT_OFFSETS, &json!({ "groups": [group] }));
        v["records"]
            .as_array()
            .unwrap_or_else(|| panic!("export without records: {v}"))
            .iter()
            .map(|r| {
                (
                    (
                        r["topic"].as_str().unwrap().to_string(),
                        r["queueId"].as_i64().unwrap() as i32,
                    ),
                    r["offset"].as_i64().unwrap(),
                )
            })
            .collect()
    }
}

/// `plan.queues` indexed by queue id (one group, one topic).
fn plan_by_queue(plan: &Value) -> BTreeMap<i32, Value> {
    plan["queues"]
        .as_array()
        .unwrap_or_else(|| panic!("plan without queues: {plan}"))
        .iter()
        .map(|q| (q["queueId"].as_i64().unwrap() as i32, q.clone()))
        .collect()
}

fn opt_i64(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// One delivery a consumer script printed.
#[derive(Debug, Clone)]
struct Delivery {
    queue: i32,
    offset: i64,
    body: String,
}

fn deliveries(lines: &[Value], topic: &str) -> Vec<Delivery> {
    lines
        .iter()
        .filter(|v| field_str(v, "event") == Some("message"))
        .filter(|v| field_str(v, "topic") == Some(topic))
        .map(|v| Delivery {
            queue: field_i64(v, "queueId").unwrap_or(-1) as i32,
            offset: field_i64(v, "queueOffset").unwrap_or(-1),
            body: field_str(v, "body").unwrap_or_default().to_string(),
        })
        .collect()
}

/// Checks that every delivery's body matches its queue and offset (`<prefix>q<Q>-o<offset>`).
fn assert_bodies_match_positions(ds: &[Delivery], p: &ClientProcess) {
    for d in ds {
        let suffix = format!("q{}-o{}", d.queue, d.offset);
        assert!(
            d.body.ends_with(&suffix),
            "{}: delivery {d:?} does not carry the message stored at queue {} offset {}\n{}",
            p.label(),
            d.queue,
            d.offset,
            p.diagnostics()
        );
    }
}

fn group_name(prefix: &str, kind: Client) -> String {
    format!("{prefix}_{}", kind.name().replace('-', "_"))
}

// ---------------------------------------------------------------------------------------------
// 1. Pre-set offsets for a group that was never online, across a SIGKILL and restart
// ---------------------------------------------------------------------------------------------

fn preset_for_never_online_group(kind: Client) {
    let budget = Budget::new();
    let mut server = Server::standalone(&[]);
    let topic = "PresetTopic";
    let group = group_name("preset", kind);
    const PER_QUEUE: i64 = 12;
    let presets: [i64; 4] = [3, 5, 7, 9];

    let admin = Admin::new(&server);
    admin.create_topic(topic, QUEUES);
    admin.fill(topic, "pre-", 0, PER_QUEUE);

    let per_queue: Vec<Value> = (0..QUEUES)
        .map(|q| json!({"topic": topic, "queueId": q, "offset": presets[q as usize]}))
        .collect();
    let plan = admin.reset(
        &group,
        topic,
        json!({"kind": "perQueue", "value": per_queue}),
    );
    assert!(
        plan["changeId"].is_u64(),
        "applied reset has a change id: {plan}"
    );
    assert_eq!(plan["dryRun"], json!(false), "{plan}");
    let by_q = plan_by_queue(&plan);
    assert_eq!(
        by_q.len(),
        QUEUES as usize,
        "one planned queue per queue: {plan}"
    );
    for q in 0..QUEUES {
        let p = &by_q[&q];
        assert_eq!(p["group"], json!(group), "{plan}");
        assert_eq!(
            opt_i64(&p["current"]),
            None,
            "never-online group has no offset: {plan}"
        );
        assert_eq!(opt_i64(&p["target"]), Some(presets[q as usize]), "{plan}");
        assert_eq!(p["clamped"], json!(false), "{plan}");
    }
    let expected: Vec<Option<i64>> = presets.iter().map(|p| Some(*p)).collect();
    assert_eq!(
        admin.query_all(&group, topic),
        expected,
        "pre-set visible at once"
    );
    drop(admin);

    // The pre-set is an operator change: acknowledged only once it is written (survives SIGKILL).
    server.kill();
    server.restart();
    let admin = Admin::new(&server);
    assert_eq!(
        admin.query_all(&group, topic),
        expected,
        "pre-set offsets after SIGKILL + restart (QUERY_CONSUMER_OFFSET)"
    );

    let want: usize = presets.iter().map(|p| (PER_QUEUE - p) as usize).sum();
    let want_s = want.to_string();
    // --linger: keep consuming a while after the expected set to catch anything extra.
    let mut p = scenarios::consumer(
        kind,
        &server,
        topic,
        &group,
        &["--expect", &want_s, "--linger", "4"],
        &budget,
    );
    let lines = p.wait_success_or(
        budget.cap(Duration::from_secs(70)),
        "hint: the consumer of a pre-set group must start at the stored offsets \
         (QUERY_CONSUMER_OFFSET answers the pre-set) and receive everything from there",
    );
    let ds = deliveries(&lines, topic);
    assert_bodies_match_positions(&ds, &p);
    for q in 0..QUEUES {
        let preset = presets[q as usize];
        let on_q: Vec<&Delivery> = ds.iter().filter(|d| d.queue == q).collect();
        let below: Vec<&&Delivery> = on_q.iter().filter(|d| d.offset < preset).collect();
        assert!(
            below.is_empty(),
            "{}: queue {q} delivered messages below its pre-set offset {preset}: {below:?}\n{}",
            p.label(),
            p.diagnostics()
        );
        let first = on_q.first().map(|d| d.offset);
        assert_eq!(
            first,
            Some(preset),
            "{}: the first delivery of queue {q} must be the pre-set offset {preset}\n{}",
            p.label(),
            p.diagnostics()
        );
        let got: BTreeSet<i64> = on_q.iter().map(|d| d.offset).collect();
        let all: BTreeSet<i64> = (preset..PER_QUEUE).collect();
        assert_eq!(got, all, "{}: queue {q} delivered offsets", p.label());
    }
    // The client committed its progress (periodically during --linger, or on shutdown).
    let ok = poll_until(budget.cap(Duration::from_secs(8)), || {
        admin.query_all(&group, topic) == vec![Some(PER_QUEUE); QUEUES as usize]
    });
    assert!(
        ok,
        "{}: committed offsets after consuming everything: {:?} (want {PER_QUEUE} everywhere)\n{}",
        p.label(),
        admin.query_all(&group, topic),
        p.diagnostics()
    );
    eprintln!(
        "[progress_e2e] {}: pre-set {presets:?} honoured after SIGKILL ({} deliveries) in {:?}",
        kind.name(),
        ds.len(),
        budget.elapsed()
    );
}

#[test]
fn cpp_preset_for_never_online_group_survives_sigkill() {
    preset_for_never_online_group(Client::Cpp);
}

#[test]
fn ali_ons_preset_for_never_online_group_survives_sigkill() {
    preset_for_never_online_group(Client::Node);
}

// ---------------------------------------------------------------------------------------------
// 2. Reset a running group backwards (replay, no stale commit), then forwards (skip)
// ---------------------------------------------------------------------------------------------

fn reset_running_group_backward_then_forward(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "ResetTopic";
    let group = group_name("reset", kind);
    const FIRST: i64 = 40; // a- messages per queue: offsets 0..FIRST
    const TARGET: i64 = 2;
    const SKIPPED: i64 = 5; // b- messages per queue: offsets 10..15, skipped by the forward reset
    const LAST: i64 = 3; // c- messages per queue: offsets 15..18, consumed after it

    let admin = Admin::new(&server);
    admin.create_topic(topic, QUEUES);
    admin.fill(topic, "a-", 0, FIRST);

    // The replay is slowed down (each redelivery waits in the listener) so that it outlasts the
    // clients' 5 s commit period: the offset samples below then see commits land mid-replay.
    let delay_ms = replay_delay_ms(kind).to_string();
    let mut p = scenarios::consumer(
        kind,
        &server,
        topic,
        &group,
        &["--redelivery-delay-ms", &delay_ms],
        &budget,
    );
    let total_a = (FIRST * QUEUES as i64) as usize;
    p.wait_lines(
        budget.cap(Duration::from_secs(40)),
        "every a- message",
        |lines| {
            deliveries(lines, topic)
                .iter()
                .map(|d| d.body.clone())
                .collect::<BTreeSet<_>>()
                .len()
                >= total_a
        },
    );
    // The client commits periodically (every 5 s for both clients).
    let all_end = vec![Some(FIRST); QUEUES as usize];
    let committed = poll_until(budget.cap(Duration::from_secs(15)), || {
        admin.query_all(&group, topic) == all_end
    });
    assert!(
        committed,
        "{}: committed offsets never reached the end after consuming everything: {:?}\n{}",
        p.label(),
        admin.query_all(&group, topic),
        p.diagnostics()
    );
    let before_reset = p.lines().len();
    let t_reset = Instant::now();

    // Backward reset of the online group.
    let plan = admin.reset(&group, topic, json!({"kind": "offset", "value": TARGET}));
    let by_q = plan_by_queue(&plan);
    for q in 0..QUEUES {
        let pq = &by_q[&q];
        assert_eq!(opt_i64(&pq["current"]), Some(FIRST), "{plan}");
        assert_eq!(opt_i64(&pq["target"]), Some(TARGET), "{plan}");
        assert_eq!(opt_i64(&pq["replayed"]), Some(FIRST - TARGET), "{plan}");
    }

    // While the consumer replays, the stored offset must stay within
    // [TARGET, highest offset delivered again + 1]: a commit of the pre-reset position (a stale
    // commit) would skip messages that were never delivered again.
    let replayed_max = |lines: &[Value], q: i32| -> i64 {
        deliveries(&lines[before_reset.min(lines.len())..], topic)
            .iter()
            .filter(|d| d.queue == q)
            .map(|d| d.offset)
            .max()
            .unwrap_or(-1)
    };
    let mut samples = 0usize;
    // (queue, stored) pairs above the target seen while that queue was still replaying: commits
    // that landed mid-replay, which the bound below really constrained.
    let mut mid_replay_commits: BTreeSet<(i32, i64)> = BTreeSet::new();
    let mut violations: Vec<String> = Vec::new();
    let mut first_replay: Option<Duration> = None;
    let mut replay_done: Option<Duration> = None;
    let replay_deadline = t_reset + budget.cap(Duration::from_secs(30));
    let settle_deadline = t_reset + budget.cap(Duration::from_secs(45));
    loop {
        let stored = admin.query_all(&group, topic);
        samples += 1;
        let seen_before = p.lines();
        for q in 0..QUEUES {
            let s = stored[q as usize].unwrap_or(-1);
            if s < TARGET {
                violations.push(format!("queue {q}: stored {s} < reset target {TARGET}"));
                continue;
            }
            // The script prints a delivery before it returns from the listener, i.e. before the
            // client can commit past it; allow a moment for the line to reach us.
            let bound_ok = p
                .try_wait_lines(Duration::from_secs(1), |lines| {
                    s <= TARGET.max(replayed_max(lines, q) + 1)
                })
                .is_some();
            if s > TARGET && replayed_max(&seen_before, q) < FIRST - 1 {
                mid_replay_commits.insert((q, s));
            }
            if !bound_ok {
                let lines = p.lines();
                violations.push(format!(
                    "queue {q}: stored {s} after {:?} while only offsets up to {} were delivered again",
                    t_reset.elapsed(),
                    replayed_max(&lines, q)
                ));
            }
        }
        if violations.len() > 20 {
            break;
        }
        let lines = p.lines();
        let replayed: Vec<i64> = (0..QUEUES).map(|q| replayed_max(&lines, q)).collect();
        if first_replay.is_none() && replayed.iter().all(|m| *m >= TARGET) {
            first_replay = Some(t_reset.elapsed());
        }
        if replay_done.is_none() && replayed.iter().all(|m| *m == FIRST - 1) {
            replay_done = Some(t_reset.elapsed());
        }
        let done = replayed.iter().all(|m| *m == FIRST - 1) && stored == all_end;
        if done {
            break;
        }
        let now = Instant::now();
        if first_replay.is_none() && now >= replay_deadline {
            panic!(
                "{}: no replay from offset {TARGET} on every queue within {:?} of the backward reset \
                 (replayed up to {replayed:?}, stored {stored:?}; C++ gets RESET_CONSUMER_CLIENT_OFFSET, \
                 ali-ons must be answered PULL_OFFSET_MOVED)\n{}",
                p.label(),
                t_reset.elapsed(),
                p.diagnostics()
            );
        }
        if now >= settle_deadline {
            panic!(
                "{}: after the backward reset, replay/commits did not settle within {:?}: replayed up \
                 to {replayed:?}, stored {stored:?} (want every queue replayed to {} and committed {FIRST})\n{}",
                p.label(),
                t_reset.elapsed(),
                FIRST - 1,
                p.diagnostics()
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        violations.is_empty(),
        "{}: stale commits moved the stored offset past the replay ({samples} samples):\n  {}\n{}",
        p.label(),
        violations.join("\n  "),
        p.diagnostics()
    );
    // Exactly the messages from the target on were delivered again, the first one being the
    // target on every queue.
    let lines = p.lines();
    let replay = deliveries(&lines[before_reset..], topic);
    assert_bodies_match_positions(&replay, &p);
    for q in 0..QUEUES {
        let on_q: Vec<i64> = replay
            .iter()
            .filter(|d| d.queue == q)
            .map(|d| d.offset)
            .collect();
        assert_eq!(
            on_q.iter().min().copied(),
            Some(TARGET),
            "{}: queue {q} replay must start at {TARGET}: {on_q:?}",
            p.label()
        );
        let got: BTreeSet<i64> = on_q.iter().copied().collect();
        assert_eq!(
            got,
            (TARGET..FIRST).collect::<BTreeSet<i64>>(),
            "{}: queue {q} replayed offsets",
            p.label()
        );
    }
    let t_backward = t_reset.elapsed();

    // Forward reset to the end: the consumer must not receive what it skips. A running consumer
    // takes new messages within milliseconds, so the skipped backlog is built while the group is
    // offline (its pull state and history stay on the broker); then it comes back.
    let st = p.stop();
    assert!(
        st.success(),
        "{}: clean stop: {st}\n{}",
        p.label(),
        p.diagnostics()
    );
    assert_eq!(
        admin.query_all(&group, topic),
        all_end,
        "offsets after the stop"
    );
    admin.fill(topic, "b-", FIRST, SKIPPED);
    let plan = admin.reset(&group, topic, json!({"kind": "latest"}));
    let by_q = plan_by_queue(&plan);
    for q in 0..QUEUES {
        let pq = &by_q[&q];
        assert_eq!(opt_i64(&pq["current"]), Some(FIRST), "{plan}");
        assert_eq!(opt_i64(&pq["target"]), Some(FIRST + SKIPPED), "{plan}");
        assert_eq!(opt_i64(&pq["skipped"]), Some(SKIPPED), "{plan}");
    }
    let end = FIRST + SKIPPED;
    assert_eq!(
        admin.query_all(&group, topic),
        vec![Some(end); QUEUES as usize]
    );

    let want = (LAST * QUEUES as i64).to_string();
    let mut p2 = scenarios::consumer(
        kind,
        &server,
        topic,
        &group,
        &["--expect", &want, "--linger", "3"],
        &budget,
    );
    admin.fill(topic, "c-", end, LAST);
    let lines = p2.wait_success_or(
        budget.cap(Duration::from_secs(40)),
        "hint: after a reset to the end the group must resume there and get the new messages",
    );
    let ds = deliveries(&lines, topic);
    assert_bodies_match_positions(&ds, &p2);
    let stale: Vec<&Delivery> = ds.iter().filter(|d| !d.body.starts_with("c-")).collect();
    assert!(
        stale.is_empty(),
        "{}: messages before the forward reset's target were delivered: {stale:?}\n{}",
        p2.label(),
        p2.diagnostics()
    );
    let got: BTreeSet<String> = ds.iter().map(|d| d.body.clone()).collect();
    assert_eq!(
        got.len(),
        (LAST * QUEUES as i64) as usize,
        "every c- message"
    );
    eprintln!(
        "[progress_e2e] {}: backward reset replayed after {:?} (first on all queues) and settled after \
         {t_backward:?} with {samples} offset samples (replay done after {:?}; commits seen mid-replay \
         {mid_replay_commits:?}); forward reset skipped {} messages; total {:?}",
        kind.name(),
        first_replay.unwrap_or_default(),
        replay_done.unwrap_or_default(),
        SKIPPED * QUEUES as i64,
        budget.elapsed()
    );
}

/// Listener wait per redelivery (`--redelivery-delay-ms`), so that the 152 redeliveries take
/// about 7.5 s: the C++ client consumes on 2 threads, ali-ons one message at a time.
fn replay_delay_ms(kind: Client) -> u64 {
    match kind {
        Client::Cpp => 100,
        Client::Node => 50,
    }
}

#[test]
fn cpp_reset_running_group_backward_then_forward() {
    reset_running_group_backward_then_forward(Client::Cpp);
}

#[test]
fn ali_ons_reset_running_group_backward_then_forward() {
    reset_running_group_backward_then_forward(Client::Node);
}

// ---------------------------------------------------------------------------------------------
// 3. SIGKILL under commit load with --offset-durability durable
// ---------------------------------------------------------------------------------------------

#[derive(Default, Clone, Copy, Debug)]
struct KeyProgress {
    /// Highest offset sent (the request may or may not have reached the broker).
    sent: i64,
    /// Highest offset acknowledged with SUCCESS.
    acked: i64,
}

#[test]
fn durable_commits_survive_sigkill_under_load() {
    let budget = Budget::new();
    let mut server = Server::standalone(&["--offset-durability", "durable"]);
    let topic = "DurableCommits";
    const TOPIC_QUEUES: i32 = 16;
    const GROUPS: usize = 8;
    const TASKS: usize = 32;
    let groups: Vec<String> = (0..GROUPS).map(|g| format!("durable_g{g}")).collect();

    let admin = Admin::new(&server);
    admin.create_topic(topic, TOPIC_QUEUES);
    let progress: Arc<Mutex<HashMap<(String, i32), KeyProgress>>> = Arc::default();

    // 32 tasks, each owning 4 (group, queue) keys (128 keys in all) and committing 1, 2, 3, ...
    // to them in turn: per key, commits are sequential and increasing.
    let load = {
        let progress = progress.clone();
        let namesrv = server.namesrv_addr();
        let broker = server.broker_addr();
        let groups = groups.clone();
        admin.rt.spawn(async move {
            let client = Arc::new(MqClient::new(&namesrv, Duration::from_secs(5)));
            let mut tasks = Vec::new();
            for t in 0..TASKS {
                let group = groups[t % GROUPS].clone();
                let base = (t / GROUPS) as i32 * 4;
                let keys: Vec<i32> = (base..base + 4).collect();
                let (client, progress, broker) = (client.clone(), progress.clone(), broker.clone());
                tasks.push(tokio::spawn(async move {
                    for i in 1i64.. {
                        for &q in &keys {
                            progress
                                .lock()
                                .unwrap()
                                .entry((group.clone(), q))
                                .or_default()
                                .sent = i;
                            match client.update_offset(&broker, &group, topic, q, i).await {
                                Ok(()) => {
                                    progress
                                        .lock()
                                        .unwrap()
                                        .get_mut(&(group.clone(), q))
                                        .unwrap()
                                        .acked = i
                                }
                                Err(_) => return,
                            }
                        }
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        })
    };
    thread::sleep(Duration::from_millis(1500));
    server.kill();
    admin
        .rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(20), load).await })
        .expect("committers stop within 20 s of the kill")
        .expect("committer tasks");
    let progress = progress.lock().unwrap().clone();
    let acks: i64 = progress.values().map(|k| k.acked).sum();
    assert!(
        acks > 100,
        "the load made progress before the kill: {acks} acknowledged commits\n{}",
        server.output_tail(50)
    );
    drop(admin);

    server.restart();
    let admin = Admin::new(&server);
    let mut stored: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for g in &groups {
        for ((t, q), off) in admin.export(g) {
            assert_eq!(t, topic, "unexpected topic in the export of {g}");
            stored.insert((g.clone(), q), off);
        }
    }
    let mut problems = Vec::new();
    let mut lost_unacked = 0;
    for (key, k) in &progress {
        let s = stored.get(key).copied();
        match s {
            Some(v) if v >= k.acked.max(1) && v <= k.sent => {
                if v > k.acked {
                    lost_unacked += 1; // an unacknowledged commit made it: allowed
                }
            }
            None if k.acked == 0 => {}
            other => problems.push(format!(
                "{}:{}: stored {other:?}, last acknowledged {}, last sent {}",
                key.0, key.1, k.acked, k.sent
            )),
        }
        // QUERY_CONSUMER_OFFSET agrees with the table.
        if let Some(v) = s {
            assert_eq!(admin.query(&key.0, topic, key.1), Some(v), "query {key:?}");
        }
    }
    for key in stored.keys() {
        if !progress.contains_key(key) {
            problems.push(format!("{key:?}: stored but never sent"));
        }
    }
    assert!(
        problems.is_empty(),
        "acknowledged commits lost or invented after SIGKILL in durable mode ({} keys, {acks} acks):\n  {}\n--- server tail ---\n{}",
        progress.len(),
        problems.join("\n  "),
        server.output_tail(80)
    );
    eprintln!(
        "[progress_e2e] durable: {acks} acknowledged commits on {} keys, all present after SIGKILL \
         ({lost_unacked} keys hold a later, unacknowledged value) in {:?}",
        progress.len(),
        budget.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Undo restores the before-values and is recorded
// ---------------------------------------------------------------------------------------------

#[test]
fn undo_restores_previous_offsets_and_is_recorded() {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "UndoTopic";
    let group = "undo_group";
    let other = "undo_bystander";
    let admin = Admin::new(&server);
    admin.create_topic(topic, QUEUES);
    admin.fill(topic, "u-", 0, 10);

    // Before: q0=4, q1=6, q2 none, q3=8; another group that the reset does not touch.
    let before: [Option<i64>; 4] = [Some(4), Some(6), None, Some(8)];
    for (q, b) in before.iter().enumerate() {
        if let Some(v) = b {
            admin.commit(group, topic, q as i32, *v);
        }
    }
    admin.commit(other, topic, 0, 7);

    let plan = admin.reset(group, topic, json!({"kind": "offset", "value": 1}));
    let reset_id = plan["changeId"]
        .as_u64()
        .unwrap_or_else(|| panic!("reset without change id: {plan}"));
    let by_q = plan_by_queue(&plan);
    for q in 0..QUEUES {
        assert_eq!(opt_i64(&by_q[&q]["current"]), before[q as usize], "{plan}");
        assert_eq!(opt_i64(&by_q[&q]["target"]), Some(1), "{plan}");
    }
    assert_eq!(
        admin.query_all(group, topic),
        vec![Some(1); 4],
        "after the reset"
    );

    // A dry-run undo changes nothing.
    let dry = admin.ferro_ok(
        rq::FERRO_UNDO,
        &json!({"changeId": reset_id, "dryRun": true}),
    );
    assert_eq!(dry["dryRun"], json!(true), "{dry}");
    assert!(dry["changeId"].is_null(), "dry run has no change id: {dry}");
    assert_eq!(
        admin.query_all(group, topic),
        vec![Some(1); 4],
        "after the dry-run undo"
    );

    let undo = admin.ferro_ok(
        rq::FERRO_UNDO,
        &json!({"changeId": reset_id, "dryRun": false}),
    );
    let undo_id = undo["changeId"]
        .as_u64()
        .unwrap_or_else(|| panic!("undo without change id: {undo}"));
    assert!(
        undo_id > reset_id,
        "undo {undo_id} is a later change than {reset_id}"
    );
    let by_q = plan_by_queue(&undo);
    for q in 0..QUEUES {
        assert_eq!(opt_i64(&by_q[&q]["current"]), Some(1), "{undo}");
        assert_eq!(opt_i64(&by_q[&q]["target"]), before[q as usize], "{undo}");
    }

    // The table holds exactly the before-values again (q2 has no offset at all).
    let table = admin.export(group);
    let want: BTreeMap<(String, i32), i64> = before
        .iter()
        .enumerate()
        .filter_map(|(q, b)| b.map(|v| ((topic.to_string(), q as i32), v)))
        .collect();
    assert_eq!(table, want, "stored offsets after the undo");
    for q in [0, 1, 3] {
        assert_eq!(
            admin.query(group, topic, q),
            before[q as usize],
            "QUERY_CONSUMER_OFFSET q{q}"
        );
    }
    assert_eq!(
        admin.query(other, topic, 0),
        Some(7),
        "the other group is untouched"
    );
    let described = admin.ferro_ok(rq::FERRO_DESCRIBE_GROUP, &json!({"group": group}));
    let q2 = described["queues"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["queueId"] == json!(2)))
        .unwrap_or_else(|| panic!("describe lists queue 2: {described}"));
    assert!(
        q2["committed"].is_null(),
        "queue 2 has no offset again: {described}"
    );

    // History, newest first: the undo (undoOf = the reset), then the reset.
    let hist = admin.ferro_ok(rq::FERRO_HISTORY, &json!({"group": group, "limit": 10}));
    let changes = hist["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("history without changes: {hist}"));
    assert_eq!(changes.len(), 2, "two changes for {group}: {hist}");
    let (newest, oldest) = (&changes[0], &changes[1]);
    assert_eq!(newest["id"].as_u64(), Some(undo_id), "{hist}");
    assert_eq!(newest["operation"], json!("undo"), "{hist}");
    assert_eq!(oldest["id"].as_u64(), Some(reset_id), "{hist}");
    assert_eq!(oldest["operation"], json!("reset"), "{hist}");
    // docs/protocol.md documents the Change JSON in camelCase (`undoOf`, `timeMs`, `queueId`),
    // but the broker serialises ferromq_offsets::Change with its Rust field names (`undo_of`,
    // `time_ms`, `queue_id`): accept either spelling here; the mismatch is reported separately.
    let undo_of = |c: &Value| {
        c.get("undoOf")
            .or_else(|| c.get("undo_of"))
            .and_then(Value::as_u64)
    };
    assert_eq!(undo_of(oldest), None, "the reset undoes nothing: {hist}");
    assert_eq!(
        undo_of(newest),
        Some(reset_id),
        "the undo names the reset it undoes: {newest}"
    );
    // Its entries move every queue of the reset back: before = 1, after = the old value.
    let entries = newest["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("undo without entries: {newest}"));
    let mut restored = BTreeMap::new();
    for e in entries {
        let key = &e["key"];
        let q = key
            .get("queueId")
            .or_else(|| key.get("queue_id"))
            .and_then(Value::as_i64);
        assert_eq!(key["group"], json!(group), "{newest}");
        assert_eq!(opt_i64(&e["before"]), Some(1), "{newest}");
        restored.insert(q.expect("entry queue id") as i32, opt_i64(&e["after"]));
    }
    let want_restored: BTreeMap<i32, Option<i64>> = before
        .iter()
        .enumerate()
        .map(|(q, b)| (q as i32, *b))
        .collect();
    assert_eq!(restored, want_restored, "undo entries: {newest}");

    // Undoing an unknown change is refused and changes nothing.
    let err = admin
        .ferro(rq::FERRO_UNDO, &json!({"changeId": undo_id + 100}))
        .expect_err("undo of an unknown change id");
    assert_eq!(err.0, Some(rs::QUERY_NOT_FOUND), "{err:?}");
    assert_eq!(
        admin.export(group),
        want,
        "unchanged after the refused undo"
    );
    eprintln!(
        "[progress_e2e] undo: reset {reset_id} undone by {undo_id} in {:?}",
        budget.elapsed()
    );
}
