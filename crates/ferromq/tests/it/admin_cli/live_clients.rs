//! A CLI reset of a group whose real consumer (the C++ client, ali-ons, the Java client 4.9.8 and
//! 5.5.0, the Go client) is online on both brokers: the consumer replays from the new position.
//! With two brokers no RESET_CONSUMER_CLIENT_OFFSET is sent, so every client follows the
//! PULL_OFFSET_MOVED its pulls get (the Java client's held pull first runs to its deadline).

use std::time::Duration;

use serde_json::Value;

use crate::admin_cli::fixtures::{cat, every, Cluster, ALL_QUEUES};
use crate::admin_cli::{MESSAGES, QUEUES, TOPIC};
use crate::common::{client_args, poll_until, spawn_client, Client};

/// The scenario with a real client online: a C++ push consumer (PyPI rocketmq 0.4.4)
/// consumes the topic on both brokers, the CLI resets its group backwards, and the consumer
/// replays from the new position on every queue of both brokers.
#[test]
fn a_cli_reset_moves_a_live_cpp_consumer_on_both_brokers() {
    live_consumer_replays_after_a_cli_reset(Client::Cpp, &[]);
}

/// The same with npm ali-ons, reset through mqadmin's single-queue form on each queue of both
/// brokers (`resetOffsetByTime -b -q -o`).
#[test]
fn an_mqadmin_reset_moves_a_live_ali_ons_consumer_on_both_brokers() {
    live_consumer_replays_after_a_cli_reset(Client::Node, &["resetOffsetByTime"]);
}

#[test]
fn a_cli_reset_moves_a_live_java4_consumer_on_both_brokers() {
    live_consumer_replays_after_a_cli_reset(Client::Java4, &[]);
}

#[test]
fn a_cli_reset_moves_a_live_java5_consumer_on_both_brokers() {
    live_consumer_replays_after_a_cli_reset(Client::Java5, &[]);
}

#[test]
fn a_cli_reset_moves_a_live_go_consumer_on_both_brokers() {
    live_consumer_replays_after_a_cli_reset(Client::Go, &[]);
}

/// A live consumer of `client` consumes everything, the CLI moves its group back to offset 7 on
/// every queue of both brokers (`offsets reset --to-offset 7`, or with `how` =
/// `["resetOffsetByTime"]` one mqadmin single-queue reset per queue), and the consumer replays
/// offsets 7..9 of every queue.
fn live_consumer_replays_after_a_cli_reset(client: Client, how: &[&str]) {
    let c = Cluster::with_committed(&[]);
    let group = "AdminLiveGroup";
    let args = client_args(&c.namesrv, TOPIC, group, &["--timeout", "80"]);
    let consumer = spawn_client(client, "consumer", &args);
    let total = ALL_QUEUES * MESSAGES as usize;
    let is_msg = |l: &Value| l["event"] == "message";
    consumer.wait_lines(Duration::from_secs(60), "every message once", |lines| {
        lines.iter().filter(|l| is_msg(l)).count() >= total
    });
    let at_end = every(MESSAGES);
    assert!(
        poll_until(Duration::from_secs(30), || c.offsets(group) == at_end),
        "commits reached the end: {:?}",
        c.offsets(group)
    );
    if how.is_empty() {
        c.reset(group, TOPIC, &["--to-offset", "7", "--execute"])
            .ok();
    } else {
        for (_, addr) in &c.brokers {
            for q in 0..QUEUES {
                let q = q.to_string();
                let single = [
                    "-g", group, "-t", TOPIC, "-s", "now", "-b", addr, "-q", &q, "-o", "7",
                ];
                c.admin(&cat(how, &single)).ok();
            }
        }
    }
    // Offsets 7..9 of each of the 4 queues come again: 12 more deliveries at offsets ≥ 7.
    consumer.wait_lines(
        Duration::from_secs(60),
        "replay from offset 7 on every queue",
        |lines| {
            lines
                .iter()
                .filter(|l| is_msg(l) && l["queueOffset"].as_i64().is_some_and(|o| o >= 7))
                .count()
                >= 2 * 2 * QUEUES as usize * 3
        },
    );
    assert!(
        poll_until(Duration::from_secs(30), || c.offsets(group) == at_end),
        "back at the end after the replay: {:?}",
        c.offsets(group)
    );
    // Exactly the planned replay: every queue holds the bodies m0..m9 at offsets 0..9, so each
    // body is delivered once per queue, and those at offsets 7..9 once more after the reset.
    let mut deliveries: std::collections::BTreeMap<String, (i64, usize)> = Default::default();
    for l in consumer.lines().iter().filter(|l| is_msg(l)) {
        let body = l["body"].as_str().unwrap_or_default().to_string();
        let offset = l["queueOffset"].as_i64().unwrap_or(-1);
        deliveries.entry(body).or_insert((offset, 0)).1 += 1;
    }
    assert_eq!(
        deliveries.len(),
        MESSAGES as usize,
        "{}: {deliveries:?}",
        client.name()
    );
    for (body, (offset, n)) in &deliveries {
        let want = ALL_QUEUES * if *offset >= 7 { 2 } else { 1 };
        assert_eq!(
            *n,
            want,
            "{}: {body} (offset {offset}) delivered {n} times over {ALL_QUEUES} queues",
            client.name()
        );
    }
}
