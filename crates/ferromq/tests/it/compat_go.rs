//! Compatibility with the Apache RocketMQ Go client (`github.com/apache/rocketmq-client-go/v2`,
//! pinned in `compat/go/go.mod`), built by `compat/setup.sh` into `compat/go/bin/` and driven
//! against a real `ferromq standalone`. The shared scenarios (`common/scenarios`) plus what the Go
//! client offers on top: async and batch sends, its pull consumer (Poll/ACK), and consumer
//! progress set by `ferromq admin` for a Go group before it exists and while it runs.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::scenarios::{self, consumer, count_by_body as bodies, produce, Budget};
use common::{
    client_args, field_i64, field_str, poll_until, spawn_client, tag_of, Client, Server, SyncClient,
};
use serde_json::Value;

const GO: Client = Client::Go;

fn body(v: &Value) -> String {
    field_str(v, "body").unwrap_or_default().to_string()
}

/// Sync, async and batch sends (SEND_MESSAGE, and SEND_BATCH_MESSAGE whose inner messages carry
/// no UNIQ_KEY) each arrive exactly once, with their tags and keys, at the queue and offset the
/// send result named.
#[test]
fn go_sync_async_batch_sends_arrive_once_with_tags_and_keys() {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GoModes";
    let mut sent: Vec<Value> = Vec::new();
    for mode in ["sync", "async", "batch"] {
        let prefix = format!("{mode}-");
        let keys = format!("{mode}-key-");
        sent.extend(produce(
            GO,
            &server,
            topic,
            10,
            &[
                "--mode",
                mode,
                "--body-prefix",
                &prefix,
                "--tags",
                "TagA,TagB",
                "--keys-prefix",
                &keys,
                "--batch-size",
                "4",
            ],
            &budget,
        ));
    }
    for s in sent.iter().filter(|s| body(s).starts_with("batch-")) {
        assert_eq!(field_str(s, "status"), Some("SEND_OK"), "{s}");
        assert!(field_i64(s, "queueOffset").is_some(), "{s}");
    }
    let mut c = consumer(
        GO,
        &server,
        topic,
        "GoModesAll",
        &["--from", "first", "--expect", "30", "--linger", "3"],
        &budget,
    );
    c.wait_success(budget.left());
    let msgs = c.messages();
    let got = bodies(&msgs);
    let want: Vec<String> = sent.iter().map(body).collect();
    assert_eq!(got.len(), 30, "{:?}\n{}", got.keys(), c.diagnostics());
    assert!(got.values().all(|n| *n == 1), "each message once: {got:?}");
    let by_body: HashMap<String, &Value> = sent.iter().map(|s| (body(s), s)).collect();
    for m in &msgs {
        let b = body(m);
        assert!(want.contains(&b), "unexpected {m}");
        let s = by_body[&b];
        let what = format!("delivery {m}\n  of sent {s}");
        assert_eq!(field_str(m, "topic"), Some(topic), "{what}: topic");
        assert_eq!(tag_of(m, "tags"), tag_of(s, "tags"), "{what}: tags");
        assert_eq!(field_str(m, "keys"), field_str(s, "keys"), "{what}: keys");
        assert_eq!(field_i64(m, "queueId"), field_i64(s, "queueId"), "{what}");
        assert_eq!(
            field_i64(m, "queueOffset"),
            field_i64(s, "queueOffset"),
            "{what}: queueOffset (send result vs. pulled record)"
        );
    }
}

#[test]
fn go_two_member_group_consumes_each_message_once() {
    scenarios::two_member_group(GO);
}

#[test]
fn go_failed_message_comes_back_through_retry_topic() {
    scenarios::retry_after_failure(GO);
}

#[test]
fn go_orderly_consumer_keeps_per_key_order() {
    scenarios::ordered_per_key(GO);
}

#[test]
fn go_tag_filter() {
    scenarios::tag_filter(GO);
}

/// The Go pull consumer (subscribe mode, Poll then ACK): every message once, and after its
/// Shutdown the committed offsets are where it stopped.
#[test]
fn go_pull_consumer_polls_acks_and_commits() {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GoPull";
    let group = "GoPullGroup";
    let c = SyncClient::new(&server);
    c.create_topic(topic, 4);
    let sent = produce(GO, &server, topic, 20, &["--body-prefix", "pull-"], &budget);
    let args = client_args(
        &server.namesrv_addr(),
        topic,
        group,
        &["--from", "first", "--expect", "20", "--timeout", "40"],
    );
    let mut p = spawn_client(GO, "pull", &args);
    p.wait_success(budget.left());
    let got = bodies(&p.messages());
    let want: BTreeMap<String, usize> = sent.iter().map(|s| (body(s), 1)).collect();
    assert_eq!(got, want, "{}", p.diagnostics());
    for m in p.messages() {
        let s = sent.iter().find(|s| body(s) == body(&m)).unwrap();
        assert_eq!(field_i64(&m, "queueId"), field_i64(s, "queueId"), "{m}");
        assert_eq!(
            field_i64(&m, "queueOffset"),
            field_i64(s, "queueOffset"),
            "{m}"
        );
    }
    let per_queue: Vec<Option<i64>> = (0..4)
        .map(|q| {
            let n = sent
                .iter()
                .filter(|s| field_i64(s, "queueId") == Some(q))
                .count() as i64;
            Some(n)
        })
        .collect();
    // The final commits are oneway frames written just before the process exits (the Go client
    // sends no UNREGISTER_CLIENT): give the broker a moment to read them, nothing more.
    poll_until(Duration::from_secs(5), || {
        c.query_queues(group, topic, 4) == per_queue
    });
    assert_eq!(
        c.query_queues(group, topic, 4),
        per_queue,
        "Shutdown persists the acknowledged offsets"
    );
}

/// Offsets pre-set by `ferromq admin` for a group that never existed: the Go push consumer
/// starts exactly there; then, while it runs, `offsets reset --execute` replays exactly the
/// planned messages. The Go client persists offsets 10 s after start and every 5 s after that
/// (not configurable), and applies RESET_CONSUMER_CLIENT_OFFSET after a 10-second pause.
#[test]
fn go_progress_preset_and_reset_of_a_running_consumer() {
    scenarios::preset_then_reset(GO, true);
}
