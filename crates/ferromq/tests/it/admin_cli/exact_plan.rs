//! `--execute` applies exactly the plan that was shown: a plan saved with `--export` is refused
//! (exit 1, the moved queue named, nothing changed) after a live Java consumer committed past
//! it, applied when nothing moved, and refused by row when edited by hand.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::admin_cli::fixtures::{arg, every, read_json, write, Cluster, ALL_QUEUES};
use crate::admin_cli::{MESSAGES, TOPIC};
use crate::common::{client_args, poll_until, spawn_client, Client};

#[test]
fn a_saved_plan_applies_only_if_nothing_moved() {
    let c = Cluster::with_committed(&[]);
    let group = "AdminExactGroup";
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let args = client_args(
        &c.namesrv,
        TOPIC,
        group,
        &[
            "--from",
            "first",
            "--persist-interval-ms",
            "300",
            "--timeout",
            "80",
        ],
    );
    let mut consumer = spawn_client(Client::Java4, "consumer", &args);
    let total = ALL_QUEUES * MESSAGES as usize;
    consumer.wait_lines(Duration::from_secs(60), "every message once", |lines| {
        lines.iter().filter(|l| l["event"] == "message").count() >= total
    });
    assert!(
        poll_until(Duration::from_secs(30), || c.offsets(group)
            == every(MESSAGES)),
        "commits reached the end: {:?}",
        c.offsets(group)
    );

    // The plan the operator reviews: every queue from 10 back to 2.
    c.reset(group, TOPIC, &["--to-offset", "2", "--export", arg(&plan)])
        .ok();
    let saved = read_json(&plan);
    assert_eq!(saved["format"], "ferromq-plan");
    assert_eq!(saved["queues"].as_array().map(Vec::len), Some(ALL_QUEUES));

    // Meanwhile a message arrives on broker-a queue 0 and the live consumer commits past it.
    let (_, addr) = &c.brokers[0];
    c.rt.block_on(
        c.client
            .send(addr, "admin_producer", TOPIC, 0, Bytes::from("late"), ""),
    )
    .expect("send");
    let moved = {
        let mut v = every(MESSAGES);
        v[0] = Some(MESSAGES + 1);
        v
    };
    assert!(
        poll_until(Duration::from_secs(30), || c.offsets(group) == moved),
        "the consumer committed the new message: {:?}",
        c.offsets(group)
    );
    let refused = c
        .admin(&[
            "offsets",
            "reset",
            "--from-file",
            arg(&plan),
            "--execute",
            "--yes",
        ])
        .code(1);
    assert!(
        refused.stderr.contains("queue 0 moved (plan: 10, now: 11)")
            && refused.stderr.contains("nothing was applied"),
        "{}",
        refused.stderr
    );
    assert_eq!(c.offsets(group), moved, "nothing changed");
    consumer.stop();

    // Planned again with the group offline: the saved plan applies exactly.
    c.reset(group, TOPIC, &["--to-offset", "2", "--export", arg(&plan)])
        .ok();
    c.admin(&[
        "offsets",
        "reset",
        "--from-file",
        arg(&plan),
        "--execute",
        "--yes",
    ])
    .ok();
    assert_eq!(c.offsets(group), every(2));

    // Hand-edited plans are refused by row, and nothing is applied.
    c.reset(group, TOPIC, &["--to-offset", "5", "--export", arg(&plan)])
        .ok();
    let mut doc: Value = read_json(&plan);
    doc["queues"][1]["target"] = Value::from(-1);
    let negative = write(dir.path(), "negative.json", &doc.to_string());
    let o = c
        .admin(&[
            "offsets",
            "reset",
            "--from-file",
            arg(&negative),
            "--execute",
            "--yes",
        ])
        .code(2);
    assert!(
        o.stderr.contains("row 2") && o.stderr.contains("≥ 0"),
        "{}",
        o.stderr
    );
    let mut doc: Value = read_json(&plan);
    doc["queues"][0]["queueId"] = Value::from(9);
    let unknown = write(dir.path(), "unknown.json", &doc.to_string());
    let o = c
        .admin(&[
            "offsets",
            "reset",
            "--from-file",
            arg(&unknown),
            "--execute",
            "--yes",
        ])
        .code(1);
    assert!(
        o.stderr.contains("queue 9 is in the plan but not in scope"),
        "{}",
        o.stderr
    );
    assert_eq!(c.offsets(group), every(2), "nothing applied");
}
