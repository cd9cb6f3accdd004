//! Transactional messages with the Apache RocketMQ Java client's `TransactionMQProducer`
//! (Remoting), 4.9.8 and 5.5.0, against a real `ferromq standalone` (`compat/java`
//! `transact`): local commit, local rollback, and UNKNOW resolved by the broker's check-back
//! (CHECK_TRANSACTION_STATE → the producer's END_TRANSACTION); a push consumer then receives
//! exactly the committed messages, once each. And a half message pending while the broker is
//! killed with SIGKILL is still checked back, and committed, after the restart.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::scenarios::{consumer, Budget};
use common::{client_args, events, field_str, spawn_client, Client, Server, SyncClient};
use serde_json::Value;

const PRODUCER_GROUP: &str = "JavaTxProducer";

fn bodies(msgs: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for v in msgs {
        *m.entry(field_str(v, "body").unwrap_or_default().to_string())
            .or_insert(0) += 1;
    }
    m
}

fn by_body(lines: &[Value], event: &str) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for v in events(lines, event) {
        let body = field_str(&v, "body").unwrap_or_default().to_string();
        m.entry(body).or_default().push(v);
    }
    m
}

/// The committed messages arrive once each; rolled-back ones never.
fn consume_exactly(kind: Client, server: &Server, topic: &str, want: &[&str], budget: &Budget) {
    let expect = want.len().to_string();
    let mut c = consumer(
        kind,
        server,
        topic,
        &format!("{topic}Consumer"),
        &["--from", "first", "--expect", &expect, "--linger", "3"],
        budget,
    );
    c.wait_success(budget.left());
    let got = bodies(&c.messages());
    let want: BTreeMap<String, usize> = want.iter().map(|b| (b.to_string(), 1)).collect();
    assert_eq!(got, want, "exactly the committed messages, once each");
}

/// Six half messages: local commit, rollback, UNKNOW, in turn; the two UNKNOWs are resolved by
/// check-backs, one to commit and one to rollback.
fn commit_rollback_and_check_back(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[
        "--transaction-check-interval-ms",
        "300",
        "--transaction-timeout-ms",
        "1000",
    ]);
    let topic = "JavaTx";
    SyncClient::new(&server).create_topic(topic, 4);
    let args = client_args(
        &server.namesrv_addr(),
        topic,
        PRODUCER_GROUP,
        &[
            "--count",
            "6",
            "--local",
            "commit,rollback,unknown",
            "--check",
            "commit,rollback",
            "--expect-checks",
            "2",
            "--timeout",
            "40",
        ],
    );
    let mut p = spawn_client(kind, "transact", &args);
    let lines = p.wait_success(budget.left());
    let sent = by_body(&lines, "sent");
    assert_eq!(sent.len(), 6, "{lines:?}");
    for (body, s) in &sent {
        assert_eq!(field_str(&s[0], "status"), Some("SEND_OK"), "{body}");
        let tx_id = field_str(&s[0], "transactionId").unwrap_or_default();
        assert_eq!(
            Some(tx_id),
            field_str(&s[0], "msgId"),
            "transactionId = UNIQ_KEY"
        );
    }
    let checks = by_body(&lines, "check");
    assert_eq!(
        checks.keys().collect::<Vec<_>>(),
        ["tx-2", "tx-5"],
        "only the UNKNOW messages are checked back: {checks:?}"
    );
    let first = &checks["tx-2"][0];
    assert_eq!(field_str(first, "topic"), Some(topic), "the real topic");
    assert_eq!(field_str(first, "checkTimes"), Some("1"));
    assert_eq!(
        field_str(first, "transactionId"),
        field_str(&sent["tx-2"][0], "transactionId")
    );
    assert_eq!(field_str(first, "answer"), Some("COMMIT_MESSAGE"));
    assert_eq!(
        field_str(&checks["tx-5"][0], "answer"),
        Some("ROLLBACK_MESSAGE")
    );
    consume_exactly(kind, &server, topic, &["tx-0", "tx-2", "tx-3"], &budget);
}

/// A half message whose producer answered UNKNOW is pending when the broker is killed with
/// SIGKILL; after the restart the broker checks back (the producer reconnects and heartbeats)
/// and the producer's commit delivers it once.
fn pending_survives_sigkill(kind: Client) {
    let budget = Budget::new();
    let mut server = Server::standalone(&[
        "--transaction-check-interval-ms",
        "300",
        "--transaction-timeout-ms",
        "4000",
    ]);
    let topic = "JavaTxCrash";
    SyncClient::new(&server).create_topic(topic, 2);
    let args = client_args(
        &server.namesrv_addr(),
        topic,
        PRODUCER_GROUP,
        &[
            "--count",
            "1",
            "--local",
            "unknown",
            "--check",
            "commit",
            "--expect-checks",
            "1",
            "--heartbeat-ms",
            "500",
            "--timeout",
            "60",
        ],
    );
    let mut p = spawn_client(kind, "transact", &args);
    p.wait_lines(
        budget.cap(Duration::from_secs(30)),
        "the half message sent",
        |l| !events(l, "sent").is_empty(),
    );
    assert!(
        events(&p.lines(), "check").is_empty(),
        "no check-back before the timeout"
    );
    server.kill();
    server.restart();
    let lines = p.wait_success(budget.left());
    let checks = by_body(&lines, "check");
    assert_eq!(checks.keys().collect::<Vec<_>>(), ["tx-0"], "{checks:?}");
    consume_exactly(kind, &server, topic, &["tx-0"], &budget);
}

#[test]
fn java4_transactions_commit_rollback_and_check_back() {
    commit_rollback_and_check_back(Client::Java4);
}

#[test]
fn java5_transactions_commit_rollback_and_check_back() {
    commit_rollback_and_check_back(Client::Java5);
}

#[test]
fn java4_pending_transaction_survives_sigkill() {
    pending_survives_sigkill(Client::Java4);
}

#[test]
fn java5_pending_transaction_survives_sigkill() {
    pending_survives_sigkill(Client::Java5);
}
