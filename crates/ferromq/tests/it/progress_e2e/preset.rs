//! 1. Pre-set offsets for a group that was never online, across a SIGKILL and restart.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::scenarios::{self, Budget};
use crate::common::{poll_until, Client, Server};
use crate::progress_e2e::fixtures::{
    assert_bodies_match_positions, deliveries, group_name, opt_i64, plan_by_queue, Admin, Delivery,
    QUEUES,
};

fn preset_for_never_online_group(kind: Client) {
    let budget = Budget::new();
    let mut server = Server::standalone(&[]);
    let topic = "PresetTopic";
    let group = group_name("preset", kind);
    const PER_QUEUE: i64 = 12;
    let presets: [i64; 4] = [3, 5, 7, 9];

    let admin = Admin::new(&server);
    admin.create_topic(topic, QUEUES);
    admin.fill(topic, "pre-", 0, PER_QUEUE);

    let per_queue: Vec<Value> = (0..QUEUES)
        .map(|q| json!({"topic": topic, "queueId": q, "offset": presets[q as usize]}))
        .collect();
    let plan = admin.reset(
        &group,
        topic,
        json!({"kind": "perQueue", "value": per_queue}),
    );
    assert!(
        plan["changeId"].is_u64(),
        "applied reset has a change id: {plan}"
    );
    assert_eq!(plan["dryRun"], json!(false), "{plan}");
    let by_q = plan_by_queue(&plan);
    assert_eq!(
        by_q.len(),
        QUEUES as usize,
        "one planned queue per queue: {plan}"
    );
    for q in 0..QUEUES {
        let p = &by_q[&q];
        assert_eq!(p["group"], json!(group), "{plan}");
        assert_eq!(
            opt_i64(&p["current"]),
            None,
            "never-online group has no offset: {plan}"
        );
        assert_eq!(opt_i64(&p["target"]), Some(presets[q as usize]), "{plan}");
        assert_eq!(p["clamped"], json!(false), "{plan}");
    }
    let expected: Vec<Option<i64>> = presets.iter().map(|p| Some(*p)).collect();
    assert_eq!(
        admin.query_all(&group, topic),
        expected,
        "pre-set visible at once"
    );
    drop(admin);

    // The pre-set is an operator change: acknowledged only once it is written (survives SIGKILL).
    server.kill();
    server.restart();
    let admin = Admin::new(&server);
    assert_eq!(
        admin.query_all(&group, topic),
        expected,
        "pre-set offsets after SIGKILL + restart (QUERY_CONSUMER_OFFSET)"
    );

    let want: usize = presets.iter().map(|p| (PER_QUEUE - p) as usize).sum();
    let want_s = want.to_string();
    // --linger: keep consuming a while after the expected set to catch anything extra.
    let mut p = scenarios::consumer(
        kind,
        &server,
        topic,
        &group,
        &["--expect", &want_s, "--linger", "4"],
        &budget,
    );
    let lines = p.wait_success_or(
        budget.cap(Duration::from_secs(70)),
        "hint: the consumer of a pre-set group must start at the stored offsets \
         (QUERY_CONSUMER_OFFSET answers the pre-set) and receive everything from there",
    );
    let ds = deliveries(&lines, topic);
    assert_bodies_match_positions(&ds, &p);
    for q in 0..QUEUES {
        let preset = presets[q as usize];
        let on_q: Vec<&Delivery> = ds.iter().filter(|d| d.queue == q).collect();
        let below: Vec<&&Delivery> = on_q.iter().filter(|d| d.offset < preset).collect();
        assert!(
            below.is_empty(),
            "{}: queue {q} delivered messages below its pre-set offset {preset}: {below:?}\n{}",
            p.label(),
            p.diagnostics()
        );
        let first = on_q.first().map(|d| d.offset);
        assert_eq!(
            first,
            Some(preset),
            "{}: the first delivery of queue {q} must be the pre-set offset {preset}\n{}",
            p.label(),
            p.diagnostics()
        );
        let got: BTreeSet<i64> = on_q.iter().map(|d| d.offset).collect();
        let all: BTreeSet<i64> = (preset..PER_QUEUE).collect();
        assert_eq!(got, all, "{}: queue {q} delivered offsets", p.label());
    }
    // The client committed its progress (periodically during --linger, or on shutdown).
    let ok = poll_until(budget.cap(Duration::from_secs(8)), || {
        admin.query_all(&group, topic) == vec![Some(PER_QUEUE); QUEUES as usize]
    });
    assert!(
        ok,
        "{}: committed offsets after consuming everything: {:?} (want {PER_QUEUE} everywhere)\n{}",
        p.label(),
        admin.query_all(&group, topic),
        p.diagnostics()
    );
    eprintln!(
        "[progress_e2e] {}: pre-set {presets:?} honoured after SIGKILL ({} deliveries) in {:?}",
        kind.name(),
        ds.len(),
        budget.elapsed()
    );
}

#[test]
fn cpp_preset_for_never_online_group_survives_sigkill() {
    preset_for_never_online_group(Client::Cpp);
}

#[test]
fn ali_ons_preset_for_never_online_group_survives_sigkill() {
    preset_for_never_online_group(Client::Node);
}
