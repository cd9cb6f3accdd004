//! Scenario (b): consumer progress set by `ferromq admin` — for a group that never existed, then
//! while its consumer runs — with each real client that can be told its commit interval, or
//! commits often enough (Java, Go).

use std::process::Command;
use std::time::Duration;

use super::{consumer, count_by_body, poll_until, Budget, Client, Server};
use crate::common::SyncClient;

/// Runs `ferromq admin <args>` against `server`'s name server; its stdout (asserts success).
pub fn ferromq_admin(server: &Server, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ferromq"))
        .args(["admin", "-n", &server.namesrv_addr()])
        .args(args)
        .output()
        .expect("run ferromq admin");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ferromq admin {args:?} failed: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Consumer arguments that start at the first offset and commit every 500 ms where the client
/// lets itself be told (the Go client commits every 5 s after its first 10 s, fixed).
fn persist_often(kind: Client) -> &'static [&'static str] {
    match kind {
        Client::Java4 | Client::Java5 => &["--from", "first", "--persist-interval-ms", "500"],
        _ => &["--from", "first"],
    }
}

/// Offsets pre-set to 4 by `ferromq admin` for a group that never existed: the consumer starts
/// exactly there; its commits arrive and `offsets describe` shows no lag; with `reset_running`,
/// `offsets reset --to-offset 1 --execute` while it runs replays exactly offsets 1..6 of both
/// queues, once.
pub fn preset_then_reset(kind: Client, reset_running: bool) {
    let budget = Budget::new();
    let server = Server::standalone(&[]);
    let topic = "ProgressT";
    let group = "ProgressGroup";
    let c = SyncClient::new(&server);
    c.create_topic(topic, 2);
    for q in 0..2 {
        for i in 0..6 {
            c.send("P", topic, q, format!("q{q}-{i}"));
        }
    }
    let reset_to = |offset: &str| {
        ferromq_admin(
            &server,
            &[
                "offsets",
                "reset",
                "--group",
                group,
                "--topic",
                topic,
                "--to-offset",
                offset,
                "--execute",
            ],
        )
    };
    reset_to("4");
    // --from first would start at 0: the pre-set offsets win.
    let mut p = consumer(kind, &server, topic, group, persist_often(kind), &budget);
    assert!(
        poll_until(budget.cap(Duration::from_secs(40)), || p.messages().len()
            >= 4),
        "the pre-set group did not consume\n{}",
        p.diagnostics()
    );
    std::thread::sleep(Duration::from_secs(2));
    let first = count_by_body(&p.messages());
    let want: Vec<String> = ["q0-4", "q0-5", "q1-4", "q1-5"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(first.keys().cloned().collect::<Vec<_>>(), want, "{first:?}");
    // Committed (see `persist_often`), then reset to 1 while it runs.
    assert!(
        poll_until(Duration::from_secs(20), || c.query_queues(group, topic, 2)
            == vec![Some(6), Some(6)]),
        "the consumer's commits did not arrive: {:?}",
        c.query_queues(group, topic, 2)
    );
    let describe = ferromq_admin(&server, &["offsets", "describe", "--group", group]);
    assert!(describe.contains("total lag 0 message(s)"), "{describe}");
    if !reset_running {
        p.stop();
        return;
    }
    reset_to("1");
    // Offsets 1..6 of both queues come again: 10 more deliveries, and nothing else.
    assert!(
        poll_until(budget.cap(Duration::from_secs(45)), || p.messages().len()
            >= 14),
        "the running consumer did not replay after the reset: {:?}\n{}",
        count_by_body(&p.messages()),
        p.diagnostics()
    );
    std::thread::sleep(Duration::from_secs(3));
    let all = count_by_body(&p.messages());
    for q in 0..2 {
        for i in 0..6 {
            let want = match i {
                0 => None,
                1..=3 => Some(1),
                _ => Some(2),
            };
            assert_eq!(all.get(&format!("q{q}-{i}")).copied(), want, "{all:?}");
        }
    }
    p.stop();
}
