//! Consumer progress of POP groups (server-side behaviour, run with Python): leases and acks
//! across a SIGKILL, a group pre-set before it exists, resets of a live group, lag in mqadmin,
//! mirroring and failover, online members.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::scenarios::Budget;
use crate::common::{self, admin_ok, field_i64, field_str, Client, Server};

use crate::compat_grpc::fixtures::{
    committed, consumer, count_by_body, one_queue_topic, produce, try_committed,
};

/// A SimpleConsumer that receives without acking any first delivery (a `window_s` window),
/// so what it got stays in flight, for up to `timeout_s`.
fn holding_unacked(
    kind: Client,
    server: &Server,
    topic: &str,
    group: &str,
    window_s: &str,
    timeout_s: &str,
) -> common::ClientProcess {
    let args = [
        "--no-ack-first",
        "1",
        "--invisible-s",
        window_s,
        "--await-s",
        "1",
        "--timeout",
        timeout_s,
    ];
    consumer(kind, server, "simple_consumer", topic, group, &args)
}

/// Leases and acks are journaled: after a SIGKILL of the broker, acked messages stay acked and a
/// message that was in flight comes back once, as its second attempt, when its window ends.
/// `server_args`: the broker's mode (sync flush answers after the journal's group commit).
pub(crate) fn pop_leases_and_acks_survive_sigkill(kind: Client, server_args: &[&str]) {
    let budget = Budget::new();
    let mut server = Server::standalone(server_args);
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
    if server_args.contains(&"sync") {
        // The receives and acks were synced: the journal's fsync counter moved.
        let out = admin_ok(
            &server.namesrv_addr(),
            &["brokerStatus", "-b", &server.broker_addr()],
        );
        let syncs = out
            .lines()
            .find(|l| l.trim_start().starts_with("popJournalFsyncs"))
            .and_then(|l| l.rsplit(':').next())
            .and_then(|v| v.trim().parse::<u64>().ok());
        assert!(syncs.is_some_and(|n| n > 0), "{out}");
    }
    produce(kind, &server, topic, "second", 10, &[]);
    // Receives the ten without acking them (a 10 s window), then stops.
    let mut b = holding_unacked(kind, &server, topic, group, "10", "5");
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
pub(crate) fn pop_group_preset_before_it_exists_starts_there(kind: Client) {
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
pub(crate) fn reset_of_a_live_pop_group_takes_effect_at_once(kind: Client) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcPyReset";
    let group = "GrpcPyResetGroup";
    one_queue_topic(&server, topic);
    produce(kind, &server, topic, "r", 10, &[]);
    // Holds all ten in flight (never acks a first delivery; 30 s window).
    let mut c = holding_unacked(kind, &server, topic, group, "30", "60");
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
    // A SimpleConsumer, registered as upstream's proxy registers it.
    assert!(conns.contains("CONSUME_ACTIVELY"), "{conns}");
    c.stop();
    assert!(
        common::poll_until(Duration::from_secs(10), || !describe().contains(&client_id)),
        "gone after NotifyClientTermination: {}",
        describe()
    );
}

/// A push consumer that stays online (30 s) once it has had one message, and its client id.
fn push_consumer_online(
    kind: Client,
    server: &Server,
    topic: &str,
    group: &str,
    budget: &Budget,
) -> (common::ClientProcess, String) {
    let args = ["--expect", "1", "--linger", "30", "--timeout", "60"];
    let c = consumer(kind, server, "push_consumer", topic, group, &args);
    let lines = c.wait_lines(budget.left(), "a delivery", |lines| {
        !common::events(lines, "message").is_empty()
    });
    let client_id = common::events(&lines, "started")
        .first()
        .and_then(|s| field_str(s, "clientId").map(String::from))
        .expect("the driver names its client id");
    (c, client_id)
}

/// mqadmin `consumerStatus -i <client> -s true` of a Go push consumer: the broker asks it over
/// its Telemetry stream (PrintThreadStackTraceCommand) and prints the goroutine stacks it sends.
#[test]
fn go_consumer_thread_stacks_through_mqadmin() {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "GrpcStacks";
    let group = "GrpcStacksGroup";
    produce(Client::GrpcGo, &server, topic, "s", 1, &[]);
    let (mut c, client_id) = push_consumer_online(Client::GrpcGo, &server, topic, group, &budget);
    let out = common::mqadmin_ok(
        Client::Java5,
        &server,
        &["consumerStatus", "-g", group, "-i", &client_id, "-s"],
    );
    assert!(out.contains("goroutine"), "the client's stacks: {out}");
    c.stop();
}

/// mqadmin `queryMsgById -t <topic> -i <offsetMsgId> -g <group> -d <client>` for a Java 5.x
/// gRPC push consumer: the broker relays CONSUME_MESSAGE_DIRECTLY as a VerifyMessageCommand over the
/// client's Telemetry stream, the client runs the message through its listener and answers, and
/// mqadmin prints the result (CR_SUCCESS) — real clients at both ends.
#[test]
fn java_grpc_consumer_verifies_a_message_for_mqadmin() {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let (topic, group) = ("GrpcVerify", "GrpcVerifyGroup");
    let sent = common::scenarios::produce(Client::Java5, &server, topic, 1, &[], &budget);
    let offset_id = field_str(&sent[0], "offsetMsgId")
        .expect("the producer names the offset msgId")
        .to_string();
    let (mut c, client_id) = push_consumer_online(Client::GrpcJava, &server, topic, group, &budget);
    let out = common::mqadmin_ok(
        Client::Java5,
        &server,
        &[
            "queryMsgById",
            "-t",
            topic,
            "-i",
            &offset_id,
            "-g",
            group,
            "-d",
            &client_id,
        ],
    );
    assert!(out.contains("CR_SUCCESS"), "the client's verdict: {out}");
    c.stop();
}
