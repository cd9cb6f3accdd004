//! Compatibility with the Apache RocketMQ Java client (`org.apache.rocketmq:rocketmq-client`,
//! Remoting), both lines: 4.9.8 and 5.5.0, built from Maven Central by `compat/setup.sh` and
//! driven by `compat/java` against a real `ferromq standalone`. The shared scenarios
//! (`common/scenarios`) plus what only the Java client offers: async, oneway and batch sends,
//! SQL92 filters, broadcasting, the lite-pull consumer (assign, seek, commitSync), and consumer
//! progress set by `ferromq admin` for a Java group before it exists and while it runs.

use crate::common;

use std::time::Duration;

use common::scenarios::{self, consumer, count_by_body as bodies, produce, Budget};
use common::{field_i64, spawn_client, Client, Server, SyncClient};

/// Sync, async, oneway and batch sends all arrive once; an SQL92 subscription gets exactly the
/// messages whose properties match; a broadcasting consumer gets every message too.
fn sends_and_sql92(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "JavaModes";
    for mode in ["sync", "async", "oneway", "batch"] {
        let prefix = format!("{mode}-");
        produce(
            kind,
            &server,
            topic,
            10,
            &[
                "--mode",
                mode,
                "--body-prefix",
                &prefix,
                "--props",
                "a=1;color=red",
            ],
            &budget,
        );
    }
    produce(
        kind,
        &server,
        topic,
        6,
        &[
            "--body-prefix",
            "hot-",
            "--tags",
            "H",
            "--props",
            "a=9;color=blue",
        ],
        &budget,
    );
    let mut all = consumer(
        kind,
        &server,
        topic,
        "JavaModesAll",
        &["--from", "first", "--expect", "46", "--linger", "2"],
        &budget,
    );
    let mut sql = consumer(
        kind,
        &server,
        topic,
        "JavaModesSql",
        &[
            "--from",
            "first",
            "--sql",
            "a > 5 AND color IN ('blue', 'green') AND TAGS = 'H'",
            "--expect",
            "6",
            "--linger",
            "3",
        ],
        &budget,
    );
    let mut bcast = consumer(
        kind,
        &server,
        topic,
        "JavaModesBroadcast",
        &["--from", "first", "--broadcast", "--expect", "46"],
        &budget,
    );
    all.wait_success(budget.left());
    let got = bodies(&all.messages());
    assert_eq!(got.len(), 46, "{:?}", got.keys());
    assert!(got.values().all(|n| *n == 1), "each message once: {got:?}");
    sql.wait_success(budget.left());
    let got = bodies(&sql.messages());
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(
        got.keys().all(|b| b.starts_with("hot-")),
        "only the matching messages: {got:?}"
    );
    bcast.wait_success(budget.left());
    assert_eq!(bodies(&bcast.messages()).len(), 46);
}

/// A malformed SQL92 expression is refused when the consumer starts (CHECK_CLIENT_CONFIG),
/// with the reason, as upstream does.
fn bad_sql92_is_refused_at_start(kind: Client) {
    let server = Server::standalone(&[]);
    let args = common::client_args(
        &server.namesrv_addr(),
        "JavaBadSql",
        "JavaBadSqlGroup",
        &["--sql", "a >", "--timeout", "20"],
    );
    let mut p = spawn_client(kind, "consumer", &args);
    let status = p.wait(Duration::from_secs(60));
    assert!(!status.success(), "{}", p.diagnostics());
    let err = p.stderr();
    assert!(
        err.contains("CODE: 23") && err.contains("bad SQL92 expression"),
        "{err}"
    );
}

/// The lite-pull consumer: assign every queue, seek one, poll; then subscribe with commitSync,
/// and the committed offsets are where it stopped.
fn lite_pull(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "JavaLite";
    let c = SyncClient::new(&server);
    c.create_topic(topic, 4);
    let sent = produce(
        kind,
        &server,
        topic,
        20,
        &["--body-prefix", "lite-"],
        &budget,
    );
    let on_q0 = sent
        .iter()
        .filter(|s| field_i64(s, "queueId") == Some(0))
        .count();
    assert!(on_q0 >= 2, "queue 0 holds {on_q0}");
    let args = common::client_args(
        &server.namesrv_addr(),
        topic,
        "JavaLiteAssign",
        &[
            "--assign",
            "--seek",
            "0:2",
            "--from",
            "first",
            // Wait for the 18 by count, not by an idle gap (a loaded machine can pause the
            // client's first pulls longer than any gap), then keep polling to catch extras.
            "--expect",
            "18",
            "--linger",
            "2",
            "--timeout",
            "40",
        ],
    );
    let mut p = spawn_client(kind, "litepull", &args);
    p.wait_success(budget.left());
    let got = p.messages();
    assert_eq!(got.len(), 18, "everything but queue 0's first two");
    assert!(got
        .iter()
        .all(|m| field_i64(m, "queueId") != Some(0) || field_i64(m, "queueOffset") >= Some(2)));
    let args = common::client_args(
        &server.namesrv_addr(),
        topic,
        "JavaLiteSub",
        &[
            "--from",
            "first",
            "--commit-sync",
            "--expect",
            "20",
            "--timeout",
            "40",
        ],
    );
    let mut p = spawn_client(kind, "litepull", &args);
    p.wait_success(budget.left());
    assert_eq!(bodies(&p.messages()).len(), 20);
    let committed: i64 = c
        .query_queues("JavaLiteSub", topic, 4)
        .into_iter()
        .map(|o| o.unwrap_or(0))
        .sum();
    assert_eq!(
        committed, 20,
        "commitSync stored where the consumer stopped"
    );
    // Subscribe mode with auto commit (the default): the client commits what it polled from
    // within poll() every 5 s (so it keeps polling 7 s after the last message) and persists at
    // shutdown.
    let args = common::client_args(
        &server.namesrv_addr(),
        topic,
        "JavaLiteAuto",
        &["--from", "first", "--idle-exit", "7", "--timeout", "40"],
    );
    let mut p = spawn_client(kind, "litepull", &args);
    p.wait_success(budget.left());
    assert_eq!(bodies(&p.messages()).len(), 20);
    let committed: i64 = c
        .query_queues("JavaLiteAuto", topic, 4)
        .into_iter()
        .map(|o| o.unwrap_or(0))
        .sum();
    assert_eq!(
        committed, 20,
        "auto commit stored where the consumer stopped"
    );
}

#[test]
fn java4_two_member_group_consumes_each_message_once() {
    scenarios::two_member_group(Client::Java4);
}

#[test]
fn java4_failed_message_comes_back_through_retry_topic() {
    scenarios::retry_after_failure(Client::Java4);
}

#[test]
fn java4_orderly_consumer_keeps_per_key_order() {
    scenarios::ordered_per_key(Client::Java4);
}

#[test]
fn java4_tag_filter() {
    scenarios::tag_filter(Client::Java4);
}

#[test]
fn java4_sends_broadcast_and_sql92() {
    sends_and_sql92(Client::Java4);
}

#[test]
fn java4_bad_sql92_is_refused_at_start() {
    bad_sql92_is_refused_at_start(Client::Java4);
}

#[test]
fn java4_lite_pull_assign_seek_commit() {
    lite_pull(Client::Java4);
}

#[test]
fn java4_progress_preset_and_reset_of_a_running_consumer() {
    scenarios::preset_then_reset(Client::Java4, true);
}

#[test]
fn java5_two_member_group_consumes_each_message_once() {
    scenarios::two_member_group(Client::Java5);
}

#[test]
fn java5_orderly_consumer_keeps_per_key_order() {
    scenarios::ordered_per_key(Client::Java5);
}

#[test]
fn java5_sends_broadcast_and_sql92() {
    sends_and_sql92(Client::Java5);
}

#[test]
fn java5_lite_pull_assign_seek_commit() {
    lite_pull(Client::Java5);
}

/// The 5.x push consumer used to get the replayed messages twice: the broker redirected its held
/// pull while the client applied RESET_CONSUMER_CLIENT_OFFSET, and the client then pulled each
/// queue twice. Java clients now apply the notice alone, as against Apache RocketMQ.
#[test]
fn java5_progress_preset_and_reset_of_a_running_consumer() {
    scenarios::preset_then_reset(Client::Java5, true);
}
