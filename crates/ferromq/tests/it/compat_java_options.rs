//! The Java client's delivery options against a real `ferromq standalone`, both lines (4.9.8 and
//! 5.5.0): delay levels, namespaces and the dead-letter queue after `maxReconsumeTimes`; delivery
//! times (5.x `setDeliverTimeMs`); and the
//! 5.x client in POP mode over Remoting (broker-side assignment, pop, ack, new windows).
//!
//! Not here: `CONSUME_FROM_TIMESTAMP` (and `LAST_OFFSET`) for a new group on a young queue start at
//! offset 0, on ferromq as on Apache RocketMQ — QUERY_CONSUMER_OFFSET answers 0 for a group without
//! an offset while the queue's first message is still in memory, and the client only searches by
//! time when told the offset is not found.

use crate::common;

use std::time::Duration;

use common::scenarios::{consumer, produce, Budget};
use common::{field_i64, field_str, mqadmin_ok, poll_until, Client, Server, SyncClient};
use serde_json::Value;

/// Delay levels of the test broker: short, so that retries and delays fit a test.
const DELAY_LEVELS: &str = "1s 2s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";

fn prop_i64(v: &Value, key: &str) -> Option<i64> {
    v.get("props")?.get(key)?.as_str()?.parse().ok()
}

/// Three messages sent with `produce_args` to `topic`, as a consumer started before them
/// receives them (each checked to be in `topic`); the consumer is stopped.
fn three_delayed(
    kind: Client,
    server: &Server,
    budget: &Budget,
    topic: &str,
    produce_args: &[&str],
) -> Vec<Value> {
    let group = format!("{topic}G");
    let mut c = consumer(
        kind,
        server,
        topic,
        &group,
        &["--from", "first", "--expect", "3"],
        budget,
    );
    produce(kind, server, topic, 3, produce_args, budget);
    assert!(
        poll_until(budget.cap(Duration::from_secs(30)), || c.messages().len()
            >= 3),
        "{}: delayed messages did not arrive\n{}",
        kind.name(),
        c.diagnostics()
    );
    let msgs = c.messages();
    c.stop();
    for m in &msgs {
        assert_eq!(field_str(m, "topic"), Some(topic), "{m}");
    }
    msgs
}

/// A message sent with delay level 2 (2 s here) is delivered no earlier, in its own topic.
fn delay_level(kind: Client, server: &Server, budget: &Budget) {
    let args = ["--delay-level", "2", "--body-prefix", "late-"];
    for m in three_delayed(kind, server, budget, "JavaDelayT", &args) {
        let born = field_i64(&m, "bornTimestamp").expect("bornTimestamp");
        let consumed = prop_i64(&m, "CONSUME_START_TIME").expect("CONSUME_START_TIME");
        assert!(
            consumed - born >= 1_900,
            "{}: delivered {} ms after it was sent, before its 2 s delay: {m}",
            kind.name(),
            consumed - born
        );
    }
}

/// A producer and a consumer with a namespace share `ns%Topic` and `ns%Group` on the broker.
fn namespace(kind: Client, server: &Server, budget: &Budget) {
    let mut c = consumer(
        kind,
        server,
        "NsT",
        "NsG",
        &["--from", "first", "--expect", "4", "--namespace", "ns1"],
        budget,
    );
    produce(kind, server, "NsT", 4, &["--namespace", "ns1"], budget);
    assert!(
        poll_until(budget.cap(Duration::from_secs(30)), || c.messages().len()
            >= 4),
        "{}: namespaced messages did not arrive\n{}",
        kind.name(),
        c.diagnostics()
    );
    // The client strips the namespace again before the application sees the topic.
    assert!(c
        .messages()
        .iter()
        .all(|m| field_str(m, "topic") == Some("NsT")));
    let s = SyncClient::new(server);
    let stored: i64 = (0..4)
        .map(|q| s.max_offset("ns1%NsT", q).unwrap_or(0))
        .sum();
    assert_eq!(
        stored,
        4,
        "{}: the broker-side topic is ns1%NsT",
        kind.name()
    );
    // Committed by the running consumer's periodic persist (every second), checked before it
    // stops: its shutdown's last commit is a oneway request that a loaded machine may not see
    // land before the process is gone (one flaky run, 2026-12-07).
    assert!(
        poll_until(Duration::from_secs(15), || (0..4)
            .any(|q| s.query("ns1%NsG", "ns1%NsT", q).unwrap_or(0) > 0)),
        "{}: the group's offsets are stored under ns1%NsG\n{}",
        kind.name(),
        c.diagnostics()
    );
    c.stop();
}

/// A message that keeps failing goes to `%DLQ%<group>` after `maxReconsumeTimes` retries and is
/// not delivered again.
fn dead_letter(kind: Client, server: &Server, budget: &Budget) {
    let topic = "JavaDlqT";
    let group = "JavaDlqG";
    let mut c = consumer(
        kind,
        server,
        topic,
        group,
        &[
            "--from",
            "first",
            "--fail-first-times",
            "100",
            "--max-reconsume",
            "1",
        ],
        budget,
    );
    produce(
        kind,
        server,
        topic,
        1,
        &["--body-prefix", "poison-"],
        budget,
    );
    let s = SyncClient::new(server);
    let dlq = format!("%DLQ%{group}");
    assert!(
        poll_until(budget.cap(Duration::from_secs(40)), || s
            .max_offset(&dlq, 0)
            .unwrap_or(0)
            == 1),
        "{}: the message never reached {dlq}\n{}",
        kind.name(),
        c.diagnostics()
    );
    std::thread::sleep(Duration::from_secs(3));
    let deliveries = c.messages().len();
    assert_eq!(
        deliveries,
        2,
        "{}: delivered once and retried once (maxReconsumeTimes 1), then dead-lettered: {:?}",
        kind.name(),
        c.messages()
    );
    c.stop();
}

/// 5.x: a message sent with a delivery time (`setDeliverTimeMs`, 2.5 s away) waits in the
/// broker's timer and reaches its topic then, not before.
fn deliver_time(kind: Client, server: &Server, budget: &Budget) {
    let args = ["--deliver-after-ms", "2500", "--body-prefix", "timed-"];
    for m in three_delayed(kind, server, budget, "JavaTimerT", &args) {
        let at = prop_i64(&m, "TIMER_DELIVER_MS").expect("TIMER_DELIVER_MS");
        let stored = field_i64(&m, "storeTimestamp").expect("storeTimestamp");
        assert!(
            stored >= at - 150,
            "stored {} ms before its time: {m}",
            at - stored
        );
        // The driver sets the time when it builds the message, a little before the send.
        let born = field_i64(&m, "bornTimestamp").expect("bornTimestamp");
        assert!(at - born >= 1_500, "the time asked for: {m}");
    }
}

/// 5.x: the first of three timed messages is recalled right after its send (the send's recall
/// handle, `recallMessage`, RECALL_MESSAGE); the other two arrive at their time, it never does.
fn recall(kind: Client, server: &Server, budget: &Budget) {
    let args = [
        "--deliver-after-ms",
        "2000",
        "--body-prefix",
        "recall-",
        "--recall-first",
        "1",
    ];
    let mut c = consumer(
        kind,
        server,
        "JavaRecallT",
        "JavaRecallG",
        &["--from", "first", "--expect", "2", "--linger", "3"],
        budget,
    );
    // The driver fails (and so does `produce`) when the recall is refused.
    produce(kind, server, "JavaRecallT", 3, &args, budget);
    assert!(
        poll_until(budget.cap(Duration::from_secs(30)), || c.messages().len()
            >= 2),
        "{}: timed messages did not arrive\n{}",
        kind.name(),
        c.diagnostics()
    );
    std::thread::sleep(Duration::from_secs(2));
    let bodies: Vec<String> = c
        .messages()
        .iter()
        .filter_map(|m| field_str(m, "body").map(String::from))
        .collect();
    assert!(
        !bodies.contains(&"recall-0".to_string()),
        "recalled: {bodies:?}"
    );
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    c.stop();
}

fn delivery_options(kind: Client) {
    kind.check_installed().expect("run compat/setup.sh first");
    let budget = Budget::new();
    let server = Server::standalone(&["--message-delay-level", DELAY_LEVELS]);
    delay_level(kind, &server, &budget);
    namespace(kind, &server, &budget);
    dead_letter(kind, &server, &budget);
    if kind == Client::Java5 {
        deliver_time(kind, &server, &budget);
        recall(kind, &server, &budget);
    }
}

#[test]
fn java4_delay_namespace_and_dead_letter() {
    delivery_options(Client::Java4);
}

#[test]
fn java5_delay_namespace_and_dead_letter() {
    delivery_options(Client::Java5);
}

/// POP over Remoting: an operator sets the group to POP (`mqadmin setConsumeMode`); the 5.x
/// client with broker-side assignment then pops and acks. Each message fails once: the client
/// asks for a new window (its first retry delay, 10 s) and the broker hands the message out
/// again with its reconsume count. Once every message is acked the group's committed offsets
/// reach the end of each queue, where mqadmin sees them.
#[test]
fn java5_pop_mode_pops_acks_and_redelivers() {
    let kind = Client::Java5;
    kind.check_installed().expect("run compat/setup.sh first");
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let (topic, group) = ("JavaPopT", "JavaPopG");
    let broker = server.broker_addr();
    let run = |args: &[&str]| mqadmin_ok(kind, &server, args);
    run(&[
        "updateTopic",
        "-b",
        &broker,
        "-t",
        topic,
        "-r",
        "4",
        "-w",
        "4",
    ]);
    run(&["updateSubGroup", "-b", &broker, "-g", group]);
    let out = run(&[
        "setConsumeMode",
        "-b",
        &broker,
        "-t",
        topic,
        "-g",
        group,
        "-m",
        "POP",
        "-q",
        "0",
    ]);
    assert!(out.contains("success"), "setConsumeMode: {out}");
    produce(kind, &server, topic, 8, &[], &budget);
    let mut c = consumer(
        kind,
        &server,
        topic,
        group,
        &[
            "--from",
            "first",
            "--pop",
            "--fail-first-times",
            "1",
            "--expect",
            "8",
        ],
        &budget,
    );
    assert!(
        poll_until(budget.cap(Duration::from_secs(60)), || c
            .messages()
            .iter()
            .filter(|m| field_str(m, "result") == Some("ok"))
            .count()
            >= 8),
        "the POP consumer did not consume every message\n{}",
        c.diagnostics()
    );
    let msgs = c.messages();
    for m in &msgs {
        let ck = m["props"]["POP_CK"].as_str().unwrap_or_default();
        assert_eq!(
            ck.split(' ').count(),
            8,
            "a POP delivery carries its checkpoint: {m}"
        );
        let (first, retried) = (
            field_str(m, "result") == Some("retry"),
            field_i64(m, "reconsumeTimes"),
        );
        assert_eq!(retried, Some(i64::from(!first)), "attempt count: {m}");
    }
    assert_eq!(msgs.len(), 16, "each message twice: {msgs:?}");
    let s = SyncClient::new(&server);
    let caught_up = || (0..4).all(|q| s.query(group, topic, q) == s.max_offset(topic, q).ok());
    assert!(
        poll_until(Duration::from_secs(10), caught_up),
        "acks move the committed offsets to the end: {:?}",
        s.query_queues(group, topic, 4)
    );
    let out = run(&["consumerProgress", "-g", group]);
    assert!(
        out.contains("Consume Diff Total: 0"),
        "mqadmin consumerProgress: {out}"
    );
    c.stop();
}
