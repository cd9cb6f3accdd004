//! Scenario (a): two members of one clustering group.

use std::collections::{BTreeSet, HashMap};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::{
    bodies_with_prefix, body, consumer, count_by_body, field_i64, field_str, poll_until, produce,
    tag_of, Budget, Client, Endpoint, Server, NEW_GROUP_HINT,
};

/// (a) Two members of one clustering group (two processes, distinct instances) share a 4-queue
/// topic: every message is consumed exactly once between them, both get some, and tags, keys,
/// bodies and queue offsets round-trip.
pub fn two_member_group(kind: Client) {
    let server = Server::standalone(&[]);
    two_member_group_on(kind, &server, "CompatGroupTopic");
}

/// [`two_member_group`] on any cluster whose `topic` has 4 queues in all (or is auto-created
/// with 4): returns the two members' deliveries of the 40 checked messages.
pub fn two_member_group_on(
    kind: Client,
    server: &(impl Endpoint + ?Sized),
    topic: &str,
) -> (Vec<Value>, Vec<Value>) {
    let budget = Budget::new();
    let group = "compat_group_consumers";

    // The first send auto-creates the topic (4 queues) so that the consumers find a route.
    produce(
        kind,
        server,
        topic,
        8,
        &["--body-prefix", "warm0-"],
        &budget,
    );

    let mut extra: Vec<&str> = vec![];
    if kind == Client::Node {
        // ali-ons ignores NOTIFY_CONSUMER_IDS_CHANGED; it only notices a new member when it
        // re-reads the member list (default every 10 s).
        extra.extend(["--rebalance-interval-ms", "3000"]);
    }
    let mut a_args = vec!["--instance", "member-a"];
    a_args.extend(&extra);
    let mut b_args = vec!["--instance", "member-b"];
    b_args.extend(&extra);
    let mut a = consumer(kind, server, topic, group, &a_args, &budget);
    let mut b = consumer(kind, server, topic, group, &b_args, &budget);

    // Wait until the group has settled: a round of 8 messages (2 per queue) is delivered exactly
    // once in total and both members got some of it, i.e. each queue has exactly one owner.
    let mut round = 0;
    loop {
        round += 1;
        if budget.elapsed() > Duration::from_secs(55) {
            panic!(
                "{}: the two group members never split the queues between them after {round} rounds \
                 (is GET_CONSUMER_LIST_BY_GROUP listing both members? C++ clients rebalance at once on \
                 NOTIFY_CONSUMER_IDS_CHANGED, otherwise every 10 s; ali-ons every --rebalance-interval-ms)\n{NEW_GROUP_HINT}\nmember a: {:?}\nmember b: {:?}\n{}\n{}",
                kind.name(),
                count_by_body(&a.messages()),
                count_by_body(&b.messages()),
                a.diagnostics(),
                b.diagnostics()
            );
        }
        let prefix = format!("warm{round}-");
        produce(kind, server, topic, 8, &["--body-prefix", &prefix], &budget);
        let all_delivered = poll_until(budget.cap(Duration::from_secs(8)), || {
            let mut seen: BTreeSet<String> = BTreeSet::new();
            seen.extend(bodies_with_prefix(&a.messages(), &prefix));
            seen.extend(bodies_with_prefix(&b.messages(), &prefix));
            seen.len() == 8
        });
        if !all_delivered {
            continue;
        }
        thread::sleep(Duration::from_millis(500)); // late duplicates
        let in_a = bodies_with_prefix(&a.messages(), &prefix);
        let in_b = bodies_with_prefix(&b.messages(), &prefix);
        let mut counts: HashMap<String, usize> = HashMap::new();
        for x in in_a.iter().chain(in_b.iter()) {
            *counts.entry(x.clone()).or_insert(0) += 1;
        }
        if !in_a.is_empty() && !in_b.is_empty() && counts.values().all(|&c| c == 1) {
            eprintln!(
                "[scenario] group settled after round {round} ({:?}): a got {}, b got {}",
                budget.elapsed(),
                in_a.len(),
                in_b.len()
            );
            break;
        }
    }

    // The real test: 40 messages with tags and keys.
    let sent = produce(
        kind,
        server,
        topic,
        40,
        &[
            "--tags",
            "TagA,TagB,TagC",
            "--keys-prefix",
            "key-",
            "--body-prefix",
            "main-",
        ],
        &budget,
    );
    let expected: BTreeSet<String> = sent.iter().map(body).collect();
    let got_all = poll_until(budget.cap(Duration::from_secs(25)), || {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        seen.extend(bodies_with_prefix(&a.messages(), "main-"));
        seen.extend(bodies_with_prefix(&b.messages(), "main-"));
        seen == expected
    });
    if got_all {
        thread::sleep(budget.cap(Duration::from_secs(3))); // give duplicates a chance to show up
    }
    a.stop();
    b.stop();

    let a_main: Vec<Value> = a
        .messages()
        .into_iter()
        .filter(|v| body(v).starts_with("main-"))
        .collect();
    let b_main: Vec<Value> = b
        .messages()
        .into_iter()
        .filter(|v| body(v).starts_with("main-"))
        .collect();
    let mut all = a_main.clone();
    all.extend(b_main.iter().cloned());
    let counts = count_by_body(&all);
    let missing: Vec<&String> = expected
        .iter()
        .filter(|b| !counts.contains_key(*b))
        .collect();
    let dups: Vec<(&String, &usize)> = counts.iter().filter(|(_, &c)| c > 1).collect();
    let unexpected: Vec<&String> = counts.keys().filter(|b| !expected.contains(*b)).collect();
    assert!(
        missing.is_empty() && dups.is_empty() && unexpected.is_empty(),
        "{}: group delivery is not exactly-once: missing {missing:?}, duplicated {dups:?}, unexpected {unexpected:?}\n{}\n{}",
        kind.name(),
        a.diagnostics(),
        b.diagnostics()
    );
    assert!(
        !a_main.is_empty() && !b_main.is_empty(),
        "{}: both members of the group should have consumed some of the 40 messages (a: {}, b: {})",
        kind.name(),
        a_main.len(),
        b_main.len()
    );

    let by_body: HashMap<String, &Value> = sent.iter().map(|v| (body(v), v)).collect();
    for m in &all {
        let s = by_body[&body(m)];
        let what = format!("{}: delivery {m}\n  of sent {s}", kind.name());
        assert_eq!(field_str(m, "topic"), Some(topic), "{what}: topic");
        assert_eq!(tag_of(m, "tags"), tag_of(s, "tags"), "{what}: tags");
        assert_eq!(field_str(m, "keys"), field_str(s, "keys"), "{what}: keys");
        assert_eq!(
            field_i64(m, "reconsumeTimes"),
            Some(0),
            "{what}: reconsumeTimes"
        );
        if let (Some(sq), Some(mq)) = (field_i64(s, "queueId"), field_i64(m, "queueId")) {
            assert_eq!(mq, sq, "{what}: queueId");
        }
        if let (Some(so), Some(mo)) = (field_i64(s, "queueOffset"), field_i64(m, "queueOffset")) {
            assert_eq!(
                mo, so,
                "{what}: queueOffset (send result vs. pulled record)"
            );
        }
        if kind == Client::Node && field_str(m, "msgId") != field_str(s, "msgId") {
            // ali-ons reports the broker's msgId on send and recomputes it from storeHost +
            // commitLogOffset on receive; a mismatch means those two disagree (not fatal here).
            eprintln!(
                "[scenario] note: msgId from SEND_MESSAGE_V2 ({:?}) differs from the pulled record's ({:?})",
                field_str(s, "msgId"),
                field_str(m, "msgId")
            );
        }
    }
    let queues: BTreeSet<i64> = all.iter().filter_map(|m| field_i64(m, "queueId")).collect();
    assert!(
        queues.len() >= 2,
        "{}: 40 messages should spread over the 4 queues, got {queues:?}",
        kind.name()
    );
    (a_main, b_main)
}
