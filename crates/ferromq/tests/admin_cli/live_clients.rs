//! A CLI reset of a group whose real consumer (the C++ client or ali-ons) is online on both
//! brokers: the consumer replays from the new position.

use std::time::Duration;

use serde_json::Value;

use crate::common::{client_args, poll_until, spawn_client, Client};
use crate::fixtures::{cat, every, Cluster, ALL_QUEUES};
use crate::{MESSAGES, QUEUES, TOPIC};

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
}
