//! Apache RocketMQ's 5.x gRPC clients against a real `ferromq standalone`: Python (PyPI
//! `rocketmq-python-client==5.1.2`), Node.js (npm `rocketmq-client-nodejs@1.0.8`), Java (Maven
//! `rocketmq-client-java` 5.0.8) and Go (`rocketmq-clients/golang/v5` v5.1.4), all installed by
//! `compat/setup.sh` and driven through the same script contract. Each runs its producer,
//! SimpleConsumer and PushConsumer over POP: every message once with its tag, keys and
//! properties, redelivery with counted attempts, changed windows, FIFO message groups, and a POP
//! group pre-set before it exists. With Python, also leases and acks across a SIGKILL of the
//! broker and resets of a live POP group (server-side behaviour, the same for every client).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use common::scenarios::Budget;
use common::{
    admin_ok, field_i64, field_str, spawn_client, strings, Client, ClientProcess, Server,
};
use serde_json::Value;

fn body(v: &Value) -> String {
    field_str(v, "body").unwrap_or_default().to_string()
}

/// Sends `count` messages `<prefix>-<i>` through the gRPC producer; returns its `sent` lines.
fn produce(
    kind: Client,
    server: &Server,
    topic: &str,
    prefix: &str,
    count: usize,
    extra: &[&str],
) -> Vec<Value> {
    let mut args = strings(&[
        "--endpoint",
        &server.grpc_addr(),
        "--topic",
        topic,
        "--count",
        &count.to_string(),
        "--body-prefix",
        prefix,
        "--timeout",
        "60",
    ]);
    args.extend(strings(extra));
    let mut p = spawn_client(kind, "producer", &args);
    let lines = p.wait_success(Duration::from_secs(90));
    let sent = common::events(&lines, "sent");
    assert_eq!(sent.len(), count, "{}", p.diagnostics());
    sent
}

fn consumer(
    kind: Client,
    server: &Server,
    script: &str,
    topic: &str,
    group: &str,
    extra: &[&str],
) -> ClientProcess {
    let mut args = strings(&[
        "--endpoint",
        &server.grpc_addr(),
        "--topic",
        topic,
        "--group",
        group,
    ]);
    args.extend(strings(extra));
    spawn_client(kind, script, &args)
}

/// Deliveries per body.
fn count_by_body(msgs: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for v in msgs {
        *m.entry(body(v)).or_insert(0) += 1;
    }
    m
}

fn one_queue_topic(server: &Server, topic: &str) {
    admin_ok(
        &server.namesrv_addr(),
        &[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            topic,
            "-r",
            "1",
            "-w",
            "1",
        ],
    );
}

/// The committed offsets of a group in a topic, by queue (`offsets describe`).
fn committed(server: &Server, group: &str, topic: &str) -> BTreeMap<i64, i64> {
    try_committed(server, group, topic)
        .unwrap_or_else(|| panic!("offsets describe of {group} on {topic} failed"))
}

/// [`committed`], `None` while the describe fails (the topic is not there yet).
fn try_committed(server: &Server, group: &str, topic: &str) -> Option<BTreeMap<i64, i64>> {
    let (code, out, _) = common::run_admin(
        &server.namesrv_addr(),
        &[
            "--output", "json", "offsets", "describe", "--group", group, "--topic", topic,
        ],
    );
    if code != 0 {
        return None;
    }
    let v: Value = serde_json::from_str(&out).ok()?;
    let mut m = BTreeMap::new();
    let rows = v["queues"].as_array().cloned().unwrap_or_default();
    for r in rows {
        if let (Some(q), Some(c)) = (r["queueId"].as_i64(), r["committed"].as_i64()) {
            m.insert(q, c);
        }
    }
    Some(m)
}

/// Every message once, with its tag, keys and user properties; a tag filter gets exactly its
/// share; the group's progress is committed offsets like any other group's.
fn send_and_simple_consume_each_once_with_tag_keys_and_properties(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcPySimple";
    let sent = produce(
        kind,
        &server,
        topic,
        "simple",
        20,
        &[
            "--tag",
            "TagA,TagB",
            "--keys",
            "key-{i},other-{i}",
            "--prop",
            "p=v{i}",
        ],
    );
    let mut c = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        "GrpcPySimpleAll",
        &["--expect", "20", "--linger", "2", "--timeout", "60"],
    );
    c.wait_success(budget.left());
    let msgs = c.messages();
    let got = count_by_body(&msgs);
    assert_eq!(got.len(), 20, "{got:?}\n{}", c.diagnostics());
    assert!(got.values().all(|n| *n == 1), "each message once: {got:?}");
    let by_body: HashMap<String, &Value> = sent.iter().map(|s| (body(s), s)).collect();
    for m in &msgs {
        let b = body(m);
        let s = by_body
            .get(&b)
            .unwrap_or_else(|| panic!("unexpected delivery {m}"));
        let i = field_i64(s, "i").expect("index");
        assert_eq!(field_str(m, "tag"), field_str(s, "tag"), "{m}");
        let mut keys: Vec<String> = serde_json::from_value(m["keys"].clone()).unwrap_or_default();
        keys.sort();
        assert_eq!(keys, vec![format!("key-{i}"), format!("other-{i}")], "{m}");
        assert_eq!(m["props"]["p"], format!("v{i}"), "{m}");
        assert_eq!(
            m["props"].as_object().map(|o| o.len()),
            Some(1),
            "only user properties: {m}"
        );
        assert_eq!(field_str(m, "messageId"), field_str(s, "messageId"), "{m}");
        assert_eq!(field_i64(m, "deliveryAttempt"), Some(1), "{m}");
        assert_eq!(m["acked"], true, "{m}");
    }
    // All acked: the group's committed offsets reach every queue's end.
    let offsets = committed(&server, "GrpcPySimpleAll", topic);
    let total: i64 = offsets.values().sum();
    assert_eq!(total, 20, "committed offsets {offsets:?}");

    let mut tag_a = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        "GrpcPyTagA",
        &[
            "--tag-expr",
            "TagA",
            "--expect",
            "10",
            "--linger",
            "2",
            "--timeout",
            "60",
        ],
    );
    tag_a.wait_success(budget.left());
    let got = count_by_body(&tag_a.messages());
    assert_eq!(got.len(), 10, "{got:?}");
    assert!(tag_a
        .messages()
        .iter()
        .all(|m| field_str(m, "tag") == Some("TagA")));
}

/// A message not acked comes back after its invisible duration with its delivery attempt
/// counted; a window changed by ChangeInvisibleDuration ends when the new one says.
fn unacked_and_rewindowed_messages_come_back_counted(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcPyRedeliver";
    produce(kind, &server, topic, "again", 6, &[]);
    let mut c = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        "GrpcPyNoAck",
        &[
            "--no-ack-first",
            "1",
            "--invisible-s",
            "2",
            "--expect",
            "6",
            "--linger",
            "3",
            "--timeout",
            "60",
        ],
    );
    c.wait_success(budget.left());
    let msgs = c.messages();
    let got = count_by_body(&msgs);
    assert_eq!(got.len(), 6, "{got:?}\n{}", c.diagnostics());
    assert!(
        got.values().all(|n| *n == 2),
        "each twice (not acked, then acked): {got:?}"
    );
    for m in &msgs {
        let attempt = field_i64(m, "deliveryAttempt");
        let delivery = field_i64(m, "delivery");
        assert_eq!(
            attempt, delivery,
            "the broker counts attempts as the consumer sees them: {m}"
        );
    }

    // Changed from 30 s to 2 s at the first delivery: back within a few seconds, attempt 2.
    let started = Instant::now();
    let mut c = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        "GrpcPyRewindow",
        &[
            "--invisible-s",
            "30",
            "--change-invisible-s",
            "2",
            "--no-ack-first",
            "1",
            "--expect",
            "6",
            "--linger",
            "1",
            "--timeout",
            "25",
        ],
    );
    c.wait_success(budget.left());
    assert!(started.elapsed() < Duration::from_secs(25));
    let msgs = c.messages();
    let second: Vec<&Value> = msgs
        .iter()
        .filter(|m| field_i64(m, "delivery") == Some(2))
        .collect();
    assert_eq!(second.len(), 6, "{}", c.diagnostics());
    assert!(second
        .iter()
        .all(|m| field_i64(m, "deliveryAttempt") == Some(2)));
}

/// The PushConsumer: a listener failure makes the client change the window (its backoff) and
/// the message returns with the next attempt, until the listener succeeds.
fn push_consumer_retries_failed_messages(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcPyPush";
    produce(kind, &server, topic, "push", 5, &["--tag", "T"]);
    let mut c = consumer(
        kind,
        &server,
        "push_consumer",
        topic,
        "GrpcPyPushGroup",
        &[
            "--fail-first-times",
            "2",
            "--expect",
            "5",
            "--linger",
            "3",
            "--timeout",
            "90",
        ],
    );
    c.wait_success(budget.left());
    let msgs = c.messages();
    let got = count_by_body(&msgs);
    assert_eq!(got.len(), 5, "{got:?}\n{}", c.diagnostics());
    assert!(
        got.values().all(|n| *n == 3),
        "failed twice, then done: {got:?}"
    );
    for m in &msgs {
        assert_eq!(
            field_i64(m, "deliveryAttempt"),
            field_i64(m, "delivery"),
            "{m}"
        );
    }
}

/// Leases and acks are journaled: after a SIGKILL of the broker, acked messages stay acked and a
/// message that was in flight comes back once, as its second attempt, when its window ends.
fn pop_leases_and_acks_survive_sigkill(kind: Client) {
    let budget = Budget::new();
    let mut server = Server::standalone(&[]);
    let topic = "GrpcPyCrash";
    let group = "GrpcPyCrashGroup";
    produce(kind, &server, topic, "first", 10, &[]);
    let mut a = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        group,
        &["--expect", "10", "--timeout", "60"],
    );
    a.wait_success(budget.left());
    produce(kind, &server, topic, "second", 10, &[]);
    // Receives the ten without acking them (a 10 s window), then stops.
    let mut b = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        group,
        &[
            "--no-ack-first",
            "1",
            "--invisible-s",
            "10",
            "--timeout",
            "5",
            "--await-s",
            "1",
        ],
    );
    b.wait_success(budget.left());
    let held = count_by_body(&b.messages());
    assert_eq!(held.len(), 10, "{held:?}\n{}", b.diagnostics());
    assert!(held.keys().all(|k| k.starts_with("second-")));
    server.kill();
    server.restart();
    let mut c = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        group,
        &[
            "--expect",
            "10",
            "--linger",
            "3",
            "--timeout",
            "60",
            "--await-s",
            "2",
        ],
    );
    c.wait_success(budget.left());
    let msgs = c.messages();
    let got = count_by_body(&msgs);
    assert_eq!(got.len(), 10, "{got:?}\n{}", c.diagnostics());
    assert!(
        got.iter().all(|(k, n)| k.starts_with("second-") && *n == 1),
        "{got:?}"
    );
    assert!(
        msgs.iter()
            .all(|m| field_i64(m, "deliveryAttempt") == Some(2)),
        "the in-flight leases survived the crash (attempts counted): {msgs:?}"
    );
}

/// A POP group's position pre-set before the group exists is where it starts.
fn pop_group_preset_before_it_exists_starts_there(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcPyPreset";
    one_queue_topic(&server, topic);
    produce(kind, &server, topic, "pre", 20, &[]);
    let group = "GrpcPyPresetGroup";
    admin_ok(
        &server.namesrv_addr(),
        &[
            "offsets",
            "reset",
            "--group",
            group,
            "--topic",
            topic,
            "--to-offset",
            "12",
            "--execute",
        ],
    );
    let mut c = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        group,
        &["--expect", "8", "--linger", "3", "--timeout", "60"],
    );
    c.wait_success(budget.left());
    let got = count_by_body(&c.messages());
    let want: BTreeMap<String, usize> = (12..20).map(|i| (format!("pre-{i}"), 1)).collect();
    assert_eq!(got, want, "{}", c.diagnostics());
    assert_eq!(committed(&server, group, topic).get(&0), Some(&20));
}

/// Offsets reset while a consumer holds messages in flight take effect at once: forward skips
/// the planned messages (their handles are outdated, the rest come again at once, not after the
/// 30 s window), backward replays exactly the planned ones.
fn reset_of_a_live_pop_group_takes_effect_at_once(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcPyReset";
    let group = "GrpcPyResetGroup";
    one_queue_topic(&server, topic);
    produce(kind, &server, topic, "r", 10, &[]);
    // Holds all ten in flight (never acks a first delivery; 30 s window).
    let mut c = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        group,
        &[
            "--no-ack-first",
            "1",
            "--invisible-s",
            "30",
            "--await-s",
            "1",
            "--timeout",
            "60",
        ],
    );
    c.wait_lines(budget.left(), "ten deliveries", |lines| {
        common::events(lines, "message").len() >= 10
    });
    // The ten are in flight: `offsets describe` says so beside the committed offset.
    let out = admin_ok(
        &server.namesrv_addr(),
        &[
            "--output", "json", "offsets", "describe", "--group", group, "--topic", topic,
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["queues"][0]["inFlight"], 10, "{out}");
    assert_eq!(v["queues"][0]["committed"], 0, "{out}");
    let reset_at = Instant::now();
    admin_ok(
        &server.namesrv_addr(),
        &[
            "offsets",
            "reset",
            "--group",
            group,
            "--topic",
            topic,
            "--to-offset",
            "6",
            "--execute",
        ],
    );
    // r-6..r-9 come again (as new deliveries after the reset), r-0..r-5 never.
    c.wait_lines(budget.left(), "r-6..r-9 again after the reset", |lines| {
        common::events(lines, "message")
            .iter()
            .filter(|m| field_i64(m, "delivery") == Some(2))
            .count()
            >= 4
    });
    assert!(
        reset_at.elapsed() < Duration::from_secs(20),
        "not after the 30 s window"
    );
    // Backward: back to 2, so r-2..r-9 once more (r-6..r-9 were acked at their second delivery;
    // 4 + 8 acks in all).
    admin_ok(
        &server.namesrv_addr(),
        &[
            "offsets",
            "reset",
            "--group",
            group,
            "--topic",
            topic,
            "--to-offset",
            "2",
            "--execute",
        ],
    );
    c.wait_lines(budget.left(), "r-2..r-9 replayed", |lines| {
        let acked = common::events(lines, "message")
            .into_iter()
            .filter(|m| m["acked"] == true)
            .count();
        acked >= 12
    });
    std::thread::sleep(Duration::from_secs(3));
    c.stop();
    let msgs = c.messages();
    let got = count_by_body(&msgs);
    let mut want: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..10 {
        let n = match i {
            // Handed out once, skipped by the forward reset, before the backward one.
            0 | 1 => 1,
            // Skipped forward, then replayed by the backward reset.
            2..=5 => 2,
            // Again after the forward reset (acked), and replayed by the backward one.
            _ => 3,
        };
        want.insert(format!("r-{i}"), n);
    }
    assert_eq!(got, want, "{}", c.diagnostics());
    assert_eq!(committed(&server, group, topic).get(&0), Some(&10));
}

/// FIFO: an orderly group gets each message group in send order, one message at a time; with
/// `fail_first`, a failed message is retried before the next of its group is handed out.
fn fifo_groups_in_order(kind: Client, fail_first: bool) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcPyFifo";
    let group = "GrpcPyFifoGroup";
    admin_ok(
        &server.namesrv_addr(),
        &[
            "updateSubGroup",
            "-c",
            "DefaultCluster",
            "-g",
            group,
            "-o",
            "true",
        ],
    );
    let sent = produce(
        kind,
        &server,
        topic,
        "f",
        12,
        &["--kind", "fifo", "--groups", "2"],
    );
    let fail = if fail_first { "1" } else { "0" };
    let mut c = consumer(
        kind,
        &server,
        "push_consumer",
        topic,
        group,
        &[
            "--fail-first-times",
            fail,
            "--expect",
            "12",
            "--linger",
            "2",
            "--timeout",
            "90",
        ],
    );
    c.wait_success(budget.left());
    assert!(
        c.events("started").iter().all(|s| s["fifo"] == true),
        "the server's settings made the consumer FIFO"
    );
    let mut by_group: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for m in c.messages() {
        let g = field_str(&m, "messageGroup")
            .unwrap_or_default()
            .to_string();
        by_group
            .entry(g)
            .or_default()
            .push((body(&m), m["acked"] == true));
    }
    assert_eq!(by_group.len(), 2, "{by_group:?}");
    for (g, deliveries) in &by_group {
        let want: Vec<(String, bool)> = sent
            .iter()
            .filter(|s| field_str(s, "messageGroup") == Some(g.as_str()))
            .flat_map(|s| {
                let failed = fail_first.then(|| (body(s), false));
                failed.into_iter().chain([(body(s), true)])
            })
            .collect();
        assert_eq!(
            deliveries,
            &want,
            "group {g}: failed, retried, then the next\n{}",
            c.diagnostics()
        );
    }
}

/// One test per scenario and client (each on its own server). The Go push consumer does not keep
/// a message group's order when the listener fails (its FIFO retry runs beside the next
/// messages), so its FIFO run has no failures; SIGKILL and reset are server-side behaviour and
/// run with Python.
macro_rules! grpc_client_tests {
    ($module:ident, $kind:expr, fifo_fails: $fifo_fails:expr) => {
        mod $module {
            use super::*;

            #[test]
            fn send_and_simple_consume_each_once() {
                send_and_simple_consume_each_once_with_tag_keys_and_properties($kind);
            }

            #[test]
            fn unacked_and_rewindowed_messages_come_back() {
                unacked_and_rewindowed_messages_come_back_counted($kind);
            }

            #[test]
            fn push_consumer_retries() {
                push_consumer_retries_failed_messages($kind);
            }

            #[test]
            fn fifo_message_groups_in_order() {
                fifo_groups_in_order($kind, $fifo_fails);
            }

            #[test]
            fn preset_pop_group_starts_there() {
                pop_group_preset_before_it_exists_starts_there($kind);
            }
        }
    };
}

grpc_client_tests!(python, Client::GrpcPy, fifo_fails: true);
grpc_client_tests!(node, Client::GrpcNode, fifo_fails: true);
grpc_client_tests!(java, Client::GrpcJava, fifo_fails: true);
grpc_client_tests!(go, Client::GrpcGo, fifo_fails: false);

#[test]
fn python_pop_leases_and_acks_survive_sigkill() {
    pop_leases_and_acks_survive_sigkill(Client::GrpcPy);
}

#[test]
fn python_reset_of_a_live_pop_group_takes_effect_at_once() {
    reset_of_a_live_pop_group_takes_effect_at_once(Client::GrpcPy);
}

/// A POP group's position is an offset: mqadmin's consumerProgress shows its lag (never
/// "unknown"), `ferromq mirror` copies it exactly, and after failover the same POP group goes on
/// on the backup right after its last ack.
#[test]
fn python_pop_position_shows_lag_and_mirrors_exactly() {
    let budget = Budget::new();
    let primary = Server::standalone(&[]);
    let backup = Server::standalone(&[]);
    let topic = "GrpcMirror";
    let group = "GrpcMirrorGroup";
    one_queue_topic(&primary, topic);
    produce(Client::GrpcPy, &primary, topic, "before", 20, &[]);
    admin_ok(
        &primary.namesrv_addr(),
        &[
            "offsets",
            "reset",
            "--group",
            group,
            "--topic",
            topic,
            "--to-offset",
            "12",
            "--execute",
        ],
    );
    let mut c = consumer(
        Client::GrpcPy,
        &primary,
        "simple_consumer",
        topic,
        group,
        &["--expect", "8", "--linger", "1", "--timeout", "60"],
    );
    c.wait_success(budget.left());
    produce(Client::GrpcPy, &primary, topic, "after", 5, &[]);
    assert_eq!(committed(&primary, group, topic).get(&0), Some(&20));
    let progress = common::mqadmin_ok(Client::Java5, &primary, &["consumerProgress", "-g", group]);
    assert!(
        progress.contains("Diff Total: 5"),
        "mqadmin sees the POP group's lag:\n{progress}"
    );

    let state = tempfile::tempdir().expect("state dir");
    let _mirror = common::start_mirror(
        &primary.namesrv_addr(),
        &backup.namesrv_addr(),
        state.path(),
        &[],
    );
    let synced = common::poll_until(Duration::from_secs(60), || {
        try_committed(&backup, group, topic).and_then(|m| m.get(&0).copied()) == Some(20)
    });
    assert!(synced, "the POP group's offset reached the backup");
    let mut failover = consumer(
        Client::GrpcPy,
        &backup,
        "simple_consumer",
        topic,
        group,
        &["--expect", "5", "--linger", "3", "--timeout", "60"],
    );
    failover.wait_success(budget.left());
    let got = count_by_body(&failover.messages());
    let want: BTreeMap<String, usize> = (0..5).map(|i| (format!("after-{i}"), 1)).collect();
    assert_eq!(got, want, "{}", failover.diagnostics());
}

/// A live gRPC consumer is an online member of its group: `offsets describe` and mqadmin
/// consumerConnection list it while it runs, and not once it has said goodbye.
#[test]
fn python_grpc_consumers_are_online_members() {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcOnline";
    let group = "GrpcOnlineGroup";
    produce(Client::GrpcPy, &server, topic, "o", 2, &[]);
    let mut c = consumer(
        Client::GrpcPy,
        &server,
        "simple_consumer",
        topic,
        group,
        &["--await-s", "1", "--timeout", "60"],
    );
    let lines = c.wait_lines(budget.left(), "two deliveries", |lines| {
        common::events(lines, "message").len() >= 2
    });
    let client_id = common::events(&lines, "started")
        .first()
        .and_then(|s| field_str(s, "clientId").map(String::from))
        .expect("the driver names its client id");
    let describe = || {
        admin_ok(
            &server.namesrv_addr(),
            &["--output", "json", "offsets", "describe", "--group", group],
        )
    };
    assert!(describe().contains(&client_id), "{}", describe());
    let conns = common::mqadmin_ok(Client::Java5, &server, &["consumerConnection", "-g", group]);
    assert!(conns.contains(&client_id), "{conns}");
    assert!(conns.contains("CONSUME_POP"), "{conns}");
    c.stop();
    assert!(
        common::poll_until(Duration::from_secs(10), || !describe().contains(&client_id)),
        "gone after NotifyClientTermination: {}",
        describe()
    );
}
