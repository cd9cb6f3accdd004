//! Delivery through each client: every message once with its tag, keys and properties; delay
//! messages at their delivery time; redelivery with counted attempts; changed windows; push retries; FIFO message groups.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use crate::common::scenarios::Budget;
use crate::common::{admin_ok, field_i64, field_str, spawn_client, strings, Client, Server};

use crate::compat_grpc::fixtures::{body, committed, consumer, count_by_body, produce};

/// Every message once, with its tag, keys and user properties; delay messages (2 s away) reach
/// the topic at their delivery time, not before, and say when; a tag filter gets exactly its
/// share; the group's progress is committed offsets like any other group's.
pub(crate) fn send_and_simple_consume_each_once_with_tag_keys_and_properties(kind: Client) {
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
    produce(
        kind,
        &server,
        topic,
        "later",
        2,
        &["--kind", "delay", "--delay-ms", "2000"],
    );
    let mut c = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        "GrpcPySimpleAll",
        &["--expect", "22", "--linger", "2", "--timeout", "60"],
    );
    c.wait_success(budget.left());
    let msgs = c.messages();
    let got = count_by_body(&msgs);
    assert_eq!(got.len(), 22, "{got:?}\n{}", c.diagnostics());
    assert!(got.values().all(|n| *n == 1), "each message once: {got:?}");
    let by_body: HashMap<String, &Value> = sent.iter().map(|s| (body(s), s)).collect();
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host_name = host_name.trim();
    for m in &msgs {
        let b = body(m);
        if b.starts_with("later") {
            let at = field_i64(m, "deliveryTimestamp").expect("a delay message's delivery time");
            let stored = field_i64(m, "storeTimestamp").expect("storeTimestamp");
            assert!(
                stored >= at - 150,
                "stored {} ms before its time: {m}",
                at - stored
            );
            assert!(
                stored - at < 3_000,
                "stored {} ms after its time: {m}",
                stored - at
            );
            continue;
        }
        assert!(m["deliveryTimestamp"].is_null(), "a normal message: {m}");
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
        // The host the producing client reported (its host name, or an address it found),
        // shown as upstream's proxy shows it, not the connection's loopback peer address.
        let born = field_str(m, "bornHost").unwrap_or_default();
        let reported = born == host_name
            || born
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| !ip.is_loopback());
        assert!(
            reported,
            "bornHost {born:?} is not what the client reported: {m}"
        );
    }
    // All acked: the group's committed offsets reach every queue's end.
    let offsets = committed(&server, "GrpcPySimpleAll", topic);
    let total: i64 = offsets.values().sum();
    assert_eq!(total, 22, "committed offsets {offsets:?}");

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
pub(crate) fn unacked_and_rewindowed_messages_come_back_counted(kind: Client) {
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
pub(crate) fn push_consumer_retries_failed_messages(kind: Client) {
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

/// FIFO: an orderly group gets each message group in send order, one message at a time; with
/// `fail_first`, a failed message is retried before the next of its group is handed out.
pub(crate) fn fifo_groups_in_order(kind: Client, fail_first: bool) {
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

/// Transactional messages: committed ones are delivered, rolled-back ones never; one left open
/// is resolved by the broker's check-back over the producer's Telemetry stream (the client's
/// TransactionChecker answers commit) and then delivered.
pub(crate) fn transactions_commit_rollback_and_check_back(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[
        "--transaction-check-interval-ms",
        "500",
        "--transaction-timeout-ms",
        "1000",
    ]);
    let topic = "GrpcTx";
    let tx = |prefix: &str, how: &[&str]| {
        let mut args = vec!["--kind", "transaction"];
        args.extend_from_slice(how);
        produce(kind, &server, topic, prefix, 2, &args)
    };
    let sent = tx("commit", &["--tx-commit"]);
    assert!(
        sent.iter()
            .all(|s| field_str(s, "transactionId").is_some_and(|t| !t.is_empty())),
        "a transactional send answers its transaction id: {sent:?}"
    );
    tx("rollback", &["--tx-rollback"]);
    // Left open: the producer stays up for the broker's question.
    tx(
        "open",
        &["--tx-unknown", "--check-answer", "commit", "--linger", "6"],
    );
    let mut c = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        "GrpcTxGroup",
        &["--expect", "4", "--linger", "2", "--timeout", "60"],
    );
    c.wait_success(budget.left());
    let got = count_by_body(&c.messages());
    let want: BTreeMap<String, usize> = ["commit-0", "commit-1", "open-0", "open-1"]
        .iter()
        .map(|b| (b.to_string(), 1))
        .collect();
    assert_eq!(got, want, "{}", c.diagnostics());
}

/// RecallMessage (Node.js, the client that has it): of three delay messages, the first is
/// recalled right after its send and never delivered; the other two arrive at their time.
pub(crate) fn recalled_delay_message_is_never_delivered(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcRecall";
    let args = [
        "--kind",
        "delay",
        "--delay-ms",
        "2000",
        "--recall-first",
        "1",
    ];
    let mut args = strings(&args);
    args.extend(strings(&[
        "--endpoint",
        &server.grpc_addr(),
        "--topic",
        topic,
    ]));
    args.extend(strings(&["--count", "3", "--body-prefix", "timed"]));
    let mut p = spawn_client(kind, "producer", &args);
    let lines = p.wait_success(Duration::from_secs(60));
    let recalled = common::events(&lines, "recalled");
    assert_eq!(recalled.len(), 1, "{}", p.diagnostics());
    let mut c = consumer(
        kind,
        &server,
        "simple_consumer",
        topic,
        "GrpcRecallGroup",
        &["--expect", "2", "--linger", "3", "--timeout", "60"],
    );
    c.wait_success(budget.left());
    let got = count_by_body(&c.messages());
    let want: BTreeMap<String, usize> = ["timed-1", "timed-2"]
        .iter()
        .map(|b| (b.to_string(), 1))
        .collect();
    assert_eq!(
        got,
        want,
        "the recalled timed-0 never arrives\n{}",
        c.diagnostics()
    );
}
